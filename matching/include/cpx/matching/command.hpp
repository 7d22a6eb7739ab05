#pragma once

#include <cstdint>
#include <type_traits>

#include "cpx/matching/types.hpp"

namespace cpx::matching {

enum class CommandType : std::uint8_t {
    NewOrder = 1,
    Cancel = 2,
    Replace = 3,
    MassCancel = 4,
    // Operator commands on one instrument.
    Halt = 16,           // price field != 0 also cancels every resting order
    Resume = 17,         // back to continuous trading
    StartAuction = 18,   // enter the call phase
    FreezeAuction = 19,  // enter the no-cancel phase of a call auction
    Uncross = 20,        // run the auction at one price, then trade continuously
    Close = 21,          // cancel every resting order and refuse new ones
    SetReference = 22,   // price field is the new reference price
    // Advances time without doing anything else, so that GTD orders expire on time.
    Tick = 32,
};

// One input to the engine: a plain, fixed-size value that can travel through a
// lock-free queue. Which fields are read depends on the type:
//   NewOrder:     instrument, order_id, account, side, order_type, tif, flags, stp,
//                 price (limit; for a market order an optional protection limit, 0 for
//                 none), quantity, min_quantity (0 for none), expiry_ns (GTD only)
//   Cancel:       instrument, order_id, account (must own the order)
//   Replace:      instrument, order_id, account, price (new limit), quantity (new
//                 open quantity)
//   MassCancel:   account, instrument (kAllInstruments for every instrument)
//   operator ops: instrument, price for Halt and SetReference
// Every command carries ts_ns, the time it was sequenced.
struct Command {
    CommandType type = CommandType::Tick;
    Side side = Side::None;
    OrderType order_type = OrderType::Limit;
    TimeInForce tif = TimeInForce::GTC;
    std::uint8_t flags = 0;
    SelfTradePrevention stp = SelfTradePrevention::None;
    std::uint8_t reserved0 = 0;
    std::uint8_t reserved1 = 0;
    InstrumentId instrument = 0;
    AccountId account = 0;
    Timestamp ts_ns = 0;
    OrderId order_id = 0;
    Price price = 0;
    Quantity quantity = 0;
    Quantity min_quantity = 0;
    Timestamp expiry_ns = 0;
};

static_assert(std::is_trivially_copyable_v<Command>);
static_assert(sizeof(Command) == 64);

}  // namespace cpx::matching
