// All-or-none and minimum-quantity orders, rule by rule from the ARCHITECTURE section
// "All-or-none and minimum quantity": the minimum fill of a resting order, the check
// of an incoming constrained order (walking the book as matching would), what happens
// when that check fails, and the crossed book that only constrained orders may leave.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

using AllOrNone = EngineTest;
using MinQuantity = EngineTest;

TEST_F(AllOrNone, IncomingAllOrNoneFillsWholeAcrossLevels) {
    given({sell(1, 100, 5).account(7), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 101, 10).account(8).all_or_none()),
              (Strings{"Accepted #3 a8 Buy 10@101",
                       "Trade buy #3 a8 sell #1 a7 5@100 leaves 5/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #3 a8 sell #2 a7 5@101 leaves 0/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0"}));
}

TEST_F(AllOrNone, IncomingAllOrNoneThatCannotFillWholeRestsWithoutTrading) {
    given({sell(1, 100, 5).account(7)});
    EXPECT_EQ(run(buy(2, 100, 10).account(8).all_or_none()),
              (Strings{"Accepted #2 a8 Buy 10@100", "Booked #2 a8 Buy 10@100",
                       "Level Buy 100 total 10 count 1"}));
    ASSERT_TRUE(engine_.find_order(2).has_value());
    EXPECT_EQ(engine_.find_order(2)->flags, kFlagAllOrNone);
    // The book is crossed at 100, which only a constrained order may cause.
    EXPECT_EQ(engine_.best_price(1, Side::Buy), 100);
    EXPECT_EQ(engine_.best_price(1, Side::Sell), 100);
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@100"}));
}

