#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "cpx/matching/reason.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::matching {

// What an instrument delivers.
enum class InstrumentKind : std::uint8_t {
    ComputeCapacity =
        1,  // quantity in P·h of one hub and delivery window, or of one accelerator class
    TokenBundle = 2,  // quantity in bundles of model inference quota (for example 1M tokens)
};

// The trading phase of an instrument. Closed rejects new orders; CallAuction collects
// orders without trading and allows cancels; AuctionNoCancel still collects orders but
// refuses cancels and replaces; Continuous matches on arrival; Halted refuses new
// orders and replaces but allows cancels.
enum class TradingState : std::uint8_t {
    Closed = 0,
    CallAuction = 1,
    AuctionNoCancel = 2,
    Continuous = 3,
    Halted = 4,
};

std::string_view trading_state_name(TradingState state);

// A fixed-size, NUL-padded text field, so that specs are plain values without heap memory.
template <std::size_t N>
struct FixedText {
    std::array<char, N> bytes{};

    static FixedText from(std::string_view text) {
        FixedText out;
        const std::size_t n = text.size() < N ? text.size() : N;
        for (std::size_t i = 0; i < n; ++i) {
            out.bytes[i] = text[i];
        }
        return out;
    }
    std::string_view view() const {
        std::size_t n = 0;
        while (n < N && bytes[n] != '\0') {
            ++n;
        }
        return {bytes.data(), n};
    }
};

// The rules of one listed instrument. Orders that break them are rejected with a
// reason; nothing is ever rounded.
struct InstrumentSpec {
    InstrumentId id = 0;
    FixedText<32> symbol;  // for example "HHHT-H100-2026-12-01T08"
    InstrumentKind kind = InstrumentKind::ComputeCapacity;
    FixedText<16> hub;              // for example "HOHHOT"
    FixedText<16> unit;             // "P·h" or "1M-tokens"
    Timestamp window_start_ns = 0;  // delivery window of the product; informational to the engine
    Timestamp window_end_ns = 0;

    Price tick_size = 1;        // fen; every price is a multiple of it
    Quantity lot_size = 1;      // every quantity is a multiple of it
    Quantity quantity_min = 1;  // per order
    Quantity quantity_max = 1'000'000;

    // The book's price ladder covers [price_min, price_max]; orders outside it are
    // rejected. The engine allocates one slot per tick of this range per side, so the
    // range is bounded (see kLadderTicksMax).
    Price price_min = 1;
    Price price_max = 1'000'000;

    // Orders priced further than band_bps basis points from the reference price are
    // rejected. The reference price is set by the operator, then follows the last trade
    // and the auction price. 0 disables the band.
    std::uint32_t band_bps = 0;
    Price reference_price = 0;

    // A market order may trade at most this many ticks away from the best opposite
    // price at its arrival; the rest is cancelled.
    std::uint32_t market_protection_ticks = 100;

    TradingState initial_state = TradingState::Continuous;
};

inline constexpr std::int64_t kLadderTicksMax = std::int64_t{1} << 22;

// Checks that a spec is internally consistent (positive tick and lot, price range a
// whole number of ticks, no overflow of price times quantity). Returns Reason::None
// when it is usable.
Reason validate_spec(const InstrumentSpec& spec);

}  // namespace cpx::matching
