// Time in force: GTC rests until cancelled; GTD expires at the first command whose
// time is at or after its expiry, before that command is applied; IOC cancels what it
// could not trade at once; FOK trades its whole quantity at once or nothing.

#include <algorithm>
#include <utility>

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

using TimeInForceTest = EngineTest;

TEST_F(TimeInForceTest, GoodTillCancelRestsWhateverTimePasses) {
    given({sell(1, 100, 10).account(7).at(0)});
    EXPECT_TRUE(run(tick(1'000'000'000'000'000)).empty());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100"}));
    ASSERT_TRUE(engine_.find_order(1).has_value());
    EXPECT_EQ(engine_.find_order(1)->expiry_ns, 0);
}

TEST_F(TimeInForceTest, GoodTillDateExpiresAtTheFirstCommandAtOrAfterItsExpiry) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0)});
    ASSERT_EQ(engine_.find_order(1)->expiry_ns, 1'000);
    EXPECT_TRUE(run(tick(999)).empty());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100"}));

    const std::vector<Event> events = send(tick(1'000));
    EXPECT_EQ(describe(events), (Strings{"Cancelled #1 a7 Sell 10@100 CANCELLED_EXPIRED",
                                         "Level Sell 100 total 0 count 0"}));
    for (const Event& e : events) {
        EXPECT_EQ(e.ts_ns, 1'000);
    }
    EXPECT_TRUE(orders(Side::Sell).empty());
    EXPECT_FALSE(engine_.find_order(1).has_value());
}

TEST_F(TimeInForceTest, GoodTillDateOrderStillTradesOneNanosecondBeforeItsExpiry) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0)});
    EXPECT_EQ(run(buy(2, 100, 10).account(8).at(999)),
              (Strings{"Accepted #2 a8 Buy 10@100",
                       "Trade buy #2 a8 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));
}

TEST_F(TimeInForceTest, ExpiryHappensBeforeTheCommandThatReachesIt) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0)});
    EXPECT_EQ(run(buy(2, 100, 10).account(8).at(1'000)),
              (Strings{"Cancelled #1 a7 Sell 10@100 CANCELLED_EXPIRED",
                       "Level Sell 100 total 0 count 0", "Accepted #2 a8 Buy 10@100",
                       "Booked #2 a8 Buy 10@100", "Level Buy 100 total 10 count 1"}));
}

TEST_F(TimeInForceTest, ARejectedCommandAlsoAdvancesTimeAndExpiresOrders) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0)});
    EXPECT_EQ(
        run(timed(cancel(99, 7), 2'000)),
        (Strings{"Cancelled #1 a7 Sell 10@100 CANCELLED_EXPIRED", "Level Sell 100 total 0 count 0",
                 "Rejected #99 a7 None 0@0 UNKNOWN_ORDER by Cancel"}));
}

TEST_F(TimeInForceTest, ACommandForAnotherInstrumentExpiresOrdersOfEveryInstrument) {
    ASSERT_EQ(engine_.add_instrument(test_spec(2)), Reason::None);
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0),
           sell(2, 200, 5).account(7).gtd(1'000).instrument(2).at(0)});
    EXPECT_EQ(
        run(buy(3, 90, 1).account(8).instrument(2).at(1'500)),
        (Strings{"Cancelled #1 a7 Sell 10@100 CANCELLED_EXPIRED", "Level Sell 100 total 0 count 0",
                 "[2] Cancelled #2 a7 Sell 5@200 CANCELLED_EXPIRED",
                 "[2] Level Sell 200 total 0 count 0", "[2] Accepted #3 a8 Buy 1@90",
                 "[2] Booked #3 a8 Buy 1@90", "[2] Level Buy 90 total 1 count 1"}));
}

TEST_F(TimeInForceTest, PartiallyFilledGoodTillDateOrderExpiresWithItsOpenQuantity) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0), buy(2, 100, 4).account(8).at(10)});
    EXPECT_EQ(run(tick(1'000)), (Strings{"Cancelled #1 a7 Sell 6@100 CANCELLED_EXPIRED",
                                         "Level Sell 100 total 0 count 0"}));
}

