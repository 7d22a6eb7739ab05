#include "histogram.hpp"

#include <algorithm>
#include <bit>

namespace cpx::load {

std::size_t LatencyHistogram::bucket_of(std::uint64_t value_ns) {
    if (value_ns < kSubBucketCount) {
        return static_cast<std::size_t>(value_ns);
    }
    if (value_ns >> kValueBits != 0) {
        return kBucketCount - 1;
    }
    // The top kSubBucketBits + 1 bits of the value choose the bucket: the position of
    // the highest bit picks the power of two, the bits below it the bucket inside it.
    const auto shift = static_cast<unsigned>(std::bit_width(value_ns)) - 1 - kSubBucketBits;
    const std::uint64_t mantissa = value_ns >> shift;
    return static_cast<std::size_t>((shift + 1) * kSubBucketCount + (mantissa - kSubBucketCount));
}

std::uint64_t LatencyHistogram::bucket_low_ns(std::size_t bucket) {
    if (bucket < kSubBucketCount) {
        return bucket;
    }
    const std::uint64_t shift = bucket / kSubBucketCount - 1;
    const std::uint64_t mantissa = kSubBucketCount + bucket % kSubBucketCount;
    return mantissa << shift;
}

std::uint64_t LatencyHistogram::bucket_high_ns(std::size_t bucket) {
    if (bucket < kSubBucketCount) {
        return bucket;
    }
    const std::uint64_t shift = bucket / kSubBucketCount - 1;
    const std::uint64_t mantissa = kSubBucketCount + bucket % kSubBucketCount;
    return ((mantissa + 1) << shift) - 1;
}

void LatencyHistogram::record(std::int64_t value_ns) {
    const std::int64_t value = std::max<std::int64_t>(value_ns, 0);
    ++counts_[bucket_of(static_cast<std::uint64_t>(value))];
    if (count_ == 0 || value < min_ns_) {
        min_ns_ = value;
    }
    max_ns_ = std::max(max_ns_, value);
    ++count_;
    sum_ns_ += static_cast<std::uint64_t>(value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    if (other.count_ == 0) {
        return;
    }
    for (std::size_t i = 0; i < kBucketCount; ++i) {
        counts_[i] += other.counts_[i];
    }
    min_ns_ = count_ == 0 ? other.min_ns_ : std::min(min_ns_, other.min_ns_);
    max_ns_ = std::max(max_ns_, other.max_ns_);
    count_ += other.count_;
    sum_ns_ += other.sum_ns_;
}

std::int64_t LatencyHistogram::mean_ns() const {
    return count_ == 0 ? 0 : static_cast<std::int64_t>(sum_ns_ / count_);
}

std::int64_t LatencyHistogram::percentile_ns(std::uint64_t parts_per_million) const {
    if (count_ == 0) {
        return 0;
    }
    // The rank of the value asked for, counted from 1, rounded up so that p100 is the
    // largest value and p0 the smallest.
    const std::uint64_t ppm = std::min<std::uint64_t>(parts_per_million, 1'000'000);
    std::uint64_t rank = (count_ * ppm + 999'999) / 1'000'000;
    rank = std::max<std::uint64_t>(rank, 1);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBucketCount; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            return std::min(static_cast<std::int64_t>(bucket_high_ns(i)), max_ns_);
        }
    }
    return max_ns_;
}

}  // namespace cpx::load
