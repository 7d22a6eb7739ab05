#pragma once

// Event sinks for the engine's benchmarks: one that only counts, to measure the engine
// alone, and one that hands every event to another thread through an SpscQueue, which
// is how a real engine thread publishes (to the journal, the market-data feed and the
// gateways). The consumer side here checksums what it receives and checks that the
// sequence numbers arrive without gaps, so the hand-off is verified, not assumed.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>

#include "cpx/matching/event.hpp"
#include "cpx/matching/spsc_queue.hpp"

namespace cpx::bench {

// What a thread does while the other side of a queue is behind.
enum class Idle : std::uint8_t {
    // Spin briefly, then yield the core: keeps a run moving when there are more busy
    // threads than cores, as on a shared 2-core machine, at the price of a scheduler
    // time slice (milliseconds) whenever another process takes the core.
    SpinThenYield,
    // Spin and never yield, as a latency-critical thread on a dedicated core would.
    Spin,
};

// Tells the core this is a spin-wait loop (x86 PAUSE), which saves power and lets the
// other hardware thread of the core run.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// A failed push or pop means the other side is behind. Spinning briefly catches it up
// cheaply when each thread has a core of its own; what happens after that is the Idle
// policy.
class Backoff {
  public:
    explicit Backoff(Idle idle = Idle::SpinThenYield) : idle_(idle) {}

    void wait() {
        cpu_relax();
        if (idle_ == Idle::SpinThenYield && ++failures_ >= kSpinsBeforeYield) {
            failures_ = 0;
            std::this_thread::yield();
        }
    }
    void reset() { failures_ = 0; }

  private:
    static constexpr int kSpinsBeforeYield = 256;
    Idle idle_;
    int failures_ = 0;
};

// Counts events and touches nothing else: the cost of the engine without publishing.
class CountingSink final : public matching::EventSink {
  public:
    void publish(const matching::Event* /*events*/, std::size_t count) override {
        events_ += count;
    }
    std::uint64_t events() const { return events_; }

  private:
    std::uint64_t events_ = 0;
};

// Pushes each publish() batch into the queue, spinning while it is full: the engine
// thread waits for a slow consumer, and that wait is part of what is measured.
class HandoffSink final : public matching::EventSink {
  public:
    explicit HandoffSink(matching::SpscQueue<matching::Event>& queue,
                         Idle idle = Idle::SpinThenYield)
        : queue_(queue), idle_(idle) {}

    void publish(const matching::Event* events, std::size_t count) override {
        events_ += count;
        if (!forwarding_) {
            return;
        }
        Backoff backoff(idle_);
        bool waited = false;
        while (count > 0) {
            const std::size_t pushed = queue_.try_push_batch(events, count);
            events += pushed;
            count -= pushed;
            if (count > 0) {
                waited = true;
                backoff.wait();
            }
        }
        full_waits_ += waited ? 1 : 0;
    }

    // Until forwarding starts, events are only counted: a pre-filled book is built
    // before the consumer thread runs.
    void start_forwarding() { forwarding_ = true; }
    std::uint64_t events() const { return events_; }
    // How many publish() calls found the queue full and had to wait for the consumer.
    std::uint64_t full_waits() const { return full_waits_; }

  private:
    matching::SpscQueue<matching::Event>& queue_;
    Idle idle_;
    bool forwarding_ = false;
    std::uint64_t events_ = 0;
    std::uint64_t full_waits_ = 0;
};

// The lifetime shared by the benchmarks' consumer threads: a thread started by its
// owner, which runs until stop() has been called and its queue is empty, and publishes
// how far it has got (a count of events or messages) for wait_for(). Declare it as the
// owner's last member, so that the thread is joined before the owner's other members
// are destroyed.
class ConsumerThread {
  public:
    ConsumerThread() = default;
    ConsumerThread(const ConsumerThread&) = delete;
    ConsumerThread& operator=(const ConsumerThread&) = delete;
    ~ConsumerThread() { stop(); }

    template <typename Body>
    void start(Body&& body) {
        thread_ = std::thread(std::forward<Body>(body));
    }

