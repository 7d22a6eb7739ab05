// Tests of cpx_ledger: every refusal, two-phase transfers, the pending table, a randomized
// comparison with a slow and obviously correct std::map reference model, snapshots, and
// the cost of apply (printed, not asserted).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cpx/ledger/ledger.hpp"
#include "stress.hpp"

namespace cpx::ledger {

// GoogleTest prints a Result by name.
void PrintTo(Result result, std::ostream* os) {
    *os << result_name(result);
}

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// ---- Helpers ---------------------------------------------------------------------------

Account make_account(std::uint64_t owner, std::uint16_t purpose_value, std::uint32_t flags,
                     std::uint16_t currency = kCurrencyCny) {
    Account a;
    a.id = account_id(owner, purpose_value);
    a.owner = owner;
    a.purpose = purpose_value;
    a.currency = currency;
    a.flags = flags;
    a.created_seq = 1;
    return a;
}

Transfer make_transfer(std::uint64_t id, std::uint64_t debit, std::uint64_t credit,
                       std::int64_t amount, std::uint32_t flags = transfer_flags::posted,
                       std::uint64_t pending_id = 0, std::uint64_t seq = 10) {
    Transfer t;
    t.id = id;
    t.debit_account_id = debit;
    t.credit_account_id = credit;
    t.amount = amount;
    t.pending_id = pending_id;
    t.flags = flags;
    t.code = code::reserve;
    t.seq = seq;
    t.ts_ns = 1'700'000'000'000'000'000;
    t.user_data = 42;
    return t;
}

class RecordingSink final : public TransferSink {
  public:
    void on_transfer(const Transfer& transfer) override { transfers.push_back(transfer); }
    void on_account(const Account& account) override { accounts.push_back(account); }
    std::vector<Transfer> transfers;
    std::vector<Account> accounts;
};

// The accounts most tests use.
const std::uint64_t kExternal = account_id(0, purpose::external_deposits);  // unlimited
const std::uint64_t kFees = account_id(0, purpose::fees);                   // flag 1
const std::uint64_t kAlice = account_id(1, purpose::available);             // flag 1
const std::uint64_t kAliceEscrow = account_id(1, purpose::escrow);          // flag 1
const std::uint64_t kBob = account_id(2, purpose::available);               // flag 1
const std::uint64_t kBobOwes = account_id(2, purpose::penalties_payable);   // flag 2
const std::uint64_t kDollars = account_id(3, purpose::available);           // flag 1, USD

class LedgerTest : public ::testing::Test {
  protected:
    LedgerTest() : ledger_(LedgerConfig{64, 4}, &sink_) {
        const std::uint32_t debit_limited = account_flags::debits_must_not_exceed_credits;
        EXPECT_EQ(ledger_.open_account(make_account(0, purpose::external_deposits, 0)), Result::Ok);
        EXPECT_EQ(ledger_.open_account(make_account(0, purpose::fees, debit_limited)), Result::Ok);
        EXPECT_EQ(ledger_.open_account(make_account(1, purpose::available, debit_limited)),
                  Result::Ok);
        EXPECT_EQ(ledger_.open_account(make_account(1, purpose::escrow, debit_limited)),
                  Result::Ok);
        EXPECT_EQ(ledger_.open_account(make_account(2, purpose::available, debit_limited)),
                  Result::Ok);
        EXPECT_EQ(ledger_.open_account(make_account(2, purpose::penalties_payable,
                                                    account_flags::credits_must_not_exceed_debits)),
                  Result::Ok);
        EXPECT_EQ(ledger_.open_account(make_account(3, purpose::available, debit_limited, 840)),
                  Result::Ok);
    }

    // Applies a transfer with the next id (not from next_transfer_id(), whose counter is
    // state: a refusal must leave the state hash alone); returns its result.
    Result apply(std::uint64_t debit, std::uint64_t credit, std::int64_t amount,
                 std::uint32_t flags = transfer_flags::posted, std::uint64_t pending_id = 0,
                 std::uint64_t seq = 10) {
        last_ = make_transfer(ledger_.last_transfer_id() + 1, debit, credit, amount, flags,
                              pending_id, seq);
        return ledger_.apply(last_);
    }
    void deposit(std::uint64_t account, std::int64_t amount) {
        ASSERT_EQ(apply(kExternal, account, amount), Result::Ok);
    }
    const Account& acct(std::uint64_t id) const { return *ledger_.account(id); }

