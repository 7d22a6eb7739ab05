#pragma once

// SpscQueue carries values from exactly one producer thread to exactly one consumer
// thread, without locks and without allocating after construction. The engine thread
// is the producer of events and the one publisher thread behind it is the consumer;
// having a single writer on each side is what lets both sides get away with a plain
// load and a release store per operation, with no read-modify-write at all.
//
// The queue is bounded so that memory stays fixed and a slow consumer shows up as
// back-pressure instead of as unbounded growth. When it is full, try_push returns
// false and the producer decides what to do: spin, yield, or report that it is
// overloaded. Nothing is ever dropped or overwritten silently.
//
// The design is the classic one (Rigtorp, folly::ProducerConsumerQueue): each side
// owns one index on its own cache line and keeps a cached copy of the other side's
// index, so that it reads the other side's line only when its cached copy says the
// queue looks full (producer) or empty (consumer). Indices grow without wrapping and
// are reduced with a mask, which lets the queue hold exactly `capacity` items.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <type_traits>

namespace cpx::matching {

template <typename T>
class SpscQueue {
    // Values are copied in and out of the ring with plain assignment, so they must be
    // plain bytes: nothing to destroy and no copy that could throw or allocate.
    static_assert(std::is_trivially_copyable_v<T>, "SpscQueue holds trivially copyable values");
    // Every slot is value-initialized in the constructor, which also touches every page
    // of the ring up front so that no page fault lands on the hot path.
    static_assert(std::is_default_constructible_v<T>, "SpscQueue slots are value-initialized");

  public:
    // capacity must be a power of two and at least 2; anything else is a programming
    // error and stops the process, in every build type, because a wrong mask would
    // silently corrupt the ring.
    explicit SpscQueue(std::size_t capacity)
        : capacity_(checked_capacity(capacity)),
          mask_(capacity_ - 1),
          storage_(new T[capacity_ + 2 * kPadding]()),
          slots_(storage_.get() + kPadding) {}

    SpscQueue(const SpscQueue&) = delete;
    SpscQueue& operator=(const SpscQueue&) = delete;

    // Producer only. Returns false, and changes nothing, when the queue is full.
    bool try_push(const T& item) {
        const std::size_t write_pos = write_index_.load(std::memory_order_relaxed);
        if (write_pos - cached_read_index_ == capacity_) {
            // Acquire pairs with the consumer's release store, so its reads of the slot
            // we are about to overwrite are finished before we write it.
            cached_read_index_ = read_index_.load(std::memory_order_acquire);
            if (write_pos - cached_read_index_ == capacity_) {
                return false;
            }
        }
        slots_[write_pos & mask_] = item;
        write_index_.store(write_pos + 1, std::memory_order_release);
        return true;
    }

    // Producer only. Pushes the longest prefix of items[0, n) that fits and publishes
    // all of it with one release store. Returns how many were pushed (0 when full).
    std::size_t try_push_batch(const T* items, std::size_t n) {
        const std::size_t write_pos = write_index_.load(std::memory_order_relaxed);
        std::size_t free_slots = capacity_ - (write_pos - cached_read_index_);
        if (free_slots < n) {
            cached_read_index_ = read_index_.load(std::memory_order_acquire);
            free_slots = capacity_ - (write_pos - cached_read_index_);
        }
        const std::size_t count = std::min(n, free_slots);
        if (count == 0) {
            return 0;
        }
        copy_into_ring(write_pos, items, count);
        write_index_.store(write_pos + count, std::memory_order_release);
        return count;
    }

    // Consumer only. Returns false, and leaves out untouched, when the queue is empty.
    bool try_pop(T& out) {
        const std::size_t read_pos = read_index_.load(std::memory_order_relaxed);
        if (read_pos == cached_write_index_) {
            // Acquire pairs with the producer's release store, so the slot's contents
            // are visible before we copy them out.
            cached_write_index_ = write_index_.load(std::memory_order_acquire);
            if (read_pos == cached_write_index_) {
                return false;
            }
        }
        out = slots_[read_pos & mask_];
        read_index_.store(read_pos + 1, std::memory_order_release);
        return true;
    }

    // Consumer only. Copies up to max items into out, with at most one acquire load of
    // the producer's index and exactly one release store of ours. Returns the count.
    std::size_t pop_batch(T* out, std::size_t max) {
        const std::size_t read_pos = read_index_.load(std::memory_order_relaxed);
        std::size_t available = cached_write_index_ - read_pos;
        if (available < max) {
            cached_write_index_ = write_index_.load(std::memory_order_acquire);
            available = cached_write_index_ - read_pos;
        }
        const std::size_t count = std::min(max, available);
        if (count == 0) {
            return 0;
        }
        copy_from_ring(read_pos, out, count);
        read_index_.store(read_pos + count, std::memory_order_release);
        return count;
    }

    // Any thread. Exact when neither side is running; otherwise an estimate, since both
    // sides may move while it reads, that is never below 0 nor above capacity().
    std::size_t size_approx() const {
        // The read index is loaded first: an acquire load that observes the consumer's
        // progress also makes visible the producer's stores that progress depended on,
        // so the write index loaded next is never behind it.
        const std::size_t read_pos = read_index_.load(std::memory_order_acquire);
        const std::size_t write_pos = write_index_.load(std::memory_order_relaxed);
        const std::size_t size = write_pos - read_pos;
        return size > capacity_ ? capacity_ : size;
    }

    std::size_t capacity() const { return capacity_; }

  private:
    static constexpr std::size_t kCacheLine = 64;
    // Spare slots before and after the ring keep its first and last slots off cache
    // lines shared with whatever the allocator placed next to it.
    static constexpr std::size_t kPadding = (kCacheLine - 1) / sizeof(T) + 1;

    static std::size_t checked_capacity(std::size_t capacity) {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0) {
            std::fprintf(stderr, "SpscQueue: capacity %zu is not a power of two >= 2\n", capacity);
            std::abort();
        }
        return capacity;
    }

    // The ring is contiguous, so a run of count slots starting at index is at most two
    // contiguous pieces: up to the end of the array, then from its start.
    void copy_into_ring(std::size_t index, const T* items, std::size_t count) {
        const std::size_t start = index & mask_;
        const std::size_t first = std::min(count, capacity_ - start);
        std::copy_n(items, first, slots_ + start);
        std::copy_n(items + first, count - first, slots_);
    }

    void copy_from_ring(std::size_t index, T* out, std::size_t count) const {
        const std::size_t start = index & mask_;
        const std::size_t first = std::min(count, capacity_ - start);
        std::copy_n(slots_ + start, first, out);
        std::copy_n(slots_, count - first, out + first);
    }

    // Set in the constructor and only read afterwards, so both sides may share the line.
    const std::size_t capacity_;
    const std::size_t mask_;
    const std::unique_ptr<T[]> storage_;
    T* const slots_;

    // The producer's line: the index it publishes and its private copy of the
    // consumer's index.
    alignas(kCacheLine) std::atomic<std::size_t> write_index_{0};
    std::size_t cached_read_index_ = 0;

    // The consumer's line, mirroring the producer's. The class is 64-byte aligned, so
    // its size rounds up and nothing outside the queue can share this line either.
    alignas(kCacheLine) std::atomic<std::size_t> read_index_{0};
    std::size_t cached_write_index_ = 0;
};

}  // namespace cpx::matching
