#include "cpx/matching/engine.hpp"

#include <algorithm>
#include <cassert>

#include "engine_inline.hpp"
#include "incoming.hpp"

namespace cpx::matching {

Engine::Engine(const EngineConfig& config, EventSink& sink)
    : sink_(sink), index_(config.order_capacity) {
    assert(config.order_capacity > 0 && config.order_capacity < kNoSlot);
    pool_.resize(config.order_capacity);
    free_slots_.reserve(config.order_capacity);
    // Hand out low slots first so that a small book stays in a small part of memory.
    for (std::uint32_t slot = config.order_capacity; slot > 0; --slot) {
        free_slots_.push_back(slot - 1);
    }
    heap_.reserve(config.order_capacity);
}

Reason Engine::add_instrument(const InstrumentSpec& spec) {
    if (const Reason invalid = validate_spec(spec); invalid != Reason::None) {
        return invalid;
    }
    if (find_book(spec.id) != nullptr) {
        return Reason::DuplicateInstrument;
    }
    const auto index = static_cast<std::uint32_t>(books_.size());
    if (spec.id < kDirectIds) {
        if (book_of_small_id_.size() <= spec.id) {
            book_of_small_id_.resize(spec.id + 1, kNoSlot);
        }
        book_of_small_id_[spec.id] = index;
    } else {
        book_of_.emplace(spec.id, index);
    }
    books_.emplace_back(spec);
    const auto position = std::lower_bound(
        books_by_id_.begin(), books_by_id_.end(), spec.id,
        [this](std::uint32_t book, InstrumentId id) { return books_[book].spec.id < id; });
    books_by_id_.insert(position, index);
    return Reason::None;
}

void Engine::apply(const Command& c) {
    now_ns_ = c.ts_ns;
    if (!heap_.empty()) {
        expire_until(c.ts_ns);
    }
    // New orders and cancels are nearly all of the flow: two comparisons find them,
    // where the switch's jump table costs more than both.
    if (c.type == CommandType::NewOrder) {
        on_new_order(c);
        flush();
        return;
    }
    if (c.type == CommandType::Cancel) {
        on_cancel(c);
        flush();
        return;
    }
    switch (c.type) {
        case CommandType::Replace:
            on_replace(c);
            break;
        case CommandType::MassCancel:
            on_mass_cancel(c);
            break;
        case CommandType::Halt:
        case CommandType::Resume:
        case CommandType::StartAuction:
        case CommandType::FreezeAuction:
        case CommandType::Uncross:
        case CommandType::Close:
        case CommandType::SetReference:
            on_state_command(c);
            break;
        case CommandType::Tick:
            break;
        default:
            reject(c, Reason::InvalidCommand);
            break;
    }
    flush();
}

void Engine::flush() {
    const auto count = static_cast<std::size_t>(next_event_ - events_.data());
    if (count > 0) {
        sink_.publish(events_.data(), count);
        next_event_ = events_.data();
    }
}

void Engine::reject(const Command& c, Reason reason) {
    if (next_event_ == events_.data() + kEventBatch) {
        flush();
    }
    Event& e = *next_event_++;
    e = Event{};
    e.type = EventType::Rejected;
    e.seq = ++seq_;
    e.ts_ns = now_ns_;
    e.instrument = c.instrument;
    e.order_id = c.order_id;
    e.account = c.account;
    e.side = c.side;
    e.price = c.price;
    e.quantity = c.quantity;
    e.reason = reason;
    e.aux = static_cast<std::uint8_t>(c.type);
}

void Engine::set_state(Book& book, TradingState state, CommandType cause) {
    book.state = state;
    Event& e = emit(EventType::StateChanged, book);
    e.aux = static_cast<std::uint8_t>(state);
    e.price = book.reference_price;
    e.other_leaves = static_cast<Quantity>(cause);
}

Reason Engine::validate_quantity(const Book& book, Quantity quantity) const {
    const InstrumentSpec& s = book.spec;
    if (quantity <= 0) {
        return Reason::InvalidQuantity;
    }
    if (!book.whole_lots(quantity)) {
        return Reason::QuantityNotLotMultiple;
    }
    if (quantity < s.quantity_min) {
        return Reason::QuantityBelowMinimum;
    }
    if (quantity > s.quantity_max) {
        return Reason::QuantityAboveMaximum;
    }
    return Reason::None;
}

Reason Engine::validate_price(const Book& book, Price price) const {
    const InstrumentSpec& s = book.spec;
    if (price <= 0) {
        return Reason::InvalidPrice;
    }
    if (!book.on_tick(price)) {
        return Reason::PriceNotTickMultiple;
    }
    if (price < s.price_min || price > s.price_max) {
        return Reason::PriceOutOfRange;
    }
    Price lo = 0;
    Price hi = 0;
    if (book.band_bounds(lo, hi) && (price < lo || price > hi)) {
        return Reason::PriceOutsideBand;
    }
    return Reason::None;
}

Reason Engine::validate_new(const Command& c, const Book& book) const {
    if (c.order_id == 0) {
        return Reason::InvalidOrderId;
    }
    if (c.side != Side::Buy && c.side != Side::Sell) {
        return Reason::InvalidSide;
    }
    if (c.order_type != OrderType::Limit && c.order_type != OrderType::Market) {
        return Reason::InvalidOrderType;
    }
    if (c.tif != TimeInForce::GTC && c.tif != TimeInForce::GTD && c.tif != TimeInForce::IOC &&
        c.tif != TimeInForce::FOK) {
        return Reason::InvalidTimeInForce;
    }
    if (static_cast<std::uint8_t>(c.stp) >
        static_cast<std::uint8_t>(SelfTradePrevention::CancelBoth)) {
        return Reason::InvalidCommand;
    }
    if ((c.flags & ~(kFlagPostOnly | kFlagAllOrNone)) != 0) {
        return Reason::InvalidFlags;
    }
    const bool post_only = (c.flags & kFlagPostOnly) != 0;
    const bool all_or_none = (c.flags & kFlagAllOrNone) != 0;
    const bool immediate = c.tif == TimeInForce::IOC || c.tif == TimeInForce::FOK;
    if (c.order_type == OrderType::Market && !immediate) {
        return Reason::InvalidTimeInForce;
    }
    if (post_only && (immediate || c.order_type == OrderType::Market || all_or_none)) {
        return Reason::InvalidFlags;
    }
    if (const Reason r = validate_quantity(book, c.quantity); r != Reason::None) {
        return r;
    }
    // Most orders have no minimum: one comparison for them.
    if (c.min_quantity != 0 && (c.min_quantity < 0 || c.min_quantity > c.quantity ||
                                !book.whole_lots(c.min_quantity) || all_or_none)) {
        return Reason::InvalidMinQuantity;
    }
    if (c.order_type == OrderType::Limit) {
        if (const Reason r = validate_price(book, c.price); r != Reason::None) {
            return r;
        }
    } else if (c.price != 0) {
        // A market order's optional protection limit must be a real price too.
        if (c.price < 0) {
            return Reason::InvalidPrice;
        }
        if (c.price % book.spec.tick_size != 0) {
            return Reason::PriceNotTickMultiple;
        }
    }
    if (c.tif == TimeInForce::GTD && c.expiry_ns <= c.ts_ns) {
        return Reason::ExpiryInPast;
    }
    switch (book.state) {
        case TradingState::Closed:
            return Reason::InstrumentClosed;
        case TradingState::Halted:
            return Reason::InstrumentHalted;
        case TradingState::CallAuction:
        case TradingState::AuctionNoCancel:
            if (c.order_type == OrderType::Market || immediate || post_only || all_or_none ||
                c.min_quantity > 0) {
                return Reason::NotAllowedInAuction;
            }
            break;
        case TradingState::Continuous:
            break;
    }
    if (index_.find(c.order_id) != detail::OrderIndex::kMissing) {
        return Reason::DuplicateOrderId;
    }
    if (!immediate && free_slots_.empty()) {
        return Reason::OrderCapacityExhausted;
    }
    return Reason::None;
}

void Engine::on_new_order(const Command& c) {
    std::uint32_t book_index = 0;
    Book* book = find_book(c.instrument, &book_index);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    if (const Reason r = validate_new(c, *book); r != Reason::None) {
        reject(c, r);
        return;
    }
    const Side contra_side = opposite(c.side);
    const Ladder& contra = book->ladder(contra_side);

    Incoming in;
    in.id = c.order_id;
    in.account = c.account;
    in.side = c.side;
    in.type = c.order_type;
    in.tif = c.tif;
    in.flags = c.flags;
    in.stp = c.stp;
    in.price = c.order_type == OrderType::Limit ? c.price : 0;
    in.remaining = c.quantity;
    in.min_quantity = c.min_quantity;
    in.expiry_ns = c.tif == TimeInForce::GTD ? c.expiry_ns : 0;

    if (c.order_type == OrderType::Limit) {
        in.limit_tick = book->tick_of(c.price);
        if ((c.flags & kFlagPostOnly) != 0 && contra.best >= 0 && in.crosses(contra.best)) {
            reject(c, Reason::PostOnlyWouldTrade);
            return;
        }
    }

    Event& accepted = emit(EventType::Accepted, *book);
    accepted.order_id = c.order_id;
    accepted.account = c.account;
    accepted.side = c.side;
    accepted.price = in.price;
    accepted.quantity = c.quantity;

    if (c.order_type == OrderType::Market) {
        if (contra.best < 0) {
            finish_incoming(*book, in, Reason::CancelledNoLiquidity);
            return;
        }
        // The protection limit: so many ticks past the best opposite price at arrival,
        // tightened by the order's own limit and by the price band.
        const std::int64_t reach = book->spec.market_protection_ticks;
        std::int64_t limit = c.side == Side::Buy ? contra.best + reach : contra.best - reach;
        limit = std::clamp<std::int64_t>(limit, 0, book->ticks - 1);
        if (c.price != 0) {
            const std::int64_t own = std::clamp<std::int64_t>(
                (c.price - book->spec.price_min) / book->spec.tick_size, -1, book->ticks);
            limit = c.side == Side::Buy ? std::min(limit, own) : std::max(limit, own);
        }
        Price lo = 0;
        Price hi = 0;
        if (book->band_bounds(lo, hi)) {
            lo = std::max(lo, book->spec.price_min);
            hi = std::min(hi, book->spec.price_max);
            // The band's edges need not be on a tick: the lowest tick a sell may reach
            // rounds up, the highest a buy may reach rounds down.
            limit = c.side == Side::Buy
                        ? std::min(limit, book->tick_of(hi))
                        : std::max(limit, (lo - book->spec.price_min + book->spec.tick_size - 1) /
                                              book->spec.tick_size);
        }
        in.limit_tick = limit;
    }
    execute(*book, book_index, in);
}

[[gnu::always_inline]] inline std::uint32_t Engine::find_own_order(const Command& c, Book*& book,
                                                                   std::uint32_t& book_index) {
    book = find_book(c.instrument, &book_index);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return kNoSlot;
    }
    const std::uint32_t slot =
        c.order_id == 0 ? detail::OrderIndex::kMissing : index_.find(c.order_id);
    // Another account's order is reported as unknown, so that ids reveal nothing.
    if (slot == detail::OrderIndex::kMissing || pool_[slot].book != book_index ||
        pool_[slot].account != c.account) {
        reject(c, Reason::UnknownOrder);
        return kNoSlot;
    }
    if (book->state == TradingState::AuctionNoCancel) {
        reject(c, Reason::CancelNotAllowedInNoCancelPhase);
        return kNoSlot;
    }
    return slot;
}

