// Pre-trade risk: what a buy holds of its account's money, what a sell holds of its
// provider's registered capacity, the per-account limits and the rate limit.

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeRisk : public ExchangeTest {
  protected:
    ExchangeRisk() {
        pat = x.provider("pat");
        x.register_tokens(pat, 1'000);
    }
    Party pat;
};

TEST_F(ExchangeRisk, BuyNeedingMoreThanAvailableIsInsufficientFunds) {
    const Party alice = x.buyer("alice", 10'000);
    const Result over = x.send(TestExchange::buy(alice, 101, 100, "b1"));
    EXPECT_EQ(over.answer.exec, ExecType::Rejected);
    EXPECT_EQ(over.code(), Code::InsufficientFunds);
    EXPECT_EQ(x.available(alice), 10'000);

    const Result exact = x.send(TestExchange::buy(alice, 100, 100, "b2"));
    EXPECT_EQ(exact.code(), Code::None);
    EXPECT_EQ(exact.answer.status, OrderStatus::New);
    EXPECT_EQ(x.available(alice), 0);

    EXPECT_EQ(x.send(TestExchange::buy(alice, 1, 1, "b3")).code(), Code::InsufficientFunds);
    EXPECT_EQ(x.open_orders(alice).size(), 1u);
}

// A side the exchange does not define (the gateway never sends one; a damaged request
// could) is refused like no side at all, holding neither money nor capacity.
TEST_F(ExchangeRisk, AnUndefinedSideIsRefusedAndHoldsNothing) {
    const Party alice = x.buyer("alice", 10'000);
    const Party* parties[] = {&alice, &pat};
    for (const Party* who : parties) {
        for (const int side : {0, 3, 0xFF}) {
            Request r = TestExchange::buy(*who, 100, 10, "side-" + std::to_string(side));
            r.side = static_cast<Side>(side);
            const Result refused = x.send(r);
            EXPECT_EQ(refused.answer.exec, ExecType::Rejected) << side;
        }
    }
    EXPECT_EQ(x.available(alice), 10'000);
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_TRUE(x.open_orders(alice).empty());
    EXPECT_TRUE(x.open_orders(pat).empty());
    // The provider's registered capacity is all still on offer.
    EXPECT_EQ(x.send(TestExchange::sell(pat, 100, 1'000, "all")).code(), Code::None);
}

TEST_F(ExchangeRisk, RestingBuyReservesPriceTimesQuantity) {
    const Party alice = x.buyer("alice", 1'000'000);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 250, 40, "b1")).code(), Code::None);
    const BalanceView b = x.balances(alice);
    EXPECT_EQ(b.balance_fen, 1'000'000);
    EXPECT_EQ(b.reserved_fen, 250 * 40);
    EXPECT_EQ(b.available_fen, 1'000'000 - 250 * 40);
    EXPECT_EQ(b.unsettled_fen, 0);
}

TEST_F(ExchangeRisk, FillAtBetterPriceReleasesDifferenceAndChargesTradeValue) {
    const Party alice = x.buyer("alice", 1'000'000);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 200, 10, "s1")).code(), Code::None);

    // Buys 15 at up to 250: 10 fill at 200, 5 rest at 250.
    const Result r = x.send(TestExchange::buy(alice, 250, 15, "b1"));
    ASSERT_EQ(r.code(), Code::None);
    EXPECT_EQ(r.answer.status, OrderStatus::PartiallyFilled);
    ASSERT_EQ(r.fills.size(), 1u);
    EXPECT_EQ(r.fills[0].price, 200);
    EXPECT_EQ(r.fills[0].quantity, 10);
    BalanceView b = x.balances(alice);
    EXPECT_EQ(b.balance_fen, 1'000'000 - 2'000);
    EXPECT_EQ(b.reserved_fen, 5 * 250);
    EXPECT_EQ(b.unsettled_fen, 2'000);

    // The resting 5 fill at their own price when a sell arrives below it.
    ASSERT_EQ(x.send(TestExchange::sell(pat, 240, 5, "s2")).code(), Code::None);
    b = x.balances(alice);
    EXPECT_EQ(b.balance_fen, 1'000'000 - 2'000 - 1'250);
    EXPECT_EQ(b.reserved_fen, 0);
    EXPECT_EQ(b.available_fen, b.balance_fen);
    EXPECT_EQ(b.unsettled_fen, 3'250);
    // The provider is owed the same, and sold what the buyer bought.
    const BalanceView p = x.balances(pat);
    EXPECT_EQ(p.unsettled_fen, 3'250);
    ASSERT_EQ(p.capacity.size(), 1u);
    EXPECT_EQ(p.capacity[0].sold, 15);
    EXPECT_EQ(p.capacity[0].offered, 0);
}

TEST_F(ExchangeRisk, CancelReleasesReservation) {
    const Party alice = x.buyer("alice", 1'000'000);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 4, "s1")).code(), Code::None);
    const Result placed = x.send(TestExchange::buy(alice, 100, 10, "b1"));
    ASSERT_EQ(placed.code(), Code::None);
    EXPECT_EQ(x.balances(alice).reserved_fen, 600);

    const Result cancelled = x.send(TestExchange::cancel(alice, placed.answer.order_id, "c1"));
    EXPECT_EQ(cancelled.answer.exec, ExecType::Cancelled);
    EXPECT_EQ(cancelled.answer.status, OrderStatus::Cancelled);
    EXPECT_EQ(cancelled.code(), from_engine(Reason::CancelledByUser));
    const BalanceView b = x.balances(alice);
    EXPECT_EQ(b.reserved_fen, 0);
    EXPECT_EQ(b.balance_fen, 1'000'000 - 400);
    EXPECT_EQ(b.available_fen, 1'000'000 - 400);
}

TEST_F(ExchangeRisk, ReplaceUpNeedsFundsAndReplaceDownReleases) {
    const Party alice = x.buyer("alice", 10'000);
    const Result placed = x.send(TestExchange::buy(alice, 100, 50, "b1"));
    ASSERT_EQ(placed.code(), Code::None);
    const OrderId id = placed.answer.order_id;
    EXPECT_EQ(x.available(alice), 5'000);

    // Up by exactly what is available.
    const Result up = x.send(TestExchange::replace(alice, id, 100, 100, "r1"));
    EXPECT_EQ(up.code(), Code::None);
    EXPECT_EQ(up.answer.exec, ExecType::Replaced);
    EXPECT_EQ(up.answer.leaves, 100);
    EXPECT_EQ(x.balances(alice).reserved_fen, 10'000);

    // One fen more, by quantity or by price, is refused and changes nothing.
    EXPECT_EQ(x.send(TestExchange::replace(alice, id, 100, 101, "r2")).code(),
              Code::InsufficientFunds);
    EXPECT_EQ(x.send(TestExchange::replace(alice, id, 101, 100, "r3")).code(),
              Code::InsufficientFunds);
    ASSERT_EQ(x.open_orders(alice).size(), 1u);
    EXPECT_EQ(x.open_orders(alice)[0].leaves, 100);
    EXPECT_EQ(x.open_orders(alice)[0].price, 100);
    EXPECT_EQ(x.balances(alice).reserved_fen, 10'000);

    // Down in price and quantity gives the difference back.
    const Result down = x.send(TestExchange::replace(alice, id, 80, 50, "r4"));
    EXPECT_EQ(down.code(), Code::None);
    EXPECT_EQ(x.balances(alice).reserved_fen, 4'000);
    EXPECT_EQ(x.available(alice), 6'000);
    // A decrease of quantity at the same price too.
    ASSERT_EQ(x.send(TestExchange::replace(alice, id, 80, 10, "r5")).code(), Code::None);
    EXPECT_EQ(x.balances(alice).reserved_fen, 800);
}

TEST_F(ExchangeRisk, ReplaceThatCrossesPaysTheTradePriceAndHoldsTheNewPrice) {
    const Party alice = x.buyer("alice", 100'000);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 150, 5, "s1")).code(), Code::None);
    const Result placed = x.send(TestExchange::buy(alice, 100, 20, "b1"));
    ASSERT_EQ(placed.code(), Code::None);
    const Result r = x.send(TestExchange::replace(alice, placed.answer.order_id, 160, 20, "r1"));
    ASSERT_EQ(r.code(), Code::None);
    ASSERT_EQ(r.fills.size(), 1u);
    EXPECT_EQ(r.fills[0].price, 150);
    const BalanceView b = x.balances(alice);
    EXPECT_EQ(b.balance_fen, 100'000 - 750);
    EXPECT_EQ(b.reserved_fen, 15 * 160);
}

TEST_F(ExchangeRisk, MarketBuyIsCheckedAtItsProtectionPrice) {
    // The best ask is 500 and the protection reaches 100 ticks past it: a market buy of
    // 10 may pay up to 600 each, so it needs 6000 available though it will pay 5000.
    ASSERT_EQ(x.send(TestExchange::sell(pat, 500, 10, "s1")).code(), Code::None);
    const Party alice = x.buyer("alice", 5'999);
    const Result refused = x.send(TestExchange::market(TestExchange::buy(alice, 0, 10, "m1")));
    EXPECT_EQ(refused.code(), Code::InsufficientFunds);

    ASSERT_EQ(x.deposit(alice.id, 1), Code::None);
    const Result filled = x.send(TestExchange::market(TestExchange::buy(alice, 0, 10, "m2")));
    EXPECT_EQ(filled.code(), Code::None);
    EXPECT_EQ(filled.answer.status, OrderStatus::Filled);
    ASSERT_EQ(filled.fills.size(), 1u);
    EXPECT_EQ(filled.fills[0].price, 500);
    const BalanceView b = x.balances(alice);
    EXPECT_EQ(b.balance_fen, 1'000);
    EXPECT_EQ(b.reserved_fen, 0);
}

TEST_F(ExchangeRisk, MarketBuyWithItsOwnLimitIsCheckedAtThatLimit) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 500, 10, "s1")).code(), Code::None);
    const Party alice = x.buyer("alice", 5'200);
    // 520 is below the protection price of 600: the order can pay at most 520 each.
    Request m = TestExchange::market(TestExchange::buy(alice, 520, 10, "m1"));
    const Result filled = x.send(m);
    EXPECT_EQ(filled.code(), Code::None);
    EXPECT_EQ(filled.answer.status, OrderStatus::Filled);
    EXPECT_EQ(x.balances(alice).balance_fen, 200);
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
}

TEST_F(ExchangeRisk, MarketBuyProtectionIsCappedByTheInstrumentsMaximumPrice) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 99'950, 1, "s1")).code(), Code::None);
    // The reach would be 100'050 but no price exceeds 100'000.
    const Party alice = x.buyer("alice", 100'000);
    const Result r = x.send(TestExchange::market(TestExchange::buy(alice, 0, 1, "m1")));
    EXPECT_EQ(r.code(), Code::None);
    EXPECT_EQ(r.answer.status, OrderStatus::Filled);
    EXPECT_EQ(x.balances(alice).balance_fen, 50);
}

TEST_F(ExchangeRisk, MarketBuyWithoutAnAskHoldsNothingAndIsCancelled) {
    const Party alice = x.buyer("alice", 1'000);
    const Result r = x.send(TestExchange::market(TestExchange::buy(alice, 0, 10, "m1")));
    EXPECT_EQ(r.answer.status, OrderStatus::Cancelled);
    EXPECT_EQ(r.code(), from_engine(Reason::CancelledNoLiquidity));
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_EQ(x.exchange.live_orders(), 0u);
}

TEST_F(ExchangeRisk, AccountQuantityLimitAppliesToNewOrdersAndReplaces) {
    AccountSpec limits;
    limits.order_quantity_max = 10;
    const Party alice = x.buyer("alice", 1'000'000, limits);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 11, "b1")).code(),
              Code::QuantityAboveAccountLimit);
    const Result ok = x.send(TestExchange::buy(alice, 100, 10, "b2"));
    ASSERT_EQ(ok.code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::replace(alice, ok.answer.order_id, 100, 11, "r1")).code(),
              Code::QuantityAboveAccountLimit);

    const Party paul = x.provider("paul", limits);
    x.register_tokens(paul, 100);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 200, 11, "s1")).code(),
              Code::QuantityAboveAccountLimit);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 200, 10, "s2")).code(), Code::None);
    // The default limit of the exchange applies to accounts that set none.
    const Party bob = x.buyer("bob", 1'000'000);
    EXPECT_EQ(x.send(TestExchange::buy(bob, 1, 1'000'000, "b1")).code(), Code::None);
}

TEST_F(ExchangeRisk, AccountNotionalLimitAppliesToNewOrdersReplacesAndMarketBuys) {
    AccountSpec limits;
    limits.order_notional_max_fen = 10'000;
    const Party alice = x.buyer("alice", 1'000'000, limits);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 101, 100, "b1")).code(),
              Code::NotionalAboveAccountLimit);
    const Result ok = x.send(TestExchange::buy(alice, 100, 100, "b2"));
    ASSERT_EQ(ok.code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::replace(alice, ok.answer.order_id, 101, 100, "r1")).code(),
              Code::NotionalAboveAccountLimit);
    // A market buy counts at its protection price: 10 at up to 600 is 6000 (allowed),
    // 20 at up to 600 is 12000 (not), though both would trade at 500.
    ASSERT_EQ(x.send(TestExchange::sell(pat, 500, 30, "s1")).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::market(TestExchange::buy(alice, 0, 20, "m1"))).code(),
              Code::NotionalAboveAccountLimit);
    EXPECT_EQ(x.send(TestExchange::market(TestExchange::buy(alice, 0, 10, "m2"))).code(),
              Code::None);
}

