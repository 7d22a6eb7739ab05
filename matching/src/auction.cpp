// The call auction's uncross. All unconstrained orders in the book take part; orders
// with a minimum fill (all-or-none, minimum quantity) sit the auction out and keep
// their place for continuous trading.
//
// The price is chosen, in this order, to:
//   1. maximise the executed volume V(p) = min(B(p), A(p)), where B(p) is the quantity
//      bid at p or higher and A(p) the quantity offered at p or lower;
//   2. then minimise the imbalance |B(p) - A(p)|;
//   3. then be closest to the reference price;
//   4. then be the lower price.
// Every tick price is a candidate, not only the limit prices: between two neighbouring
// limit prices V and the imbalance are constant, so only the tick closest to the
// reference price in each gap needs to be considered. All trades print at that one
// price; bids are allocated in price-time priority against asks in price-time
// priority, and the trade's aggressor side is None.

#include <algorithm>
#include <cassert>
#include <vector>

#include "engine_inline.hpp"

namespace cpx::matching {

namespace {

struct PriceQuantity {
    Price price;
    Quantity quantity;
};

struct Candidate {
    Price price = 0;
    Quantity volume = 0;
    Quantity imbalance = 0;
    Price distance = 0;
};

bool better(const Candidate& a, const Candidate& b) {
    if (a.volume != b.volume) {
        return a.volume > b.volume;
    }
    if (a.imbalance != b.imbalance) {
        return a.imbalance < b.imbalance;
    }
    if (a.distance != b.distance) {
        return a.distance < b.distance;
    }
    return a.price < b.price;
}

Price abs_diff(Price a, Price b) {
    return a > b ? a - b : b - a;
}

}  // namespace

struct Engine::AuctionCursor {
    Side side;
    std::int64_t tick;
    std::uint32_t slot;
    bool touched;
};

// Moves the cursor to the next unconstrained order at or after its position, in
// priority order. Returns false when its side has no more.
bool Engine::auction_seek(Book& book, AuctionCursor& cursor) {
    Ladder& ladder = book.ladder(cursor.side);
    for (;;) {
        while (cursor.slot != kNoSlot && pool_[cursor.slot].constrained()) {
            cursor.slot = pool_[cursor.slot].next;
        }
        if (cursor.slot != kNoSlot) {
            return true;
        }
        if (cursor.touched) {
            emit_level(book, cursor.side, cursor.tick);
            cursor.touched = false;
        }
        cursor.tick = cursor.side == Side::Buy ? ladder.occupied.find_prev(cursor.tick - 1)
                                               : ladder.occupied.find_next(cursor.tick + 1);
        if (cursor.tick < 0) {
            return false;
        }
        cursor.slot = ladder.levels[static_cast<std::size_t>(cursor.tick)].head;
    }
}

void Engine::uncross(Book& book) {
    // Unconstrained quantity per level: bids from the highest price down, asks from
    // the lowest up. An auction is an operator's command, not the per-order path, so
    // these scratch vectors may allocate.
    std::vector<PriceQuantity> bids;
    std::vector<PriceQuantity> asks;
    for (const Side side : {Side::Buy, Side::Sell}) {
        const Ladder& ladder = book.ladder(side);
        auto& out = side == Side::Buy ? bids : asks;
        for (std::int64_t tick = ladder.best; tick >= 0;
             tick = side == Side::Buy ? ladder.occupied.find_prev(tick - 1)
                                      : ladder.occupied.find_next(tick + 1)) {
            Quantity total = 0;
            for (std::uint32_t slot = ladder.levels[static_cast<std::size_t>(tick)].head;
                 slot != kNoSlot; slot = pool_[slot].next) {
                if (!pool_[slot].constrained()) {
                    total += pool_[slot].leaves;
                }
            }
            if (total > 0) {
                out.push_back({book.price_of(tick), total});
            }
        }
    }

    Candidate best;
    if (!bids.empty() && !asks.empty() && bids.front().price >= asks.front().price) {
        std::vector<Price> prices;
        for (const auto& level : bids) {
            prices.push_back(level.price);
        }
        for (const auto& level : asks) {
            prices.push_back(level.price);
        }
        std::sort(prices.begin(), prices.end());
        prices.erase(std::unique(prices.begin(), prices.end()), prices.end());
        const Price tick_size = book.spec.tick_size;
        const Price reference = book.reference_price;
        std::vector<Price> candidates;
        for (std::size_t i = 0; i < prices.size(); ++i) {
            candidates.push_back(prices[i]);
            if (i + 1 < prices.size() && prices[i + 1] - prices[i] > tick_size) {
                candidates.push_back(
                    std::clamp(reference, prices[i] + tick_size, prices[i + 1] - tick_size));
            }
        }
        // candidates ascend. A(p) grows with p: walk the asks from the lowest. B(p)
        // shrinks with p: start from all bids and drop those priced below p.
        Quantity bid_total = 0;
        for (const auto& level : bids) {
            bid_total += level.quantity;
        }
        std::size_t ask_i = 0;
        Quantity offered = 0;
        std::size_t bid_i = bids.size();  // bids are descending; walk from the back
        Quantity bid_dropped = 0;
        bool have = false;
        for (const Price p : candidates) {
            while (ask_i < asks.size() && asks[ask_i].price <= p) {
                offered += asks[ask_i++].quantity;
            }
            while (bid_i > 0 && bids[bid_i - 1].price < p) {
                bid_dropped += bids[--bid_i].quantity;
            }
            const Quantity bid = bid_total - bid_dropped;
            Candidate c{p, std::min(bid, offered), bid > offered ? bid - offered : offered - bid,
                        abs_diff(p, reference)};
            if (!have || better(c, best)) {
                best = c;
                have = true;
            }
        }
    }

    Quantity left = best.volume;
    Quantity bid_side = 0;
    Quantity ask_side = 0;
    if (left > 0) {
        for (const auto& level : bids) {
            if (level.price >= best.price) {
                bid_side += level.quantity;
            }
        }
        for (const auto& level : asks) {
            if (level.price <= best.price) {
                ask_side += level.quantity;
            }
        }
        AuctionCursor buy{Side::Buy, book.bids.best,
                          book.bids.levels[static_cast<std::size_t>(book.bids.best)].head, false};
        AuctionCursor sell{Side::Sell, book.asks.best,
                           book.asks.levels[static_cast<std::size_t>(book.asks.best)].head, false};
        while (left > 0) {
            const bool have_buy = auction_seek(book, buy);
            const bool have_sell = auction_seek(book, sell);
            assert(have_buy && have_sell);
            if (!have_buy || !have_sell) {
                break;
            }
            Order& b = pool_[buy.slot];
            Order& s = pool_[sell.slot];
            assert(b.price >= best.price && s.price <= best.price);
            const Quantity fill = std::min({b.leaves, s.leaves, left});
            b.leaves -= fill;
            s.leaves -= fill;
            book.bids.levels[static_cast<std::size_t>(buy.tick)].total -= fill;
            book.asks.levels[static_cast<std::size_t>(sell.tick)].total -= fill;
            left -= fill;
            buy.touched = true;
            sell.touched = true;

            Event& e = emit(EventType::Trade, book);
            e.side = Side::None;
            e.price = best.price;
            e.quantity = fill;
            e.order_id = b.id;
            e.account = b.account;
            e.leaves = b.leaves;
            e.other_order_id = s.id;
            e.other_account = s.account;
            e.other_leaves = s.leaves;

            if (b.leaves == 0) {
                const std::uint32_t next = b.next;
                forget(book, buy.slot);
                buy.slot = next;
            }
            if (s.leaves == 0) {
                const std::uint32_t next = s.next;
                forget(book, sell.slot);
                sell.slot = next;
            }
        }
        if (buy.touched) {
            emit_level(book, Side::Buy, buy.tick);
        }
        if (sell.touched) {
            emit_level(book, Side::Sell, sell.tick);
        }
        book.reference_price = best.price;
    }

    Event& result = emit(EventType::AuctionResult, book);
    result.price = best.volume > 0 ? best.price : 0;
    result.quantity = best.volume;
    const Quantity surplus = bid_side > ask_side ? bid_side - ask_side : ask_side - bid_side;
    result.leaves = best.volume > 0 ? surplus : 0;
    result.side = best.volume == 0 || bid_side == ask_side
                      ? Side::None
                      : (bid_side > ask_side ? Side::Buy : Side::Sell);
}

}  // namespace cpx::matching