void Engine::on_cancel(const Command& c) {
    Book* book = nullptr;
    std::uint32_t book_index = 0;
    const std::uint32_t slot = find_own_order(c, book, book_index);
    if (slot == kNoSlot) {
        return;
    }
    const Side side = pool_[slot].side;
    const std::int64_t tick = remove_order(*book, slot, Reason::CancelledByUser);
    emit_level(*book, side, tick);
}

void Engine::on_replace(const Command& c) {
    Book* book = nullptr;
    std::uint32_t book_index = 0;
    const std::uint32_t slot = find_own_order(c, book, book_index);
    if (slot == kNoSlot) {
        return;
    }
    if (book->state == TradingState::Halted) {
        reject(c, Reason::InstrumentHalted);
        return;
    }
    if (const Reason r = validate_quantity(*book, c.quantity); r != Reason::None) {
        reject(c, r);
        return;
    }
    Order& order = pool_[slot];
    // A decrease at the order's own price only lowers what it offers, so it is allowed
    // even when the band has since moved away from that price.
    const bool decrease_only = c.price == order.price && c.quantity < order.leaves;
    if (const Reason r = validate_price(*book, c.price);
        r != Reason::None && !(decrease_only && r == Reason::PriceOutsideBand)) {
        reject(c, r);
        return;
    }
    if (c.price == order.price && c.quantity == order.leaves) {
        reject(c, Reason::NoChange);
        return;
    }
    const Side side = order.side;
    const std::int64_t old_tick = book->tick_of(order.price);
    const Quantity old_leaves = order.leaves;

    if (c.price == order.price && c.quantity < order.leaves) {
        // A decrease keeps time priority: the order shrinks where it stands.
        Level& level = book->ladder(side).levels[static_cast<std::size_t>(old_tick)];
        level.total -= order.leaves - c.quantity;
        order.leaves = c.quantity;
        Event& e = emit(EventType::Replaced, *book);
        e.order_id = order.id;
        e.account = order.account;
        e.side = side;
        e.price = order.price;
        e.quantity = order.leaves;
        e.other_leaves = old_leaves;
        e.aux = 1;
        emit_level(*book, side, old_tick);
        return;
    }

    Incoming in;
    in.id = order.id;
    in.account = order.account;
    in.side = side;
    in.type = OrderType::Limit;
    in.tif = order.expiry_ns != 0 ? TimeInForce::GTD : TimeInForce::GTC;
    in.flags = order.flags;
    in.stp = order.stp;
    in.price = c.price;
    in.limit_tick = book->tick_of(c.price);
    in.remaining = c.quantity;
    in.min_quantity = order.min_quantity;
    in.expiry_ns = order.expiry_ns;
    in.slot = slot;

    const Ladder& contra = book->ladder(opposite(side));
    const bool continuous = book->state == TradingState::Continuous;
    if (order.post_only() && continuous && contra.best >= 0 && in.crosses(contra.best)) {
        reject(c, Reason::PostOnlyWouldTrade);
        return;
    }
    // A new price or a larger quantity loses time priority: the order leaves its
    // queue and arrives again, and may trade if its new price crosses.
    unlink(*book, slot);
    order.leaves = c.quantity;
    Event& e = emit(EventType::Replaced, *book);
    e.order_id = in.id;
    e.account = in.account;
    e.side = side;
    e.price = c.price;
    e.quantity = c.quantity;
    e.other_leaves = old_leaves;
    e.aux = 0;
    emit_level(*book, side, old_tick);
    execute(*book, book_index, in);
}

