// The engine's storage of resting orders: the pool of slots, the FIFO links of each
// price level, and the heap of GTD expiries. Nothing here allocates: every container
// was sized when the engine was built.

#include <cassert>
#include <limits>

#include "engine_inline.hpp"

namespace cpx::matching {

bool Engine::heap_less(std::uint32_t a, std::uint32_t b) const {
    const Order& x = pool_[a];
    const Order& y = pool_[b];
    return x.expiry_ns != y.expiry_ns ? x.expiry_ns < y.expiry_ns : x.id < y.id;
}

void Engine::heap_push(std::uint32_t slot) {
    assert(heap_.size() < heap_.capacity());
    heap_.push_back(slot);
    const auto pos = static_cast<std::uint32_t>(heap_.size() - 1);
    pool_[slot].heap_pos = pos;
    heap_sift_up(pos);
}

void Engine::heap_remove(std::uint32_t slot) {
    const std::uint32_t pos = pool_[slot].heap_pos;
    if (pos == kNoSlot) {
        return;
    }
    pool_[slot].heap_pos = kNoSlot;
    const std::uint32_t last = heap_.back();
    heap_.pop_back();
    if (pos < heap_.size()) {
        heap_[pos] = last;
        pool_[last].heap_pos = pos;
        heap_sift_up(pos);
        heap_sift_down(pool_[last].heap_pos);
    }
}

void Engine::heap_sift_up(std::uint32_t pos) {
    while (pos > 0) {
        const std::uint32_t parent = (pos - 1) / 2;
        if (!heap_less(heap_[pos], heap_[parent])) {
            break;
        }
        std::swap(heap_[pos], heap_[parent]);
        pool_[heap_[pos]].heap_pos = pos;
        pool_[heap_[parent]].heap_pos = parent;
        pos = parent;
    }
}

void Engine::heap_sift_down(std::uint32_t pos) {
    const auto size = static_cast<std::uint32_t>(heap_.size());
    for (;;) {
        const std::uint32_t left = 2 * pos + 1;
        const std::uint32_t right = left + 1;
        std::uint32_t smallest = pos;
        if (left < size && heap_less(heap_[left], heap_[smallest])) {
            smallest = left;
        }
        if (right < size && heap_less(heap_[right], heap_[smallest])) {
            smallest = right;
        }
        if (smallest == pos) {
            return;
        }
        std::swap(heap_[pos], heap_[smallest]);
        pool_[heap_[pos]].heap_pos = pos;
        pool_[heap_[smallest]].heap_pos = smallest;
        pos = smallest;
    }
}

Timestamp Engine::next_expiry_ns() const {
    if (heap_.empty()) {
        return std::numeric_limits<Timestamp>::max();
    }
    return pool_[heap_[0]].expiry_ns;
}

void Engine::expire_until(Timestamp now) {
    while (!heap_.empty() && pool_[heap_.front()].expiry_ns <= now) {
        const std::uint32_t slot = heap_.front();
        Book& book = books_[pool_[slot].book];
        const Side side = pool_[slot].side;
        const std::int64_t tick = remove_order(book, slot, Reason::CancelledExpired);
        emit_level(book, side, tick);
    }
}

}  // namespace cpx::matching
