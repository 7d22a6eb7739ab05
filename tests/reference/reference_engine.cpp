// The reference book. Every rule below is written from docs/ARCHITECTURE.md; the fast
// engine's source was read only to learn what the document leaves open: the order in
// which validation reasons are checked, and the exact order and fields of the events
// one command produces. Wherever the two could be written differently, this file
// chooses the most direct form: linear scans, sorted copies, brute force.

#include "reference_engine.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

#include "cpx/matching/state_hash.hpp"

namespace cpx::reference {

using namespace cpx::matching;

namespace {

constexpr std::size_t kPublishBatch = 256;

bool all_or_none(std::uint8_t flags) {
    return (flags & kFlagAllOrNone) != 0;
}
bool post_only(std::uint8_t flags) {
    return (flags & kFlagPostOnly) != 0;
}

bool is_auction(TradingState state) {
    return state == TradingState::CallAuction || state == TradingState::AuctionNoCancel;
}

bool is_side(Side side) {
    return side == Side::Buy || side == Side::Sell;
}

bool is_immediate(bool market, TimeInForce tif) {
    return market || tif == TimeInForce::IOC || tif == TimeInForce::FOK;
}

Price distance(Price a, Price b) {
    return a > b ? a - b : b - a;
}

}  // namespace

ReferenceEngine::ReferenceEngine(std::uint32_t order_capacity, EventSink& sink)
    : sink_(sink), capacity_(order_capacity) {}

Reason ReferenceEngine::add_instrument(const InstrumentSpec& spec) {
    if (const Reason invalid = validate_spec(spec); invalid != Reason::None) {
        return invalid;
    }
    if (find_book(spec.id) != nullptr) {
        return Reason::DuplicateInstrument;
    }
    Book book;
    book.spec = spec;
    book.state = spec.initial_state;
    book.reference = spec.reference_price;
    books_.push_back(book);
    std::sort(books_.begin(), books_.end(),
              [](const Book& a, const Book& b) { return a.spec.id < b.spec.id; });
    return Reason::None;
}

ReferenceEngine::Book* ReferenceEngine::find_book(InstrumentId id) {
    for (Book& book : books_) {
        if (book.spec.id == id) {
            return &book;
        }
    }
    return nullptr;
}

const ReferenceEngine::Book* ReferenceEngine::find_book(InstrumentId id) const {
    for (const Book& book : books_) {
        if (book.spec.id == id) {
            return &book;
        }
    }
    return nullptr;
}

std::size_t ReferenceEngine::resting_orders() const {
    std::size_t count = 0;
    for (const Book& book : books_) {
        for (const Order& order : book.orders) {
            count += order.live ? 1 : 0;
        }
    }
    return count;
}

bool ReferenceEngine::is_live_anywhere(OrderId id) const {
    for (const Book& book : books_) {
        for (const Order& order : book.orders) {
            if (order.live && order.id == id) {
                return true;
            }
        }
    }
    return false;
}

// The index of the live order a cancel or replace names, if it rests in this book
// under the command's account.
std::optional<std::size_t> ReferenceEngine::find_order(const Book& book, const Command& c) const {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < book.orders.size(); ++i) {
        const Order& order = book.orders[i];
        if (order.live && c.order_id != 0 && order.id == c.order_id && order.account == c.account) {
            found = i;
        }
    }
    return found;
}

// Indices of the live orders of one side, best first: the highest bid or the lowest
// ask, and among orders at one price the earliest arrival.
std::vector<std::size_t> ReferenceEngine::in_priority(const Book& book, Side side) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < book.orders.size(); ++i) {
        if (book.orders[i].live && book.orders[i].side == side) {
            out.push_back(i);
        }
    }
    std::sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
        const Order& x = book.orders[a];
        const Order& y = book.orders[b];
        if (x.price != y.price) {
            return side == Side::Buy ? x.price > y.price : x.price < y.price;
        }
        return x.arrival < y.arrival;
    });
    return out;
}

Event& ReferenceEngine::emit(EventType type, InstrumentId instrument) {
    if (Book* book = find_book(instrument); book != nullptr) {
        book->hash_known = false;
    }
    Event e;
    e.type = type;
    e.seq = ++seq_;
    e.ts_ns = now_ns_;
    e.instrument = instrument;
    pending_.push_back(e);
    return pending_.back();
}

