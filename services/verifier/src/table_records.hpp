#pragma once
// The records of the audit log rebuilt from the table rows they name, with the values
// as PostgreSQL stores them (cpx/audit/records.hpp): each query below selects the
// columns in the order the readers take them.

#include <cstdint>
#include <string>

#include <pqxx/pqxx>

#include "cpx/audit/records.hpp"

namespace cpx::verifier::detail {

inline constexpr const char* kJournalColumns = "seq, ts_ns, kind, body";
inline constexpr const char* kTransferColumns =
    "id, debit_account_id, credit_account_id, amount, pending_id, flags, code, seq, ts_ns, "
    "user_data";
inline constexpr const char* kTradeColumns =
    "id, instrument, buyer, provider, buy_order, sell_order, price, quantity, amount_fen, "
    "traded_ns, window_end_ns, created_seq";

// A table row as the log's record: its canonical bytes, and what the verifier compares
// with the log row besides them.
struct TableRecord {
    std::uint64_t ref = 0;   // journal.seq, transfers.id or obligations.id
    std::uint64_t seq = 0;   // the journal seq it belongs to
    std::int64_t ts_ns = 0;  // the journal's time (journal rows only)
    std::string bytes;       // the canonical encoding
};

audit::TransferRecord read_transfer(const pqxx::row& row);

TableRecord journal_record(const pqxx::row& row);
TableRecord transfer_record(const audit::TransferRecord& transfer);
TableRecord trade_record(const pqxx::row& row);

}  // namespace cpx::verifier::detail