TEST_F(ExchangeRisk, SellsBeyondRegisteredCapacityAreInsufficientCapacity) {
    const Party alice = x.buyer("alice", 1'000'000);
    const Party paul = x.provider("paul");
    ASSERT_EQ(x.register_tokens(paul, 100), 100);

    const Result first = x.send(TestExchange::sell(paul, 100, 60, "s1"));
    ASSERT_EQ(first.code(), Code::None);
    // Resting sells count as offered.
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 41, "s2")).code(), Code::InsufficientCapacity);
    ASSERT_EQ(x.send(TestExchange::sell(paul, 110, 40, "s3")).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 110, 1, "s4")).code(), Code::InsufficientCapacity);

    // What is sold counts too, after the order that sold it is gone.
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 60, "b1")).code(), Code::None);
    ASSERT_EQ(x.balances(paul).capacity.size(), 1u);
    CapacityView c = x.balances(paul).capacity[0];
    EXPECT_EQ(c.registered, 100);
    EXPECT_EQ(c.offered, 40);
    EXPECT_EQ(c.sold, 60);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 110, 1, "s5")).code(), Code::InsufficientCapacity);

    // A cancel gives the open quantity back.
    const Result cancel = x.send(TestExchange::cancel_by_client_id(paul, "s3", "c1"));
    ASSERT_EQ(cancel.code(), from_engine(Reason::CancelledByUser));
    c = x.balances(paul).capacity[0];
    EXPECT_EQ(c.offered, 0);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 110, 41, "s6")).code(), Code::InsufficientCapacity);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 110, 40, "s7")).code(), Code::None);
}