TEST_F(AllOrNone, IncomingAllOrNoneImmediateOrCancelIsCancelledAsFillOrKill) {
    given({sell(1, 100, 5).account(7)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(run(buy(2, 100, 10).account(8).all_or_none().tif(TimeInForce::IOC)),
              (Strings{"Accepted #2 a8 Buy 10@100",
                       "Cancelled #2 a8 Buy 10@100 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(AllOrNone, TwoRestingOrdersNeverTradeWithEachOther) {
    given({sell(1, 100, 5).account(7), buy(2, 100, 10).account(8).all_or_none()});
    // This sell is too small for the resting all-or-none bid, so it rests as well, and
    // the 10 offered at 100 do not meet the 10 bid at 100: only arrivals match.
    EXPECT_EQ(run(sell(3, 100, 5).account(9)),
              (Strings{"Accepted #3 a9 Sell 5@100", "Booked #3 a9 Sell 5@100",
                       "Level Sell 100 total 10 count 2"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 10@100"}));
    // An arrival large enough for it does fill it.
    EXPECT_EQ(run(sell(4, 100, 10).account(9)),
              (Strings{"Accepted #4 a9 Sell 10@100",
                       "Trade buy #2 a8 sell #4 a9 10@100 leaves 0/0 aggressor Sell",
                       "Level Buy 100 total 0 count 0"}));
}

TEST_F(AllOrNone, RestingAllOrNoneSkippedBySmallerIncomingKeepsItsPlace) {
    given({sell(1, 100, 10).account(7).all_or_none(), sell(2, 100, 5).account(7)});
    EXPECT_EQ(run(buy(3, 100, 5).account(8)),
              (Strings{"Accepted #3 a8 Buy 5@100",
                       "Trade buy #3 a8 sell #2 a7 5@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 10 count 1"}));
    given({sell(4, 100, 5).account(7)});
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100", "#4 5@100"}));
    EXPECT_EQ(run(buy(5, 100, 12).account(8)),
              (Strings{"Accepted #5 a8 Buy 12@100",
                       "Trade buy #5 a8 sell #1 a7 10@100 leaves 2/0 aggressor Buy",
                       "Trade buy #5 a8 sell #4 a7 2@100 leaves 0/3 aggressor Buy",
                       "Level Sell 100 total 3 count 1"}));
}

TEST_F(AllOrNone, SkippedAllOrNoneAtABetterPriceLetsTheIncomingTradeAtTheNextLevel) {
    given({sell(1, 100, 10).account(7).all_or_none(), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 101, 5).account(8)),
              (Strings{"Accepted #3 a8 Buy 5@101",
                       "Trade buy #3 a8 sell #2 a7 5@101 leaves 0/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100"}));
}

TEST_F(AllOrNone, RestingAllOrNoneBidSkippedBySmallerIncomingSell) {
    given({buy(1, 100, 10).account(7).all_or_none(), buy(2, 99, 4).account(7)});
    EXPECT_EQ(run(sell(3, 99, 4).account(8)),
              (Strings{"Accepted #3 a8 Sell 4@99",
                       "Trade buy #2 a7 sell #3 a8 4@99 leaves 0/0 aggressor Sell",
                       "Level Buy 99 total 0 count 0"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 10@100"}));
}

TEST_F(AllOrNone, RestingAllOrNoneIsFilledWholeByALargerIncoming) {
    given({sell(1, 100, 10).account(7).all_or_none()});
    EXPECT_EQ(run(buy(2, 100, 15).account(8)),
              (Strings{"Accepted #2 a8 Buy 15@100",
                       "Trade buy #2 a8 sell #1 a7 10@100 leaves 5/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0", "Booked #2 a8 Buy 5@100",
                       "Level Buy 100 total 5 count 1"}));
}

TEST_F(AllOrNone, BookIsCrossedOnlyByConstrainedOrders) {
    given({sell(1, 100, 10).account(7).all_or_none()});
    EXPECT_EQ(run(buy(2, 101, 5).account(8)),
              (Strings{"Accepted #2 a8 Buy 5@101", "Booked #2 a8 Buy 5@101",
                       "Level Buy 101 total 5 count 1"}));
    EXPECT_GT(*engine_.best_price(1, Side::Buy), *engine_.best_price(1, Side::Sell));
    // An unconstrained sell that reaches the unconstrained bid trades with it at once.
    EXPECT_EQ(run(sell(3, 101, 5).account(9)),
              (Strings{"Accepted #3 a9 Sell 5@101",
                       "Trade buy #2 a8 sell #3 a9 5@101 leaves 0/0 aggressor Sell",
                       "Level Buy 101 total 0 count 0"}));
    EXPECT_TRUE(orders(Side::Buy).empty());
}

TEST_F(AllOrNone, IncomingAllOrNoneTakesARestingAllOrNoneThatFitsInsideIt) {
    given({sell(1, 100, 8).account(7).all_or_none(), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 101, 10).account(8).all_or_none()),
              (Strings{"Accepted #3 a8 Buy 10@101",
                       "Trade buy #3 a8 sell #1 a7 8@100 leaves 2/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #3 a8 sell #2 a7 2@101 leaves 0/3 aggressor Buy",
                       "Level Sell 101 total 3 count 1"}));
}

TEST_F(AllOrNone, FillOrKillCountsOnlyWhatMatchingWouldTake) {
    // 13 are offered at 100, but after taking the first 5 the remaining 5 are too few
    // for the all-or-none order of 8, so only 5 of the 10 could trade.
    given({sell(1, 100, 5).account(7), sell(2, 100, 8).account(7).all_or_none()});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(run(buy(3, 100, 10).account(8).tif(TimeInForce::FOK)),
              (Strings{"Accepted #3 a8 Buy 10@100",
                       "Cancelled #3 a8 Buy 10@100 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(AllOrNone, FillOrKillPassesOverAnAllOrNoneTooLargeAndFillsFromLaterOrders) {
    given({sell(1, 100, 20).account(7).all_or_none(), sell(2, 101, 10).account(7)});
    EXPECT_EQ(run(buy(3, 101, 10).account(8).tif(TimeInForce::FOK)),
              (Strings{"Accepted #3 a8 Buy 10@101",
                       "Trade buy #3 a8 sell #2 a7 10@101 leaves 0/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0"}));
}

TEST_F(AllOrNone, CheckStopsAtAnOwnOrderWhenTheIncomingWouldBeCancelledThere) {
    given({sell(1, 100, 5).account(8), sell(2, 101, 10).account(9)});
    EXPECT_EQ(
        run(buy(3, 101, 10).account(8).all_or_none().stp(SelfTradePrevention::CancelIncoming)),
        (Strings{"Accepted #3 a8 Buy 10@101", "Booked #3 a8 Buy 10@101",
                 "Level Buy 101 total 10 count 1"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@100", "#2 10@101"}));
}

TEST_F(AllOrNone, CheckPassesOwnOrdersThatMatchingWouldCancel) {
    given({sell(1, 100, 5).account(8), sell(2, 101, 10).account(9)});
    EXPECT_EQ(
        run(buy(3, 101, 10).account(8).all_or_none().stp(SelfTradePrevention::CancelResting)),
        (Strings{"Accepted #3 a8 Buy 10@101", "Cancelled #1 a8 Sell 5@100 CANCELLED_SELF_TRADE",
                 "Level Sell 100 total 0 count 0",
                 "Trade buy #3 a8 sell #2 a9 10@101 leaves 0/0 aggressor Buy",
                 "Level Sell 101 total 0 count 0"}));
}

TEST_F(AllOrNone, AllOrNoneGoodTillDateThatCannotFillRestsAndLaterExpires) {
    given({sell(1, 100, 5).account(7)});
    EXPECT_EQ(run(buy(2, 100, 10).account(8).all_or_none().gtd(1'000)),
              (Strings{"Accepted #2 a8 Buy 10@100", "Booked #2 a8 Buy 10@100",
                       "Level Buy 100 total 10 count 1"}));
    EXPECT_EQ(run(tick(1'000)), (Strings{"Cancelled #2 a8 Buy 10@100 CANCELLED_EXPIRED",
                                         "Level Buy 100 total 0 count 0"}));
}

TEST_F(MinQuantity, IncomingImmediateOrCancelWithoutEnoughLiquidityIsCancelled) {
    given({sell(1, 100, 3).account(7), sell(2, 101, 1).account(7)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(run(buy(3, 101, 10).account(8).min_quantity(5).tif(TimeInForce::IOC)),
              (Strings{"Accepted #3 a8 Buy 10@101",
                       "Cancelled #3 a8 Buy 10@101 CANCELLED_MIN_QUANTITY_NOT_MET"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(MinQuantity, IncomingGoodTillCancelWithoutEnoughLiquidityRestsKeepingItsMinimum) {
    given({sell(1, 100, 3).account(7), sell(2, 101, 1).account(7)});
    EXPECT_EQ(run(buy(3, 101, 10).account(8).min_quantity(5)),
              (Strings{"Accepted #3 a8 Buy 10@101", "Booked #3 a8 Buy 10@101",
                       "Level Buy 101 total 10 count 1"}));
    ASSERT_TRUE(engine_.find_order(3).has_value());
    EXPECT_EQ(engine_.find_order(3)->min_quantity, 5);
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 3@100", "#2 1@101"}));
}

TEST_F(MinQuantity, IncomingTradesBeyondItsMinimumOnceTheMinimumCanTrade) {
    given({sell(1, 100, 3).account(7), sell(2, 101, 4).account(7), sell(3, 102, 9).account(7)});
    EXPECT_EQ(run(buy(4, 101, 10).account(8).min_quantity(5).tif(TimeInForce::IOC)),
              (Strings{"Accepted #4 a8 Buy 10@101",
                       "Trade buy #4 a8 sell #1 a7 3@100 leaves 7/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #4 a8 sell #2 a7 4@101 leaves 3/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0",
                       "Cancelled #4 a8 Buy 3@101 CANCELLED_IMMEDIATE_REMAINDER"}));
}

TEST_F(MinQuantity, RestingOrderIsSkippedByAnIncomingBelowItsMinimum) {
    given({sell(1, 100, 10).account(7).min_quantity(4), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 101, 3).account(8)),
              (Strings{"Accepted #3 a8 Buy 3@101",
                       "Trade buy #3 a8 sell #2 a7 3@101 leaves 0/2 aggressor Buy",
                       "Level Sell 101 total 2 count 1"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100", "#2 2@101"}));
}

TEST_F(MinQuantity, RestingOrderTradesPartlyWithAnIncomingOfAtLeastItsMinimum) {
    given({sell(1, 100, 10).account(7).min_quantity(4)});
    EXPECT_EQ(run(buy(2, 100, 4).account(8)),
              (Strings{"Accepted #2 a8 Buy 4@100",
                       "Trade buy #2 a8 sell #1 a7 4@100 leaves 0/6 aggressor Buy",
                       "Level Sell 100 total 6 count 1"}));
    ASSERT_TRUE(engine_.find_order(1).has_value());
    EXPECT_EQ(engine_.find_order(1)->min_quantity, 4);
}

TEST_F(MinQuantity, RestingMinimumShrinksToTheOpenQuantityWhenThatIsSmaller) {
    given({sell(1, 100, 10).account(7).min_quantity(4), buy(2, 100, 7).account(8)});
    ASSERT_EQ(orders(Side::Sell), (Strings{"#1 3@100"}));
    // 2 is below min(4, 3): skipped, and the bid rests crossing the constrained ask.
    EXPECT_EQ(run(buy(3, 100, 2).account(8)),
              (Strings{"Accepted #3 a8 Buy 2@100", "Booked #3 a8 Buy 2@100",
                       "Level Buy 100 total 2 count 1"}));
    // 3 covers min(4, 3) even though it is below the order's minimum of 4.
    EXPECT_EQ(run(buy(4, 100, 3).account(8)),
              (Strings{"Accepted #4 a8 Buy 3@100",
                       "Trade buy #4 a8 sell #1 a7 3@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));
}

TEST_F(MinQuantity, FillOrKillWithAMinimumStillNeedsItsWholeQuantity) {
    given({sell(1, 100, 6).account(7)});
    EXPECT_EQ(run(buy(2, 100, 10).account(8).min_quantity(5).tif(TimeInForce::FOK)),
              (Strings{"Accepted #2 a8 Buy 10@100",
                       "Cancelled #2 a8 Buy 10@100 CANCELLED_FILL_OR_KILL"}));
}

TEST_F(MinQuantity, IncomingCheckSkipsRestingOrdersWithLargerMinimums) {
    // 12 are offered, but the order of 8 with a minimum of 6 cannot be taken once 4
    // have traded with the first order, so only 4 + 0 + 2 could trade at once.
    given({sell(1, 100, 4).account(7), sell(2, 100, 8).account(7).min_quantity(6),
           sell(3, 101, 2).account(7)});
    EXPECT_EQ(run(buy(4, 101, 7).account(8).min_quantity(7).tif(TimeInForce::IOC)),
              (Strings{"Accepted #4 a8 Buy 7@101",
                       "Cancelled #4 a8 Buy 7@101 CANCELLED_MIN_QUANTITY_NOT_MET"}));
    EXPECT_EQ(run(buy(5, 101, 7).account(8).min_quantity(6).tif(TimeInForce::IOC)),
              (Strings{"Accepted #5 a8 Buy 7@101",
                       "Trade buy #5 a8 sell #1 a7 4@100 leaves 3/0 aggressor Buy",
                       "Level Sell 100 total 8 count 1",
                       "Trade buy #5 a8 sell #3 a7 2@101 leaves 1/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0",
                       "Cancelled #5 a8 Buy 1@101 CANCELLED_IMMEDIATE_REMAINDER"}));
}

}  // namespace
}  // namespace cpx::testing
