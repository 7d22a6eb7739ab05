// The engine's snapshot: everything that decides what the engine does next, so that an
// engine restored from it answers every later command byte for byte as the saved one.
//
// Saved                                     Restored
//   order capacity, event seq, now            checked against the new engine / as is
//   each book in listing order: spec,         add_instrument (rebuilds the id tables
//     trading state, reference price            exactly), then state and reference
//   each side's levels in priority order,     each order into its own slot, linked at the
//     each level's orders in FIFO order         back of its level: FIFO order, level
//     with their pool slot                      totals, bitsets and best prices follow
//   the expiry heap's array                   the same array, heap positions set
//   the free-slot stack, as runs              the same stack: slots are handed out in
//                                               the same order
// The order-id index is rebuilt by inserting every live order: lookups depend on its
// content only, never on where a key sits. The contents of free pool slots are not
// saved: a slot is fully written when it is handed out.
//
// Every value read is checked before it is used (slots in range and unused, ids unique,
// prices on the ladder, a valid heap, free slots and live slots partitioning the pool),
// so a damaged snapshot that got past the checksum is refused, never half-trusted.

#include <algorithm>
#include <vector>

#include "cpx/matching/snapshot_io.hpp"
#include "engine_inline.hpp"

namespace cpx::matching {

namespace {

constexpr std::uint8_t kSideCodes[2] = {static_cast<std::uint8_t>(Side::Buy),
                                        static_cast<std::uint8_t>(Side::Sell)};

void save_spec(SnapshotWriter& out, const InstrumentSpec& s) {
    out.varint(s.id);
    out.raw(s.symbol.bytes.data(), s.symbol.bytes.size());
    out.u8(static_cast<std::uint8_t>(s.kind));
    out.raw(s.hub.bytes.data(), s.hub.bytes.size());
    out.raw(s.unit.bytes.data(), s.unit.bytes.size());
    out.svarint(s.window_start_ns);
    out.svarint(s.window_end_ns);
    out.svarint(s.tick_size);
    out.svarint(s.lot_size);
    out.svarint(s.quantity_min);
    out.svarint(s.quantity_max);
    out.svarint(s.price_min);
    out.svarint(s.price_max);
    out.varint(s.band_bps);
    out.svarint(s.reference_price);
    out.varint(s.market_protection_ticks);
    out.u8(static_cast<std::uint8_t>(s.initial_state));
}

InstrumentSpec load_spec(SnapshotReader& in) {
    InstrumentSpec s;
    s.id = in.varint32();
    in.raw(s.symbol.bytes.data(), s.symbol.bytes.size());
    s.kind = static_cast<InstrumentKind>(in.u8());
    in.raw(s.hub.bytes.data(), s.hub.bytes.size());
    in.raw(s.unit.bytes.data(), s.unit.bytes.size());
    s.window_start_ns = in.svarint();
    s.window_end_ns = in.svarint();
    s.tick_size = in.svarint();
    s.lot_size = in.svarint();
    s.quantity_min = in.svarint();
    s.quantity_max = in.svarint();
    s.price_min = in.svarint();
    s.price_max = in.svarint();
    s.band_bps = in.varint32();
    s.reference_price = in.svarint();
    s.market_protection_ticks = in.varint32();
    s.initial_state = static_cast<TradingState>(in.u8());
    return s;
}

}  // namespace

void Engine::save(SnapshotWriter& out) const {
    out.tag("ENGN");
    out.varint(pool_.size());
    out.varint(seq_);
    out.svarint(now_ns_);
    out.varint(live_orders_);
    out.varint(books_.size());
    OrderId previous_id = 0;
    for (const Book& book : books_) {
        save_spec(out, book.spec);
        out.u8(static_cast<std::uint8_t>(book.state));
        out.svarint(book.reference_price);
        for (const Side side : {Side::Buy, Side::Sell}) {
            const Ladder& ladder = book.ladder(side);
            // Levels in priority order as tick + 1, then 0.
            for (std::int64_t tick = ladder.best; tick >= 0;
                 tick = side == Side::Buy ? ladder.occupied.find_prev(tick - 1)
                                          : ladder.occupied.find_next(tick + 1)) {
                const Level& level = ladder.levels[static_cast<std::size_t>(tick)];
                out.varint(static_cast<std::uint64_t>(tick) + 1);
                out.varint(level.count);
                for (std::uint32_t slot = level.head; slot != kNoSlot; slot = pool_[slot].next) {
                    const Order& o = pool_[slot];
                    out.varint(slot);
                    // Ids are mostly ascending along a queue: their differences are short.
                    out.svarint(static_cast<std::int64_t>(o.id - previous_id));
                    previous_id = o.id;
                    out.svarint(o.leaves);
                    out.svarint(o.min_quantity);
                    out.svarint(o.expiry_ns);
                    out.varint(o.account);
                    out.u8(o.flags);
                    out.u8(static_cast<std::uint8_t>(o.stp));
                }
            }
            out.varint(0);
        }
    }

    out.tag("HEAP");
    out.varint(heap_.size());
    for (const std::uint32_t slot : heap_) {
        out.varint(slot);
    }

    // The free-slot stack from its bottom, as runs of descending consecutive slots (a
    // fresh engine's stack is one run).
    out.tag("FREE");
    out.varint(free_slots_.size());
    std::size_t runs = 0;
    for (std::size_t i = 0; i < free_slots_.size(); ++i) {
        if (i == 0 || free_slots_[i] + 1 != free_slots_[i - 1]) {
            ++runs;
        }
    }
    out.varint(runs);
    for (std::size_t i = 0; i < free_slots_.size();) {
        std::size_t j = i + 1;
        while (j < free_slots_.size() && free_slots_[j] + 1 == free_slots_[j - 1]) {
            ++j;
        }
        out.varint(free_slots_[i]);
        out.varint(j - i);
        i = j;
    }
    out.tag("ENGE");
}

bool Engine::load(SnapshotReader& in) {
    if (!books_.empty() || live_orders_ != 0 || seq_ != 0 || !heap_.empty()) {
        return in.fail("the engine is not fresh: load a snapshot only into a new engine");
    }
    if (!in.expect_tag("ENGN")) {
        return false;
    }
    const std::uint64_t capacity = in.varint();
    if (!in.ok()) {
        return false;
    }
    if (capacity != pool_.size()) {
        return in.fail("snapshot order capacity " + std::to_string(capacity) +
                       " differs from this engine's " + std::to_string(pool_.size()));
    }
    const std::uint64_t seq = in.varint();
    const Timestamp now_ns = in.svarint();
    const std::uint64_t live_saved = in.varint();
    // A book's spec takes at least 64 + 17 bytes.
    const std::size_t book_count = in.count(81, 0xFFFFFFFFull);
    if (!in.ok()) {
        return false;
    }

    std::vector<std::uint8_t> used(pool_.size(), 0);
    OrderId previous_id = 0;
    std::uint32_t live = 0;
    for (std::size_t b = 0; b < book_count; ++b) {
        const InstrumentSpec spec = load_spec(in);
        if (!in.ok()) {
            return false;
        }
        if (const Reason r = add_instrument(spec); r != Reason::None) {
            return in.fail("snapshot instrument " + std::to_string(spec.id) +
                           " is refused: " + std::string(reason_name(r)));
        }
        const auto book_index = static_cast<std::uint32_t>(books_.size() - 1);
        Book& book = books_[book_index];
        const std::uint8_t state = in.u8();
        if (state > static_cast<std::uint8_t>(TradingState::Halted)) {
            return in.fail("bad trading state");
        }
        book.state = static_cast<TradingState>(state);
        book.reference_price = in.svarint();
        if (book.reference_price < 0 || book.reference_price > spec.price_max) {
            return in.fail("reference price out of range");
        }
        for (const std::uint8_t side_code : kSideCodes) {
            const auto side = static_cast<Side>(side_code);
            std::int64_t previous_tick = -1;
            for (;;) {
                const std::uint64_t tick_plus_one = in.varint();
                if (!in.ok()) {
                    return false;
                }
                if (tick_plus_one == 0) {
                    break;
                }
                if (tick_plus_one > static_cast<std::uint64_t>(book.ticks)) {
                    return in.fail("price level outside the ladder");
                }
                const auto tick = static_cast<std::int64_t>(tick_plus_one - 1);
                // Priority order: bids descending, asks ascending, each level once.
                if (previous_tick >= 0 &&
                    (side == Side::Buy ? tick >= previous_tick : tick <= previous_tick)) {
                    return in.fail("price levels out of order");
                }
                previous_tick = tick;
                const std::size_t count = in.count(12, pool_.size());
                if (!in.ok()) {
                    return false;
                }
                if (count == 0) {
                    return in.fail("empty price level");
                }
                for (std::size_t k = 0; k < count; ++k) {
                    const std::uint64_t slot64 = in.varint();
                    const OrderId id = previous_id + static_cast<std::uint64_t>(in.svarint());
                    previous_id = id;
                    const Quantity leaves = in.svarint();
                    const Quantity min_quantity = in.svarint();
                    const Timestamp expiry_ns = in.svarint();
                    const std::uint32_t account = in.varint32();
                    const std::uint8_t flags = in.u8();
                    const std::uint8_t stp = in.u8();
                    if (!in.ok()) {
                        return false;
                    }
                    if (slot64 >= pool_.size() || used[slot64] != 0) {
                        return in.fail("order slot out of range or used twice");
                    }
                    if (id == 0 || index_.find(id) != detail::OrderIndex::kMissing) {
                        return in.fail("order id zero or used twice");
                    }
                    if (leaves <= 0 || min_quantity < 0 ||
                        (flags & ~(kFlagPostOnly | kFlagAllOrNone)) != 0 ||
                        stp > static_cast<std::uint8_t>(SelfTradePrevention::CancelBoth)) {
                        return in.fail("bad resting order");
                    }
                    const auto slot = static_cast<std::uint32_t>(slot64);
                    used[slot] = 1;
                    Order& o = pool_[slot];
                    o = Order{};
                    o.id = id;
                    o.leaves = leaves;
                    o.min_quantity = min_quantity;
                    o.expiry_ns = expiry_ns;
                    o.price = book.price_of(tick);
                    o.account = account;
                    o.book = book_index;
                    o.heap_pos = kNoSlot;
                    o.side = side;
                    o.flags = flags;
                    o.stp = static_cast<SelfTradePrevention>(stp);
                    link_back(book, slot, tick);
                    index_.insert(id, slot);
                    ++live;
                }
            }
        }
    }
    if (live != live_saved) {
        return in.fail("resting order count mismatch");
    }
    live_orders_ = live;

    if (!in.expect_tag("HEAP")) {
        return false;
    }
    const std::size_t heap_size = in.count(1, live);
    for (std::size_t i = 0; i < heap_size; ++i) {
        const std::uint64_t slot = in.varint();
        if (!in.ok()) {
            return false;
        }
        if (slot >= pool_.size() || used[slot] == 0 || pool_[slot].heap_pos != kNoSlot) {
            return in.fail("bad expiry heap entry");
        }
        pool_[slot].heap_pos = static_cast<std::uint32_t>(i);
        heap_.push_back(static_cast<std::uint32_t>(slot));
    }
    for (std::size_t i = 1; i < heap_.size(); ++i) {
        if (heap_less(heap_[i], heap_[(i - 1) / 2])) {
            return in.fail("expiry heap out of order");
        }
    }
    for (std::size_t slot = 0; slot < pool_.size(); ++slot) {
        // Only GTD orders rest with an expiry, and every one is in the heap.
        if (used[slot] != 0 && pool_[slot].heap_pos == kNoSlot && pool_[slot].expiry_ns != 0) {
            return in.fail("an order with an expiry is missing from the expiry heap");
        }
    }

    if (!in.expect_tag("FREE")) {
        return false;
    }
    const std::uint64_t free_count = in.varint();
    const std::size_t runs = in.count(2, pool_.size());
    if (!in.ok()) {
        return false;
    }
    if (free_count != pool_.size() - live) {
        return in.fail("free slots and resting orders do not fill the pool");
    }
    free_slots_.clear();
    for (std::size_t r = 0; r < runs; ++r) {
        const std::uint64_t first = in.varint();
        const std::uint64_t length = in.varint();
        if (!in.ok()) {
            return false;
        }
        if (length == 0 || first >= pool_.size() || length > first + 1 ||
            length > free_count - free_slots_.size()) {
            return in.fail("bad free-slot run");
        }
        for (std::uint64_t k = 0; k < length; ++k) {
            const std::uint64_t slot = first - k;
            if (used[slot] != 0) {
                return in.fail("a free slot is also in use");
            }
            used[slot] = 1;
            free_slots_.push_back(static_cast<std::uint32_t>(slot));
        }
    }
    if (free_slots_.size() != free_count) {
        return in.fail("free-slot count mismatch");
    }
    if (!in.expect_tag("ENGE")) {
        return false;
    }
    seq_ = seq;
    now_ns_ = now_ns;
    return true;
}

}  // namespace cpx::matching
