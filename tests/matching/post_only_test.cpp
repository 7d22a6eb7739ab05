// Post-only orders: they rest, or they are rejected with POST_ONLY_WOULD_TRADE if
// their price reaches the best opposite price; once resting they trade as makers.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

using PostOnly = EngineTest;

TEST_F(PostOnly, PostOnlyBuyBelowTheBestAskRestsWithItsFlag) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(buy(2, 99, 5).account(8).post_only()),
              (Strings{"Accepted #2 a8 Buy 5@99", "Booked #2 a8 Buy 5@99",
                       "Level Buy 99 total 5 count 1"}));
    ASSERT_TRUE(engine_.find_order(2).has_value());
    EXPECT_EQ(engine_.find_order(2)->flags, kFlagPostOnly);
}

TEST_F(PostOnly, PostOnlyBuyAtTheBestAskIsRejected) {
    given({sell(1, 100, 10).account(7)});
    expect_rejected(buy(2, 100, 5).account(8).post_only(), Reason::PostOnlyWouldTrade);
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100"}));
}

TEST_F(PostOnly, PostOnlyBuyAboveTheBestAskIsRejected) {
    given({sell(1, 100, 10).account(7), sell(2, 102, 10).account(7)});
    expect_rejected(buy(3, 101, 5).account(8).post_only(), Reason::PostOnlyWouldTrade);
}

TEST_F(PostOnly, PostOnlySellAtOrBelowTheBestBidIsRejected) {
    given({buy(1, 100, 10).account(7)});
    expect_rejected(sell(2, 100, 5).account(8).post_only(), Reason::PostOnlyWouldTrade);
    expect_rejected(sell(3, 95, 5).account(8).post_only(), Reason::PostOnlyWouldTrade);
    EXPECT_EQ(run(sell(4, 101, 5).account(8).post_only()),
              (Strings{"Accepted #4 a8 Sell 5@101", "Booked #4 a8 Sell 5@101",
                       "Level Sell 101 total 5 count 1"}));
}

TEST_F(PostOnly, PostOnlyRestsWhenTheOppositeSideIsEmpty) {
    given({buy(1, 100, 10).account(7)});
    EXPECT_EQ(run(buy(2, 1'000, 5).account(8).post_only()),
              (Strings{"Accepted #2 a8 Buy 5@1000", "Booked #2 a8 Buy 5@1000",
                       "Level Buy 1000 total 5 count 1"}));
}

TEST_F(PostOnly, PostOnlyIsRejectedAtTheBestAskEvenIfThatAskIsAllOrNoneItCouldNotTake) {
    // The rule compares prices only, as documented: it does not look at whether the
    // order at the best price would accept this order's size.
    given({sell(1, 100, 20).account(7).all_or_none()});
    expect_rejected(buy(2, 100, 5).account(8).post_only(), Reason::PostOnlyWouldTrade);
}

TEST_F(PostOnly, RestingPostOnlyOrderTradesAsTheMakerWhenCrossed) {
    given({buy(1, 99, 5).account(8).post_only()});
    EXPECT_EQ(run(sell(2, 98, 5).account(7)),
              (Strings{"Accepted #2 a7 Sell 5@98",
                       "Trade buy #1 a8 sell #2 a7 5@99 leaves 0/0 aggressor Sell",
                       "Level Buy 99 total 0 count 0"}));
}

TEST_F(PostOnly, PostOnlyGoodTillDateRestsAndExpires) {
    given({buy(1, 99, 5).account(8).post_only().gtd(1'000)});
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 5@99"}));
    EXPECT_EQ(run(tick(1'000)), (Strings{"Cancelled #1 a8 Buy 5@99 CANCELLED_EXPIRED",
                                         "Level Buy 99 total 0 count 0"}));
}

TEST_F(PostOnly, PostOnlyIsRejectedInACallAuctionWhereNothingTrades) {
    given({operator_command(CommandType::StartAuction)});
    expect_rejected(buy(1, 99, 5).account(8).post_only(), Reason::NotAllowedInAuction);
}

}  // namespace
}  // namespace cpx::testing
