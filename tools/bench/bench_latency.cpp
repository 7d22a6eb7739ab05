// Latency of the matching engine under a fixed offered load: a producer offers commands
// at a steady rate (5 million messages per second unless told otherwise), paced against
// steady_clock, and stamps each with the time it offered it; the engine applies them and
// publishes their events through an SpscQueue to a consumer thread, which records for
// every message the time from its offer to the moment its first events were taken off
// the queue. Two layouts are measured, one after the other:
//
//   threaded  producer -> MpscQueue<Command> -> engine thread -> SpscQueue<Event> ->
//             consumer: three busy threads, the layout of the real exchange.
//   inline    the producer applies each command itself, then the events go through the
//             SpscQueue to the consumer: two busy threads.
//
// The time stamp travels in Command::ts_ns, which the engine copies into every event,
// so the consumer needs no side table; a message's events are recognised by their time
// stamp, which the producer keeps strictly increasing. Latency is also reported from
// the time each message was scheduled to be offered, which adds any delay the producer
// itself suffered (so a producer that falls behind cannot hide queueing, the
// "coordinated omission" trap).
//
// The flow is the trending flow of flow.hpp, generated with every order eventually
// cancelled so that it ends with an empty book and can be replayed lap after lap with
// fresh order ids for as long as the run lasts. The first part of each run (warm-up) is
// applied but not counted.
//
// Usage: cpx-bench-latency [--rate=N] [--seconds=N] [--warmup-ms=N]
//                          [--mode=both|threaded|inline] [--idle=spin|yield]
//                          [--poll-ns=N]

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cpx/matching/engine.hpp"
#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/matching/spsc_queue.hpp"
#include "flow.hpp"
#include "handoff.hpp"

namespace {

using cpx::bench::Backoff;
using cpx::bench::ConsumerThread;
using cpx::bench::cpu_relax;
using cpx::bench::Flow;
using cpx::bench::HandoffSink;
using cpx::bench::Idle;
using cpx::matching::Command;
using cpx::matching::Engine;
using cpx::matching::EngineConfig;
using cpx::matching::Event;
using cpx::matching::MpscQueue;
using cpx::matching::SpscQueue;

constexpr std::size_t kCommandQueueCapacity = 1u << 14;
constexpr std::size_t kEventQueueCapacity = 1u << 14;
constexpr std::size_t kEngineBatch = 64;

struct Options {
    std::uint64_t rate = 5'000'000;  // messages per second
    std::uint64_t seconds = 3;
    std::uint64_t warmup_ms = 500;
    std::string mode = "both";
    // Waiting threads spin without yielding by default, as they would on dedicated cores.
    Idle idle = Idle::Spin;
    // After a pop that did not fill its batch, the consumer waits this long before the
    // next one (0: it polls continuously).
    std::int64_t poll_ns = 0;
};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// The schedule: message i is due at start + i / rate seconds, in integer nanoseconds.
struct Schedule {
    std::int64_t start_ns;
    std::uint64_t rate;
    std::int64_t due(std::uint64_t i) const {
        return start_ns + static_cast<std::int64_t>(i * 1'000'000'000ull / rate);
    }
};

// Walks the schedule one message at a time without a division per message, which at
// 5 million messages per second would be a noticeable part of the producer's budget.
class ScheduleCursor {
  public:
    explicit ScheduleCursor(const Schedule& schedule)
        : due_(schedule.start_ns),
          step_(static_cast<std::int64_t>(1'000'000'000ull / schedule.rate)),
          step_remainder_(1'000'000'000ull % schedule.rate),
          rate_(schedule.rate) {}

    std::int64_t due() const { return due_; }
    void advance() {
        due_ += step_;
        remainder_ += step_remainder_;
        if (remainder_ >= rate_) {
            remainder_ -= rate_;
            ++due_;
        }
    }

  private:
    std::int64_t due_;
    std::int64_t step_;
    std::uint64_t step_remainder_;
    std::uint64_t rate_;
    std::uint64_t remainder_ = 0;
};

// The consumer side: takes events off the queue and records, for each message, the
// latency from its offer and from its scheduled time. Messages are numbered in the order
// their events arrive, which is the order they were offered: one producer, FIFO queues,
// one engine.
class LatencyRecorder {
  public:
    LatencyRecorder(SpscQueue<Event>& queue, Schedule schedule, std::size_t messages_max, Idle idle,
                    std::int64_t poll_ns)
        : queue_(queue),
          schedule_(schedule),
          idle_(idle),
          poll_ns_(poll_ns),
          from_offer_(messages_max, 0),
          from_schedule_(messages_max, 0) {
        worker_.start([this] { run(); });
    }

    void wait_for(std::uint64_t messages) const { worker_.wait_for(messages); }
    void stop() { worker_.stop(); }
    const std::vector<std::uint32_t>& from_offer() const { return from_offer_; }
    const std::vector<std::uint32_t>& from_schedule() const { return from_schedule_; }

  private:
    static std::uint32_t clamp(std::int64_t ns) {
        return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, 0xFFFFFFFF));
    }

    void run() {
        std::array<Event, 256> batch;
        Backoff backoff(idle_);
        std::uint64_t seen = 0;
        std::int64_t last_ts = -1;
        ScheduleCursor cursor(schedule_);
        for (;;) {
            const std::size_t n = queue_.pop_batch(batch.data(), batch.size());
            if (n < batch.size() && poll_ns_ > 0) {
                // Leave the producer alone for a moment: reading the queue while it
                // writes pulls its cache lines away from it at every message.
                const std::int64_t until = now_ns() + poll_ns_;
                while (now_ns() < until) {
                    cpu_relax();
                }
            }
            if (n == 0) {
                if (worker_.stopping() && queue_.size_approx() == 0) {
                    return;
                }
                backoff.wait();
                continue;
            }
            backoff.reset();
            const std::int64_t observed = now_ns();
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t ts = batch[i].ts_ns;
                if (ts == last_ts) {
                    continue;
                }
                last_ts = ts;
                if (seen < from_offer_.size()) {
                    from_offer_[seen] = clamp(observed - ts);
                    from_schedule_[seen] = clamp(observed - cursor.due());
                }
                ++seen;
                cursor.advance();
            }
            worker_.publish(seen);
        }
    }

