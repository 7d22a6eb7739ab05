#pragma once

#include <cstdint>
#include <type_traits>

#include "cpx/matching/reason.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::matching {

enum class EventType : std::uint8_t {
    Accepted = 1,     // a new order passed validation (before any trade)
    Rejected = 2,     // a command was refused; reason says why; nothing changed
    Trade = 3,        // one execution
    Booked = 4,       // an order (or its remainder) now rests in the book
    Cancelled = 5,    // an order left the book or was not booked; reason says why
    Replaced = 6,     // an order's price or quantity changed
    LevelUpdate = 7,  // the total at one price level changed (market-by-price feed)
    AuctionResult = 8,
    StateChanged = 9,  // an instrument's trading state changed
};

// One output of the engine: a plain, fixed-size value with no padding, so that the
// same input gives the same bytes. Fields by type:
//   Accepted:      order_id, account, side, price (limit, 0 for market), quantity
//   Rejected:      order_id, account, side, price, quantity as in the command; reason;
//                  aux = the rejected CommandType
//   Trade:         order_id = buy order, other_order_id = sell order, account = buyer,
//                  other_account = seller, side = aggressor (None in an auction),
//                  price, quantity, leaves = buy order's open quantity after the trade,
//                  other_leaves = sell order's open quantity after the trade
//   Booked:        order_id, account, side, price, leaves (resting quantity)
//   Cancelled:     order_id, account, side, price, quantity = quantity cancelled,
//                  reason
//   Replaced:      order_id, account, side, price (new), quantity (new open quantity),
//                  other_leaves = previous open quantity, aux = 1 if time priority was
//                  kept, 0 if lost
//   LevelUpdate:   side, price, quantity = total open quantity at the level (0 when
//                  the level is gone), leaves = number of orders at the level
//   AuctionResult: price (0 if nothing crossed), quantity = volume matched,
//                  leaves = unmatched quantity at that price, side = side of the surplus
//   StateChanged:  aux = the TradingState now, price = the reference price now,
//                  other_leaves = the CommandType that caused the change
// seq numbers every event of one engine, from 1, without gaps.
struct Event {
    EventType type = EventType::Accepted;
    Side side = Side::None;
    Reason reason = Reason::None;
    std::uint8_t aux = 0;
    InstrumentId instrument = 0;
    Sequence seq = 0;
    Timestamp ts_ns = 0;
    OrderId order_id = 0;
    OrderId other_order_id = 0;
    AccountId account = 0;
    AccountId other_account = 0;
    Price price = 0;
    Quantity quantity = 0;
    Quantity leaves = 0;
    Quantity other_leaves = 0;
};

static_assert(std::is_trivially_copyable_v<Event>);
static_assert(sizeof(Event) == 80);

// Where the engine delivers its events. The engine calls publish once per command
// with every event the command produced, in order, or several times for a command
// that produces more events than its internal buffer holds.
class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void publish(const Event* events, std::size_t count) = 0;
};

}  // namespace cpx::matching
