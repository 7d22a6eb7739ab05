// Read-only views of the engine's books, for snapshots, tests and tools.

#include <algorithm>

#include "cpx/matching/state_hash.hpp"
#include "engine_inline.hpp"

namespace cpx::matching {

bool Engine::has_instrument(InstrumentId id) const {
    return find_book(id) != nullptr;
}

const InstrumentSpec* Engine::spec(InstrumentId id) const {
    const Book* book = find_book(id);
    return book == nullptr ? nullptr : &book->spec;
}

std::optional<TradingState> Engine::state(InstrumentId id) const {
    const Book* book = find_book(id);
    return book == nullptr ? std::nullopt : std::optional(book->state);
}

std::optional<Price> Engine::reference_price(InstrumentId id) const {
    const Book* book = find_book(id);
    return book == nullptr ? std::nullopt : std::optional(book->reference_price);
}

std::optional<Price> Engine::best_price(InstrumentId id, Side side) const {
    const Book* book = find_book(id);
    if (book == nullptr || book->ladder(side).best < 0) {
        return std::nullopt;
    }
    return book->price_of(book->ladder(side).best);
}

std::vector<LevelView> Engine::depth(InstrumentId id, Side side, std::size_t levels_max) const {
    std::vector<LevelView> out;
    const Book* book = find_book(id);
    if (book == nullptr) {
        return out;
    }
    const Ladder& ladder = book->ladder(side);
    for (std::int64_t tick = ladder.best; tick >= 0 && out.size() < levels_max;
         tick = side == Side::Buy ? ladder.occupied.find_prev(tick - 1)
                                  : ladder.occupied.find_next(tick + 1)) {
        const Level& level = ladder.levels[static_cast<std::size_t>(tick)];
        out.push_back({book->price_of(tick), level.total, level.count});
    }
    return out;
}

namespace {
OrderView view_of(const Order& o) {
    return {o.id, o.account, o.side, o.price, o.leaves, o.min_quantity, o.expiry_ns, o.flags};
}
}  // namespace

std::vector<OrderView> Engine::orders(InstrumentId id, Side side) const {
    std::vector<OrderView> out;
    const Book* book = find_book(id);
    if (book == nullptr) {
        return out;
    }
    const Ladder& ladder = book->ladder(side);
    for (std::int64_t tick = ladder.best; tick >= 0;
         tick = side == Side::Buy ? ladder.occupied.find_prev(tick - 1)
                                  : ladder.occupied.find_next(tick + 1)) {
        for (std::uint32_t slot = ladder.levels[static_cast<std::size_t>(tick)].head;
             slot != kNoSlot; slot = pool_[slot].next) {
            out.push_back(view_of(pool_[slot]));
        }
    }
    return out;
}

std::optional<OrderView> Engine::find_order(OrderId id) const {
    if (id == 0) {
        return std::nullopt;
    }
    const std::uint32_t slot = index_.find(id);
    if (slot == detail::OrderIndex::kMissing) {
        return std::nullopt;
    }
    return view_of(pool_[slot]);
}

std::vector<InstrumentId> Engine::instruments() const {
    std::vector<InstrumentId> out;
    for (const std::uint32_t index : books_by_id_) {
        out.push_back(books_[index].spec.id);
    }
    return out;
}

std::uint64_t Engine::instrument_hash(InstrumentId id) const {
    StateHasher hasher;
    const Book* book = find_book(id);
    if (book == nullptr) {
        return hasher.value();
    }
    hasher.add(book->spec.id);
    hasher.add(static_cast<std::uint64_t>(book->state));
    hasher.add_signed(book->reference_price);
    for (const Side side : {Side::Buy, Side::Sell}) {
        const std::vector<OrderView> in_priority = orders(id, side);
        hasher.add(static_cast<std::uint64_t>(side));
        hasher.add(in_priority.size());
        for (const OrderView& o : in_priority) {
            hasher.add(o.id);
            hasher.add(o.account);
            hasher.add_signed(o.price);
            hasher.add_signed(o.leaves);
            hasher.add_signed(o.min_quantity);
            hasher.add_signed(o.expiry_ns);
            hasher.add(o.flags);
        }
    }
    return hasher.value();
}

std::uint64_t Engine::state_hash() const {
    StateHasher hasher;
    for (const std::uint32_t index : books_by_id_) {
        hasher.add(instrument_hash(books_[index].spec.id));
    }
    return hasher.value();
}

std::size_t Engine::memory_bytes() const {
    std::size_t bytes = pool_.capacity() * sizeof(Order) +
                        free_slots_.capacity() * sizeof(std::uint32_t) + index_.bytes() +
                        heap_.capacity() * sizeof(std::uint32_t);
    for (const Book& book : books_) {
        bytes += 2 * static_cast<std::size_t>(book.ticks) * sizeof(Level);
        bytes += 2 * static_cast<std::size_t>(book.ticks) / 8;
    }
    return bytes;
}

}  // namespace cpx::matching