void Engine::cancel_all(Book& book, Reason reason, const AccountId* account) {
    for (const Side side : {Side::Buy, Side::Sell}) {
        Ladder& ladder = book.ladder(side);
        std::int64_t tick = ladder.best;
        while (tick >= 0) {
            bool touched = false;
            std::uint32_t slot = ladder.levels[static_cast<std::size_t>(tick)].head;
            while (slot != kNoSlot) {
                const std::uint32_t next = pool_[slot].next;
                if (account == nullptr || pool_[slot].account == *account) {
                    remove_order(book, slot, reason);
                    touched = true;
                }
                slot = next;
            }
            if (touched) {
                emit_level(book, side, tick);
            }
            tick = side == Side::Buy ? ladder.occupied.find_prev(tick - 1)
                                     : ladder.occupied.find_next(tick + 1);
        }
    }
}

void Engine::on_mass_cancel(const Command& c) {
    if (c.instrument != kAllInstruments) {
        Book* book = find_book(c.instrument, nullptr);
        if (book == nullptr) {
            reject(c, Reason::UnknownInstrument);
            return;
        }
        if (book->state == TradingState::AuctionNoCancel) {
            reject(c, Reason::CancelNotAllowedInNoCancelPhase);
            return;
        }
        cancel_all(*book, Reason::CancelledMassCancel, &c.account);
        return;
    }
    // Every instrument, in ascending id order so that the output does not depend on
    // the order in which instruments were added.
    for (const std::uint32_t index : books_by_id_) {
        Book& book = books_[index];
        if (book.state != TradingState::AuctionNoCancel) {
            cancel_all(book, Reason::CancelledMassCancel, &c.account);
        }
    }
}

