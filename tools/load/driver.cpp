#include "driver.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "connection.hpp"
#include "cpx/tools/splitmix64.hpp"

namespace cpx::load {

namespace {

constexpr std::chrono::seconds kConnectTimeout{5};
constexpr std::chrono::seconds kLogonTimeout{10};

Transport transport_of(const LoadOptions& options) {
    switch (options.mode) {
        case Mode::Unary:
            return Transport::Unary;
        case Mode::Stream:
        case Mode::Batch:
            return Transport::Stream;
        case Mode::Latency:
            return options.latency_transport;
    }
    return Transport::Stream;
}

// Offers orders at the fixed rate, open loop: order i is due at start + i / rate, and is
// offered then however late the answers to earlier ones are. When this thread itself
// falls behind it offers the late orders at once, still stamped with their due time,
// so its delay counts in their latency instead of thinning the offered load (the
// "coordinated omission" of closed-loop testers).
void pace(std::vector<std::unique_ptr<Connection>>& connections, std::uint32_t sessions,
          std::uint64_t rate, std::int64_t start_ns, std::int64_t end_ns) {
    const auto connection_count = static_cast<std::uint32_t>(connections.size());
    for (std::uint64_t i = 0;; ++i) {
        const std::int64_t due_ns =
            start_ns + static_cast<std::int64_t>(i * 1'000'000'000ull / rate);
        if (due_ns >= end_ns) {
            return;
        }
        const std::int64_t wait_ns = due_ns - steady_now_ns();
        if (wait_ns > 0) {
            std::this_thread::sleep_for(std::chrono::nanoseconds(wait_ns));
        }
        const auto session = static_cast<std::uint32_t>(i % sessions);
        connections[session % connection_count]->offer(session / connection_count, due_ns);
    }
}

void close_all(std::vector<std::unique_ptr<Connection>>& connections, bool cancel_now) {
    for (const auto& connection : connections) {
        connection->close(cancel_now);
    }
    for (const auto& connection : connections) {
        connection->join();
    }
}

}  // namespace

LoadResult run_load(const LoadOptions& options, const Market& market) {
    LoadResult result;
    if (market.accounts.empty()) {
        result.error = "no accounts to trade with";
        return result;
    }
    const std::uint32_t connection_count = std::max<std::uint32_t>(options.connections, 1);
    const auto account_count = static_cast<std::uint32_t>(market.accounts.size());
    // Every account trades, and every connection carries at least one session.
    const std::uint32_t session_count = std::max(account_count, connection_count);
    result.sessions = session_count;
    result.transport = transport_of(options);
    result.commands_per_message_max = options.mode == Mode::Batch ? options.batch : 1;

    std::vector<std::vector<SessionSpec>> specs(connection_count);
    cpx::tools::SplitMix64 seeds(options.seed);
    for (std::uint32_t s = 0; s < session_count; ++s) {
        SessionSpec spec;
        spec.prefix = "L" + std::to_string(s) + "-";
        spec.account = market.accounts[s % account_count];
        spec.seed = seeds.next();
        specs[s % connection_count].push_back(std::move(spec));
    }

    RunClock clock;
    std::vector<std::unique_ptr<Connection>> connections;
    for (std::uint32_t c = 0; c < connection_count; ++c) {
        ConnectionConfig config;
        config.index = static_cast<int>(c);
        config.target = options.target;
        config.transport = result.transport;
        config.closed_loop = options.mode != Mode::Latency;
        config.batch = result.commands_per_message_max;
        config.drain_timeout_ms = options.drain_timeout_ms;
        const auto streams = static_cast<std::uint32_t>(specs[c].size());
        const std::uint32_t inflight = effective_inflight(options, streams);
        config.window = result.transport == Transport::Unary
                            ? inflight
                            : std::max<std::uint32_t>(inflight / streams, 1);
        if (c == 0) {
            result.window = config.window;
        }
        connections.push_back(
            std::make_unique<Connection>(config, market, clock, std::move(specs[c])));
    }

    const auto connect_deadline = std::chrono::system_clock::now() + kConnectTimeout;
    for (const auto& connection : connections) {
        if (!connection->connect(connect_deadline)) {
            result.error = "cannot connect to " + options.target;
            return result;
        }
    }
    for (const auto& connection : connections) {
        connection->start();
    }
    const auto logon_deadline = std::chrono::steady_clock::now() + kLogonTimeout;
    for (const auto& connection : connections) {
        result.error = connection->wait_ready(logon_deadline);
        if (!result.error.empty()) {
            close_all(connections, true);
            return result;
        }
    }

    const std::int64_t start_ns = steady_now_ns();
    const std::int64_t measure_start_ns = start_ns + options.warmup_ms * 1'000'000;
    const std::int64_t end_ns = measure_start_ns + options.duration_ms * 1'000'000;
    clock.measure_start_ns.store(measure_start_ns);
    clock.end_ns.store(end_ns);
    for (const auto& connection : connections) {
        connection->kick_off();
    }
    if (options.mode == Mode::Latency) {
        pace(connections, session_count, options.rate, start_ns, end_ns);
    } else {
        std::this_thread::sleep_for(std::chrono::nanoseconds(end_ns - steady_now_ns()));
    }
    close_all(connections, false);
    for (const auto& connection : connections) {
        result.tally.merge(connection->tally());
    }
    result.measured_ms = options.duration_ms;
    return result;
}

}  // namespace cpx::load