    RecordingSink sink_;
    Ledger ledger_;
    Transfer last_;
};

// ---- Accounts --------------------------------------------------------------------------

TEST_F(LedgerTest, OpenAccountRefusesEveryInvalidSpecAndChangesNothing) {
    const std::uint64_t hash = ledger_.state_hash();
    const Account valid = make_account(9, purpose::available, 1);
    auto with = [&](auto change) {
        Account a = valid;
        change(a);
        return ledger_.open_account(a);
    };
    EXPECT_EQ(with([](Account& a) { a.id = 0; }), Result::IdZero);
    EXPECT_EQ(with([](Account& a) { a.id = kMaxId + 1; }), Result::IdTooLarge);
    EXPECT_EQ(with([](Account& a) { a.id = kAlice; }), Result::AccountExists);
    EXPECT_EQ(with([](Account& a) { a.owner = kMaxId + 1; }), Result::OwnerTooLarge);
    EXPECT_EQ(with([](Account& a) { a.purpose = 0; }), Result::PurposeInvalid);
    EXPECT_EQ(with([](Account& a) { a.purpose = 9; }), Result::PurposeInvalid);
    EXPECT_EQ(with([](Account& a) { a.currency = 0; }), Result::CurrencyInvalid);
    EXPECT_EQ(with([](Account& a) { a.currency = 32768; }), Result::CurrencyInvalid);
    EXPECT_EQ(with([](Account& a) { a.flags = 3; }), Result::AccountFlagsInvalid);
    EXPECT_EQ(with([](Account& a) { a.flags = 4; }), Result::AccountFlagsInvalid);
    EXPECT_EQ(with([](Account& a) { a.debits_pending = 1; }), Result::TotalsNotZero);
    EXPECT_EQ(with([](Account& a) { a.debits_posted = 1; }), Result::TotalsNotZero);
    EXPECT_EQ(with([](Account& a) { a.credits_pending = 1; }), Result::TotalsNotZero);
    EXPECT_EQ(with([](Account& a) { a.credits_posted = -1; }), Result::TotalsNotZero);
    EXPECT_EQ(with([](Account& a) { a.created_seq = kMaxId + 1; }), Result::CreatedSeqInvalid);
    // (owner, purpose, currency) is unique, whatever the id.
    EXPECT_EQ(with([](Account& a) {
                  a.id = 999;
                  a.owner = 1;
                  a.purpose = purpose::available;
              }),
              Result::AccountKeyExists);
    EXPECT_EQ(ledger_.state_hash(), hash);
    EXPECT_EQ(ledger_.account_count(), 7u);
    // Another currency is another key.
    EXPECT_EQ(with([](Account& a) {
                  a.id = 999;
                  a.owner = 1;
                  a.purpose = purpose::available;
                  a.currency = 978;
              }),
              Result::Ok);
    EXPECT_EQ(ledger_.open_account(valid), Result::Ok);
    EXPECT_EQ(*ledger_.account(valid.id), valid);
}

TEST_F(LedgerTest, SinkSeesEveryAccountOpenedAndNoRefusedOne) {
    ASSERT_EQ(sink_.accounts.size(), 7u);
    EXPECT_EQ(sink_.accounts[2], acct(kAlice));
    const Account opened = make_account(9, purpose::available, 1);
    EXPECT_EQ(ledger_.open_account(opened), Result::Ok);
    EXPECT_EQ(ledger_.open_account(opened), Result::AccountExists);
    ASSERT_EQ(sink_.accounts.size(), 8u);
    EXPECT_EQ(sink_.accounts.back(), opened);
    // A sink that only wants transfers need not override on_account.
    struct TransfersOnly final : TransferSink {
        void on_transfer(const Transfer&) override {}
    } transfers_only;
    ledger_.set_sink(&transfers_only);
    EXPECT_EQ(ledger_.open_account(make_account(10, purpose::available, 1)), Result::Ok);
    EXPECT_EQ(sink_.accounts.size(), 8u);
}

TEST(LedgerAccounts, AccountsFullIsRefused) {
    Ledger ledger(LedgerConfig{2, 1});
    EXPECT_EQ(ledger.open_account(make_account(1, purpose::available, 1)), Result::Ok);
    EXPECT_EQ(ledger.open_account(make_account(2, purpose::available, 1)), Result::Ok);
    EXPECT_EQ(ledger.open_account(make_account(3, purpose::available, 1)), Result::AccountsFull);
    EXPECT_EQ(ledger.account(account_id(3, purpose::available)), nullptr);
    EXPECT_EQ(ledger.account_count(), 2u);
}

TEST(LedgerAccounts, AccountIdsAreOwnerTimesSixteenPlusPurpose) {
    static_assert(account_id(0, purpose::fees) == 5);
    static_assert(account_id(1, purpose::available) == 17);
    static_assert(account_id(7, purpose::penalties_payable) == 7 * 16 + 8);
    Account a = make_account(5, purpose::escrow, 1);
    EXPECT_EQ(a.id, 83u);
}

TEST(LedgerAccounts, BalanceHelpers) {
    Account a;
    a.credits_posted = 100;
    a.debits_posted = 30;
    a.debits_pending = 20;
    EXPECT_EQ(a.credit_balance(), 70);
    EXPECT_EQ(a.debit_balance(), -70);
    EXPECT_EQ(a.available(), 50);
    a.credits_posted = 0;
    a.debits_posted = kInt64Max;
    a.debits_pending = kInt64Max;
    EXPECT_EQ(a.available(), std::numeric_limits<std::int64_t>::min());
}

// ---- Every refusal of apply ------------------------------------------------------------

TEST_F(LedgerTest, ApplyRefusesEveryInvalidTransferAndChangesNothing) {
    deposit(kAlice, 1000);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 300, transfer_flags::pending, 0, 50), Result::Ok);
    const std::uint64_t pending_id = last_.id;
    // A pending that fills the table's last free slots is made below; keep two free.
    const std::uint64_t hash = ledger_.state_hash();
    const std::size_t sunk = sink_.transfers.size();
    const std::uint64_t next = ledger_.last_transfer_id() + 1;

    struct Case {
        const char* what;
        Transfer transfer;
        Result expected;
    };
    const Transfer ok = make_transfer(next, kAlice, kBob, 10);
    const Transfer post = make_transfer(next, kAlice, kAliceEscrow, 100,
                                        transfer_flags::post_pending, pending_id, 60);
    const Transfer void_ = make_transfer(next, kAlice, kAliceEscrow, 300,
                                         transfer_flags::void_pending, pending_id, 60);
    auto changed = [](Transfer t, auto change) {
        change(t);
        return t;
    };
    const std::vector<Case> cases = {
        {"id 0", changed(ok, [](Transfer& t) { t.id = 0; }), Result::IdZero},
        {"id beyond bigint", changed(ok, [](Transfer& t) { t.id = kMaxId + 1; }),
         Result::IdTooLarge},
        {"id of the last transfer", changed(ok, [&](Transfer& t) { t.id = next - 1; }),
         Result::IdNotIncreasing},
        {"old id", changed(ok, [](Transfer& t) { t.id = 1; }), Result::IdNotIncreasing},
        {"flags 3", changed(ok, [](Transfer& t) { t.flags = 3; }), Result::FlagsInvalid},
        {"flags 8", changed(ok, [](Transfer& t) { t.flags = 8; }), Result::FlagsInvalid},
        {"pending_id on a posted transfer",
         changed(ok, [&](Transfer& t) { t.pending_id = pending_id; }), Result::PendingIdInvalid},
        {"pending_id on a pending",
         changed(ok,
                 [&](Transfer& t) {
                     t.flags = transfer_flags::pending;
                     t.pending_id = pending_id;
                 }),
         Result::PendingIdInvalid},
        {"post without pending_id", changed(post, [](Transfer& t) { t.pending_id = 0; }),
         Result::PendingIdInvalid},
        {"void without pending_id", changed(void_, [](Transfer& t) { t.pending_id = 0; }),
         Result::PendingIdInvalid},
        {"code 0", changed(ok, [](Transfer& t) { t.code = 0; }), Result::CodeInvalid},
        {"code 11", changed(ok, [](Transfer& t) { t.code = 11; }), Result::CodeInvalid},
        {"amount 0", changed(ok, [](Transfer& t) { t.amount = 0; }), Result::AmountNotPositive},
        {"amount negative", changed(ok, [](Transfer& t) { t.amount = -5; }),
         Result::AmountNotPositive},
        {"seq 0", changed(ok, [](Transfer& t) { t.seq = 0; }), Result::SeqInvalid},
        {"seq beyond bigint", changed(ok, [](Transfer& t) { t.seq = kMaxId + 1; }),
         Result::SeqInvalid},
        {"negative timestamp", changed(ok, [](Transfer& t) { t.ts_ns = -1; }),
         Result::TimestampInvalid},
        {"same account", changed(ok, [](Transfer& t) { t.credit_account_id = kAlice; }),
         Result::SameAccount},
        {"unknown debit account", changed(ok, [](Transfer& t) { t.debit_account_id = 12345; }),
         Result::DebitAccountNotFound},
        {"debit account 0", changed(ok, [](Transfer& t) { t.debit_account_id = 0; }),
         Result::DebitAccountNotFound},
        {"unknown credit account", changed(ok, [](Transfer& t) { t.credit_account_id = 12345; }),
         Result::CreditAccountNotFound},
        {"another currency", changed(ok, [](Transfer& t) { t.credit_account_id = kDollars; }),
         Result::CurrencyDiffers},
        {"post of an unknown pending", changed(post, [](Transfer& t) { t.pending_id = 777777; }),
         Result::PendingNotFound},
        {"post of a posted transfer", changed(post, [](Transfer& t) { t.pending_id = 1; }),
         Result::PendingNotFound},
        {"post with another debit account",
         changed(post, [](Transfer& t) { t.debit_account_id = kBob; }),
         Result::PendingAccountsDiffer},
        {"post with another credit account",
         changed(post, [](Transfer& t) { t.credit_account_id = kBob; }),
         Result::PendingAccountsDiffer},
        {"post with the accounts swapped",
         changed(post,
                 [](Transfer& t) {
                     t.debit_account_id = kAliceEscrow;
                     t.credit_account_id = kAlice;
                 }),
         Result::PendingAccountsDiffer},
        {"post for more than the pending", changed(post, [](Transfer& t) { t.amount = 301; }),
         Result::AmountExceedsPending},
        {"void for more than the pending", changed(void_, [](Transfer& t) { t.amount = 301; }),
         Result::AmountExceedsPending},
        {"void for less than the pending", changed(void_, [](Transfer& t) { t.amount = 299; }),
         Result::VoidAmountDiffers},
        {"post at a seq before the pending's", changed(post, [](Transfer& t) { t.seq = 49; }),
         Result::SeqBeforePending},
        {"void at a seq before the pending's", changed(void_, [](Transfer& t) { t.seq = 1; }),
         Result::SeqBeforePending},
        {"overdraft", changed(ok, [](Transfer& t) { t.amount = 701; }), Result::ExceedsCredits},
        {"overdraft of an empty account",
         changed(ok, [](Transfer& t) { t.debit_account_id = kFees; }), Result::ExceedsCredits},
        {"pending overdraft",
         changed(ok,
                 [](Transfer& t) {
                     t.flags = transfer_flags::pending;
                     t.amount = 701;
                 }),
         Result::ExceedsCredits},
        {"credit of an account that may only owe",
         changed(ok,
                 [](Transfer& t) {
                     t.debit_account_id = kExternal;
                     t.credit_account_id = kBobOwes;
                 }),
         Result::ExceedsDebits},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        EXPECT_EQ(ledger_.check(c.transfer), c.expected) << result_name(ledger_.check(c.transfer));
        EXPECT_EQ(ledger_.apply(c.transfer), c.expected);
        EXPECT_EQ(ledger_.state_hash(), hash);
        EXPECT_EQ(sink_.transfers.size(), sunk);
        EXPECT_EQ(ledger_.last_transfer_id(), next - 1);
    }
    // The unchanged transfers are fine, and the same post is then refused.
    EXPECT_EQ(ledger_.check(ok), Result::Ok);
    EXPECT_EQ(ledger_.check(void_), Result::Ok);
    EXPECT_EQ(ledger_.apply(post), Result::Ok);
    EXPECT_EQ(ledger_.apply(changed(post, [](Transfer& t) { t.id += 1; })),
              Result::PendingNotFound);
}

