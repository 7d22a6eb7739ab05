// Throughput of the matching engine on flow that looks like a real market's (see
// flow.hpp): messages applied per second on one core, in four regimes of the mid price
// and on top of books pre-filled to three depths.
//
// Each benchmark runs twice:
//   handoff   every publish() batch is pushed into an SpscQueue<Event> drained by a
//             consumer thread that checksums the events; the engine thread waits when
//             the queue is full, and the time until the consumer has taken the last
//             event is part of the measurement. This is the figure that counts.
//   counting  the sink only counts events, which shows what publishing costs.
//
// One benchmark iteration replays a whole flow (about two million messages) on a fresh
// engine, and each benchmark runs one iteration, so that the whole program stays under
// two minutes with --benchmark_repetitions=5 (take the medians). Building the engine, pre-filling
// its book and starting and stopping the consumer are outside the timed region; so is generating
// the flow, which is done once per flow before its first iteration. After every iteration the
// engine's state hash is checked against the generator's shadow engine and the consumer's sequence
// check against the events published, so a benchmark that measured the wrong thing fails.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cpx/matching/engine.hpp"
#include "cpx/matching/spsc_queue.hpp"
#include "flow.hpp"
#include "handoff.hpp"

namespace {

using cpx::bench::CountingSink;
using cpx::bench::EventConsumer;
using cpx::bench::Flow;
using cpx::bench::FlowParams;
using cpx::bench::HandoffSink;
using cpx::bench::Regime;
using cpx::matching::Command;
using cpx::matching::Engine;
using cpx::matching::EngineConfig;
using cpx::matching::Event;
using cpx::matching::SpscQueue;

// 16,384 events of 80 bytes: 1.25 MiB, within one core's L2, and deep enough to absorb
// the burst of a large sweep while the consumer catches up.
constexpr std::size_t kQueueCapacity = 1u << 14;
constexpr std::int64_t kIterations = 1;

enum class SinkKind { Handoff, Counting };

bool same_params(const FlowParams& a, const FlowParams& b) {
    return a.regime == b.regime && a.seed == b.seed && a.new_orders == b.new_orders &&
           a.prefill_orders == b.prefill_orders && a.prefill_levels == b.prefill_levels &&
           a.keep_percent == b.keep_percent && a.engine_capacity == b.engine_capacity;
}

// Every flow is generated once, at its first use, and kept for the rest of the run:
// about 1 GB for the seven flows, which lets --benchmark_enable_random_interleaving mix
// the repetitions of all benchmarks, so that a slow spell of a shared machine is spread
// over all of them instead of falling on one.
const Flow& cached_flow(const FlowParams& params) {
    static std::vector<std::unique_ptr<Flow>> cache;
    for (const std::unique_ptr<Flow>& flow : cache) {
        if (same_params(flow->params, params)) {
            return *flow;
        }
    }
    cache.push_back(std::make_unique<Flow>(cpx::bench::generate_flow(params)));
    const Flow& f = *cache.back();
    std::fprintf(stderr,
                 "flow %s, %u orders pre-filled: %zu messages = %lu new (%lu IOC) + %lu "
                 "cancels + %lu replaces; %lu events, %lu trades, %lu rejects, largest "
                 "message %lu events; resting peak %u; mid %ld..%ld fen\n",
                 std::string(cpx::bench::regime_name(params.regime)).c_str(), params.prefill_orders,
                 f.commands.size(), static_cast<unsigned long>(f.new_orders),
                 static_cast<unsigned long>(f.ioc_orders), static_cast<unsigned long>(f.cancels),
                 static_cast<unsigned long>(f.replaces), static_cast<unsigned long>(f.events),
                 static_cast<unsigned long>(f.trades), static_cast<unsigned long>(f.rejects),
                 static_cast<unsigned long>(f.max_events_per_command), f.peak_resting,
                 static_cast<long>(f.mid_low), static_cast<long>(f.mid_high));
    return f;
}

// What one iteration needs, built while the timer is paused and destroyed while it is
// paused again, so that neither the allocation nor the release of a large order pool
// is counted.
struct Run {
    Run(const Flow& flow, SinkKind kind)
        : queue(kQueueCapacity),
          handoff(queue),
          engine(EngineConfig{flow.params.engine_capacity},
                 kind == SinkKind::Handoff ? static_cast<cpx::matching::EventSink&>(handoff)
                                           : static_cast<cpx::matching::EventSink&>(counting)) {
        engine.add_instrument(flow.spec);
        for (const Command& c : flow.setup) {
            engine.apply(c);
        }
        if (kind == SinkKind::Handoff) {
            handoff.start_forwarding();
            consumer.emplace(queue, engine.last_sequence() + 1);
        }
    }

