// Buying power in the voucher tables (db/migrations/0010_voucher_buying_power.sql): a
// buyer's voucher pays part of a buy order at its fill by posting the order's hold (or,
// when the projector netted the hold and its post in one batch, by a single-phase
// transfer), as a voucher event of kind 7 (redeemed_at_fill) that names when the order
// took its cover; and what was not delivered goes back to the program's budget when the
// trade settles or fails (kind 8, returned). The tables refuse, whatever a writer sends:
// a payment that is not a voucher transfer of the program's budget to the buyer's escrow
// for a trade of its request, a cover that is not a journalled request before the
// payment or was taken outside the program's validity, after the voucher expired or was
// revoked or before it was granted, a second claim for the buyer's side of a trade, a
// return of another amount than the voucher's part of what was not delivered, a voucher
// paying past its face value (payments at fills less returns), and both sides of a deal
// paid where a program forbids it. Every row here is written directly in SQL, as a wrong
// writer would.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <pqxx/pqxx>

#include "cpx/ledger/ledger.hpp"
#include "voucher_schema_rows.hpp"

namespace cpx::projector::test {
namespace {

namespace purpose = cpx::ledger::purpose;

// A voucher event's columns; the defaults are voucher 1's whole share (30% of trade 1's
// 1,000 fen) paid at trade 1's fill (seq 11), by the post 201 of the hold 101, for an
// order that took its cover at seq 8 (ts 80).
struct EventRow {
    std::int64_t seq = 11;
    int idx = 0;
    int kind = 7;
    int program = 1;
    std::string voucher = "1";
    std::string trade = "1";
    std::string side = "1";
    std::int64_t beneficiary = kBuyer;
    std::string provider = "3";
    std::int64_t amount = 300;
    std::int64_t share = 300;
    int reason = 0;
    std::string transfer = "201";
    std::string cap_period = "0";
    std::int64_t ts_ns = 111;
    // Empty: seq 8 and ts 80 for a payment at a fill, NULL for the other kinds.
    std::string cover_seq;
    std::string cover_ns;
};

// The cover of `e`: set, or the default of its kind.
std::string cover_seq_of(const EventRow& e) {
    return !e.cover_seq.empty() ? e.cover_seq : e.kind == 7 ? "8" : "NULL";
}
std::string cover_ns_of(const EventRow& e) {
    return !e.cover_ns.empty() ? e.cover_ns : e.kind == 7 ? "80" : "NULL";
}

// `e` with the cover taken at `seq` and `ns`.
EventRow covered(EventRow e, std::int64_t seq, std::int64_t ns) {
    e.cover_seq = std::to_string(seq);
    e.cover_ns = std::to_string(ns);
    return e;
}

std::string values(const EventRow& e) {
    return "(" + std::to_string(e.seq) + ", " + std::to_string(e.idx) + ", " +
           std::to_string(e.kind) + ", " + std::to_string(e.program) + ", " + e.voucher + ", " +
           e.trade + ", " + e.side + ", " + std::to_string(e.beneficiary) + ", " + e.provider +
           ", " + std::to_string(e.amount) + ", " + std::to_string(e.share) + ", " +
           std::to_string(e.reason) + ", " + e.transfer + ", " + e.cap_period + ", " +
           std::to_string(e.ts_ns) + ", " + cover_seq_of(e) + ", " + cover_ns_of(e) + ")";
}

// The columns in the order of the exchange's COPY.
const std::string kInsertEvents =
    "INSERT INTO voucher_events (seq, idx, kind, program, voucher, trade_id, side, beneficiary, "
    "provider, amount_fen, share_fen, reason, transfer_id, cap_period, ts_ns, cover_seq, "
    "cover_ns) VALUES ";

std::string insert(const EventRow& e) {
    return kInsertEvents + values(e);
}

// Several events in one statement, as a COPY of a batch writes them.
std::string insert(const EventRow& a, const EventRow& b) {
    return kInsertEvents + values(a) + ", " + values(b);
}
std::string insert(const EventRow& a, const EventRow& b, const EventRow& c) {
    return insert(a, b) + ", " + values(c);
}

// Voucher 1's payment at the fill of trade `trade_id` (made at seq 10 + trade_id), by
// the post 200 + trade_id.
EventRow at_fill(std::int64_t trade_id, std::int64_t amount = 300) {
    EventRow e;
    e.seq = 10 + trade_id;
    e.trade = std::to_string(trade_id);
    e.transfer = std::to_string(200 + trade_id);
    e.amount = amount;
    e.reason = amount == 300 ? 0 : 300;  // a cut share names the limit: voucher_used_up
    e.ts_ns = 100 + e.seq;
    return e;
}

// Voucher 1's return for trade `trade_id`, at its settlement or failure (seq 30 +
// trade_id), by the transfer 300 + trade_id.
EventRow returned(std::int64_t trade_id, std::int64_t amount) {
    EventRow e;
    e.kind = 8;
    e.seq = 30 + trade_id;
    e.trade = std::to_string(trade_id);
    e.transfer = std::to_string(300 + trade_id);
    e.amount = amount;
    e.share = 0;
    e.ts_ns = 100 + e.seq;
    return e;
}

// The ledger side of a payment at a fill: the order's hold (pending, code reserve,
// user_data the order) and its post at the fill (code voucher, user_data the trade). The
// defaults are trade 1's: hold 101 of 300 fen made at seq 8 (ts 80) from program 1's
// budget to the buyer's escrow, posted by 201 at the trade's seq. With post_flags 0 the
// projector netted the two in one batch: only the post is written, as a single-phase
// transfer.
struct FillRow {
    std::int64_t trade = 1;
    std::int64_t hold_id = 0;      // 0: 100 + trade
    std::int64_t post_id = 0;      // 0: 200 + trade
    std::int64_t amount = 300;     // held
    std::int64_t post_amount = 0;  // 0: all that is held
    std::int64_t hold_seq = 8;
    std::int64_t hold_ts_ns = 80;
    int hold_code = 3;                // reserve
    std::int64_t hold_user_data = 0;  // 0: the trade's buy order, 1,000 + trade
    std::string debit = budget(1);
    std::string credit = kBuyerEscrow;
    int post_flags = 2;
    int post_code = 10;
    std::int64_t post_seq = 0;        // 0: the trade's, 10 + trade
    std::int64_t post_user_data = 0;  // 0: the trade
};

TransferRow hold_of(const FillRow& f) {
    TransferRow hold;
    hold.id = f.hold_id != 0 ? f.hold_id : 100 + f.trade;
    hold.debit = f.debit;
    hold.credit = f.credit;
    hold.amount = f.amount;
    hold.flags = 1;
    hold.code = f.hold_code;
    hold.seq = f.hold_seq;
    hold.ts_ns = f.hold_ts_ns;
    hold.user_data = f.hold_user_data != 0 ? f.hold_user_data : 1'000 + f.trade;
    return hold;
}

// Trade `trade_id`'s defaults.
FillRow fill(std::int64_t trade_id) {
    FillRow f;
    f.trade = trade_id;
    return f;
}

std::string insert(const FillRow& f) {
    const TransferRow hold = hold_of(f);
    TransferRow post = hold;
    post.id = f.post_id != 0 ? f.post_id : 200 + f.trade;
    post.amount = f.post_amount != 0 ? f.post_amount : f.amount;
    post.flags = f.post_flags;
    post.code = f.post_code;
    post.seq = f.post_seq != 0 ? f.post_seq : 10 + f.trade;
    post.ts_ns = 100 + post.seq;
    post.user_data = f.post_user_data != 0 ? f.post_user_data : f.trade;
    post.pending = f.post_flags == 2 || f.post_flags == 4 ? std::to_string(hold.id) : "NULL";
    return f.post_flags == 0 ? insert(post) : insert(hold) + ";" + insert(post);
}

// The ledger side of a return: voucher 1's money for trade `trade_id` back from the
// buyer's escrow to program 1's budget, by transfer 300 + trade_id at seq 30 + trade_id.
TransferRow return_transfer(std::int64_t trade_id, std::int64_t amount) {
    TransferRow t;
    t.id = 300 + trade_id;
    t.debit = kBuyerEscrow;
    t.credit = budget(1);
    t.amount = amount;
    t.seq = 30 + trade_id;
    t.ts_ns = 100 + t.seq;
    t.user_data = trade_id;
    return t;
}

// Trade `id`: `buyer` buys 4 units at 250 fen (1,000 fen) from the provider with order
// 1,000 + id, traded at seq 10 + id (unless `seq` and `buy_order` say otherwise).
std::string trade(std::int64_t id, std::int64_t buyer = kBuyer, std::int64_t seq = 0,
                  std::int64_t buy_order = 0) {
    const std::int64_t created = seq != 0 ? seq : 10 + id;
    return obligation(id, buyer, buy_order != 0 ? buy_order : 1'000 + id, 100 + created, 10'000,
                      created);
}

// Trade `id` settles at seq 30 + id with `delivered` of its 4 units.
std::string settle(std::int64_t id, std::int64_t delivered) {
    return settlement(id, 30 + id, 130 + id, delivered);
}

// Trade `id` fails at seq 30 + id: nothing delivered, the whole amount refunded.
std::string fail(std::int64_t id) {
    return "INSERT INTO obligation_events (obligation_id, kind, seq, ts_ns, refunded_fen) "
           "VALUES (" +
           std::to_string(id) + ", 7, " + std::to_string(30 + id) + ", " +
           std::to_string(130 + id) + ", 1000)";
}

class VoucherBuyingPowerSchema : public VoucherTablesTest {
  protected:
    VoucherBuyingPowerSchema() {
        // The journal's requests 1 to 10, stamped 10 ns a seq like the grants and holds
        // below: the payments' covers name them.
        for (int seq = 1; seq <= 10; ++seq) {
            journal(seq, 10 * seq);
        }
        exec(exchange_accounts() + ";" + account(kBuyerEscrow, kBuyer, purpose::escrow, 1) + ";" +
             account(kOtherBuyerEscrow, kOtherBuyer, purpose::escrow, 1));
        // The issuer's and the buyer's deposits, and the buyer's own money in escrow for
        // its fills (so that a wrong return has money to take from either).
        exec(deposit(1, kIssuerMoney, 1'000'000) + ";" + deposit(2, kBuyerMoney, 100'000));
        TransferRow own;
        own.id = 3;
        own.debit = kBuyerMoney;
        own.credit = kBuyerEscrow;
        own.amount = 50'000;
        own.code = 5;
        own.seq = 3;
        exec(insert(own));
        exec(own_escrow_of(kOtherBuyerEscrow, 4));
        // Program 1 (a buyer's 30% discount open to every provider), funded with 10,000
        // fen at its creation (seq 5).
        open_program(ProgramRow{});
        exec(kProgramFunded, "cpx_app");
        // Voucher 1: 1,000 fen for the buyer, granted at seq 6.
        grant(1, 1'000, 6);
        // Trades 1-6 of the buyer, made at seqs 11-16, not settled yet.
        for (int id = 1; id <= 6; ++id) {
            exec(trade(id));
        }
    }

    static std::string deposit(std::int64_t id, const std::string& to, std::int64_t amount) {
        TransferRow t;
        t.id = id;
        t.debit = kExternal;
        t.credit = to;
        t.amount = amount;
        t.code = 1;
        t.seq = 2;
        return insert(t);
    }
    // 10,000 fen of the other buyer, in its escrow.
    static std::string own_escrow_of(const std::string& escrow, std::int64_t id) {
        TransferRow t;
        t.id = id;
        t.debit = kExternal;
        t.credit = escrow;
        t.amount = 10'000;
        t.code = 5;
        t.seq = 3;
        return insert(t);
    }

    // Program `p`: its budget account (`p.budget_account`, budget(p.id) for a program
    // other than 1), funded with 10,000 fen from the issuer at its creation, and its row.
    void open_program(const ProgramRow& p) {
        exec(account(p.budget_account, budget_owner(p.id), purpose::voucher_budget, 1,
                     p.created_seq));
        TransferRow funding;
        funding.id = 10 + p.id;
        funding.debit = kIssuerMoney;
        funding.credit = p.budget_account;
        funding.amount = 10'000;
        funding.seq = p.created_seq;
        funding.user_data = p.id;
        exec(insert(funding));
        exec(insert(p), "cpx_app");
    }

    // Voucher `id` of program `program` for `beneficiary`, granted at `seq` (with its
    // grant event).
    void grant(std::int64_t id, std::int64_t face, std::int64_t seq,
               std::int64_t expiry = 1'000'000'000'000'000'000, int program = 1,
               std::int64_t beneficiary = kBuyer, int side = 1) {
        exec(voucher_row(id, face, seq, expiry, program, beneficiary), "cpx_app");
        EventRow e;
        e.seq = seq;
        e.kind = 3;
        e.program = program;
        e.voucher = std::to_string(id);
        e.side = std::to_string(side);
        e.beneficiary = beneficiary;
        e.trade = e.provider = e.transfer = e.cap_period = "NULL";
        e.amount = face;
        e.share = 0;
        e.ts_ns = seq * 10;
        exec(insert(e), "cpx_app");
    }

    // Journal row `seq`, stamped `ts_ns`.
    void journal(std::int64_t seq, std::int64_t ts_ns) {
        exec("INSERT INTO journal (seq, ts_ns, kind, body) VALUES (" + std::to_string(seq) + ", " +
             std::to_string(ts_ns) + ", 1, '\\x01'::bytea)");
    }

    // Voucher 1 pays its whole share (300 fen) at trade `trade_id`'s fill.
    void pay_at_fill(std::int64_t trade_id) {
        FillRow f;
        f.trade = trade_id;
        exec(insert(f));
        exec(insert(at_fill(trade_id)), "cpx_app");
    }
};

TEST_F(VoucherBuyingPowerSchema, AHoldPostedAtAFillAndReturnedInPartIsAcceptedAndShownByTheViews) {
    // At the order (seq 8) the voucher's cover, 600 fen, is held; at the fill (seq 11)
    // 300 of it is posted to the buyer's escrow and the rest released. Another order's
    // hold of 400 fen is still open.
    FillRow f;
    f.amount = 600;
    f.post_amount = 300;
    exec(insert(f));
    FillRow open_order;
    open_order.hold_id = 150;
    open_order.amount = 400;
    open_order.hold_seq = 9;
    exec(insert(hold_of(open_order)));
    exec(insert(at_fill(1)), "cpx_app");
    EXPECT_EQ(scalar("SELECT held_fen FROM voucher_program_status WHERE id = 1"), 400);
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_program_status WHERE id = 1"), 300);
    EXPECT_EQ(scalar("SELECT budget_left_fen FROM voucher_program_status WHERE id = 1"), 9'300);
    // Trade 1 settles with 2 of its 4 units: the voucher's part of what was delivered is
    // 30% of 500 = 150, so 150 of its 300 go back to the budget.
    exec(settle(1, 2));
    exec(insert(return_transfer(1, 150)));
    exec(insert(returned(1, 150)), "cpx_app");
    // Redeemed is what was paid less what was returned; the budget is what was funded
    // less that and less what is held.
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_program_status WHERE id = 1"), 150);
    EXPECT_EQ(scalar("SELECT redemptions FROM voucher_program_status WHERE id = 1"), 1);
    EXPECT_EQ(scalar("SELECT held_fen FROM voucher_program_status WHERE id = 1"), 400);
    EXPECT_EQ(scalar("SELECT budget_left_fen FROM voucher_program_status WHERE id = 1"), 9'450);
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_program_status "
                     "WHERE funded_fen - redeemed_fen - held_fen <> budget_left_fen"),
              0);
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 1"), 150);
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 850);
    EXPECT_EQ(scalar("SELECT redemptions FROM voucher_balances WHERE id = 1"), 1);
    EXPECT_EQ(scalar("SELECT kind FROM voucher_redemptions WHERE trade_id = 1"), 7);
    EXPECT_EQ(scalar("SELECT transfer_amount FROM voucher_redemptions WHERE trade_id = 1"), 300);
    EXPECT_EQ(scalar("SELECT credit_account_id FROM voucher_redemptions WHERE trade_id = 1"),
              std::stoll(kBuyerEscrow));
    EXPECT_EQ(scalar("SELECT transfer_amount FROM voucher_returns WHERE trade_id = 1"), 150);
    EXPECT_EQ(scalar("SELECT credit_account_id FROM voucher_returns WHERE trade_id = 1"),
              std::stoll(budget(1)));
    // The application and the regulator read the new view.
    EXPECT_EQ(scalar("SELECT amount_fen FROM voucher_returns", "cpx_app"), 150);
    EXPECT_EQ(scalar("SELECT amount_fen FROM voucher_returns", "cpx_regulator"), 150);
    EXPECT_EQ(scalar("SELECT held_fen FROM voucher_program_status", "cpx_regulator"), 400);
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_event_kinds WHERE (kind, name) IN "
                     "((7, 'redeemed_at_fill'), (8, 'returned'))"),
              2);
}

TEST_F(VoucherBuyingPowerSchema, AFailedTradeReturnsTheWholePaymentAtItsFill) {
    pay_at_fill(1);
    exec(fail(1));
    TransferRow less_transfer = return_transfer(1, 299);
    less_transfer.id = 401;
    exec(insert(return_transfer(1, 300)) + ";" + insert(less_transfer));
    // Trade 1 failed: nothing was delivered, so all 300 fen go back, not less.
    EventRow less = returned(1, 299);
    less.transfer = "401";
    EXPECT_REFUSED(exec(insert(less)), pqxx::check_violation,
                   "does not return the voucher's part of the undelivered");
    exec(insert(returned(1, 300)));
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 1"), 0);
    EXPECT_EQ(scalar("SELECT redemptions FROM voucher_balances WHERE id = 1"), 1);
}

TEST_F(VoucherBuyingPowerSchema, APaymentAtAFillAndItsReturnMayArriveInOneStatement) {
    // A batch carries the fill (seq 11) and the failure (seq 31) of trade 1: the return
    // sees the payment of its own statement.
    exec(insert(FillRow{}));
    exec(fail(1));
    exec(insert(return_transfer(1, 300)));
    exec(insert(at_fill(1), returned(1, 300)), "cpx_app");
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind IN (7, 8)"), 2);
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 1'000);
}

TEST_F(VoucherBuyingPowerSchema, APaymentAtAFillWithoutItsTransferOrTradeIsRefused) {
    // No transfer 201 at all.
    EXPECT_REFUSED(exec(insert(at_fill(1))), pqxx::foreign_key_violation,
                   "its transfer does not exist");
    // Trade 9 does not exist.
    FillRow f;
    f.trade = 9;
    exec(insert(f));
    EXPECT_REFUSED(exec(insert(at_fill(9))), pqxx::foreign_key_violation,
                   "its trade does not exist");
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind = 7"), 0);
}

TEST_F(VoucherBuyingPowerSchema, APaymentAtAFillIsAVoucherTransferFromTheBudgetToTheBuyersEscrow) {
    // A post of another code than voucher is not a payment at a fill.
    FillRow other_code;
    other_code.post_id = 211;
    other_code.hold_id = 111;
    other_code.post_code = 5;
    exec(insert(other_code));
    EventRow e = at_fill(1);
    e.transfer = "211";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not a single-phase or posting voucher transfer");
    // Nor the hold itself, nor a void of a hold (even one of code voucher).
    e.transfer = "111";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not a single-phase or posting voucher transfer");
    FillRow voided;
    voided.post_id = 281;
    voided.hold_id = 181;
    voided.post_flags = 4;
    exec(insert(voided));
    e.transfer = "281";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not a single-phase or posting voucher transfer");
    // Nor a single-phase transfer of another code.
    FillRow netted_refund;
    netted_refund.post_id = 291;
    netted_refund.post_flags = 0;
    netted_refund.post_code = 8;
    exec(insert(netted_refund));
    e.transfer = "291";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not a single-phase or posting voucher transfer");
    // The wrong amount: the post moved 300, the event says 250 (cut by voucher_used_up).
    FillRow right;
    right.post_id = 221;
    right.hold_id = 121;
    exec(insert(right));
    e = at_fill(1, 250);
    e.transfer = "221";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation, "its transfer moved another amount");
    // Held from the issuer's own money rather than the program's budget.
    FillRow from_issuer;
    from_issuer.post_id = 231;
    from_issuer.hold_id = 131;
    from_issuer.debit = kIssuerMoney;
    exec(insert(from_issuer));
    e = at_fill(1);
    e.transfer = "231";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not paid from the program's budget account");
    // Held for another buyer's escrow, or for the buyer's available money.
    FillRow to_other;
    to_other.post_id = 241;
    to_other.hold_id = 141;
    to_other.credit = kOtherBuyerEscrow;
    exec(insert(to_other));
    e.transfer = "241";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not paid to the beneficiary's escrow account");
    FillRow to_available;
    to_available.post_id = 251;
    to_available.hold_id = 151;
    to_available.credit = kBuyerMoney;
    exec(insert(to_available));
    e.transfer = "251";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "not paid to the beneficiary's escrow account");
    // Posted for another trade (user_data), or in another request (seq).
    FillRow other_trade;
    other_trade.post_id = 261;
    other_trade.hold_id = 161;
    other_trade.post_user_data = 2;
    exec(insert(other_trade));
    e.transfer = "261";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation, "not for its trade and request");
    FillRow other_request;
    other_request.post_id = 271;
    other_request.hold_id = 171;
    other_request.post_seq = 12;
    exec(insert(other_request));
    e.transfer = "271";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation, "not for its trade and request");
    // The post of a hold that is not the trade's buy order's reserve: a hold of another
    // code, or one for another order.
    FillRow not_reserve;
    not_reserve.post_id = 282;
    not_reserve.hold_id = 182;
    not_reserve.hold_code = 5;
    exec(insert(not_reserve));
    e.transfer = "282";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "the hold its transfer posts is not its buy order's reserve");
    FillRow other_order;
    other_order.post_id = 283;
    other_order.hold_id = 183;
    other_order.hold_user_data = 1'002;  // trade 2's buy order
    exec(insert(other_order));
    e.transfer = "283";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "the hold its transfer posts is not its buy order's reserve");
    // The right one is accepted.
    e.transfer = "221";
    exec(insert(e));
}

