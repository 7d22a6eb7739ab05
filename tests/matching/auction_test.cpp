// The call auction: orders collect without trading, then Uncross picks one price
// (most volume, then least imbalance, then closest to the reference, then lowest),
// allocates in price-time priority on both sides with no aggressor, reports the
// result, and continuous trading resumes.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

class Auction : public EngineTest {
  protected:
    void start() { given({operator_command(CommandType::StartAuction)}); }
    Strings uncross() { return run(operator_command(CommandType::Uncross)); }
    void set_reference(Price price) {
        given({operator_command(CommandType::SetReference, 1, price)});
    }
};

TEST_F(Auction, StartAuctionEntersTheCallPhase) {
    EXPECT_EQ(run(operator_command(CommandType::StartAuction)),
              (Strings{"State CALL_AUCTION ref 0 by StartAuction"}));
    EXPECT_EQ(engine_.state(1), TradingState::CallAuction);
}

TEST_F(Auction, OrdersCollectWithoutTradingAndTheBookMayCross) {
    start();
    given({buy(1, 105, 10).account(7)});
    EXPECT_EQ(run(sell(2, 100, 10).account(8)),
              (Strings{"Accepted #2 a8 Sell 10@100", "Booked #2 a8 Sell 10@100",
                       "Level Sell 100 total 10 count 1"}));
    EXPECT_EQ(engine_.best_price(1, Side::Buy), 105);
    EXPECT_EQ(engine_.best_price(1, Side::Sell), 100);
    EXPECT_EQ(engine_.reference_price(1), 0);
}

TEST_F(Auction, CancelIsAllowedInTheCallPhase) {
    start();
    given({buy(1, 105, 10).account(7)});
    EXPECT_EQ(run(cancel(1, 7)), (Strings{"Cancelled #1 a7 Buy 10@105 CANCELLED_BY_USER",
                                          "Level Buy 105 total 0 count 0"}));
}

TEST_F(Auction, NoCancelPhaseRefusesCancelsButStillCollectsOrders) {
    start();
    given({buy(1, 105, 10).account(7)});
    EXPECT_EQ(run(operator_command(CommandType::FreezeAuction)),
              (Strings{"State AUCTION_NO_CANCEL ref 0 by FreezeAuction"}));
    expect_rejected(cancel(1, 7), Reason::CancelNotAllowedInNoCancelPhase);
    EXPECT_EQ(run(sell(2, 100, 10).account(8)),
              (Strings{"Accepted #2 a8 Sell 10@100", "Booked #2 a8 Sell 10@100",
                       "Level Sell 100 total 10 count 1"}));
}

TEST_F(Auction, UncrossPicksThePriceThatMaximisesVolume) {
    // Volume is 15 at 99 and 100, 20 at 101 and 10 at 102.
    start();
    given({buy(1, 102, 10).account(7), buy(2, 101, 10).account(7), sell(3, 99, 15).account(8),
           sell(4, 101, 5).account(8)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #1 a7 sell #3 a8 10@101 leaves 0/5 aggressor None",
                                  "Level Buy 102 total 0 count 0",
                                  "Trade buy #2 a7 sell #3 a8 5@101 leaves 5/0 aggressor None",
                                  "Level Sell 99 total 0 count 0",
                                  "Trade buy #2 a7 sell #4 a8 5@101 leaves 0/0 aggressor None",
                                  "Level Buy 101 total 0 count 0", "Level Sell 101 total 0 count 0",
                                  "Auction 101 volume 20 surplus 0 None",
                                  "State CONTINUOUS ref 101 by Uncross"}));
    EXPECT_EQ(engine_.state(1), TradingState::Continuous);
    EXPECT_EQ(engine_.reference_price(1), 101);
    EXPECT_EQ(engine_.resting_orders(), 0u);
}

