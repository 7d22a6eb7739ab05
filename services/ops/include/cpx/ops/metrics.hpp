#pragma once

// A registry of Prometheus metrics for cpxd.
//
// The registry separates three moments with different costs:
//
// - Registration (start-up only) takes a mutex, validates names, allocates, and returns
//   a reference to the new metric. The reference stays valid for the registry's whole
//   lifetime, so the order path can keep it and never look a metric up by name.
// - Updates (any thread, the order path included) are relaxed atomic operations on the
//   metric itself: no lock, no allocation, no system call. Relaxed order is enough
//   because a metric orders nothing else; a scrape only needs each value to be a value
//   that was really there.
// - Rendering (the scrape thread) takes the registration mutex, so it never sees a
//   half-registered metric, and reads every value with a relaxed load.
//
// All values are integers: counts, fen, lots and nanoseconds, like the engine.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cpx::ops {

// One constant label of a metric, e.g. {"reason", "PRICE_OUTSIDE_BAND"}. The name must
// match [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__" (reserved by Prometheus);
// the value may be any UTF-8 text and is escaped when rendered.
struct Label {
    std::string name;
    std::string value;
};

using Labels = std::vector<Label>;

// Counters and gauges sit on their own cache line, so that two metrics updated by two
// different threads do not slow each other down by sharing one.
inline constexpr std::size_t kMetricAlignment = 64;

// A monotonic count. Any thread may call any member at any time.
class alignas(kMetricAlignment) Counter {
  public:
    Counter() = default;
    Counter(const Counter&) = delete;
    Counter& operator=(const Counter&) = delete;

    // Adds n with one relaxed atomic add. Wraps modulo 2^64, which Prometheus reads as a
    // counter reset; at a billion increments per second that takes 584 years.
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }

    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down. Any thread may call any member at any time.
class alignas(kMetricAlignment) Gauge {
  public:
    Gauge() = default;
    Gauge(const Gauge&) = delete;
    Gauge& operator=(const Gauge&) = delete;

    void set(std::int64_t value) noexcept { value_.store(value, std::memory_order_relaxed); }

    // Adds delta (which may be negative) with one relaxed atomic add.
    void add(std::int64_t delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }

    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::int64_t> value_{0};
};

// A distribution over fixed buckets, e.g. order latencies in nanoseconds. Bucket i
// counts observations v with bounds[i-1] < v <= bounds[i]; a last, implicit bucket
// counts those above every bound (Prometheus's le="+Inf").
class Histogram {
  public:
    // bucket_bounds must be strictly increasing (it may be empty: then only the +Inf
    // bucket exists); otherwise throws std::invalid_argument.
    explicit Histogram(std::vector<std::int64_t> bucket_bounds);
    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    // Any thread, any time: a binary search over the bounds and two relaxed atomic adds.
    // No lock and no allocation. The sum wraps modulo 2^64 if it ever overflows.
    void observe(std::int64_t value) noexcept;

    // A copy of the histogram's state. Each bucket is read once, and count is the sum of
    // the buckets, so the +Inf bucket always equals count, as Prometheus requires, even
    // while other threads observe. sum may include observations that are not yet in
    // their bucket (or the reverse): the two are not read in one atomic step.
    struct Snapshot {
        std::vector<std::uint64_t> cumulative_counts;  // one per bound, then +Inf
        std::int64_t sum = 0;
        std::uint64_t count = 0;
    };
    Snapshot snapshot() const;

    const std::vector<std::int64_t>& bucket_bounds() const noexcept { return bounds_; }

  private:
    std::vector<std::int64_t> bounds_;
    // Per bucket, not cumulative: an observation touches exactly one bucket.
    std::unique_ptr<std::atomic<std::uint64_t>[]> bucket_counts_;
    std::atomic<std::int64_t> sum_{0};
};

// Owns every metric of a process. Registration and rendering may be called from any
// thread; they serialise on one mutex.
//
// A metric family is one name with its help text and type (counter, gauge, histogram);
// each registration adds one child to the family, identified by its labels. Registering
// a name again with the same type and help adds another child; the rules are:
//
// - Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*; label names as in Label.
// - A family keeps one type and one help text; a mismatch throws.
// - Two children of one family may not have the same set of labels (in any order).
// - One child may not repeat a label name; a histogram child may not use "le".
//
// Every violation throws std::invalid_argument and leaves the registry unchanged.
class Registry {
  public:
    Registry();
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // The returned references stay valid, and keep their address, until the registry
    // is destroyed.
    Counter& register_counter(std::string_view name, std::string_view help, Labels labels = {});
    Gauge& register_gauge(std::string_view name, std::string_view help, Labels labels = {});
    Histogram& register_histogram(std::string_view name, std::string_view help,
                                  std::vector<std::int64_t> bucket_bounds, Labels labels = {});

    // A gauge whose value is read by calling read_value at each scrape, e.g. a queue's
    // depth. read_value runs on the scraping thread while the registry's mutex is held:
    // it must be safe to call from that thread, must be quick, and must not call back
    // into the registry. An exception it throws propagates out of render(). It shares a
    // family with plain gauges of the same name. Throws std::invalid_argument also when
    // read_value is empty.
    void register_callback_gauge(std::string_view name, std::string_view help, Labels labels,
                                 std::function<std::int64_t()> read_value);

    // The Prometheus text exposition format 0.0.4: families in name order, each with one
    // "# HELP" and one "# TYPE" line, then its children in registration order. Help
    // texts and label values are escaped; histogram buckets are cumulative and followed
    // by _sum and _count.
    std::string render() const;

  private:
    enum class Type : std::uint8_t;
    struct Child;
    struct Family;
    // Validates name against the registry and adds child to its family, creating the
    // family if needed; throws std::invalid_argument, changing nothing, on a conflict.
    void add(std::string_view name, std::string_view help, Type type, Child&& child);

    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

}  // namespace cpx::ops