void Engine::on_state_command(const Command& c) {
    Book* book = find_book(c.instrument, nullptr);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    const TradingState from = book->state;
    switch (c.type) {
        case CommandType::Halt:
            // Only continuous trading halts. A halt in the middle of a call auction
            // would resume into continuous trading with a crossed book; an auction is
            // instead uncrossed or closed by the operator.
            if (from != TradingState::Continuous) {
                break;
            }
            set_state(*book, TradingState::Halted, c.type);
            if (c.price != 0) {
                cancel_all(*book, Reason::CancelledHalt, nullptr);
            }
            return;
        case CommandType::Resume:
            if (from != TradingState::Halted && from != TradingState::Closed) {
                break;
            }
            set_state(*book, TradingState::Continuous, c.type);
            return;
        case CommandType::StartAuction:
            if (from == TradingState::CallAuction || from == TradingState::AuctionNoCancel) {
                break;
            }
            set_state(*book, TradingState::CallAuction, c.type);
            return;
        case CommandType::FreezeAuction:
            if (from != TradingState::CallAuction) {
                break;
            }
            set_state(*book, TradingState::AuctionNoCancel, c.type);
            return;
        case CommandType::Uncross:
            if (from != TradingState::CallAuction && from != TradingState::AuctionNoCancel) {
                break;
            }
            uncross(*book);
            set_state(*book, TradingState::Continuous, c.type);
            return;
        case CommandType::Close:
            if (from == TradingState::Closed) {
                break;
            }
            set_state(*book, TradingState::Closed, c.type);
            cancel_all(*book, Reason::CancelledMarketClosed, nullptr);
            return;
        case CommandType::SetReference: {
            const InstrumentSpec& s = book->spec;
            if (c.price < s.price_min || c.price > s.price_max || c.price % s.tick_size != 0) {
                reject(c, c.price % s.tick_size != 0 ? Reason::PriceNotTickMultiple
                                                     : Reason::PriceOutOfRange);
                return;
            }
            book->reference_price = c.price;
            Event& e = emit(EventType::StateChanged, *book);
            e.aux = static_cast<std::uint8_t>(book->state);
            e.price = c.price;
            e.other_leaves = static_cast<Quantity>(c.type);
            return;
        }
        default:
            break;
    }
    reject(c, Reason::InvalidStateTransition);
}

}  // namespace cpx::matching
