// The price band around the reference price, how the reference moves, and the
// operator states that stop trading: Halted (with or without cancelling the book),
// Closed, and the ways back to trading.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

// A 10% band around a reference price of 10'000.
class Band : public EngineTest {
  protected:
    InstrumentSpec instrument_spec() const override {
        InstrumentSpec s = test_spec();
        s.band_bps = 1'000;
        s.reference_price = 10'000;
        return s;
    }
};

TEST_F(Band, BandIsMeasuredAroundTheReferencePriceOnBothSides) {
    EXPECT_EQ(run(buy(1, 9'000, 1).account(7))[0], "Accepted #1 a7 Buy 1@9000");
    expect_rejected(buy(2, 8'999, 1).account(7), Reason::PriceOutsideBand);
    EXPECT_EQ(run(sell(3, 11'000, 1).account(7))[0], "Accepted #3 a7 Sell 1@11000");
    expect_rejected(sell(4, 11'001, 1).account(7), Reason::PriceOutsideBand);
    // The band applies to both sides alike: a sell far below is refused too.
    expect_rejected(sell(5, 8'999, 1).account(7), Reason::PriceOutsideBand);
}

TEST_F(Band, BandWidthIsRoundedDownToWholeFen) {
    // 10'005 * 10% = 1'000.5 fen, so the band is 9'005..11'005.
    given({operator_command(CommandType::SetReference, 1, 10'005)});
    EXPECT_EQ(run(sell(1, 11'005, 1).account(7))[0], "Accepted #1 a7 Sell 1@11005");
    expect_rejected(sell(2, 11'006, 1).account(7), Reason::PriceOutsideBand);
    EXPECT_EQ(run(buy(3, 9'005, 1).account(7))[0], "Accepted #3 a7 Buy 1@9005");
    expect_rejected(buy(4, 9'004, 1).account(7), Reason::PriceOutsideBand);
}

TEST_F(Band, ReferenceFollowsTheLastTradePriceAndTheBandMovesWithIt) {
    given({sell(1, 10'500, 5).account(7), sell(2, 10'600, 5).account(7),
           buy(3, 10'600, 10).account(8)});
    EXPECT_EQ(engine_.reference_price(1), 10'600);
    // 10% of 10'600 is 1'060: the band is now 9'540..11'660.
    EXPECT_EQ(run(buy(4, 9'540, 1).account(8))[0], "Accepted #4 a8 Buy 1@9540");
    expect_rejected(buy(5, 9'539, 1).account(8), Reason::PriceOutsideBand);
    EXPECT_EQ(run(sell(6, 11'660, 1).account(7))[0], "Accepted #6 a7 Sell 1@11660");
}

TEST_F(Band, SetReferenceMovesTheBandAndIsReported) {
    EXPECT_EQ(run(operator_command(CommandType::SetReference, 1, 12'000)),
              (Strings{"State CONTINUOUS ref 12000 by SetReference"}));
    EXPECT_EQ(engine_.reference_price(1), 12'000);
    EXPECT_EQ(engine_.state(1), TradingState::Continuous);
    expect_rejected(buy(1, 10'799, 1).account(7), Reason::PriceOutsideBand);
    EXPECT_EQ(run(buy(2, 10'800, 1).account(7))[0], "Accepted #2 a7 Buy 1@10800");
}

TEST_F(Band, SetReferenceWorksInEveryState) {
    given({operator_command(CommandType::Halt)});
    EXPECT_EQ(run(operator_command(CommandType::SetReference, 1, 9'000)),
              (Strings{"State HALTED ref 9000 by SetReference"}));
    given({operator_command(CommandType::Close)});
    EXPECT_EQ(run(operator_command(CommandType::SetReference, 1, 9'500)),
              (Strings{"State CLOSED ref 9500 by SetReference"}));
    given({operator_command(CommandType::StartAuction)});
    EXPECT_EQ(run(operator_command(CommandType::SetReference, 1, 9'600)),
              (Strings{"State CALL_AUCTION ref 9600 by SetReference"}));
}

TEST_F(Band, RestingOrdersOutsideANewBandStayAndCanBeCancelled) {
    given({sell(1, 10'900, 5).account(7), operator_command(CommandType::SetReference, 1, 9'000)});
    EXPECT_EQ(orders(Side::Sell), (Strings{"#1 5@10900"}));
    // Growing at the old price re-enters the book there, so the band now in force
    // refuses it; shrinking in place only lowers the offer, so the band allows it.
    expect_rejected(replace(1, 10'900, 6, 7), Reason::PriceOutsideBand);
    EXPECT_EQ(run(replace(1, 10'900, 3, 7)),
              (Strings{"Replaced #1 a7 Sell 3@10900 from 5 priority kept",
                       "Level Sell 10900 total 3 count 1"}));
    EXPECT_EQ(run(cancel(1, 7)), (Strings{"Cancelled #1 a7 Sell 3@10900 CANCELLED_BY_USER",
                                          "Level Sell 10900 total 0 count 0"}));
}

TEST_F(Band, ReplaceToAPriceOutsideTheBandIsRejected) {
    given({sell(1, 10'900, 5).account(7)});
    expect_rejected(replace(1, 11'100, 5, 7), Reason::PriceOutsideBand);
}

TEST(BandDisabled, WithoutAReferencePriceAnyPriceInTheRangeIsAccepted) {
    RecordingSink sink;
    Engine engine({16}, sink);
    InstrumentSpec s = test_spec();
    s.band_bps = 1'000;
    s.reference_price = 0;
    ASSERT_EQ(engine.add_instrument(s), Reason::None);
    engine.apply(buy(1, 1, 1).account(7));
    engine.apply(sell(2, 100'000, 1).account(7));
    EXPECT_EQ(engine.resting_orders(), 2u);
}

TEST(BandDisabled, ZeroBasisPointsMeansNoBandEvenWithAReference) {
    RecordingSink sink;
    Engine engine({16}, sink);
    InstrumentSpec s = test_spec();
    s.band_bps = 0;
    s.reference_price = 10'000;
    ASSERT_EQ(engine.add_instrument(s), Reason::None);
    engine.apply(buy(1, 1, 1).account(7));
    engine.apply(sell(2, 100'000, 1).account(7));
    EXPECT_EQ(engine.resting_orders(), 2u);
}

class Halt : public EngineTest {
  protected:
    void SetUp() override {
        EngineTest::SetUp();
        given({buy(1, 100, 1).account(7), buy(2, 99, 2).account(8), sell(3, 101, 3).account(7),
               sell(4, 101, 4).account(8)});
    }
};

TEST_F(Halt, HaltRefusesNewOrdersAndReplacesButKeepsTheBook) {
    EXPECT_EQ(run(operator_command(CommandType::Halt)), (Strings{"State HALTED ref 0 by Halt"}));
    EXPECT_EQ(engine_.state(1), TradingState::Halted);
    expect_rejected(buy(5, 101, 1).account(9), Reason::InstrumentHalted);
    expect_rejected(replace(1, 100, 1'000, 7), Reason::InstrumentHalted);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#1 1@100", "#2 2@99"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#3 3@101", "#4 4@101"}));
}

TEST_F(Halt, CancelIsAllowedWhileHalted) {
    given({operator_command(CommandType::Halt)});
    EXPECT_EQ(run(cancel(3, 7)), (Strings{"Cancelled #3 a7 Sell 3@101 CANCELLED_BY_USER",
                                          "Level Sell 101 total 4 count 1"}));
}

TEST_F(Halt, HaltWithTheCancelFlagCancelsEveryRestingOrder) {
    EXPECT_EQ(
        run(operator_command(CommandType::Halt, 1, 1)),
        (Strings{"State HALTED ref 0 by Halt", "Cancelled #1 a7 Buy 1@100 CANCELLED_HALT",
                 "Level Buy 100 total 0 count 0", "Cancelled #2 a8 Buy 2@99 CANCELLED_HALT",
                 "Level Buy 99 total 0 count 0", "Cancelled #3 a7 Sell 3@101 CANCELLED_HALT",
                 "Cancelled #4 a8 Sell 4@101 CANCELLED_HALT", "Level Sell 101 total 0 count 0"}));
    EXPECT_EQ(engine_.resting_orders(), 0u);
    EXPECT_EQ(engine_.state(1), TradingState::Halted);
}

TEST_F(Halt, ResumeReturnsToContinuousTradingWithTheBookAsItWas) {
    given({operator_command(CommandType::Halt)});
    EXPECT_EQ(run(operator_command(CommandType::Resume)),
              (Strings{"State CONTINUOUS ref 0 by Resume"}));
    EXPECT_EQ(run(buy(5, 101, 3).account(9)),
              (Strings{"Accepted #5 a9 Buy 3@101",
                       "Trade buy #5 a9 sell #3 a7 3@101 leaves 0/0 aggressor Buy",
                       "Level Sell 101 total 4 count 1"}));
}

TEST_F(Halt, HaltOfOneInstrumentLeavesTheOthersTrading) {
    ASSERT_EQ(engine_.add_instrument(test_spec(2)), Reason::None);
    given({operator_command(CommandType::Halt, 1, 1)});
    EXPECT_EQ(engine_.state(2), TradingState::Continuous);
    EXPECT_EQ(run(buy(5, 100, 1).account(9).instrument(2))[0], "[2] Accepted #5 a9 Buy 1@100");
}

TEST_F(Halt, GoodTillDateOrdersStillExpireWhileHalted) {
    given({sell(5, 110, 1).account(7).gtd(1'000), operator_command(CommandType::Halt)});
    EXPECT_EQ(run(tick(1'000)), (Strings{"Cancelled #5 a7 Sell 1@110 CANCELLED_EXPIRED",
                                         "Level Sell 110 total 0 count 0"}));
}

TEST_F(Halt, CallAuctionCannotBeHaltedSoItsCrossedBookNeverResumesUnmatched) {
    // Resuming a halted call auction would bring a crossed book into continuous
    // trading, so both auction phases refuse Halt; the operator uncrosses or closes.
    given({operator_command(CommandType::StartAuction), buy(5, 102, 2).account(9)});
    expect_rejected(operator_command(CommandType::Halt), Reason::InvalidStateTransition);
    expect_rejected(operator_command(CommandType::Halt, 1, 1), Reason::InvalidStateTransition);
    given({operator_command(CommandType::FreezeAuction)});
    expect_rejected(operator_command(CommandType::Halt), Reason::InvalidStateTransition);
    EXPECT_EQ(engine_.state(1), TradingState::AuctionNoCancel);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#5 2@102", "#1 1@100", "#2 2@99"}));
}

TEST_F(Halt, CloseCancelsEveryRestingOrderAndRefusesNewOnes) {
    EXPECT_EQ(
        run(operator_command(CommandType::Close)),
        (Strings{"State CLOSED ref 0 by Close", "Cancelled #1 a7 Buy 1@100 CANCELLED_MARKET_CLOSED",
                 "Level Buy 100 total 0 count 0",
                 "Cancelled #2 a8 Buy 2@99 CANCELLED_MARKET_CLOSED", "Level Buy 99 total 0 count 0",
                 "Cancelled #3 a7 Sell 3@101 CANCELLED_MARKET_CLOSED",
                 "Cancelled #4 a8 Sell 4@101 CANCELLED_MARKET_CLOSED",
                 "Level Sell 101 total 0 count 0"}));
    EXPECT_EQ(engine_.resting_orders(), 0u);
    expect_rejected(buy(5, 100, 1).account(9), Reason::InstrumentClosed);
    expect_rejected(cancel(1, 7), Reason::UnknownOrder);
}

TEST_F(Halt, CloseIsAllowedFromHaltedAndFromBothAuctionPhases) {
    given({operator_command(CommandType::Halt)});
    EXPECT_EQ(run(operator_command(CommandType::Close)).front(), "State CLOSED ref 0 by Close");
    given({operator_command(CommandType::StartAuction)});
    EXPECT_EQ(run(operator_command(CommandType::Close)), (Strings{"State CLOSED ref 0 by Close"}));
    given({operator_command(CommandType::StartAuction),
           operator_command(CommandType::FreezeAuction)});
    EXPECT_EQ(run(operator_command(CommandType::Close)), (Strings{"State CLOSED ref 0 by Close"}));
}

TEST_F(Halt, ResumeReopensAClosedInstrument) {
    given({operator_command(CommandType::Close)});
    EXPECT_EQ(run(operator_command(CommandType::Resume)),
              (Strings{"State CONTINUOUS ref 0 by Resume"}));
    EXPECT_EQ(run(buy(5, 100, 1).account(9)),
              (Strings{"Accepted #5 a9 Buy 1@100", "Booked #5 a9 Buy 1@100",
                       "Level Buy 100 total 1 count 1"}));
}

TEST_F(Halt, StartAuctionReopensAClosedOrHaltedInstrumentIntoTheCallPhase) {
    given({operator_command(CommandType::Close)});
    EXPECT_EQ(run(operator_command(CommandType::StartAuction)),
              (Strings{"State CALL_AUCTION ref 0 by StartAuction"}));
    given({operator_command(CommandType::Uncross), operator_command(CommandType::Halt)});
    ASSERT_EQ(engine_.state(1), TradingState::Halted);
    EXPECT_EQ(run(operator_command(CommandType::StartAuction)),
              (Strings{"State CALL_AUCTION ref 0 by StartAuction"}));
}

TEST(ListedClosed, InstrumentListedClosedRefusesOrdersUntilResumed) {
    RecordingSink sink;
    Engine engine({16}, sink);
    InstrumentSpec s = test_spec();
    s.initial_state = TradingState::Closed;
    ASSERT_EQ(engine.add_instrument(s), Reason::None);
    EXPECT_EQ(engine.state(1), TradingState::Closed);
    engine.apply(buy(1, 100, 1).account(7));
    EXPECT_EQ(describe(sink.take()),
              (Strings{"Rejected #1 a7 Buy 1@100 INSTRUMENT_CLOSED by NewOrder"}));
    engine.apply(operator_command(CommandType::Resume));
    engine.apply(buy(1, 100, 1).account(7));
    EXPECT_EQ(describe(sink.take()),
              (Strings{"State CONTINUOUS ref 0 by Resume", "Accepted #1 a7 Buy 1@100",
                       "Booked #1 a7 Buy 1@100", "Level Buy 100 total 1 count 1"}));
}

}  // namespace
}  // namespace cpx::testing