TEST_F(LedgerTest, PendingsFullIsRefusedUntilOneResolves) {
    deposit(kAlice, 1000);
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(apply(kAlice, kAliceEscrow, 10, transfer_flags::pending), Result::Ok);
        ids.push_back(last_.id);
    }
    const std::uint64_t hash = ledger_.state_hash();
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 10, transfer_flags::pending), Result::PendingsFull);
    EXPECT_EQ(ledger_.state_hash(), hash);
    // A single-phase transfer still goes through, and resolving frees a slot.
    EXPECT_EQ(apply(kAlice, kBob, 10), Result::Ok);
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 10, transfer_flags::void_pending, ids[1]), Result::Ok);
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 10, transfer_flags::pending), Result::Ok);
    EXPECT_EQ(ledger_.pending_count(), 4u);
}

TEST_F(LedgerTest, OverflowIsRefusedAndChangesNothing) {
    deposit(kAlice, kInt64Max);
    EXPECT_EQ(acct(kExternal).debits_posted, kInt64Max);
    const std::uint64_t hash = ledger_.state_hash();
    EXPECT_EQ(apply(kExternal, kBob, 1), Result::Overflow);   // external's debits_posted
    EXPECT_EQ(apply(kBobOwes, kAlice, 1), Result::Overflow);  // alice's credits_posted
    EXPECT_EQ(ledger_.state_hash(), hash);
    // Pending totals overflow too: Alice holds INT64_MAX and may hold it all pending.
    EXPECT_EQ(apply(kAlice, kAliceEscrow, kInt64Max, transfer_flags::pending), Result::Ok);
    EXPECT_EQ(acct(kAlice).debits_pending, kInt64Max);
    EXPECT_EQ(acct(kAlice).available(), 0);
    EXPECT_EQ(apply(kAlice, kBob, 1, transfer_flags::pending), Result::Overflow);
    // The limit is checked on the exact sum (PostgreSQL compares it in numeric): a post
    // of the whole pending is fine.
    const std::uint64_t pending_id = ledger_.last_transfer_id();
    EXPECT_EQ(apply(kAlice, kAliceEscrow, kInt64Max, transfer_flags::post_pending, pending_id),
              Result::Ok);
    EXPECT_EQ(acct(kAliceEscrow).credits_posted, kInt64Max);
    EXPECT_TRUE(ledger_.totals().balanced());
}

// ---- Behaviour -------------------------------------------------------------------------

TEST_F(LedgerTest, OverdraftIsRefusedAndChangesNothing) {
    deposit(kAlice, 500);
    const std::uint64_t hash = ledger_.state_hash();
    const std::vector<Account> before = ledger_.accounts();
    EXPECT_EQ(apply(kAlice, kBob, 501), Result::ExceedsCredits);
    EXPECT_EQ(ledger_.state_hash(), hash);
    EXPECT_EQ(ledger_.accounts(), before);
    EXPECT_EQ(sink_.transfers.size(), 1u);
    // Exactly the balance is fine.
    EXPECT_EQ(apply(kAlice, kBob, 500), Result::Ok);
    EXPECT_EQ(acct(kAlice).credit_balance(), 0);
    EXPECT_EQ(acct(kBob).credit_balance(), 500);
    EXPECT_EQ(apply(kAlice, kBob, 1), Result::ExceedsCredits);
}

TEST_F(LedgerTest, PendingHoldsFundsThatCannotBeSpentTwice) {
    deposit(kAlice, 1000);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 600, transfer_flags::pending), Result::Ok);
    const std::uint64_t pending_id = last_.id;
    EXPECT_EQ(acct(kAlice).debits_pending, 600);
    EXPECT_EQ(acct(kAliceEscrow).credits_pending, 600);
    EXPECT_EQ(acct(kAlice).available(), 400);
    EXPECT_EQ(acct(kAliceEscrow).credit_balance(), 0);  // not yet the escrow's money
    EXPECT_EQ(apply(kAlice, kBob, 401), Result::ExceedsCredits);
    EXPECT_EQ(apply(kAlice, kBob, 401, transfer_flags::pending), Result::ExceedsCredits);
    EXPECT_EQ(apply(kAliceEscrow, kBob, 1), Result::ExceedsCredits);  // pending credits don't count
    EXPECT_EQ(apply(kAlice, kBob, 400), Result::Ok);
    ASSERT_NE(ledger_.pending(pending_id), nullptr);
    EXPECT_EQ(ledger_.pending(pending_id)->amount, 600);
    const Ledger::Totals totals = ledger_.totals();
    EXPECT_TRUE(totals.balanced());
    EXPECT_EQ(totals.debits_pending, 600u);
    EXPECT_EQ(totals.debits_posted, 1400u);
}

TEST_F(LedgerTest, PartialPostMovesTheAmountAndReleasesTheRest) {
    deposit(kAlice, 1000);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 600, transfer_flags::pending, 0, 20), Result::Ok);
    const std::uint64_t pending_id = last_.id;
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 250, transfer_flags::post_pending, pending_id, 20),
              Result::Ok);
    EXPECT_EQ(acct(kAlice).debits_pending, 0);
    EXPECT_EQ(acct(kAlice).debits_posted, 250);
    EXPECT_EQ(acct(kAlice).available(), 750);
    EXPECT_EQ(acct(kAliceEscrow).credits_pending, 0);
    EXPECT_EQ(acct(kAliceEscrow).credits_posted, 250);
    EXPECT_EQ(ledger_.pending(pending_id), nullptr);
    EXPECT_EQ(ledger_.pending_count(), 0u);
    EXPECT_TRUE(ledger_.totals().balanced());
    // The escrow's money is now posted and can move on.
    EXPECT_EQ(apply(kAliceEscrow, kBob, 250), Result::Ok);
}

TEST_F(LedgerTest, VoidReleasesTheWholePending) {
    deposit(kAlice, 1000);
    const std::vector<Account> before = ledger_.accounts();
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 600, transfer_flags::pending), Result::Ok);
    const std::uint64_t pending_id = last_.id;
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 600, transfer_flags::void_pending, pending_id),
              Result::Ok);
    EXPECT_EQ(ledger_.accounts(), before);
    EXPECT_EQ(ledger_.pending(pending_id), nullptr);
    EXPECT_EQ(acct(kAlice).available(), 1000);
}

TEST_F(LedgerTest, DoubleResolveIsRefused) {
    deposit(kAlice, 1000);
    std::uint64_t resolution_id = 0;
    for (const std::uint32_t first : {transfer_flags::post_pending, transfer_flags::void_pending}) {
        for (const std::uint32_t second :
             {transfer_flags::post_pending, transfer_flags::void_pending}) {
            ASSERT_EQ(apply(kAlice, kAliceEscrow, 10, transfer_flags::pending), Result::Ok);
            const std::uint64_t pending_id = last_.id;
            ASSERT_EQ(apply(kAlice, kAliceEscrow, 10, first, pending_id), Result::Ok);
            resolution_id = last_.id;
            const std::uint64_t hash = ledger_.state_hash();
            EXPECT_EQ(apply(kAlice, kAliceEscrow, 10, second, pending_id), Result::PendingNotFound);
            EXPECT_EQ(ledger_.state_hash(), hash);
        }
    }
    // A resolution cannot itself be resolved either.
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 10, transfer_flags::void_pending, resolution_id),
              Result::PendingNotFound);
}

