// A snapshot of a large book: tens of thousands of resting orders and a client-id
// window that has wrapped. The restored exchange must hash alike and answer a burst of
// crossing orders, cancels and a mass cancel with the same bytes.

#include <gtest/gtest.h>

#include <cstring>

#include "scale_market.hpp"
#include "stress.hpp"

namespace cpx::exchange::test {
namespace {

TEST(SnapshotScale, LargeBookRestoresAndTradesByteForByte) {
    const std::uint64_t orders = std::max<std::uint64_t>(
        2'000, static_cast<std::uint64_t>(60'000 * cpx::testing::test_scale()));
    ExchangeConfig config;
    config.order_capacity = static_cast<std::uint32_t>(orders + 1'000);
    config.client_id_window = static_cast<std::uint32_t>(orders / 2);  // wraps
    config.report_retention = 1'024;                                   // forgets
    RecordingSink sink_a;
    Exchange a(config, sink_a);
    ScaleMarket market(a, 40);
    market.rest(orders);
    market.fill_ids(1'000);

    std::string bytes;
    a.save_snapshot(bytes);
    RecordingSink sink_b;
    Exchange b(config, sink_b);
    std::string error;
    ASSERT_TRUE(b.load_snapshot(bytes, error)) << error;
    EXPECT_EQ(a.state_hash(), b.state_hash());
    EXPECT_EQ(a.live_orders(), b.live_orders());
    std::string again;
    b.save_snapshot(again);
    EXPECT_TRUE(again == bytes);

    sink_a.records.clear();
    sink_a.raw.clear();
    Timestamp now = market.now;
    const auto both = [&](Request r) {
        now += 1'000;
        r.ts_ns = now;
        a.apply(r);
        b.apply(r);
    };
    std::uint64_t id = 0;
    for (const Party& p : market.traders()) {
        const bool buyer = p.id % 2 == 0;  // accounts 2, 4, ... are buyers (1 is the operator)
        both(TestExchange::new_order(p, buyer ? Side::Buy : Side::Sell, 1 + (id % 2),
                                     buyer ? 1'050 : 950, 40, "x" + std::to_string(id)));
        ++id;
        both(TestExchange::cancel(p, id * 37 + 100, "x" + std::to_string(id)));
        ++id;
    }
    // Past every GTD expiry: they all leave, in heap order.
    now += 2 * kHour;
    Request tick;
    tick.type = RequestType::Tick;
    both(tick);
    both(TestExchange::mass_cancel(market.traders()[3], "x-mass"));
    ASSERT_GT(sink_a.raw.size(), 0u);
    ASSERT_EQ(sink_a.raw.size(), sink_b.raw.size());
    EXPECT_EQ(std::memcmp(sink_a.raw.data(), sink_b.raw.data(), sink_a.raw.size()), 0);
    EXPECT_EQ(a.state_hash(), b.state_hash());
}

}  // namespace
}  // namespace cpx::exchange::test
