#include "cpx/matching/reason.hpp"

namespace cpx::matching {

std::string_view reason_name(Reason reason) {
    switch (reason) {
        case Reason::None:
            return "NONE";
        case Reason::UnknownInstrument:
            return "UNKNOWN_INSTRUMENT";
        case Reason::DuplicateOrderId:
            return "DUPLICATE_ORDER_ID";
        case Reason::UnknownOrder:
            return "UNKNOWN_ORDER";
        case Reason::InvalidOrderId:
            return "INVALID_ORDER_ID";
        case Reason::InvalidSide:
            return "INVALID_SIDE";
        case Reason::InvalidOrderType:
            return "INVALID_ORDER_TYPE";
        case Reason::InvalidTimeInForce:
            return "INVALID_TIME_IN_FORCE";
        case Reason::InvalidQuantity:
            return "INVALID_QUANTITY";
        case Reason::QuantityNotLotMultiple:
            return "QUANTITY_NOT_LOT_MULTIPLE";
        case Reason::QuantityBelowMinimum:
            return "QUANTITY_BELOW_MINIMUM";
        case Reason::QuantityAboveMaximum:
            return "QUANTITY_ABOVE_MAXIMUM";
        case Reason::InvalidPrice:
            return "INVALID_PRICE";
        case Reason::PriceNotTickMultiple:
            return "PRICE_NOT_TICK_MULTIPLE";
        case Reason::PriceOutOfRange:
            return "PRICE_OUT_OF_RANGE";
        case Reason::PriceOutsideBand:
            return "PRICE_OUTSIDE_BAND";
        case Reason::InvalidMinQuantity:
            return "INVALID_MIN_QUANTITY";
        case Reason::ExpiryInPast:
            return "EXPIRY_IN_PAST";
        case Reason::InstrumentHalted:
            return "INSTRUMENT_HALTED";
        case Reason::InstrumentClosed:
            return "INSTRUMENT_CLOSED";
        case Reason::NotAllowedInAuction:
            return "NOT_ALLOWED_IN_AUCTION";
        case Reason::CancelNotAllowedInNoCancelPhase:
            return "CANCEL_NOT_ALLOWED_IN_NO_CANCEL_PHASE";
        case Reason::PostOnlyWouldTrade:
            return "POST_ONLY_WOULD_TRADE";
        case Reason::OrderCapacityExhausted:
            return "ORDER_CAPACITY_EXHAUSTED";
        case Reason::InvalidStateTransition:
            return "INVALID_STATE_TRANSITION";
        case Reason::InvalidCommand:
            return "INVALID_COMMAND";
        case Reason::NoChange:
            return "NO_CHANGE";
        case Reason::InvalidFlags:
            return "INVALID_FLAGS";
        case Reason::DuplicateInstrument:
            return "DUPLICATE_INSTRUMENT";
        case Reason::CancelledByUser:
            return "CANCELLED_BY_USER";
        case Reason::CancelledImmediateRemainder:
            return "CANCELLED_IMMEDIATE_REMAINDER";
        case Reason::CancelledSelfTrade:
            return "CANCELLED_SELF_TRADE";
        case Reason::CancelledExpired:
            return "CANCELLED_EXPIRED";
        case Reason::CancelledHalt:
            return "CANCELLED_HALT";
        case Reason::CancelledFillOrKill:
            return "CANCELLED_FILL_OR_KILL";
        case Reason::CancelledMinQuantityNotMet:
            return "CANCELLED_MIN_QUANTITY_NOT_MET";
        case Reason::CancelledNoLiquidity:
            return "CANCELLED_NO_LIQUIDITY";
        case Reason::CancelledMassCancel:
            return "CANCELLED_MASS_CANCEL";
        case Reason::CancelledMarketClosed:
            return "CANCELLED_MARKET_CLOSED";
    }
    return "UNKNOWN_REASON";
}

}  // namespace cpx::matching
