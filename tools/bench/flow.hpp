#pragma once

// A generator of order flow that looks like a real market's, for the engine's
// benchmarks: new limit orders placed around a moving mid price at distances drawn from
// a power law, nearly all of them cancelled soon after, about a fifth modified first,
// and about 15% immediate-or-cancel orders that take liquidity. The flow is generated
// before any timing, into a vector of commands, so a benchmark measures the engine and
// not the generator.
//
// The generator drives a shadow engine while it writes the commands, so it knows which
// orders are still resting: it never cancels or modifies an order that has already been
// filled, and the benchmark's engine, given the same commands, does exactly the same
// work without rejections. Everything is integer arithmetic with a fixed seed, so a flow
// is the same on every machine.

#include <cstdint>
#include <string_view>
#include <vector>

#include "cpx/matching/command.hpp"
#include "cpx/matching/instrument.hpp"

namespace cpx::bench {

// How the mid price moves while the flow runs.
enum class Regime : std::uint8_t {
    StaticDeep,  // the mid never moves; the book is pre-filled deep on both sides
    Trending,    // the mid drifts one tick at a time, in trends that turn every so often
    Volatile,    // the mid jumps several ticks often; takers reach further
    FlashCrash,  // trending, then the mid falls fast, sweeping many levels, and recovers
};

std::string_view regime_name(Regime regime);

struct FlowParams {
    Regime regime = Regime::Trending;
    std::uint64_t seed = 1;
    // New orders in the timed flow; cancels and modifications come on top of them.
    std::uint32_t new_orders = 1'000'000;
    // Resting orders placed before the timed flow, uniformly over prefill_levels levels
    // on each side of the mid. They are never cancelled by the flow.
    std::uint32_t prefill_orders = 0;
    std::uint32_t prefill_levels = 10'000;
    // Percentage of passive new orders that the flow never cancels, so that the book
    // slowly accumulates depth away from the mid. 0 gives a flow that ends with an
    // empty book, which can be replayed again and again (with fresh order ids).
    std::uint32_t keep_percent = 2;
    // The engine the flow is generated against, and must be replayed on.
    std::uint32_t engine_capacity = 1u << 20;
};

// Commands of one flow and what the shadow engine saw when it applied them.
struct Flow {
    FlowParams params;
    matching::InstrumentSpec spec;
    // Applied before timing: the pre-filled book.
    std::vector<matching::Command> setup;
    // The timed messages, in order.
    std::vector<matching::Command> commands;

    // The mix of the timed commands.
    std::uint64_t new_orders = 0;
    std::uint64_t ioc_orders = 0;
    std::uint64_t cancels = 0;
    std::uint64_t replaces = 0;
    // What the shadow engine produced for the timed commands.
    std::uint64_t events = 0;
    std::uint64_t trades = 0;
    std::uint64_t rejects = 0;
    std::uint64_t max_events_per_command = 0;
    std::uint32_t peak_resting = 0;
    std::uint32_t final_resting = 0;
    // The range the mid moved over, in fen.
    matching::Price mid_low = 0;
    matching::Price mid_high = 0;
    // The shadow engine's state hash at the end, so a replay can check it matched.
    std::uint64_t final_state_hash = 0;
};

// The listed instrument every flow trades: one-fen ticks, unit lots, a ladder of
// 200,000 ticks and a 20% price band around a reference price of 1,000.00 CNY.
matching::InstrumentSpec flow_instrument();

// Generates a flow. Takes about a second per million new orders.
Flow generate_flow(const FlowParams& params);

// A copy of command with its order id moved into another id space, so a flow that ends
// with an empty book can be replayed several times on one engine. Ids of one flow are
// below 2^32.
matching::Command with_id_offset(const matching::Command& command, std::uint64_t lap);

}  // namespace cpx::bench
