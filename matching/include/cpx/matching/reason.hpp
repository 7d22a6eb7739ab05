#pragma once

#include <cstdint>
#include <string_view>

namespace cpx::matching {

// Why a command was rejected or an order cancelled. Stable numeric values: they are
// written to journals and sent to clients, so a value is never reused or renumbered.
enum class Reason : std::uint8_t {
    None = 0,

    // Rejections of a command.
    UnknownInstrument = 1,
    DuplicateOrderId = 2,
    UnknownOrder = 3,
    InvalidOrderId = 4,
    InvalidSide = 5,
    InvalidOrderType = 6,
    InvalidTimeInForce = 7,
    InvalidQuantity = 8,
    QuantityNotLotMultiple = 9,
    QuantityBelowMinimum = 10,
    QuantityAboveMaximum = 11,
    InvalidPrice = 12,
    PriceNotTickMultiple = 13,
    PriceOutOfRange = 14,
    PriceOutsideBand = 15,
    InvalidMinQuantity = 16,
    ExpiryInPast = 17,
    InstrumentHalted = 18,
    InstrumentClosed = 19,
    NotAllowedInAuction = 20,
    CancelNotAllowedInNoCancelPhase = 21,
    PostOnlyWouldTrade = 22,
    OrderCapacityExhausted = 23,
    InvalidStateTransition = 24,
    InvalidCommand = 25,
    NoChange = 26,
    InvalidFlags = 27,
    DuplicateInstrument = 28,

    // Reasons an order left the book without trading in full.
    CancelledByUser = 64,
    CancelledImmediateRemainder = 65,
    CancelledSelfTrade = 66,
    CancelledExpired = 67,
    CancelledHalt = 68,
    CancelledFillOrKill = 69,
    CancelledMinQuantityNotMet = 70,
    CancelledNoLiquidity = 71,
    CancelledMassCancel = 72,
    CancelledMarketClosed = 73,
};

// A short, stable, machine-readable name such as "PRICE_OUTSIDE_BAND".
std::string_view reason_name(Reason reason);

}  // namespace cpx::matching