void ReferenceEngine::emit_level(const Book& book, Side side, Price price) {
    Quantity total = 0;
    Quantity count = 0;
    for (const Order& order : book.orders) {
        if (order.live && order.side == side && order.price == price) {
            total += order.leaves;
            ++count;
        }
    }
    Event& e = emit(EventType::LevelUpdate, book.spec.id);
    e.side = side;
    e.price = price;
    e.quantity = total;
    e.leaves = count;
}

void ReferenceEngine::reject(const Command& c, Reason reason) {
    Event& e = emit(EventType::Rejected, c.instrument);
    e.order_id = c.order_id;
    e.account = c.account;
    e.side = c.side;
    e.price = c.price;
    e.quantity = c.quantity;
    e.reason = reason;
    e.aux = static_cast<std::uint8_t>(c.type);
}

void ReferenceEngine::apply(const Command& c) {
    now_ns_ = c.ts_ns;
    pending_.clear();
    // Expiry comes first: an order expires at the first command whose time reaches
    // its expiry, before that command is applied.
    expire();
    switch (c.type) {
        case CommandType::NewOrder:
            new_order(c);
            break;
        case CommandType::Cancel:
            cancel(c);
            break;
        case CommandType::Replace:
            replace(c);
            break;
        case CommandType::MassCancel:
            mass_cancel(c);
            break;
        case CommandType::Halt:
        case CommandType::Resume:
        case CommandType::StartAuction:
        case CommandType::FreezeAuction:
        case CommandType::Uncross:
        case CommandType::Close:
        case CommandType::SetReference:
            operator_command(c);
            break;
        case CommandType::Tick:
            break;
        default:
            reject(c, Reason::InvalidCommand);
            break;
    }
    for (Book& book : books_) {
        std::erase_if(book.orders, [](const Order& order) { return !order.live; });
    }
    // The contract delivers a command's events in one call, or in calls of at most
    // 256 events when there are more.
    for (std::size_t at = 0; at < pending_.size(); at += kPublishBatch) {
        sink_.publish(pending_.data() + at, std::min(kPublishBatch, pending_.size() - at));
    }
}

void ReferenceEngine::expire() {
    struct Due {
        Timestamp expiry;
        OrderId id;
        std::size_t book;
        std::size_t index;
    };
    std::vector<Due> due;
    for (std::size_t b = 0; b < books_.size(); ++b) {
        for (std::size_t i = 0; i < books_[b].orders.size(); ++i) {
            const Order& order = books_[b].orders[i];
            if (order.live && order.expiry_ns != 0 && order.expiry_ns <= now_ns_) {
                due.push_back({order.expiry_ns, order.id, b, i});
            }
        }
    }
    std::sort(due.begin(), due.end(), [](const Due& x, const Due& y) {
        return std::tie(x.expiry, x.id) < std::tie(y.expiry, y.id);
    });
    for (const Due& d : due) {
        Book& book = books_[d.book];
        const Side side = book.orders[d.index].side;
        const Price price = book.orders[d.index].price;
        remove(book, d.index, Reason::CancelledExpired);
        emit_level(book, side, price);
    }
}

Reason ReferenceEngine::check_quantity(const Book& book, Quantity quantity) const {
    if (quantity <= 0) {
        return Reason::InvalidQuantity;
    }
    if (quantity % book.spec.lot_size != 0) {
        return Reason::QuantityNotLotMultiple;
    }
    if (quantity < book.spec.quantity_min) {
        return Reason::QuantityBelowMinimum;
    }
    if (quantity > book.spec.quantity_max) {
        return Reason::QuantityAboveMaximum;
    }
    return Reason::None;
}

