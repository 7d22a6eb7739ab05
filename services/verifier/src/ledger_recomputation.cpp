#include "ledger_recomputation.hpp"

#include "pager.hpp"

namespace cpx::verifier::detail {

namespace {

constexpr const char* kTotalNames[] = {"debits_pending", "debits_posted", "credits_pending",
                                       "credits_posted"};

}  // namespace

void LedgerRecomputation::add(std::int64_t account, std::int64_t Totals::*total,
                              std::int64_t amount, bool release, std::uint64_t transfer) {
    Totals& totals = accounts_[account];
    if (totals.overflowed) {
        return;
    }
    std::int64_t sum = 0;
    // Checked arithmetic: a tampered amount may be anything a bigint holds.
    const bool overflow = release ? __builtin_sub_overflow(totals.*total, amount, &sum)
                                  : __builtin_add_overflow(totals.*total, amount, &sum);
    if (overflow) {
        totals.overflowed = true;
        problems_.add("ledger account " + std::to_string(account) +
                      ": its totals recomputed from transfers overflow 64 bits at transfer " +
                      std::to_string(transfer));
        return;
    }
    totals.*total = sum;
}

void LedgerRecomputation::apply(const audit::TransferRecord& t) {
    const auto debit = static_cast<std::int64_t>(t.debit_account_id);
    const auto credit = static_cast<std::int64_t>(t.credit_account_id);
    const auto name = [&] { return "transfer " + std::to_string(t.id); };
    switch (t.flags) {
        case 0:
            add(debit, &Totals::debits_posted, t.amount, false, t.id);
            add(credit, &Totals::credits_posted, t.amount, false, t.id);
            return;
        case 1:
            add(debit, &Totals::debits_pending, t.amount, false, t.id);
            add(credit, &Totals::credits_pending, t.amount, false, t.id);
            pending_[t.id] = t.amount;
            return;
        case 2:
        case 4: {
            const auto it = pending_.find(t.pending_id);
            if (it == pending_.end()) {
                problems_.add(name() + " (flags " + std::to_string(t.flags) +
                              ") resolves transfer " + std::to_string(t.pending_id) +
                              ", which is not an unresolved pending transfer before it in "
                              "transfers");
            } else {
                add(debit, &Totals::debits_pending, it->second, true, t.id);
                add(credit, &Totals::credits_pending, it->second, true, t.id);
                pending_.erase(it);
            }
            if (t.flags == 2) {
                add(debit, &Totals::debits_posted, t.amount, false, t.id);
                add(credit, &Totals::credits_posted, t.amount, false, t.id);
            }
            return;
        }
        default:
            problems_.add(name() + " has flags " + std::to_string(t.flags) +
                          ", none of 0 (posted), 1 (pending), 2 (post) and 4 (void)");
            return;
    }
}

void LedgerRecomputation::compare_one(std::int64_t account, const Totals& recomputed,
                                      const pqxx::row& stored) {
    if (recomputed.overflowed) {
        return;
    }
    const std::int64_t want[] = {recomputed.debits_pending, recomputed.debits_posted,
                                 recomputed.credits_pending, recomputed.credits_posted};
    std::string differences;
    for (pqxx::row::size_type i = 0; i < 4; ++i) {
        const std::int64_t have = stored[i + 1].as<std::int64_t>();
        if (have != want[i]) {
            differences += differences.empty() ? "" : "; ";
            differences += std::string(kTotalNames[i]) + " is " + std::to_string(have) +
                           " in ledger_accounts, but the transfers add up to " +
                           std::to_string(want[i]);
        }
    }
    if (!differences.empty()) {
        problems_.add("ledger account " + std::to_string(account) + ": " + differences);
    }
}

std::uint64_t LedgerRecomputation::compare(pqxx::transaction_base& tx, std::size_t chunk_rows) {
    Pager stored(tx,
                 "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted "
                 "FROM ledger_accounts WHERE id > $1 ORDER BY id LIMIT $2",
                 chunk_rows);
    std::uint64_t compared = 0;
    auto next = accounts_.begin();
    const auto missing = [&](std::int64_t account) {
        problems_.add("ledger account " + std::to_string(account) +
                      " is named by transfers but is not in ledger_accounts");
    };
    for (const pqxx::row* row = stored.peek(); row != nullptr; stored.pop(), row = stored.peek()) {
        const std::int64_t id = (*row)[0].as<std::int64_t>();
        for (; next != accounts_.end() && next->first < id; ++next) {
            missing(next->first);
        }
        if (next != accounts_.end() && next->first == id) {
            compare_one(id, next->second, *row);
            ++next;
        } else {
            compare_one(id, Totals{}, *row);
        }
        ++compared;
    }
    for (; next != accounts_.end(); ++next) {
        missing(next->first);
    }
    return compared;
}

}  // namespace cpx::verifier::detail
