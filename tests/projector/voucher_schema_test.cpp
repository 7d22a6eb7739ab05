// The voucher tables of db/migrations/0006_vouchers.sql enforce their own rules, whatever
// a writer sends: a redemption is paid by its own transfer (code voucher, the event's
// amount, from the program's budget account to the beneficiary's available account),
// for a trade that settled in the same request, at most once per trade and side; a
// voucher never pays past its face value or after it was revoked or expired; a program's
// budget is a ledger account that cannot be overdrawn; and the record is append-only.
// Every row here is written directly in SQL, as a wrong writer would.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "cpx/ledger/ledger.hpp"
#include "cpx/store/database.hpp"
#include "voucher_schema_rows.hpp"

namespace cpx::projector::test {
namespace {

namespace purpose = cpx::ledger::purpose;

// Program 2's budget account.
const std::string kBudget2 = budget(2);

// A voucher event's columns; the defaults are a whole-share redemption of 300 fen (30% of
// a 1,000 fen trade) by voucher 1 for the buyer of trade 1, paid by transfer 100.
struct EventRow {
    std::int64_t seq = 11;
    int idx = 0;
    int kind = 5;
    int program = 1;
    std::string voucher = "1";
    std::string trade = "1";
    std::string side = "1";
    std::int64_t beneficiary = kBuyer;
    std::string provider = "3";
    std::int64_t amount = 300;
    std::int64_t share = 300;
    int reason = 0;
    std::string transfer = "100";
    std::string cap_period = "0";
    std::int64_t ts_ns = 110;
};

std::string insert(const EventRow& e) {
    return "INSERT INTO voucher_events (seq, idx, kind, program, voucher, trade_id, side, "
           "beneficiary, provider, amount_fen, share_fen, reason, transfer_id, cap_period, "
           "ts_ns) VALUES (" +
           std::to_string(e.seq) + ", " + std::to_string(e.idx) + ", " + std::to_string(e.kind) +
           ", " + std::to_string(e.program) + ", " + e.voucher + ", " + e.trade + ", " + e.side +
           ", " + std::to_string(e.beneficiary) + ", " + e.provider + ", " +
           std::to_string(e.amount) + ", " + std::to_string(e.share) + ", " +
           std::to_string(e.reason) + ", " + e.transfer + ", " + e.cap_period + ", " +
           std::to_string(e.ts_ns) + ")";
}

// A refusal of voucher 1 for the buyer of a trade.
EventRow refusal(const std::string& trade, std::int64_t seq, int reason) {
    EventRow e;
    e.kind = 6;
    e.trade = trade;
    e.seq = seq;
    e.amount = 0;
    e.reason = reason;
    e.transfer = "NULL";
    return e;
}

// Transfer `id` of `amount` fen in request `seq` (ts 100); the defaults are a voucher
// payment from program 1's budget to the buyer's money.
std::string transfer(std::int64_t id, std::int64_t amount, std::int64_t seq, std::int64_t user_data,
                     const std::string& debit = kBudget, const std::string& credit = kBuyerMoney,
                     int code = 10) {
    TransferRow t;
    t.id = id;
    t.debit = debit;
    t.credit = credit;
    t.amount = amount;
    t.code = code;
    t.seq = seq;
    t.user_data = user_data;
    return insert(t);
}

// Trade `id`: the buyer buys 4 units at 250 fen (1,000 fen) from the provider, traded
// at seq 10; settled at `settled_seq` with `delivered` units (0: not settled).
std::string trade(std::int64_t id, std::int64_t settled_seq, std::int64_t delivered = 4) {
    std::string sql = obligation(id, kBuyer, 7, 100, 200, 10) + ";";
    if (settled_seq > 0) {
        sql += settlement(id, settled_seq, 300, delivered);
    }
    return sql;
}

class VoucherSchema : public VoucherTablesTest {
  protected:
    VoucherSchema() {
        exec(exchange_accounts() + ";" +
             account(kOtherBuyerMoney, kOtherBuyer, purpose::available, 1) + ";" +
             account(kBudget, kProgramOwner, purpose::voucher_budget, 1, 5));
        // The issuer's deposit, and program 1 funded with 10,000 fen at its creation.
        exec(transfer(1, 1'000'000, 2, 0, kExternal, kIssuerMoney, 1));
        exec(transfer(2, 10'000, 5, 1, kIssuerMoney, kBudget));
        exec(insert(ProgramRow{}), "cpx_app");
        exec(kProgramFunded, "cpx_app");
        // Voucher 1: 1,000 fen for the buyer.
        grant(1, 1'000, 6);
        // Trades 1-4 settled in full at seqs 11-14; each voucher payment is 300 fen.
        for (int id = 1; id <= 4; ++id) {
            exec(trade(id, 10 + id));
        }
    }

    void grant(std::int64_t id, std::int64_t face, std::int64_t seq,
               std::int64_t expiry = 1'000'000'000'000'000'000, int program = 1) {
        exec(voucher_row(id, face, seq, expiry, program, kBuyer), "cpx_app");
        EventRow e;
        e.seq = seq;
        e.kind = 3;
        e.program = program;
        e.voucher = std::to_string(id);
        e.trade = e.provider = e.transfer = e.cap_period = "NULL";
        e.amount = face;
        e.share = 0;
        e.ts_ns = seq * 10;
        exec(insert(e), "cpx_app");
    }

    // Voucher `voucher`'s 300 fen for the buyer of `trade` (settled at seq 10 + trade),
    // with its transfer `transfer_id`.
    void redeem(std::int64_t trade_id, std::int64_t transfer_id, std::int64_t voucher = 1) {
        EventRow e;
        e.seq = 10 + trade_id;
        e.trade = std::to_string(trade_id);
        e.transfer = std::to_string(transfer_id);
        e.voucher = std::to_string(voucher);
        exec(transfer(transfer_id, 300, e.seq, trade_id) + ";" + insert(e));
    }
};

TEST_F(VoucherSchema, ARedemptionPaidByItsTransferIsAcceptedAndShownByTheViews) {
    exec(transfer(100, 300, 11, 1), "cpx_app");
    exec(insert(EventRow{}), "cpx_app");
    EXPECT_EQ(scalar("SELECT funded_fen FROM voucher_program_status WHERE id = 1"), 10'000);
    EXPECT_EQ(scalar("SELECT budget_left_fen FROM voucher_program_status WHERE id = 1"), 9'700);
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_program_status WHERE id = 1"), 300);
    EXPECT_EQ(scalar("SELECT redemptions FROM voucher_program_status WHERE id = 1"), 1);
    EXPECT_EQ(scalar("SELECT granted_fen FROM voucher_program_status WHERE id = 1"), 1'000);
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 700);
    EXPECT_EQ(scalar("SELECT transfer_amount FROM voucher_redemptions WHERE trade_id = 1"), 300);
    EXPECT_EQ(scalar("SELECT credit_account_id FROM voucher_redemptions WHERE trade_id = 1"),
              std::stoll(kBuyerMoney));
    // The provider's side of the same trade is another claim (a provider-side program's).
    exec(account(kBudget2, kProgramOwner + 1, purpose::voucher_budget, 1, 20));
    ProgramRow provider_side;
    provider_side.id = 2;
    provider_side.side = 2;
    provider_side.budget_account = kBudget2;
    provider_side.created_seq = 20;
    exec(transfer(3, 5'000, 20, 2, kIssuerMoney, kBudget2));
    exec(insert(provider_side));
}

TEST_F(VoucherSchema, ARedemptionWithoutItsTransferIsRefused) {
    // No transfer 100 at all.
    EXPECT_REFUSED(exec(insert(EventRow{})), pqxx::foreign_key_violation,
                   "its transfer does not exist");
    // A redemption must name a transfer.
    EventRow no_transfer;
    no_transfer.transfer = "NULL";
    EXPECT_REFUSED(exec(insert(no_transfer)), pqxx::check_violation, "redemption_shape");
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind = 5"), 0);
}

TEST_F(VoucherSchema, ARedemptionMustBeExactlyItsTransfer) {
    // The wrong amount: the transfer moved 300, the event says 250 (cut by the budget).
    exec(transfer(100, 300, 11, 1));
    EventRow wrong_amount;
    wrong_amount.amount = 250;
    wrong_amount.reason = 303;
    EXPECT_REFUSED(exec(insert(wrong_amount)), pqxx::check_violation, "moved another amount");
    // Paid from the issuer's own money rather than the program's budget.
    exec(transfer(101, 300, 11, 1, kIssuerMoney));
    EventRow from_issuer;
    from_issuer.transfer = "101";
    EXPECT_REFUSED(exec(insert(from_issuer)), pqxx::check_violation,
                   "not paid from the program's budget account");
    // Paid to another account than the beneficiary's available money.
    exec(transfer(102, 300, 11, 1, kBudget, kOtherBuyerMoney));
    EventRow to_other;
    to_other.transfer = "102";
    EXPECT_REFUSED(exec(insert(to_other)), pqxx::check_violation,
                   "not paid to the beneficiary's available account");
    // Another code than voucher (10).
    exec(transfer(103, 300, 11, 1, kBudget, kBuyerMoney, 8));
    EventRow other_code;
    other_code.transfer = "103";
    EXPECT_REFUSED(exec(insert(other_code)), pqxx::check_violation,
                   "not a single-phase voucher transfer");
    // For another trade (user_data), or in another request (seq).
    exec(transfer(104, 300, 11, 2));
    EventRow other_trade;
    other_trade.transfer = "104";
    EXPECT_REFUSED(exec(insert(other_trade)), pqxx::check_violation,
                   "not for its trade and request");
    exec(transfer(105, 300, 12, 1));
    EventRow other_request;
    other_request.transfer = "105";
    EXPECT_REFUSED(exec(insert(other_request)), pqxx::check_violation,
                   "not for its trade and request");
    // The right one is accepted.
    exec(insert(EventRow{}));
}

TEST_F(VoucherSchema, ATradeAndSideIsDecidedAtMostOnce) {
    redeem(1, 100);
    // A second redemption for the buyer of trade 1, with a transfer of its own.
    exec(transfer(101, 300, 11, 1));
    EventRow second;
    second.idx = 1;
    second.transfer = "101";
    EXPECT_REFUSED(exec(insert(second)), pqxx::unique_violation,
                   "voucher_events_one_claim_per_side");
    // Nor may the same side be refused afterwards.
    EventRow refused = refusal("1", 11, 303);
    refused.idx = 1;
    EXPECT_REFUSED(exec(insert(refused)), pqxx::unique_violation,
                   "voucher_events_one_claim_per_side");
    // And a transfer pays one redemption only (trade 2's event naming trade 1's payment
    // is refused however it is dressed).
    EventRow reused;
    reused.seq = 12;
    reused.trade = "2";
    EXPECT_REFUSED(exec(insert(reused)), pqxx::unique_violation, "voucher_events_transfer_once");
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 1"), 300);
}

TEST_F(VoucherSchema, AVoucherNeverPaysPastItsFaceValue) {
    // 1,000 fen: three payments of 300 fit, a fourth does not.
    redeem(1, 100);
    redeem(2, 101);
    redeem(3, 102);
    EXPECT_REFUSED(redeem(4, 103), pqxx::check_violation, "past its face value");
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 100);
    // Nor by revoking more than the balance.
    EventRow revoke;
    revoke.seq = 20;
    revoke.kind = 4;
    revoke.trade = revoke.provider = revoke.transfer = revoke.cap_period = "NULL";
    revoke.share = 0;
    revoke.amount = 101;
    EXPECT_REFUSED(exec(insert(revoke)), pqxx::check_violation, "past its face value");
    revoke.amount = 100;
    exec(insert(revoke), "cpx_app");
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 0);
    EXPECT_EQ(scalar("SELECT revoked::int FROM voucher_balances WHERE id = 1"), 1);
}

TEST_F(VoucherSchema, TwoPaymentsInOneStatementCountTogether) {
    // Voucher 2 (500 fen) cannot pay 300 twice, even when both arrive in one COPY-like
    // statement.
    grant(2, 500, 7);
    exec(transfer(100, 300, 11, 1) + ";" + transfer(101, 300, 12, 2));
    EventRow a;
    a.voucher = "2";
    EventRow b = a;
    b.seq = 12;
    b.trade = "2";
    b.transfer = "101";
    const std::string both = insert(a) + ", (" + insert(b).substr(insert(b).find("VALUES (") + 8);
    EXPECT_REFUSED(exec(both), pqxx::check_violation, "past its face value");
    exec(insert(a));
    EXPECT_REFUSED(exec(insert(b)), pqxx::check_violation, "past its face value");
}

TEST_F(VoucherSchema, NothingIsPaidAfterRevocationOrExpiry) {
    // Voucher 1 revoked in part (500 of its 1,000 fen) at seq 9: it pays nothing after.
    EventRow revoke;
    revoke.seq = 9;
    revoke.kind = 4;
    revoke.trade = revoke.provider = revoke.transfer = revoke.cap_period = "NULL";
    revoke.share = 0;
    revoke.amount = 500;
    exec(insert(revoke));
    EXPECT_REFUSED(redeem(1, 100), pqxx::check_violation, "after it was revoked");
    // Voucher 2 expired before trade 2 settled (at ts 110).
    grant(2, 1'000, 8, 100);
    EXPECT_REFUSED(redeem(2, 101, 2), pqxx::check_violation, "the voucher had expired");
    // A voucher expiring after the settlement pays.
    grant(3, 1'000, 10, 111);
    redeem(2, 102, 3);
}

TEST_F(VoucherSchema, ARedemptionIsForASettledTradeOfTheBeneficiary) {
    // Trade 5 never settled; trade 6 does not exist.
    exec(trade(5, 0));
    exec(transfer(100, 300, 15, 5));
    EventRow unsettled;
    unsettled.seq = 15;
    unsettled.trade = "5";
    EXPECT_REFUSED(exec(insert(unsettled)), pqxx::check_violation,
                   "did not settle in the event's request");
    exec(transfer(101, 300, 16, 6));
    EventRow missing;
    missing.seq = 16;
    missing.trade = "6";
    missing.transfer = "101";
    EXPECT_REFUSED(exec(insert(missing)), pqxx::foreign_key_violation, "its trade does not exist");
    // The buyer's claim must be the trade's buyer's; the share must be 30% of the
    // settled value.
    exec(transfer(102, 300, 11, 1, kBudget, kOtherBuyerMoney));
    EventRow not_the_buyer;
    not_the_buyer.transfer = "102";
    not_the_buyer.beneficiary = kOtherBuyer;
    EXPECT_REFUSED(exec(insert(not_the_buyer)), pqxx::check_violation,
                   "not the voucher's program, beneficiary and side");
    exec(transfer(103, 299, 11, 1));
    EventRow wrong_share;
    wrong_share.transfer = "103";
    wrong_share.amount = 299;
    wrong_share.share = 299;
    EXPECT_REFUSED(exec(insert(wrong_share)), pqxx::check_violation,
                   "share is not the program's share");
    // A refusal, too, names a settled trade of its beneficiary.
    EXPECT_REFUSED(exec(insert(refusal("5", 15, 303))), pqxx::check_violation,
                   "did not settle in the event's request");
    exec(insert(refusal("1", 11, 291)));
}

TEST_F(VoucherSchema, AnIneligibleDealIsNotPaid) {
    // Program 2 (provider 3 not on its list), program 3 (a rebate), program 4 (valid
    // only from ts 1,000), each with a voucher for the buyer and 10,000 fen.
    for (int id = 2; id <= 4; ++id) {
        exec(account(budget(id), budget_owner(id), purpose::voucher_budget, 1, 5));
        exec(transfer(id + 1, 10'000, 5, id, kIssuerMoney, budget(id)));
        ProgramRow p;
        p.id = id;
        p.budget_account = budget(id);
        p.approved_providers = id == 2 ? "{5,6}" : "{}";
        p.mode = id == 3 ? 2 : 1;
        p.valid_from_ns = id == 4 ? 1'000 : 0;
        exec(insert(p));
        grant(id, 1'000, 5 + id, 1'000'000'000'000'000'000, id);
    }
    // Trade 5 settled with 2 of its 4 units delivered: 30% of 500 fen is 150.
    exec(trade(5, 15, 2));
    const auto pay = [&](int program, std::int64_t trade_id, std::int64_t amount) {
        const std::int64_t transfer_id = 100 + program * 10 + trade_id;
        exec(transfer(transfer_id, amount, 10 + trade_id, trade_id, budget(program)));
        EventRow e;
        e.seq = 10 + trade_id;
        e.program = program;
        e.voucher = std::to_string(program);
        e.trade = std::to_string(trade_id);
        e.amount = e.share = amount;
        e.transfer = std::to_string(transfer_id);
        exec(insert(e));
    };
    EXPECT_REFUSED(pay(2, 1, 300), pqxx::check_violation,
                   "not on the program's list");  // provider not approved
    EXPECT_REFUSED(pay(3, 5, 150), pqxx::check_violation,
                   "partly delivered");  // rebate, partly delivered
    EXPECT_REFUSED(pay(4, 2, 300), pqxx::check_violation,
                   "outside the program's validity");  // traded before the validity
    pay(3, 3, 300);  // the rebate pays for a wholly delivered trade
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind = 5"), 1);
}

TEST_F(VoucherSchema, BothSidesArePaidOnlyWhenBothProgramsAllowIt) {
    // Program 2 pays providers and forbids both sides claiming one deal.
    exec(account(kBudget2, kProgramOwner + 1, purpose::voucher_budget, 1, 20));
    exec(transfer(3, 5'000, 20, 2, kIssuerMoney, kBudget2));
    ProgramRow p;
    p.id = 2;
    p.side = 2;
    p.budget_account = kBudget2;
    p.created_seq = 20;
    p.allow_both_sides = false;
    exec(insert(p));
    exec(
        "INSERT INTO vouchers (id, program, beneficiary, face_fen, expiry_ns, ref, granted_seq, "
        "granted_ts_ns) VALUES (2, 2, 3, 1000, 1000000000000000000, 'p-1', 21, 210)");
    exec(trade(5, 30));
    exec(trade(6, 31));
    // The buyer of trade 5 is paid by program 1; its provider cannot also be paid.
    exec(transfer(100, 300, 30, 5) + ";" + transfer(101, 300, 30, 5, kBudget2, kProviderMoney));
    EventRow buyer;
    buyer.seq = 30;
    buyer.trade = "5";
    exec(insert(buyer));
    EventRow provider = buyer;
    provider.idx = 1;
    provider.program = 2;
    provider.voucher = "2";
    provider.side = "2";
    provider.beneficiary = kProvider;
    provider.transfer = "101";
    EXPECT_REFUSED(exec(insert(provider)), pqxx::check_violation, "both sides of trade");
    // Trade 6's provider alone is paid.
    exec(transfer(102, 300, 31, 6, kBudget2, kProviderMoney));
    provider.seq = 31;
    provider.trade = "6";
    provider.transfer = "102";
    exec(insert(provider));
    // A voucher event on another side than its program's is refused.
    EventRow wrong_side = provider;
    wrong_side.idx = 2;
    wrong_side.side = "1";
    wrong_side.transfer = "NULL";
    wrong_side.kind = 6;
    wrong_side.amount = 0;
    wrong_side.reason = 297;
    EXPECT_REFUSED(exec(insert(wrong_side)), pqxx::check_violation,
                   "not the voucher's program, beneficiary and side");
}

TEST_F(VoucherSchema, TheBudgetIsALedgerAccountThatCannotBeOverdrawn) {
    // 10,000 fen in the budget: a payment of 10,001 fails in the ledger itself.
    EXPECT_REFUSED(exec(transfer(100, 10'001, 11, 1)), pqxx::check_violation,
                   "debits_must_not_exceed_credits");
    EXPECT_EQ(scalar("SELECT budget_left_fen FROM voucher_program_status WHERE id = 1"), 10'000);
    // A program's budget account must be a voucher_budget account that cannot be
    // overdrawn, opened by the program's request, and exist.
    ProgramRow p;
    p.id = 2;
    p.budget_account = kIssuerMoney;
    EXPECT_REFUSED(exec(insert(p)), pqxx::check_violation, "must be a voucher_budget account");
    exec(account(kBudget2, kProgramOwner + 1, purpose::voucher_budget, 0, 5));
    p.budget_account = kBudget2;
    EXPECT_REFUSED(exec(insert(p)), pqxx::check_violation,
                   "must be a voucher_budget account");  // flags 0: may be overdrawn
    p.budget_account = "999999";
    EXPECT_REFUSED(exec(insert(p)), pqxx::foreign_key_violation,
                   "voucher_programs_budget_account_id_fkey");
    p.budget_account = kBudget;
    EXPECT_REFUSED(exec(insert(p)), pqxx::unique_violation,
                   "voucher_programs_budget_account_id_key");  // program 1's
}

TEST_F(VoucherSchema, KindsReasonsAndShapesAreChecked) {
    exec(transfer(100, 300, 11, 1));
    EventRow unknown_kind;
    unknown_kind.kind = 9;
    EXPECT_REFUSED(exec(insert(unknown_kind)), pqxx::foreign_key_violation, "unknown kind");
    // A reason without a limit that cut the share, and a cut share without a reason.
    EventRow no_cut;
    no_cut.reason = 303;
    EXPECT_REFUSED(exec(insert(no_cut)), pqxx::check_violation, "redemption_shape");
    EventRow silent_cut;
    silent_cut.amount = 250;
    EXPECT_REFUSED(exec(insert(silent_cut)), pqxx::check_violation, "redemption_shape");
    // A refusal's reason is one of the stages; it pays nothing.
    EXPECT_REFUSED(exec(insert(refusal("1", 11, 288))), pqxx::check_violation, "refusal_shape");
    EventRow paying_refusal = refusal("1", 11, 303);
    paying_refusal.amount = 1;
    EXPECT_REFUSED(exec(insert(paying_refusal)), pqxx::check_violation, "refusal_shape");
    // Vouchers and programs must exist.
    EventRow unknown_voucher;
    unknown_voucher.voucher = "9";
    EXPECT_REFUSED(exec(insert(unknown_voucher)), pqxx::foreign_key_violation,
                   "its voucher does not exist");
    EXPECT_REFUSED(exec("INSERT INTO vouchers (id, program, beneficiary, face_fen, expiry_ns, ref, "
                        "granted_seq, granted_ts_ns) VALUES (9, 9, 2, 100, 1000, 'x', 9, 90)"),
                   pqxx::foreign_key_violation, "names the voucher program 9");
    // A grant's reference is unique in its program.
    EXPECT_REFUSED(exec("INSERT INTO vouchers (id, program, beneficiary, face_fen, expiry_ns, ref, "
                        "granted_seq, granted_ts_ns) VALUES (9, 1, 2, 100, 1000, 'v-1', 9, 90)"),
                   pqxx::unique_violation, "vouchers_program_ref_key");
}

TEST_F(VoucherSchema, TheRecordIsAppendOnlyEvenForItsOwner) {
    redeem(1, 100);
    for (const char* sql :
         {"UPDATE voucher_events SET amount_fen = 1", "DELETE FROM voucher_events",
          "TRUNCATE voucher_events", "UPDATE vouchers SET face_fen = 1000000",
          "DELETE FROM vouchers", "TRUNCATE vouchers", "UPDATE voucher_programs SET share_bps = 1",
          "DELETE FROM voucher_programs", "TRUNCATE voucher_programs CASCADE",
          "DELETE FROM voucher_event_kinds", "UPDATE voucher_reasons SET name = 'x'",
          "TRUNCATE voucher_reasons"}) {
        EXPECT_THROW(exec(sql), pqxx::insufficient_privilege) << sql;
    }
    // cpx_app may not even try.
    EXPECT_THROW(exec("UPDATE voucher_events SET amount_fen = 1", "cpx_app"),
                 pqxx::insufficient_privilege);
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events"), 3);
}

TEST_F(VoucherSchema, ConcurrentWritersCannotSpendOneBalanceTwice) {
    // Voucher 2 (500 fen); both payments' transfers are committed first, so that only the
    // voucher's lock orders the two writers of its events.
    grant(2, 500, 7);
    exec(transfer(100, 300, 11, 1) + ";" + transfer(101, 300, 12, 2));
    EventRow a;
    a.voucher = "2";
    EventRow b = a;
    b.seq = 12;
    b.trade = "2";
    b.transfer = "101";

    pqxx::work first(connection);
    first.exec0("SET LOCAL ROLE cpx_app");
    first.exec0(insert(a));
    std::string second_error = "not run";
    std::thread second([&] {
        try {
            const auto other = cpx::store::connect(db.url());
            pqxx::work tx(*other);
            tx.exec0("SET LOCAL ROLE cpx_app");
            tx.exec0(insert(b));
            tx.commit();
            second_error = "";
        } catch (const pqxx::check_violation&) {
            second_error = "check_violation";
        } catch (const std::exception& e) {
            second_error = e.what();
        }
    });
    // The second writer waits for the first's lock on voucher 2.
    const auto monitor = cpx::store::connect(db.url());
    bool waiting = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!waiting && std::chrono::steady_clock::now() < deadline) {
        pqxx::nontransaction tx(*monitor);
        waiting = tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = " +
                           tx.quote(db.name()) + " AND wait_event_type = 'Lock'")[0]
                      .as<int>() > 0;
        if (!waiting) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(waiting);
    first.commit();
    second.join();
    EXPECT_EQ(second_error, "check_violation");
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 2"), 300);
}

}  // namespace
}  // namespace cpx::projector::test