TEST_F(ExchangeRisk, SellReplaceUpNeedsCapacity) {
    const Party paul = x.provider("paul");
    ASSERT_EQ(x.register_tokens(paul, 100), 100);
    const Result placed = x.send(TestExchange::sell(paul, 100, 60, "s1"));
    ASSERT_EQ(placed.code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::replace(paul, placed.answer.order_id, 100, 101, "r1")).code(),
              Code::InsufficientCapacity);
    EXPECT_EQ(x.send(TestExchange::replace(paul, placed.answer.order_id, 90, 100, "r2")).code(),
              Code::None);
    EXPECT_EQ(x.balances(paul).capacity[0].offered, 100);
    EXPECT_EQ(x.send(TestExchange::replace(paul, placed.answer.order_id, 90, 30, "r3")).code(),
              Code::None);
    EXPECT_EQ(x.balances(paul).capacity[0].offered, 30);
}

TEST_F(ExchangeRisk, CapacityCountsOnlyForItsOwnKindHubAndWindow) {
    const Party paul = x.provider("paul");
    // Token bundles do not make compute capacity, nor does compute for another window.
    ASSERT_EQ(x.register_tokens(paul, 1'000), 1'000);
    Code code = Code::None;
    x.register_compute(paul, "H100-SXM", 8, kWindowStart + kHour, kWindowEnd + kHour, &code);
    ASSERT_EQ(code, Code::None);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 1, "s1", kCompute)).code(),
              Code::InsufficientCapacity);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 1, "s2", kTokens)).code(), Code::None);
}

