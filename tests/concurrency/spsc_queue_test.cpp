#include "cpx/matching/spsc_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "stress.hpp"

namespace {

using cpx::matching::SpscQueue;
using namespace cpx::testing;

// Several words derived from one sequence number, so that an item assembled from
// parts of two different writes (a torn or stale copy) fails its checksum.
struct Sequenced {
    std::uint64_t sequence = 0;
    std::uint64_t payload_a = 0;
    std::uint64_t payload_b = 0;
    std::uint64_t checksum = 0;
};

Sequenced make_item(std::uint64_t sequence) {
    Sequenced item;
    item.sequence = sequence;
    item.payload_a = mix(sequence);
    item.payload_b = ~sequence * 0x2545F4914F6CDD1Dull;
    item.checksum = mix(item.sequence ^ mix(item.payload_a ^ mix(item.payload_b)));
    return item;
}

bool intact(const Sequenced& item) {
    return item.payload_a == mix(item.sequence) &&
           item.payload_b == ~item.sequence * 0x2545F4914F6CDD1Dull &&
           item.checksum == mix(item.sequence ^ mix(item.payload_a ^ mix(item.payload_b)));
}

// ---------------------------------------------------------------------------------
// Single-threaded behaviour.

TEST(SpscQueue, ReportsTheCapacityItWasBuiltWith) {
    SpscQueue<int> queue(64);
    EXPECT_EQ(queue.capacity(), 64u);
    EXPECT_EQ(queue.size_approx(), 0u);
}

TEST(SpscQueue, PopFromEmptyQueueFailsAndLeavesOutputUntouched) {
    SpscQueue<int> queue(8);
    int out = 42;
    EXPECT_FALSE(queue.try_pop(out));
    EXPECT_EQ(out, 42);
    int batch[4] = {7, 7, 7, 7};
    EXPECT_EQ(queue.pop_batch(batch, 4), 0u);
    EXPECT_EQ(batch[0], 7);
}

TEST(SpscQueue, PopFailsAgainOnceDrained) {
    SpscQueue<int> queue(4);
    ASSERT_TRUE(queue.try_push(1));
    int out = 0;
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_FALSE(queue.try_pop(out));
    EXPECT_EQ(out, 1);
}

TEST(SpscQueue, AcceptsExactlyCapacityItemsThenRejectsPush) {
    SpscQueue<int> queue(16);
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

TEST(SpscQueue, PopOneFromFullQueueFreesExactlyOneSlot) {
    SpscQueue<int> queue(4);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(queue.try_push(i));
    }
    int out = -1;
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_EQ(out, 0);
    EXPECT_TRUE(queue.try_push(4));
    EXPECT_FALSE(queue.try_push(5));
}

TEST(SpscQueue, MinimumCapacityOfTwoWorks) {
    SpscQueue<int> queue(2);
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

TEST(SpscQueue, PopsItemsInFifoOrder) {
    SpscQueue<int> queue(32);
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(queue.try_push(i * 3));
    }
    for (int i = 0; i < 20; ++i) {
        int out = -1;
        ASSERT_TRUE(queue.try_pop(out));
        EXPECT_EQ(out, i * 3);
    }
}

TEST(SpscQueue, KeepsOrderAcrossManyWrapArounds) {
    // Refilling the 8-slot ring and then popping 1 to 8 items per round makes the
    // indices wrap hundreds of times, with the full and empty ends at every offset.
    SpscQueue<std::uint64_t> queue(8);
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

TEST(SpscQueue, BatchPushStoresOnlyWhatFitsWhenNearlyFull) {
    SpscQueue<int> queue(8);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(queue.try_push(i));
    }
    const int more[6] = {5, 6, 7, 8, 9, 10};
    EXPECT_EQ(queue.try_push_batch(more, 6), 3u);
    EXPECT_EQ(queue.size_approx(), 8u);
    EXPECT_EQ(queue.try_push_batch(more + 3, 3), 0u);

    int out[16] = {};
    ASSERT_EQ(queue.pop_batch(out, 16), 8u);
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(out[i], i);
    }
}

TEST(SpscQueue, BatchPopTakesOnlyWhatIsAvailable) {
    SpscQueue<int> queue(16);
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

TEST(SpscQueue, BatchPushAndPopSplitAcrossTheEndOfTheRing) {
    SpscQueue<int> queue(8);
    // Move both indices to slot 6, so that a batch of 5 wraps after two slots.
    int scratch[6] = {};
    ASSERT_EQ(queue.try_push_batch(scratch, 6), 6u);
    ASSERT_EQ(queue.pop_batch(scratch, 6), 6u);

    const int items[5] = {10, 11, 12, 13, 14};
    ASSERT_EQ(queue.try_push_batch(items, 5), 5u);
    int out[5] = {};
    ASSERT_EQ(queue.pop_batch(out, 5), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(out[i], items[i]);
    }
}

TEST(SpscQueue, BatchAndSingleOperationsInterleaveInOrder) {
    SpscQueue<int> queue(16);
    int next_in = 0;
    int next_out = 0;
    for (std::size_t round = 0; round < 500; ++round) {
        int batch[7];
        std::iota(batch, batch + 7, next_in);
        const std::size_t pushed = queue.try_push_batch(batch, 1 + round % 7);
        next_in += static_cast<int>(pushed);
        if (queue.try_push(next_in)) {
            ++next_in;
        }
        int out[5] = {};
        const std::size_t popped = queue.pop_batch(out, 1 + round % 5);
        for (std::size_t i = 0; i < popped; ++i) {
            ASSERT_EQ(out[i], next_out++);
        }
        int one = -1;
        if (queue.try_pop(one)) {
            ASSERT_EQ(one, next_out++);
        }
    }
    int one = -1;
    while (queue.try_pop(one)) {
        ASSERT_EQ(one, next_out++);
    }
    EXPECT_EQ(next_out, next_in);
}

TEST(SpscQueue, SizeApproxIsExactWhenIdle) {
    SpscQueue<int> queue(8);
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(queue.try_push(i));
        EXPECT_EQ(queue.size_approx(), static_cast<std::size_t>(i + 1));
    }
    int out[4] = {};
    ASSERT_EQ(queue.pop_batch(out, 4), 4u);
    EXPECT_EQ(queue.size_approx(), 2u);
}

