#pragma once
// Every ledger account's four totals recomputed from the transfers alone, with the rules
// of ledger_apply_transfers() (db/migrations/0002_ledger.sql and 0005_bulk_writes.sql):
//
//   flags 0, posted:        amount to the debit's debits_posted and the credit's
//                           credits_posted;
//   flags 1, pending:       amount to debits_pending and credits_pending;
//   flags 2, post_pending:  the PENDING's whole amount out of debits_pending and
//                           credits_pending, and this transfer's amount to the posted
//                           totals (a post may post less than was held);
//   flags 4, void_pending:  the pending's whole amount out of the pending totals.
//
// The verifier computes them itself rather than reading ledger_balance_check: a view is
// a definition in the database, which the insider the audit guards against can replace.

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include <pqxx/pqxx>

#include "cpx/audit/records.hpp"
#include "problems.hpp"

namespace cpx::verifier::detail {

class LedgerRecomputation {
  public:
    explicit LedgerRecomputation(Problems& problems) : problems_(problems) {}

    // Applies one transfers row. Rows must come in id order: a post or void resolves a
    // pending transfer with a smaller id (the exchange numbers transfers as it makes
    // them, and a resolution comes after its pending).
    void apply(const audit::TransferRecord& transfer);

    // Compares the totals with ledger_accounts, read in id order; returns the accounts
    // compared.
    std::uint64_t compare(pqxx::transaction_base& tx, std::size_t chunk_rows);

  private:
    struct Totals {
        std::int64_t debits_pending = 0;
        std::int64_t debits_posted = 0;
        std::int64_t credits_pending = 0;
        std::int64_t credits_posted = 0;
        bool overflowed = false;
    };

    // Adds `amount` to the total, or takes it out when `release`.
    void add(std::int64_t account, std::int64_t Totals::*total, std::int64_t amount, bool release,
             std::uint64_t transfer);
    void compare_one(std::int64_t account, const Totals& recomputed, const pqxx::row& stored);

    Problems& problems_;
    // Keyed as ledger_accounts.id is (bigint), so that the map's order is the table's.
    std::map<std::int64_t, Totals> accounts_;
    // The amounts of the pending transfers not resolved yet.
    std::unordered_map<std::uint64_t, std::int64_t> pending_;
};

}  // namespace cpx::verifier::detail
