#include "cpx/matching/instrument.hpp"

#include <limits>

namespace cpx::matching {

std::string_view trading_state_name(TradingState state) {
    switch (state) {
        case TradingState::Closed:
            return "CLOSED";
        case TradingState::CallAuction:
            return "CALL_AUCTION";
        case TradingState::AuctionNoCancel:
            return "AUCTION_NO_CANCEL";
        case TradingState::Continuous:
            return "CONTINUOUS";
        case TradingState::Halted:
            return "HALTED";
    }
    return "UNKNOWN_STATE";
}

Reason validate_spec(const InstrumentSpec& spec) {
    // kAllInstruments means "every instrument" in a mass cancel, so no instrument may
    // carry it as its own id.
    if (spec.id == kAllInstruments) {
        return Reason::UnknownInstrument;
    }
    if (spec.tick_size <= 0 || spec.lot_size <= 0) {
        return Reason::InvalidCommand;
    }
    if (spec.price_min <= 0 || spec.price_max < spec.price_min) {
        return Reason::PriceOutOfRange;
    }
    if (spec.price_min % spec.tick_size != 0 || spec.price_max % spec.tick_size != 0) {
        return Reason::PriceNotTickMultiple;
    }
    if ((spec.price_max - spec.price_min) / spec.tick_size + 1 > kLadderTicksMax) {
        return Reason::PriceOutOfRange;
    }
    if (spec.quantity_min <= 0 || spec.quantity_max < spec.quantity_min ||
        spec.quantity_min % spec.lot_size != 0 || spec.quantity_max % spec.lot_size != 0) {
        return Reason::InvalidQuantity;
    }
    // The value of any order, price times quantity in fen, must fit in 63 bits, and so
    // must the band arithmetic on the reference price.
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    if (spec.price_max > kMax / spec.quantity_max || spec.price_max > kMax / 10'000) {
        return Reason::QuantityAboveMaximum;
    }
    if (spec.reference_price != 0 &&
        (spec.reference_price < spec.price_min || spec.reference_price > spec.price_max ||
         spec.reference_price % spec.tick_size != 0)) {
        return Reason::InvalidPrice;
    }
    if (spec.band_bps > 10'000) {
        return Reason::InvalidCommand;
    }
    // An instrument is listed closed, continuous or in a call auction. Any other value,
    // named or not, would leave its book in a phase that no command path handles.
    if (spec.initial_state != TradingState::Continuous &&
        spec.initial_state != TradingState::Closed &&
        spec.initial_state != TradingState::CallAuction) {
        return Reason::InvalidStateTransition;
    }
    return Reason::None;
}

}  // namespace cpx::matching
