// The metrics registry: lock-free updates that lose nothing under contention, and an
// exposition that follows the Prometheus text format 0.0.4 to the byte.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpx/ops/metrics.hpp"

namespace cpx::ops {
namespace {

TEST(OpsMetrics, CounterIncrementsFromManyThreadsAreAllCounted) {
    Registry registry;
    Counter& counter = registry.register_counter("cpx_orders_total", "Orders received.");
    constexpr int kThreads = 4;
    constexpr std::uint64_t kIncrementsPerThread = 500'000;
    // The latch releases all threads at once, so that their increments really overlap
    // instead of running one thread after another.
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&counter, &start] {
            start.arrive_and_wait();
            for (std::uint64_t i = 0; i < kIncrementsPerThread; ++i) {
                counter.add();
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(counter.value(), kThreads * kIncrementsPerThread);
    EXPECT_NE(registry.render().find("\ncpx_orders_total 2000000\n"), std::string::npos);
}

TEST(OpsMetrics, CounterAddsArbitraryAmounts) {
    Registry registry;
    Counter& counter = registry.register_counter("cpx_fen_total", "Fen traded.");
    counter.add(5);
    counter.add(0);
    counter.add(37);
    EXPECT_EQ(counter.value(), 42u);
}

TEST(OpsMetrics, GaugeGoesUpAndDown) {
    Registry registry;
    Gauge& gauge = registry.register_gauge("cpx_open_orders", "Resting orders.");
    gauge.set(5);
    gauge.add(-7);
    EXPECT_EQ(gauge.value(), -2);
    EXPECT_EQ(registry.render(),
              "# HELP cpx_open_orders Resting orders.\n"
              "# TYPE cpx_open_orders gauge\n"
              "cpx_open_orders -2\n");
}

TEST(OpsMetrics, CallbackGaugeIsReadAtScrapeTime) {
    Registry registry;
    std::atomic<std::int64_t> depth{3};
    registry.register_callback_gauge("cpx_queue_depth", "Commands waiting.", {{"queue", "inbound"}},
                                     [&depth] { return depth.load(); });
    EXPECT_NE(registry.render().find("cpx_queue_depth{queue=\"inbound\"} 3\n"), std::string::npos);
    depth = 11;
    EXPECT_NE(registry.render().find("cpx_queue_depth{queue=\"inbound\"} 11\n"), std::string::npos);
}

TEST(OpsMetrics, CallbackAndPlainGaugesShareAFamily) {
    Registry registry;
    registry.register_gauge("cpx_depth", "Depth.", {{"queue", "a"}}).set(1);
    registry.register_callback_gauge("cpx_depth", "Depth.", {{"queue", "b"}},
                                     [] { return std::int64_t{2}; });
    EXPECT_EQ(registry.render(),
              "# HELP cpx_depth Depth.\n"
              "# TYPE cpx_depth gauge\n"
              "cpx_depth{queue=\"a\"} 1\n"
              "cpx_depth{queue=\"b\"} 2\n");
}

TEST(OpsMetrics, EmptyCallbackIsRefused) {
    Registry registry;
    EXPECT_THROW(registry.register_callback_gauge("cpx_depth", "Depth.", {}, {}),
                 std::invalid_argument);
}

TEST(OpsMetrics, HistogramBucketsAreCumulative) {
    Registry registry;
    Histogram& histogram = registry.register_histogram("cpx_order_latency_ns", "Order latency.",
                                                       {10, 100, 1000}, {{"path", "new"}});
    // 10 sits on a bound and counts in that bucket: Prometheus buckets are "<=".
    for (const std::int64_t value : {5, 10, 50, 500, 5000}) {
        histogram.observe(value);
    }
    EXPECT_EQ(registry.render(),
              "# HELP cpx_order_latency_ns Order latency.\n"
              "# TYPE cpx_order_latency_ns histogram\n"
              "cpx_order_latency_ns_bucket{path=\"new\",le=\"10\"} 2\n"
              "cpx_order_latency_ns_bucket{path=\"new\",le=\"100\"} 3\n"
              "cpx_order_latency_ns_bucket{path=\"new\",le=\"1000\"} 4\n"
              "cpx_order_latency_ns_bucket{path=\"new\",le=\"+Inf\"} 5\n"
              "cpx_order_latency_ns_sum{path=\"new\"} 5565\n"
              "cpx_order_latency_ns_count{path=\"new\"} 5\n");
}

TEST(OpsMetrics, HistogramWithoutBoundsHasOnlyTheInfBucket) {
    Registry registry;
    Histogram& histogram = registry.register_histogram("cpx_fill_lots", "Fill sizes.", {});
    histogram.observe(-4);
    histogram.observe(9);
    EXPECT_EQ(registry.render(),
              "# HELP cpx_fill_lots Fill sizes.\n"
              "# TYPE cpx_fill_lots histogram\n"
              "cpx_fill_lots_bucket{le=\"+Inf\"} 2\n"
              "cpx_fill_lots_sum 5\n"
              "cpx_fill_lots_count 2\n");
}

TEST(OpsMetrics, HistogramBoundsMustIncrease) {
    Registry registry;
    EXPECT_THROW(registry.register_histogram("cpx_a", "A.", {1, 1}), std::invalid_argument);
    EXPECT_THROW(registry.register_histogram("cpx_b", "B.", {2, 1}), std::invalid_argument);
    EXPECT_EQ(registry.render(), "");
}

TEST(OpsMetrics, HistogramScrapeIsConsistentWhileObserving) {
    Registry registry;
    Histogram& histogram = registry.register_histogram("cpx_lat_ns", "Latency.", {100, 200, 300});
    constexpr int kThreads = 3;
    constexpr std::int64_t kObservationsPerThread = 100'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&histogram] {
            for (std::int64_t i = 0; i < kObservationsPerThread; ++i) {
                histogram.observe(i % 400);
            }
        });
    }
    // Scrapes taken during the observations must each be a valid histogram: buckets
    // never decrease and the +Inf bucket equals the count.
    for (int scrape = 0; scrape < 50; ++scrape) {
        const Histogram::Snapshot snapshot = histogram.snapshot();
        for (std::size_t i = 1; i < snapshot.cumulative_counts.size(); ++i) {
            ASSERT_LE(snapshot.cumulative_counts[i - 1], snapshot.cumulative_counts[i]);
        }
        ASSERT_EQ(snapshot.cumulative_counts.back(), snapshot.count);
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    const Histogram::Snapshot snapshot = histogram.snapshot();
    const auto total = static_cast<std::uint64_t>(kThreads * kObservationsPerThread);
    EXPECT_EQ(snapshot.count, total);
    // i % 400 spreads each thread's values evenly over 0..399.
    EXPECT_EQ(snapshot.cumulative_counts,
              (std::vector<std::uint64_t>{total / 400 * 101, total / 400 * 201, total / 400 * 301,
                                          total}));
    EXPECT_EQ(snapshot.sum, kThreads * (kObservationsPerThread / 400) * (399 * 400 / 2));
}

TEST(OpsMetrics, RenderFollowsTheExpositionFormat) {
    Registry registry;
    registry
        .register_counter("cpx_rejects_total", "Orders rejected, by reason.",
                          {{"reason", "PRICE_OUTSIDE_BAND"}})
        .add(2);
    registry
        .register_counter("cpx_rejects_total", "Orders rejected, by reason.",
                          {{"reason", "INVALID_TICK"}})
        .add(1);
    registry.register_gauge("cpx_halted_instruments", "Instruments halted.").set(0);
    registry.register_counter("cpx_commands_total", "Commands applied.",
                              {{"shard", "0"}, {"kind", "new"}});
    // Families come out in name order, each with one HELP and one TYPE line; children
    // keep their registration order and their labels the order they were given in.
    EXPECT_EQ(registry.render(),
              "# HELP cpx_commands_total Commands applied.\n"
              "# TYPE cpx_commands_total counter\n"
              "cpx_commands_total{shard=\"0\",kind=\"new\"} 0\n"
              "# HELP cpx_halted_instruments Instruments halted.\n"
              "# TYPE cpx_halted_instruments gauge\n"
              "cpx_halted_instruments 0\n"
              "# HELP cpx_rejects_total Orders rejected, by reason.\n"
              "# TYPE cpx_rejects_total counter\n"
              "cpx_rejects_total{reason=\"PRICE_OUTSIDE_BAND\"} 2\n"
              "cpx_rejects_total{reason=\"INVALID_TICK\"} 1\n");
}

TEST(OpsMetrics, LabelValuesAreEscaped) {
    Registry registry;
    registry.register_counter("cpx_odd_total", "Help with \\ and\nnewline and \"quotes\".",
                              {{"value", "a\"b\\c\nd"}});
    // Label values escape backslash, quote and newline; help texts only backslash and
    // newline.
    EXPECT_EQ(registry.render(),
              "# HELP cpx_odd_total Help with \\\\ and\\nnewline and \"quotes\".\n"
              "# TYPE cpx_odd_total counter\n"
              "cpx_odd_total{value=\"a\\\"b\\\\c\\nd\"} 0\n");
}

TEST(OpsMetrics, InvalidMetricNameIsRefused) {
    Registry registry;
    for (const char* name : {"", "1abc", "a-b", "a b", "caf\xc3\xa9", "a{b}", "a\"b"}) {
        EXPECT_THROW(registry.register_counter(name, "Help."), std::invalid_argument) << name;
        EXPECT_THROW(registry.register_gauge(name, "Help."), std::invalid_argument) << name;
        EXPECT_THROW(registry.register_histogram(name, "Help.", {1}), std::invalid_argument)
            << name;
    }
    EXPECT_EQ(registry.render(), "");
    for (const char* name : {"a", "_a", ":a", "a:b_1", "cpx_rejects_total", "A9"}) {
        EXPECT_NO_THROW(registry.register_counter(name, "Help.")) << name;
    }
}

TEST(OpsMetrics, InvalidLabelNameIsRefused) {
    Registry registry;
    for (const char* label : {"", "1a", "a-b", "__reserved", "a:b", "a b"}) {
        EXPECT_THROW(registry.register_counter("cpx_x_total", "X.", {{label, "v"}}),
                     std::invalid_argument)
            << label;
    }
    EXPECT_THROW(registry.register_counter("cpx_x_total", "X.", {{"a", "1"}, {"a", "2"}}),
                 std::invalid_argument);
    EXPECT_THROW(registry.register_histogram("cpx_h", "H.", {1}, {{"le", "5"}}),
                 std::invalid_argument);
    EXPECT_EQ(registry.render(), "");
    // "le" is reserved in histograms only.
    EXPECT_NO_THROW(registry.register_counter("cpx_x_total", "X.", {{"le", "5"}}));
}

TEST(OpsMetrics, ConflictingRegistrationIsRefusedAndChangesNothing) {
    Registry registry;
    registry.register_counter("cpx_x_total", "X.", {{"a", "1"}, {"b", "2"}});
    const std::string before = registry.render();
    EXPECT_THROW(registry.register_gauge("cpx_x_total", "X."), std::invalid_argument);
    EXPECT_THROW(registry.register_counter("cpx_x_total", "Other help.", {{"a", "9"}}),
                 std::invalid_argument);
    // The same labels in another order are the same time series.
    EXPECT_THROW(registry.register_counter("cpx_x_total", "X.", {{"b", "2"}, {"a", "1"}}),
                 std::invalid_argument);
    EXPECT_EQ(registry.render(), before);
    EXPECT_NO_THROW(registry.register_counter("cpx_x_total", "X.", {{"a", "1"}, {"b", "3"}}));
}

TEST(OpsMetrics, RegisteredReferencesStayValid) {
    Registry registry;
    Counter& first = registry.register_counter("cpx_first_total", "First.");
    std::vector<Counter*> children;
    for (int i = 0; i < 1000; ++i) {
        children.push_back(
            &registry.register_counter("cpx_many_total", "Many.", {{"i", std::to_string(i)}}));
    }
    first.add(7);
    children.front()->add(3);
    const std::string text = registry.render();
    EXPECT_NE(text.find("\ncpx_first_total 7\n"), std::string::npos);
    EXPECT_NE(text.find("\ncpx_many_total{i=\"0\"} 3\n"), std::string::npos);
}

}  // namespace
}  // namespace cpx::ops