Reason ReferenceEngine::check_price(const Book& book, Price price) const {
    if (price <= 0) {
        return Reason::InvalidPrice;
    }
    if (price % book.spec.tick_size != 0) {
        return Reason::PriceNotTickMultiple;
    }
    if (price < book.spec.price_min || price > book.spec.price_max) {
        return Reason::PriceOutOfRange;
    }
    // The band is band_bps basis points either side of the reference price, and only
    // applies once there is a reference price.
    if (book.spec.band_bps != 0 && book.reference > 0) {
        const Price width = book.reference * static_cast<Price>(book.spec.band_bps) / 10'000;
        if (distance(price, book.reference) > width) {
            return Reason::PriceOutsideBand;
        }
    }
    return Reason::None;
}

Reason ReferenceEngine::check_new_order(const Command& c, const Book& book) const {
    const bool market = c.order_type == OrderType::Market;
    const bool immediate = c.tif == TimeInForce::IOC || c.tif == TimeInForce::FOK;
    if (c.order_id == 0) {
        return Reason::InvalidOrderId;
    }
    if (!is_side(c.side)) {
        return Reason::InvalidSide;
    }
    if (c.order_type != OrderType::Limit && !market) {
        return Reason::InvalidOrderType;
    }
    if (c.tif != TimeInForce::GTC && c.tif != TimeInForce::GTD && !immediate) {
        return Reason::InvalidTimeInForce;
    }
    if (c.stp != SelfTradePrevention::None && c.stp != SelfTradePrevention::CancelIncoming &&
        c.stp != SelfTradePrevention::CancelResting && c.stp != SelfTradePrevention::CancelBoth) {
        return Reason::InvalidCommand;
    }
    if ((c.flags | kFlagPostOnly | kFlagAllOrNone) != (kFlagPostOnly | kFlagAllOrNone)) {
        return Reason::InvalidFlags;
    }
    if (market && !immediate) {
        return Reason::InvalidTimeInForce;
    }
    if (post_only(c.flags) && (immediate || market || all_or_none(c.flags))) {
        return Reason::InvalidFlags;
    }
    if (const Reason r = check_quantity(book, c.quantity); r != Reason::None) {
        return r;
    }
    if (c.min_quantity != 0) {
        const bool fits = c.min_quantity > 0 && c.min_quantity <= c.quantity &&
                          c.min_quantity % book.spec.lot_size == 0 && !all_or_none(c.flags);
        if (!fits) {
            return Reason::InvalidMinQuantity;
        }
    }
    if (!market) {
        if (const Reason r = check_price(book, c.price); r != Reason::None) {
            return r;
        }
    } else if (c.price < 0) {
        return Reason::InvalidPrice;
    } else if (c.price % book.spec.tick_size != 0) {
        return Reason::PriceNotTickMultiple;
    }
    if (c.tif == TimeInForce::GTD && c.expiry_ns <= c.ts_ns) {
        return Reason::ExpiryInPast;
    }
    if (book.state == TradingState::Closed) {
        return Reason::InstrumentClosed;
    }
    if (book.state == TradingState::Halted) {
        return Reason::InstrumentHalted;
    }
    if (is_auction(book.state)) {
        // Only plain limit GTC and GTD orders may join a call auction.
        const bool constrained = all_or_none(c.flags) || c.min_quantity > 0;
        if (market || immediate || post_only(c.flags) || constrained) {
            return Reason::NotAllowedInAuction;
        }
    }
    if (is_live_anywhere(c.order_id)) {
        return Reason::DuplicateOrderId;
    }
    if (!immediate && resting_orders() >= capacity_) {
        return Reason::OrderCapacityExhausted;
    }
    return Reason::None;
}

// A market order trades at most market_protection_ticks ticks past the best opposite
// price, and no further than its own optional limit or the band allows.
Price ReferenceEngine::market_worst_price(const Book& book, const Command& c,
                                          Price best_opposite) const {
    const InstrumentSpec& s = book.spec;
    const Price reach = static_cast<Price>(s.market_protection_ticks) * s.tick_size;
    const bool buy = c.side == Side::Buy;
    Price worst = buy ? std::min(best_opposite + reach, s.price_max)
                      : std::max(best_opposite - reach, s.price_min);
    if (c.price != 0) {
        worst = buy ? std::min(worst, c.price) : std::max(worst, c.price);
    }
    if (s.band_bps != 0 && book.reference > 0) {
        const Price width = book.reference * static_cast<Price>(s.band_bps) / 10'000;
        if (buy) {
            // The highest tick price inside the band.
            const Price high = std::min(book.reference + width, s.price_max);
            worst = std::min(worst, high - high % s.tick_size);
        } else {
            // The lowest tick price inside the band.
            const Price low = std::max(book.reference - width, s.price_min);
            const Price low_tick =
                low % s.tick_size == 0 ? low : low - low % s.tick_size + s.tick_size;
            worst = std::max(worst, low_tick);
        }
    }
    return worst;
}

