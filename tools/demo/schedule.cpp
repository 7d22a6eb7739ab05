#include "schedule.hpp"

#include <algorithm>

namespace cpx::demo {

namespace {

// Places a scene at the first free step at or after the one asked for, and returns
// where it went (steps when it did not fit).
std::uint64_t place(Schedule& schedule, std::uint64_t steps, std::uint64_t at, Scene scene,
                    matching::InstrumentId instrument) {
    while (at < steps && schedule.contains(at)) {
        ++at;
    }
    if (at < steps) {
        schedule.emplace(at, ScheduledScene{scene, instrument});
    }
    return at;
}

}  // namespace

Schedule make_schedule(const Catalog& catalog, std::uint64_t steps) {
    Schedule s;
    const std::vector<matching::InstrumentId> ids = catalog.instrument_ids();
    const std::uint64_t n = ids.size();

    // Every delivery window opens with a call auction: the first steps open them all,
    // orders collect for a tenth of the run, then each freezes and uncrosses in turn.
    const std::uint64_t freeze = steps / 10;
    const std::uint64_t uncross = freeze + std::max(n, steps / 40);
    for (std::uint64_t i = 0; i < n; ++i) {
        place(s, steps, i, Scene::OpenAuction, ids[i]);
        place(s, steps, freeze + i, Scene::FreezeAuction, ids[i]);
        place(s, steps, uncross + i, Scene::Uncross, ids[i]);
    }

    const std::uint64_t job = place(s, steps, steps * 35 / 100, Scene::TrainingJob, kHohhotPeak);
    place(s, steps, job + std::max<std::uint64_t>(4, steps / 50), Scene::TrainingJobFill,
          kHohhotPeak);

    // The sweep must follow the offer at once, before other flow can trade with it.
    const std::uint64_t offer = place(s, steps, steps * 45 / 100, Scene::BrokerOffer, kWuhuPeak);
    place(s, steps, offer + 1, Scene::BrokerSweep, kWuhuPeak);

    const std::uint64_t halt = place(s, steps, steps * 55 / 100, Scene::Halt, kZhongweiPeak);
    place(s, steps, halt + 1, Scene::WithdrawOnHalt, kZhongweiPeak);
    place(s, steps, steps * 60 / 100, Scene::Resume, kZhongweiPeak);

    // A clock tick every 250 steps where the step is free, and one to end the session.
    for (std::uint64_t at = 250; at + 1 < steps; at += 250) {
        if (!s.contains(at)) {
            s.emplace(at, ScheduledScene{Scene::ClockTick, 0});
        }
    }
    if (!s.contains(steps - 1)) {
        s.emplace(steps - 1, ScheduledScene{Scene::ClockTick, 0});
    }
    return s;
}

}  // namespace cpx::demo
