#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace cpx::load {

namespace {

bool parse_unsigned(std::string_view text, std::uint64_t& out) {
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

// Seconds with up to three decimals ("5", "0.3", "1.25"), into whole milliseconds,
// without going through floating point.
bool parse_seconds_as_ms(std::string_view text, std::int64_t& out_ms) {
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    std::string_view fraction;
    if (dot != std::string_view::npos) {
        fraction = text.substr(dot + 1);
        if (fraction.empty() || fraction.size() > 3) {
            return false;
        }
    }
    std::uint64_t seconds = 0;
    if (!whole.empty() && !parse_unsigned(whole, seconds)) {
        return false;
    }
    if (whole.empty() && fraction.empty()) {
        return false;
    }
    std::uint64_t millis = 0;
    if (!fraction.empty()) {
        if (!parse_unsigned(fraction, millis)) {
            return false;
        }
        for (std::size_t i = fraction.size(); i < 3; ++i) {
            millis *= 10;
        }
    }
    if (seconds > 1'000'000) {
        return false;
    }
    out_ms = static_cast<std::int64_t>(seconds * 1000 + millis);
    return true;
}

// Flags that take no value.
bool apply_switch(std::string_view name, ParsedOptions& parsed) {
    if (name == "--help" || name == "-h") {
        parsed.help = true;
    } else if (name == "--raw") {
        parsed.options.raw = true;
    } else if (name == "--json") {
        parsed.options.json = true;
    } else {
        return false;
    }
    return true;
}

std::string check_range(std::string_view name, std::uint64_t value, std::uint64_t low,
                        std::uint64_t high) {
    if (value < low || value > high) {
        return std::string(name) + " must be between " + std::to_string(low) + " and " +
               std::to_string(high);
    }
    return {};
}

// Applies one flag with a value; returns an error message, empty when it was understood.
std::string apply_value(std::string_view name, std::string_view value, LoadOptions& options) {
    if (name == "--target") {
        options.target = std::string(value);
        return {};
    }
    if (name == "--operator-key") {
        options.operator_key = std::string(value);
        return {};
    }
    if (name == "--mode") {
        if (value == "unary") {
            options.mode = Mode::Unary;
        } else if (value == "stream") {
            options.mode = Mode::Stream;
        } else if (value == "batch") {
            options.mode = Mode::Batch;
        } else if (value == "latency") {
            options.mode = Mode::Latency;
        } else {
            return "--mode must be unary, stream, batch or latency";
        }
        return {};
    }
    if (name == "--latency-via") {
        if (value == "unary") {
            options.latency_transport = Transport::Unary;
        } else if (value == "stream") {
            options.latency_transport = Transport::Stream;
        } else {
            return "--latency-via must be unary or stream";
        }
        return {};
    }
    if (name == "--duration-s" || name == "--warmup-s") {
        std::int64_t ms = 0;
        if (!parse_seconds_as_ms(value, ms)) {
            return std::string(name) + " needs seconds (up to three decimals), not '" +
                   std::string(value) + "'";
        }
        if (name == "--duration-s") {
            if (ms < 1 || ms > 600'000) {
                return "--duration-s must be between 0.001 and 600";
            }
            options.duration_ms = ms;
        } else {
            if (ms > 600'000) {
                return "--warmup-s must be at most 600";
            }
            options.warmup_ms = ms;
        }
        return {};
    }
    std::uint64_t number = 0;
    if (!parse_unsigned(value, number)) {
        return std::string(name) + " needs a non-negative integer, not '" + std::string(value) +
               "'";
    }
    std::string error;
    if (name == "--connections") {
        error = check_range(name, number, 1, 256);
        options.connections = static_cast<std::uint32_t>(number);
    } else if (name == "--inflight") {
        error = check_range(name, number, 1, 1'000'000);
        options.inflight = static_cast<std::uint32_t>(number);
    } else if (name == "--batch") {
        error = check_range(name, number, 1, 10'000);
        options.batch = static_cast<std::uint32_t>(number);
    } else if (name == "--rate") {
        error = check_range(name, number, 1, 10'000'000);
        options.rate = number;
    } else if (name == "--accounts") {
        error = check_range(name, number, 1, 10'000);
        options.accounts = static_cast<std::uint32_t>(number);
    } else if (name == "--instrument") {
        error = check_range(name, number, 1, std::numeric_limits<std::uint32_t>::max());
        options.instrument_id = static_cast<std::uint32_t>(number);
    } else if (name == "--mid-price-fen") {
        error = check_range(name, number, 100, 2'000'000);
        options.mid_price_fen = static_cast<std::int64_t>(number);
    } else if (name == "--deposit-fen") {
        error = check_range(name, number, 1, std::uint64_t{1} << 62);
        options.deposit_fen = static_cast<std::int64_t>(number);
    } else if (name == "--capacity-units") {
        error = check_range(name, number, 1, std::uint64_t{1} << 62);
        options.capacity_units = static_cast<std::int64_t>(number);
    } else if (name == "--seed") {
        options.seed = number;
    } else if (name == "--drain-timeout-ms") {
        error = check_range(name, number, 1, 600'000);
        options.drain_timeout_ms = static_cast<std::int64_t>(number);
    } else {
        error = "unknown argument: " + std::string(name);
    }
    return error;
}

}  // namespace

std::string_view mode_name(Mode mode) {
    switch (mode) {
        case Mode::Unary:
            return "unary";
        case Mode::Stream:
            return "stream";
        case Mode::Batch:
            return "batch";
        case Mode::Latency:
            return "latency";
    }
    return "?";
}

std::string_view transport_name(Transport transport) {
    return transport == Transport::Unary ? "unary" : "stream";
}

std::uint32_t effective_inflight(const LoadOptions& options, std::uint32_t streams_per_connection) {
    const std::uint32_t streams = std::max<std::uint32_t>(streams_per_connection, 1);
    if (options.mode == Mode::Batch) {
        // Two batches per stream by default: one on its way while the reports of the
        // other come back.
        const std::uint32_t wanted =
            options.inflight != 0 ? options.inflight : 2 * options.batch * streams;
        return std::max(wanted, options.batch * streams);
    }
    return options.inflight != 0 ? options.inflight : 32;
}

ParsedOptions parse_options(const std::vector<std::string_view>& args) {
    ParsedOptions parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (apply_switch(arg, parsed)) {
            continue;
        }
        std::string_view name = arg;
        std::string_view value;
        bool has_value = false;
        if (const std::size_t eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        if (!name.starts_with("--")) {
            parsed.error = "unknown argument: " + std::string(arg);
            return parsed;
        }
        if (!has_value) {
            if (i + 1 == args.size()) {
                parsed.error = std::string(name) + " needs a value";
                return parsed;
            }
            value = args[++i];
        }
        parsed.error = apply_value(name, value, parsed.options);
        if (!parsed.error.empty()) {
            return parsed;
        }
    }
    if (!parsed.help && !parsed.options.raw && parsed.options.operator_key.empty()) {
        parsed.error = "--operator-key is needed to set up accounts (or --raw for cpx-raw-server)";
    }
    return parsed;
}

std::string usage() {
    return "usage: cpx-load [flags]\n"
           "  Drives a cpx exchange (cpxd) or the empty cpx-raw-server over gRPC with many\n"
           "  simulated accounts and reports throughput, latency and rejects.\n"
           "\n"
           "  --target HOST:PORT      server (default 127.0.0.1:50151)\n"
           "  --mode MODE             unary:   PlaceOrder/CancelOrder calls, closed loop\n"
           "                          stream:  Trade stream, one command per message\n"
           "                          batch:   Trade stream, --batch commands per message\n"
           "                          latency: --rate orders/s offered open loop; latency\n"
           "                                   counts from each order's scheduled time\n"
           "                          (default unary)\n"
           "  --duration-s N          measured seconds, up to three decimals (default 5)\n"
           "  --warmup-s N            seconds run before measuring (default 1)\n"
           "  --connections N         gRPC channels, each its own TCP connection and thread\n"
           "                          (default 4)\n"
           "  --inflight N            per connection: outstanding unary calls, or commands\n"
           "                          in flight on its streams (default 32; in batch mode\n"
           "                          two batches per stream, never under one)\n"
           "  --batch N               commands per stream message in batch mode (default 100)\n"
           "  --rate N                orders/s offered in latency mode (default 5000)\n"
           "  --latency-via unary|stream  how latency mode sends (default stream)\n"
           "  --accounts N            simulated accounts, half buyers and half providers\n"
           "                          (default 8); max(accounts, connections) sessions, dealt\n"
           "                          round the connections, each trade as one account (a\n"
           "                          Trade stream each, or turns of the unary calls)\n"
           "  --raw                   the target is cpx-raw-server: skip the setup\n"
           "  --operator-key KEY      operator API key printed by cpxd (needed without --raw)\n"
           "  --instrument ID         instrument to trade; added (token bundle, wide price\n"
           "                          range, no band) if it does not exist (default 9001)\n"
           "  --mid-price-fen N       mid price of an added instrument (default 100000)\n"
           "  --deposit-fen N         money credited to each buyer (default 10^12)\n"
           "  --capacity-units N      token bundles registered by each provider (default 10^9)\n"
           "  --seed N                seed of the order flow (default 1)\n"
           "  --drain-timeout-ms N    wait for late answers before counting them lost\n"
           "                          (default 5000)\n"
           "  --json                  print one JSON object instead of the table\n"
           "  --help                  this text\n";
}

}  // namespace cpx::load