void ReferenceEngine::new_order(const Command& c) {
    Book* book = find_book(c.instrument);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    if (const Reason r = check_new_order(c, *book); r != Reason::None) {
        reject(c, r);
        return;
    }
    Arrival a;
    a.id = c.order_id;
    a.account = c.account;
    a.side = c.side;
    a.market = c.order_type == OrderType::Market;
    a.tif = c.tif;
    a.flags = c.flags;
    a.stp = c.stp;
    a.price = a.market ? 0 : c.price;
    a.worst = a.price;
    a.remaining = c.quantity;
    a.min_quantity = c.min_quantity;
    a.expiry_ns = c.tif == TimeInForce::GTD ? c.expiry_ns : 0;

    const std::vector<std::size_t> opposite_queue = in_priority(*book, opposite(c.side));
    const std::optional<Price> best_opposite =
        opposite_queue.empty() ? std::nullopt
                               : std::optional<Price>(book->orders[opposite_queue.front()].price);
    if (!a.market && post_only(c.flags) && best_opposite.has_value()) {
        const bool reaches =
            c.side == Side::Buy ? *best_opposite <= c.price : *best_opposite >= c.price;
        if (reaches) {
            reject(c, Reason::PostOnlyWouldTrade);
            return;
        }
    }

    Event& accepted = emit(EventType::Accepted, book->spec.id);
    accepted.order_id = a.id;
    accepted.account = a.account;
    accepted.side = a.side;
    accepted.price = a.price;
    accepted.quantity = c.quantity;

    if (a.market) {
        if (!best_opposite.has_value()) {
            finish(*book, a, Reason::CancelledNoLiquidity);
            return;
        }
        a.worst = market_worst_price(*book, c, *best_opposite);
    }
    execute(*book, a);
}

void ReferenceEngine::execute(Book& book, Arrival& a) {
    // During a call auction orders only collect; the uncross trades them.
    if (is_auction(book.state)) {
        rest(book, a);
        return;
    }
    // What the order must be able to trade at once before anything trades: its whole
    // quantity for FOK and all-or-none, its minimum for a minimum-quantity order.
    Quantity needed = 0;
    Reason unmet = Reason::None;
    if (a.tif == TimeInForce::FOK || all_or_none(a.flags)) {
        needed = a.remaining;
        unmet = Reason::CancelledFillOrKill;
    } else if (a.min_quantity > 0) {
        needed = std::min(a.min_quantity, a.remaining);
        unmet = Reason::CancelledMinQuantityNotMet;
    }
    const bool can_trade = needed == 0 || walk(book, a, false).traded >= needed;
    WalkResult result;
    if (can_trade) {
        result = walk(book, a, true);
    }
    if (result.stopped_by_self_trade) {
        finish(book, a, Reason::CancelledSelfTrade);
    } else if (a.remaining == 0) {
        // Filled in full: nothing rests and nothing is cancelled.
    } else if (is_immediate(a.market, a.tif)) {
        finish(book, a, can_trade ? Reason::CancelledImmediateRemainder : unmet);
    } else {
        rest(book, a);
    }
}

