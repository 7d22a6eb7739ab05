#pragma once
// The records of the audit log and their canonical encodings (docs/AUDIT.md, "The audit
// log"), the bytes that the hash chain links and the Merkle tree's leaves hold. The
// writer (the ledger projector) and the verifier encode a row with the same function
// here, from the values as PostgreSQL stores them; the byte layout is fixed by the
// tests in tests/audit/records_test.cpp, so a change to it cannot pass unnoticed.
//
// Every record starts with its kind (u8), then its fields in the order of the struct,
// encoded by CanonicalWriter (integers big-endian, fixed width; byte strings as a u32
// length and the bytes). A NULL pending_id is 0.

#include <cstdint>
#include <string_view>

#include "cpx/audit/chain.hpp"

namespace cpx::audit {

// audit_log.kind (the audit_record_kinds table of db/migrations/0007_audit.sql).
enum class RecordKind : std::uint8_t {
    Journal = 1,   // ref = journal.seq
    Transfer = 2,  // ref = transfers.id
    Trade = 3,     // ref = obligations.id
};

// A journal row.
struct JournalRecord {
    std::uint64_t seq = 0;
    std::int64_t ts_ns = 0;
    std::uint16_t kind = 0;
    std::string_view body;
};

// A transfers row.
struct TransferRecord {
    std::uint64_t id = 0;
    std::uint64_t debit_account_id = 0;
    std::uint64_t credit_account_id = 0;
    std::int64_t amount = 0;
    std::uint64_t pending_id = 0;  // 0 for NULL
    std::uint8_t flags = 0;
    std::uint16_t code = 0;
    std::uint64_t seq = 0;
    std::int64_t ts_ns = 0;
    std::uint64_t user_data = 0;  // the bigint's 64 bits
};

// An obligations row: the trade.
struct TradeRecord {
    std::uint64_t id = 0;
    std::uint64_t instrument = 0;
    std::uint64_t buyer = 0;
    std::uint64_t provider = 0;
    std::uint64_t buy_order = 0;
    std::uint64_t sell_order = 0;
    std::int64_t price = 0;
    std::int64_t quantity = 0;
    std::int64_t amount_fen = 0;
    std::int64_t traded_ns = 0;
    std::int64_t window_end_ns = 0;
    std::uint64_t created_seq = 0;
};

// The canonical encodings, appended to `out` (which is not cleared, so that a writer can
// reuse one buffer): each is exactly what docs/AUDIT.md lists.
void encode_record(const JournalRecord& r, CanonicalWriter& out);
void encode_record(const TransferRecord& r, CanonicalWriter& out);
void encode_record(const TradeRecord& r, CanonicalWriter& out);

}  // namespace cpx::audit
