#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "market.hpp"
#include "stats.hpp"

namespace cpx::demo {

// Everything the demo prints, for a person to read: fixed-width columns, money as CNY
// with two decimals, times in China Standard Time.

void print_header(std::ostream& out, const Catalog& catalog, std::uint64_t seed,
                  std::uint64_t steps);

// The running tape: auctions, trades and notable events (rejections, all-or-none orders
// waiting and filling, expiries, self-trade prevention, the halt), one line each.
class Tape final : public StepObserver {
  public:
    Tape(std::ostream& out, const Catalog& catalog);
    void on_step(const StepRecord& step) override;

  private:
    // An all-or-none order resting until one counterpart can fill all of it.
    struct WaitingJob {
        matching::Quantity quantity;
        matching::Timestamp since;
    };

    void line(matching::Timestamp ts, std::string_view tag, matching::InstrumentId instrument,
              std::string_view detail);
    void state_change(const StepRecord& step, const matching::Event& e);
    void auction(const StepRecord& step, const matching::Event& result);
    void trade(const matching::Event& e);
    void cancelled(const matching::Event& e);
    std::string quantity_text(matching::InstrumentId instrument, matching::Quantity quantity) const;
    std::string describe(const matching::Command& c) const;

    std::ostream& out_;
    const Catalog& catalog_;
    std::map<matching::OrderId, WaitingJob> waiting_;
};

// The best five levels of each side of every book.
void print_books(std::ostream& out, const Catalog& catalog, const std::vector<BookSnapshot>& books,
                 matching::Timestamp at);

// Per instrument: the auction, trades, volume, VWAP, last price and notional; then the
// counts of commands and of each rejection and cancellation reason, and the state hash.
void print_summary(std::ostream& out, const Catalog& catalog, const MarketStats& stats,
                   const std::vector<BookSnapshot>& books, std::uint64_t state_hash);

}  // namespace cpx::demo
