#include "cpx/matching/mpsc_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "stress.hpp"

namespace {

using cpx::matching::MpscQueue;
using namespace cpx::testing;

// An item tagged with its producer and that producer's sequence number, plus a
// checksum over both, so that torn or stale copies are detected.
struct Tagged {
    std::uint32_t producer = 0;
    std::uint32_t spare = 0;
    std::uint64_t sequence = 0;
    std::uint64_t payload = 0;
    std::uint64_t checksum = 0;
};

std::uint64_t checksum_of(const Tagged& item) {
    return mix((std::uint64_t{item.producer} << 32) ^ item.spare ^ mix(item.sequence) ^
               mix(item.payload));
}

Tagged make_item(std::uint32_t producer, std::uint64_t sequence) {
    Tagged item;
    item.producer = producer;
    item.spare = ~producer;
    item.sequence = sequence;
    item.payload = mix(sequence + producer);
    item.checksum = checksum_of(item);
    return item;
}

bool intact(const Tagged& item) {
    return item.spare == ~item.producer && item.payload == mix(item.sequence + item.producer) &&
           item.checksum == checksum_of(item);
}

// ---------------------------------------------------------------------------------
// Single-threaded behaviour.

TEST(MpscQueue, ReportsTheCapacityItWasBuiltWith) {
    MpscQueue<int> queue(1024);
    EXPECT_EQ(queue.capacity(), 1024u);
    EXPECT_EQ(queue.size_approx(), 0u);
}

TEST(MpscQueue, PopFromEmptyQueueFailsAndLeavesOutputUntouched) {
    MpscQueue<int> queue(8);
    int out = 42;
    EXPECT_FALSE(queue.try_pop(out));
    EXPECT_EQ(out, 42);
    int batch[4] = {7, 7, 7, 7};
    EXPECT_EQ(queue.pop_batch(batch, 4), 0u);
    EXPECT_EQ(batch[0], 7);
}

TEST(MpscQueue, PopFailsAgainOnceDrained) {
    MpscQueue<int> queue(4);
    ASSERT_TRUE(queue.try_push(1));
    int out = 0;
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_FALSE(queue.try_pop(out));
    EXPECT_EQ(out, 1);
}

TEST(MpscQueue, AcceptsExactlyCapacityItemsThenRejectsPush) {
    MpscQueue<int> queue(16);
    for (int i = 0; i < 16; ++i) {
        ASSERT_TRUE(queue.try_push(i)) << "push " << i << " of 16";
    }
    EXPECT_EQ(queue.size_approx(), 16u);
    EXPECT_FALSE(queue.try_push(99));
    EXPECT_EQ(queue.size_approx(), 16u);

    // The rejected item must not have overwritten anything.
    for (int i = 0; i < 16; ++i) {
        int out = -1;
        ASSERT_TRUE(queue.try_pop(out));
        EXPECT_EQ(out, i);
    }
    int out = -1;
    EXPECT_FALSE(queue.try_pop(out));
}

TEST(MpscQueue, PopOneFromFullQueueFreesExactlyOneSlot) {
    MpscQueue<int> queue(4);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(queue.try_push(i));
    }
    int out = -1;
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_EQ(out, 0);
    EXPECT_TRUE(queue.try_push(4));
    EXPECT_FALSE(queue.try_push(5));
}

TEST(MpscQueue, MinimumCapacityOfTwoWorks) {
    MpscQueue<int> queue(2);
    EXPECT_TRUE(queue.try_push(1));
    EXPECT_TRUE(queue.try_push(2));
    EXPECT_FALSE(queue.try_push(3));
    int out = 0;
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_EQ(out, 1);
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_EQ(out, 2);
    EXPECT_FALSE(queue.try_pop(out));
}

TEST(MpscQueue, PopsItemsInFifoOrder) {
    MpscQueue<int> queue(32);
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(queue.try_push(i * 3));
    }
    for (int i = 0; i < 20; ++i) {
        int out = -1;
        ASSERT_TRUE(queue.try_pop(out));
        EXPECT_EQ(out, i * 3);
    }
}

TEST(MpscQueue, KeepsOrderAcrossManyWrapArounds) {
    // Refilling the 8-slot ring and then popping 1 to 8 items per round makes the
    // positions wrap hundreds of times, with the full and empty ends at every offset.
    MpscQueue<std::uint64_t> queue(8);
    std::uint64_t next_in = 0;
    std::uint64_t next_out = 0;
    for (int round = 0; round < 1000; ++round) {
        // Bounded, so that a queue which never reports full fails instead of hanging.
        for (int attempt = 0; attempt <= 8 && queue.try_push(next_in); ++attempt) {
            ++next_in;
        }
        ASSERT_EQ(next_in - next_out, 8u) << "the ring should be exactly full";
        const int pops = 1 + round % 8;
        for (int i = 0; i < pops; ++i) {
            std::uint64_t out = 0;
            ASSERT_TRUE(queue.try_pop(out));
            ASSERT_EQ(out, next_out);
            ++next_out;
        }
    }
    std::uint64_t out = 0;
    while (queue.try_pop(out)) {
        ASSERT_EQ(out, next_out);
        ++next_out;
    }
    EXPECT_EQ(next_out, next_in);
    EXPECT_GT(next_in, 8u * 400u);
}

