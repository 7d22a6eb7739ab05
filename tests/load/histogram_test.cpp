#include <gtest/gtest.h>

#include <cstdint>

#include "load/histogram.hpp"

namespace {

using cpx::load::LatencyHistogram;

TEST(LoadHistogram, SmallValuesAreExact) {
    for (std::uint64_t v = 0; v < 256; ++v) {
        const std::size_t bucket = LatencyHistogram::bucket_of(v);
        EXPECT_EQ(LatencyHistogram::bucket_low_ns(bucket), v);
        EXPECT_EQ(LatencyHistogram::bucket_high_ns(bucket), v);
    }
}

TEST(LoadHistogram, BucketsTileTheRangeWithBoundedError) {
    // Consecutive buckets meet without gap or overlap, and none is wider than 1/128 of
    // its lowest value.
    for (std::size_t b = 1; b < LatencyHistogram::kBucketCount; ++b) {
        ASSERT_EQ(LatencyHistogram::bucket_low_ns(b), LatencyHistogram::bucket_high_ns(b - 1) + 1)
            << b;
        const std::uint64_t low = LatencyHistogram::bucket_low_ns(b);
        const std::uint64_t width = LatencyHistogram::bucket_high_ns(b) - low + 1;
        ASSERT_LE(width * LatencyHistogram::kSubBucketCount, low < 128 ? 128 : low) << b;
    }
    for (std::uint64_t v : {1'000ull, 123'456ull, 2'000'000ull, 987'654'321ull}) {
        const std::size_t bucket = LatencyHistogram::bucket_of(v);
        EXPECT_LE(LatencyHistogram::bucket_low_ns(bucket), v);
        EXPECT_GE(LatencyHistogram::bucket_high_ns(bucket), v);
    }
    EXPECT_EQ(LatencyHistogram::bucket_of(std::uint64_t{1} << 50),
              LatencyHistogram::kBucketCount - 1);
}

TEST(LoadHistogram, PercentilesOfAKnownSet) {
    LatencyHistogram h;
    EXPECT_EQ(h.percentile_ns(500'000), 0);
    // 1 to 100 microseconds, one value each.
    for (std::int64_t us = 1; us <= 100; ++us) {
        h.record(us * 1'000);
    }
    EXPECT_EQ(h.count(), 100u);
    EXPECT_EQ(h.min_ns(), 1'000);
    EXPECT_EQ(h.max_ns(), 100'000);
    EXPECT_EQ(h.mean_ns(), 50'500);
    // Reported values are the top of their bucket: within 1/128 above the true value.
    const auto near = [](std::int64_t reported, std::int64_t truth) {
        return reported >= truth && reported <= truth + truth / 128 + 1;
    };
    EXPECT_TRUE(near(h.percentile_ns(500'000), 50'000)) << h.percentile_ns(500'000);
    EXPECT_TRUE(near(h.percentile_ns(990'000), 99'000)) << h.percentile_ns(990'000);
    EXPECT_EQ(h.percentile_ns(1'000'000), 100'000);
    EXPECT_TRUE(near(h.percentile_ns(0), 1'000));
}

TEST(LoadHistogram, MergeAddsCountsAndKeepsExtremes) {
    LatencyHistogram a;
    LatencyHistogram b;
    a.record(5'000);
    a.record(-7);  // a clock step backwards counts as zero
    b.record(9'000'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.min_ns(), 0);
    EXPECT_EQ(a.max_ns(), 9'000'000);
    EXPECT_EQ(a.percentile_ns(1'000'000), 9'000'000);
}

}  // namespace