// Walks the opposite side in priority order as matching does. With commit false it
// only counts what would trade and changes nothing, which is how the all-or-none,
// FOK and minimum-quantity checks are made.
ReferenceEngine::WalkResult ReferenceEngine::walk(Book& book, Arrival& a, bool commit) {
    const Side contra = opposite(a.side);
    const std::vector<std::size_t> queue = in_priority(book, contra);
    WalkResult result;
    Quantity remaining = a.remaining;
    // The price of a level changed since the walk reached it and not yet reported; 0
    // for none, since a resting order's price is always positive.
    Price changed_level = 0;
    for (const std::size_t index : queue) {
        if (remaining == 0 || result.stopped_by_self_trade) {
            break;
        }
        const Price price = book.orders[index].price;
        const bool reaches = a.side == Side::Buy ? price <= a.worst : price >= a.worst;
        if (!reaches) {
            break;
        }
        if (commit && changed_level != 0 && changed_level != price) {
            emit_level(book, contra, changed_level);
            changed_level = 0;
        }
        Order& maker = book.orders[index];
        // A resting order trades only with an arrival that covers its minimum fill.
        const Quantity min_fill =
            all_or_none(maker.flags)
                ? maker.leaves
                : (maker.min_quantity > 0 ? std::min(maker.min_quantity, maker.leaves) : 1);
        if (remaining < min_fill) {
            continue;
        }
        if (a.stp != SelfTradePrevention::None && maker.account == a.account) {
            const bool cancel_resting = a.stp == SelfTradePrevention::CancelResting ||
                                        a.stp == SelfTradePrevention::CancelBoth;
            if (commit && cancel_resting) {
                remove(book, index, Reason::CancelledSelfTrade);
                changed_level = price;
            }
            if (a.stp != SelfTradePrevention::CancelResting) {
                result.stopped_by_self_trade = true;
            }
            continue;
        }
        const Quantity fill = std::min(remaining, maker.leaves);
        remaining -= fill;
        result.traded += fill;
        if (!commit) {
            continue;
        }
        maker.leaves -= fill;
        if (maker.leaves == 0) {
            maker.live = false;
        }
        Event& e = emit(EventType::Trade, book.spec.id);
        e.side = a.side;
        e.price = price;
        e.quantity = fill;
        const bool buy = a.side == Side::Buy;
        e.order_id = buy ? a.id : maker.id;
        e.account = buy ? a.account : maker.account;
        e.leaves = buy ? remaining : maker.leaves;
        e.other_order_id = buy ? maker.id : a.id;
        e.other_account = buy ? maker.account : a.account;
        e.other_leaves = buy ? maker.leaves : remaining;
        book.reference = price;
        changed_level = price;
    }
    if (commit) {
        if (changed_level != 0) {
            emit_level(book, contra, changed_level);
        }
        a.remaining = remaining;
    }
    return result;
}

void ReferenceEngine::rest(Book& book, const Arrival& a) {
    Order order;
    order.id = a.id;
    order.account = a.account;
    order.side = a.side;
    order.price = a.price;
    order.leaves = a.remaining;
    order.min_quantity = a.min_quantity;
    order.expiry_ns = a.tif == TimeInForce::GTD ? a.expiry_ns : 0;
    order.flags = a.flags;
    order.stp = a.stp;
    order.arrival = ++arrivals_;
    book.orders.push_back(order);

    Event& e = emit(EventType::Booked, book.spec.id);
    e.order_id = a.id;
    e.account = a.account;
    e.side = a.side;
    e.price = a.price;
    e.leaves = a.remaining;
    emit_level(book, a.side, a.price);
}

void ReferenceEngine::finish(const Book& book, const Arrival& a, Reason reason) {
    if (a.remaining == 0) {
        return;
    }
    Event& e = emit(EventType::Cancelled, book.spec.id);
    e.order_id = a.id;
    e.account = a.account;
    e.side = a.side;
    e.price = a.price;
    e.quantity = a.remaining;
    e.reason = reason;
}

void ReferenceEngine::remove(Book& book, std::size_t index, Reason reason) {
    Order& order = book.orders[index];
    order.live = false;
    Event& e = emit(EventType::Cancelled, book.spec.id);
    e.order_id = order.id;
    e.account = order.account;
    e.side = order.side;
    e.price = order.price;
    e.quantity = order.leaves;
    e.reason = reason;
}

void ReferenceEngine::cancel(const Command& c) {
    Book* book = find_book(c.instrument);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    const std::optional<std::size_t> found = find_order(*book, c);
    if (!found.has_value()) {
        reject(c, Reason::UnknownOrder);
        return;
    }
    if (book->state == TradingState::AuctionNoCancel) {
        reject(c, Reason::CancelNotAllowedInNoCancelPhase);
        return;
    }
    const Side side = book->orders[*found].side;
    const Price price = book->orders[*found].price;
    remove(*book, *found, Reason::CancelledByUser);
    emit_level(*book, side, price);
}

