#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cpx::load {

enum class Mode : std::uint8_t {
    Unary,    // one PlaceOrder or CancelOrder call per command, closed loop
    Stream,   // one command per Trade stream message, closed loop
    Batch,    // many commands per Trade stream message, closed loop
    Latency,  // orders offered at a fixed rate, open loop, latency from schedule
};

// How latency mode sends its orders.
enum class Transport : std::uint8_t { Unary, Stream };

std::string_view mode_name(Mode mode);
std::string_view transport_name(Transport transport);

struct LoadOptions {
    std::string target = "127.0.0.1:50151";
    Mode mode = Mode::Unary;
    // Measured time, after warm-up. Commands offered during warm-up are sent and
    // answered but not counted.
    std::int64_t duration_ms = 5'000;
    std::int64_t warmup_ms = 1'000;
    std::uint32_t connections = 4;
    // Per connection: outstanding unary calls, or commands in flight on its streams
    // (shared among them). 0 takes the mode's default (see effective_inflight).
    std::uint32_t inflight = 0;
    std::uint32_t batch = 100;   // commands per stream message in batch mode
    std::uint64_t rate = 5'000;  // orders offered per second in latency mode
    Transport latency_transport = Transport::Stream;
    std::uint32_t accounts = 8;  // half buyers, half providers
    bool raw = false;            // the target is cpx-raw-server: no setup
    std::string operator_key;
    std::uint32_t instrument_id = 9'001;
    std::int64_t mid_price_fen = 100'000;          // for an instrument the load generator adds
    std::int64_t deposit_fen = 1'000'000'000'000;  // per buyer
    std::int64_t capacity_units = 1'000'000'000;   // token bundles per provider
    std::uint64_t seed = 1;
    // After the measured time, how long unanswered commands are waited for before they
    // are cancelled and counted as lost.
    std::int64_t drain_timeout_ms = 5'000;
    bool json = false;
};

// Outstanding unary calls or in-flight commands per connection: the option, or the
// mode's default (32; four batches in batch mode). Batch mode never goes below one
// batch per stream, or no full batch could ever be sent.
std::uint32_t effective_inflight(const LoadOptions& options, std::uint32_t streams_per_connection);

struct ParsedOptions {
    LoadOptions options;
    bool help = false;
    std::string error;  // empty when the arguments were understood
};

ParsedOptions parse_options(const std::vector<std::string_view>& args);

std::string usage();

}  // namespace cpx::load
