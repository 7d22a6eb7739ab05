#pragma once

// A latency histogram in the manner of HdrHistogram: integer nanoseconds go into
// buckets whose width grows with the value, 128 buckets to each power of two, so every
// recorded value is known to within 1/128 (0.8%) of itself whatever its size, with a
// fixed amount of memory and no floating point. Each load-generator thread keeps its
// own and they are merged at the end, so recording takes no lock.

#include <array>
#include <cstdint>

namespace cpx::load {

class LatencyHistogram {
  public:
    // Values below 2^kSubBucketBits nanoseconds are counted exactly; above, each power
    // of two is split into 2^kSubBucketBits buckets.
    static constexpr unsigned kSubBucketBits = 7;
    // Values from 2^kValueBits nanoseconds (about 18 minutes) up land in the last bucket.
    static constexpr unsigned kValueBits = 40;
    static constexpr std::uint64_t kSubBucketCount = std::uint64_t{1} << kSubBucketBits;
    static constexpr std::size_t kBucketCount = (kValueBits - kSubBucketBits + 1) * kSubBucketCount;

    // Negative values (a clock that went backwards) count as zero.
    void record(std::int64_t value_ns);
    void merge(const LatencyHistogram& other);

    std::uint64_t count() const { return count_; }
    std::int64_t min_ns() const { return count_ == 0 ? 0 : min_ns_; }
    std::int64_t max_ns() const { return max_ns_; }
    // The integer mean, rounded down; 0 when empty.
    std::int64_t mean_ns() const;

    // The value at or below which parts_per_million / 1e6 of the recorded values lie
    // (500000 is the median, 999000 is p99.9), reported as the highest value of its
    // bucket but never above the largest value recorded. 0 when empty.
    std::int64_t percentile_ns(std::uint64_t parts_per_million) const;

    // The bucket a value falls in, and the range of values of a bucket (exposed for the
    // tests).
    static std::size_t bucket_of(std::uint64_t value_ns);
    static std::uint64_t bucket_low_ns(std::size_t bucket);
    static std::uint64_t bucket_high_ns(std::size_t bucket);

  private:
    std::array<std::uint64_t, kBucketCount> counts_{};
    std::uint64_t count_ = 0;
    // 2^64 ns is 584 years of summed latency, far beyond any bounded run.
    std::uint64_t sum_ns_ = 0;
    std::int64_t min_ns_ = 0;
    std::int64_t max_ns_ = 0;
};

}  // namespace cpx::load