TEST_F(LedgerTest, PostWithOtherAccountsIsRefused) {
    deposit(kAlice, 1000);
    deposit(kBob, 1000);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 100, transfer_flags::pending), Result::Ok);
    const std::uint64_t pending_id = last_.id;
    const std::uint64_t hash = ledger_.state_hash();
    EXPECT_EQ(apply(kBob, kAliceEscrow, 100, transfer_flags::post_pending, pending_id),
              Result::PendingAccountsDiffer);
    EXPECT_EQ(apply(kAlice, kFees, 100, transfer_flags::post_pending, pending_id),
              Result::PendingAccountsDiffer);
    EXPECT_EQ(apply(kAlice, kFees, 100, transfer_flags::void_pending, pending_id),
              Result::PendingAccountsDiffer);
    EXPECT_EQ(ledger_.state_hash(), hash);
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 100, transfer_flags::post_pending, pending_id),
              Result::Ok);
}

TEST_F(LedgerTest, ResolutionAtTheSameSeqAsItsPendingIsAccepted) {
    deposit(kAlice, 1000);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 100, transfer_flags::pending, 0, 30), Result::Ok);
    const std::uint64_t pending_id = last_.id;
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 100, transfer_flags::post_pending, pending_id, 29),
              Result::SeqBeforePending);
    EXPECT_EQ(apply(kAlice, kAliceEscrow, 100, transfer_flags::post_pending, pending_id, 30),
              Result::Ok);
}

TEST_F(LedgerTest, AccountThatMayOnlyOweIsCreditedOnlyUpToItsDebits) {
    // A penalty owed: Bob's penalties_payable is debited (Bob owes), then paid down.
    ASSERT_EQ(apply(kBobOwes, kFees, 300), Result::Ok);
    EXPECT_EQ(acct(kBobOwes).debit_balance(), 300);
    deposit(kBob, 1000);
    EXPECT_EQ(apply(kBob, kBobOwes, 301), Result::ExceedsDebits);
    EXPECT_EQ(apply(kBob, kBobOwes, 200, transfer_flags::pending), Result::Ok);
    EXPECT_EQ(apply(kBob, kBobOwes, 101, transfer_flags::pending), Result::ExceedsDebits);
    EXPECT_EQ(apply(kBob, kBobOwes, 100), Result::Ok);
    EXPECT_EQ(acct(kBobOwes).credits_pending + acct(kBobOwes).credits_posted, 300);
}

TEST_F(LedgerTest, IdsMustIncreaseSoAReplayIsRefused) {
    deposit(kAlice, 100);
    const Transfer first = last_;
    EXPECT_EQ(ledger_.apply(first), Result::IdNotIncreasing);  // the replay is harmless
    Transfer later = make_transfer(first.id + 100, kAlice, kBob, 10);
    EXPECT_EQ(ledger_.apply(later), Result::Ok);
    later.id = first.id + 50;  // a skipped id is in the past now
    EXPECT_EQ(ledger_.apply(later), Result::IdNotIncreasing);
    EXPECT_EQ(ledger_.last_transfer_id(), first.id + 100);
    EXPECT_EQ(acct(kAlice).credit_balance(), 90);
}

TEST(LedgerIds, NextTransferIdIsGreaterThanEveryIdAppliedOrIssued) {
    Ledger ledger(LedgerConfig{8, 8});
    ASSERT_EQ(ledger.open_account(make_account(0, purpose::external_deposits, 0)), Result::Ok);
    ASSERT_EQ(ledger.open_account(make_account(1, purpose::available, 1)), Result::Ok);
    EXPECT_EQ(ledger.last_transfer_id(), 0u);
    EXPECT_EQ(ledger.next_transfer_id(), 1u);
    EXPECT_EQ(ledger.next_transfer_id(), 2u);  // 1 was issued, even if never applied
    Transfer t = make_transfer(1, kExternal, kAlice, 5);
    EXPECT_EQ(ledger.apply(t), Result::Ok);  // an issued id applied late is fine
    t.id = 40;
    EXPECT_EQ(ledger.apply(t), Result::Ok);  // an id chosen by the owner
    EXPECT_EQ(ledger.next_transfer_id(), 41u);
}

TEST_F(LedgerTest, SinkReceivesAcceptedTransfersInOrder) {
    std::vector<Transfer> accepted;
    deposit(kAlice, 100);
    accepted.push_back(last_);
    EXPECT_EQ(apply(kAlice, kBob, 1000), Result::ExceedsCredits);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 40, transfer_flags::pending), Result::Ok);
    accepted.push_back(last_);
    ASSERT_EQ(apply(kAlice, kAliceEscrow, 30, transfer_flags::post_pending, last_.id), Result::Ok);
    accepted.push_back(last_);
    EXPECT_EQ(sink_.transfers, accepted);
}

TEST(LedgerResults, EveryResultHasADistinctName) {
    std::set<std::string_view> names;
    for (std::uint8_t i = 0; i < kResultCount; ++i) {
        const std::string_view name = result_name(static_cast<Result>(i));
        EXPECT_NE(name, "unknown") << int{i};
        names.insert(name);
    }
    EXPECT_EQ(names.size(), kResultCount);
    EXPECT_EQ(result_name(static_cast<Result>(kResultCount)), "unknown");
    EXPECT_EQ(result_name(Result::Ok), "ok");
    EXPECT_EQ(result_name(Result::ExceedsCredits), "exceeds_credits");
}

// ---- The pending table -----------------------------------------------------------------

TEST(LedgerPendingTable, HeavyChurnFindsEveryOpenPendingAndNoResolvedOne) {
    // A tiny, full table: long probe clusters, wrapping around, and backward shifts.
    constexpr std::uint32_t kMax = 13;
    Ledger ledger(LedgerConfig{4, kMax});
    ASSERT_EQ(ledger.open_account(make_account(0, purpose::external_deposits, 0)), Result::Ok);
    ASSERT_EQ(ledger.open_account(make_account(1, purpose::available, 0)), Result::Ok);
    std::mt19937_64 rng(7);
    std::map<std::uint64_t, std::int64_t> open;
    std::vector<std::uint64_t> resolved;
    const std::uint64_t steps = testing::scaled(20000);
    for (std::uint64_t step = 0; step < steps; ++step) {
        const bool create = open.empty() || (open.size() < kMax && rng() % 2 == 0);
        const std::uint64_t id = ledger.next_transfer_id() + rng() % 3;  // gaps too
        if (create) {
            const auto amount = static_cast<std::int64_t>(1 + rng() % 100);
            ASSERT_EQ(
                ledger.apply(make_transfer(id, kExternal, kAlice, amount, transfer_flags::pending)),
                Result::Ok);
            open[id] = amount;
        } else {
            auto it = open.begin();
            std::advance(it, static_cast<long>(rng() % open.size()));
            ASSERT_EQ(ledger.apply(make_transfer(id, kExternal, kAlice, it->second,
                                                 transfer_flags::void_pending, it->first)),
                      Result::Ok);
            resolved.push_back(it->first);
            open.erase(it);
        }
        ASSERT_EQ(ledger.pending_count(), open.size());
        for (const auto& [pending_id, amount] : open) {
            const Transfer* p = ledger.pending(pending_id);
            ASSERT_NE(p, nullptr) << "step " << step << " pending " << pending_id;
            ASSERT_EQ(p->amount, amount);
        }
        for (std::size_t i = resolved.size() > 20 ? resolved.size() - 20 : 0; i < resolved.size();
             ++i) {
            ASSERT_EQ(ledger.pending(resolved[i]), nullptr);
        }
    }
    std::int64_t held = 0;
    for (const auto& [pending_id, amount] : open) {
        held += amount;
    }
    EXPECT_EQ(ledger.account(kAlice)->credits_pending, held);
    EXPECT_EQ(ledger.account(kAlice)->credits_posted, 0);
}

