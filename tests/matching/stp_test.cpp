// Self-trade prevention: the incoming order's mode decides what happens when it would
// trade with a resting order of its own account, and it applies only to resting
// orders it would actually trade with.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

using SelfTrade = EngineTest;
using Stp = SelfTradePrevention;

TEST_F(SelfTrade, CancelIncomingCancelsTheArrivingOrderAndLeavesTheRestingOne) {
    given({sell(1, 100, 10).account(7)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(
        run(buy(2, 100, 10).account(7).stp(Stp::CancelIncoming)),
        (Strings{"Accepted #2 a7 Buy 10@100", "Cancelled #2 a7 Buy 10@100 CANCELLED_SELF_TRADE"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(SelfTrade, CancelIncomingAfterSomeTradesCancelsOnlyTheRemainder) {
    given({sell(1, 100, 3).account(9), sell(2, 100, 5).account(7), sell(3, 100, 5).account(9)});
    EXPECT_EQ(run(buy(4, 100, 10).account(7).stp(Stp::CancelIncoming)),
              (Strings{"Accepted #4 a7 Buy 10@100",
                       "Trade buy #4 a7 sell #1 a9 3@100 leaves 7/0 aggressor Buy",
                       "Level Sell 100 total 10 count 2",
                       "Cancelled #4 a7 Buy 7@100 CANCELLED_SELF_TRADE"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 5@100", "#3 5@100"}));
    EXPECT_TRUE(orders(Side::Buy).empty());
}

TEST_F(SelfTrade, CancelIncomingStopsAtAnOwnOrderOnALaterLevel) {
    given({sell(1, 100, 3).account(9), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 101, 10).account(7).stp(Stp::CancelIncoming)),
              (Strings{"Accepted #3 a7 Buy 10@101",
                       "Trade buy #3 a7 sell #1 a9 3@100 leaves 7/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Cancelled #3 a7 Buy 7@101 CANCELLED_SELF_TRADE"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 5@101"}));
}

TEST_F(SelfTrade, CancelRestingCancelsEachOwnOrderMetAndContinues) {
    given({sell(1, 100, 5).account(7), sell(2, 100, 5).account(9), sell(3, 101, 5).account(7)});
    EXPECT_EQ(
        run(buy(4, 101, 10).account(7).stp(Stp::CancelResting)),
        (Strings{"Accepted #4 a7 Buy 10@101", "Cancelled #1 a7 Sell 5@100 CANCELLED_SELF_TRADE",
                 "Trade buy #4 a7 sell #2 a9 5@100 leaves 5/0 aggressor Buy",
                 "Level Sell 100 total 0 count 0",
                 "Cancelled #3 a7 Sell 5@101 CANCELLED_SELF_TRADE",
                 "Level Sell 101 total 0 count 0", "Booked #4 a7 Buy 5@101",
                 "Level Buy 101 total 5 count 1"}));
    EXPECT_TRUE(orders(Side::Sell).empty());
}

TEST_F(SelfTrade, CancelRestingWorksForAnIncomingSell) {
    given({buy(1, 100, 5).account(7), buy(2, 99, 5).account(9)});
    EXPECT_EQ(run(sell(3, 99, 5).account(7).stp(Stp::CancelResting)),
              (Strings{"Accepted #3 a7 Sell 5@99", "Cancelled #1 a7 Buy 5@100 CANCELLED_SELF_TRADE",
                       "Level Buy 100 total 0 count 0",
                       "Trade buy #2 a9 sell #3 a7 5@99 leaves 0/0 aggressor Sell",
                       "Level Buy 99 total 0 count 0"}));
}

TEST_F(SelfTrade, CancelBothCancelsTheOwnRestingOrderAndTheIncomingOne) {
    given({sell(1, 100, 5).account(7), sell(2, 100, 5).account(9)});
    EXPECT_EQ(
        run(buy(3, 100, 10).account(7).stp(Stp::CancelBoth)),
        (Strings{"Accepted #3 a7 Buy 10@100", "Cancelled #1 a7 Sell 5@100 CANCELLED_SELF_TRADE",
                 "Level Sell 100 total 5 count 1",
                 "Cancelled #3 a7 Buy 10@100 CANCELLED_SELF_TRADE"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 5@100"}));
    EXPECT_TRUE(orders(Side::Buy).empty());
}

TEST_F(SelfTrade, CancelBothAfterATradeCancelsTheRemainder) {
    given({sell(1, 100, 3).account(9), sell(2, 101, 5).account(7)});
    EXPECT_EQ(
        run(buy(3, 101, 10).account(7).stp(Stp::CancelBoth)),
        (Strings{
            "Accepted #3 a7 Buy 10@101",
            "Trade buy #3 a7 sell #1 a9 3@100 leaves 7/0 aggressor Buy",
            "Level Sell 100 total 0 count 0", "Cancelled #2 a7 Sell 5@101 CANCELLED_SELF_TRADE",
            "Level Sell 101 total 0 count 0", "Cancelled #3 a7 Buy 7@101 CANCELLED_SELF_TRADE"}));
}

TEST_F(SelfTrade, OwnOrdersTheIncomingWouldPassOverAreNotSelfTrades) {
    given({sell(1, 100, 20).account(7).all_or_none(), sell(2, 100, 5).account(9)});
    EXPECT_EQ(run(buy(3, 100, 5).account(7).stp(Stp::CancelBoth)),
              (Strings{"Accepted #3 a7 Buy 5@100",
                       "Trade buy #3 a7 sell #2 a9 5@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 20 count 1"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 20@100"}));
}

TEST_F(SelfTrade, OrdersOfOtherAccountsTradeNormally) {
    given({sell(1, 100, 10).account(9)});
    for (const Stp mode : {Stp::CancelIncoming, Stp::CancelResting, Stp::CancelBoth}) {
        SCOPED_TRACE(static_cast<int>(mode));
        const std::vector<Event> trades =
            of_type(send(buy(2, 100, 2).account(7).stp(mode)), EventType::Trade);
        ASSERT_EQ(trades.size(), 1u);
        EXPECT_EQ(trades[0].quantity, 2);
        EXPECT_EQ(trades[0].other_order_id, 1u);
    }
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 4@100"}));
}

TEST_F(SelfTrade, WithoutPreventionAnAccountTradesWithItself) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(buy(2, 100, 10).account(7).stp(Stp::None)),
              (Strings{"Accepted #2 a7 Buy 10@100",
                       "Trade buy #2 a7 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));
}

TEST_F(SelfTrade, TheIncomingOrdersModeDecidesNotTheRestingOrders) {
    given({sell(1, 100, 10).account(7).stp(Stp::CancelBoth)});
    EXPECT_EQ(run(buy(2, 100, 10).account(7)),
              (Strings{"Accepted #2 a7 Buy 10@100",
                       "Trade buy #2 a7 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));
}

TEST_F(SelfTrade, MarketOrderWithCancelIncomingIsCancelledAtItsOwnOrder) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(
        run(buy(2, 0, 10).account(7).market().stp(Stp::CancelIncoming)),
        (Strings{"Accepted #2 a7 Buy 10@0", "Cancelled #2 a7 Buy 10@0 CANCELLED_SELF_TRADE"}));
}

TEST_F(SelfTrade, FillOrKillCheckStopsAtAnOwnOrderUnderCancelIncoming) {
    given({sell(1, 100, 3).account(9), sell(2, 100, 5).account(7), sell(3, 101, 10).account(9)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(run(buy(4, 101, 10).account(7).tif(TimeInForce::FOK).stp(Stp::CancelIncoming)),
              (Strings{"Accepted #4 a7 Buy 10@101",
                       "Cancelled #4 a7 Buy 10@101 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(SelfTrade, FillOrKillCheckCountsPastOwnOrdersUnderCancelResting) {
    given({sell(1, 100, 3).account(9), sell(2, 100, 5).account(7), sell(3, 101, 10).account(9)});
    EXPECT_EQ(run(buy(4, 101, 10).account(7).tif(TimeInForce::FOK).stp(Stp::CancelResting)),
              (Strings{"Accepted #4 a7 Buy 10@101",
                       "Trade buy #4 a7 sell #1 a9 3@100 leaves 7/0 aggressor Buy",
                       "Cancelled #2 a7 Sell 5@100 CANCELLED_SELF_TRADE",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #4 a7 sell #3 a9 7@101 leaves 0/3 aggressor Buy",
                       "Level Sell 101 total 3 count 1"}));
}

}  // namespace
}  // namespace cpx::testing