void ReferenceEngine::replace(const Command& c) {
    Book* book = find_book(c.instrument);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    const std::optional<std::size_t> found = find_order(*book, c);
    if (!found.has_value()) {
        reject(c, Reason::UnknownOrder);
        return;
    }
    if (book->state == TradingState::AuctionNoCancel) {
        reject(c, Reason::CancelNotAllowedInNoCancelPhase);
        return;
    }
    if (book->state == TradingState::Halted) {
        reject(c, Reason::InstrumentHalted);
        return;
    }
    if (const Reason r = check_quantity(*book, c.quantity); r != Reason::None) {
        reject(c, r);
        return;
    }
    Order& order = book->orders[*found];
    const Quantity old_leaves = order.leaves;
    // The band does not stop an order from shrinking at its own price.
    const bool shrink_in_place = c.price == order.price && c.quantity < old_leaves;
    if (const Reason r = check_price(*book, c.price); r != Reason::None) {
        if (!(shrink_in_place && r == Reason::PriceOutsideBand)) {
            reject(c, r);
            return;
        }
    }
    if (c.price == order.price && c.quantity == old_leaves) {
        reject(c, Reason::NoChange);
        return;
    }
    if (c.price == order.price && c.quantity < old_leaves) {
        // Shrinking in place keeps time priority.
        order.leaves = c.quantity;
        Event& e = emit(EventType::Replaced, book->spec.id);
        e.order_id = order.id;
        e.account = order.account;
        e.side = order.side;
        e.price = order.price;
        e.quantity = c.quantity;
        e.other_leaves = old_leaves;
        e.aux = 1;
        emit_level(*book, order.side, order.price);
        return;
    }

    Arrival a;
    a.id = order.id;
    a.account = order.account;
    a.side = order.side;
    a.market = false;
    a.tif = order.expiry_ns != 0 ? TimeInForce::GTD : TimeInForce::GTC;
    a.flags = order.flags;
    a.stp = order.stp;
    a.price = c.price;
    a.worst = c.price;
    a.remaining = c.quantity;
    a.min_quantity = order.min_quantity;
    a.expiry_ns = order.expiry_ns;

    if (post_only(order.flags) && book->state == TradingState::Continuous) {
        const std::vector<std::size_t> opposite_queue = in_priority(*book, opposite(order.side));
        if (!opposite_queue.empty()) {
            const Price best = book->orders[opposite_queue.front()].price;
            const bool reaches = order.side == Side::Buy ? best <= c.price : best >= c.price;
            if (reaches) {
                reject(c, Reason::PostOnlyWouldTrade);
                return;
            }
        }
    }
    // A new price or a larger quantity loses time priority: the order leaves the book
    // and arrives again.
    const Price old_price = order.price;
    order.live = false;
    Event& e = emit(EventType::Replaced, book->spec.id);
    e.order_id = a.id;
    e.account = a.account;
    e.side = a.side;
    e.price = c.price;
    e.quantity = c.quantity;
    e.other_leaves = old_leaves;
    e.aux = 0;
    emit_level(*book, a.side, old_price);
    execute(*book, a);
}

void ReferenceEngine::cancel_every(Book& book, Reason reason, bool only_account,
                                   AccountId account) {
    for (const Side side : {Side::Buy, Side::Sell}) {
        Price changed_level = 0;  // as in walk(): 0 for none
        for (const std::size_t index : in_priority(book, side)) {
            const Price price = book.orders[index].price;
            if (changed_level != 0 && changed_level != price) {
                emit_level(book, side, changed_level);
                changed_level = 0;
            }
            if (only_account && book.orders[index].account != account) {
                continue;
            }
            remove(book, index, reason);
            changed_level = price;
        }
        if (changed_level != 0) {
            emit_level(book, side, changed_level);
        }
    }
}