    SpscQueue<Event> queue;
    HandoffSink handoff;
    CountingSink counting;
    Engine engine;
    std::optional<EventConsumer> consumer;
};

void run_flow(benchmark::State& state, const FlowParams& params, SinkKind kind) {
    const Flow& flow = cached_flow(params);
    std::unique_ptr<Run> run;
    std::uint64_t events = 0;
    std::uint64_t full_waits = 0;
    for (auto _ : state) {
        state.PauseTiming();
        run.reset();
        run = std::make_unique<Run>(flow, kind);
        const std::uint64_t events_before =
            kind == SinkKind::Handoff ? run->handoff.events() : run->counting.events();
        state.ResumeTiming();

        for (const Command& c : flow.commands) {
            run->engine.apply(c);
        }
        if (kind == SinkKind::Handoff) {
            run->consumer->wait_for(run->handoff.events() - events_before);
        }

        state.PauseTiming();
        const std::uint64_t published =
            (kind == SinkKind::Handoff ? run->handoff.events() : run->counting.events()) -
            events_before;
        events += published;
        const char* error = nullptr;
        if (kind == SinkKind::Handoff) {
            run->consumer->stop();
            full_waits += run->handoff.full_waits();
            benchmark::DoNotOptimize(run->consumer->checksum());
            if (run->consumer->gaps() != 0 || run->consumer->consumed() != published) {
                error = "the consumer saw a gap in the event sequence";
            }
        }
        if (published != flow.events) {
            error = "the engine published a different number of events than the generator's";
        }
        if (run->engine.state_hash() != flow.final_state_hash) {
            error = "the engine's final state differs from the generator's";
        }
        if (error != nullptr) {
            // Google Benchmark forbids touching the timer after an error, so stop here.
            state.SkipWithError(error);
            return;
        }
        state.ResumeTiming();
    }
    // The timer stops when the loop ends, so the last engine is released untimed.
    run.reset();

    const auto messages =
        static_cast<double>(flow.commands.size()) * static_cast<double>(state.iterations());
    state.counters["msgs/s"] = benchmark::Counter(messages, benchmark::Counter::kIsRate);
    state.counters["time/msg"] =
        benchmark::Counter(messages, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["events/msg"] = static_cast<double>(events) / messages;
    state.counters["msgs"] = static_cast<double>(flow.commands.size());
    state.counters["trades/msg"] =
        static_cast<double>(flow.trades) / static_cast<double>(flow.commands.size());
    state.counters["resting_peak"] = static_cast<double>(flow.peak_resting);
    if (kind == SinkKind::Handoff) {
        state.counters["full_waits/msg"] = static_cast<double>(full_waits) / messages;
    }
}

// The four regimes of task 1: one million new orders each, on the default engine
// (capacity 2^20 orders, the size a production shard would be built with).
FlowParams regime_params(Regime regime) {
    FlowParams p;
    p.regime = regime;
    if (regime == Regime::StaticDeep) {
        p.prefill_orders = 100'000;
        p.prefill_levels = 5'000;
    }
    return p;
}

// The same static-mid flow on top of books of different depths. The capacity is the
// same for every depth (2^21 orders, room for the deepest book and the flow), so that
// the only thing that changes is the number of resting orders.
FlowParams depth_params(std::uint32_t depth) {
    FlowParams p;
    p.regime = Regime::StaticDeep;
    p.prefill_orders = depth;
    p.prefill_levels = 10'000;
    p.engine_capacity = 1u << 21;
    return p;
}

const bool registered = [] {
    for (const Regime regime :
         {Regime::StaticDeep, Regime::Trending, Regime::Volatile, Regime::FlashCrash}) {
        for (const SinkKind kind : {SinkKind::Handoff, SinkKind::Counting}) {
            const std::string name = std::string("BM_Engine/") +
                                     std::string(cpx::bench::regime_name(regime)) +
                                     (kind == SinkKind::Handoff ? "/handoff" : "/counting");
            benchmark::RegisterBenchmark(name.c_str(),
                                         [regime, kind](benchmark::State& state) {
                                             run_flow(state, regime_params(regime), kind);
                                         })
                ->Iterations(kIterations)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        }
    }
    for (const std::uint32_t depth : {1'000u, 100'000u, 1'000'000u}) {
        for (const SinkKind kind : {SinkKind::Handoff, SinkKind::Counting}) {
            const std::string name = "BM_Depth/" + std::to_string(depth) +
                                     (kind == SinkKind::Handoff ? "/handoff" : "/counting");
            benchmark::RegisterBenchmark(name.c_str(),
                                         [depth, kind](benchmark::State& state) {
                                             run_flow(state, depth_params(depth), kind);
                                         })
                ->Iterations(kIterations)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        }
    }
    return true;
}();

}  // namespace
