// Buying power: a buy order that the buyer's free money does not cover draws on a voucher
// eligible for its instrument, holding its cover from the program's budget and only the
// rest in money; each fill pays the voucher's share into escrow, so the provider is paid
// the full price; what is not delivered goes back to the budget; the cover is cut by
// every limit less what other orders hold, is released by a cancel, decided again by a
// replace, and survives a snapshot. Random fills never need money that is not held, and
// under random activity the running held totals always equal a fresh derivation.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
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

// The holds of buying power derived afresh, for
// RandomActivityKeepsTheHeldTotalsEqualToAFreshDerivation. The model keeps each live buy
// order's price, open quantity, voucher and cover left, and sums each voucher's,
// program's and cap's payments from the voucher events. It plans each buy as vouchers.hpp
// describes, so it knows which voucher an order draws on and how much cover it took
// without reading the exchange's records; every hold then follows from the order's state
// by the formulas of buying_power.cpp, never from a running total.
class HoldModel {
  public:
    struct Order {
        AccountId account = 0;
        Price price = 0;  // its limit, or a market order's protection price: what it holds at
        Quantity leaves = 0;
        std::uint64_t voucher = 0;
        Price cover = 0;  // what the voucher may still pay for the order
        std::int64_t period = 0;
        Timestamp expiry_ns = 0;  // a GTD order's; 0 for GTC
    };
    struct Plan {
        Price cash = 0;
        std::uint64_t voucher = 0;
        Price cover = 0;
        std::int64_t period = 0;
        Code limited_by = Code::None;
    };

