#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace cpx::testing {
namespace {

TEST(EngineSmoke, CrossingOrdersTradeAtTheRestingPrice) {
    RecordingSink sink;
    Engine engine({1024}, sink);
    ASSERT_EQ(engine.add_instrument(test_spec()), Reason::None);
    engine.apply(sell(1, 100, 10).account(7));
    engine.apply(sell(2, 101, 10).account(7));
    sink.take();
    engine.apply(buy(3, 101, 15).account(8));
    const auto trades = of_type(sink.all, EventType::Trade);
    ASSERT_EQ(trades.size(), 2u);
    EXPECT_EQ(trades[0].price, 100);
    EXPECT_EQ(trades[0].quantity, 10);
    EXPECT_EQ(trades[0].other_order_id, 1u);
    EXPECT_EQ(trades[1].price, 101);
    EXPECT_EQ(trades[1].quantity, 5);
    EXPECT_EQ(engine.best_price(1, Side::Sell), 101);
    EXPECT_FALSE(engine.best_price(1, Side::Buy).has_value());
    EXPECT_EQ(engine.resting_orders(), 1u);
}

}  // namespace
}  // namespace cpx::testing