TEST_F(VoucherBuyingPowerSchema, ANettedPaymentAtAFillIsOneSinglePhaseTransferWithoutAHold) {
    // The order's hold and its post at trade 1's fill were in one batch: the projector
    // wrote no hold, and the post as a single-phase transfer, which the payment names.
    FillRow netted;
    netted.post_flags = 0;
    exec(insert(netted));
    EXPECT_EQ(scalar("SELECT count(*) FROM transfers WHERE id = 101"), 0);
    exec(insert(at_fill(1)), "cpx_app");
    // A statement may carry both: the payments of trades 2 and 5 post holds of earlier
    // batches (the last 100 fen of the voucher for trade 5), trade 3's was netted.
    FillRow posted;
    posted.trade = 2;
    exec(insert(posted));
    FillRow netted_too;
    netted_too.trade = 3;
    netted_too.post_flags = 0;
    exec(insert(netted_too));
    FillRow posted_too;
    posted_too.trade = 5;
    posted_too.amount = 100;
    exec(insert(posted_too));
    exec(insert(at_fill(2), at_fill(3), at_fill(5, 100)), "cpx_app");
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_redemptions WHERE kind = 7"), 4);
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 1"), 1'000);
    // A netted payment keeps the other rules: paid to the buyer's available money rather
    // than its escrow, it is refused.
    FillRow to_available;
    to_available.trade = 4;
    to_available.post_flags = 0;
    to_available.credit = kBuyerMoney;
    exec(insert(to_available));
    EXPECT_REFUSED(exec(insert(at_fill(4))), pqxx::check_violation,
                   "not paid to the beneficiary's escrow account");
}