TEST(MpscQueue, BatchPopTakesOnlyWhatIsAvailable) {
    MpscQueue<int> queue(16);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(queue.try_push(i));
    }
    int out[10] = {};
    ASSERT_EQ(queue.pop_batch(out, 3), 3u);
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[2], 2);
    ASSERT_EQ(queue.pop_batch(out, 10), 2u);
    EXPECT_EQ(out[0], 3);
    EXPECT_EQ(out[1], 4);
    EXPECT_EQ(queue.pop_batch(out, 10), 0u);
}

TEST(MpscQueue, BatchPopFromNearlyFullRingAcrossItsEnd) {
    MpscQueue<int> queue(8);
    // Move both positions to slot 5, then fill the ring so that it wraps after 3 slots.
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(queue.try_push(-1));
    }
    int scratch[5] = {};
    ASSERT_EQ(queue.pop_batch(scratch, 5), 5u);
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(queue.try_push(100 + i));
    }
    EXPECT_FALSE(queue.try_push(999));

    int out[6] = {};
    ASSERT_EQ(queue.pop_batch(out, 6), 6u);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(out[i], 100 + i);
    }
    // Exactly the six freed cells are usable again.
    for (int i = 0; i < 6; ++i) {
        EXPECT_TRUE(queue.try_push(200 + i));
    }
    EXPECT_FALSE(queue.try_push(999));
    int rest[16] = {};
    ASSERT_EQ(queue.pop_batch(rest, 16), 8u);
    EXPECT_EQ(rest[0], 106);
    EXPECT_EQ(rest[1], 107);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(rest[2 + i], 200 + i);
    }
}

TEST(MpscQueue, SizeApproxIsExactWhenIdle) {
    MpscQueue<int> queue(8);
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(queue.try_push(i));
        EXPECT_EQ(queue.size_approx(), static_cast<std::size_t>(i + 1));
    }
    int out[4] = {};
    ASSERT_EQ(queue.pop_batch(out, 4), 4u);
    EXPECT_EQ(queue.size_approx(), 2u);
}

TEST(MpscQueueDeathTest, AbortsWhenCapacityIsNotAPowerOfTwoOfAtLeastTwo) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(MpscQueue<int>{0}, "not a power of two");
    EXPECT_DEATH(MpscQueue<int>{1}, "not a power of two");
    EXPECT_DEATH(MpscQueue<int>{96}, "not a power of two");
}

// ---------------------------------------------------------------------------------
// Several threads.

TEST(MpscQueueStress, RacingProducersFillExactlyCapacityAndNoMore) {
    // With no consumer, four producers race to push until refused: exactly capacity
    // pushes succeed, every one of them is in the queue, and nothing else is.
    constexpr std::uint32_t kProducers = 4;
    constexpr std::size_t kCapacity = 256;
    const int rounds = static_cast<int>(std::max(2.0, 50.0 * test_scale()));
    for (int round = 0; round < rounds; ++round) {
        MpscQueue<Tagged> queue(kCapacity);
        std::atomic<bool> go{false};
        std::vector<std::uint64_t> pushed(kProducers, 0);
        std::vector<std::thread> producers;
        for (std::uint32_t p = 0; p < kProducers; ++p) {
            producers.emplace_back([&, p] {
                while (!go.load(std::memory_order_acquire)) {
                    std::this_thread::yield();
                }
                // Bounded, so that a queue which never reports full fails the count
                // below instead of hanging.
                while (pushed[p] <= kCapacity && queue.try_push(make_item(p, pushed[p]))) {
                    ++pushed[p];
                }
            });
        }
        go.store(true, std::memory_order_release);
        for (std::thread& producer : producers) {
            producer.join();
        }

        std::uint64_t total = 0;
        for (const std::uint64_t n : pushed) {
            total += n;
        }
        ASSERT_EQ(total, kCapacity);
        ASSERT_EQ(queue.size_approx(), kCapacity);

        std::vector<std::uint64_t> next(kProducers, 0);
        Tagged item;
        while (queue.try_pop(item)) {
            ASSERT_TRUE(intact(item));
            ASSERT_LT(item.producer, kProducers);
            ASSERT_EQ(item.sequence, next[item.producer]);
            ++next[item.producer];
        }
        EXPECT_EQ(next, pushed);
    }
}