// ---- The reference model ---------------------------------------------------------------

__extension__ typedef __int128 Wide;

// A slow and obviously correct ledger: std::map, wide arithmetic, the rules written out
// one by one in the documented order.
struct Model {
    std::map<std::uint64_t, Account> accounts;
    std::map<std::uint64_t, Transfer> pendings;  // unresolved
    std::uint64_t last_id = 0;
    std::uint64_t issued = 0;
    std::size_t pending_max = 0;

    std::uint64_t next_transfer_id() {
        issued = std::max(issued, last_id) + 1;
        return issued;
    }

    static bool fits(Wide v) { return v >= 0 && v <= kInt64Max; }

    static Result limits(const Account& a, const Wide (&t)[4]) {
        // t: debits_pending, debits_posted, credits_pending, credits_posted
        if (a.flags == account_flags::debits_must_not_exceed_credits && t[0] + t[1] > t[3]) {
            return Result::ExceedsCredits;
        }
        if (a.flags == account_flags::credits_must_not_exceed_debits && t[2] + t[3] > t[1]) {
            return Result::ExceedsDebits;
        }
        return Result::Ok;
    }

    Result apply(const Transfer& t) {
        if (t.id == 0)
            return Result::IdZero;
        if (t.id > kMaxId)
            return Result::IdTooLarge;
        if (t.id <= last_id)
            return Result::IdNotIncreasing;
        if (t.flags != 0 && t.flags != 1 && t.flags != 2 && t.flags != 4) {
            return Result::FlagsInvalid;
        }
        const bool resolution = t.flags == 2 || t.flags == 4;
        if (resolution && t.pending_id == 0)
            return Result::PendingIdInvalid;
        if (!resolution && t.pending_id != 0)
            return Result::PendingIdInvalid;
        if (t.code < 1 || t.code > 10)
            return Result::CodeInvalid;
        if (t.amount <= 0)
            return Result::AmountNotPositive;
        if (t.seq == 0 || t.seq > kMaxId)
            return Result::SeqInvalid;
        if (t.ts_ns < 0)
            return Result::TimestampInvalid;
        if (t.debit_account_id == t.credit_account_id)
            return Result::SameAccount;
        auto debit = accounts.find(t.debit_account_id);
        if (debit == accounts.end())
            return Result::DebitAccountNotFound;
        auto credit = accounts.find(t.credit_account_id);
        if (credit == accounts.end())
            return Result::CreditAccountNotFound;
        if (debit->second.currency != credit->second.currency)
            return Result::CurrencyDiffers;
        Wide d[4] = {debit->second.debits_pending, debit->second.debits_posted,
                     debit->second.credits_pending, debit->second.credits_posted};
        Wide c[4] = {credit->second.debits_pending, credit->second.debits_posted,
                     credit->second.credits_pending, credit->second.credits_posted};
        if (t.flags == 0) {
            d[1] += t.amount;
            c[3] += t.amount;
        } else if (t.flags == 1) {
            if (pendings.size() >= pending_max)
                return Result::PendingsFull;
            d[0] += t.amount;
            c[2] += t.amount;
        } else {
            auto p = pendings.find(t.pending_id);
            if (p == pendings.end())
                return Result::PendingNotFound;
            if (p->second.debit_account_id != t.debit_account_id ||
                p->second.credit_account_id != t.credit_account_id) {
                return Result::PendingAccountsDiffer;
            }
            if (t.amount > p->second.amount)
                return Result::AmountExceedsPending;
            if (t.flags == 4 && t.amount != p->second.amount)
                return Result::VoidAmountDiffers;
            if (t.seq < p->second.seq)
                return Result::SeqBeforePending;
            d[0] -= p->second.amount;
            c[2] -= p->second.amount;
            if (t.flags == 2) {
                d[1] += t.amount;
                c[3] += t.amount;
            }
        }
        for (int i = 0; i < 4; ++i) {
            if (!fits(d[i]) || !fits(c[i]))
                return Result::Overflow;
        }
        if (const Result r = limits(debit->second, d); r != Result::Ok)
            return r;
        if (const Result r = limits(credit->second, c); r != Result::Ok)
            return r;
        // Accepted.
        debit->second.debits_pending = static_cast<std::int64_t>(d[0]);
        debit->second.debits_posted = static_cast<std::int64_t>(d[1]);
        credit->second.credits_pending = static_cast<std::int64_t>(c[2]);
        credit->second.credits_posted = static_cast<std::int64_t>(c[3]);
        if (t.flags == 1) {
            pendings[t.id] = t;
        } else if (resolution) {
            pendings.erase(t.pending_id);
        }
        last_id = t.id;
        return Result::Ok;
    }
};

// Random transfers, valid and invalid, aimed at every rule. The model supplies the open
// pendings and the counters.
class RandomTransfers {
  public:
    RandomTransfers(std::uint64_t seed, std::vector<std::uint64_t> account_ids)
        : rng_(seed), accounts_(std::move(account_ids)) {}

    Transfer next(Model& model) {
        Transfer t;
        const std::uint64_t kind = below(100);
        t.flags = kind < 45   ? transfer_flags::posted
                  : kind < 70 ? transfer_flags::pending
                  : kind < 85 ? transfer_flags::post_pending
                  : kind < 97 ? transfer_flags::void_pending
                              : static_cast<std::uint32_t>(below(9));
        // Ids: mostly the counter's; some replays, some jumps, some invalid.
        const std::uint64_t id_kind = below(100);
        if (id_kind < 92 || model.last_id == 0) {
            t.id = model.next_transfer_id();
        } else if (id_kind < 95) {
            t.id = 1 + below(model.last_id);  // an old id or the last one
        } else if (id_kind < 98) {
            t.id = model.next_transfer_id() + below(5);
        } else if (id_kind < 99) {
            t.id = 0;
        } else {
            t.id = kMaxId + 1 + below(3);
        }
        t.debit_account_id = pick_account();
        t.credit_account_id = below(30) == 0 ? t.debit_account_id : pick_account();
        // A deposit now and then keeps the money accounts funded.
        if (t.flags == transfer_flags::posted && below(4) == 0) {
            t.debit_account_id = kExternal;
        }
        t.amount = random_amount();
        t.code = static_cast<std::uint32_t>(below(50) == 0 ? below(20) : 1 + below(10));
        seq_ += below(3);
        t.seq = below(100) == 0 ? (below(2) == 0 ? 0 : kMaxId + 1) : seq_;
        ts_ += static_cast<std::int64_t>(below(1000));
        t.ts_ns = below(100) == 0 ? -1 - static_cast<std::int64_t>(below(5)) : ts_;
        t.user_data = rng_();
        if (t.flags == transfer_flags::post_pending || t.flags == transfer_flags::void_pending) {
            resolve(model, t);
        } else if (below(50) == 0) {
            t.pending_id = 1 + below(model.last_id + 1);
        }
        return t;
    }

    std::uint64_t below(std::uint64_t n) { return rng_() % n; }

  private:
    std::uint64_t pick_account() {
        if (below(25) == 0) {
            return below(2) == 0 ? 0 : 1000 + below(5);  // unknown
        }
        return accounts_[below(accounts_.size())];
    }

