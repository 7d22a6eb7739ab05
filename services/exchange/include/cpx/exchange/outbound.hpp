#pragma once
// The output of the exchange's state machine: plain fixed-size records that travel
// through a lock-free queue to the thread that answers callers, feeds order-entry
// streams and publishes market data.

#include <cstdint>
#include <type_traits>

#include "cpx/exchange/request.hpp"
#include "cpx/exchange/status.hpp"
#include "cpx/matching/instrument.hpp"

namespace cpx::exchange {

enum class OutKind : std::uint8_t {
    // The answer to a query, an administration request or a Logon, by token. code says
    // whether it succeeded; a Logon answer names the session and its account.
    Reply = 1,
    // An execution report of an account; fill_count Fill records follow it at once.
    Report = 2,
    Fill = 3,
    // The answer to a mass cancel; quantity = number of orders cancelled. Sequenced in
    // the account's reports like a Report.
    MassCancelDone = 4,
    // Public market data of one instrument (see MarketKind).
    Market = 5,
};

enum class ExecType : std::uint8_t {
    None = 0,
    New = 1,
    Trade = 2,
    Cancelled = 3,
    Replaced = 4,
    Rejected = 5,
    Expired = 6,
};

enum class OrderStatus : std::uint8_t {
    None = 0,
    New = 1,
    PartiallyFilled = 2,
    Filled = 3,
    Cancelled = 4,
    Rejected = 5,
    Expired = 6,
};

enum class MarketKind : std::uint8_t {
    Level = 1,  // side, price, quantity (0: gone), order_count
    Trade = 2,  // trade_id, price, quantity, side = aggressor (None in an auction)
    State = 3,  // state, price = reference price
};

// One record; which fields mean something depends on kind:
//   Reply:          token, code, account and session (Logon), seq = the account's newest
//                   report number (Logon)
//   Report:         token (0 unless it answers a unary call), session (non-zero only for a
//                   replay or a duplicate answer meant for that session alone), account,
//                   seq, exec, status, code, order_id, client_order_id, instrument, side,
//                   price, quantity (total), leaves, filled, fill_count, duplicate, ts_ns
//   Fill:           account, seq (of its report), trade_id, price, quantity, aggressor,
//                   ts_ns
//   MassCancelDone: as Report, with quantity = orders cancelled
//   Market:         market, instrument, side, price, quantity, order_count, trade_id,
//                   state, ts_ns
struct Outbound {
    OutKind kind = OutKind::Reply;
    ExecType exec = ExecType::None;
    OrderStatus status = OrderStatus::None;
    Side side = Side::None;
    MarketKind market = MarketKind::Level;
    matching::TradingState state = matching::TradingState::Closed;
    bool duplicate = false;
    // Only for the caller named by token or session: a duplicate answer or a replay
    // after a logon. Otherwise a Report goes to every stream of its account too.
    bool targeted = false;
    bool aggressor = false;
    // Named padding, always zero: every byte of a record is a field, so that the same
    // requests give the same output bytes (a journal or a replay can compare them).
    std::uint8_t reserved0 = 0;
    Code code = Code::None;
    std::uint16_t fill_count = 0;
    std::uint16_t reserved1 = 0;
    AccountId account = 0;
    InstrumentId instrument = 0;
    std::uint32_t order_count = 0;
    std::uint32_t reserved2 = 0;
    Token token = 0;
    SessionId session = 0;
    std::uint64_t seq = 0;
    OrderId order_id = 0;
    std::uint64_t trade_id = 0;
    Price price = 0;
    Quantity quantity = 0;
    Quantity leaves = 0;
    Quantity filled = 0;
    Timestamp ts_ns = 0;
    ClientOrderId client_order_id;
};

static_assert(std::is_trivially_copyable_v<Outbound>);
static_assert(std::has_unique_object_representations_v<Outbound>);

// Where the exchange delivers its output. Called on the exchange's thread, in order.
class OutboundSink {
  public:
    virtual ~OutboundSink() = default;
    virtual void deliver(const Outbound& out) = 0;
};

}  // namespace cpx::exchange
