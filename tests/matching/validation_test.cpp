// Every reason a command can be refused for, and that a refusal changes nothing: one
// Rejected event echoing the command, with the reason and the command type in aux,
// and the same state hash and resting orders as before.

#include <limits>

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

// Ticks of 5 fen, lots of 10 units, 20..10'000 units per order, prices 100..100'000,
// and a 10% band around 10'000, so that each rule has room on both sides.
InstrumentSpec strict_spec(InstrumentId id = 1) {
    InstrumentSpec s = test_spec(id);
    s.tick_size = 5;
    s.lot_size = 10;
    s.quantity_min = 20;
    s.quantity_max = 10'000;
    s.price_min = 100;
    s.price_max = 100'000;
    s.band_bps = 1'000;
    s.reference_price = 10'000;
    return s;
}

// A buy that passes every rule of strict_spec; each test changes one field.
OrderBuilder valid_buy(OrderId id) {
    return buy(id, 10'000, 100).account(7);
}

class Validation : public EngineTest {
  protected:
    InstrumentSpec instrument_spec() const override { return strict_spec(); }
    void SetUp() override {
        EngineTest::SetUp();
        given({sell(1, 10'500, 100).account(7)});
        ASSERT_EQ(orders(Side::Sell), (Strings{"#1 100@10500"}));
    }
    Command with(Command c, auto change) {
        change(c);
        return c;
    }
};

TEST_F(Validation, AnOrderFollowingEveryRuleIsAccepted) {
    EXPECT_EQ(run(valid_buy(10)),
              (Strings{"Accepted #10 a7 Buy 100@10000", "Booked #10 a7 Buy 100@10000",
                       "Level Buy 10000 total 100 count 1"}));
}

TEST_F(Validation, NewOrderForAnUnknownInstrumentIsRejected) {
    expect_rejected(valid_buy(10).instrument(99), Reason::UnknownInstrument);
}

TEST_F(Validation, NewOrderForTheAllInstrumentsWildcardIsRejectedAsUnknown) {
    expect_rejected(valid_buy(10).instrument(kAllInstruments), Reason::UnknownInstrument);
}

TEST_F(Validation, OrderIdZeroIsRejected) {
    expect_rejected(valid_buy(0), Reason::InvalidOrderId);
}

TEST_F(Validation, IdOfALiveOrderIsRejectedAsDuplicate) {
    expect_rejected(valid_buy(1), Reason::DuplicateOrderId);
    ASSERT_TRUE(engine_.find_order(1).has_value());
    EXPECT_EQ(engine_.find_order(1)->side, Side::Sell);
}

TEST_F(Validation, IdOfALiveOrderInAnotherInstrumentIsRejectedAsDuplicate) {
    ASSERT_EQ(engine_.add_instrument(strict_spec(2)), Reason::None);
    given({valid_buy(20).instrument(2)});
    expect_rejected(valid_buy(20), Reason::DuplicateOrderId);
}

TEST_F(Validation, IdOfAnOrderThatLeftTheBookCanBeUsedAgain) {
    given({cancel(1, 7)});
    EXPECT_EQ(run(valid_buy(1)),
              (Strings{"Accepted #1 a7 Buy 100@10000", "Booked #1 a7 Buy 100@10000",
                       "Level Buy 10000 total 100 count 1"}));
}

TEST_F(Validation, SideOtherThanBuyOrSellIsRejected) {
    expect_rejected(with(valid_buy(10), [](Command& c) { c.side = Side::None; }),
                    Reason::InvalidSide);
    expect_rejected(with(valid_buy(10), [](Command& c) { c.side = static_cast<Side>(3); }),
                    Reason::InvalidSide);
}

TEST_F(Validation, UnknownOrderTypeIsRejected) {
    expect_rejected(
        with(valid_buy(10), [](Command& c) { c.order_type = static_cast<OrderType>(0); }),
        Reason::InvalidOrderType);
    expect_rejected(
        with(valid_buy(10), [](Command& c) { c.order_type = static_cast<OrderType>(3); }),
        Reason::InvalidOrderType);
}

TEST_F(Validation, UnknownTimeInForceIsRejected) {
    expect_rejected(with(valid_buy(10), [](Command& c) { c.tif = static_cast<TimeInForce>(0); }),
                    Reason::InvalidTimeInForce);
    expect_rejected(with(valid_buy(10), [](Command& c) { c.tif = static_cast<TimeInForce>(5); }),
                    Reason::InvalidTimeInForce);
}

TEST_F(Validation, MarketOrderThatIsGoodTillCancelOrDateIsRejected) {
    expect_rejected(valid_buy(10).market().tif(TimeInForce::GTC), Reason::InvalidTimeInForce);
    expect_rejected(valid_buy(10).market().gtd(1'000), Reason::InvalidTimeInForce);
}

TEST_F(Validation, UnknownSelfTradePreventionModeIsRejected) {
    expect_rejected(valid_buy(10).stp(static_cast<SelfTradePrevention>(4)), Reason::InvalidCommand);
}

TEST_F(Validation, UnknownFlagBitsAreRejected) {
    expect_rejected(with(valid_buy(10), [](Command& c) { c.flags = 1u << 2; }),
                    Reason::InvalidFlags);
    expect_rejected(with(valid_buy(10), [](Command& c) { c.flags = kFlagPostOnly | (1u << 7); }),
                    Reason::InvalidFlags);
}

TEST_F(Validation, PostOnlyCannotBeImmediateMarketOrAllOrNone) {
    expect_rejected(valid_buy(10).post_only().tif(TimeInForce::IOC), Reason::InvalidFlags);
    expect_rejected(valid_buy(10).post_only().tif(TimeInForce::FOK), Reason::InvalidFlags);
    expect_rejected(valid_buy(10).post_only().market(), Reason::InvalidFlags);
    expect_rejected(valid_buy(10).post_only().all_or_none(), Reason::InvalidFlags);
}

TEST_F(Validation, QuantityMustBePositive) {
    expect_rejected(buy(10, 10'000, 0).account(7), Reason::InvalidQuantity);
    expect_rejected(buy(10, 10'000, -10).account(7), Reason::InvalidQuantity);
}

TEST_F(Validation, QuantityMustBeALotMultiple) {
    expect_rejected(buy(10, 10'000, 25).account(7), Reason::QuantityNotLotMultiple);
}

TEST_F(Validation, QuantityBelowTheInstrumentMinimumIsRejected) {
    expect_rejected(buy(10, 10'000, 10).account(7), Reason::QuantityBelowMinimum);
}

TEST_F(Validation, QuantityAboveTheInstrumentMaximumIsRejected) {
    expect_rejected(buy(10, 10'000, 10'010).account(7), Reason::QuantityAboveMaximum);
}

TEST_F(Validation, QuantitiesAtTheInstrumentLimitsAreAccepted) {
    EXPECT_EQ(run(buy(10, 10'000, 20).account(7))[0], "Accepted #10 a7 Buy 20@10000");
    EXPECT_EQ(run(buy(11, 10'000, 10'000).account(7))[0], "Accepted #11 a7 Buy 10000@10000");
}

TEST_F(Validation, MinQuantityMustBeANonNegativeLotMultipleNotAboveTheQuantity) {
    expect_rejected(valid_buy(10).min_quantity(-10), Reason::InvalidMinQuantity);
    expect_rejected(valid_buy(10).min_quantity(110), Reason::InvalidMinQuantity);
    expect_rejected(valid_buy(10).min_quantity(15), Reason::InvalidMinQuantity);
    EXPECT_EQ(run(valid_buy(10).min_quantity(100))[0], "Accepted #10 a7 Buy 100@10000");
    ASSERT_TRUE(engine_.find_order(10).has_value());
    EXPECT_EQ(engine_.find_order(10)->min_quantity, 100);
}

TEST_F(Validation, AllOrNoneWithAMinQuantityIsRejected) {
    expect_rejected(valid_buy(10).all_or_none().min_quantity(50), Reason::InvalidMinQuantity);
}

TEST_F(Validation, LimitPriceMustBePositive) {
    expect_rejected(buy(10, 0, 100).account(7), Reason::InvalidPrice);
    expect_rejected(buy(10, -5, 100).account(7), Reason::InvalidPrice);
}

TEST_F(Validation, LimitPriceMustBeATickMultiple) {
    expect_rejected(buy(10, 10'002, 100).account(7), Reason::PriceNotTickMultiple);
}

TEST_F(Validation, LimitPriceMustBeInTheInstrumentRange) {
    expect_rejected(buy(10, 95, 100).account(7), Reason::PriceOutOfRange);
    expect_rejected(buy(10, 100'005, 100).account(7), Reason::PriceOutOfRange);
}

TEST_F(Validation, LimitPriceOutsideTheBandIsRejectedAndTheBandEdgesAreInside) {
    expect_rejected(buy(10, 8'995, 100).account(7), Reason::PriceOutsideBand);
    expect_rejected(buy(10, 11'005, 100).account(7), Reason::PriceOutsideBand);
    EXPECT_EQ(run(buy(10, 9'000, 100).account(7))[0], "Accepted #10 a7 Buy 100@9000");
    EXPECT_EQ(run(sell(11, 11'000, 100).account(7))[0], "Accepted #11 a7 Sell 100@11000");
}

TEST_F(Validation, MarketProtectionPriceMustBeAPositiveTickMultipleWhenGiven) {
    expect_rejected(sell(10, -5, 100).account(7).market(), Reason::InvalidPrice);
    expect_rejected(sell(10, 10'002, 100).account(7).market(), Reason::PriceNotTickMultiple);
    EXPECT_EQ(run(sell(10, 0, 100).account(7).market()),
              (Strings{"Accepted #10 a7 Sell 100@0",
                       "Cancelled #10 a7 Sell 100@0 CANCELLED_NO_LIQUIDITY"}));
}

TEST_F(Validation, GoodTillDateExpiryMustBeAfterTheCommandTime) {
    expect_rejected(valid_buy(10).gtd(1'000).at(1'000), Reason::ExpiryInPast);
    expect_rejected(valid_buy(10).gtd(999).at(1'000), Reason::ExpiryInPast);
    EXPECT_EQ(run(valid_buy(10).gtd(1'001).at(1'000))[0], "Accepted #10 a7 Buy 100@10000");
}

TEST_F(Validation, NewOrderWhileHaltedIsRejected) {
    given({operator_command(CommandType::Halt)});
    expect_rejected(valid_buy(10), Reason::InstrumentHalted);
    expect_rejected(valid_buy(11).market().tif(TimeInForce::IOC), Reason::InstrumentHalted);
}

TEST_F(Validation, NewOrderWhileClosedIsRejected) {
    given({operator_command(CommandType::Close)});
    expect_rejected(valid_buy(10), Reason::InstrumentClosed);
}

TEST_F(Validation, ImmediateAndConstrainedOrdersAreRejectedInBothAuctionPhases) {
    for (const CommandType phase : {CommandType::StartAuction, CommandType::FreezeAuction}) {
        SCOPED_TRACE(command_name(static_cast<std::uint8_t>(phase)));
        given({operator_command(phase)});
        expect_rejected(valid_buy(10).market(), Reason::NotAllowedInAuction);
        expect_rejected(valid_buy(10).tif(TimeInForce::IOC), Reason::NotAllowedInAuction);
        expect_rejected(valid_buy(10).tif(TimeInForce::FOK), Reason::NotAllowedInAuction);
        expect_rejected(valid_buy(10).post_only(), Reason::NotAllowedInAuction);
        expect_rejected(valid_buy(10).all_or_none(), Reason::NotAllowedInAuction);
        expect_rejected(valid_buy(10).min_quantity(20), Reason::NotAllowedInAuction);
    }
}

TEST_F(Validation, GoodTillCancelAndGoodTillDateLimitsAreAcceptedInBothAuctionPhases) {
    given({operator_command(CommandType::StartAuction)});
    EXPECT_EQ(run(valid_buy(10))[0], "Accepted #10 a7 Buy 100@10000");
    given({operator_command(CommandType::FreezeAuction)});
    EXPECT_EQ(run(valid_buy(11).gtd(5'000))[0], "Accepted #11 a7 Buy 100@10000");
    EXPECT_EQ(orders(Side::Buy), (Strings{"#10 100@10000", "#11 100@10000"}));
}

TEST_F(Validation, UnknownCommandTypeIsRejectedAsInvalidCommand) {
    for (const std::uint8_t type : std::initializer_list<std::uint8_t>{0, 5, 33, 255}) {
        Command c = valid_buy(10);
        c.type = static_cast<CommandType>(type);
        SCOPED_TRACE(static_cast<int>(type));
        expect_rejected(c, Reason::InvalidCommand);
    }
}

TEST_F(Validation, CancelForAnUnknownInstrumentIsRejected) {
    expect_rejected(cancel(1, 7, 99), Reason::UnknownInstrument);
}

TEST_F(Validation, CancelOfAnUnknownOrderOrOfIdZeroIsRejected) {
    expect_rejected(cancel(999, 7), Reason::UnknownOrder);
    expect_rejected(cancel(0, 7), Reason::UnknownOrder);
}

TEST_F(Validation, CancelFromAnotherAccountIsRejectedAsUnknownOrder) {
    expect_rejected(cancel(1, 8), Reason::UnknownOrder);
    EXPECT_TRUE(engine_.find_order(1).has_value());
}

TEST_F(Validation, CancelNamingAnotherInstrumentThanTheOrdersIsRejectedAsUnknownOrder) {
    ASSERT_EQ(engine_.add_instrument(strict_spec(2)), Reason::None);
    expect_rejected(cancel(1, 7, 2), Reason::UnknownOrder);
}

TEST_F(Validation, CancelOfAFullyTradedOrderIsRejectedAsUnknownOrder) {
    given({buy(10, 10'500, 100).account(8)});
    ASSERT_TRUE(orders(Side::Sell).empty());
    expect_rejected(cancel(1, 7), Reason::UnknownOrder);
}

TEST_F(Validation, CancelInTheNoCancelPhaseIsRejected) {
    given({operator_command(CommandType::StartAuction),
           operator_command(CommandType::FreezeAuction)});
    expect_rejected(cancel(1, 7), Reason::CancelNotAllowedInNoCancelPhase);
}

TEST_F(Validation, ReplaceOfAnUnknownInstrumentOrderOrAccountIsRejected) {
    ASSERT_EQ(engine_.add_instrument(strict_spec(2)), Reason::None);
    expect_rejected(replace(1, 10'500, 50, 7, 99), Reason::UnknownInstrument);
    expect_rejected(replace(999, 10'500, 50, 7), Reason::UnknownOrder);
    expect_rejected(replace(0, 10'500, 50, 7), Reason::UnknownOrder);
    expect_rejected(replace(1, 10'500, 50, 8), Reason::UnknownOrder);
    expect_rejected(replace(1, 10'500, 50, 7, 2), Reason::UnknownOrder);
}

TEST_F(Validation, ReplaceInTheNoCancelPhaseIsRejected) {
    given({operator_command(CommandType::StartAuction),
           operator_command(CommandType::FreezeAuction)});
    expect_rejected(replace(1, 10'500, 50, 7), Reason::CancelNotAllowedInNoCancelPhase);
}

TEST_F(Validation, ReplaceWhileHaltedIsRejected) {
    given({operator_command(CommandType::Halt)});
    expect_rejected(replace(1, 10'500, 50, 7), Reason::InstrumentHalted);
}

TEST_F(Validation, ReplaceQuantityMustFollowTheInstrumentRules) {
    expect_rejected(replace(1, 10'500, 0, 7), Reason::InvalidQuantity);
    expect_rejected(replace(1, 10'500, 25, 7), Reason::QuantityNotLotMultiple);
    expect_rejected(replace(1, 10'500, 10, 7), Reason::QuantityBelowMinimum);
    expect_rejected(replace(1, 10'500, 10'010, 7), Reason::QuantityAboveMaximum);
}

TEST_F(Validation, ReplacePriceMustFollowTheInstrumentRules) {
    expect_rejected(replace(1, 0, 100, 7), Reason::InvalidPrice);
    expect_rejected(replace(1, 10'502, 100, 7), Reason::PriceNotTickMultiple);
    expect_rejected(replace(1, 100'005, 100, 7), Reason::PriceOutOfRange);
    expect_rejected(replace(1, 11'005, 100, 7), Reason::PriceOutsideBand);
}

TEST_F(Validation, ReplaceWithTheSamePriceAndQuantityIsRejectedAsNoChange) {
    expect_rejected(replace(1, 10'500, 100, 7), Reason::NoChange);
}

TEST_F(Validation, MassCancelOfAnUnknownInstrumentIsRejected) {
    expect_rejected(mass_cancel(7, 99), Reason::UnknownInstrument);
}

TEST_F(Validation, MassCancelOfOneInstrumentInTheNoCancelPhaseIsRejected) {
    given({operator_command(CommandType::StartAuction),
           operator_command(CommandType::FreezeAuction)});
    expect_rejected(mass_cancel(7, 1), Reason::CancelNotAllowedInNoCancelPhase);
}

TEST_F(Validation, OperatorCommandsForAnUnknownInstrumentAreRejected) {
    for (const CommandType type :
         {CommandType::Halt, CommandType::Resume, CommandType::StartAuction,
          CommandType::FreezeAuction, CommandType::Uncross, CommandType::Close,
          CommandType::SetReference}) {
        SCOPED_TRACE(command_name(static_cast<std::uint8_t>(type)));
        expect_rejected(operator_command(type, 99, 10'000), Reason::UnknownInstrument);
    }
}

TEST_F(Validation, SetReferenceMustBeATickMultipleInTheInstrumentRange) {
    expect_rejected(operator_command(CommandType::SetReference, 1, 10'002),
                    Reason::PriceNotTickMultiple);
    expect_rejected(operator_command(CommandType::SetReference, 1, 95), Reason::PriceOutOfRange);
    expect_rejected(operator_command(CommandType::SetReference, 1, 0), Reason::PriceOutOfRange);
    expect_rejected(operator_command(CommandType::SetReference, 1, 100'005),
                    Reason::PriceOutOfRange);
}

// The operator commands that the transition table does not allow from each state.
class InvalidTransition : public EngineTest {
  protected:
    void expect_invalid(std::initializer_list<CommandType> types) {
        for (const CommandType type : types) {
            SCOPED_TRACE(command_name(static_cast<std::uint8_t>(type)));
            expect_rejected(operator_command(type), Reason::InvalidStateTransition);
        }
    }
};

TEST_F(InvalidTransition, FromContinuousResumeFreezeAndUncrossAreRejected) {
    ASSERT_EQ(engine_.state(1), TradingState::Continuous);
    expect_invalid({CommandType::Resume, CommandType::FreezeAuction, CommandType::Uncross});
    EXPECT_EQ(engine_.state(1), TradingState::Continuous);
}

TEST_F(InvalidTransition, FromCallAuctionStartAuctionResumeAndHaltAreRejected) {
    given({operator_command(CommandType::StartAuction)});
    expect_invalid({CommandType::StartAuction, CommandType::Resume, CommandType::Halt});
    EXPECT_EQ(engine_.state(1), TradingState::CallAuction);
}

TEST_F(InvalidTransition, FromNoCancelPhaseStartFreezeResumeAndHaltAreRejected) {
    given({operator_command(CommandType::StartAuction),
           operator_command(CommandType::FreezeAuction)});
    expect_invalid({CommandType::StartAuction, CommandType::FreezeAuction, CommandType::Resume,
                    CommandType::Halt});
    EXPECT_EQ(engine_.state(1), TradingState::AuctionNoCancel);
}

TEST_F(InvalidTransition, FromHaltedHaltFreezeAndUncrossAreRejected) {
    given({operator_command(CommandType::Halt)});
    expect_invalid({CommandType::Halt, CommandType::FreezeAuction, CommandType::Uncross});
    EXPECT_EQ(engine_.state(1), TradingState::Halted);
}

TEST_F(InvalidTransition, FromClosedCloseHaltFreezeAndUncrossAreRejected) {
    given({operator_command(CommandType::Close)});
    expect_invalid(
        {CommandType::Close, CommandType::Halt, CommandType::FreezeAuction, CommandType::Uncross});
    EXPECT_EQ(engine_.state(1), TradingState::Closed);
}

TEST(OrderCapacity, FullPoolRejectsOrdersThatCouldRestButNotImmediateOnes) {
    RecordingSink sink;
    Engine engine({2}, sink);
    ASSERT_EQ(engine.add_instrument(test_spec()), Reason::None);
    engine.apply(sell(1, 100, 10).account(7));
    engine.apply(sell(2, 101, 10).account(7));
    ASSERT_EQ(engine.resting_orders(), 2u);
    const std::uint64_t hash = engine.state_hash();
    sink.take();

    engine.apply(buy(3, 99, 10).account(8));
    EXPECT_EQ(describe(sink.take()),
              (Strings{"Rejected #3 a8 Buy 10@99 ORDER_CAPACITY_EXHAUSTED by NewOrder"}));
    EXPECT_EQ(engine.state_hash(), hash);

    // A GTC order is refused even if it would trade in full: it could have rested.
    engine.apply(buy(4, 100, 10).account(8));
    EXPECT_EQ(describe(sink.take()),
              (Strings{"Rejected #4 a8 Buy 10@100 ORDER_CAPACITY_EXHAUSTED by NewOrder"}));

    // IOC and market orders never rest, so they do not need a slot.
    engine.apply(buy(5, 100, 4).account(8).tif(TimeInForce::IOC));
    EXPECT_EQ(describe(sink.take()),
              (Strings{"Accepted #5 a8 Buy 4@100",
                       "Trade buy #5 a8 sell #1 a7 4@100 leaves 0/6 aggressor Buy",
                       "Level Sell 100 total 6 count 1"}));
    engine.apply(buy(6, 0, 6).account(8).market());
    EXPECT_EQ(describe(sink.take()),
              (Strings{"Accepted #6 a8 Buy 6@0",
                       "Trade buy #6 a8 sell #1 a7 6@100 leaves 0/0 aggressor Buy",
                       "Level Sell 100 total 0 count 0"}));

    // The traded order freed its slot, so a resting order fits again.
    engine.apply(buy(7, 99, 10).account(8));
    EXPECT_EQ(describe(sink.take()), (Strings{"Accepted #7 a8 Buy 10@99", "Booked #7 a8 Buy 10@99",
                                              "Level Buy 99 total 10 count 1"}));
    EXPECT_EQ(engine.resting_orders(), 2u);
}

TEST(OrderCapacity, ReplaceKeepsItsSlotSoItWorksWithAFullPool) {
    RecordingSink sink;
    Engine engine({2}, sink);
    ASSERT_EQ(engine.add_instrument(test_spec()), Reason::None);
    engine.apply(sell(1, 100, 10).account(7));
    engine.apply(sell(2, 101, 10).account(7));
    sink.take();
    engine.apply(replace(1, 102, 20, 7));
    EXPECT_EQ(describe(sink.take()),
              (Strings{"Replaced #1 a7 Sell 20@102 from 10 priority lost",
                       "Level Sell 100 total 0 count 0", "Booked #1 a7 Sell 20@102",
                       "Level Sell 102 total 20 count 1"}));
    EXPECT_EQ(engine.resting_orders(), 2u);
}

TEST(InstrumentSpecValidation, TheTestSpecIsValid) {
    EXPECT_EQ(validate_spec(test_spec()), Reason::None);
    EXPECT_EQ(validate_spec(strict_spec()), Reason::None);
}

TEST(InstrumentSpecValidation, TickAndLotMustBePositive) {
    for (const std::int64_t bad : {0, -1}) {
        InstrumentSpec s = test_spec();
        s.tick_size = bad;
        EXPECT_EQ(validate_spec(s), Reason::InvalidCommand);
        s = test_spec();
        s.lot_size = bad;
        EXPECT_EQ(validate_spec(s), Reason::InvalidCommand);
    }
}

TEST(InstrumentSpecValidation, PriceRangeMustBePositiveAndOrdered) {
    InstrumentSpec s = test_spec();
    s.price_min = 0;
    EXPECT_EQ(validate_spec(s), Reason::PriceOutOfRange);
    s = test_spec();
    s.price_min = 500;
    s.price_max = 499;
    EXPECT_EQ(validate_spec(s), Reason::PriceOutOfRange);
    s.price_max = 500;
    EXPECT_EQ(validate_spec(s), Reason::None);
}

TEST(InstrumentSpecValidation, PriceRangeBoundsMustBeTickMultiples) {
    InstrumentSpec s = test_spec();
    s.tick_size = 5;
    s.price_min = 7;
    s.price_max = 1'000;
    EXPECT_EQ(validate_spec(s), Reason::PriceNotTickMultiple);
    s.price_min = 5;
    s.price_max = 1'001;
    EXPECT_EQ(validate_spec(s), Reason::PriceNotTickMultiple);
}

TEST(InstrumentSpecValidation, LadderOfMoreThanTheMaximumTicksIsRejected) {
    InstrumentSpec s = test_spec();
    s.tick_size = 5;
    s.price_min = 5;
    s.price_max = s.price_min + (kLadderTicksMax - 1) * s.tick_size;
    EXPECT_EQ(validate_spec(s), Reason::None);
    s.price_max += s.tick_size;
    EXPECT_EQ(validate_spec(s), Reason::PriceOutOfRange);
}

TEST(InstrumentSpecValidation, QuantityLimitsMustBePositiveOrderedLotMultiples) {
    InstrumentSpec s = test_spec();
    s.quantity_min = 0;
    EXPECT_EQ(validate_spec(s), Reason::InvalidQuantity);
    s = test_spec();
    s.quantity_min = 10;
    s.quantity_max = 9;
    EXPECT_EQ(validate_spec(s), Reason::InvalidQuantity);
    s = test_spec();
    s.lot_size = 10;
    s.quantity_min = 15;
    s.quantity_max = 100;
    EXPECT_EQ(validate_spec(s), Reason::InvalidQuantity);
    s.quantity_min = 10;
    s.quantity_max = 105;
    EXPECT_EQ(validate_spec(s), Reason::InvalidQuantity);
}

TEST(InstrumentSpecValidation, LargestOrderValueMustFitIn63Bits) {
    InstrumentSpec s = test_spec();
    s.price_min = 1'000'000'000'000;  // 10^12 fen
    s.price_max = s.price_min + 1'000;
    s.quantity_max = 10'000'000;  // 10^19 fen at price_max: too large
    EXPECT_EQ(validate_spec(s), Reason::QuantityAboveMaximum);
    s.quantity_max = 1'000'000;  // 10^18 fen: fits
    EXPECT_EQ(validate_spec(s), Reason::None);
}

TEST(InstrumentSpecValidation, PriceMaxMustLeaveRoomForTheBandArithmetic) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    InstrumentSpec s = test_spec();
    s.quantity_min = 1;
    s.quantity_max = 1;
    s.price_max = kMax / 10'000;
    s.price_min = s.price_max - 100;
    EXPECT_EQ(validate_spec(s), Reason::None);
    s.price_max += 1;
    EXPECT_EQ(validate_spec(s), Reason::QuantityAboveMaximum);
}

TEST(InstrumentSpecValidation, ReferencePriceMustBeZeroOrATickInTheRange) {
    InstrumentSpec s = test_spec();
    s.tick_size = 5;
    s.price_min = 100;
    s.price_max = 1'000;
    for (const Price good : {0, 100, 500, 1'000}) {
        s.reference_price = good;
        EXPECT_EQ(validate_spec(s), Reason::None) << good;
    }
    for (const Price bad : {95, 1'005, 502}) {
        s.reference_price = bad;
        EXPECT_EQ(validate_spec(s), Reason::InvalidPrice) << bad;
    }
}

TEST(InstrumentSpecValidation, BandOfMoreThanTenThousandBasisPointsIsRejected) {
    InstrumentSpec s = test_spec();
    s.band_bps = 10'000;
    EXPECT_EQ(validate_spec(s), Reason::None);
    s.band_bps = 10'001;
    EXPECT_EQ(validate_spec(s), Reason::InvalidCommand);
}

TEST(InstrumentSpecValidation, InitialStateMustBeContinuousClosedOrCallAuction) {
    InstrumentSpec s = test_spec();
    for (const TradingState good :
         {TradingState::Continuous, TradingState::Closed, TradingState::CallAuction}) {
        s.initial_state = good;
        EXPECT_EQ(validate_spec(s), Reason::None) << trading_state_name(good);
    }
    for (const TradingState bad : {TradingState::AuctionNoCancel, TradingState::Halted,
                                   static_cast<TradingState>(5), static_cast<TradingState>(200)}) {
        s.initial_state = bad;
        EXPECT_EQ(validate_spec(s), Reason::InvalidStateTransition) << static_cast<int>(bad);
    }
}

TEST(InstrumentSpecValidation, AddInstrumentRejectsADuplicateIdAndKeepsTheFirstSpec) {
    RecordingSink sink;
    Engine engine({16}, sink);
    ASSERT_EQ(engine.add_instrument(test_spec(1)), Reason::None);
    InstrumentSpec other = test_spec(1);
    other.tick_size = 5;
    other.price_min = 5;
    other.price_max = 1'000;
    EXPECT_EQ(engine.add_instrument(other), Reason::DuplicateInstrument);
    ASSERT_NE(engine.spec(1), nullptr);
    EXPECT_EQ(engine.spec(1)->tick_size, 1);
    EXPECT_EQ(engine.instruments(), (std::vector<InstrumentId>{1}));
    EXPECT_TRUE(sink.all.empty());
}

TEST(InstrumentSpecValidation, AddInstrumentRejectsAnInvalidSpecAndListsNothing) {
    RecordingSink sink;
    Engine engine({16}, sink);
    InstrumentSpec s = test_spec(3);
    s.tick_size = 0;
    EXPECT_EQ(engine.add_instrument(s), Reason::InvalidCommand);
    EXPECT_FALSE(engine.has_instrument(3));
    EXPECT_EQ(engine.spec(3), nullptr);
    EXPECT_TRUE(engine.instruments().empty());
}

TEST(InstrumentSpecValidation, InstrumentsAreListedInAscendingIdWhateverTheOrderAdded) {
    RecordingSink sink;
    Engine engine({16}, sink);
    for (const InstrumentId id : {30u, 10u, 20u}) {
        ASSERT_EQ(engine.add_instrument(test_spec(id)), Reason::None);
    }
    EXPECT_EQ(engine.instruments(), (std::vector<InstrumentId>{10, 20, 30}));
    EXPECT_EQ(engine.state(20), TradingState::Continuous);
    EXPECT_FALSE(engine.state(40).has_value());
}

}  // namespace
}  // namespace cpx::testing

namespace cpx::testing {
namespace {

TEST(InstrumentSpecValidation, TheAllInstrumentsIdIsReservedForMassCancel) {
    RecordingSink sink;
    Engine engine({16}, sink);
    EXPECT_EQ(engine.add_instrument(test_spec(kAllInstruments)), Reason::UnknownInstrument);
    EXPECT_FALSE(engine.has_instrument(kAllInstruments));
}

}  // namespace
}  // namespace cpx::testing