    std::int64_t random_amount() {
        const std::uint64_t k = below(100);
        if (k < 2) {
            return -static_cast<std::int64_t>(below(3));  // 0 or negative
        }
        if (k < 75) {
            return static_cast<std::int64_t>(1 + below(1000));
        }
        if (k < 95) {
            return static_cast<std::int64_t>(1 + below(1'000'000'000'000'000ull));
        }
        return kInt64Max - static_cast<std::int64_t>(below(1000));
    }

    void resolve(Model& model, Transfer& t) {
        const std::uint64_t k = below(100);
        if (k < 80 && !model.pendings.empty()) {
            auto it = model.pendings.begin();
            std::advance(it, static_cast<long>(below(model.pendings.size())));
            const Transfer& p = it->second;
            t.pending_id = p.id;
            if (below(10) != 0) {
                t.debit_account_id = p.debit_account_id;
                t.credit_account_id = p.credit_account_id;
            }
            if (t.flags == transfer_flags::void_pending) {
                if (below(6) != 0) {
                    t.amount = p.amount;
                } else if (below(2) == 0 || p.amount == kInt64Max) {
                    t.amount = p.amount - 1;  // may be 0: AmountNotPositive
                } else {
                    t.amount = p.amount + 1;
                }
            } else if (below(5) != 0) {
                t.amount =
                    1 + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(p.amount)));
            }
            if (below(20) == 0 && p.seq > 1) {
                t.seq = p.seq - 1;
            }
        } else if (k < 90 && !recent_.empty()) {
            t.pending_id = recent_[below(recent_.size())];  // maybe resolved already
        } else if (k < 97) {
            t.pending_id = 1 + below(model.last_id + 10);
        } else {
            t.pending_id = 0;
        }
        recent_.push_back(t.pending_id);
        if (recent_.size() > 32) {
            recent_.erase(recent_.begin());
        }
    }

    std::mt19937_64 rng_;
    std::vector<std::uint64_t> accounts_;
    std::vector<std::uint64_t> recent_;
    std::uint64_t seq_ = 1;
    std::int64_t ts_ = 1'700'000'000'000'000'000;
};

std::vector<Account> random_test_accounts() {
    const std::uint32_t limited = account_flags::debits_must_not_exceed_credits;
    const std::uint32_t owes = account_flags::credits_must_not_exceed_debits;
    return {
        make_account(0, purpose::external_deposits, 0),
        make_account(0, purpose::fees, limited),
        make_account(1, purpose::available, limited),
        make_account(1, purpose::reserved, limited),
        make_account(1, purpose::escrow, limited),
        make_account(2, purpose::available, limited),
        make_account(2, purpose::provider_collateral, limited),
        make_account(2, purpose::penalties_payable, owes),
        make_account(3, purpose::voucher_budget, 0),
        make_account(4, purpose::available, limited, 840),
        make_account(4, purpose::external_deposits, 0, 840),
    };
}

struct Harness {
    explicit Harness(std::uint32_t pending_max) : ledger(LedgerConfig{32, pending_max}, &sink) {
        model.pending_max = pending_max;
        for (const Account& a : random_test_accounts()) {
            EXPECT_EQ(ledger.open_account(a), Result::Ok);
            model.accounts[a.id] = a;
            ids.push_back(a.id);
        }
    }
    std::vector<std::uint64_t> ids;
    RecordingSink sink;
    Ledger ledger;
    Model model;
};

// Compares everything observable of the ledger with the model.
void expect_same(const Ledger& ledger, const Model& model, bool pendings_too) {
    ASSERT_EQ(ledger.last_transfer_id(), model.last_id);
    ASSERT_EQ(ledger.account_count(), model.accounts.size());
    for (const auto& [id, expected] : model.accounts) {
        const Account* actual = ledger.account(id);
        ASSERT_NE(actual, nullptr);
        ASSERT_EQ(*actual, expected) << "account " << id;
    }
    ASSERT_EQ(ledger.pending_count(), model.pendings.size());
    ASSERT_TRUE(ledger.totals().balanced());
    if (pendings_too) {
        std::vector<Transfer> expected;
        for (const auto& [id, t] : model.pendings) {
            expected.push_back(t);
            const Transfer* found = ledger.pending(id);
            ASSERT_NE(found, nullptr);
            ASSERT_EQ(*found, t);
        }
        ASSERT_EQ(ledger.pendings(), expected);
    }
}

TEST(LedgerRandomized, RandomTransfersMatchTheReferenceModel) {
    std::map<Result, std::uint64_t> seen;
    const std::uint64_t steps = testing::scaled(25000);
    for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
        SCOPED_TRACE(seed);
        Harness h(seed == 4 ? 4u : 48u);  // one run with a tiny pending table
        RandomTransfers random(seed, h.ids);
        std::size_t accepted = 0;
        for (std::uint64_t step = 0; step < steps; ++step) {
            const Transfer t = random.next(h.model);
            const Result expected = h.model.apply(t);
            ASSERT_EQ(h.ledger.check(t), expected) << "step " << step;
            const Result actual = h.ledger.apply(t);
            ASSERT_EQ(actual, expected) << "step " << step << ": " << result_name(actual) << " vs "
                                        << result_name(expected);
            ++seen[actual];
            if (actual == Result::Ok) {
                ++accepted;
                ASSERT_EQ(h.sink.transfers.size(), accepted);
                ASSERT_EQ(h.sink.transfers.back(), t);
            }
            ASSERT_NO_FATAL_FAILURE(expect_same(h.ledger, h.model, step % 64 == 0));
        }
        ASSERT_NO_FATAL_FAILURE(expect_same(h.ledger, h.model, true));
        EXPECT_GT(accepted, steps / 5);
    }
    // The generator reaches every refusal apply() can give.
    for (const Result r : {Result::Ok,
                           Result::IdZero,
                           Result::IdTooLarge,
                           Result::IdNotIncreasing,
                           Result::FlagsInvalid,
                           Result::PendingIdInvalid,
                           Result::CodeInvalid,
                           Result::AmountNotPositive,
                           Result::SeqInvalid,
                           Result::TimestampInvalid,
                           Result::SameAccount,
                           Result::DebitAccountNotFound,
                           Result::CreditAccountNotFound,
                           Result::CurrencyDiffers,
                           Result::PendingNotFound,
                           Result::PendingAccountsDiffer,
                           Result::AmountExceedsPending,
                           Result::VoidAmountDiffers,
                           Result::SeqBeforePending,
                           Result::PendingsFull,
                           Result::Overflow,
                           Result::ExceedsCredits,
                           Result::ExceedsDebits}) {
        EXPECT_GT(seen[r], 0u) << result_name(r);
    }
    for (const auto& [r, n] : seen) {
        std::printf("  %-26s %8llu\n", std::string(result_name(r)).c_str(),
                    static_cast<unsigned long long>(n));
    }
}

// ---- Hash and snapshots ----------------------------------------------------------------

TEST(LedgerHash, StateHashDependsOnTheLogicalStateOnly) {
    // Same accounts opened in another order, in tables of another size, with the same
    // transfers: the same hash, the same snapshot.
    std::vector<Account> accounts = random_test_accounts();
    Ledger a(LedgerConfig{16, 64});
    Ledger b(LedgerConfig{1000, 5000});
    for (const Account& account : accounts) {
        ASSERT_EQ(a.open_account(account), Result::Ok);
    }
    std::reverse(accounts.begin(), accounts.end());
    for (const Account& account : accounts) {
        ASSERT_EQ(b.open_account(account), Result::Ok);
    }
    EXPECT_EQ(a.state_hash(), b.state_hash());
    Model model;
    model.pending_max = 64;
    for (const Account& account : accounts) {
        model.accounts[account.id] = account;
    }
    RandomTransfers random(11, [&] {
        std::vector<std::uint64_t> ids;
        for (const Account& account : accounts) {
            ids.push_back(account.id);
        }
        return ids;
    }());
    std::uint64_t previous = a.state_hash();
    std::size_t changes = 0;
    for (int i = 0; i < 3000; ++i) {
        const Transfer t = random.next(model);
        const Result r = model.apply(t);
        ASSERT_EQ(a.apply(t), r);
        ASSERT_EQ(b.apply(t), r);
        ASSERT_EQ(a.state_hash(), b.state_hash());
        if (r == Result::Ok) {
            ASSERT_NE(a.state_hash(), previous);
            ++changes;
        } else {
            ASSERT_EQ(a.state_hash(), previous);
        }
        previous = a.state_hash();
    }
    EXPECT_GT(changes, 500u);
    std::string snapshot_a;
    std::string snapshot_b;
    a.save(snapshot_a);
    b.save(snapshot_b);
    EXPECT_EQ(snapshot_a, snapshot_b);
    // The id counter is state too.
    const std::uint64_t before = a.state_hash();
    a.next_transfer_id();
    EXPECT_NE(a.state_hash(), before);
}

