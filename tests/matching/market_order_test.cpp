// Market orders: they sweep the opposite side in price order, at most
// market_protection_ticks past the best opposite price at their arrival, tightened by
// their own optional limit and by the price band; the rest is cancelled, never booked.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

class MarketOrder : public EngineTest {
  protected:
    InstrumentSpec instrument_spec() const override {
        InstrumentSpec s = test_spec();
        s.market_protection_ticks = 5;
        return s;
    }
};

TEST_F(MarketOrder, MarketBuySweepsAskLevelsInPriceOrder) {
    given({sell(1, 101, 5).account(7), sell(2, 100, 5).account(7), sell(3, 102, 5).account(7)});
    EXPECT_EQ(run(buy(4, 0, 12).account(8).market()),
              (Strings{"Accepted #4 a8 Buy 12@0",
                       "Trade buy #4 a8 sell #2 a7 5@100 leaves 7/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #4 a8 sell #1 a7 5@101 leaves 2/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0",
                       "Trade buy #4 a8 sell #3 a7 2@102 leaves 0/3 aggressor Buy",
                       "Level Sell 102 total 3 count 1"}));
    EXPECT_EQ(engine_.reference_price(1), 102);
}

TEST_F(MarketOrder, MarketSellSweepsBidLevelsInPriceOrder) {
    given({buy(1, 99, 5).account(7), buy(2, 100, 5).account(7)});
    EXPECT_EQ(run(sell(3, 0, 7).account(8).market()),
              (Strings{"Accepted #3 a8 Sell 7@0",
                       "Trade buy #2 a7 sell #3 a8 5@100 leaves 0/2 aggressor Sell",
                       "Level Buy 100 total 0 count 0",
                       "Trade buy #1 a7 sell #3 a8 2@99 leaves 3/0 aggressor Sell",
                       "Level Buy 99 total 3 count 1"}));
}

