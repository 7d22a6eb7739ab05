#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "cpx/matching/event.hpp"
#include "market.hpp"
#include "options.hpp"
#include "stats.hpp"

namespace cpx::demo {

struct DemoResult {
    MarketStats stats;
    std::vector<BookSnapshot> books;  // every level of every book at the end
    std::uint64_t state_hash = 0;
    std::uint32_t resting_orders = 0;
    matching::Timestamp end_ns = 0;
    std::vector<matching::Event> events;  // every event in order, when options.keep_events
};

// Runs the whole demo: lists the catalog, runs the market for options.steps commands and
// prints to out the header, tape and books (unless options.quiet) and the summary.
DemoResult run_demo(const DemoOptions& options, std::ostream& out);

}  // namespace cpx::demo