TEST(LedgerSnapshot, RoundTripThenIdenticalBehaviour) {
    Harness h(48);
    RandomTransfers random(21, h.ids);
    for (int i = 0; i < 5000; ++i) {
        const Transfer t = random.next(h.model);
        ASSERT_EQ(h.ledger.apply(t), h.model.apply(t));
    }
    ASSERT_GT(h.ledger.pending_count(), 0u);
    std::string snapshot;
    h.ledger.save(snapshot);

    RecordingSink restored_sink;
    Ledger restored(LedgerConfig{32, 48}, &restored_sink);
    std::string error;
    ASSERT_TRUE(restored.load(snapshot, error)) << error;
    EXPECT_EQ(restored.state_hash(), h.ledger.state_hash());
    EXPECT_EQ(restored.accounts(), h.ledger.accounts());
    EXPECT_EQ(restored.pendings(), h.ledger.pendings());
    std::string again;
    restored.save(again);
    EXPECT_EQ(again, snapshot);
    ASSERT_NO_FATAL_FAILURE(expect_same(restored, h.model, true));

    // Further random transfers, to both: the same results, hashes and id counters.
    const std::size_t sunk = h.sink.transfers.size();
    for (int i = 0; i < 5000; ++i) {
        const Transfer t = random.next(h.model);
        const Result expected = h.model.apply(t);
        ASSERT_EQ(h.ledger.apply(t), expected) << i;
        ASSERT_EQ(restored.apply(t), expected) << i;
        ASSERT_EQ(restored.state_hash(), h.ledger.state_hash()) << i;
    }
    EXPECT_EQ(restored.next_transfer_id(), h.ledger.next_transfer_id());
    EXPECT_EQ(std::vector<Transfer>(h.sink.transfers.begin() + static_cast<long>(sunk),
                                    h.sink.transfers.end()),
              restored_sink.transfers);
    ASSERT_NO_FATAL_FAILURE(expect_same(restored, h.model, true));
}

TEST(LedgerSnapshot, EmptyLedgerRoundTrips) {
    Ledger a(LedgerConfig{4, 4});
    std::string snapshot;
    a.save(snapshot);
    Ledger b(LedgerConfig{1, 1});
    std::string error;
    ASSERT_TRUE(b.load(snapshot, error)) << error;
    EXPECT_EQ(b.state_hash(), a.state_hash());
}

// A ledger with accounts, posted money and open pendings, and its snapshot.
struct SnapshotFixture {
    SnapshotFixture() : ledger(LedgerConfig{32, 8}) {
        for (const Account& a : random_test_accounts()) {
            EXPECT_EQ(ledger.open_account(a), Result::Ok);
        }
        auto apply = [&](std::uint64_t debit, std::uint64_t credit, std::int64_t amount,
                         std::uint32_t flags, std::uint64_t pending_id = 0) {
            const Transfer t =
                make_transfer(ledger.next_transfer_id(), debit, credit, amount, flags, pending_id);
            EXPECT_EQ(ledger.apply(t), Result::Ok);
            return t.id;
        };
        apply(kExternal, kAlice, 1000, transfer_flags::posted);
        const std::uint64_t p = apply(kAlice, kAliceEscrow, 300, transfer_flags::pending);
        apply(kAlice, kAliceEscrow, 100, transfer_flags::post_pending, p);
        apply(kAlice, kAliceEscrow, 200, transfer_flags::pending);
        apply(kAlice, kFees, 50, transfer_flags::pending);
        ledger.save(snapshot);
    }
    Ledger ledger;
    std::string snapshot;
};

std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t hash = 0xCBF29CE484222325ull;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001B3ull;
    }
    return hash;
}

// Rewrites the trailing checksum so that only the content checks can refuse it.
void reseal(std::string& snapshot) {
    snapshot.resize(snapshot.size() - 8);
    const std::uint64_t sum = fnv1a(snapshot);
    for (int i = 0; i < 8; ++i) {
        snapshot.push_back(static_cast<char>((sum >> (8 * i)) & 0xFFu));
    }
}

void put_u64(std::string& s, std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
    }
}
void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
    }
}

// Offsets in the snapshot (see Ledger::save).
constexpr std::size_t kHeader = 8 + 4 + 4 + 8 + 8;  // up to the account count
constexpr std::size_t kAccountsAt = kHeader + 8;
std::size_t account_at(std::size_t index) {
    return kAccountsAt + 64 * index;
}
std::size_t pendings_count_at(std::size_t accounts) {
    return kAccountsAt + 64 * accounts;
}
std::size_t pending_at(std::size_t accounts, std::size_t index) {
    return pendings_count_at(accounts) + 8 + 72 * index;
}

TEST(LedgerSnapshot, TruncatedSnapshotsAreRefusedAndChangeNothing) {
    SnapshotFixture f;
    Ledger target(LedgerConfig{32, 8});
    ASSERT_EQ(target.open_account(make_account(9, purpose::available, 1)), Result::Ok);
    const std::uint64_t hash = target.state_hash();
    std::string error;
    for (std::size_t size = 0; size < f.snapshot.size(); ++size) {
        EXPECT_FALSE(target.load(std::string_view(f.snapshot).substr(0, size), error)) << size;
        EXPECT_FALSE(error.empty());
    }
    std::string longer = f.snapshot + std::string(1, '\0');
    EXPECT_FALSE(target.load(longer, error));
    EXPECT_EQ(target.state_hash(), hash);
    ASSERT_TRUE(target.load(f.snapshot, error)) << error;
    EXPECT_EQ(target.state_hash(), f.ledger.state_hash());
}

TEST(LedgerSnapshot, CorruptedSnapshotsAreRefusedAndChangeNothing) {
    SnapshotFixture f;
    Ledger target(LedgerConfig{32, 8});
    const std::uint64_t hash = target.state_hash();
    std::string error;
    for (std::size_t at = 0; at < f.snapshot.size(); ++at) {
        for (const unsigned flip : {0x01u, 0x80u, 0xFFu}) {
            std::string corrupted = f.snapshot;
            corrupted[at] = static_cast<char>(static_cast<unsigned char>(corrupted[at]) ^ flip);
            EXPECT_FALSE(target.load(corrupted, error)) << at;
        }
    }
    EXPECT_EQ(target.state_hash(), hash);
}

