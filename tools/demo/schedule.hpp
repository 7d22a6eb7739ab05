#pragma once

#include <cstdint>
#include <map>

#include "catalog.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::demo {

// The scripted part of a run: the operator's timetable (opening auctions, a halt) and a
// few scenes placed so that every run shows the features a compute market needs, whatever
// the random flow around them does. Every other step is random flow (see market.hpp).
enum class Scene : std::uint8_t {
    OpenAuction,      // StartAuction: offers and bids collect without trading
    FreezeAuction,    // the gate closes: no more cancels or replaces
    Uncross,          // one price for the auction, then continuous trading
    TrainingJob,      // an AI lab bids all-or-none for more than is offered at once
    TrainingJobFill,  // one provider offers enough to fill the whole job
    BrokerOffer,      // the broker offers at the best ask...
    BrokerSweep,      // ...then buys through it: self-trade prevention cancels its own offer
    Halt,             // a grid curtailment stops trading in one instrument
    WithdrawOnHalt,   // its provider pulls every offer there (a mass cancel)
    Resume,           // the curtailment is lifted
    ClockTick,        // time passes without an order, so that GTD orders expire on time
};

struct ScheduledScene {
    Scene scene;
    matching::InstrumentId instrument;
};

// Scenes by step number. At most one per step: a step is one command.
using Schedule = std::map<std::uint64_t, ScheduledScene>;

// The fewest and the most steps a run may have: below the minimum the opening auctions
// and the scenes would not fit; the maximum bounds the run's time and memory.
inline constexpr std::uint64_t kMinSteps = 200;
inline constexpr std::uint64_t kMaxSteps = 1'000'000;

Schedule make_schedule(const Catalog& catalog, std::uint64_t steps);

}  // namespace cpx::demo
