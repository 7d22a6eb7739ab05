// Mass cancel: every resting order of one account, in one instrument or in all of
// them (in ascending instrument id), bids from the best down then asks from the best
// up, each level's update after its cancels.

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

class MassCancel : public EngineTest {
  protected:
    void SetUp() override {
        EngineTest::SetUp();
        // Listed out of order on purpose: all-instrument cancels go by id.
        ASSERT_EQ(engine_.add_instrument(test_spec(3)), Reason::None);
        ASSERT_EQ(engine_.add_instrument(test_spec(2)), Reason::None);
        given({buy(1, 100, 1).account(7), buy(2, 100, 2).account(8), buy(3, 100, 3).account(7),
               buy(4, 99, 4).account(7), sell(5, 105, 5).account(7), sell(6, 106, 6).account(8),
               buy(7, 50, 7).account(7).instrument(2), sell(8, 60, 8).account(8).instrument(2),
               sell(9, 70, 9).account(7).instrument(3)});
    }
};

const Strings kAccount7OnInstrument1 = {
    "Cancelled #1 a7 Buy 1@100 CANCELLED_MASS_CANCEL",
    "Cancelled #3 a7 Buy 3@100 CANCELLED_MASS_CANCEL",
    "Level Buy 100 total 2 count 1",
    "Cancelled #4 a7 Buy 4@99 CANCELLED_MASS_CANCEL",
    "Level Buy 99 total 0 count 0",
    "Cancelled #5 a7 Sell 5@105 CANCELLED_MASS_CANCEL",
    "Level Sell 105 total 0 count 0",
};

TEST_F(MassCancel, OneInstrumentCancelsOnlyThatAccountsOrdersThere) {
    EXPECT_EQ(run(mass_cancel(7, 1)), kAccount7OnInstrument1);
    EXPECT_EQ(orders(Side::Buy), (Strings{"#2 2@100"}));
    EXPECT_EQ(orders(Side::Sell), (Strings{"#6 6@106"}));
    EXPECT_EQ(orders(Side::Buy, 2), (Strings{"#7 7@50"}));
    EXPECT_EQ(orders(Side::Sell, 3), (Strings{"#9 9@70"}));
}

TEST_F(MassCancel, AllInstrumentsAreCancelledInAscendingInstrumentId) {
    Strings expected = kAccount7OnInstrument1;
    expected.insert(expected.end(), {"[2] Cancelled #7 a7 Buy 7@50 CANCELLED_MASS_CANCEL",
                                     "[2] Level Buy 50 total 0 count 0",
                                     "[3] Cancelled #9 a7 Sell 9@70 CANCELLED_MASS_CANCEL",
                                     "[3] Level Sell 70 total 0 count 0"});
    EXPECT_EQ(run(mass_cancel(7)), expected);
    EXPECT_EQ(engine_.resting_orders(), 3u);
    EXPECT_EQ(orders(Side::Sell, 2), (Strings{"#8 8@60"}));
}

TEST_F(MassCancel, AccountWithoutOrdersProducesNoEventsAndChangesNothing) {
    const std::uint64_t hash = engine_.state_hash();
    const Sequence seq = engine_.last_sequence();
    EXPECT_TRUE(run(mass_cancel(42)).empty());
    EXPECT_TRUE(run(mass_cancel(42, 2)).empty());
    EXPECT_EQ(engine_.state_hash(), hash);
    EXPECT_EQ(engine_.last_sequence(), seq);
}

TEST_F(MassCancel, AllInstrumentsSkipsAnInstrumentInItsNoCancelPhase) {
    given({operator_command(CommandType::StartAuction, 2),
           operator_command(CommandType::FreezeAuction, 2)});
    Strings expected = kAccount7OnInstrument1;
    expected.insert(expected.end(), {"[3] Cancelled #9 a7 Sell 9@70 CANCELLED_MASS_CANCEL",
                                     "[3] Level Sell 70 total 0 count 0"});
    EXPECT_EQ(run(mass_cancel(7)), expected);
    EXPECT_EQ(orders(Side::Buy, 2), (Strings{"#7 7@50"}));
}

TEST_F(MassCancel, AllowedInTheCallPhaseAndWhileHalted) {
    given({operator_command(CommandType::StartAuction, 1), operator_command(CommandType::Halt, 2)});
    EXPECT_EQ(run(mass_cancel(8, 1)), (Strings{"Cancelled #2 a8 Buy 2@100 CANCELLED_MASS_CANCEL",
                                               "Level Buy 100 total 4 count 2",
                                               "Cancelled #6 a8 Sell 6@106 CANCELLED_MASS_CANCEL",
                                               "Level Sell 106 total 0 count 0"}));
    EXPECT_EQ(run(mass_cancel(8, 2)),
              (Strings{"[2] Cancelled #8 a8 Sell 8@60 CANCELLED_MASS_CANCEL",
                       "[2] Level Sell 60 total 0 count 0"}));
}

TEST_F(MassCancel, MassCancelledGoodTillDateOrderDoesNotExpireLater) {
    given({sell(10, 110, 1).account(7).gtd(1'000), mass_cancel(7, 1), sell(10, 111, 1).account(8)});
    EXPECT_TRUE(run(tick(5'000)).empty());
    EXPECT_EQ(orders(Side::Sell), (Strings{"#6 6@106", "#10 1@111"}));
}

}  // namespace
}  // namespace cpx::testing