TEST_F(ExchangeRisk, ComputeCapacityIsDevicesTimesPerDeviceTimesWindowHours) {
    const Party paul = x.provider("paul");
    // 8 x H100-SXM (989 milli-P each) for a 10 h window: floor(8 * 989 * 10 / 1000) = 79 P·h.
    Code code = Code::None;
    const Payload reg = x.register_compute(paul, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    ASSERT_EQ(code, Code::None);
    EXPECT_EQ(reg.registered_units, 79);
    EXPECT_EQ(reg.total_units, 79);
    EXPECT_EQ(reg.table_version, 1u);

    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 80, "s1", kCompute)).code(),
              Code::InsufficientCapacity);
    ASSERT_EQ(x.send(TestExchange::sell(paul, 100, 79, "s2", kCompute)).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 1, "s3", kCompute)).code(),
              Code::InsufficientCapacity);

    // More devices for the same window add up: 2 x A100 (312) for 10 h = 6 P·h.
    const Payload more = x.register_compute(paul, "A100", 2, kWindowStart, kWindowEnd, &code);
    ASSERT_EQ(code, Code::None);
    EXPECT_EQ(more.registered_units, 6);
    EXPECT_EQ(more.total_units, 85);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 6, "s4", kCompute)).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 1, "s5", kCompute)).code(),
              Code::InsufficientCapacity);
}

