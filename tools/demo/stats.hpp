#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "cpx/matching/reason.hpp"
#include "cpx/matching/types.hpp"
#include "market.hpp"

namespace cpx::demo {

// What happened in one instrument, from its events alone.
struct InstrumentStats {
    matching::InstrumentId instrument = 0;
    std::uint64_t trades = 0;
    matching::Quantity volume = 0;
    std::int64_t notional = 0;  // fen: the sum of price times quantity
    matching::Price last = 0;
    matching::Price high = 0;
    matching::Price low = 0;
    std::uint64_t auctions_opened = 0;
    std::uint64_t auctions_uncrossed = 0;
    matching::Price auction_price = 0;  // of the last uncross, 0 if nothing crossed
    matching::Quantity auction_volume = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;

    // Volume-weighted average price in fen: notional / volume, rounded half up, in
    // integer arithmetic. 0 when nothing traded.
    matching::Price vwap() const;
};

struct MarketStats {
    std::vector<InstrumentStats> instruments;  // in ascending instrument id
    std::uint64_t commands = 0;
    std::uint64_t new_orders = 0;
    std::uint64_t cancels = 0;
    std::uint64_t replaces = 0;
    std::uint64_t mass_cancels = 0;
    std::uint64_t operator_commands = 0;
    std::uint64_t clock_ticks = 0;
    std::uint64_t events = 0;
    std::uint64_t sequence_gaps = 0;  // events whose seq did not follow the previous one
    matching::Sequence last_sequence = 0;
    std::uint64_t accepted = 0;
    std::uint64_t replaced = 0;
    std::uint64_t negative_levels = 0;  // LevelUpdate events with a negative total or count
    std::map<matching::Reason, std::uint64_t> rejections;
    std::map<matching::Reason, std::uint64_t> cancellations;

    const InstrumentStats* find(matching::InstrumentId id) const;
    std::uint64_t trades() const;
    std::int64_t notional() const;
};

// Builds MarketStats as the run goes.
class StatsCollector final : public StepObserver {
  public:
    explicit StatsCollector(const std::vector<matching::InstrumentId>& instruments);
    void on_step(const StepRecord& step) override;
    const MarketStats& stats() const { return stats_; }

  private:
    InstrumentStats* find(matching::InstrumentId id);

    MarketStats stats_;
};

}  // namespace cpx::demo
