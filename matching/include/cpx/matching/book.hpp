#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "cpx/matching/detail/level_bitset.hpp"
#include "cpx/matching/instrument.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::matching {

inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

// One resting order. 64 bytes: a cache line. Orders live in the engine's pre-allocated
// pool and are linked into their price level's FIFO by slot number, not pointer, so a
// level costs two 32-bit links and the pool can be one flat array.
struct Order {
    OrderId id = 0;
    Quantity leaves = 0;        // open quantity
    Quantity min_quantity = 0;  // 0: none; otherwise every fill is at least min(this, leaves)
    Timestamp expiry_ns = 0;    // GTD expiry, 0 for GTC
    Price price = 0;
    AccountId account = 0;
    std::uint32_t next = kNoSlot;  // toward the back of the level's queue
    std::uint32_t prev = kNoSlot;  // toward the front
    std::uint32_t book = 0;        // index of the book in the engine
    std::uint32_t heap_pos = kNoSlot;
    Side side = Side::None;
    std::uint8_t flags = 0;
    SelfTradePrevention stp = SelfTradePrevention::None;
    std::uint8_t reserved = 0;

    bool all_or_none() const { return (flags & kFlagAllOrNone) != 0; }
    bool post_only() const { return (flags & kFlagPostOnly) != 0; }
    // The least quantity one fill of this resting order may have.
    Quantity min_fill() const {
        if (all_or_none()) {
            return leaves;
        }
        if (min_quantity > 0 && min_quantity < leaves) {
            return min_quantity;
        }
        return min_quantity > 0 ? leaves : 1;
    }
    // Constrained orders (all-or-none, minimum quantity) can be skipped by an incoming
    // order too small for them, and stay out of auction uncrosses.
    bool constrained() const { return all_or_none() || min_quantity > 0; }
};
static_assert(sizeof(Order) == 64);

// One price level: a FIFO of orders and its total, for the market-by-price feed.
struct Level {
    Quantity total = 0;
    std::uint32_t head = kNoSlot;
    std::uint32_t tail = kNoSlot;
    std::uint32_t count = 0;
    std::uint32_t reserved = 0;
};

// One side of a book: a dense ladder of levels, one per tick of the instrument's
// price range, and the bitset of occupied levels. Adding, finding and removing a level
// is O(1) in the number of orders and levels in the book.
struct Ladder {
    explicit Ladder(std::int64_t ticks)
        : levels(static_cast<std::size_t>(ticks)), occupied(ticks) {}

    std::vector<Level> levels;
    detail::LevelBitset occupied;
    std::int64_t best = -1;  // tick index of the best level, -1 when empty
    std::uint64_t order_count = 0;
};

// The book of one instrument. Owned by an Engine; read through Engine's views.
struct Book {
    explicit Book(const InstrumentSpec& s)
        : spec(s),
          ticks((s.price_max - s.price_min) / s.tick_size + 1),
          bids(ticks),
          asks(ticks),
          state(s.initial_state),
          reference_price(s.reference_price),
          tick_shift(shift_of(s.tick_size)),
          lot_shift(shift_of(s.lot_size)) {}

    static int shift_of(std::int64_t size) {
        return std::has_single_bit(static_cast<std::uint64_t>(size))
                   ? std::countr_zero(static_cast<std::uint64_t>(size))
                   : -1;
    }

    // Integer division costs tens of cycles; tick and lot sizes are usually powers of
    // two (1 fen, 1 unit), where a shift and a mask do the same work.
    std::int64_t tick_of(Price price) const {
        return tick_shift >= 0 ? (price - spec.price_min) >> tick_shift
                               : (price - spec.price_min) / spec.tick_size;
    }
    // For positive values only.
    bool on_tick(Price price) const {
        return tick_shift >= 0 ? (price & (spec.tick_size - 1)) == 0 : price % spec.tick_size == 0;
    }
    bool whole_lots(Quantity quantity) const {
        return lot_shift >= 0 ? (quantity & (spec.lot_size - 1)) == 0
                              : quantity % spec.lot_size == 0;
    }
    Price price_of(std::int64_t tick) const { return spec.price_min + tick * spec.tick_size; }
    // The prices the band allows now: within band_bps of the reference price, the width
    // rounded down to whole fen. False when no band applies (none set, or no reference).
    bool band_bounds(Price& lo, Price& hi) const {
        if (spec.band_bps == 0 || reference_price <= 0) {
            return false;
        }
        const Price width = reference_price * spec.band_bps / 10'000;
        lo = reference_price - width;
        hi = reference_price + width;
        return true;
    }
    Ladder& ladder(Side side) { return side == Side::Buy ? bids : asks; }
    const Ladder& ladder(Side side) const { return side == Side::Buy ? bids : asks; }

    InstrumentSpec spec;
    std::int64_t ticks;
    Ladder bids;
    Ladder asks;
    TradingState state;
    Price reference_price;
    int tick_shift;  // log2(tick_size) when it is a power of two, else -1
    int lot_shift;   // log2(lot_size) when it is a power of two, else -1
};

}  // namespace cpx::matching
