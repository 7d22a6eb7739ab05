#pragma once

#include "cpx/matching/engine.hpp"

namespace cpx::matching {

// An order on its way in: a new order, or a resting order that was repriced or grew
// and must find its place again. It owns no pool slot until it rests, except a
// replaced order, which keeps its slot, id and expiry entry throughout.
struct Engine::Incoming {
    OrderId id = 0;
    AccountId account = 0;
    Side side = Side::None;
    OrderType type = OrderType::Limit;
    TimeInForce tif = TimeInForce::GTC;
    std::uint8_t flags = 0;
    SelfTradePrevention stp = SelfTradePrevention::None;
    Price price = 0;              // the limit price given (0 for a market order)
    std::int64_t limit_tick = 0;  // the worst tick it may trade at
    Quantity remaining = 0;
    Quantity min_quantity = 0;
    Timestamp expiry_ns = 0;
    std::uint32_t slot = kNoSlot;  // set for a replaced order
    bool stp_cancelled = false;

    bool all_or_none() const { return (flags & kFlagAllOrNone) != 0; }
    bool crosses(std::int64_t tick) const {
        return side == Side::Buy ? tick <= limit_tick : tick >= limit_tick;
    }
};

}  // namespace cpx::matching
