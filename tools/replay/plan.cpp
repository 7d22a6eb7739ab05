#include "replay_internal.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

// This file holds the first pass over both files. It runs before any message is
// replayed because the instrument's prices and the engine's order capacity have to be
// fixed when the engine is built.

namespace cpx::replay::detail {

// The first pass over both files: the price range and tick of the instrument, and the
// order capacity. Real orders come from adds; synthetic orders from seeded levels and
// from levels coming into view, where a re-sync leaves at most one synthetic order per
// gap between the known orders it keeps (so at most one more than those), and from
// queue repairs after fill mismatches (at most one per type 4 row). Twice the sum of
// all of them, so that re-syncs never meet a full pool.
Plan make_plan(const std::vector<Message>& messages, const OrderbookFile& file, std::size_t depth) {
    Price lo = kNoCeiling;
    Price hi = 0;
    Price gcd = 0;
    const auto see = [&](Price price) {
        lo = std::min(lo, price);
        hi = std::max(hi, price);
        gcd = std::gcd(gcd, price);
    };
    std::uint64_t bound = 2 * (file.levels + 1) + 16;
    for (const Message& m : messages) {
        if (m.type <= MessageType::ExecuteHidden || (m.type == MessageType::Cross && m.price > 0)) {
            see(m.price);
        }
        bound += m.type == MessageType::Add || m.type == MessageType::Execute ? 1 : 0;
    }
    SideLevels row;
    Window before;
    for (std::size_t r = 0; r < file.rows(); ++r) {
        read_row(file.row(r), file.levels, row);
        for (const FileLevel& level : row.bids) {
            see(level.price);
        }
        for (const FileLevel& level : row.asks) {
            see(level.price);
        }
        read_row(file.row(r), depth, row);
        const Window now = window_of(row, depth);
        if (r > 0) {
            bound += levels_coming_into_view(row, before, now);
        }
        before = now;
    }
    if (hi == 0) {
        throw InputError("orderbook file", 0, "no prices at all: nothing to replay");
    }

    Plan plan;
    InstrumentSpec& s = plan.spec;
    s.id = kInstrument;
    s.symbol = matching::FixedText<32>::from("LOBSTER");
    s.kind = matching::InstrumentKind::TokenBundle;
    s.hub = matching::FixedText<16>::from("NASDAQ");
    s.unit = matching::FixedText<16>::from("share");
    s.lot_size = 1;
    s.quantity_min = 1;
    s.band_bps = 0;
    s.reference_price = 0;
    s.initial_state = TradingState::Continuous;
    bool fitted = false;
    for (const Price tick : {Price{1}, gcd}) {
        for (const Price margin : {std::max((hi - lo) / 4, 1000 * tick), Price{0}}) {
            const Price price_min = std::max(tick, (lo - margin) / tick * tick);
            const Price price_max = (hi + margin + tick - 1) / tick * tick;
            if ((price_max - price_min) / tick + 1 <= matching::kLadderTicksMax) {
                s.tick_size = tick;
                s.price_min = price_min;
                s.price_max = price_max;
                fitted = true;
                break;
            }
        }
        if (fitted) {
            break;
        }
    }
    if (!fitted) {
        throw InputError("orderbook file", 0,
                         "prices from " + std::to_string(lo) + " to " + std::to_string(hi) +
                             " span more ticks than the engine's ladder holds");
    }
    // Synthetic orders carry whole level totals and aggressors whole runs, so only
    // the engine's own overflow rule bounds the quantity.
    s.quantity_max = std::numeric_limits<std::int64_t>::max() / s.price_max;
    s.market_protection_ticks = 0;
    bound *= 2;
    if (bound >= std::uint64_t{1} << 31) {
        throw InputError("message file", 0, "too many orders for one engine");
    }
    plan.capacity = static_cast<std::uint32_t>(bound);
    return plan;
}

}  // namespace cpx::replay::detail