struct StressResult {
    std::uint64_t received = 0;
    std::uint64_t errors = 0;
    std::string first_error;
    bool timed_out = false;
    std::vector<std::uint64_t> per_producer;
};

// Each producer pushes sequences 0..per_producer-1 tagged with its id, retrying when
// the queue is full; this thread pops with a mix of try_pop and pop_batch and checks
// every item against the next sequence it expects from that producer.
StressResult run_mpsc_stress(std::size_t capacity, std::uint32_t producer_count,
                             std::uint64_t per_producer) {
    MpscQueue<Tagged> queue(capacity);
    std::atomic<std::uint32_t> producers_done{0};
    std::atomic<bool> stop{false};

    std::vector<std::thread> producers;
    for (std::uint32_t p = 0; p < producer_count; ++p) {
        producers.emplace_back([&, p] {
            for (std::uint64_t seq = 0; seq < per_producer; ++seq) {
                const Tagged item = make_item(p, seq);
                while (!queue.try_push(item)) {
                    if (stop.load(std::memory_order_relaxed)) {
                        return;
                    }
                    std::this_thread::yield();
                }
            }
            producers_done.fetch_add(1, std::memory_order_release);
        });
    }

    StressResult result;
    result.per_producer.assign(producer_count, 0);
    auto fail = [&](const std::string& message) {
        if (result.errors++ == 0) {
            result.first_error = message;
        }
    };
    auto check = [&](const Tagged& item) {
        ++result.received;
        if (!intact(item)) {
            fail("corrupted item from producer " + std::to_string(item.producer));
            return;
        }
        if (item.producer >= producer_count) {
            fail("unknown producer " + std::to_string(item.producer));
            return;
        }
        std::uint64_t& expected = result.per_producer[item.producer];
        if (item.sequence != expected) {
            fail("producer " + std::to_string(item.producer) + ": expected sequence " +
                 std::to_string(expected) + ", got " + std::to_string(item.sequence));
        }
        // Resynchronise on what arrived, so that one error is not reported for every
        // item after it.
        expected = item.sequence + 1;
    };

    const auto deadline = std::chrono::steady_clock::now() + kStressDeadline;
    std::vector<Tagged> out(capacity * 2);
    std::uint64_t round = 0;
    for (;;) {
        // Read before polling: once every producer has finished, its items are all
        // published, so an empty poll afterwards means everything has been delivered.
        const bool done = producers_done.load(std::memory_order_acquire) == producer_count;
        std::size_t got = 0;
        if (round++ % 3 == 0) {
            Tagged item;
            if (queue.try_pop(item)) {
                check(item);
                got = 1;
            }
        } else {
            // Sizes from 1 to twice the capacity.
            got = queue.pop_batch(out.data(), 1 + (round * 13) % out.size());
            for (std::size_t i = 0; i < got; ++i) {
                check(out[i]);
            }
        }
        if (queue.size_approx() > capacity) {
            fail("size_approx above capacity");
        }
        if (result.received > per_producer * producer_count) {
            // More items than were sent: a broken queue could go on inventing them.
            fail("received more items than were sent");
            stop.store(true, std::memory_order_relaxed);
            break;
        }
        if (round % 1024 == 0 && std::chrono::steady_clock::now() > deadline) {
            result.timed_out = true;
            stop.store(true, std::memory_order_relaxed);
            break;
        }
        if (got != 0) {
            continue;
        }
        if (done) {
            break;
        }
        std::this_thread::yield();
    }
    for (std::thread& producer : producers) {
        producer.join();
    }
    return result;
}

void run_and_expect_clean(std::size_t capacity, std::uint32_t producer_count,
                          std::uint64_t per_producer) {
    const StressResult result = run_mpsc_stress(capacity, producer_count, per_producer);
    EXPECT_FALSE(result.timed_out) << "no progress before the deadline";
    EXPECT_EQ(result.errors, 0u) << result.first_error;
    EXPECT_EQ(result.received, per_producer * producer_count);
    for (std::uint32_t p = 0; p < producer_count; ++p) {
        EXPECT_EQ(result.per_producer[p], per_producer) << "items received from producer " << p;
    }
}

TEST(MpscQueueStress, FourProducersDeliverEveryItemOnceInPerProducerOrderThroughSmallRing) {
    run_and_expect_clean(64, 4, scaled(1'000'000));
}

TEST(MpscQueueStress, FourProducersDeliverEveryItemOnceInPerProducerOrderThroughLargerRing) {
    run_and_expect_clean(1024, 4, scaled(1'000'000));
}

}  // namespace
