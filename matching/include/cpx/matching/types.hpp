#pragma once

// The engine's vocabulary. Every price, quantity and time is an integer: prices in
// fen (0.01 CNY) that must be a multiple of the instrument's tick size, quantities in
// the instrument's unit (P·h, or one token bundle) that must be a multiple of its
// lot size, times in nanoseconds since the Unix epoch, given as input by the caller.

#include <cstdint>

namespace cpx::matching {

using Price = std::int64_t;       // fen per unit
using Quantity = std::int64_t;    // instrument units
using OrderId = std::uint64_t;    // assigned by the sequencer in front of the engine; 0 is invalid
using AccountId = std::uint32_t;  // 0 is a valid account (the replay tool uses it)
using InstrumentId = std::uint32_t;
using Timestamp = std::int64_t;  // ns since the Unix epoch, always an input
using Sequence = std::uint64_t;

inline constexpr InstrumentId kAllInstruments = 0xFFFFFFFFu;

enum class Side : std::uint8_t { None = 0, Buy = 1, Sell = 2 };

constexpr Side opposite(Side side) {
    return side == Side::Buy ? Side::Sell : (side == Side::Sell ? Side::Buy : Side::None);
}

enum class OrderType : std::uint8_t { Limit = 1, Market = 2 };

// GTC rests until cancelled; GTD rests until its expiry time; IOC trades what it can
// at once and cancels the rest; FOK trades its whole quantity at once or nothing.
enum class TimeInForce : std::uint8_t { GTC = 1, GTD = 2, IOC = 3, FOK = 4 };

// What happens when an incoming order would trade with a resting order of the same
// account. None is for feeds without accounts (market data replay).
enum class SelfTradePrevention : std::uint8_t {
    None = 0,
    CancelIncoming = 1,
    CancelResting = 2,
    CancelBoth = 3,
};

// Order flags, combined bitwise in Command::flags.
inline constexpr std::uint8_t kFlagPostOnly = 1u << 0;
inline constexpr std::uint8_t kFlagAllOrNone = 1u << 1;

}  // namespace cpx::matching