void ReferenceEngine::mass_cancel(const Command& c) {
    if (c.instrument == kAllInstruments) {
        // books_ is in ascending id order. Books in the no-cancel phase are left alone.
        for (Book& book : books_) {
            if (book.state != TradingState::AuctionNoCancel) {
                cancel_every(book, Reason::CancelledMassCancel, true, c.account);
            }
        }
        return;
    }
    Book* book = find_book(c.instrument);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    if (book->state == TradingState::AuctionNoCancel) {
        reject(c, Reason::CancelNotAllowedInNoCancelPhase);
        return;
    }
    cancel_every(*book, Reason::CancelledMassCancel, true, c.account);
}

void ReferenceEngine::change_state(Book& book, TradingState state, CommandType cause) {
    book.state = state;
    Event& e = emit(EventType::StateChanged, book.spec.id);
    e.aux = static_cast<std::uint8_t>(state);
    e.price = book.reference;
    e.other_leaves = static_cast<Quantity>(cause);
}

void ReferenceEngine::operator_command(const Command& c) {
    Book* book = find_book(c.instrument);
    if (book == nullptr) {
        reject(c, Reason::UnknownInstrument);
        return;
    }
    using S = TradingState;
    const S from = book->state;
    switch (c.type) {
        case CommandType::Halt:
            if (from == S::Continuous) {
                change_state(*book, S::Halted, c.type);
                if (c.price != 0) {
                    cancel_every(*book, Reason::CancelledHalt, false, 0);
                }
                return;
            }
            break;
        case CommandType::Resume:
            if (from == S::Halted || from == S::Closed) {
                change_state(*book, S::Continuous, c.type);
                return;
            }
            break;
        case CommandType::StartAuction:
            if (from == S::Closed || from == S::Continuous || from == S::Halted) {
                change_state(*book, S::CallAuction, c.type);
                return;
            }
            break;
        case CommandType::FreezeAuction:
            if (from == S::CallAuction) {
                change_state(*book, S::AuctionNoCancel, c.type);
                return;
            }
            break;
        case CommandType::Uncross:
            if (from == S::CallAuction || from == S::AuctionNoCancel) {
                uncross(*book);
                change_state(*book, S::Continuous, c.type);
                return;
            }
            break;
        case CommandType::Close:
            if (from != S::Closed) {
                change_state(*book, S::Closed, c.type);
                cancel_every(*book, Reason::CancelledMarketClosed, false, 0);
                return;
            }
            break;
        case CommandType::SetReference: {
            const InstrumentSpec& s = book->spec;
            if (c.price % s.tick_size != 0) {
                reject(c, Reason::PriceNotTickMultiple);
                return;
            }
            if (c.price < s.price_min || c.price > s.price_max) {
                reject(c, Reason::PriceOutOfRange);
                return;
            }
            // Announced as a state change to the state the book is already in.
            book->reference = c.price;
            change_state(*book, book->state, c.type);
            return;
        }
        default:
            break;
    }
    reject(c, Reason::InvalidStateTransition);
}