TEST_F(TimeInForceTest, CancelledGoodTillDateOrderNeverExpiresLater) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0), timed(cancel(1, 7), 500),
           // The same id, now a GTC order: the old expiry must not reach it.
           sell(1, 101, 3).account(7).at(600)});
    EXPECT_TRUE(run(tick(2'000)).empty());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 3@101"}));
}

TEST_F(TimeInForceTest, FullyTradedGoodTillDateOrderNeverExpiresLater) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0), buy(2, 100, 10).account(8).at(500),
           sell(1, 101, 3).account(7).at(600), sell(3, 102, 4).account(7).gtd(3'000).at(600)});
    EXPECT_TRUE(run(tick(2'000)).empty());
    EXPECT_EQ(run(tick(3'000)), (Strings{"Cancelled #3 a7 Sell 4@102 CANCELLED_EXPIRED",
                                         "Level Sell 102 total 0 count 0"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 3@101"}));
}

TEST_F(TimeInForceTest, OrdersExpiringTogetherGoInExpiryThenIdOrder) {
    given({sell(5, 105, 1).account(7).gtd(300), sell(3, 103, 1).account(7).gtd(100),
           sell(4, 104, 1).account(7).gtd(300), sell(1, 101, 1).account(7).gtd(300),
           sell(2, 102, 1).account(7).gtd(200), sell(6, 106, 1).account(7).gtd(400),
           sell(7, 107, 1).account(7)});
    EXPECT_EQ(
        run(tick(300)),
        (Strings{"Cancelled #3 a7 Sell 1@103 CANCELLED_EXPIRED", "Level Sell 103 total 0 count 0",
                 "Cancelled #2 a7 Sell 1@102 CANCELLED_EXPIRED", "Level Sell 102 total 0 count 0",
                 "Cancelled #1 a7 Sell 1@101 CANCELLED_EXPIRED", "Level Sell 101 total 0 count 0",
                 "Cancelled #4 a7 Sell 1@104 CANCELLED_EXPIRED", "Level Sell 104 total 0 count 0",
                 "Cancelled #5 a7 Sell 1@105 CANCELLED_EXPIRED",
                 "Level Sell 105 total 0 count 0"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#6 1@106", "#7 1@107"}));
    EXPECT_EQ(run(tick(400)), (Strings{"Cancelled #6 a7 Sell 1@106 CANCELLED_EXPIRED",
                                       "Level Sell 106 total 0 count 0"}));
}

TEST_F(TimeInForceTest, CancellingSomeGoodTillDateOrdersKeepsTheRestExpiringInOrder) {
    // Expiries in a scrambled order with repeats, so the heap moves entries both ways
    // when the cancelled ones are taken out of its middle.
    std::vector<std::pair<Timestamp, OrderId>> expected;
    for (OrderId id = 1; id <= 40; ++id) {
        const Timestamp expiry = 1'000 + static_cast<Timestamp>((id * 37) % 11) * 10;
        engine_.apply(buy(id, 50, 1).account(7).gtd(expiry).at(0));
        if (id % 3 != 0) {
            expected.emplace_back(expiry, id);
        }
    }
    for (OrderId id = 3; id <= 40; id += 3) {
        engine_.apply(timed(cancel(id, 7), 1));
    }
    std::sort(expected.begin(), expected.end());
    const std::vector<Event> cancelled = of_type(send(tick(5'000)), EventType::Cancelled);
    ASSERT_EQ(cancelled.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(cancelled[i].order_id, expected[i].second) << i;
        EXPECT_EQ(cancelled[i].reason, Reason::CancelledExpired);
    }
    EXPECT_EQ(engine_.resting_orders(), 0u);
}

TEST_F(TimeInForceTest, CancellingAGoodTillDateOrderDeepInTheQueueKeepsTheExpiryOrder) {
    // With these expiries, taking out #4 moves #6 (expiry 900) under #2 (1'800), above
    // it in the expiry order: the queue must lift it, or #6 would expire after #7.
    const std::vector<std::pair<OrderId, Timestamp>> placed = {
        {1, 500}, {2, 1'800}, {3, 200}, {4, 1'900}, {5, 1'300}, {6, 900}, {7, 500}};
    for (const auto& [id, expiry] : placed) {
        engine_.apply(buy(id, 50 + static_cast<Price>(id), 1).account(7).gtd(expiry).at(0));
    }
    given({timed(cancel(4, 7), 1)});
    const std::vector<Event> cancelled = of_type(send(tick(1'000)), EventType::Cancelled);
    ASSERT_EQ(cancelled.size(), 4u);
    EXPECT_EQ(cancelled[0].order_id, 3u);
    EXPECT_EQ(cancelled[1].order_id, 1u);
    EXPECT_EQ(cancelled[2].order_id, 7u);
    EXPECT_EQ(cancelled[3].order_id, 6u);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#5 1@55", "#2 1@52"}));
}

TEST_F(TimeInForceTest, ImmediateOrCancelRemainderIsCancelledNotBooked) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(buy(2, 101, 15).account(8).tif(TimeInForce::IOC)),
              (Strings{"Accepted #2 a8 Buy 15@101",
                       "Trade buy #2 a8 sell #1 a7 10@100 leaves 5/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Cancelled #2 a8 Buy 5@101 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_TRUE(orders(Side::Buy).empty());
    EXPECT_EQ(engine_.resting_orders(), 0u);
}

TEST_F(TimeInForceTest, ImmediateOrCancelWithoutCrossingLiquidityIsCancelledWhole) {
    given({sell(1, 100, 10).account(7)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(run(buy(2, 99, 5).account(8).tif(TimeInForce::IOC)),
              (Strings{"Accepted #2 a8 Buy 5@99",
                       "Cancelled #2 a8 Buy 5@99 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(TimeInForceTest, FullyFilledImmediateOrCancelHasNoCancelledEvent) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(sell(2, 100, 1).account(7)).size(), 3u);
    EXPECT_EQ(run(buy(3, 100, 10).account(8).tif(TimeInForce::IOC)),
              (Strings{"Accepted #3 a8 Buy 10@100",
                       "Trade buy #3 a8 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 1 count 1"}));
}

TEST_F(TimeInForceTest, FillOrKillTradesItsWholeQuantityAcrossLevels) {
    given({sell(1, 100, 5).account(7), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 101, 10).account(8).tif(TimeInForce::FOK)),
              (Strings{"Accepted #3 a8 Buy 10@101",
                       "Trade buy #3 a8 sell #1 a7 5@100 leaves 5/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #3 a8 sell #2 a7 5@101 leaves 0/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0"}));
}

TEST_F(TimeInForceTest, FillOrKillThatCannotFillWholeIsCancelledAndLeavesTheBookUntouched) {
    given({sell(1, 100, 5).account(7), sell(2, 101, 5).account(7)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(run(buy(3, 101, 11).account(8).tif(TimeInForce::FOK)),
              (Strings{"Accepted #3 a8 Buy 11@101",
                       "Cancelled #3 a8 Buy 11@101 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(engine_.state_hash(), hash);
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@100", "#2 5@101"}));
    EXPECT_EQ(engine_.reference_price(1), 0);
}

TEST_F(TimeInForceTest, FillOrKillCountsOnlyLiquidityWithinItsLimit) {
    given({sell(1, 100, 5).account(7), sell(2, 102, 10).account(7)});
    EXPECT_EQ(run(sell(3, 101, 1).account(9).tif(TimeInForce::FOK)),
              (Strings{"Accepted #3 a9 Sell 1@101",
                       "Cancelled #3 a9 Sell 1@101 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(run(buy(4, 101, 10).account(8).tif(TimeInForce::FOK)),
              (Strings{"Accepted #4 a8 Buy 10@101",
                       "Cancelled #4 a8 Buy 10@101 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@100", "#2 10@102"}));
}

TEST_F(TimeInForceTest, FillOrKillSellFillsAgainstSeveralBids) {
    given({buy(1, 100, 4).account(7), buy(2, 100, 4).account(7), buy(3, 99, 4).account(7)});
    EXPECT_EQ(run(sell(4, 99, 10).account(8).tif(TimeInForce::FOK)),
              (Strings{"Accepted #4 a8 Sell 10@99",
                       "Trade buy #1 a7 sell #4 a8 4@100 leaves 0/6 aggressor Sell",
                       "Trade buy #2 a7 sell #4 a8 4@100 leaves 0/2 aggressor Sell",
                       "Level Buy 100 total 0 count 0",
                       "Trade buy #3 a7 sell #4 a8 2@99 leaves 2/0 aggressor Sell",
                       "Level Buy 99 total 2 count 1"}));
}

}  // namespace
}  // namespace cpx::testing
