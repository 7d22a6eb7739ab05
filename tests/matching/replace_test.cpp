// Replace: a lower quantity at the same price keeps time priority; a new price or a
// higher quantity loses it and the order arrives again, so it may trade. The order
// keeps its id, account, flags, minimum, self-trade mode and expiry.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

using Replace = EngineTest;

TEST_F(Replace, LowerQuantityAtTheSamePriceKeepsTimePriority) {
    given({buy(1, 100, 10).account(7), buy(2, 100, 10).account(8)});
    EXPECT_EQ(run(replace(1, 100, 4, 7)), (Strings{"Replaced #1 a7 Buy 4@100 from 10 priority kept",
                                                   "Level Buy 100 total 14 count 2"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 4@100", "#2 10@100"}));
    EXPECT_EQ(run(sell(3, 100, 4).account(9)),
              (Strings{"Accepted #3 a9 Sell 4@100",
                       "Trade buy #1 a7 sell #3 a9 4@100 leaves 0/0 aggressor Sell",
                       "Level Buy 100 total 10 count 1"}));
}

TEST_F(Replace, HigherQuantityAtTheSamePriceLosesTimePriority) {
    given({buy(1, 100, 10).account(7), buy(2, 100, 10).account(8)});
    EXPECT_EQ(run(replace(1, 100, 15, 7)),
              (Strings{"Replaced #1 a7 Buy 15@100 from 10 priority lost",
                       "Level Buy 100 total 10 count 1", "Booked #1 a7 Buy 15@100",
                       "Level Buy 100 total 25 count 2"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 10@100", "#1 15@100"}));
}

TEST_F(Replace, NewPriceLosesTimePriorityEvenWhenMovedBack) {
    given({buy(1, 100, 10).account(7), buy(2, 100, 10).account(8)});
    EXPECT_EQ(run(replace(1, 101, 10, 7)),
              (Strings{"Replaced #1 a7 Buy 10@101 from 10 priority lost",
                       "Level Buy 100 total 10 count 1", "Booked #1 a7 Buy 10@101",
                       "Level Buy 101 total 10 count 1"}));
    EXPECT_EQ(
        run(replace(1, 100, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@100 from 10 priority lost", "Level Buy 101 total 0 count 0",
                 "Booked #1 a7 Buy 10@100", "Level Buy 100 total 20 count 2"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 10@100", "#1 10@100"}));
}

TEST_F(Replace, NewPriceWithALowerQuantityStillLosesTimePriority) {
    given({sell(1, 100, 10).account(7), sell(2, 99, 10).account(8)});
    EXPECT_EQ(
        run(replace(1, 99, 5, 7)),
        (Strings{"Replaced #1 a7 Sell 5@99 from 10 priority lost", "Level Sell 100 total 0 count 0",
                 "Booked #1 a7 Sell 5@99", "Level Sell 99 total 15 count 2"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 10@99", "#1 5@99"}));
}

TEST_F(Replace, ReplacedEventReportsTheOpenQuantityBeforeTheReplace) {
    given({sell(1, 100, 10).account(7), buy(2, 100, 4).account(8)});
    EXPECT_EQ(run(replace(1, 100, 3, 7)), (Strings{"Replaced #1 a7 Sell 3@100 from 6 priority kept",
                                                   "Level Sell 100 total 3 count 1"}));
}

TEST_F(Replace, ReplaceThatNowCrossesTradesLikeAnArrivingOrder) {
    given({buy(1, 99, 10).account(7), sell(2, 100, 6).account(8)});
    EXPECT_EQ(
        run(replace(1, 100, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@100 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Trade buy #1 a7 sell #2 a8 6@100 leaves 4/0 aggressor Buy",
                 "Level Sell 100 total 0 count 0", "Booked #1 a7 Buy 4@100",
                 "Level Buy 100 total 4 count 1"}));
    EXPECT_EQ(engine_.reference_price(1), 100);
}

TEST_F(Replace, ReplacedOrderThatTradesInFullLeavesTheBookAndFreesItsId) {
    given({buy(1, 99, 10).account(7), sell(2, 100, 10).account(8)});
    EXPECT_EQ(
        run(replace(1, 100, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@100 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Trade buy #1 a7 sell #2 a8 10@100 leaves 0/0 aggressor Buy",
                 "Level Sell 100 total 0 count 0"}));
    EXPECT_FALSE(engine_.find_order(1).has_value());
    EXPECT_EQ(engine_.resting_orders(), 0u);
    EXPECT_EQ(run(buy(1, 90, 1).account(7))[0], "Accepted #1 a7 Buy 1@90");
}

TEST_F(Replace, PostOnlyReplaceThatWouldCrossIsRejectedWithTheBookUnchanged) {
    given({buy(1, 99, 10).account(7).post_only(), sell(2, 100, 10).account(8)});
    expect_rejected(replace(1, 100, 10, 7), Reason::PostOnlyWouldTrade);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 10@99"}));
}

TEST_F(Replace, PostOnlyReplaceThatDoesNotCrossKeepsTheFlag) {
    given({buy(1, 99, 10).account(7).post_only(), sell(2, 100, 10).account(8)});
    EXPECT_EQ(
        run(replace(1, 98, 12, 7)),
        (Strings{"Replaced #1 a7 Buy 12@98 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Booked #1 a7 Buy 12@98", "Level Buy 98 total 12 count 1"}));
    EXPECT_EQ(engine_.find_order(1)->flags, kFlagPostOnly);
}

TEST_F(Replace, ReplacedGoodTillDateOrderKeepsItsExpiry) {
    given({sell(1, 100, 10).account(7).gtd(1'000).at(0), timed(replace(1, 101, 12, 7), 500)});
    ASSERT_EQ(orders(Side::Sell), (Strings{"#1 12@101"}));
    EXPECT_EQ(engine_.find_order(1)->expiry_ns, 1'000);
    EXPECT_TRUE(run(tick(999)).empty());
    EXPECT_EQ(run(tick(1'000)), (Strings{"Cancelled #1 a7 Sell 12@101 CANCELLED_EXPIRED",
                                         "Level Sell 101 total 0 count 0"}));
}

TEST_F(Replace, GoodTillDateOrderReplacedIntoAFullFillNeverExpiresLater) {
    given({sell(1, 101, 10).account(7).gtd(1'000).at(0), buy(2, 100, 10).account(8).at(0),
           timed(replace(1, 100, 10, 7), 500),
           // The id is free again and reused by a GTC order.
           sell(1, 105, 5).account(7).at(600)});
    ASSERT_TRUE(orders(Side::Buy).empty());
    EXPECT_TRUE(run(tick(2'000)).empty());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@105"}));
}

TEST_F(Replace, ReplaceInTheCallPhaseRestsWithoutTrading) {
    given({operator_command(CommandType::StartAuction), buy(1, 99, 10).account(7),
           sell(2, 100, 10).account(8)});
    EXPECT_EQ(
        run(replace(1, 101, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@101 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Booked #1 a7 Buy 10@101", "Level Buy 101 total 10 count 1"}));
    EXPECT_EQ(engine_.best_price(1, Side::Buy), 101);
    EXPECT_EQ(engine_.best_price(1, Side::Sell), 100);
}

TEST_F(Replace, LowerQuantityInTheCallPhaseKeepsTimePriority) {
    given({operator_command(CommandType::StartAuction), buy(1, 100, 10).account(7),
           buy(2, 100, 10).account(8)});
    EXPECT_EQ(run(replace(1, 100, 5, 7)), (Strings{"Replaced #1 a7 Buy 5@100 from 10 priority kept",
                                                   "Level Buy 100 total 15 count 2"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 5@100", "#2 10@100"}));
}

TEST_F(Replace, ReplacedOrderKeepsItsAllOrNoneAndMinimumQuantity) {
    given({sell(1, 100, 10).account(7).all_or_none(), sell(2, 100, 10).account(7).min_quantity(4),
           replace(1, 101, 8, 7), replace(2, 102, 6, 7)});
    EXPECT_EQ(engine_.find_order(1)->flags, kFlagAllOrNone);
    EXPECT_EQ(engine_.find_order(2)->min_quantity, 4);
    // Too small for either constraint, so it passes over both and rests.
    EXPECT_EQ(run(buy(3, 102, 3).account(8)),
              (Strings{"Accepted #3 a8 Buy 3@102", "Booked #3 a8 Buy 3@102",
                       "Level Buy 102 total 3 count 1"}));
}

TEST_F(Replace, ReplacedAllOrNoneThatCannotFillAtItsNewPriceRestsThere) {
    given({buy(1, 99, 10).account(7).all_or_none(), sell(2, 100, 6).account(8)});
    EXPECT_EQ(
        run(replace(1, 100, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@100 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Booked #1 a7 Buy 10@100", "Level Buy 100 total 10 count 1"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 6@100"}));
}

TEST_F(Replace, ReplacedOrderCrossingItsOwnOrderAppliesItsSelfTradeMode) {
    given({buy(1, 99, 10).account(7).stp(SelfTradePrevention::CancelResting),
           sell(2, 100, 5).account(7), sell(3, 100, 5).account(9)});
    EXPECT_EQ(
        run(replace(1, 100, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@100 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Cancelled #2 a7 Sell 5@100 CANCELLED_SELF_TRADE",
                 "Trade buy #1 a7 sell #3 a9 5@100 leaves 5/0 aggressor Buy",
                 "Level Sell 100 total 0 count 0", "Booked #1 a7 Buy 5@100",
                 "Level Buy 100 total 5 count 1"}));
}

TEST_F(Replace, ReplacedOrderCancelledBySelfTradeLeavesTheBook) {
    given({buy(1, 99, 10).account(7).stp(SelfTradePrevention::CancelIncoming),
           sell(2, 100, 5).account(7)});
    EXPECT_EQ(
        run(replace(1, 100, 10, 7)),
        (Strings{"Replaced #1 a7 Buy 10@100 from 10 priority lost", "Level Buy 99 total 0 count 0",
                 "Cancelled #1 a7 Buy 10@100 CANCELLED_SELF_TRADE"}));
    EXPECT_FALSE(engine_.find_order(1).has_value());
    EXPECT_EQ(engine_.resting_orders(), 1u);
}

}  // namespace
}  // namespace cpx::testing