TEST_F(Auction, LeastImbalanceBreaksAVolumeTieBeforeTheReference) {
    // 10 trade at 100, 101 and 102; the imbalance is 5 at 100 and 0 at 101 and 102.
    // The reference 100 would favour 100, but the imbalance comes first, and of 101 and
    // 102 the one closer to the reference wins.
    start();
    set_reference(100);
    given({buy(1, 102, 10).account(7), buy(2, 100, 5).account(7), sell(3, 100, 10).account(8)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #1 a7 sell #3 a8 10@101 leaves 0/0 aggressor None",
                                  "Level Buy 102 total 0 count 0", "Level Sell 100 total 0 count 0",
                                  "Auction 101 volume 10 surplus 0 None",
                                  "State CONTINUOUS ref 101 by Uncross"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 5@100"}));
}

TEST_F(Auction, ReferenceStrictlyBetweenTwoLimitPricesIsChosen) {
    start();
    set_reference(104);
    given({buy(1, 110, 10).account(7), sell(2, 100, 10).account(8)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #1 a7 sell #2 a8 10@104 leaves 0/0 aggressor None",
                                  "Level Buy 110 total 0 count 0", "Level Sell 100 total 0 count 0",
                                  "Auction 104 volume 10 surplus 0 None",
                                  "State CONTINUOUS ref 104 by Uncross"}));
}

TEST_F(Auction, ReferenceAboveTheCrossPicksItsHighestPrice) {
    start();
    set_reference(120);
    given({buy(1, 110, 10).account(7), sell(2, 100, 10).account(8)});
    EXPECT_EQ(uncross()[0], "Trade buy #1 a7 sell #2 a8 10@110 leaves 0/0 aggressor None");
}

TEST_F(Auction, ReferenceBelowTheCrossPicksItsLowestPrice) {
    start();
    set_reference(90);
    given({buy(1, 110, 10).account(7), sell(2, 100, 10).account(8)});
    EXPECT_EQ(uncross()[0], "Trade buy #1 a7 sell #2 a8 10@100 leaves 0/0 aggressor None");
}

TEST_F(Auction, WithoutAReferenceTheLowestOfEquallyGoodPricesIsChosen) {
    start();
    given({buy(1, 110, 10).account(7), sell(2, 100, 10).account(8)});
    EXPECT_EQ(uncross()[0], "Trade buy #1 a7 sell #2 a8 10@100 leaves 0/0 aggressor None");
}

TEST_F(Auction, ReferenceInsideAGapIsChosenWithCoarseTicks) {
    RecordingSink sink;
    Engine engine({16}, sink);
    InstrumentSpec s = test_spec();
    s.tick_size = 5;
    s.price_min = 5;
    s.price_max = 100'000;
    s.initial_state = TradingState::CallAuction;
    s.reference_price = 10'020;
    ASSERT_EQ(engine.add_instrument(s), Reason::None);
    engine.apply(buy(1, 10'050, 10).account(7));
    engine.apply(sell(2, 10'000, 10).account(8));
    sink.take();
    engine.apply(operator_command(CommandType::Uncross));
    const std::vector<Event> results = of_type(sink.take(), EventType::AuctionResult);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(describe(results[0]), "Auction 10020 volume 10 surplus 0 None");
}

TEST_F(Auction, AllocationFollowsPriceThenTimePriorityOnBothSides) {
    // Bid #1 came first but at a lower price, so #2 and then #3 are filled before it.
    // Volume is 8 at 99, 100 and 101; the imbalance is smallest (2) at 101.
    start();
    given({buy(1, 100, 5).account(1), buy(2, 101, 5).account(2), buy(3, 101, 5).account(3),
           sell(4, 99, 8).account(4)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #2 a2 sell #4 a4 5@101 leaves 0/3 aggressor None",
                                  "Trade buy #3 a3 sell #4 a4 3@101 leaves 2/0 aggressor None",
                                  "Level Buy 101 total 2 count 1", "Level Sell 99 total 0 count 0",
                                  "Auction 101 volume 8 surplus 2 Buy",
                                  "State CONTINUOUS ref 101 by Uncross"}));
    EXPECT_EQ(orders(Side::Buy), (Strings{"#3 2@101", "#1 5@100"}));
}

TEST_F(Auction, AllocationAtOneLevelFollowsTimePriority) {
    start();
    given({sell(1, 100, 5).account(1), sell(2, 100, 5).account(2), sell(3, 100, 5).account(3),
           buy(4, 100, 7).account(4)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #4 a4 sell #1 a1 5@100 leaves 2/0 aggressor None",
                                  "Trade buy #4 a4 sell #2 a2 2@100 leaves 0/3 aggressor None",
                                  "Level Buy 100 total 0 count 0", "Level Sell 100 total 8 count 2",
                                  "Auction 100 volume 7 surplus 8 Sell",
                                  "State CONTINUOUS ref 100 by Uncross"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 3@100", "#3 5@100"}));
}

TEST_F(Auction, SurplusOnTheSellSideIsReported) {
    // Volume is 4 at 99 and at 100; the imbalance is 1 at 99 and 6 at 100.
    start();
    given({buy(1, 100, 4).account(7), sell(2, 99, 5).account(8), sell(3, 100, 5).account(8)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #1 a7 sell #2 a8 4@99 leaves 0/1 aggressor None",
                                  "Level Buy 100 total 0 count 0", "Level Sell 99 total 1 count 1",
                                  "Auction 99 volume 4 surplus 1 Sell",
                                  "State CONTINUOUS ref 99 by Uncross"}));
}

TEST_F(Auction, UncrossWithoutACrossTradesNothingAndKeepsTheReference) {
    start();
    set_reference(100);
    given({buy(1, 99, 5).account(7), sell(2, 101, 5).account(8)});
    const std::uint64_t hash_orders = engine_.instrument_hash(1);
    EXPECT_EQ(uncross(), (Strings{"Auction 0 volume 0 surplus 0 None",
                                  "State CONTINUOUS ref 100 by Uncross"}));
    EXPECT_NE(engine_.instrument_hash(1), hash_orders);  // the state changed
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 5@99"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#2 5@101"}));
    EXPECT_EQ(engine_.reference_price(1), 100);
}

TEST_F(Auction, UncrossOfAnEmptyBookOnlyReportsAndReturnsToContinuous) {
    start();
    EXPECT_EQ(uncross(),
              (Strings{"Auction 0 volume 0 surplus 0 None", "State CONTINUOUS ref 0 by Uncross"}));
}

TEST_F(Auction, ConstrainedRestingOrdersSitOutTheUncrossAndKeepTheirPlace) {
    given({sell(1, 100, 10).account(7).all_or_none(), sell(2, 100, 10).account(7).min_quantity(5)});
    start();
    given({buy(3, 101, 10).account(8), sell(4, 100, 4).account(9)});
    EXPECT_EQ(
        uncross(),
        (Strings{"Trade buy #3 a8 sell #4 a9 4@100 leaves 6/0 aggressor None",
                 "Level Buy 101 total 6 count 1", "Level Sell 100 total 20 count 2",
                 "Auction 100 volume 4 surplus 6 Buy", "State CONTINUOUS ref 100 by Uncross"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 10@100", "#2 10@100"}));
    // Back in continuous trading they trade with arrivals as usual.
    EXPECT_EQ(run(buy(5, 100, 10).account(8)),
              (Strings{"Accepted #5 a8 Buy 10@100",
                       "Trade buy #5 a8 sell #1 a7 10@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 10 count 1"}));
}

TEST_F(Auction, OnlyConstrainedOrdersCrossingMeansNoAuctionTrade) {
    given({sell(1, 100, 10).account(7).all_or_none()});
    start();
    given({buy(2, 101, 5).account(8)});
    EXPECT_EQ(uncross(),
              (Strings{"Auction 0 volume 0 surplus 0 None", "State CONTINUOUS ref 0 by Uncross"}));
    EXPECT_EQ(engine_.resting_orders(), 2u);
}

TEST_F(Auction, UncrossFromTheNoCancelPhaseWorksTheSame) {
    start();
    given({buy(1, 100, 5).account(7), sell(2, 100, 5).account(8),
           operator_command(CommandType::FreezeAuction)});
    EXPECT_EQ(uncross(), (Strings{"Trade buy #1 a7 sell #2 a8 5@100 leaves 0/0 aggressor None",
                                  "Level Buy 100 total 0 count 0", "Level Sell 100 total 0 count 0",
                                  "Auction 100 volume 5 surplus 0 None",
                                  "State CONTINUOUS ref 100 by Uncross"}));
}

TEST_F(Auction, ContinuousMatchingResumesAfterTheUncross) {
    start();
    given({buy(1, 101, 10).account(7), sell(2, 100, 4).account(8),
           operator_command(CommandType::Uncross)});
    ASSERT_EQ(orders(Side::Buy), (Strings{"#1 6@101"}));
    EXPECT_EQ(run(sell(3, 101, 6).account(9)),
              (Strings{"Accepted #3 a9 Sell 6@101",
                       "Trade buy #1 a7 sell #3 a9 6@101 leaves 0/0 aggressor Sell",
                       "Level Buy 101 total 0 count 0"}));
}

TEST_F(Auction, GoodTillDateOrdersRestInTheCallPhaseAndExpireThere) {
    start();
    given({buy(1, 101, 10).account(7).gtd(1'000)});
    EXPECT_EQ(run(tick(1'000)), (Strings{"Cancelled #1 a7 Buy 10@101 CANCELLED_EXPIRED",
                                         "Level Buy 101 total 0 count 0"}));
}

TEST(AuctionListing, InstrumentListedInTheCallPhaseCollectsOrdersFromTheStart) {
    RecordingSink sink;
    Engine engine({16}, sink);
    InstrumentSpec s = test_spec();
    s.initial_state = TradingState::CallAuction;
    ASSERT_EQ(engine.add_instrument(s), Reason::None);
    engine.apply(buy(1, 101, 10).account(7));
    engine.apply(sell(2, 100, 10).account(8));
    EXPECT_TRUE(of_type(sink.take(), EventType::Trade).empty());
    engine.apply(operator_command(CommandType::Uncross));
    EXPECT_EQ(of_type(sink.take(), EventType::Trade).size(), 1u);
    EXPECT_EQ(engine.state(1), TradingState::Continuous);
}

}  // namespace
}  // namespace cpx::testing
