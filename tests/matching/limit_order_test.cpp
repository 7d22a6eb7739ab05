// Limit orders in continuous trading: price-time priority, partial fills, the price a
// trade prints at, the market-by-order and market-by-price events, event numbering,
// cancels, and the isolation of instruments from one another.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

using LimitOrder = EngineTest;

TEST_F(LimitOrder, NonCrossingSellIsBookedWithALevelUpdate) {
    EXPECT_EQ(run(sell(1, 100, 10).account(7)),
              (Strings{"Accepted #1 a7 Sell 10@100", "Booked #1 a7 Sell 10@100",
                       "Level Sell 100 total 10 count 1"}));
    EXPECT_EQ(engine_.best_price(1, Side::Sell), 100);
    EXPECT_FALSE(engine_.best_price(1, Side::Buy).has_value());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100"}));
    EXPECT_EQ(levels(Side::Sell), (Strings{"100 10/1"}));
    EXPECT_EQ(engine_.resting_orders(), 1u);
}

TEST_F(LimitOrder, SecondOrderAtALevelJoinsTheBackOfItsQueue) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(sell(2, 100, 5).account(8)),
              (Strings{"Accepted #2 a8 Sell 5@100", "Booked #2 a8 Sell 5@100",
                       "Level Sell 100 total 15 count 2"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100", "#2 5@100"}));
}

TEST_F(LimitOrder, NonCrossingBidAndAskBothRest) {
    given({buy(1, 99, 10).account(7)});
    EXPECT_EQ(run(sell(2, 100, 10).account(8)),
              (Strings{"Accepted #2 a8 Sell 10@100", "Booked #2 a8 Sell 10@100",
                       "Level Sell 100 total 10 count 1"}));
    EXPECT_EQ(engine_.best_price(1, Side::Buy), 99);
    EXPECT_EQ(engine_.best_price(1, Side::Sell), 100);
}

TEST_F(LimitOrder, CrossingBuyTradesAtTheRestingPriceNotItsOwn) {
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(buy(2, 105, 10).account(8)),
              (Strings{"Accepted #2 a8 Buy 10@105",
                       "Trade buy #2 a8 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));
    EXPECT_TRUE(orders(Side::Sell).empty());
    EXPECT_TRUE(orders(Side::Buy).empty());
    EXPECT_EQ(engine_.resting_orders(), 0u);
    EXPECT_EQ(engine_.reference_price(1), 100);
}

TEST_F(LimitOrder, CrossingSellTradesAtTheRestingBidAndReportsTheBuyerFirst) {
    given({buy(1, 105, 10).account(7)});
    EXPECT_EQ(run(sell(2, 100, 4).account(8)),
              (Strings{"Accepted #2 a8 Sell 4@100",
                       "Trade buy #1 a7 sell #2 a8 4@105 leaves 6/0 aggressor Sell",
                       "Level Buy 105 total 6 count 1"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 6@105"}));
    EXPECT_EQ(engine_.reference_price(1), 105);
}

TEST_F(LimitOrder, BetterPricedAskLevelsTradeFirstWhateverTheirArrival) {
    given({sell(1, 102, 5).account(7), sell(2, 100, 5).account(7), sell(3, 101, 5).account(7)});
    EXPECT_EQ(run(buy(4, 102, 15).account(8)),
              (Strings{"Accepted #4 a8 Buy 15@102",
                       "Trade buy #4 a8 sell #2 a7 5@100 leaves 10/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #4 a8 sell #3 a7 5@101 leaves 5/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0",
                       "Trade buy #4 a8 sell #1 a7 5@102 leaves 0/0 aggressor Buy",
                       "Level Sell 102 total 0 count 0"}));
    EXPECT_EQ(engine_.reference_price(1), 102);
}

TEST_F(LimitOrder, HigherBidLevelsTradeFirstAgainstAnIncomingSell) {
    given({buy(1, 98, 5).account(7), buy(2, 100, 5).account(7), buy(3, 99, 5).account(7)});
    EXPECT_EQ(run(sell(4, 99, 12).account(8)),
              (Strings{"Accepted #4 a8 Sell 12@99",
                       "Trade buy #2 a7 sell #4 a8 5@100 leaves 0/7 aggressor Sell",
                       "Level Buy 100 total 0 count 0",
                       "Trade buy #3 a7 sell #4 a8 5@99 leaves 0/2 aggressor Sell",
                       "Level Buy 99 total 0 count 0", "Booked #4 a8 Sell 2@99",
                       "Level Sell 99 total 2 count 1"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 5@98"}));
}

TEST_F(LimitOrder, WithinALevelTheEarlierOrderTradesFirst) {
    given({sell(1, 100, 5).account(7), sell(2, 100, 5).account(8), sell(3, 100, 5).account(9)});
    EXPECT_EQ(run(buy(4, 100, 7).account(1)),
              (Strings{"Accepted #4 a1 Buy 7@100",
                       "Trade buy #4 a1 sell #1 a7 5@100 leaves 2/0 aggressor Buy",
                       "Trade buy #4 a1 sell #2 a8 2@100 leaves 0/3 aggressor Buy",
                       "Level Sell 100 total 8 count 2"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 3@100", "#3 5@100"}));
}

TEST_F(LimitOrder, PartiallyFilledRestingOrderKeepsItsPlaceAtTheFront) {
    given({sell(1, 100, 10).account(7), sell(2, 100, 10).account(7), buy(3, 100, 4).account(8)});
    ASSERT_EQ(orders(Side::Sell), (Strings{"#1 6@100", "#2 10@100"}));
    EXPECT_EQ(run(buy(4, 100, 8).account(8)),
              (Strings{"Accepted #4 a8 Buy 8@100",
                       "Trade buy #4 a8 sell #1 a7 6@100 leaves 2/0 aggressor Buy",
                       "Trade buy #4 a8 sell #2 a7 2@100 leaves 0/8 aggressor Buy",
                       "Level Sell 100 total 8 count 1"}));
}

TEST_F(LimitOrder, RemainderOfACrossingOrderRestsAtItsOwnLimit) {
    given({sell(1, 100, 5).account(7), sell(2, 101, 5).account(7), sell(3, 103, 5).account(7)});
    EXPECT_EQ(run(buy(4, 101, 20).account(8)),
              (Strings{"Accepted #4 a8 Buy 20@101",
                       "Trade buy #4 a8 sell #1 a7 5@100 leaves 15/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0",
                       "Trade buy #4 a8 sell #2 a7 5@101 leaves 10/0 aggressor Buy",
                       "Level Sell 101 total 0 count 0", "Booked #4 a8 Buy 10@101",
                       "Level Buy 101 total 10 count 1"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#4 10@101"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#3 5@103"}));
}

TEST_F(LimitOrder, EventsAreNumberedFromOneWithoutGapsAndCarryTheCommandTime) {
    const std::vector<Command> commands = {
        sell(1, 100, 10).account(7).at(10),
        buy(2, 0, 10).account(8).at(20),  // rejected: invalid price
        tick(25),                         // no event
        buy(3, 100, 4).account(8).at(30),
        timed(cancel(1, 7), 40),
    };
    for (const Command& c : commands) {
        engine_.apply(c);
    }
    // Accepted, Booked, Level; Rejected; nothing; Accepted, Trade, Level; Cancelled, Level.
    const std::vector<Timestamp> expected_ts = {10, 10, 10, 20, 30, 30, 30, 40, 40};
    ASSERT_EQ(sink_.all.size(), expected_ts.size());
    for (std::size_t i = 0; i < sink_.all.size(); ++i) {
        EXPECT_EQ(sink_.all[i].seq, i + 1) << describe(sink_.all[i]);
        EXPECT_EQ(sink_.all[i].ts_ns, expected_ts[i]) << describe(sink_.all[i]);
    }
    EXPECT_EQ(engine_.last_sequence(), sink_.all.size());
}

// Counts publish calls, to see a long command split across several batches.
class CountingSink final : public EventSink {
  public:
    void publish(const Event* events, std::size_t count) override {
        ++calls;
        all.insert(all.end(), events, events + count);
    }
    std::size_t calls = 0;
    std::vector<Event> all;
};

TEST(LimitOrderBatches, CommandWithManyEventsIsPublishedInSeveralCallsWithoutGaps) {
    CountingSink sink;
    Engine engine({1024}, sink);
    ASSERT_EQ(engine.add_instrument(test_spec()), Reason::None);
    for (OrderId id = 1; id <= 300; ++id) {
        engine.apply(sell(id, 100 + static_cast<Price>(id), 1).account(7));
    }
    sink.calls = 0;
    sink.all.clear();
    const Sequence first = engine.last_sequence() + 1;

    engine.apply(buy(1'000, 400, 300).account(8));
    // One Accepted, then a Trade and a LevelUpdate for each of the 300 levels.
    ASSERT_EQ(sink.all.size(), 601u);
    EXPECT_EQ(sink.calls, 3u);
    for (std::size_t i = 0; i < sink.all.size(); ++i) {
        EXPECT_EQ(sink.all[i].seq, first + i);
    }
    EXPECT_EQ(describe(sink.all[599]),
              "Trade buy #1000 a8 sell #300 a7 1@400 leaves 0/0 aggressor Buy");
    EXPECT_EQ(describe(sink.all[600]), "Level Sell 400 total 0 count 0");
    EXPECT_EQ(engine.resting_orders(), 0u);
}

TEST_F(LimitOrder, InstrumentsDoNotTradeWithEachOther) {
    ASSERT_EQ(engine_.add_instrument(test_spec(2)), Reason::None);
    given({sell(1, 100, 10).account(7)});
    EXPECT_EQ(run(buy(2, 100, 10).account(8).instrument(2)),
              (Strings{"[2] Accepted #2 a8 Buy 10@100", "[2] Booked #2 a8 Buy 10@100",
                       "[2] Level Buy 100 total 10 count 1"}));
    EXPECT_EQ(run(buy(3, 100, 10).account(8)),
              (Strings{"Accepted #3 a8 Buy 10@100",
                       "Trade buy #3 a8 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));
    EXPECT_EQ(orders(Side::Buy, 2), (Strings{"#2 10@100"}));
    EXPECT_TRUE(orders(Side::Buy, 1).empty());
    EXPECT_EQ(engine_.reference_price(1), 100);
    EXPECT_EQ(engine_.reference_price(2), 0);
    EXPECT_EQ(engine_.resting_orders(), 1u);
}

TEST_F(LimitOrder, CancelRemovesTheOrderAndUpdatesItsLevel) {
    given({sell(1, 100, 10).account(7), sell(2, 100, 5).account(7)});
    EXPECT_EQ(run(cancel(1, 7)), (Strings{"Cancelled #1 a7 Sell 10@100 CANCELLED_BY_USER",
                                          "Level Sell 100 total 5 count 1"}));
    EXPECT_FALSE(engine_.find_order(1).has_value());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 5@100"}));
    EXPECT_EQ(engine_.resting_orders(), 1u);
}

TEST_F(LimitOrder, CancelAfterAPartialFillCancelsOnlyTheOpenQuantity) {
    given({sell(1, 100, 10).account(7), buy(2, 100, 4).account(8)});
    EXPECT_EQ(run(cancel(1, 7)), (Strings{"Cancelled #1 a7 Sell 6@100 CANCELLED_BY_USER",
                                          "Level Sell 100 total 0 count 0"}));
    EXPECT_FALSE(engine_.best_price(1, Side::Sell).has_value());
}

TEST_F(LimitOrder, CancellingAMiddleOrderKeepsTheOthersInTheirOrder) {
    given({buy(1, 100, 1).account(7), buy(2, 100, 2).account(7), buy(3, 100, 3).account(7),
           cancel(2, 7)});
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 1@100", "#3 3@100"}));
    EXPECT_EQ(run(sell(4, 100, 4).account(8)),
              (Strings{"Accepted #4 a8 Sell 4@100",
                       "Trade buy #1 a7 sell #4 a8 1@100 leaves 0/3 aggressor Sell",
                       "Trade buy #3 a7 sell #4 a8 3@100 leaves 0/0 aggressor Sell",
                       "Level Buy 100 total 0 count 0"}));
}

TEST_F(LimitOrder, CancellingTheLastOrderOfTheBestLevelMovesTheBestPrice) {
    given({buy(1, 101, 1).account(7), buy(2, 97, 2).account(7), buy(3, 99, 3).account(7)});
    ASSERT_EQ(engine_.best_price(1, Side::Buy), 101);
    given({cancel(1, 7)});
    EXPECT_EQ(engine_.best_price(1, Side::Buy), 99);
    EXPECT_EQ(levels(Side::Buy), (Strings{"99 3/1", "97 2/1"}));
    given({cancel(3, 7), cancel(2, 7)});
    EXPECT_FALSE(engine_.best_price(1, Side::Buy).has_value());
    EXPECT_TRUE(levels(Side::Buy).empty());
}

TEST_F(LimitOrder, AccountZeroIsAnOrdinaryAccount) {
    given({sell(1, 100, 10).account(0)});
    EXPECT_EQ(run(cancel(1, 0)), (Strings{"Cancelled #1 a0 Sell 10@100 CANCELLED_BY_USER",
                                          "Level Sell 100 total 0 count 0"}));
}

TEST_F(LimitOrder, DepthStopsAtTheRequestedNumberOfLevels) {
    given({sell(1, 102, 1).account(7), sell(2, 100, 2).account(7), sell(3, 101, 3).account(7),
           sell(4, 100, 4).account(7)});
    const std::vector<LevelView> top = engine_.depth(1, Side::Sell, 2);
    ASSERT_EQ(top.size(), 2u);
    EXPECT_EQ(top[0].price, 100);
    EXPECT_EQ(top[0].total, 6);
    EXPECT_EQ(top[0].order_count, 2u);
    EXPECT_EQ(top[1].price, 101);
    EXPECT_EQ(top[1].total, 3);
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 2@100", "#4 4@100", "#3 3@101", "#1 1@102"}));
}

TEST_F(LimitOrder, FindOrderDescribesARestingOrder) {
    given({sell(5, 120, 30).account(9).gtd(5'000).min_quantity(10)});
    const std::optional<OrderView> o = engine_.find_order(5);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->id, 5u);
    EXPECT_EQ(o->account, 9u);
    EXPECT_EQ(o->side, Side::Sell);
    EXPECT_EQ(o->price, 120);
    EXPECT_EQ(o->leaves, 30);
    EXPECT_EQ(o->min_quantity, 10);
    EXPECT_EQ(o->expiry_ns, 5'000);
    EXPECT_EQ(o->flags, std::uint8_t{0});
    EXPECT_FALSE(engine_.find_order(0).has_value());
    EXPECT_FALSE(engine_.find_order(6).has_value());
}

TEST_F(LimitOrder, QueriesAboutAnUnknownInstrumentAreEmpty) {
    EXPECT_FALSE(engine_.has_instrument(9));
    EXPECT_EQ(engine_.spec(9), nullptr);
    EXPECT_FALSE(engine_.state(9).has_value());
    EXPECT_FALSE(engine_.reference_price(9).has_value());
    EXPECT_FALSE(engine_.best_price(9, Side::Buy).has_value());
    EXPECT_TRUE(engine_.depth(9, Side::Buy, 10).empty());
    EXPECT_TRUE(engine_.orders(9, Side::Sell).empty());
}

}  // namespace
}  // namespace cpx::testing