TEST(LedgerSnapshot, InconsistentSnapshotsWithAValidChecksumAreRefused) {
    SnapshotFixture f;
    const std::size_t accounts = f.ledger.account_count();
    const std::size_t pendings = f.ledger.pending_count();
    ASSERT_EQ(pendings, 2u);
    // Account order in the snapshot is by id: find Alice's index.
    const std::vector<Account> sorted = f.ledger.accounts();
    std::size_t alice = 0;
    std::size_t external = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (sorted[i].id == kAlice)
            alice = i;
        if (sorted[i].id == kExternal)
            external = i;
    }
    // Field offsets inside an account record.
    constexpr std::size_t kId = 0, kPurpose = 16, kFlags = 20, kDebitsPending = 32,
                          kDebitsPosted = 40, kCreditsPosted = 56;
    // Field offsets inside a pending record.
    constexpr std::size_t kPId = 0, kPDebit = 8, kPCredit = 16, kPAmount = 24, kPPendingId = 32,
                          kPFlags = 40, kPCode = 44, kPSeq = 48, kPTs = 56;

    struct Case {
        const char* what;
        std::function<void(std::string&)> change;
    };
    const std::vector<Case> cases = {
        {"version 2", [](std::string& s) { put_u32(s, 8, 2); }},
        {"reserved header field", [](std::string& s) { put_u32(s, 12, 1); }},
        {"last id beyond bigint", [](std::string& s) { put_u64(s, 16, kMaxId + 1); }},
        {"issued id beyond bigint", [](std::string& s) { put_u64(s, 24, kMaxId + 1); }},
        {"last id below a pending's id", [](std::string& s) { put_u64(s, 16, 2); }},
        {"more accounts than accounts_max", [](std::string& s) { put_u64(s, kHeader, 33); }},
        {"one account fewer than written",
         [&](std::string& s) { put_u64(s, kHeader, accounts - 1); }},
        {"one account more than written",
         [&](std::string& s) { put_u64(s, kHeader, accounts + 1); }},
        {"huge account count", [](std::string& s) { put_u64(s, kHeader, ~0ull); }},
        {"account ids not increasing",
         [&](std::string& s) { put_u64(s, account_at(1) + kId, sorted[0].id); }},
        {"account id 0", [&](std::string& s) { put_u64(s, account_at(0) + kId, 0); }},
        {"account purpose 9", [&](std::string& s) { s[account_at(alice) + kPurpose] = 9; }},
        {"account flags 3", [&](std::string& s) { put_u32(s, account_at(alice) + kFlags, 3); }},
        {"negative total",
         [&](std::string& s) {
             put_u64(s, account_at(external) + kDebitsPosted, static_cast<std::uint64_t>(-1));
         }},
        {"overdrawn account",
         [&](std::string& s) { put_u64(s, account_at(alice) + kCreditsPosted, 100); }},
        {"pending totals without pendings",
         [&](std::string& s) { put_u64(s, account_at(alice) + kDebitsPending, 251); }},
        {"debits differ from credits",
         [&](std::string& s) { put_u64(s, account_at(external) + kDebitsPosted, 999); }},
        {"more pendings than pending_max",
         [&](std::string& s) { put_u64(s, pendings_count_at(accounts), 9); }},
        {"one pending fewer than written",
         [&](std::string& s) { put_u64(s, pendings_count_at(accounts), pendings - 1); }},
        {"pending ids not increasing",
         [&](std::string& s) {
             put_u64(s, pending_at(accounts, 1) + kPId, f.ledger.pendings()[0].id);
         }},
        {"pending of an unknown account",
         [&](std::string& s) { put_u64(s, pending_at(accounts, 0) + kPDebit, 1000); }},
        {"pending between the same account",
         [&](std::string& s) { put_u64(s, pending_at(accounts, 0) + kPCredit, kAlice); }},
        {"pending between currencies",
         [&](std::string& s) {
             put_u64(s, pending_at(accounts, 0) + kPCredit, account_id(4, purpose::available));
         }},
        {"pending amount differs from the totals",
         [&](std::string& s) { put_u64(s, pending_at(accounts, 0) + kPAmount, 199); }},
        {"pending amount 0",
         [&](std::string& s) { put_u64(s, pending_at(accounts, 0) + kPAmount, 0); }},
        {"pending with a pending_id",
         [&](std::string& s) { put_u64(s, pending_at(accounts, 0) + kPPendingId, 1); }},
        {"pending posted",
         [&](std::string& s) { put_u32(s, pending_at(accounts, 0) + kPFlags, 0); }},
        {"pending code 0",
         [&](std::string& s) { put_u32(s, pending_at(accounts, 0) + kPCode, 0); }},
        {"pending seq 0", [&](std::string& s) { put_u64(s, pending_at(accounts, 0) + kPSeq, 0); }},
        {"pending negative timestamp",
         [&](std::string& s) {
             put_u64(s, pending_at(accounts, 0) + kPTs, static_cast<std::uint64_t>(-5));
         }},
    };
    Ledger target(LedgerConfig{32, 8});
    const std::uint64_t hash = target.state_hash();
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        std::string bad = f.snapshot;
        c.change(bad);
        reseal(bad);
        std::string error;
        EXPECT_FALSE(target.load(bad, error));
        EXPECT_FALSE(error.empty());
        std::printf("  %-40s -> %s\n", c.what, error.c_str());
        EXPECT_EQ(target.state_hash(), hash);
    }
    // The unchanged, resealed snapshot loads.
    std::string same = f.snapshot;
    reseal(same);
    EXPECT_EQ(same, f.snapshot);
    std::string error;
    EXPECT_TRUE(target.load(same, error)) << error;
}

TEST(LedgerSnapshot, SnapshotTooLargeForTheConfigIsRefused) {
    SnapshotFixture f;
    std::string error;
    Ledger few_accounts(LedgerConfig{5, 8});
    EXPECT_FALSE(few_accounts.load(f.snapshot, error));
    EXPECT_NE(error.find("accounts_max"), std::string::npos) << error;
    Ledger few_pendings(LedgerConfig{32, 1});
    EXPECT_FALSE(few_pendings.load(f.snapshot, error));
    EXPECT_NE(error.find("pending_max"), std::string::npos) << error;
    Ledger enough(LedgerConfig{11, 2});
    EXPECT_TRUE(enough.load(f.snapshot, error)) << error;
    EXPECT_EQ(enough.state_hash(), f.ledger.state_hash());
}

// ---- Cost ------------------------------------------------------------------------------

TEST(LedgerCost, PrintsNanosecondsPerApply) {
    constexpr std::uint64_t kOwners = 10000;
    constexpr std::uint32_t kOpenPendings = 10000;
    Ledger ledger(LedgerConfig{static_cast<std::uint32_t>(kOwners * 2 + 16), kOpenPendings});
    ASSERT_EQ(ledger.open_account(make_account(0, purpose::external_deposits, 0)), Result::Ok);
    for (std::uint64_t owner = 1; owner <= kOwners; ++owner) {
        ASSERT_EQ(ledger.open_account(make_account(owner, purpose::available, 1)), Result::Ok);
        ASSERT_EQ(ledger.open_account(make_account(owner, purpose::escrow, 1)), Result::Ok);
    }
    for (std::uint64_t owner = 1; owner <= kOwners; ++owner) {
        Transfer t = make_transfer(ledger.next_transfer_id(), kExternal,
                                   account_id(owner, purpose::available), 1'000'000'000);
        ASSERT_EQ(ledger.apply(t), Result::Ok);
    }
    const std::uint64_t n = testing::scaled(1'000'000);
    std::uint64_t x = 1;
    auto owner_of = [&] {
        x = testing::mix(x);
        return 1 + x % kOwners;
    };
    using Clock = std::chrono::steady_clock;

    // Posted: deposits into random accounts.
    auto start = Clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        Transfer t = make_transfer(ledger.next_transfer_id(), kExternal,
                                   account_id(owner_of(), purpose::available), 1000);
        t.seq = i + 1;
        if (ledger.apply(t) != Result::Ok) {
            FAIL() << "posted " << i;
        }
    }
    const double posted_ns =
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()) /
        static_cast<double>(n);

    // Pending + post pairs, with kOpenPendings pendings open: each step opens one and
    // posts (part of) the oldest.
    std::vector<Transfer> open(kOpenPendings);
    std::uint64_t pairs = 0;
    start = Clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        Transfer& slot = open[i % kOpenPendings];
        if (slot.id != 0) {
            Transfer post = slot;
            post.id = ledger.next_transfer_id();
            post.flags = transfer_flags::post_pending;
            post.pending_id = slot.id;
            post.amount = slot.amount - 1;
            if (ledger.apply(post) != Result::Ok) {
                FAIL() << "post " << i;
            }
        }
        const std::uint64_t owner = owner_of();
        slot = make_transfer(ledger.next_transfer_id(), account_id(owner, purpose::available),
                             account_id(owner, purpose::escrow), 2, transfer_flags::pending);
        slot.seq = i + 1;
        if (ledger.apply(slot) != Result::Ok) {
            FAIL() << "pending " << i;
        }
        ++pairs;
    }
    const double pair_ns =
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()) /
        static_cast<double>(pairs);
    EXPECT_TRUE(ledger.totals().balanced());
    std::printf(
        "  ledger apply: %.1f ns per posted transfer, %.1f ns per pending+post pair "
        "(%llu transfers each, %llu accounts, %u pendings open)\n",
        posted_ns, pair_ns, static_cast<unsigned long long>(n),
        static_cast<unsigned long long>(ledger.account_count()), kOpenPendings);
}

}  // namespace
}  // namespace cpx::ledger