    static Price share(Price amount_fen, std::uint32_t bps) { return amount_fen * bps / 10'000; }

    void add_program(const VoucherProgramSpec& spec) {
        programs_.push_back(spec);
        funded_.push_back(spec.budget_fen);
    }
    void fund(std::uint32_t program, Price amount_fen) { funded_[program - 1] += amount_fen; }
    void add_voucher(std::uint64_t id, std::uint32_t program, AccountId beneficiary, Price face,
                     Timestamp expiry_ns) {
        EXPECT_EQ(id, vouchers_.size() + 1);
        vouchers_.push_back({program, beneficiary, face, expiry_ns});
        of_account_[beneficiary].push_back(id);
    }
    void revoke(std::uint64_t id, Price revoked_fen) {
        vouchers_[id - 1].revoked = true;
        vouchers_[id - 1].revoked_fen = revoked_fen;
    }
    // A payment, or a return of one, as the exchange reported it.
    void on_event(const VoucherEvent& e) {
        Price amount = 0;
        if (e.kind == VoucherEventKind::RedeemedAtFill || e.kind == VoucherEventKind::Redeemed) {
            amount = e.amount_fen;
        } else if (e.kind == VoucherEventKind::Returned) {
            amount = -e.amount_fen;
        }
        voucher_paid_[e.voucher] += amount;
        program_paid_[e.program] += amount;
        cap_paid_[{e.program, e.beneficiary, e.cap_period}] += amount;
    }

    std::size_t voucher_count() const { return vouchers_.size(); }
    std::size_t vouchers_of(AccountId account) const {
        const auto it = of_account_.find(account);
        return it == of_account_.end() ? 0 : it->second.size();
    }
    std::uint32_t program_of(std::uint64_t voucher) const { return vouchers_[voucher - 1].program; }
    Timestamp expiry_of(std::uint64_t voucher) const { return vouchers_[voucher - 1].expiry_ns; }
    bool revoked(std::uint64_t voucher) const { return vouchers_[voucher - 1].revoked; }
    Price funded(std::uint32_t program) const { return funded_[program - 1]; }
    Price voucher_paid(std::uint64_t voucher) const { return value(voucher_paid_, voucher); }
    Price program_paid(std::uint32_t program) const { return value(program_paid_, program); }

    // C = min(share(R), K) and H = R - C + min(C, L - 1), of the order's state alone.
    Price hold_of(const Order& o) const {
        if (o.voucher == 0 || o.leaves <= 0) {
            return 0;
        }
        const std::uint32_t bps = programs_[program_of(o.voucher) - 1].share_bps;
        return std::min(share(o.price * o.leaves, bps), o.cover);
    }
    Price cash_of(const Order& o) const {
        const Price cover = hold_of(o);
        return o.price * o.leaves - cover + std::min<Price>(cover, o.leaves - 1);
    }
    // The sums of the holds over the live orders.
    Price held_of_voucher(std::uint64_t voucher) const {
        return sum([&](const Order& o) { return o.voucher == voucher; });
    }
    Price held_of_program(std::uint32_t program) const {
        return sum(
            [&](const Order& o) { return o.voucher != 0 && program_of(o.voucher) == program; });
    }
    Price held_of_cap(std::uint32_t program, AccountId account, std::int64_t period) const {
        return sum([&](const Order& o) {
            return o.voucher != 0 && program_of(o.voucher) == program && o.account == account &&
                   o.period == period;
        });
    }
    Price cash_held(AccountId account) const {
        Price total = 0;
        for (const auto& [id, o] : orders) {
            total += o.account == account ? cash_of(o) : 0;
        }
        return total;
    }
    // What a voucher could still give: its balance less what orders hold of it.
    Price free_of(std::uint64_t voucher) const {
        const Granted& v = vouchers_[voucher - 1];
        return v.face - voucher_paid(voucher) - v.revoked_fen - held_of_voucher(voucher);
    }
    // RevokeVoucher takes an active voucher: not revoked, not expired, not used up.
    bool active(std::uint64_t voucher, Timestamp now_ns) const {
        const Granted& v = vouchers_[voucher - 1];
        return !v.revoked && now_ns < v.expiry_ns && v.face - voucher_paid(voucher) > 0;
    }

    // The holds of a buy of `quantity` at `price` by an account with `free_fen` of free
    // money; `own` is the order a replace changes, whose holds are free for it.
    Plan plan(AccountId account, Price free_fen, Timestamp now_ns, Price price, Quantity quantity,
              const Order* own) const {
        Plan plan;
        plan.cash = price * quantity;
        const Price own_cash = own == nullptr ? 0 : cash_of(*own);
        const Price own_cover = own == nullptr ? 0 : hold_of(*own);
        const auto mine = of_account_.find(account);
        if (plan.cash <= free_fen + own_cash || mine == of_account_.end()) {
            return plan;
        }
        // Earliest expiry first, then the oldest.
        std::vector<std::uint64_t> tried = mine->second;
        std::sort(tried.begin(), tried.end(), [&](std::uint64_t a, std::uint64_t b) {
            return std::make_pair(expiry_of(a), a) < std::make_pair(expiry_of(b), b);
        });
        for (const std::uint64_t id : tried) {
            const Granted& v = vouchers_[id - 1];
            const VoucherProgramSpec& rules = programs_[v.program - 1];
            if (now_ns < rules.valid_from_ns || now_ns >= rules.valid_until_ns || v.revoked ||
                now_ns >= v.expiry_ns) {
                continue;
            }
            const std::int64_t period =
                rules.cap_period_ns == 0 ? 0 : (now_ns - rules.valid_from_ns) / rules.cap_period_ns;
            const bool same_voucher = own != nullptr && own->voucher == id;
            const bool same_program =
                own != nullptr && own->voucher != 0 && program_of(own->voucher) == v.program;
            const bool same_cap = same_program && own->period == period;
            const Price own_program = same_program ? own_cover : 0;
            Price cover = share(plan.cash, rules.share_bps);
            Code limited_by = Code::None;
            const auto limit = [&](Price most, Code why) {
                if (most < cover) {
                    cover = most;
                    limited_by = why;
                }
            };
            limit(free_of(id) + (same_voucher ? own_cover : 0), Code::VoucherUsedUp);
            if (rules.cap_per_beneficiary_fen != 0) {
                const auto paid = cap_paid_.find({v.program, account, period});
                limit(rules.cap_per_beneficiary_fen - (paid == cap_paid_.end() ? 0 : paid->second) -
                          held_of_cap(v.program, account, period) + (same_cap ? own_cover : 0),
                      Code::BeneficiaryCapReached);
            }
            const Price taken = program_paid(v.program) + held_of_program(v.program) - own_program;
            if (rules.pool_cap_fen != 0) {
                limit(rules.pool_cap_fen - taken, Code::PoolCapReached);
            }
            limit(funded(v.program) - taken, Code::BudgetExhausted);
            if (cover <= 0) {
                continue;
            }
            plan.voucher = id;
            plan.cover = cover;
            plan.period = period;
            plan.limited_by = limited_by;
            plan.cash = plan.cash - cover + std::min<Price>(cover, quantity - 1);
            return plan;
        }
        return plan;
    }

    // Before the engine applies a command, GTD orders whose time has come leave the book,
    // giving back what they held. Returns how many of them held a cover.
    int expire(Timestamp now_ns) {
        int covers = 0;
        for (const auto& [id, o] : orders) {
            covers += o.expiry_ns != 0 && o.expiry_ns <= now_ns && hold_of(o) > 0 ? 1 : 0;
        }
        std::erase_if(orders, [&](const auto& entry) {
            return entry.second.expiry_ns != 0 && entry.second.expiry_ns <= now_ns;
        });
        return covers;
    }

    // A fill of a live buy order: the voucher pays its share of the fill, cut by the cover
    // left. Returns that payment.
    Price fill(OrderId id, Price price, Quantity quantity) {
        const auto it = orders.find(id);
        Order& o = it->second;
        Price paid = 0;
        if (o.voucher != 0) {
            paid = std::min(share(price * quantity, programs_[program_of(o.voucher) - 1].share_bps),
                            o.cover);
            o.cover -= paid;
        }
        o.leaves -= quantity;
        if (o.leaves == 0) {
            orders.erase(it);
        }
        return paid;
    }

    std::map<OrderId, Order> orders;  // the live buy orders

  private:
    struct Granted {
        std::uint32_t program = 0;
        AccountId beneficiary = 0;
        Price face = 0;
        Timestamp expiry_ns = 0;
        bool revoked = false;
        Price revoked_fen = 0;
    };
    template <typename Key>
    static Price value(const std::map<Key, Price>& sums, Key key) {
        const auto it = sums.find(key);
        return it == sums.end() ? 0 : it->second;
    }
    template <typename Pick>
    Price sum(Pick pick) const {
        Price total = 0;
        for (const auto& [id, o] : orders) {
            total += pick(o) ? hold_of(o) : 0;
        }
        return total;
    }

    std::vector<VoucherProgramSpec> programs_;  // index = id - 1
    std::vector<Price> funded_;
    std::vector<Granted> vouchers_;  // index = id - 1
    std::map<AccountId, std::vector<std::uint64_t>> of_account_;
    std::map<std::uint64_t, Price> voucher_paid_;
    std::map<std::uint32_t, Price> program_paid_;
    std::map<std::tuple<std::uint32_t, AccountId, std::int64_t>, Price> cap_paid_;
};

// An exchange restored from a snapshot, with its own sinks.
struct Restored {
    RecordingSink sink;
    RecordingVoucherSink events;
    Exchange exchange{small_config(), sink};
};

TEST_F(BuyingPower, RandomActivityKeepsTheHeldTotalsEqualToAFreshDerivation) {
    // Thousands of random steps: buys that money alone does not cover (limit, GTD and
    // market orders), sells that fill them in pieces, cancels, replaces for less (which
    // keep the cover) and for anything else (which decide it again), halts, grants,
    // revocations, deposits, fundings, time that passes vouchers' and orders' expiries and
    // cap periods, and deals settled by a dispute or a settlement run. After every step
    // each voucher's, program's and buyer's held total equals what the model derives
    // afresh from the live orders, and every hundred steps a snapshot restores to the same
    // state: its load adds every hold up again from the order records and checks them
    // against the ledger. The restored exchange then runs the next hundred steps beside
    // this one, so that the totals a snapshot does not carry (what each cap holds, the
    // count of orders drawing on a voucher) must agree as well. A failure names its step;
    // the fixed seed replays it.
    constexpr int kSteps = 3'000;
    constexpr int kSettlementRunAt = 2'000;
    std::mt19937_64 engine(20261207);
    // A number in [low, high].
    const auto between = [&](std::int64_t low, std::int64_t high) {
        return low +
               static_cast<std::int64_t>(engine() % static_cast<std::uint64_t>(high - low + 1));
    };
    HoldModel model;

    // A program whose beneficiary cap binds, one whose budget does, one whose pool does.
    VoucherProgramSpec capped = hohhot();
    capped.budget_fen = 2'000'000;
    capped.cap_per_beneficiary_fen = 5'000;
    capped.cap_period_ns = kDay;
    VoucherProgramSpec poor = hohhot();
    poor.share_bps = 6'000;
    poor.budget_fen = 8'000;
    VoucherProgramSpec pooled = hohhot();
    pooled.share_bps = 8'000;
    pooled.pool_cap_fen = 60'000;
    std::vector<std::uint32_t> programs;
    for (VoucherProgramSpec spec : {capped, poor, pooled}) {
        spec.id = create(spec);
        ASSERT_NE(spec.id, 0u);
        model.add_program(spec);
        programs.push_back(spec.id);
    }
    const std::uint32_t poor_id = programs[1];
    x.register_tokens(pat, 400'000);
    std::vector<Party> buyers;
    for (int i = 0; i < 6; ++i) {
        buyers.push_back(buyer_with(between(5'000, 15'000)));
        for (int k = 0; k < 3; ++k) {
            const std::uint32_t program = programs[static_cast<std::size_t>(between(0, 2))];
            const Price face = between(2'000, 25'000);
            const Timestamp expiry =
                k == 0 ? x.now + between(1, 72) * kHour : kWindowEnd + 365 * kDay;
            model.add_voucher(grant(program, buyers.back(), face, expiry), program,
                              buyers.back().id, face, expiry);
        }
    }
    const auto party_of = [&](AccountId id) -> const Party& {
        return *std::find_if(buyers.begin(), buyers.end(),
                             [&](const Party& b) { return b.id == id; });
    };
    ASSERT_FALSE(HasFailure());

    // Every request from here on goes to the restored exchange too, with the same token,
    // time and inputs.
    std::unique_ptr<Restored> twin;
    std::size_t twin_from = 0;       // the first of `events` that the twin made as well
    std::vector<Outbound> step_out;  // what the exchange delivered in this step
    const auto send = [&](Request r) {
        Request mirrored = r;
        Payload copy;
        if (r.payload != nullptr) {
            copy = *r.payload;
            mirrored.payload = &copy;
        }
        mirrored.token = x.next_token;
        mirrored.ts_ns = x.now;
        Result result = x.send(r);
        if (twin) {
            twin->exchange.apply(mirrored);
        }
        step_out.insert(step_out.end(), result.out.begin(), result.out.end());
        return result;
    };
    const auto admin = [&](RequestType type, Payload& p, AccountId account) {
        Request r = x.admin_request(type, p);
        r.account = account;
        return send(r).code();
    };
    const auto settle = [&](RequestType type, const Party& caller, Payload& p) {
        return send(settlement_request(type, caller, p)).code();
    };
    int next_id = 0;  // client order ids and references
    const auto fresh = [&](const std::string& prefix) {
        return prefix + std::to_string(++next_id);
    };

    // What the activity exercised, so that the test cannot pass with nothing covered.
    int short_of_money = 0;  // orders accepted whose value free money did not cover
    int redeemed_at_fill = 0;
    int paid_after_expiry_or_revocation = 0;  // fills paid from a cover taken before
    int kept_on_replace = 0;
    int decided_again = 0;  // replaces that took a cover when it was decided again
    int revoked_while_held = 0;
    int market_covers = 0;           // market orders that took a cover at their reach
    int expired_covers = 0;          // GTD orders that expired holding a cover
    int engine_refused_covers = 0;   // covers taken and let go when the engine refused
    std::map<Code, int> limited_by;  // the limit that cut each cover taken
    const auto took = [&](const HoldModel::Plan& plan, Price free_fen, Price value_fen) {
        short_of_money += free_fen < value_fen ? 1 : 0;
        if (plan.voucher != 0) {
            ++limited_by[plan.limited_by];
        }
    };
    const auto expire = [&] { expired_covers += model.expire(x.now); };

    // What one step did to the orders and vouchers: the fills (each paying what the model
    // expects of the order's voucher), the orders cancelled or expired, and the payments
    // and returns.
    const auto absorb = [&](std::size_t& first_event, int step) {
        std::map<std::uint64_t, Price> paid_at;  // RedeemedAtFill by trade id
        for (std::size_t i = first_event; i < events.events.size(); ++i) {
            const VoucherEvent& e = events.events[i];
            if (e.kind == VoucherEventKind::RedeemedAtFill) {
                paid_at[e.trade_id] += e.amount_fen;
                ++redeemed_at_fill;
            }
        }
        // The fills first: an order's answer, which may say that it is cancelled (a market
        // order's rest), comes before its fills.
        for (const Outbound& o : step_out) {
            if (o.kind != OutKind::Fill || o.side != Side::Buy) {
                continue;
            }
            const auto order = model.orders.find(o.order_id);
            if (order == model.orders.end()) {
                ADD_FAILURE() << "step " << step << ": a fill of unknown order " << o.order_id;
                continue;
            }
            const std::uint64_t voucher = order->second.voucher;
            const Price paid = model.fill(o.order_id, o.price, o.quantity);
            const auto found = paid_at.find(o.trade_id);
            EXPECT_EQ(found == paid_at.end() ? 0 : found->second, paid)
                << "step " << step << ", trade " << o.trade_id << ", voucher " << voucher;
            if (found != paid_at.end()) {
                paid_at.erase(found);
            }
            if (paid > 0 && (x.now >= model.expiry_of(voucher) || model.revoked(voucher))) {
                ++paid_after_expiry_or_revocation;
            }
        }
        for (const Outbound& o : step_out) {
            if (o.kind == OutKind::Report && o.side == Side::Buy &&
                (o.status == OrderStatus::Cancelled || o.status == OrderStatus::Expired)) {
                model.orders.erase(o.order_id);
            }
        }
        EXPECT_TRUE(paid_at.empty()) << "step " << step << ": a payment at no fill of the model";
        for (std::size_t i = first_event; i < events.events.size(); ++i) {
            model.on_event(events.events[i]);
        }
        first_event = events.events.size();
        step_out.clear();
    };

    // The exchange's running totals against the model's derivation.
    const auto check = [&](int step) {
        const std::vector<Voucher> vouchers = x.exchange.vouchers();
        ASSERT_EQ(vouchers.size(), model.voucher_count()) << "step " << step;
        std::vector<Price> program_sums(programs.size(), 0);
        for (const Voucher& v : vouchers) {
            EXPECT_EQ(v.held_fen, model.held_of_voucher(v.id))
                << "step " << step << ", voucher " << v.id;
            EXPECT_GE(v.free_fen(), 0) << "step " << step << ", voucher " << v.id;
            EXPECT_EQ(v.redeemed_fen, model.voucher_paid(v.id))
                << "step " << step << ", voucher " << v.id;
            program_sums[v.program - 1] += v.held_fen;
        }
        for (const VoucherProgramView& p : x.exchange.voucher_programs()) {
            EXPECT_EQ(p.held_fen, program_sums[p.spec.id - 1])
                << "step " << step << ", program " << p.spec.id;
            EXPECT_EQ(p.held_fen, model.held_of_program(p.spec.id))
                << "step " << step << ", program " << p.spec.id;
            EXPECT_EQ(p.funded_fen, model.funded(p.spec.id))
                << "step " << step << ", program " << p.spec.id;
            EXPECT_EQ(p.redeemed_fen, model.program_paid(p.spec.id))
                << "step " << step << ", program " << p.spec.id;
            // The budget account's pending debits are the covers held.
            EXPECT_EQ(p.budget_fen, p.funded_fen - p.redeemed_fen - p.held_fen)
                << "step " << step << ", program " << p.spec.id;
        }
        for (const Party& b : buyers) {
            EXPECT_EQ(x.exchange.balance_of(b.id).reserved_fen, model.cash_held(b.id))
                << "step " << step << ", buyer " << b.id;
        }
        const std::vector<matching::OrderView> book =
            x.exchange.engine().orders(kTokens, Side::Buy);
        EXPECT_EQ(book.size(), model.orders.size()) << "step " << step;
        for (const matching::OrderView& o : book) {
            const auto order = model.orders.find(o.id);
            if (order == model.orders.end()) {
                ADD_FAILURE() << "step " << step << ": order " << o.id << " is not in the model";
                continue;
            }
            EXPECT_EQ(o.price, order->second.price) << "step " << step << ", order " << o.id;
            EXPECT_EQ(o.leaves, order->second.leaves) << "step " << step << ", order " << o.id;
        }
        EXPECT_TRUE(x.exchange.ledger().totals().balanced()) << "step " << step;
        // The twin's totals, each step; its whole state, whose hash reads every pending
        // transfer slot of the ledger, every twentieth.
        if (twin) {
            const std::vector<Voucher> theirs = twin->exchange.vouchers();
            ASSERT_EQ(theirs.size(), vouchers.size()) << "step " << step;
            for (std::size_t i = 0; i < vouchers.size(); ++i) {
                EXPECT_EQ(theirs[i].held_fen, vouchers[i].held_fen)
                    << "step " << step << ", voucher " << vouchers[i].id;
                EXPECT_EQ(theirs[i].redeemed_fen, vouchers[i].redeemed_fen)
                    << "step " << step << ", voucher " << vouchers[i].id;
            }
            for (const Party& b : buyers) {
                EXPECT_EQ(twin->exchange.balance_of(b.id).reserved_fen,
                          x.exchange.balance_of(b.id).reserved_fen)
                    << "step " << step << ", buyer " << b.id;
            }
            if (step % 20 == 0 || step > kSteps) {
                EXPECT_EQ(twin->exchange.state_hash(), x.exchange.state_hash()) << "step " << step;
            }
        }
    };

    // A snapshot restores to the same state and the same bytes; the twin that ran since
    // the last one made the same voucher events; the restored exchange becomes the twin.
    const auto round_trip = [&](int step) {
        std::string bytes;
        x.exchange.save_snapshot(bytes);
        auto restored = std::make_unique<Restored>();
        std::string error;
        ASSERT_TRUE(restored->exchange.load_snapshot(bytes, error))
            << "step " << step << ": " << error;
        EXPECT_EQ(restored->exchange.state_hash(), x.exchange.state_hash()) << "step " << step;
        std::string again;
        restored->exchange.save_snapshot(again);
        EXPECT_EQ(again, bytes) << "step " << step;
        const std::vector<Voucher> mine = x.exchange.vouchers();
        const std::vector<Voucher> theirs = restored->exchange.vouchers();
        ASSERT_EQ(theirs.size(), mine.size()) << "step " << step;
        for (std::size_t i = 0; i < mine.size(); ++i) {
            EXPECT_EQ(theirs[i].held_fen, mine[i].held_fen)
                << "step " << step << ", voucher " << mine[i].id;
        }
        if (twin) {
            const std::vector<VoucherEvent>& made = twin->events.events;
            ASSERT_EQ(made.size(), events.events.size() - twin_from) << "step " << step;
            for (std::size_t i = 0; i < made.size(); ++i) {
                const VoucherEvent& e = events.events[twin_from + i];
                EXPECT_TRUE(made[i].kind == e.kind && made[i].voucher == e.voucher &&
                            made[i].trade_id == e.trade_id && made[i].amount_fen == e.amount_fen &&
                            made[i].seq == e.seq)
                    << "step " << step << ", voucher event " << twin_from + i;
            }
        }
        restored->exchange.set_observers(nullptr, nullptr, &restored->events);
        twin = std::move(restored);
        twin_from = events.events.size();
    };

    // Providers confirm most deals, some in part, and the settlement run after their due
    // time settles those and fails the rest.
    const auto settle_all = [&](int step) {
        for (const Obligation& o : x.exchange.open_obligations()) {
            if (o.state == ObligationState::Open && x.now < o.due_ns && between(0, 3) != 0) {
                Payload p;
                p.obligation_id = o.id;
                p.delivered_quantity = between(1, o.quantity);
                ASSERT_EQ(settle(RequestType::ConfirmDelivery, pat, p), Code::None)
                    << "step " << step;
            }
        }
        x.now = std::max(x.now, kWindowEnd) + x.exchange.settlement_rules().dispute_period_ns;
        Payload p;
        ASSERT_EQ(settle(RequestType::RunSettlement, x.op, p), Code::None) << "step " << step;
        EXPECT_TRUE(x.exchange.open_obligations().empty()) << "step " << step;
    };

    const auto any_buyer = [&]() -> const Party& {
        return buyers[static_cast<std::size_t>(
            between(0, static_cast<std::int64_t>(buyers.size()) - 1))];
    };
    // A live order that the next command's expiries leave in the book, if there is one.
    const auto any_order = [&] {
        std::vector<OrderId> staying;
        for (const auto& [id, o] : model.orders) {
            if (o.expiry_ns == 0 || o.expiry_ns > x.now) {
                staying.push_back(id);
            }
        }
        return staying.empty() ? OrderId{0}
                               : staying[static_cast<std::size_t>(
                                     between(0, static_cast<std::int64_t>(staying.size()) - 1))];
    };

    // A buyer's free money once the next command's expiries have given back what the
    // expired orders held: the exchange judges the command after them.
    const auto free_money = [&](AccountId account) {
        Price free_fen = x.exchange.balance_of(account).available_fen;
        for (const auto& [id, o] : model.orders) {
            const bool expires = o.expiry_ns != 0 && o.expiry_ns <= x.now;
            free_fen += expires && o.account == account ? model.cash_of(o) : 0;
        }
        return free_fen;
    };

    // A buy of random size, or, more often, one worth a little more than the buyer's free
    // money: the gap is what a voucher's cover can make up. Some are GTD, some are market
    // orders, which hold at their protection price and never rest. While the instrument
    // is halted, the engine refuses a buy after the exchange took its holds.
    const auto place_buy = [&](int step, bool halted) {
        const Party& buyer = any_buyer();
        const Price free_fen = free_money(buyer.id);
        expire();
        // A market order holds at its protection price: the best ask and the reach above it.
        const std::int64_t kind = between(0, 9);
        const std::optional<Price> ask = x.exchange.engine().best_price(kTokens, Side::Sell);
        const bool market = kind >= 8 && ask.has_value() && !halted;
        const InstrumentSpec* spec = x.exchange.engine().spec(kTokens);
        ASSERT_NE(spec, nullptr);
        const Price price =
            market ? std::min(spec->price_max,
                              *ask + std::int64_t{spec->market_protection_ticks} * spec->tick_size)
                   : between(20, 200);
        const Quantity quantity =
            between(0, 4) < 2 ? between(1, 50) : (free_fen + between(1, 4'000) + price - 1) / price;
        Request r = TestExchange::buy(buyer, market ? 0 : price, quantity, fresh("b"));
        Timestamp expiry_ns = 0;
        if (market) {
            r = TestExchange::market(r);
        } else if (kind < 2) {
            expiry_ns = x.now + between(1, 6) * kHour;
            r = TestExchange::with_tif(r, TimeInForce::GTD, expiry_ns);
        }
        const HoldModel::Plan plan =
            model.plan(buyer.id, free_fen, x.now, price, quantity, nullptr);
        const bool fits = plan.cash <= free_fen;
        const Result result = send(r);
        if (!fits || halted) {
            ASSERT_EQ(result.code(),
                      fits ? from_engine(Reason::InstrumentHalted) : Code::InsufficientFunds)
                << "step " << step;
            engine_refused_covers += fits && plan.voucher != 0 ? 1 : 0;
            return;
        }
        ASSERT_NE(result.answer.exec, ExecType::Rejected) << "step " << step;
        market_covers += market && plan.voucher != 0 ? 1 : 0;
        model.orders[result.answer.order_id] = {buyer.id,   price,       quantity, plan.voucher,
                                                plan.cover, plan.period, expiry_ns};
        took(plan, free_fen, price * quantity);
    };

    // A replace for less (no higher a price, no more quantity) keeps the cover; any other
    // decides it again. While the instrument is halted, the engine refuses a replace that
    // the exchange accepted, and nothing changes.
    const auto replace_order = [&](int step, OrderId id, bool halted) {
        const HoldModel::Order before = model.orders[id];
        const Price free_fen = free_money(before.account);
        expire();
        Price price = before.price;
        Quantity quantity = before.leaves;
        const std::int64_t kind = between(0, 2);
        if (kind == 0) {
            price = between(std::max<Price>(1, before.price - 40), before.price);
            quantity = between(1, before.leaves);
        } else if (kind == 1) {
            price = between(before.price, before.price + 60);
            quantity = between(before.leaves, before.leaves + 30);
        } else {
            price = between(std::max<Price>(1, before.price - 40), before.price + 40);
            quantity = between(1, before.leaves + 30);
        }
        if (price == before.price && quantity == before.leaves) {
            ++quantity;
        }
        const bool keeps =
            before.voucher != 0 && price <= before.price && quantity <= before.leaves;
        const HoldModel::Plan plan =
            keeps ? HoldModel::Plan{}
                  : model.plan(before.account, free_fen, x.now, price, quantity, &before);
        const bool fits = keeps || plan.cash <= free_fen + model.cash_of(before);
        const Result result =
            send(TestExchange::replace(party_of(before.account), id, price, quantity, fresh("r")));
        if (!fits || halted) {
            ASSERT_EQ(result.code(),
                      fits ? from_engine(Reason::InstrumentHalted) : Code::InsufficientFunds)
                << "step " << step;
        } else if (keeps) {
            ASSERT_EQ(result.code(), Code::None) << "step " << step;
            model.orders[id].price = price;
            model.orders[id].leaves = quantity;
            ++kept_on_replace;
        } else {
            ASSERT_EQ(result.code(), Code::None) << "step " << step;
            // The holds are let go, and the plan is made again without them: it must be the
            // one the replace was accepted by.
            model.orders.erase(id);
            const HoldModel::Plan again = model.plan(
                before.account, free_fen + model.cash_of(before), x.now, price, quantity, nullptr);
            EXPECT_EQ(again.voucher, plan.voucher) << "step " << step;
            EXPECT_EQ(again.cover, plan.cover) << "step " << step;
            EXPECT_EQ(again.cash, plan.cash) << "step " << step;
            model.orders[id] = {before.account, price,        quantity,        again.voucher,
                                again.cover,    again.period, before.expiry_ns};
            took(again, free_fen + model.cash_of(before), price * quantity);
            decided_again += again.voucher != 0 ? 1 : 0;
        }
    };

    const auto set_state = [&](StateAction action) {
        Payload p;
        Request r = x.admin_request(RequestType::SetTradingState, p);
        r.instrument = kTokens;
        r.action = action;
        return send(r).code();
    };

    for (int step = 1; step <= kSteps; ++step) {
        std::size_t first_event = events.events.size();
        // Many resting orders make cancels likelier, so that the book stays small.
        const std::int64_t pick =
            model.orders.size() > 60 && between(0, 1) == 0 ? 55 : between(0, 99);
        if (step == kSettlementRunAt) {
            settle_all(step);
        } else if (pick < 30) {
            place_buy(step, false);
        } else if (pick < 50) {
            // A sell that fills resting buys at their prices, and rests or is cancelled.
            Request sell = TestExchange::sell(pat, between(15, 220), between(1, 60), fresh("s"));
            if (between(0, 1) == 0) {
                sell = TestExchange::with_tif(sell, TimeInForce::IOC);
            }
            expire();
            ASSERT_NE(send(sell).answer.exec, ExecType::Rejected) << "step " << step;
        } else if (pick < 59) {
            if (const OrderId id = any_order(); id != 0) {
                const Party& owner = party_of(model.orders[id].account);
                expire();
                ASSERT_EQ(send(TestExchange::cancel(owner, id, fresh("c"))).answer.exec,
                          ExecType::Cancelled)
                    << "step " << step;
            }
        } else if (pick < 73) {
            if (const OrderId id = any_order(); id != 0) {
                replace_order(step, id, false);
            }
        } else if (pick < 76) {
            // Any voucher, or, half the time, one that a live order draws on.
            std::uint64_t id = static_cast<std::uint64_t>(
                between(1, static_cast<std::int64_t>(model.voucher_count())));
            if (const OrderId order = any_order(); order != 0 && between(0, 1) == 0) {
                id = model.orders[order].voucher != 0 ? model.orders[order].voucher : id;
            }
            const bool active = model.active(id, x.now);
            const Price taken = model.free_of(id);
            Payload p;
            p.voucher_id = id;
            ASSERT_EQ(admin(RequestType::RevokeVoucher, p, 0),
                      active ? Code::None : Code::VoucherNotActive)
                << "step " << step << ", voucher " << id;
            if (active) {
                // Only the free balance is taken back; what orders hold stays theirs.
                ASSERT_FALSE(events.events.empty());
                EXPECT_EQ(events.events.back().amount_fen, taken) << "step " << step;
                revoked_while_held += model.held_of_voucher(id) > 0 ? 1 : 0;
                model.revoke(id, taken);
            }
        } else if (pick < 77) {
            // A halt, or one that cancels every resting order; a buy meanwhile is refused
            // by the engine after the exchange took its holds; then trading resumes.
            expire();
            ASSERT_EQ(
                set_state(between(0, 2) == 0 ? StateAction::HaltAndCancel : StateAction::Halt),
                Code::None)
                << "step " << step;
            absorb(first_event, step);  // what the halt cancelled is free for the buy
            place_buy(step, true);
            if (const OrderId id = any_order(); id != 0) {
                replace_order(step, id, true);
            }
            ASSERT_EQ(set_state(StateAction::Resume), Code::None) << "step " << step;
        } else if (pick < 82) {
            x.advance(between(1, 180) * 60 * kSecond);
        } else if (pick < 90) {
            const Party& buyer = any_buyer();
            if (model.vouchers_of(buyer.id) < kVouchersPerAccountMax) {
                Payload p;
                p.program_id = programs[static_cast<std::size_t>(between(0, 2))];
                p.voucher_face_fen = between(2'000, 25'000);
                p.voucher_expiry_ns =
                    between(0, 1) == 0 ? x.now + between(1, 72) * kHour : kWindowEnd + 365 * kDay;
                p.voucher_ref = fresh("random-grant-");
                ASSERT_EQ(admin(RequestType::GrantVoucher, p, buyer.id), Code::None)
                    << "step " << step;
                ASSERT_EQ(p.vouchers.size(), 1u);
                model.add_voucher(p.vouchers[0].voucher.id, p.program_id, buyer.id,
                                  p.voucher_face_fen, p.voucher_expiry_ns);
            }
        } else if (pick < 96) {
            // Money for a buyer that is short of it, so that buyers neither hoard nor run dry.
            const Party& buyer = any_buyer();
            if (x.exchange.balance_of(buyer.id).available_fen < 20'000) {
                Payload p;
                p.amount_fen = between(3'000, 15'000);
                p.deposit_id = fresh("random-deposit-");
                ASSERT_EQ(admin(RequestType::CreditDeposit, p, buyer.id), Code::None)
                    << "step " << step;
            }
        } else if (pick < 97) {
            Payload p;
            p.program_id = poor_id;
            p.amount_fen = between(500, 3'000);
            p.voucher_ref = fresh("random-fund-");
            ASSERT_EQ(admin(RequestType::FundVoucherProgram, p, 0), Code::None) << "step " << step;
            model.fund(poor_id, p.amount_fen);
        } else {
            // A deal settled at once: delivered in part or not at all, disputed, and the
            // dispute resolved either way.
            const std::vector<Obligation> open = x.exchange.open_obligations();
            if (!open.empty()) {
                const Obligation& o = open[static_cast<std::size_t>(
                    between(0, static_cast<std::int64_t>(open.size()) - 1))];
                if (o.state == ObligationState::Open && x.now < o.due_ns) {
                    const Quantity delivered = between(0, o.quantity);
                    if (delivered > 0) {
                        Payload c;
                        c.obligation_id = o.id;
                        c.delivered_quantity = delivered;
                        ASSERT_EQ(settle(RequestType::ConfirmDelivery, pat, c), Code::None)
                            << "step " << step;
                    }
                    Payload d;
                    d.obligation_id = o.id;
                    d.note = "short";
                    ASSERT_EQ(settle(RequestType::DisputeDelivery, party_of(o.buyer), d),
                              Code::None)
                        << "step " << step;
                    Payload r;
                    r.obligation_id = o.id;
                    r.uphold = between(0, 1) == 0;
                    r.note = "ruling";
                    ASSERT_EQ(settle(RequestType::ResolveDispute, x.op, r), Code::None)
                        << "step " << step;
                }
            }
        }
        absorb(first_event, step);
        check(step);
        if (step % 100 == 0) {
            round_trip(step);
        }
        ASSERT_FALSE(HasFailure()) << "the first failure is at step " << step;
    }

    // Every buyer cancels everything it still has live: nothing is held any more.
    expire();
    for (const Party& buyer : buyers) {
        std::size_t first_event = events.events.size();
        ASSERT_EQ(send(TestExchange::mass_cancel(buyer, fresh("m"))).code(), Code::None);
        absorb(first_event, kSteps + 1);
    }
    EXPECT_TRUE(model.orders.empty());
    check(kSteps + 1);
    for (const Voucher& v : x.exchange.vouchers()) {
        EXPECT_EQ(v.held_fen, 0) << "after the last step, voucher " << v.id;
    }
    for (const VoucherProgramView& p : x.exchange.voucher_programs()) {
        EXPECT_EQ(p.held_fen, 0) << "after the last step, program " << p.spec.id;
    }
    EXPECT_EQ(x.exchange.ledger().pending_count(), 0u);
    expect_balanced();
    std::size_t first_event = events.events.size();
    settle_all(kSteps + 1);
    absorb(first_event, kSteps + 1);
    check(kSteps + 1);
    round_trip(kSteps + 1);

    // The activity took covers and paid from them, on every path, and each limit cut one.
    EXPECT_GT(short_of_money, 100);
    EXPECT_GT(redeemed_at_fill, 100);
    EXPECT_GT(paid_after_expiry_or_revocation, 0);
    EXPECT_GT(kept_on_replace, 0);
    EXPECT_GT(decided_again, 0);
    EXPECT_GT(revoked_while_held, 0);
    EXPECT_GT(market_covers, 0);
    EXPECT_GT(expired_covers, 0);
    EXPECT_GT(engine_refused_covers, 0);
    for (const Code limit : {Code::VoucherUsedUp, Code::BeneficiaryCapReached, Code::PoolCapReached,
                             Code::BudgetExhausted}) {
        EXPECT_GT(limited_by[limit], 0) << code_name(limit);
    }
    EXPECT_FALSE(events.of(VoucherEventKind::Returned).empty());
    RecordProperty("orders_short_of_money", short_of_money);
    RecordProperty("redeemed_at_fill", redeemed_at_fill);
}

}  // namespace
}  // namespace cpx::exchange::test
