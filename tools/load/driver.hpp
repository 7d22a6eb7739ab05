#pragma once

#include <cstdint>
#include <string>

#include "options.hpp"
#include "setup.hpp"
#include "tally.hpp"

namespace cpx::load {

struct LoadResult {
    std::string error;  // empty when the run took place
    Tally tally;
    std::int64_t measured_ms = 0;
    Transport transport = Transport::Stream;
    std::uint32_t sessions = 0;
    // Outstanding unary calls per connection, or commands in flight per stream (closed
    // loop only).
    std::uint32_t window = 0;
    std::uint32_t commands_per_message_max = 1;
};

// Runs the load the options describe against a market prepared by prepare_market:
// connects, logs every stream on, warms up, measures, then waits for the last answers
// (up to the drain timeout) and closes everything. Blocks for about warm-up + duration.
LoadResult run_load(const LoadOptions& options, const Market& market);

}  // namespace cpx::load