TEST_F(ExchangeRisk, RateLimitRefusesTheSixthCommandInOneInstantAndRefillsWithTime) {
    AccountSpec limits;
    limits.orders_per_second_max = 5;
    const Party alice = x.buyer("alice", 1'000'000, limits);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(x.send(TestExchange::buy(alice, 10, 1, "a" + std::to_string(i))).code(),
                  Code::None)
            << i;
    }
    const Result limited = x.send(TestExchange::buy(alice, 10, 1, "a5"));
    EXPECT_EQ(limited.answer.exec, ExecType::Rejected);
    EXPECT_EQ(limited.code(), Code::RateLimited);
    // Cancels count as commands too.
    EXPECT_EQ(x.send(TestExchange::cancel_by_client_id(alice, "a0", "c0")).code(),
              Code::RateLimited);

    // A fifth of a second buys one command back.
    x.advance(200 * kMs);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 10, 1, "b0")).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 10, 1, "b1")).code(), Code::RateLimited);

    // A whole second of sequenced time refills the bucket, but not beyond its size.
    x.advance(kSecond);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(x.send(TestExchange::buy(alice, 10, 1, "c" + std::to_string(i))).code(),
                  Code::None)
            << i;
    }
    EXPECT_EQ(x.send(TestExchange::buy(alice, 10, 1, "c5")).code(), Code::RateLimited);
    // Other accounts have their own bucket.
    const Party bob = x.buyer("bob", 1'000);
    EXPECT_EQ(x.send(TestExchange::buy(bob, 10, 1, "a5")).code(), Code::None);
}

TEST_F(ExchangeRisk, RateLimitedClientIdCanBeRetriedWithTheSameId) {
    AccountSpec limits;
    limits.orders_per_second_max = 1;
    const Party alice = x.buyer("alice", 1'000'000, limits);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 10, 1, "first")).code(), Code::None);
    const Result limited = x.send(TestExchange::buy(alice, 10, 1, "retry-me"));
    ASSERT_EQ(limited.code(), Code::RateLimited);
    x.advance(kSecond);
    const Result retried = x.send(TestExchange::buy(alice, 10, 1, "retry-me"));
    EXPECT_EQ(retried.code(), Code::None);
    EXPECT_FALSE(retried.answer.duplicate);
    EXPECT_EQ(retried.answer.status, OrderStatus::New);
    EXPECT_NE(retried.answer.order_id, 0u);
    EXPECT_EQ(x.open_orders(alice).size(), 2u);
}