TEST(SpscQueueDeathTest, AbortsWhenCapacityIsNotAPowerOfTwoOfAtLeastTwo) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(SpscQueue<int>{0}, "not a power of two");
    EXPECT_DEATH(SpscQueue<int>{1}, "not a power of two");
    EXPECT_DEATH(SpscQueue<int>{12}, "not a power of two");
}

// ---------------------------------------------------------------------------------
// Two threads.

enum class ProducerStyle { Single, Batch };

struct StressResult {
    std::uint64_t received = 0;
    std::uint64_t errors = 0;
    std::string first_error;
    bool timed_out = false;
};

// One producer thread pushes sequences 0..count-1; this thread pops them with a mix of
// try_pop and pop_batch of varying sizes and checks every item as it arrives.
StressResult run_spsc_stress(std::size_t capacity, std::uint64_t count, ProducerStyle style) {
    SpscQueue<Sequenced> queue(capacity);
    std::atomic<bool> producer_done{false};
    std::atomic<bool> stop{false};

    std::thread producer([&] {
        std::vector<Sequenced> batch(capacity + 3);
        std::uint64_t next = 0;
        std::uint64_t round = 0;
        while (next < count && !stop.load(std::memory_order_relaxed)) {
            if (style == ProducerStyle::Single) {
                if (queue.try_push(make_item(next))) {
                    ++next;
                } else {
                    std::this_thread::yield();
                }
                continue;
            }
            // Batches from 1 up to more than the whole capacity, so that both partial
            // and refused batches happen.
            const std::uint64_t want =
                std::min<std::uint64_t>(1 + (round++ * 7) % batch.size(), count - next);
            for (std::uint64_t i = 0; i < want; ++i) {
                batch[i] = make_item(next + i);
            }
            const std::size_t pushed = queue.try_push_batch(batch.data(), want);
            next += pushed;
            if (pushed == 0) {
                std::this_thread::yield();
            }
        }
        producer_done.store(true, std::memory_order_release);
    });

    StressResult result;
    auto fail = [&](const std::string& message) {
        if (result.errors++ == 0) {
            result.first_error = message;
        }
    };
    std::uint64_t expected = 0;
    auto check = [&](const Sequenced& item) {
        ++result.received;
        if (!intact(item)) {
            fail("corrupted item at position " + std::to_string(result.received - 1));
        } else if (item.sequence != expected) {
            fail("expected sequence " + std::to_string(expected) + ", got " +
                 std::to_string(item.sequence));
        }
        // Resynchronise on what arrived, so that one error is not reported for every
        // item after it.
        expected = item.sequence + 1;
    };

    const auto deadline = std::chrono::steady_clock::now() + kStressDeadline;
    std::vector<Sequenced> out(capacity * 2);
    std::uint64_t round = 0;
    for (;;) {
        // The producer's flag is read before polling: if it was already set, an empty
        // poll afterwards means every item has been delivered.
        const bool done = producer_done.load(std::memory_order_acquire);
        std::size_t got = 0;
        if (round++ % 3 == 0) {
            Sequenced item;
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
        if (result.received > count) {
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
    producer.join();
    if (!result.timed_out && expected != count) {
        fail("stream ended at sequence " + std::to_string(expected));
    }
    return result;
}

void expect_clean(const StressResult& result, std::uint64_t count) {
    EXPECT_FALSE(result.timed_out) << "no progress before the deadline";
    EXPECT_EQ(result.errors, 0u) << result.first_error;
    EXPECT_EQ(result.received, count);
}

TEST(SpscQueueStress, OneByOneProducerDeliversEveryItemOnceInOrderIntactThroughSmallRing) {
    const std::uint64_t count = scaled(4'000'000);
    expect_clean(run_spsc_stress(64, count, ProducerStyle::Single), count);
}

TEST(SpscQueueStress, BatchProducerDeliversEveryItemOnceInOrderIntactThroughSmallRing) {
    const std::uint64_t count = scaled(4'000'000);
    expect_clean(run_spsc_stress(64, count, ProducerStyle::Batch), count);
}

TEST(SpscQueueStress, OneByOneProducerDeliversEveryItemOnceInOrderIntactThroughLargerRing) {
    const std::uint64_t count = scaled(4'000'000);
    expect_clean(run_spsc_stress(1024, count, ProducerStyle::Single), count);
}

}  // namespace