    // Spins until the thread has published a count of at least `count`.
    void wait_for(std::uint64_t count) const {
        Backoff backoff;
        while (progress_.load(std::memory_order_acquire) < count) {
            backoff.wait();
        }
    }

    // Stops the thread once the queue is empty. Results are read after this.
    void stop() {
        if (thread_.joinable()) {
            stop_.store(true, std::memory_order_release);
            thread_.join();
        }
    }

    // For the thread itself.
    bool stopping() const { return stop_.load(std::memory_order_acquire); }
    void publish(std::uint64_t count) { progress_.store(count, std::memory_order_release); }

    std::uint64_t progress() const { return progress_.load(std::memory_order_acquire); }

  private:
    std::atomic<bool> stop_{false};
    // Read by other threads while they wait; kept off the line of the owner's fields,
    // which only the consumer thread touches while it runs.
    alignas(64) std::atomic<std::uint64_t> progress_{0};
    std::thread thread_;
};

// The thread on the other side of a HandoffSink: takes events in batches, folds each
// into a checksum and checks that seq numbers follow each other without a gap.
class EventConsumer {
  public:
    EventConsumer(matching::SpscQueue<matching::Event>& queue, matching::Sequence first_seq)
        : queue_(queue), expected_seq_(first_seq) {
        worker_.start([this] { run(); });
    }

    // Spins until the consumer has taken and checked `events` events.
    void wait_for(std::uint64_t events) const { worker_.wait_for(events); }
    // Stops the thread once the queue is empty. Results are read after this.
    void stop() { worker_.stop(); }

    std::uint64_t consumed() const { return worker_.progress(); }
    std::uint64_t checksum() const { return checksum_; }
    std::uint64_t gaps() const { return gaps_; }

  private:
    void run() {
        std::array<matching::Event, 256> batch;
        Backoff backoff;
        std::uint64_t consumed = 0;
        for (;;) {
            const std::size_t n = queue_.pop_batch(batch.data(), batch.size());
            if (n < kSmallBatch) {
                rest_between_polls();
            }
            if (n == 0) {
                if (worker_.stopping() && queue_.size_approx() == 0) {
                    return;
                }
                backoff.wait();
                continue;
            }
            backoff.reset();
            for (std::size_t i = 0; i < n; ++i) {
                const matching::Event& e = batch[i];
                gaps_ += e.seq != expected_seq_ ? 1 : 0;
                expected_seq_ = e.seq + 1;
                checksum_ = (checksum_ ^ e.seq ^ e.order_id ^ e.other_order_id) * kFnvPrime;
                checksum_ = (checksum_ ^ static_cast<std::uint64_t>(e.price + e.quantity) ^
                             static_cast<std::uint64_t>(e.type)) *
                            kFnvPrime;
            }
            consumed += n;
            worker_.publish(consumed);
        }
    }

    // A consumer that takes each event as soon as it appears reads the cache lines the
    // engine thread is still writing, and every such read makes the engine's next write
    // wait for the line to come back from the other core; a consumer that spins while
    // it waits also slows the engine's core on the test machine, whose two virtual CPUs
    // seem to share a physical core's resources (a spinning thread on the other CPU
    // made the engine alone 1.7 times slower in one measurement). After a pop that
    // found only a few events, the consumer therefore sleeps briefly and lets the queue
    // fill, as a journal writer or a market-data publisher batching its output would.
    // The queue holds about 6,000 messages' worth of events, several hundred
    // microseconds of flow, far more than the sleep, so the engine does not wait for it
    // (the full_waits counter checks that).
    static void rest_between_polls() { std::this_thread::sleep_for(kRestBetweenPolls); }

    static constexpr std::size_t kSmallBatch = 64;
    static constexpr std::chrono::microseconds kRestBetweenPolls{20};
    static constexpr std::uint64_t kFnvPrime = 0x100000001B3ull;

    matching::SpscQueue<matching::Event>& queue_;
    matching::Sequence expected_seq_;
    std::uint64_t checksum_ = 0xCBF29CE484222325ull;
    std::uint64_t gaps_ = 0;
    ConsumerThread worker_;
};

}  // namespace cpx::bench
