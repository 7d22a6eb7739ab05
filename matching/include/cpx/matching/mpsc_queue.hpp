#pragma once

// MpscQueue carries commands from any number of producer threads (the gRPC handlers)
// to one consumer thread (the engine), without locks and without allocating after
// construction. It is Dmitry Vyukov's bounded MPMC queue used with a single consumer:
// every cell carries a sequence number that says whose turn it is, producers claim a
// position with one compare-and-swap, and the consumer needs no read-modify-write.
//
// The queue is bounded so that a burst of requests cannot grow memory without limit
// and so that overload is visible at the door. When it is full, try_push returns false
// and the caller decides: spin and retry, or answer RESOURCE_EXHAUSTED to the client.
// Nothing already queued is ever dropped or overwritten.
//
// One property of the algorithm matters to the consumer: a producer that has claimed a
// position but not yet written its cell holds back the items queued after it, so the
// consumer may briefly see the queue as empty while later items are in it. Items are
// never lost or reordered by this; they appear as soon as that producer finishes.

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <type_traits>

namespace cpx::matching {

template <typename T>
class MpscQueue {
    // Values are copied in and out of cells with plain assignment, so they must be plain
    // bytes: nothing to destroy and no copy that could throw or allocate.
    static_assert(std::is_trivially_copyable_v<T>, "MpscQueue holds trivially copyable values");
    // Every cell is value-initialized in the constructor, which also touches every page
    // of the ring up front so that no page fault lands on the hot path.
    static_assert(std::is_default_constructible_v<T>, "MpscQueue cells are value-initialized");

  public:
    // capacity must be a power of two and at least 2; anything else is a programming
    // error and stops the process, in every build type, because a wrong mask would
    // silently corrupt the ring.
    explicit MpscQueue(std::size_t capacity)
        : capacity_(checked_capacity(capacity)),
          mask_(capacity_ - 1),
          cells_(new Cell[capacity_]()) {
        // Cell i is free for the producer that claims position i. Threads that use the
        // queue are started after construction, which publishes these stores to them.
        for (std::size_t i = 0; i < capacity_; ++i) {
            cells_[i].sequence.store(i, std::memory_order_relaxed);
        }
    }

    MpscQueue(const MpscQueue&) = delete;
    MpscQueue& operator=(const MpscQueue&) = delete;

    // Any thread. Returns false, and changes nothing, when the queue is full.
    bool try_push(const T& item) {
        std::size_t position = enqueue_position_.load(std::memory_order_relaxed);
        for (;;) {
            Cell& cell = cells_[position & mask_];
            // Acquire pairs with the consumer's release when it freed this cell, so its
            // read of the old value is finished before we overwrite it.
            const std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
            const auto lag = static_cast<std::ptrdiff_t>(sequence - position);
            if (lag == 0) {
                // The cell is free for this position; claim the position. Relaxed is
                // enough: the cell's sequence, not the position, orders the data.
                if (enqueue_position_.compare_exchange_weak(position, position + 1,
                                                            std::memory_order_relaxed)) {
                    cell.value = item;
                    cell.sequence.store(position + 1, std::memory_order_release);
                    return true;
                }
                // The failed exchange loaded the current position; try that one.
            } else if (lag < 0) {
                // The cell still holds the item from one lap ago: the queue is full.
                return false;
            } else {
                // Another producer claimed this position after we read it; catch up.
                position = enqueue_position_.load(std::memory_order_relaxed);
            }
        }
    }

    // Consumer only. Returns false, and leaves out untouched, when no item is ready.
    bool try_pop(T& out) {
        const std::size_t position = dequeue_position_.load(std::memory_order_relaxed);
        if (!take(position, out)) {
            return false;
        }
        dequeue_position_.store(position + 1, std::memory_order_release);
        return true;
    }

    // Consumer only. Copies up to max ready items into out, in order, and returns how
    // many. Each cell is handed back to the producers as soon as it has been copied.
    std::size_t pop_batch(T* out, std::size_t max) {
        const std::size_t first = dequeue_position_.load(std::memory_order_relaxed);
        std::size_t count = 0;
        while (count < max && take(first + count, out[count])) {
            ++count;
        }
        if (count != 0) {
            dequeue_position_.store(first + count, std::memory_order_release);
        }
        return count;
    }

    // Any thread. Counts positions claimed by producers, including items still being
    // written. Exact when no thread is using the queue; otherwise an estimate, since
    // both ends may move while it reads, that is never below 0 nor above capacity().
    std::size_t size_approx() const {
        // The dequeue position is loaded first: an acquire load that observes the
        // consumer's progress also makes visible the claims that progress depended on,
        // so the enqueue position loaded next is never behind it.
        const std::size_t dequeued = dequeue_position_.load(std::memory_order_acquire);
        const std::size_t enqueued = enqueue_position_.load(std::memory_order_relaxed);
        const std::size_t size = enqueued - dequeued;
        return size > capacity_ ? capacity_ : size;
    }

    std::size_t capacity() const { return capacity_; }

  private:
    static constexpr std::size_t kCacheLine = 64;

    // Each cell starts on its own cache line, so that a producer writing one cell and
    // the consumer reading its neighbour do not invalidate each other's line.
    struct alignas(kCacheLine) Cell {
        // position when the cell is free for the producer of that position,
        // position + 1 once that producer has written it, and position + capacity once
        // the consumer has read it (which frees it for the next lap).
        std::atomic<std::size_t> sequence;
        T value;
    };

    static std::size_t checked_capacity(std::size_t capacity) {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0) {
            std::fprintf(stderr, "MpscQueue: capacity %zu is not a power of two >= 2\n", capacity);
            std::abort();
        }
        return capacity;
    }

    // Copies the item at position into out and frees its cell, or returns false if the
    // producer of that position has not finished writing it (or has not claimed it yet).
    bool take(std::size_t position, T& out) {
        Cell& cell = cells_[position & mask_];
        // Acquire pairs with the producer's release, so the value is visible. With one
        // consumer the sequence can only be position (not ready) or position + 1.
        if (cell.sequence.load(std::memory_order_acquire) != position + 1) {
            return false;
        }
        out = cell.value;
        cell.sequence.store(position + capacity_, std::memory_order_release);
        return true;
    }

    // Set in the constructor and only read afterwards, so every thread may share the line.
    const std::size_t capacity_;
    const std::size_t mask_;
    const std::unique_ptr<Cell[]> cells_;

    // Contended by the producers alone; kept off the consumer's line.
    alignas(kCacheLine) std::atomic<std::size_t> enqueue_position_{0};

    // Written only by the consumer. It is atomic so that size_approx may read it from
    // any thread. The class is 64-byte aligned, so its size rounds up and nothing
    // outside the queue can share this line either.
    alignas(kCacheLine) std::atomic<std::size_t> dequeue_position_{0};
};

}  // namespace cpx::matching