TEST_F(VoucherBuyingPowerSchema, APaymentAtAFillIsForATradeMadeInItsRequestByItsBeneficiary) {
    // Trade 1 was made at seq 11: a payment at seq 12 is not its fill.
    FillRow late;
    late.post_seq = 12;
    exec(insert(late));
    EventRow e = at_fill(1);
    e.seq = 12;
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "its trade was not made in the event's request");
    // Trade 7 is the other buyer's: the buyer's voucher does not pay for it.
    exec(trade(7, kOtherBuyer));
    FillRow others;
    others.trade = 7;
    exec(insert(others));
    EXPECT_REFUSED(exec(insert(at_fill(7))), pqxx::check_violation,
                   "it is not for its trade's buyer and provider");
    // Nor for another provider than the trade's.
    FillRow f;
    f.trade = 2;
    exec(insert(f));
    e = at_fill(2);
    e.provider = "5";
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "it is not for its trade's buyer and provider");
    // The share is 30% of the whole trade value (1,000 fen), not of anything else.
    e = at_fill(2, 299);
    e.share = 299;
    e.reason = 0;
    EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                   "its share is not the program's share of the trade's value");
    exec(insert(at_fill(2)));
}

TEST_F(VoucherBuyingPowerSchema, OnlyABuyersDiscountOpenToEveryProviderPaysAtAFill) {
    // Program 2 lists its providers (provider 3 among them), program 3 is a rebate, and
    // program 4 is like program 1; each has a voucher for the buyer.
    for (int id = 2; id <= 4; ++id) {
        ProgramRow p;
        p.id = id;
        p.budget_account = budget(id);
        p.approved_providers = id == 2 ? "{3}" : "{}";
        p.mode = id == 3 ? 2 : 1;
        open_program(p);
        grant(id, 1'000, 5 + id, 1'000'000'000'000'000'000, id);
    }
    const auto pay = [&](int program, std::int64_t trade_id) {
        FillRow f;
        f.trade = trade_id;
        f.hold_seq = 10;
        f.debit = budget(program);
        exec(insert(f));
        // The cover is taken after the grants (seqs 7 to 9).
        EventRow e = covered(at_fill(trade_id), 10, 100);
        e.program = program;
        e.voucher = std::to_string(program);
        exec(insert(e));
    };
    EXPECT_REFUSED(pay(2, 1), pqxx::check_violation,
                   "its program is not a buyer's discount open to every provider");
    EXPECT_REFUSED(pay(3, 2), pqxx::check_violation,
                   "its program is not a buyer's discount open to every provider");
    pay(4, 3);
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind = 7"), 1);
}

TEST_F(VoucherBuyingPowerSchema, APostOfAHoldMadeAfterTheExpiryPaysForACoverTakenBefore) {
    // Voucher 2 (program 1) expires at ts 100. Order 1,001 took its cover at seq 8 (ts
    // 80), and its first fill (trade 1, seq 11, ts 111) posted 300 of the 600 held then.
    grant(2, 1'000, 7, 100);
    FillRow first;
    first.amount = 600;
    first.post_amount = 300;
    exec(insert(first));
    EventRow e = at_fill(1);
    e.voucher = "2";
    exec(insert(e));
    // A pending transfer is resolved once, so the fill held the rest anew (hold 150, at
    // seq 11, ts 111: after the expiry). The order's next fill (trade 7, seq 17) posts
    // it.
    exec(trade(7, kBuyer, 17, 1'001));
    FillRow second;
    second.trade = 7;
    second.hold_id = 150;
    second.hold_seq = 11;
    second.hold_ts_ns = 111;
    second.hold_user_data = 1'001;
    exec(insert(second));
    e = at_fill(7);
    e.voucher = "2";
    // Judged by a cover taken after the expiry it would be refused; the order's cover was
    // taken before it, so the voucher pays.
    EXPECT_REFUSED(exec(insert(covered(e, 10, 100))), pqxx::check_violation,
                   "its cover was taken after the voucher had expired");
    exec(insert(e), "cpx_app");
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 2"), 600);
}

TEST_F(VoucherBuyingPowerSchema, TheCoverIsTakenWithinTheValidityAndBeforeTheVoucherExpired) {
    // Voucher `voucher` of program `program` pays at trade `trade_id`'s fill for a cover
    // taken at `cover_seq` and `cover_ns`; the hold is made at seq 8 (ts 80) and the fill
    // comes at ts 111 and later, whatever the cover.
    const auto pay = [&](std::int64_t trade_id, int program, int voucher, std::int64_t cover_seq,
                         std::int64_t cover_ns) {
        FillRow f;
        f.trade = trade_id;
        f.debit = budget(program);
        exec(insert(f));
        EventRow e = covered(at_fill(trade_id), cover_seq, cover_ns);
        e.program = program;
        e.voucher = std::to_string(voucher);
        exec(insert(e));
    };
    // Program 2 is valid in [85, 95): a cover taken at ts 84 or 95 pays nothing, one at
    // ts 85 or 94 pays (the hold, at ts 80, is outside, and the fills after).
    ProgramRow p;
    p.id = 2;
    p.budget_account = budget(2);
    p.valid_from_ns = 85;
    p.valid_until_ns = 95;
    open_program(p);
    grant(2, 1'000, 7, 1'000'000'000'000'000'000, 2);
    EXPECT_REFUSED(pay(1, 2, 2, 8, 84), pqxx::check_violation,
                   "its cover was taken outside the program's validity");
    pay(2, 2, 2, 8, 85);
    pay(3, 2, 2, 8, 94);
    EXPECT_REFUSED(pay(4, 2, 2, 8, 95), pqxx::check_violation,
                   "its cover was taken outside the program's validity");
    // Voucher 3 (program 1, granted at seq 9) expires at ts 101: a cover taken at seq 10
    // (ts 100) pays at a fill after the expiry, one at ts 101 does not.
    grant(3, 1'000, 9, 101);
    pay(5, 1, 3, 10, 100);
    EXPECT_REFUSED(pay(6, 1, 3, 10, 101), pqxx::check_violation,
                   "its cover was taken after the voucher had expired");
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind = 7"), 3);
}

TEST_F(VoucherBuyingPowerSchema, TheCoverIsTakenAfterTheGrantAndBeforeTheRevocation) {
    // Voucher 2 (2,000 fen) is granted at seq 7: a cover taken at seq 7 is not its. Trade
    // `trade_id`'s hold is made at `hold_seq`, its cover at `cover_seq`.
    grant(2, 2'000, 7);
    const auto pay = [&](std::int64_t trade_id, std::int64_t cover_seq, std::int64_t hold_seq) {
        FillRow f;
        f.trade = trade_id;
        f.hold_seq = hold_seq;
        f.hold_ts_ns = 10 * hold_seq;
        exec(insert(f));
        EventRow e = covered(at_fill(trade_id), cover_seq, 10 * cover_seq);
        e.voucher = "2";
        exec(insert(e));
    };
    EXPECT_REFUSED(pay(1, 7, 8), pqxx::check_violation,
                   "its cover was taken before the voucher was granted");
    // Revoked at seq 9 (taking back 100 fen, so that the face value stays no limit here).
    EventRow revoke;
    revoke.seq = 9;
    revoke.kind = 4;
    revoke.voucher = "2";
    revoke.trade = revoke.provider = revoke.transfer = revoke.cap_period = "NULL";
    revoke.share = 0;
    revoke.amount = 100;
    revoke.ts_ns = 90;
    exec(insert(revoke));
    // A cover taken at seq 8 still pays, though its hold was made anew after the
    // revocation: the money was promised to the order before it.
    pay(2, 8, 10);
    // A cover taken at the revocation's seq or after it pays nothing.
    EXPECT_REFUSED(pay(3, 9, 9), pqxx::check_violation,
                   "its cover was taken after the voucher was revoked");
    EXPECT_REFUSED(pay(4, 10, 10), pqxx::check_violation,
                   "its cover was taken after the voucher was revoked");
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 2"), 300);
}

TEST_F(VoucherBuyingPowerSchema, TheCoverIsAJournalledRequestNoLaterThanThePayment) {
    // Trade 7 (seq 30, ts 130) names a cover at seq 20, which the journal does not have.
    exec(trade(7, kBuyer, 30));
    FillRow f;
    f.trade = 7;
    f.post_seq = 30;
    exec(insert(f));
    EventRow e = at_fill(7);
    e.seq = 30;
    e.ts_ns = 130;
    EXPECT_REFUSED(exec(insert(covered(e, 20, 100))), pqxx::foreign_key_violation,
                   "the request of its cover is not in the journal");
    journal(20, 100);
    exec(insert(covered(e, 20, 100)));
    // The exchange's time at a request is at least the journal's stamp of it (ts 80 for
    // seq 8).
    exec(insert(fill(2)));
    EXPECT_REFUSED(exec(insert(covered(at_fill(2), 8, 79))), pqxx::check_violation,
                   "its cover's time is before the journal's stamp of it");
    exec(insert(covered(at_fill(2), 8, 80)));
    // Trade 3 is made at seq 13 (ts 113): its cover comes no later, in seq and in time.
    journal(13, 113);
    journal(14, 113);
    exec(insert(fill(3)));
    EXPECT_REFUSED(exec(insert(covered(at_fill(3), 14, 113))), pqxx::check_violation,
                   "its cover was taken after the payment");
    EXPECT_REFUSED(exec(insert(covered(at_fill(3), 8, 114))), pqxx::check_violation,
                   "its cover was taken after the payment");
    // An order that trades as it is placed takes its cover in the fill's own request.
    exec(insert(covered(at_fill(3), 13, 113)));
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE kind = 7"), 3);
}

TEST_F(VoucherBuyingPowerSchema, APaymentAtAFillDecidesTheBuyersSideOnceAndIsReturnedOnce) {
    pay_at_fill(1);
    // A second payment at the fill for the buyer of trade 1, with a hold of its own.
    FillRow second;
    second.hold_id = 111;
    second.post_id = 211;
    exec(insert(second));
    EventRow again = at_fill(1);
    again.idx = 1;
    again.transfer = "211";
    EXPECT_REFUSED(exec(insert(again)), pqxx::unique_violation,
                   "voucher_events_one_claim_per_side");
    // Trade 1 settles in full: the buyer's side is not redeemed or refused again.
    exec(settle(1, 4));
    TransferRow redemption;
    redemption.id = 401;
    redemption.debit = budget(1);
    redemption.credit = kBuyerMoney;
    redemption.seq = 31;
    redemption.user_data = 1;
    exec(insert(redemption));
    EventRow redeemed = returned(1, 300);
    redeemed.kind = 5;
    redeemed.share = 300;
    redeemed.transfer = "401";
    EXPECT_REFUSED(exec(insert(redeemed)), pqxx::unique_violation,
                   "voucher_events_one_claim_per_side");
    EventRow refused = redeemed;
    refused.kind = 6;
    refused.amount = 0;
    refused.reason = 300;
    refused.transfer = "NULL";
    EXPECT_REFUSED(exec(insert(refused)), pqxx::unique_violation,
                   "voucher_events_one_claim_per_side");
    // Trade 2 fails: its payment is returned once.
    pay_at_fill(2);
    exec(fail(2));
    exec(insert(return_transfer(2, 300)));
    exec(insert(returned(2, 300)));
    TransferRow twice = return_transfer(2, 300);
    twice.id = 402;
    exec(insert(twice));
    EventRow returned_twice = returned(2, 300);
    returned_twice.idx = 1;
    returned_twice.transfer = "402";
    EXPECT_REFUSED(exec(insert(returned_twice)), pqxx::unique_violation,
                   "voucher_events_returned_once");
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 1"), 300);
}

TEST_F(VoucherBuyingPowerSchema, AReturnIsTheVouchersPartOfWhatWasNotDelivered) {
    // Trade 1 paid 300 at its fill and delivered 1 of 4 units: the voucher keeps 30% of
    // 250 = 75 and returns 225.
    pay_at_fill(1);
    exec(settle(1, 1));
    for (const std::int64_t amount : {224, 226, 300}) {
        TransferRow t = return_transfer(1, amount);
        t.id = 400 + amount;
        exec(insert(t));
        EventRow e = returned(1, amount);
        e.transfer = std::to_string(t.id);
        EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation,
                       "does not return the voucher's part of the undelivered");
    }
    exec(insert(return_transfer(1, 225)));
    exec(insert(returned(1, 225)));
    // Trade 2 paid 100 at its fill (cut by the voucher's limit) and delivered 2 of 4: the
    // voucher's part of the delivered (150) is more than it paid, so nothing goes back.
    FillRow cut;
    cut.trade = 2;
    cut.amount = 100;
    exec(insert(cut));
    exec(insert(at_fill(2, 100)));
    exec(settle(2, 2));
    exec(insert(return_transfer(2, 1)));
    EXPECT_REFUSED(exec(insert(returned(2, 1))), pqxx::check_violation,
                   "does not return the voucher's part of the undelivered");
    // Trade 3 delivered everything: nothing goes back either.
    pay_at_fill(3);
    exec(settle(3, 4));
    exec(insert(return_transfer(3, 1)));
    EXPECT_REFUSED(exec(insert(returned(3, 1))), pqxx::check_violation,
                   "does not return the voucher's part of the undelivered");
    EXPECT_EQ(scalar("SELECT redeemed_fen FROM voucher_balances WHERE id = 1"), 75 + 100 + 300);
}

TEST_F(VoucherBuyingPowerSchema, AReturnNeedsAPaymentAtTheFillAndAFinalStepInItsRequest) {
    // Trade 1 failed, but the voucher paid nothing at its fill.
    exec(fail(1));
    exec(insert(return_transfer(1, 300)));
    EXPECT_REFUSED(exec(insert(returned(1, 300))), pqxx::check_violation,
                   "its voucher paid nothing for the trade at its fill");
    // Trade 2 was paid by voucher 1; voucher 2 (also the buyer's) cannot return it.
    grant(2, 1'000, 7);
    pay_at_fill(2);
    exec(fail(2));
    exec(insert(return_transfer(2, 300)));
    EventRow other_voucher = returned(2, 300);
    other_voucher.voucher = "2";
    EXPECT_REFUSED(exec(insert(other_voucher)), pqxx::check_violation,
                   "its voucher paid nothing for the trade at its fill");
    // Trade 3 was paid but has not settled or failed; trade 2 failed at seq 32, not 33.
    pay_at_fill(3);
    exec(insert(return_transfer(3, 300)));
    EXPECT_REFUSED(exec(insert(returned(3, 300))), pqxx::check_violation,
                   "its trade did not settle or fail in the event's request");
    EventRow late = returned(2, 300);
    late.seq = 33;
    EXPECT_REFUSED(exec(insert(late)), pqxx::check_violation,
                   "its trade did not settle or fail in the event's request");
    // A return names its trade and its transfer, which must exist.
    EventRow no_trade = returned(9, 300);
    no_trade.transfer = "302";
    EXPECT_REFUSED(exec(insert(no_trade)), pqxx::foreign_key_violation, "its trade does not exist");
    EXPECT_REFUSED(exec(insert(returned(4, 300))), pqxx::foreign_key_violation,
                   "its transfer does not exist");
    exec(insert(returned(2, 300)));
}

TEST_F(VoucherBuyingPowerSchema, AReturnIsPaidFromTheBuyersEscrowBackToTheBudget) {
    pay_at_fill(1);
    exec(fail(1));
    EventRow e = returned(1, 300);
    const auto refused = [&](TransferRow t, const char* fragment) {
        exec(insert(t));
        e.transfer = std::to_string(t.id);
        EXPECT_REFUSED(exec(insert(e)), pqxx::check_violation, fragment);
    };
    TransferRow t = return_transfer(1, 300);
    t.id = 401;
    t.code = 8;  // refund
    refused(t, "its transfer is not a single-phase voucher transfer");
    t = return_transfer(1, 300);
    t.id = 402;
    t.flags = 1;  // a hold
    refused(t, "its transfer is not a single-phase voucher transfer");
    t = return_transfer(1, 299);
    t.id = 403;
    refused(t, "its transfer moved another amount");
    t = return_transfer(1, 300);
    t.id = 404;
    t.debit = kBuyerMoney;
    refused(t, "not paid from the beneficiary's escrow account");
    t.id = 405;
    t.debit = kOtherBuyerEscrow;
    refused(t, "not paid from the beneficiary's escrow account");
    t = return_transfer(1, 300);
    t.id = 406;
    t.credit = kIssuerMoney;
    refused(t, "not paid to the program's budget account");
    t = return_transfer(1, 300);
    t.id = 407;
    t.user_data = 2;
    refused(t, "not for its trade and request");
    t = return_transfer(1, 300);
    t.id = 408;
    t.seq = 32;
    refused(t, "not for its trade and request");
    // The right one is accepted.
    exec(insert(return_transfer(1, 300)));
    e.transfer = "301";
    exec(insert(e));
}

TEST_F(VoucherBuyingPowerSchema, AVoucherNeverPaysPastItsFaceValueCountingPaymentsLessReturns) {
    // 1,000 fen: three payments of 300 at fills fit, a fourth does not.
    pay_at_fill(1);
    pay_at_fill(2);
    pay_at_fill(3);
    exec(insert(fill(4)));
    EXPECT_REFUSED(exec(insert(at_fill(4))), pqxx::check_violation, "past its face value");
    // Trade 1 fails and its 300 fen come back to the voucher: now the fourth fits.
    exec(fail(1));
    exec(insert(return_transfer(1, 300)));
    exec(insert(returned(1, 300)));
    exec(insert(at_fill(4)));
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 100);
    // A redemption after settlement counts with them: 101 fen of trade 5 would pass it.
    exec(settle(5, 4));
    TransferRow redemption;
    redemption.id = 401;
    redemption.debit = budget(1);
    redemption.credit = kBuyerMoney;
    redemption.amount = 101;
    redemption.seq = 35;
    redemption.user_data = 5;
    exec(insert(redemption));
    EventRow redeemed = returned(5, 101);
    redeemed.kind = 5;
    redeemed.share = 300;
    redeemed.reason = 300;
    redeemed.transfer = "401";
    EXPECT_REFUSED(exec(insert(redeemed)), pqxx::check_violation, "past its face value");
    // Nor can a revocation take more than is left.
    EventRow revoke;
    revoke.seq = 40;
    revoke.kind = 4;
    revoke.trade = revoke.provider = revoke.transfer = revoke.cap_period = "NULL";
    revoke.share = 0;
    revoke.amount = 101;
    EXPECT_REFUSED(exec(insert(revoke)), pqxx::check_violation, "past its face value");
    revoke.amount = 100;
    exec(insert(revoke));
    EXPECT_EQ(scalar("SELECT balance_fen FROM voucher_balances WHERE id = 1"), 0);
}

TEST_F(VoucherBuyingPowerSchema, BothSidesArePaidOnlyWhenBothProgramsAllowItWhicheverKindPaid) {
    // Program 2 pays providers and forbids both sides claiming one deal; program 3 pays
    // providers and allows it. Each has a voucher for the provider.
    for (int id = 2; id <= 3; ++id) {
        ProgramRow p;
        p.id = id;
        p.budget_account = budget(id);
        p.side = 2;
        p.allow_both_sides = id == 3;
        p.created_seq = 18 + id;
        open_program(p);
        grant(id, 1'000, 20 + id, 1'000'000'000'000'000'000, id, kProvider, 2);
    }
    // The provider's redemption of trade `trade_id` (settled in full) by program `program`.
    const auto provider_paid = [&](int program, std::int64_t trade_id) {
        TransferRow t;
        t.id = 400 + program * 10 + trade_id;
        t.debit = budget(program);
        t.credit = kProviderMoney;
        t.seq = 30 + trade_id;
        t.user_data = trade_id;
        exec(insert(t));
        EventRow e = returned(trade_id, 300);
        e.kind = 5;
        e.program = program;
        e.voucher = std::to_string(program);
        e.side = "2";
        e.beneficiary = kProvider;
        e.share = 300;
        e.transfer = std::to_string(t.id);
        exec(insert(e));
    };
    // The buyer of trade 1 was paid at its fill by program 1: program 2 cannot pay its
    // provider.
    pay_at_fill(1);
    exec(settle(1, 4));
    EXPECT_REFUSED(provider_paid(2, 1), pqxx::check_violation, "both sides of trade 1");
    // Nor the other way round: trade 2's provider was paid by program 2 first.
    exec(settle(2, 4));
    provider_paid(2, 2);
    exec(insert(fill(2)));
    EXPECT_REFUSED(exec(insert(at_fill(2))), pqxx::check_violation, "both sides of trade 2");
    // Programs 1 and 3 both allow it.
    pay_at_fill(3);
    exec(settle(3, 4));
    provider_paid(3, 3);
    EXPECT_EQ(scalar("SELECT count(*) FROM voucher_events WHERE trade_id = 3"), 2);
}

TEST_F(VoucherBuyingPowerSchema, TheNewKindsHaveTheirShapes) {
    exec(insert(FillRow{}));
    // A payment at a fill is the buyer's, names its transfer, and pays at most its share
    // with a reason only when a limit cut it.
    EventRow provider_side = at_fill(1);
    provider_side.side = "2";
    EXPECT_REFUSED(exec(insert(provider_side)), pqxx::check_violation, "redemption_at_fill_shape");
    EventRow no_transfer = at_fill(1);
    no_transfer.transfer = "NULL";
    EXPECT_REFUSED(exec(insert(no_transfer)), pqxx::check_violation, "redemption_at_fill_shape");
    EventRow silent_cut = at_fill(1);
    silent_cut.amount = 250;
    EXPECT_REFUSED(exec(insert(silent_cut)), pqxx::check_violation, "redemption_at_fill_shape");
    EventRow no_cut = at_fill(1);
    no_cut.reason = 303;
    EXPECT_REFUSED(exec(insert(no_cut)), pqxx::check_violation, "redemption_at_fill_shape");
    EventRow past_share = at_fill(1);
    past_share.amount = 301;
    EXPECT_REFUSED(exec(insert(past_share)), pqxx::check_violation, "redemption_at_fill_shape");
    EventRow nothing = at_fill(1);
    nothing.amount = 0;
    nothing.reason = 300;
    EXPECT_REFUSED(exec(insert(nothing)), pqxx::check_violation, "redemption_at_fill_shape");
    // It names its cover, in both columns and in range.
    EventRow no_cover_seq = at_fill(1);
    no_cover_seq.cover_seq = "NULL";
    EXPECT_REFUSED(exec(insert(no_cover_seq)), pqxx::check_violation, "redemption_at_fill_shape");
    EventRow no_cover_ns = at_fill(1);
    no_cover_ns.cover_ns = "NULL";
    EXPECT_REFUSED(exec(insert(no_cover_ns)), pqxx::check_violation, "redemption_at_fill_shape");
    EXPECT_REFUSED(exec(insert(covered(at_fill(1), 0, 80))), pqxx::check_violation,
                   "voucher_events_cover_seq_check");
    EXPECT_REFUSED(exec(insert(covered(at_fill(1), 8, -1))), pqxx::check_violation,
                   "voucher_events_cover_ns_check");
    exec(insert(at_fill(1)));
    // A return is the buyer's, names its transfer, returns something, and has no share
    // or reason of its own.
    exec(fail(1));
    exec(insert(return_transfer(1, 300)));
    EventRow with_share = returned(1, 300);
    with_share.share = 300;
    EXPECT_REFUSED(exec(insert(with_share)), pqxx::check_violation, "return_shape");
    EventRow with_reason = returned(1, 300);
    with_reason.reason = 300;
    EXPECT_REFUSED(exec(insert(with_reason)), pqxx::check_violation, "return_shape");
    EventRow empty = returned(1, 0);
    EXPECT_REFUSED(exec(insert(empty)), pqxx::check_violation, "return_shape");
    EventRow without_transfer = returned(1, 300);
    without_transfer.transfer = "NULL";
    EXPECT_REFUSED(exec(insert(without_transfer)), pqxx::check_violation, "return_shape");
    EventRow other_side = returned(1, 300);
    other_side.side = "2";
    EXPECT_REFUSED(exec(insert(other_side)), pqxx::check_violation, "return_shape");
    // No kind but a payment at a fill has a cover, not even half of one.
    EXPECT_REFUSED(exec(insert(covered(returned(1, 300), 8, 80))), pqxx::check_violation,
                   "cover_only_at_fill");
    EventRow half_cover = returned(1, 300);
    half_cover.cover_ns = "80";
    EXPECT_REFUSED(exec(insert(half_cover)), pqxx::check_violation, "cover_only_at_fill");
    exec(insert(returned(1, 300)));
    EventRow revoke;
    revoke.seq = 40;
    revoke.kind = 4;
    revoke.trade = revoke.provider = revoke.transfer = revoke.cap_period = "NULL";
    revoke.share = 0;
    revoke.amount = 100;
    revoke.cover_seq = "8";
    EXPECT_REFUSED(exec(insert(revoke)), pqxx::check_violation, "cover_only_at_fill");
    revoke.cover_seq = "NULL";
    exec(insert(revoke));
}

}  // namespace
}  // namespace cpx::projector::test
