// Replays one flow of flow.hpp once on a fresh engine with a sink that only counts, for
// instruction-level profiling. Timings on a shared machine are noisy; instruction
// counts are not, so this is the program to run under callgrind when the engine's cost
// per message matters:
//
//   valgrind --tool=callgrind --toggle-collect='*replay_timed*' cpx-profile-flow trending
//
// collects only the replay (not the generator, which drives an engine of its own) and
// prints the number of messages, so that "Collected" divided by it is instructions per
// message.
//
// Usage: cpx-profile-flow [static_deep|trending|volatile|flash_crash] [new orders]
//                         [pre-filled orders]

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cpx/matching/engine.hpp"
#include "flow.hpp"
#include "handoff.hpp"

namespace {

// Kept out of line so that a profiler can collect exactly this function.
[[gnu::noinline]] void replay_timed(cpx::matching::Engine& engine, const cpx::bench::Flow& flow) {
    for (const cpx::matching::Command& c : flow.commands) {
        engine.apply(c);
    }
}

bool parse_count(const char* text, std::uint32_t& out) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(text, &end, 10);
    if (end == text || *end != '\0' || value > 10'000'000ul) {
        return false;
    }
    out = static_cast<std::uint32_t>(value);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    cpx::bench::FlowParams params;
    params.new_orders = 200'000;
    bool ok = argc <= 4;
    if (ok && argc > 1) {
        const std::string_view name(argv[1]);
        ok = false;
        for (const cpx::bench::Regime regime :
             {cpx::bench::Regime::StaticDeep, cpx::bench::Regime::Trending,
              cpx::bench::Regime::Volatile, cpx::bench::Regime::FlashCrash}) {
            if (name == cpx::bench::regime_name(regime)) {
                params.regime = regime;
                ok = true;
            }
        }
    }
    if (ok && argc > 2) {
        ok = parse_count(argv[2], params.new_orders) && params.new_orders > 0;
    }
    if (ok && argc > 3) {
        ok = parse_count(argv[3], params.prefill_orders);
        params.engine_capacity = 1u << 21;
    }
    if (!ok) {
        std::fprintf(stderr,
                     "usage: %s [static_deep|trending|volatile|flash_crash] [new orders] "
                     "[pre-filled orders]\n",
                     argv[0]);
        return 2;
    }

    const cpx::bench::Flow flow = cpx::bench::generate_flow(params);
    cpx::bench::CountingSink sink;
    cpx::matching::Engine engine(cpx::matching::EngineConfig{params.engine_capacity}, sink);
    engine.add_instrument(flow.spec);
    for (const cpx::matching::Command& c : flow.setup) {
        engine.apply(c);
    }
    const std::uint64_t events_before = sink.events();
    replay_timed(engine, flow);
    const bool same = engine.state_hash() == flow.final_state_hash &&
                      sink.events() - events_before == flow.events;
    std::printf("%s: %zu messages (%lu new, %lu IOC, %lu cancels, %lu replaces), %lu events%s\n",
                std::string(cpx::bench::regime_name(params.regime)).c_str(), flow.commands.size(),
                static_cast<unsigned long>(flow.new_orders),
                static_cast<unsigned long>(flow.ioc_orders),
                static_cast<unsigned long>(flow.cancels), static_cast<unsigned long>(flow.replaces),
                static_cast<unsigned long>(sink.events() - events_before),
                same ? "" : "; MISMATCH with the generator's engine");
    return same ? 0 : 1;
}