    SpscQueue<Event>& queue_;
    Schedule schedule_;
    Idle idle_;
    std::int64_t poll_ns_;
    std::vector<std::uint32_t> from_offer_;
    std::vector<std::uint32_t> from_schedule_;
    ConsumerThread worker_;
};

// What the producer saw of its own schedule.
struct OfferStats {
    std::uint64_t offered = 0;
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    std::int64_t max_late_ns = 0;
    std::uint64_t late_over_1us = 0;
    std::uint64_t late_over_100us = 0;
    std::uint64_t queue_full = 0;
    bool deadline_hit = false;
};

// Offers messages 0..total-1 on the schedule through `offer`, which must take the
// command (push it or apply it). Gives up at the deadline, twice the planned length, so
// that an overloaded run still ends.
//
// Reading steady_clock costs about 45 ns on the test machine, a quarter of the 200 ns
// between two messages at 5 million per second, so the clock is read while waiting for
// a message to fall due and, when the producer runs behind schedule, once every
// kClockEvery messages: a message offered behind schedule is stamped with a reading
// taken at most that many messages earlier, which can only make its measured latency
// longer, never shorter.
template <typename Offer>
OfferStats offer_all(const Flow& flow, const Schedule& schedule, std::uint64_t total,
                     Offer&& offer) {
    constexpr std::uint64_t kClockEvery = 8;
    OfferStats stats;
    const std::size_t lap_length = flow.commands.size();
    const std::int64_t deadline = schedule.due(total) + (schedule.due(total) - schedule.start_ns);
    ScheduleCursor cursor(schedule);
    std::size_t position = 0;
    std::uint64_t lap = 0;
    std::int64_t last_ts = 0;
    std::int64_t now = now_ns();
    for (std::uint64_t i = 0; i < total; ++i, cursor.advance()) {
        const std::int64_t due = cursor.due();
        if (now < due || i % kClockEvery == 0) {
            now = now_ns();
        }
        while (now < due) {
            cpu_relax();
            now = now_ns();
        }
        if (now > deadline) {
            stats.deadline_hit = true;
            break;
        }
        Command c = cpx::bench::with_id_offset(flow.commands[position], lap);
        if (++position == lap_length) {
            position = 0;
            ++lap;
        }
        c.ts_ns = std::max(now, last_ts + 1);
        last_ts = c.ts_ns;
        stats.queue_full += offer(c) ? 0u : 1u;
        const std::int64_t late = c.ts_ns - due;
        stats.max_late_ns = std::max(stats.max_late_ns, late);
        stats.late_over_1us += late > 1'000 ? 1u : 0u;
        stats.late_over_100us += late > 100'000 ? 1u : 0u;
        if (i == 0) {
            stats.first_ns = c.ts_ns;
        }
        stats.last_ns = c.ts_ns;
        ++stats.offered;
    }
    return stats;
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, std::uint64_t per_100k) {
    if (sorted.empty()) {
        return 0;
    }
    const std::size_t rank = static_cast<std::size_t>((sorted.size() - 1) * per_100k / 100'000);
    return sorted[rank];
}

void print_latencies(const char* label, std::vector<std::uint32_t> samples) {
    std::sort(samples.begin(), samples.end());
    std::uint64_t sum = 0;
    for (const std::uint32_t s : samples) {
        sum += s;
    }
    const std::uint64_t mean = samples.empty() ? 0 : sum / samples.size();
    std::printf(
        "  %-14s p50 %7u  p90 %7u  p99 %7u  p99.9 %8u  p99.99 %9u  max %10u  mean %7lu ns\n", label,
        percentile(samples, 50'000), percentile(samples, 90'000), percentile(samples, 99'000),
        percentile(samples, 99'900), percentile(samples, 99'990),
        samples.empty() ? 0 : samples.back(), static_cast<unsigned long>(mean));
}

void report(const char* mode, const Options& options, const OfferStats& stats,
            const LatencyRecorder& recorder, std::uint64_t planned) {
    const std::uint64_t warmup = options.rate * options.warmup_ms / 1'000;
    const std::uint64_t counted = stats.offered > warmup ? stats.offered - warmup : 0;
    const std::int64_t span = stats.last_ns - stats.first_ns;
    // Rates are printed with one decimal of a million; the integer arithmetic keeps the
    // exact counts, the division is for display only.
    const double achieved =
        span > 0 ? static_cast<double>(stats.offered - 1) * 1e3 / static_cast<double>(span) : 0.0;
    // Sustained: every message offered before the deadline, at 99% of the rate or more
    // overall, and no more than 1% of them offered over a microsecond behind schedule, so
    // that a producer that stalls and then catches up in a burst does not pass.
    const bool sustained = !stats.deadline_hit && stats.offered == planned &&
                           achieved * 1e6 >= 0.99 * static_cast<double>(options.rate) &&
                           stats.late_over_1us * 100 <= stats.offered;
    std::printf("%s: offered %lu of %lu messages at %.3f M/s (target %.3f M/s): %s\n", mode,
                static_cast<unsigned long>(stats.offered), static_cast<unsigned long>(planned),
                achieved, static_cast<double>(options.rate) / 1e6,
                sustained ? "SUSTAINED" : "NOT SUSTAINED");
    std::printf(
        "  producer: max lateness %ld ns; offered behind schedule by more than 1 us: %.3f%%, "
        "by more than 100 us: %.3f%%; %lu offers found the command queue full\n",
        static_cast<long>(stats.max_late_ns),
        100.0 * static_cast<double>(stats.late_over_1us) /
            static_cast<double>(std::max<std::uint64_t>(stats.offered, 1)),
        100.0 * static_cast<double>(stats.late_over_100us) /
            static_cast<double>(std::max<std::uint64_t>(stats.offered, 1)),
        static_cast<unsigned long>(stats.queue_full));
    std::printf("  latency over %lu messages after a %lu ms warm-up (%lu messages):\n",
                static_cast<unsigned long>(counted), static_cast<unsigned long>(options.warmup_ms),
                static_cast<unsigned long>(std::min(warmup, stats.offered)));
    const auto counted_part = [&](const std::vector<std::uint32_t>& all) {
        const auto begin =
            all.begin() + static_cast<std::ptrdiff_t>(std::min(warmup, stats.offered));
        const auto end = all.begin() + static_cast<std::ptrdiff_t>(stats.offered);
        return std::vector<std::uint32_t>(begin, end);
    };
    print_latencies("from offer", counted_part(recorder.from_offer()));
    print_latencies("from schedule", counted_part(recorder.from_schedule()));
}

// producer -> MpscQueue -> engine thread -> SpscQueue -> consumer.
void run_threaded(const Flow& flow, const Options& options) {
    const std::uint64_t total = options.rate * options.seconds;
    MpscQueue<Command> commands(kCommandQueueCapacity);
    SpscQueue<Event> events(kEventQueueCapacity);
    HandoffSink sink(events, options.idle);
    sink.start_forwarding();
    Engine engine(EngineConfig{flow.params.engine_capacity}, sink);
    engine.add_instrument(flow.spec);

    const Schedule schedule{now_ns() + 20'000'000, options.rate};
    LatencyRecorder recorder(events, schedule, total, options.idle, options.poll_ns);
    std::atomic<bool> producer_done{false};
    std::atomic<std::uint64_t> offered_total{0};
    std::thread engine_thread([&] {
        std::array<Command, kEngineBatch> batch;
        Backoff backoff(options.idle);
        std::uint64_t applied = 0;
        for (;;) {
            const std::size_t n = commands.pop_batch(batch.data(), batch.size());
            if (n == 0) {
                if (producer_done.load(std::memory_order_acquire) &&
                    applied == offered_total.load(std::memory_order_relaxed)) {
                    return;
                }
                backoff.wait();
                continue;
            }
            backoff.reset();
            for (std::size_t i = 0; i < n; ++i) {
                engine.apply(batch[i]);
            }
            applied += n;
        }
    });

    const OfferStats stats = offer_all(flow, schedule, total, [&](const Command& c) {
        if (commands.try_push(c)) {
            return true;
        }
        Backoff backoff(options.idle);
        while (!commands.try_push(c)) {
            backoff.wait();
        }
        return false;
    });
    offered_total.store(stats.offered, std::memory_order_relaxed);
    producer_done.store(true, std::memory_order_release);
    engine_thread.join();
    recorder.wait_for(stats.offered);
    recorder.stop();
    report("threaded (producer | engine | consumer: 3 threads)", options, stats, recorder, total);
}

// producer applies each command itself -> SpscQueue -> consumer.
void run_inline(const Flow& flow, const Options& options) {
    const std::uint64_t total = options.rate * options.seconds;
    SpscQueue<Event> events(kEventQueueCapacity);
    HandoffSink sink(events, options.idle);
    sink.start_forwarding();
    Engine engine(EngineConfig{flow.params.engine_capacity}, sink);
    engine.add_instrument(flow.spec);

    const Schedule schedule{now_ns() + 20'000'000, options.rate};
    LatencyRecorder recorder(events, schedule, total, options.idle, options.poll_ns);
    const OfferStats stats = offer_all(flow, schedule, total, [&](const Command& c) {
        engine.apply(c);
        return true;
    });
    recorder.wait_for(stats.offered);
    recorder.stop();
    report("inline (producer+engine | consumer: 2 threads)", options, stats, recorder, total);
}

bool parse_number(std::string_view text, std::uint64_t& out) {
    if (text.empty()) {
        return false;
    }
    std::uint64_t value = 0;
    for (const char ch : text) {
        if (ch < '0' || ch > '9') {
            return false;
        }
        value = value * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    out = value;
    return true;
}

bool parse(int argc, char** argv, Options& options) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        const auto value_of = [&](std::string_view prefix, std::string_view& value) {
            if (arg.substr(0, prefix.size()) != prefix) {
                return false;
            }
            value = arg.substr(prefix.size());
            return true;
        };
        std::string_view value;
        bool ok = false;
        if (value_of("--rate=", value)) {
            ok = parse_number(value, options.rate) && options.rate > 0;
        } else if (value_of("--seconds=", value)) {
            ok = parse_number(value, options.seconds) && options.seconds > 0 &&
                 options.seconds <= 30;
        } else if (value_of("--warmup-ms=", value)) {
            ok = parse_number(value, options.warmup_ms);
        } else if (value_of("--poll-ns=", value)) {
            std::uint64_t poll = 0;
            ok = parse_number(value, poll) && poll <= 1'000'000;
            options.poll_ns = static_cast<std::int64_t>(poll);
        } else if (value_of("--idle=", value)) {
            ok = value == "spin" || value == "yield";
            options.idle = value == "yield" ? Idle::SpinThenYield : Idle::Spin;
        } else if (value_of("--mode=", value)) {
            options.mode = std::string(value);
            ok = options.mode == "both" || options.mode == "threaded" || options.mode == "inline";
        }
        if (!ok) {
            std::fprintf(stderr,
                         "usage: %s [--rate=N] [--seconds=1..30] [--warmup-ms=N] "
                         "[--mode=both|threaded|inline] [--idle=spin|yield] [--poll-ns=N]\n",
                         argv[0]);
            return false;
        }
    }
    if (options.warmup_ms >= options.seconds * 1'000) {
        std::fprintf(stderr, "%s: the warm-up must be shorter than the run\n", argv[0]);
        return false;
    }
    return true;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse(argc, argv, options)) {
        return 2;
    }
    cpx::bench::FlowParams params;
    params.regime = cpx::bench::Regime::Trending;
    params.keep_percent = 0;
    const Flow flow = cpx::bench::generate_flow(params);
    if (flow.final_resting != 0 || flow.rejects != 0) {
        std::fprintf(stderr, "the flow does not end with an empty book; it cannot be lapped\n");
        return 1;
    }
    std::printf(
        "flow: trending, %zu messages per lap (%.2f events per message), replayed with "
        "fresh ids for %lu s at %lu messages/s; %u hardware threads; load average %s\n",
        flow.commands.size(),
        static_cast<double>(flow.events) / static_cast<double>(flow.commands.size()),
        static_cast<unsigned long>(options.seconds), static_cast<unsigned long>(options.rate),
        std::thread::hardware_concurrency(), load_average().c_str());
    if (options.mode == "both" || options.mode == "threaded") {
        run_threaded(flow, options);
    }
    if (options.mode == "both" || options.mode == "inline") {
        run_inline(flow, options);
    }
    return 0;
}