TEST_F(ExchangeRisk, OrdersTheEngineRefusesHoldNothing) {
    const Party alice = x.buyer("alice", 10'000);
    const Party paul = x.provider("paul");
    x.register_tokens(paul, 10);
    // Price outside the instrument's range, quantity zero, an expiry in the past, an
    // unknown instrument, a halted instrument.
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100'001, 1, "b1")).code(),
              from_engine(Reason::PriceOutOfRange));
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 0, "b2")).code(),
              from_engine(Reason::InvalidQuantity));
    EXPECT_EQ(x.send(TestExchange::with_tif(TestExchange::buy(alice, 100, 1, "b3"),
                                            TimeInForce::GTD, x.now - 1))
                  .code(),
              from_engine(Reason::ExpiryInPast));
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 1, "b4", 99)).code(),
              from_engine(Reason::UnknownInstrument));
    ASSERT_EQ(x.set_state(kTokens, StateAction::Halt), Code::None);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 100, "b5")).code(),
              from_engine(Reason::InstrumentHalted));
    EXPECT_EQ(x.send(TestExchange::sell(paul, 100, 10, "s1")).code(),
              from_engine(Reason::InstrumentHalted));
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_EQ(x.balances(alice).available_fen, 10'000);
    EXPECT_EQ(x.balances(paul).capacity[0].offered, 0);
    EXPECT_EQ(x.exchange.live_orders(), 0u);
}

TEST_F(ExchangeRisk, AnOrderPastItsExpiryHoldsNothingForTheNextCommand) {
    const Party alice = x.buyer("alice", 1'000);
    const Result gtd = x.send(TestExchange::with_tif(TestExchange::buy(alice, 100, 10, "g1"),
                                                     TimeInForce::GTD, x.now + kMs));
    ASSERT_EQ(gtd.code(), Code::None);
    EXPECT_EQ(x.available(alice), 0);
    x.advance(2 * kMs);
    // No Tick came in between: the order expired all the same, and its money is free.
    const Result next = x.send(TestExchange::buy(alice, 100, 10, "b2"));
    EXPECT_EQ(next.code(), Code::None);
    const std::vector<Outbound> expired = next.unsolicited(OutKind::Report);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].order_id, gtd.answer.order_id);
    EXPECT_EQ(expired[0].exec, ExecType::Expired);
    EXPECT_EQ(expired[0].status, OrderStatus::Expired);
    EXPECT_EQ(x.balances(alice).reserved_fen, 1'000);
    expect_gapless_seq(x, alice.id);
}

}  // namespace
}  // namespace cpx::exchange::test

namespace cpx::exchange::test {
namespace {

TEST(ExchangeOrderTable, AFullOrderTableRefusesRestingOrdersButNotImmediateOnes) {
    ExchangeConfig config = small_config();
    config.order_capacity = 2;
    TestExchange x(config);
    x.add_default_instruments();
    const Party alice = x.buyer("alice", 1'000'000);
    const Party pat = x.provider("pat");
    x.register_tokens(pat, 100);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 1, "b1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 101, 1, "b2")).code(), Code::None);
    const Result full = x.send(TestExchange::buy(alice, 102, 1, "b3"));
    EXPECT_EQ(full.code(), from_engine(Reason::OrderCapacityExhausted));
    EXPECT_EQ(x.balances(alice).reserved_fen, 201);
    // An order that does not rest still trades: the sell takes the best bid.
    const Result ioc =
        x.send(TestExchange::with_tif(TestExchange::sell(pat, 100, 1, "s1"), TimeInForce::IOC));
    EXPECT_EQ(ioc.code(), Code::None);
    EXPECT_EQ(ioc.answer.status, OrderStatus::Filled);
    EXPECT_EQ(x.exchange.live_orders(), 1u);
    // The slot it freed takes a resting order again.
    EXPECT_EQ(x.send(TestExchange::buy(alice, 102, 1, "b4")).code(), Code::None);
}

}  // namespace
}  // namespace cpx::exchange::test