void ReferenceEngine::uncross(Book& book) {
    // Only unconstrained orders take part.
    std::vector<std::size_t> bids;
    std::vector<std::size_t> asks;
    for (const Side side : {Side::Buy, Side::Sell}) {
        for (const std::size_t index : in_priority(book, side)) {
            const Order& order = book.orders[index];
            if (!all_or_none(order.flags) && order.min_quantity == 0) {
                (side == Side::Buy ? bids : asks).push_back(index);
            }
        }
    }
    const auto bid_at_or_above = [&](Price p) {
        Quantity total = 0;
        for (const std::size_t index : bids) {
            total += book.orders[index].price >= p ? book.orders[index].leaves : 0;
        }
        return total;
    };
    const auto offered_at_or_below = [&](Price p) {
        Quantity total = 0;
        for (const std::size_t index : asks) {
            total += book.orders[index].price <= p ? book.orders[index].leaves : 0;
        }
        return total;
    };

    // Brute force over every tick where anything can execute: from the lowest ask to
    // the highest bid. The key orders candidates: most volume, least imbalance,
    // closest to the reference, lowest price.
    Price price = 0;
    Quantity volume = 0;
    Quantity bid_quantity = 0;
    Quantity ask_quantity = 0;
    if (!bids.empty() && !asks.empty()) {
        Price lowest_ask = book.orders[asks.front()].price;
        Price highest_bid = book.orders[bids.front()].price;
        std::optional<std::tuple<Quantity, Quantity, Price, Price>> best_key;
        for (Price p = lowest_ask; p <= highest_bid; p += book.spec.tick_size) {
            const Quantity b = bid_at_or_above(p);
            const Quantity a = offered_at_or_below(p);
            const std::tuple<Quantity, Quantity, Price, Price> key{-std::min(a, b), distance(a, b),
                                                                   distance(p, book.reference), p};
            if (!best_key.has_value() || key < *best_key) {
                best_key = key;
                price = p;
                volume = std::min(a, b);
                bid_quantity = b;
                ask_quantity = a;
            }
        }
    }

    if (volume > 0) {
        // Bids in priority against asks in priority, all at one price. A level's update
        // is published when the allocation moves past it, and the last two at the end.
        std::size_t bi = 0;
        std::size_t ai = 0;
        Price bid_level = 0;  // the level of the last bid and ask that traded, 0 for none
        Price ask_level = 0;
        Quantity left = volume;
        while (left > 0) {
            while (book.orders[bids[bi]].leaves == 0) {
                ++bi;
            }
            while (book.orders[asks[ai]].leaves == 0) {
                ++ai;
            }
            Order& b = book.orders[bids[bi]];
            Order& s = book.orders[asks[ai]];
            if (bid_level != 0 && bid_level != b.price) {
                emit_level(book, Side::Buy, bid_level);
            }
            if (ask_level != 0 && ask_level != s.price) {
                emit_level(book, Side::Sell, ask_level);
            }
            bid_level = b.price;
            ask_level = s.price;
            const Quantity fill = std::min({b.leaves, s.leaves, left});
            b.leaves -= fill;
            s.leaves -= fill;
            left -= fill;
            b.live = b.leaves > 0;
            s.live = s.leaves > 0;
            Event& e = emit(EventType::Trade, book.spec.id);
            e.side = Side::None;
            e.price = price;
            e.quantity = fill;
            e.order_id = b.id;
            e.account = b.account;
            e.leaves = b.leaves;
            e.other_order_id = s.id;
            e.other_account = s.account;
            e.other_leaves = s.leaves;
        }
        emit_level(book, Side::Buy, bid_level);
        emit_level(book, Side::Sell, ask_level);
        book.reference = price;
    }

    Event& result = emit(EventType::AuctionResult, book.spec.id);
    result.price = volume > 0 ? price : 0;
    result.quantity = volume;
    result.leaves = volume > 0 ? distance(bid_quantity, ask_quantity) : 0;
    result.side = volume == 0 || bid_quantity == ask_quantity
                      ? Side::None
                      : (bid_quantity > ask_quantity ? Side::Buy : Side::Sell);
}

std::uint64_t ReferenceEngine::instrument_hash(InstrumentId id) const {
    StateHasher hasher;
    const Book* book = find_book(id);
    if (book == nullptr) {
        return hasher.value();
    }
    if (book->hash_known) {
        return book->hash;
    }
    hasher.add(book->spec.id);
    hasher.add(static_cast<std::uint64_t>(book->state));
    hasher.add_signed(book->reference);
    for (const Side side : {Side::Buy, Side::Sell}) {
        const std::vector<std::size_t> queue = in_priority(*book, side);
        hasher.add(static_cast<std::uint64_t>(side));
        hasher.add(queue.size());
        for (const std::size_t index : queue) {
            const Order& o = book->orders[index];
            hasher.add(o.id);
            hasher.add(o.account);
            hasher.add_signed(o.price);
            hasher.add_signed(o.leaves);
            hasher.add_signed(o.min_quantity);
            hasher.add_signed(o.expiry_ns);
            hasher.add(o.flags);
        }
    }
    book->hash = hasher.value();
    book->hash_known = true;
    return book->hash;
}

std::uint64_t ReferenceEngine::state_hash() const {
    StateHasher hasher;
    for (const Book& book : books_) {
        hasher.add(instrument_hash(book.spec.id));
    }
    return hasher.value();
}

}  // namespace cpx::reference
