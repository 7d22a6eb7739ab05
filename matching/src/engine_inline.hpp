#pragma once

// The small functions that nearly every command runs: finding a book, building an
// event, taking and giving back a pool slot, linking an order into its level, and
// taking it out again. They are defined here, and declared inline in engine.hpp, so
// that every file of the engine that calls them sees their bodies; the hottest are
// forced inline, because link-time optimisation left them out of line and the calls
// cost about a tenth of the engine's instructions (docs/BENCHMARKS.md, "2026-12-01: an
// idle machine, and the order path inlined"). Only the engine's own sources include
// this file.

#include <cassert>

#include "cpx/matching/engine.hpp"

namespace cpx::matching {

[[gnu::always_inline]] inline std::uint32_t Engine::book_index_of(InstrumentId id) const {
    if (id < book_of_small_id_.size()) {
        return book_of_small_id_[id];
    }
    if (id < kDirectIds) {
        return kNoSlot;
    }
    const auto it = book_of_.find(id);
    return it == book_of_.end() ? kNoSlot : it->second;
}

[[gnu::always_inline]] inline Book* Engine::find_book(InstrumentId id, std::uint32_t* index_out) {
    const std::uint32_t index = book_index_of(id);
    if (index == kNoSlot) {
        return nullptr;
    }
    if (index_out != nullptr) {
        *index_out = index;
    }
    return &books_[index];
}

[[gnu::always_inline]] inline const Book* Engine::find_book(InstrumentId id) const {
    const std::uint32_t index = book_index_of(id);
    return index == kNoSlot ? nullptr : &books_[index];
}

[[gnu::always_inline]] inline Event& Engine::emit(EventType type, const Book& book) {
    if (next_event_ == events_.data() + kEventBatch) {
        flush();
    }
    Event& e = *next_event_++;
    e = Event{};
    e.type = type;
    e.seq = ++seq_;
    e.ts_ns = now_ns_;
    e.instrument = book.spec.id;
    return e;
}

[[gnu::always_inline]] inline void Engine::emit_level(const Book& book, Side side,
                                                      std::int64_t tick) {
    const Level& level = book.ladder(side).levels[static_cast<std::size_t>(tick)];
    Event& e = emit(EventType::LevelUpdate, book);
    e.side = side;
    e.price = book.price_of(tick);
    e.quantity = level.total;
    e.leaves = level.count;
}

inline std::uint32_t Engine::allocate_slot() {
    assert(!free_slots_.empty());
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    ++live_orders_;
    return slot;
}

inline void Engine::release_slot(std::uint32_t slot) {
    assert(live_orders_ > 0);
    pool_[slot].id = 0;
    free_slots_.push_back(slot);
    --live_orders_;
}

[[gnu::always_inline]] inline void Engine::link_back(Book& book, std::uint32_t slot,
                                                     std::int64_t tick) {
    Order& order = pool_[slot];
    Ladder& ladder = book.ladder(order.side);
    Level& level = ladder.levels[static_cast<std::size_t>(tick)];
    order.next = kNoSlot;
    order.prev = level.tail;
    if (level.tail != kNoSlot) {
        pool_[level.tail].next = slot;
    } else {
        level.head = slot;
        ladder.occupied.set(tick);
        const bool better = order.side == Side::Buy ? tick > ladder.best : tick < ladder.best;
        if (ladder.best < 0 || better) {
            ladder.best = tick;
        }
    }
    level.tail = slot;
    level.total += order.leaves;
    ++level.count;
    ++ladder.order_count;
}

[[gnu::always_inline]] inline std::int64_t Engine::unlink(Book& book, std::uint32_t slot) {
    Order& order = pool_[slot];
    Ladder& ladder = book.ladder(order.side);
    const std::int64_t tick = book.tick_of(order.price);
    Level& level = ladder.levels[static_cast<std::size_t>(tick)];
    if (order.prev != kNoSlot) {
        pool_[order.prev].next = order.next;
    } else {
        level.head = order.next;
    }
    if (order.next != kNoSlot) {
        pool_[order.next].prev = order.prev;
    } else {
        level.tail = order.prev;
    }
    order.next = kNoSlot;
    order.prev = kNoSlot;
    level.total -= order.leaves;
    --level.count;
    --ladder.order_count;
    assert(level.total >= 0);
    if (level.count == 0) {
        assert(level.total == 0);
        ladder.occupied.clear(tick);
        if (ladder.best == tick) {
            ladder.best = order.side == Side::Buy ? ladder.occupied.find_prev(tick - 1)
                                                  : ladder.occupied.find_next(tick + 1);
        }
    }
    return tick;
}

[[gnu::always_inline]] inline std::int64_t Engine::forget(Book& book, std::uint32_t slot) {
    const std::int64_t tick = unlink(book, slot);
    index_.erase(pool_[slot].id);
    if (pool_[slot].heap_pos != kNoSlot) {
        heap_remove(slot);
    }
    release_slot(slot);
    return tick;
}

[[gnu::always_inline]] inline std::int64_t Engine::remove_order(Book& book, std::uint32_t slot,
                                                                Reason reason) {
    const Order& order = pool_[slot];
    Event& e = emit(EventType::Cancelled, book);
    e.order_id = order.id;
    e.account = order.account;
    e.side = order.side;
    e.price = order.price;
    e.quantity = order.leaves;
    e.reason = reason;
    return forget(book, slot);
}

}  // namespace cpx::matching
