// Continuous matching: an incoming order meets the opposite side in price-time
// priority. The rules for constrained orders, written once here and in
// docs/ARCHITECTURE.md:
//  - A resting order with a minimum fill (all-or-none: its whole open quantity;
//    minimum quantity: min(min_quantity, open quantity)) trades only with an incoming
//    order whose remaining quantity covers that minimum. Otherwise the incoming order
//    passes over it; it keeps its place in the queue.
//  - An incoming all-or-none or FOK order trades only if its whole quantity can trade
//    at once; an incoming minimum-quantity order only if at least its minimum can. The
//    check walks the book exactly as matching would (same skips, same self-trade
//    rule) and changes nothing. If it fails, nothing trades: IOC and FOK are cancelled,
//    GTC and GTD rest with their constraint.
//  - Self-trade prevention applies to the resting orders the incoming order would
//    actually trade with (a skipped order is not a self-trade).
//  - Two resting orders never trade with each other: only an arrival triggers
//    matching. A book may therefore show a bid at or above an ask when one of the two
//    is constrained; between unconstrained orders the book is never crossed.

#include <algorithm>
#include <cassert>

#include "engine_inline.hpp"
#include "incoming.hpp"

namespace cpx::matching {

Quantity Engine::executable(const Book& book, const Incoming& in, Quantity target) const {
    const Ladder& contra = book.ladder(opposite(in.side));
    Quantity remaining = in.remaining;
    Quantity found = 0;
    for (std::int64_t tick = contra.best; tick >= 0 && in.crosses(tick);
         tick = in.side == Side::Buy ? contra.occupied.find_next(tick + 1)
                                     : contra.occupied.find_prev(tick - 1)) {
        const Level& level = contra.levels[static_cast<std::size_t>(tick)];
        for (std::uint32_t slot = level.head; slot != kNoSlot; slot = pool_[slot].next) {
            const Order& maker = pool_[slot];
            if (remaining < maker.min_fill()) {
                continue;
            }
            if (in.stp != SelfTradePrevention::None && maker.account == in.account) {
                if (in.stp == SelfTradePrevention::CancelResting) {
                    continue;
                }
                return found;
            }
            const Quantity fill = std::min(remaining, maker.leaves);
            found += fill;
            remaining -= fill;
            if (found >= target || remaining == 0) {
                return found;
            }
        }
    }
    return found;
}

void Engine::match(Book& book, Incoming& in) {
    const Side contra_side = opposite(in.side);
    Ladder& contra = book.ladder(contra_side);
    std::int64_t tick = contra.best;
    while (tick >= 0 && in.remaining > 0 && in.crosses(tick)) {
        Level& level = contra.levels[static_cast<std::size_t>(tick)];
        const Price price = book.price_of(tick);
        bool touched = false;
        std::uint32_t slot = level.head;
        while (slot != kNoSlot && in.remaining > 0) {
            Order& maker = pool_[slot];
            const std::uint32_t next = maker.next;
            if (in.remaining < maker.min_fill()) {
                slot = next;
                continue;
            }
            if (in.stp != SelfTradePrevention::None && maker.account == in.account) {
                // Only a removed resting order changes the level; cancelling the
                // incoming order alone leaves it as it was, so no LevelUpdate for it.
                if (in.stp == SelfTradePrevention::CancelResting) {
                    remove_order(book, slot, Reason::CancelledSelfTrade);
                    touched = true;
                    slot = next;
                    continue;
                }
                if (in.stp == SelfTradePrevention::CancelBoth) {
                    remove_order(book, slot, Reason::CancelledSelfTrade);
                    touched = true;
                }
                in.stp_cancelled = true;
                break;
            }
            const Quantity fill = std::min(in.remaining, maker.leaves);
            assert(fill >= maker.min_fill() || fill == maker.leaves);
            maker.leaves -= fill;
            level.total -= fill;
            in.remaining -= fill;
            touched = true;

            Event& e = emit(EventType::Trade, book);
            e.side = in.side;
            e.price = price;
            e.quantity = fill;
            if (in.side == Side::Buy) {
                e.order_id = in.id;
                e.account = in.account;
                e.leaves = in.remaining;
                e.other_order_id = maker.id;
                e.other_account = maker.account;
                e.other_leaves = maker.leaves;
            } else {
                e.order_id = maker.id;
                e.account = maker.account;
                e.leaves = maker.leaves;
                e.other_order_id = in.id;
                e.other_account = in.account;
                e.other_leaves = in.remaining;
            }
            book.reference_price = price;
            if (maker.leaves == 0) {
                forget(book, slot);
            }
            slot = next;
        }
        if (touched) {
            emit_level(book, contra_side, tick);
        }
        if (in.stp_cancelled) {
            return;
        }
        tick = in.side == Side::Buy ? contra.occupied.find_next(tick + 1)
                                    : contra.occupied.find_prev(tick - 1);
    }
}

[[gnu::always_inline]] inline void Engine::rest(Book& book, std::uint32_t book_index,
                                                Incoming& in) {
    // Only limit orders rest (market orders are immediate, and refused in an auction),
    // so the limit tick is the tick of the order's own price.
    assert(in.type == OrderType::Limit);
    const bool replaced = in.slot != kNoSlot;
    const std::uint32_t slot = replaced ? in.slot : allocate_slot();
    Order& order = pool_[slot];
    order.id = in.id;
    order.leaves = in.remaining;
    order.min_quantity = in.min_quantity;
    order.expiry_ns = in.tif == TimeInForce::GTD ? in.expiry_ns : 0;
    order.price = in.price;
    order.account = in.account;
    order.book = book_index;
    order.side = in.side;
    order.flags = in.flags;
    order.stp = in.stp;
    if (!replaced) {
        order.heap_pos = kNoSlot;
        index_.insert(in.id, slot);
        if (in.tif == TimeInForce::GTD) {
            heap_push(slot);
        }
    }
    link_back(book, slot, in.limit_tick);

    Event& e = emit(EventType::Booked, book);
    e.order_id = in.id;
    e.account = in.account;
    e.side = in.side;
    e.price = in.price;
    e.leaves = in.remaining;
    emit_level(book, in.side, in.limit_tick);
}

void Engine::finish_incoming(Book& book, const Incoming& in, Reason reason) {
    if (in.remaining > 0) {
        Event& e = emit(EventType::Cancelled, book);
        e.order_id = in.id;
        e.account = in.account;
        e.side = in.side;
        e.price = in.price;
        e.quantity = in.remaining;
        e.reason = reason;
    }
    if (in.slot != kNoSlot) {
        // A replaced order that did not rest again gives its slot back.
        index_.erase(in.id);
        heap_remove(in.slot);
        release_slot(in.slot);
    }
}

void Engine::execute(Book& book, std::uint32_t book_index, Incoming& in) {
    // In a call auction every order rests; in continuous trading it first meets the
    // other side. Both paths end in the one call of rest() below, which is inlined.
    if (book.state != TradingState::CallAuction && book.state != TradingState::AuctionNoCancel) {
        assert(book.state == TradingState::Continuous);
        Quantity target = 0;
        Reason unmet = Reason::None;
        if (in.tif == TimeInForce::FOK || in.all_or_none()) {
            target = in.remaining;
            unmet = Reason::CancelledFillOrKill;
        } else if (in.min_quantity > 0) {
            target = std::min(in.min_quantity, in.remaining);
            unmet = Reason::CancelledMinQuantityNotMet;
        }
        const bool may_trade = target == 0 || executable(book, in, target) >= target;
        if (may_trade) {
            match(book, in);
        }
        if (in.stp_cancelled) {
            finish_incoming(book, in, Reason::CancelledSelfTrade);
            return;
        }
        if (in.remaining == 0) {
            finish_incoming(book, in, Reason::None);
            return;
        }
        const bool immediate = in.type == OrderType::Market || in.tif == TimeInForce::IOC ||
                               in.tif == TimeInForce::FOK;
        if (immediate) {
            finish_incoming(book, in, may_trade ? Reason::CancelledImmediateRemainder : unmet);
            return;
        }
    }
    rest(book, book_index, in);
}

}  // namespace cpx::matching