TEST_F(MarketOrder, MarketRemainderIsCancelledNotBooked) {
    given({sell(1, 100, 5).account(7)});
    EXPECT_EQ(run(buy(2, 0, 8).account(8).market()),
              (Strings{"Accepted #2 a8 Buy 8@0",
                       "Trade buy #2 a8 sell #1 a7 5@100 leaves 3/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Cancelled #2 a8 Buy 3@0 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_TRUE(orders(Side::Buy).empty());
    EXPECT_EQ(engine_.resting_orders(), 0u);
}

TEST_F(MarketOrder, MarketOrderWithNoOppositeOrderIsCancelledForNoLiquidity) {
    given({buy(1, 100, 5).account(7)});
    EXPECT_EQ(
        run(buy(2, 0, 10).account(8).market()),
        (Strings{"Accepted #2 a8 Buy 10@0", "Cancelled #2 a8 Buy 10@0 CANCELLED_NO_LIQUIDITY"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 5@100"}));
}

TEST_F(MarketOrder, ProtectionIsCountedInTicksFromTheBestAskAtArrival) {
    // After the fill at 100 the best ask is 105, but the limit stays 100 + 5 ticks.
    given({sell(1, 100, 5).account(7), sell(2, 105, 5).account(7), sell(3, 106, 5).account(7),
           sell(4, 110, 5).account(7)});
    EXPECT_EQ(run(buy(5, 0, 20).account(8).market()),
              (Strings{"Accepted #5 a8 Buy 20@0",
                       "Trade buy #5 a8 sell #1 a7 5@100 leaves 15/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #5 a8 sell #2 a7 5@105 leaves 10/0 aggressor Buy",
                       "Level Sell 105 total 0 count 0",
                       "Cancelled #5 a8 Buy 10@0 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#3 5@106", "#4 5@110"}));
}

TEST_F(MarketOrder, ProtectionForASellIsCountedDownFromTheBestBid) {
    given({buy(1, 100, 5).account(7), buy(2, 95, 5).account(7), buy(3, 94, 5).account(7)});
    EXPECT_EQ(run(sell(4, 0, 15).account(8).market()),
              (Strings{"Accepted #4 a8 Sell 15@0",
                       "Trade buy #1 a7 sell #4 a8 5@100 leaves 0/10 aggressor Sell",
                       "Level Buy 100 total 0 count 0",
                       "Trade buy #2 a7 sell #4 a8 5@95 leaves 0/5 aggressor Sell",
                       "Level Buy 95 total 0 count 0",
                       "Cancelled #4 a8 Sell 5@0 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#3 5@94"}));
}

TEST_F(MarketOrder, OwnProtectionPriceTightensTheLimit) {
    given({sell(1, 100, 5).account(7), sell(2, 101, 5).account(7), sell(3, 102, 5).account(7)});
    EXPECT_EQ(run(buy(4, 101, 15).account(8).market()),
              (Strings{"Accepted #4 a8 Buy 15@0",
                       "Trade buy #4 a8 sell #1 a7 5@100 leaves 10/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #4 a8 sell #2 a7 5@101 leaves 5/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0",
                       "Cancelled #4 a8 Buy 5@0 CANCELLED_IMMEDIATE_REMAINDER"}));
}

TEST_F(MarketOrder, OwnProtectionPriceLooserThanTheTicksDoesNotWidenTheLimit) {
    given({sell(1, 100, 5).account(7), sell(2, 105, 5).account(7), sell(3, 106, 5).account(7)});
    const std::vector<Event> trades =
        of_type(send(buy(4, 200, 15).account(8).market()), EventType::Trade);
    ASSERT_EQ(trades.size(), 2u);
    EXPECT_EQ(trades[1].price, 105);
    EXPECT_EQ(orders(Side::Sell), (Strings{"#3 5@106"}));
}

TEST_F(MarketOrder, OwnProtectionPriceBeyondTheBestTradesNothing) {
    given({sell(1, 100, 5).account(7), buy(2, 90, 5).account(7)});
    EXPECT_EQ(run(buy(3, 99, 5).account(8).market()),
              (Strings{"Accepted #3 a8 Buy 5@0",
                       "Cancelled #3 a8 Buy 5@0 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_EQ(run(sell(4, 91, 5).account(8).market()),
              (Strings{"Accepted #4 a8 Sell 5@0",
                       "Cancelled #4 a8 Sell 5@0 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@100"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 5@90"}));
}

TEST_F(MarketOrder, OwnProtectionPriceOfASellStopsAtThatBid) {
    given({buy(1, 100, 5).account(7), buy(2, 99, 5).account(7), buy(3, 98, 5).account(7)});
    const std::vector<Event> events = send(sell(4, 99, 15).account(8).market());
    const std::vector<Event> trades = of_type(events, EventType::Trade);
    ASSERT_EQ(trades.size(), 2u);
    EXPECT_EQ(trades[0].price, 100);
    EXPECT_EQ(trades[1].price, 99);
    EXPECT_EQ(describe(events.back()), "Cancelled #4 a8 Sell 5@0 CANCELLED_IMMEDIATE_REMAINDER");
    EXPECT_EQ(orders(Side::Buy), (Strings{"#3 5@98"}));
}

TEST_F(MarketOrder, MarketFillOrKillTradesWholeWithinItsProtection) {
    given({sell(1, 100, 5).account(7), sell(2, 105, 5).account(7)});
    EXPECT_EQ(run(buy(3, 0, 10).account(8).market().tif(TimeInForce::FOK)),
              (Strings{"Accepted #3 a8 Buy 10@0",
                       "Trade buy #3 a8 sell #1 a7 5@100 leaves 5/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #3 a8 sell #2 a7 5@105 leaves 0/0 aggressor Buy",
                       "Level Sell 105 total 0 count 0"}));
}

TEST_F(MarketOrder, MarketFillOrKillBeyondItsProtectionTradesNothing) {
    given({sell(1, 100, 5).account(7), sell(2, 106, 5).account(7)});
    const std::uint64_t hash = engine_.state_hash();
    EXPECT_EQ(
        run(buy(3, 0, 10).account(8).market().tif(TimeInForce::FOK)),
        (Strings{"Accepted #3 a8 Buy 10@0", "Cancelled #3 a8 Buy 10@0 CANCELLED_FILL_OR_KILL"}));
    EXPECT_EQ(engine_.state_hash(), hash);
}

TEST_F(MarketOrder, MarketOrderPassesOverAnAllOrNoneOrderTooLargeForIt) {
    given({sell(1, 100, 20).account(7).all_or_none(), sell(2, 101, 5).account(7)});
    EXPECT_EQ(run(buy(3, 0, 5).account(8).market()),
              (Strings{"Accepted #3 a8 Buy 5@0",
                       "Trade buy #3 a8 sell #2 a7 5@101 leaves 0/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 20@100"}));
}

TEST_F(MarketOrder, MarketOrderFacingOnlyLiquidityItCannotTakeIsCancelledAsARemainder) {
    given({sell(1, 100, 20).account(7).all_or_none()});
    EXPECT_EQ(run(buy(2, 0, 5).account(8).market()),
              (Strings{"Accepted #2 a8 Buy 5@0",
                       "Cancelled #2 a8 Buy 5@0 CANCELLED_IMMEDIATE_REMAINDER"}));
}

class MarketOrderWithBand : public EngineTest {
  protected:
    InstrumentSpec instrument_spec() const override {
        InstrumentSpec s = test_spec();
        s.market_protection_ticks = 1'000;
        s.band_bps = 500;
        return s;
    }
};

TEST_F(MarketOrderWithBand, BandCapsHowHighAMarketBuyTrades) {
    // Placed while there is no reference price, so no band applies to them yet.
    given({sell(1, 10'400, 10).account(7), sell(2, 10'500, 10).account(7),
           sell(3, 10'600, 10).account(7), operator_command(CommandType::SetReference, 1, 10'000)});
    EXPECT_EQ(run(buy(4, 0, 30).account(8).market()),
              (Strings{"Accepted #4 a8 Buy 30@0",
                       "Trade buy #4 a8 sell #1 a7 10@10400 leaves 20/0 aggressor Buy",
                       "Level Sell 10400 total 0 count 0",
                       "Trade buy #4 a8 sell #2 a7 10@10500 leaves 10/0 aggressor Buy",
                       "Level Sell 10500 total 0 count 0",
                       "Cancelled #4 a8 Buy 10@0 CANCELLED_IMMEDIATE_REMAINDER"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#3 10@10600"}));
}

TEST_F(MarketOrderWithBand, BandCapsHowLowAMarketSellTrades) {
    given({buy(1, 9'600, 10).account(7), buy(2, 9'500, 10).account(7), buy(3, 9'400, 10).account(7),
           operator_command(CommandType::SetReference, 1, 10'000)});
    const std::vector<Event> trades =
        of_type(send(sell(4, 0, 30).account(8).market()), EventType::Trade);
    ASSERT_EQ(trades.size(), 2u);
    EXPECT_EQ(trades[0].price, 9'600);
    EXPECT_EQ(trades[1].price, 9'500);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#3 10@9400"}));
}

TEST_F(MarketOrderWithBand, ProtectionBeyondTheEndOfThePriceRangeStopsAtItsEnd) {
    given({sell(1, 99'999, 1).account(7), sell(2, 100'000, 1).account(7)});
    const std::vector<Event> events = send(buy(3, 0, 3).account(8).market());
    EXPECT_EQ(of_type(events, EventType::Trade).size(), 2u);
    EXPECT_EQ(describe(events.back()), "Cancelled #3 a8 Buy 1@0 CANCELLED_IMMEDIATE_REMAINDER");
}

class MarketOrderWithCoarseTicks : public EngineTest {
  protected:
    InstrumentSpec instrument_spec() const override {
        InstrumentSpec s = test_spec();
        s.tick_size = 5;
        s.price_min = 5;
        s.price_max = 100'000;
        s.market_protection_ticks = 1'000;
        s.band_bps = 333;  // 333 fen around 10'000: the edges fall between ticks
        return s;
    }
};

TEST_F(MarketOrderWithCoarseTicks, BandEdgesBetweenTicksRoundInwardForMarketOrders) {
    given({buy(1, 9'670, 1).account(7), buy(2, 9'665, 1).account(7), sell(3, 10'330, 1).account(7),
           sell(4, 10'335, 1).account(7), operator_command(CommandType::SetReference, 1, 10'000)});
    const std::vector<Event> sold = send(sell(5, 0, 2).account(8).market());
    ASSERT_EQ(of_type(sold, EventType::Trade).size(), 1u);
    EXPECT_EQ(of_type(sold, EventType::Trade)[0].price, 9'670);
    // The trade at 9'670 moved the reference; set it back for the buy side.
    given({operator_command(CommandType::SetReference, 1, 10'000)});
    const std::vector<Event> bought = send(buy(6, 0, 2).account(8).market());
    ASSERT_EQ(of_type(bought, EventType::Trade).size(), 1u);
    EXPECT_EQ(of_type(bought, EventType::Trade)[0].price, 10'330);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 1@9665"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#4 1@10335"}));
}

}  // namespace
}  // namespace cpx::testing
