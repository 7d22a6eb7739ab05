// Buying power: a buy order that the buyer's free money does not cover draws on a voucher
// eligible for its instrument, holding its cover from the program's budget and only the
// rest in money; each fill pays the voucher's share into escrow, so the provider is paid
// the full price; what is not delivered goes back to the budget; the cover is cut by
// every limit less what other orders hold, is released by a cancel, decided again by a
// replace, and survives a snapshot. Random fills never need money that is not held.

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "settlement_fixture.hpp"
#include "voucher_specs.hpp"

namespace cpx::exchange::test {
namespace {

// 40 bundles at 250 fen: a 10,000 fen order, whose Hohhot (30%) cover is 3,000 fen and
// whose money hold is the other 7,000 plus one fen per unit but one (39) for rounding.
constexpr Price kPrice = 250;
constexpr Quantity kQuantity = 40;
constexpr Price kCover = 3'000;
constexpr Price kCashHold = 7'039;

class BuyingPower : public SettlementTest {
  protected:
    BuyingPower() {
        x.exchange.set_observers(nullptr, nullptr, &events);
        issuer = x.create_account(Role::Issuer, "hohhot-big-data-bureau");
        EXPECT_EQ(x.deposit(issuer.id, 50'000'000), Code::None);
        x.register_tokens(pat, 100'000);
    }

    std::uint32_t create(VoucherProgramSpec spec) {
        spec.name = "program " + std::to_string(next_name_++);
        Payload p;
        p.program = spec;
        EXPECT_EQ(x.admin(RequestType::CreateVoucherProgram, p), Code::None);
        return p.programs.empty() ? 0 : p.programs[0].spec.id;
    }
    VoucherProgramSpec hohhot() const { return hohhot_program(issuer.id, ""); }
    std::uint64_t grant(std::uint32_t program, const Party& to, Price face,
                        Timestamp expiry_ns = kWindowEnd + 365 * kDay) {
        Payload p;
        p.program_id = program;
        p.voucher_face_fen = face;
        p.voucher_expiry_ns = expiry_ns;
        p.voucher_ref = "grant-" + std::to_string(next_ref_++);
        EXPECT_EQ(x.admin(RequestType::GrantVoucher, p, to.id), Code::None);
        return p.vouchers.empty() ? 0 : p.vouchers[0].voucher.id;
    }
    // A buyer with exactly `cash` fen.
    Party buyer_with(Price cash, AccountSpec spec = {}) {
        return x.buyer("carol-" + std::to_string(next_name_++), cash, spec);
    }
    Result buy(const Party& who, Price price = kPrice, Quantity quantity = kQuantity) {
        return x.send(TestExchange::buy(who, price, quantity, "b" + std::to_string(next_++)));
    }
    Result sell(Price price, Quantity quantity) {
        return x.send(TestExchange::sell(pat, price, quantity, "s" + std::to_string(next_++)));
    }
    Voucher voucher(std::uint64_t id) const { return x.exchange.vouchers().at(id - 1); }
    VoucherProgramView program_of(std::uint32_t id) const {
        return x.exchange.voucher_programs().at(id - 1);
    }
    Price escrow(const Party& who) const {
        return x.exchange.ledger()
            .account(ledger::account_id(who.id, ledger::purpose::escrow))
            ->credit_balance();
    }
    // Confirms `delivered` of an obligation (none: left unconfirmed, so it fails) and
    // runs settlement past its due time.
    void close(const Obligation& o, Quantity delivered) {
        if (delivered > 0) {
            EXPECT_EQ(confirm(pat, o.id, delivered), Code::None);
        }
        x.now = std::max(x.now, kWindowEnd) + x.exchange.settlement_rules().dispute_period_ns;
        run();
    }

    RecordingVoucherSink events;
    Party issuer;
    int next_ref_ = 1;
    mutable int next_name_ = 1;
};

TEST_F(BuyingPower, AnOrderMoneyAloneCannotCoverIsRefusedWithoutAVoucher) {
    const Party carol = buyer_with(kCashHold);
    EXPECT_EQ(buy(carol).code(), Code::InsufficientFunds);
    EXPECT_EQ(x.balances(carol).reserved_fen, 0);
}

TEST_F(BuyingPower, AVoucherCoversItsShareAndTheOrderHoldsTheRestInMoney) {
    const std::uint32_t program = create(hohhot());
    const Party short_by_a_fen = buyer_with(kCashHold - 1);
    grant(program, short_by_a_fen, 100'000);
    EXPECT_EQ(buy(short_by_a_fen).code(), Code::InsufficientFunds);

    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 100'000);
    ASSERT_EQ(buy(carol).code(), Code::None);
    EXPECT_EQ(x.balances(carol).reserved_fen, kCashHold);
    EXPECT_EQ(x.available(carol), 0);
    EXPECT_EQ(voucher(v).held_fen, kCover);
    EXPECT_EQ(x.balances(carol).voucher_fen, 100'000 - kCover);
    const VoucherProgramView view = program_of(program);
    EXPECT_EQ(view.held_fen, kCover);
    EXPECT_EQ(view.budget_fen, 1'000'000 - kCover);
    EXPECT_EQ(view.redeemed_fen, 0);
    expect_balanced();
}

TEST_F(BuyingPower, AFillPaysTheVouchersShareIntoEscrowAndTheProviderIsPaidInFull) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 100'000);
    ASSERT_EQ(buy(carol).code(), Code::None);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    const Obligation o = x.exchange.open_obligations().back();
    EXPECT_EQ(o.voucher, v);
    EXPECT_EQ(o.voucher_fen, kCover);

    const std::vector<VoucherEvent> paid = events.of(VoucherEventKind::RedeemedAtFill);
    ASSERT_EQ(paid.size(), 1u);
    EXPECT_EQ(paid[0].trade_id, o.id);
    EXPECT_EQ(paid[0].amount_fen, kCover);
    EXPECT_EQ(paid[0].share_fen, kCover);
    EXPECT_EQ(paid[0].reason, 0);
    EXPECT_NE(paid[0].transfer_id, 0u);
    // The whole price is in escrow; the money hold's margin is free again.
    EXPECT_EQ(escrow(carol), kPrice * kQuantity);
    EXPECT_EQ(x.available(carol), kCashHold - (kPrice * kQuantity - kCover));
    EXPECT_EQ(x.balances(carol).reserved_fen, 0);
    EXPECT_EQ(voucher(v).held_fen, 0);
    EXPECT_EQ(voucher(v).redeemed_fen, kCover);

    close(o, kQuantity);
    EXPECT_EQ(x.available(pat), kPrice * kQuantity - 50);  // the full price less the fee
    // The buyer's side was decided at the fill: settlement claims nothing more for it.
    EXPECT_TRUE(events.of(VoucherEventKind::Redeemed).empty());
    EXPECT_TRUE(events.of(VoucherEventKind::RedemptionRefused).empty());
    EXPECT_EQ(program_of(program).redeemed_fen, kCover);
    EXPECT_EQ(program_of(program).redemptions, 1u);
    expect_balanced();
}

TEST_F(BuyingPower, WhatIsNotDeliveredGoesBackToTheBudgetNotToTheBuyer) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 100'000);
    ASSERT_EQ(buy(carol).code(), Code::None);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    const Obligation half = x.exchange.open_obligations().back();
    // Money enough for the second order's money part only: it draws on the voucher too.
    ASSERT_EQ(x.deposit(carol.id, 10'000 - kCover), Code::None);
    ASSERT_EQ(buy(carol).code(), Code::None);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    const Obligation none = x.exchange.open_obligations().back();
    const Price before = x.available(carol);

    // Half delivered: the voucher keeps its share of 5,000 (1,500) and returns 1,500.
    EXPECT_EQ(confirm(pat, half.id, kQuantity / 2), Code::None);
    close(none, 0);  // the second is never confirmed, and fails
    const std::vector<VoucherEvent> returned = events.of(VoucherEventKind::Returned);
    ASSERT_EQ(returned.size(), 2u);
    EXPECT_EQ(returned[0].trade_id, half.id);
    EXPECT_EQ(returned[0].amount_fen, 1'500);
    EXPECT_EQ(returned[1].trade_id, none.id);
    EXPECT_EQ(returned[1].amount_fen, kCover);
    // The buyer gets back only the money it paid for what was not delivered.
    EXPECT_EQ(x.available(carol), before + (5'000 - 1'500) + (10'000 - kCover));
    EXPECT_EQ(voucher(v).redeemed_fen, 1'500);
    EXPECT_EQ(program_of(program).budget_fen, 1'000'000 - 1'500);
    EXPECT_EQ(escrow(carol), 0);
    expect_balanced();
}

TEST_F(BuyingPower, ACancelReleasesTheCoverToTheVoucherAndTheBudget) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 100'000);
    const Result placed = buy(carol);
    ASSERT_EQ(placed.code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::cancel(carol, placed.answer.order_id, "c1")).answer.exec,
              ExecType::Cancelled);
    EXPECT_EQ(voucher(v).held_fen, 0);
    EXPECT_EQ(program_of(program).held_fen, 0);
    EXPECT_EQ(program_of(program).budget_fen, 1'000'000);
    EXPECT_EQ(x.available(carol), kCashHold);
    EXPECT_EQ(x.exchange.ledger().pending_count(), 0u);
}

TEST_F(BuyingPower, AVoucherWhoseDecisionDependsOnTheProviderIsNotCounted) {
    VoucherProgramSpec listed = hohhot();
    listed.approved_providers = {pat.id};
    const Party carol = buyer_with(kCashHold);
    grant(create(listed), carol, 100'000);
    EXPECT_EQ(buy(carol).code(), Code::InsufficientFunds);

    // A buyer of an owner group could trade with an affiliate: only a program that
    // allows affiliates counts for it.
    AccountSpec grouped;
    grouped.owner_group = "group-a";
    const Party dana = buyer_with(kCashHold, grouped);
    grant(create(hohhot()), dana, 100'000);
    EXPECT_EQ(buy(dana).code(), Code::InsufficientFunds);
    VoucherProgramSpec affiliates = hohhot();
    affiliates.allow_affiliated = true;
    grant(create(affiliates), dana, 100'000);
    EXPECT_EQ(buy(dana).code(), Code::None);

    // Nor does a rebate, nor a voucher not eligible for the instrument.
    VoucherProgramSpec rebate = hohhot();
    rebate.mode = VoucherMode::Rebate;
    const Party erin = buyer_with(kCashHold);
    grant(create(rebate), erin, 100'000);
    VoucherProgramSpec elsewhere = hohhot();
    elsewhere.hubs = {"ULANQAB"};
    grant(create(elsewhere), erin, 100'000);
    EXPECT_EQ(buy(erin).code(), Code::InsufficientFunds);
}

TEST_F(BuyingPower, TheCoverIsCutByTheBudgetLessWhatOtherOrdersHold) {
    VoucherProgramSpec small = hohhot();
    small.budget_fen = 4'000;
    const std::uint32_t program = create(small);
    const Party carol = buyer_with(kCashHold);
    grant(program, carol, 100'000);
    ASSERT_EQ(buy(carol).code(), Code::None);  // holds 3,000 of the budget
    // Another buyer's order: its cover is the 1,000 left, so it holds 9,000 plus 39 in
    // money, and a fen less is refused.
    const Party short_by_a_fen = buyer_with(9'038);
    grant(program, short_by_a_fen, 100'000);
    EXPECT_EQ(buy(short_by_a_fen).code(), Code::InsufficientFunds);
    const Party dave = buyer_with(9'039);
    grant(program, dave, 100'000);
    ASSERT_EQ(buy(dave).code(), Code::None);
    EXPECT_EQ(x.available(dave), 0);
    EXPECT_EQ(program_of(program).held_fen, 4'000);
    EXPECT_EQ(program_of(program).budget_fen, 0);

    // Filled, the second pays only its cover, and says which limit cut it.
    ASSERT_EQ(sell(kPrice, 2 * kQuantity).code(), Code::None);
    const std::vector<VoucherEvent> paid = events.of(VoucherEventKind::RedeemedAtFill);
    ASSERT_EQ(paid.size(), 2u);
    EXPECT_EQ(paid[0].amount_fen, kCover);
    EXPECT_EQ(paid[1].amount_fen, 1'000);
    EXPECT_EQ(paid[1].share_fen, kCover);
    EXPECT_EQ(code_name(static_cast<Code>(paid[1].reason)), code_name(Code::BudgetExhausted));
    EXPECT_EQ(program_of(program).redeemed_fen, 4'000);
    expect_balanced();
}

TEST_F(BuyingPower, ARevocationLeavesTheHeldCoverToTheOrder) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 10'000);
    ASSERT_EQ(buy(carol).code(), Code::None);
    Payload p;
    p.voucher_id = v;
    ASSERT_EQ(x.admin(RequestType::RevokeVoucher, p), Code::None);
    EXPECT_EQ(voucher(v).revoked_fen, 10'000 - kCover);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    EXPECT_EQ(voucher(v).redeemed_fen, kCover);
    EXPECT_EQ(voucher(v).balance_fen(), 0);
    expect_balanced();
}

TEST_F(BuyingPower, AFillAfterTheVoucherExpiredPaysFromTheCoverTakenBefore) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 100'000, x.now + kHour);
    const Result placed = buy(carol);
    ASSERT_EQ(placed.code(), Code::None);
    const std::uint64_t cover_seq = x.exchange.request_seq();
    const Timestamp cover_ns = x.now;
    ASSERT_EQ(sell(kPrice, kQuantity / 2).code(), Code::None);
    x.advance(2 * kHour);  // the voucher expires; the order keeps what it was promised
    ASSERT_EQ(sell(kPrice, kQuantity / 2).code(), Code::None);
    const std::vector<VoucherEvent> paid = events.of(VoucherEventKind::RedeemedAtFill);
    ASSERT_EQ(paid.size(), 2u);
    EXPECT_EQ(paid[0].amount_fen + paid[1].amount_fen, kCover);
    // Each payment names the request at which the order took the cover.
    for (const VoucherEvent& e : paid) {
        EXPECT_EQ(e.cover_seq, cover_seq);
        EXPECT_EQ(e.cover_ns, cover_ns);
        EXPECT_GT(e.seq, cover_seq);
    }
    EXPECT_EQ(voucher(v).redeemed_fen, kCover);
    // A new order cannot draw on it any more.
    const Party dana = buyer_with(kCashHold);
    grant(program, dana, 100'000, x.now + kHour);
    x.advance(2 * kHour);
    EXPECT_EQ(buy(dana).code(), Code::InsufficientFunds);
    expect_balanced();
}

TEST_F(BuyingPower, AReplaceForLessKeepsTheCoverAndOneForMoreDecidesItAgain) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold + 1'400);
    const std::uint64_t v = grant(program, carol, 100'000);
    const Result placed = buy(carol);
    ASSERT_EQ(placed.code(), Code::None);
    const OrderId id = placed.answer.order_id;
    EXPECT_EQ(voucher(v).held_fen, kCover);
    // Half the quantity keeps the cover; both holds shrink to the 5,000 left: the
    // voucher's 1,500 and the money's 3,500 plus 19.
    ASSERT_EQ(x.send(TestExchange::replace(carol, id, kPrice, kQuantity / 2, "r1")).code(),
              Code::None);
    EXPECT_EQ(voucher(v).held_fen, 1'500);
    EXPECT_EQ(x.balances(carol).reserved_fen, 3'519);
    // A higher price decides the cover again: 12,000 at 30%.
    ASSERT_EQ(x.send(TestExchange::replace(carol, id, 300, kQuantity, "r2")).code(), Code::None);
    EXPECT_EQ(voucher(v).held_fen, 3'600);
    EXPECT_EQ(x.balances(carol).reserved_fen, 12'000 - 3'600 + 39);
    // Past what money and voucher can cover, the replace is refused and nothing changes.
    EXPECT_EQ(x.send(TestExchange::replace(carol, id, 400, kQuantity, "r3")).code(),
              Code::InsufficientFunds);
    EXPECT_EQ(voucher(v).held_fen, 3'600);
    // Once the voucher is revoked, a replace for less still keeps what the order took.
    Payload revoke;
    revoke.voucher_id = v;
    ASSERT_EQ(x.admin(RequestType::RevokeVoucher, revoke), Code::None);
    ASSERT_EQ(x.send(TestExchange::replace(carol, id, kPrice, kQuantity, "r4")).code(), Code::None);
    EXPECT_EQ(voucher(v).held_fen, kCover);
    EXPECT_EQ(x.balances(carol).reserved_fen, kCashHold);
    // A replace for more needs a cover the revoked voucher no longer gives.
    EXPECT_EQ(x.send(TestExchange::replace(carol, id, kPrice + 1, kQuantity, "r5")).code(),
              Code::InsufficientFunds);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    EXPECT_EQ(voucher(v).redeemed_fen, kCover);
    expect_balanced();
}

TEST_F(BuyingPower, AMarketBuyHoldsItsCoverAtItsProtectionPriceAndReleasesTheRest) {
    const matching::InstrumentSpec* spec = x.exchange.engine().spec(kTokens);
    ASSERT_NE(spec, nullptr);
    const Price reach = std::min<Price>(
        spec->price_max, kPrice + std::int64_t{spec->market_protection_ticks} * spec->tick_size);
    const Price open_fen = reach * kQuantity;
    const Price cover = open_fen * 3'000 / 10'000;
    const Price cash = open_fen - cover + std::min<Price>(cover, kQuantity - 1);
    ASSERT_GT(cover, kCover);
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(cash);
    const std::uint64_t v = grant(program, carol, 100'000);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::market(TestExchange::buy(carol, 0, kQuantity, "m"))).code(),
              Code::None);
    // Filled at the ask: the voucher paid 30% of 10,000, the money the rest, and what
    // the protection price held beyond it is free again.
    EXPECT_EQ(voucher(v).redeemed_fen, kCover);
    EXPECT_EQ(voucher(v).held_fen, 0);
    EXPECT_EQ(x.available(carol), cash - (kPrice * kQuantity - kCover));
    EXPECT_EQ(escrow(carol), kPrice * kQuantity);
    expect_balanced();
}

TEST_F(BuyingPower, AnUpheldDisputeReturnsTheVouchersWholePart) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const std::uint64_t v = grant(program, carol, 100'000);
    ASSERT_EQ(buy(carol).code(), Code::None);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);
    const Obligation o = x.exchange.open_obligations().back();
    ASSERT_EQ(confirm(pat, o.id, kQuantity), Code::None);
    ASSERT_EQ(dispute(carol, o.id), Code::None);
    ASSERT_EQ(resolve(o.id, true), Code::None);
    const std::vector<VoucherEvent> returned = events.of(VoucherEventKind::Returned);
    ASSERT_EQ(returned.size(), 1u);
    EXPECT_EQ(returned[0].amount_fen, kCover);
    EXPECT_EQ(voucher(v).redeemed_fen, 0);
    EXPECT_EQ(program_of(program).budget_fen, 1'000'000);
    EXPECT_EQ(x.available(carol), kCashHold);  // all the money it paid, back
    expect_balanced();
}

TEST_F(BuyingPower, RandomFillsAtOrBelowTheLimitNeverNeedMoneyThatIsNotHeld) {
    // Many orders with random shares, each taking random asks at random prices up to
    // its limit when it arrives and resting for the rest, which later sells fill in
    // random pieces: every fill's money and voucher parts come out of the holds (the
    // exchange asserts each transfer), each fill pays its share or the cover left, and
    // the buyer pays exactly the value less what the voucher paid.
    std::mt19937_64 engine(20261130);
    // A number in [1, most].
    const auto random = [&](std::int64_t most) {
        return static_cast<std::int64_t>(engine() % static_cast<std::uint64_t>(most)) + 1;
    };
    for (int round = 0; round < 60; ++round) {
        VoucherProgramSpec spec = hohhot();
        spec.budget_fen = 100'000;
        spec.share_bps = static_cast<std::uint32_t>(random(10'000));
        const std::uint32_t program = create(spec);
        const Price limit = random(500);
        const Quantity quantity = random(30);
        const Price open_fen = limit * quantity;
        const Price share = open_fen * spec.share_bps / 10'000;
        const Price cash = open_fen - share + std::min<Price>(share, quantity - 1);
        // A share within the rounding margin adds nothing: money alone pays that order.
        const Price cover = cash < open_fen ? share : 0;
        const Party carol = buyer_with(cash);
        const std::uint64_t v = grant(program, carol, 1'000'000);
        std::vector<std::pair<Price, Quantity>> fills;
        Quantity asked = 0;
        const Quantity taken = random(quantity + 1) - 1;
        while (asked < taken) {
            const Quantity piece = random(taken - asked);
            const Price price = random(limit);
            ASSERT_EQ(sell(price, piece).code(), Code::None);
            fills.emplace_back(price, piece);
            asked += piece;
        }
        // The order takes the asks in price order, at their prices.
        std::stable_sort(fills.begin(), fills.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        ASSERT_EQ(buy(carol, limit, quantity).code(), Code::None) << "round " << round;
        for (Quantity left = quantity - taken; left > 0;) {
            const Quantity piece = random(left);
            ASSERT_EQ(sell(random(limit), piece).code(), Code::None);
            fills.emplace_back(limit, piece);  // a resting buy trades at its own price
            left -= piece;
        }
        const std::vector<VoucherEvent> all = events.of(VoucherEventKind::RedeemedAtFill);
        std::vector<VoucherEvent> paid;
        for (const VoucherEvent& e : all) {
            if (e.voucher == v) {
                paid.push_back(e);
            }
        }
        Price paid_total = 0;
        Price value_total = 0;
        std::size_t next = 0;
        for (const auto& [price, piece] : fills) {
            const Price fill_share = price * piece * spec.share_bps / 10'000;
            const Price expected = std::min(fill_share, cover - paid_total);
            const Price got = expected > 0 && next < paid.size() ? paid[next++].amount_fen : 0;
            EXPECT_EQ(got, expected) << "round " << round;
            paid_total += got;
            value_total += price * piece;
        }
        EXPECT_EQ(next, paid.size());
        EXPECT_EQ(voucher(v).redeemed_fen, paid_total);
        EXPECT_EQ(voucher(v).held_fen, 0);
        EXPECT_EQ(x.available(carol), cash - (value_total - paid_total)) << "round " << round;
        EXPECT_EQ(x.balances(carol).reserved_fen, 0);
        expect_balanced();
    }
}

TEST(BuyingPowerBound, PastVoucherOrdersMaxABuyMustBeCoveredByMoneyAlone) {
    // Each order that draws on a voucher holds a second pending transfer, and the
    // ledger's tables are sized up front: the number of such orders is bounded.
    ExchangeConfig config = small_config();
    config.voucher_orders_max = 1;
    TestExchange x(config);
    x.add_default_instruments();
    const Party issuer = x.create_account(Role::Issuer, "issuer");
    ASSERT_EQ(x.deposit(issuer.id, 1'000'000), Code::None);
    const Party pat = x.provider("pat");
    x.register_tokens(pat, 1'000);
    Payload created;
    created.program = hohhot_program(issuer.id, "bounded");
    created.program.budget_fen = 100'000;
    ASSERT_EQ(x.admin(RequestType::CreateVoucherProgram, created), Code::None);
    std::vector<Party> buyers;
    for (int i = 0; i < 2; ++i) {
        buyers.push_back(x.buyer("buyer-" + std::to_string(i), kCashHold));
        Payload g;
        g.program_id = 1;
        g.voucher_face_fen = 100'000;
        g.voucher_expiry_ns = kWindowEnd;
        g.voucher_ref = "grant-" + std::to_string(i);
        ASSERT_EQ(x.admin(RequestType::GrantVoucher, g, buyers.back().id), Code::None);
    }
    ASSERT_EQ(x.send(TestExchange::buy(buyers[0], kPrice, kQuantity, "b0")).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::buy(buyers[1], kPrice, kQuantity, "b1")).code(),
              Code::InsufficientFunds);
    // Once the first is filled, its place is free.
    ASSERT_EQ(x.send(TestExchange::sell(pat, kPrice, kQuantity, "s0")).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::buy(buyers[1], kPrice, kQuantity, "b2")).code(), Code::None);
    EXPECT_TRUE(x.exchange.ledger().totals().balanced());
}

TEST_F(BuyingPower, ASnapshotCarriesTheHoldsAndTheNextFillPaysTheSameInBoth) {
    const std::uint32_t program = create(hohhot());
    const Party carol = buyer_with(kCashHold);
    const Party dave = buyer_with(kCashHold);
    grant(program, carol, 100'000);
    grant(program, dave, 100'000);
    ASSERT_EQ(buy(carol).code(), Code::None);
    ASSERT_EQ(sell(kPrice, kQuantity / 4).code(), Code::None);  // partly filled
    ASSERT_EQ(buy(dave).code(), Code::None);
    ASSERT_EQ(sell(kPrice, kQuantity).code(), Code::None);  // an open obligation with a voucher

    std::string bytes;
    x.exchange.save_snapshot(bytes);
    RecordingSink sink;
    Exchange restored(small_config(), sink);
    std::string error;
    ASSERT_TRUE(restored.load_snapshot(bytes, error)) << error;
    EXPECT_EQ(restored.state_hash(), x.exchange.state_hash());
    std::string again;
    restored.save_snapshot(again);
    EXPECT_EQ(again, bytes);

    Request fill = TestExchange::sell(pat, kPrice, kQuantity, "same");
    fill.ts_ns = x.now;
    RecordingVoucherSink restored_events;
    restored.set_observers(nullptr, nullptr, &restored_events);
    restored.apply(fill);
    ASSERT_EQ(x.send(TestExchange::sell(pat, kPrice, kQuantity, "same")).code(), Code::None);
    ASSERT_FALSE(restored_events.events.empty());
    EXPECT_EQ(restored_events.events.back().amount_fen, events.events.back().amount_fen);
    EXPECT_EQ(restored.state_hash(), x.exchange.state_hash());
}

}  // namespace
}  // namespace cpx::exchange::test
