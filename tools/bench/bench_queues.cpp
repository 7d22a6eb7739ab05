// Throughput of the queues that connect the engine thread to the rest of the process:
// SpscQueue with 80-byte messages (the size of an Event) and MpscQueue with 64-byte
// messages (the size of a Command). The benchmark thread is the consumer; producer
// threads run until it has taken the items it needs and then stop, so every run ends.
// Times are wall-clock, since the work is spread over several threads.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/matching/spsc_queue.hpp"

namespace {

using cpx::matching::MpscQueue;
using cpx::matching::SpscQueue;

struct Message80 {
    std::uint64_t sequence = 0;
    std::uint64_t body[9] = {};
};
static_assert(sizeof(Message80) == 80);

struct Message64 {
    std::uint32_t producer = 0;
    std::uint32_t spare = 0;
    std::uint64_t sequence = 0;
    std::uint64_t body[6] = {};
};
static_assert(sizeof(Message64) == 64);

// Items the consumer takes per benchmark iteration; large enough that the benchmark
// loop's own overhead does not show.
constexpr std::size_t kItemsPerIteration = 4096;
constexpr std::size_t kBatch = 32;

// A failed push or pop means the other side is behind. Spinning briefly catches it up
// cheaply when each thread has a core; yielding afterwards keeps the run moving when
// there are more threads than cores.
class Backoff {
  public:
    void wait() {
        if (++failures_ < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            failures_ = 0;
            std::this_thread::yield();
        }
    }
    void reset() {
        failures_ = 0;
    }

  private:
    int failures_ = 0;
};

// One producer thread pushes one message at a time (or kBatch at a time); the
// benchmark thread pops them the same way and checks that the sequence is unbroken.
template <bool kBatched>
void BM_SpscThroughput(benchmark::State& state) {
    SpscQueue<Message80> queue(static_cast<std::size_t>(state.range(0)));
    std::atomic<bool> stop{false};

    std::thread producer([&] {
        Backoff backoff;
        std::uint64_t next = 0;
        Message80 batch[kBatch];
        while (!stop.load(std::memory_order_relaxed)) {
            if constexpr (kBatched) {
                for (std::size_t i = 0; i < kBatch; ++i) {
                    batch[i].sequence = next + i;
                }
                const std::size_t pushed = queue.try_push_batch(batch, kBatch);
                next += pushed;
                if (pushed == 0) {
                    backoff.wait();
                } else {
                    backoff.reset();
                }
            } else {
                Message80 message;
                message.sequence = next;
                if (queue.try_push(message)) {
                    ++next;
                    backoff.reset();
                } else {
                    backoff.wait();
                }
            }
        }
    });

    Backoff backoff;
    std::uint64_t expected = 0;
    std::uint64_t out_of_order = 0;
    Message80 out[kBatch];
    for (auto _ : state) {
        std::size_t received = 0;
        while (received < kItemsPerIteration) {
            std::size_t got = 0;
            if constexpr (kBatched) {
                got = queue.pop_batch(out, kBatch);
            } else {
                got = queue.try_pop(out[0]) ? 1 : 0;
            }
            if (got == 0) {
                backoff.wait();
                continue;
            }
            backoff.reset();
            for (std::size_t i = 0; i < got; ++i) {
                out_of_order += out[i].sequence != expected ? 1 : 0;
                expected = out[i].sequence + 1;
            }
            received += got;
        }
    }
    stop.store(true, std::memory_order_relaxed);
    producer.join();

    benchmark::DoNotOptimize(expected);
    if (out_of_order != 0) {
        state.SkipWithError("messages arrived out of order");
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kItemsPerIteration));
    state.SetBytesProcessed(state.items_processed() * static_cast<std::int64_t>(sizeof(Message80)));
}

// state.range(0) producer threads push one message at a time; the benchmark thread
// pops them in batches of up to kBatch and checks each producer's sequence.
void BM_MpscThroughput(benchmark::State& state) {
    const auto producer_count = static_cast<std::uint32_t>(state.range(0));
    MpscQueue<Message64> queue(static_cast<std::size_t>(state.range(1)));
    std::atomic<bool> stop{false};

    std::vector<std::thread> producers;
    for (std::uint32_t p = 0; p < producer_count; ++p) {
        producers.emplace_back([&, p] {
            Backoff backoff;
            Message64 message;
            message.producer = p;
            while (!stop.load(std::memory_order_relaxed)) {
                if (queue.try_push(message)) {
                    ++message.sequence;
                    backoff.reset();
                } else {
                    backoff.wait();
                }
            }
        });
    }

    Backoff backoff;
    std::vector<std::uint64_t> expected(producer_count, 0);
    std::uint64_t out_of_order = 0;
    Message64 out[kBatch];
    for (auto _ : state) {
        std::size_t received = 0;
        while (received < kItemsPerIteration) {
            const std::size_t got = queue.pop_batch(out, kBatch);
            if (got == 0) {
                backoff.wait();
                continue;
            }
            backoff.reset();
            for (std::size_t i = 0; i < got; ++i) {
                std::uint64_t& next = expected[out[i].producer];
                out_of_order += out[i].sequence != next ? 1 : 0;
                next = out[i].sequence + 1;
            }
            received += got;
        }
    }
    stop.store(true, std::memory_order_relaxed);
    for (std::thread& producer : producers) {
        producer.join();
    }

    benchmark::DoNotOptimize(expected.data());
    if (out_of_order != 0) {
        state.SkipWithError("messages arrived out of order");
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kItemsPerIteration));
    state.SetBytesProcessed(state.items_processed() * static_cast<std::int64_t>(sizeof(Message64)));
}

BENCHMARK(BM_SpscThroughput<false>)
    ->Name("BM_SpscThroughput/single")
    ->ArgName("capacity")
    ->Arg(1024)
    ->Arg(16384)
    ->UseRealTime();
BENCHMARK(BM_SpscThroughput<true>)
    ->Name("BM_SpscThroughput/batch32")
    ->ArgName("capacity")
    ->Arg(1024)
    ->Arg(16384)
    ->UseRealTime();
BENCHMARK(BM_MpscThroughput)
    ->ArgNames({"producers", "capacity"})
    ->Args({1, 1024})
    ->Args({2, 1024})
    ->Args({1, 16384})
    ->Args({2, 16384})
    ->UseRealTime();

}  // namespace
