#include "cpx/gateway/config.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <vector>

namespace cpx::gateway {

namespace {

struct Key {
    const char* name;
    const char* help;
    std::function<void(ServerConfig&, const std::string&)> set;
};

template <typename T>
T parse_number(const std::string& key, const std::string& value) {
    T out{};
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (error != std::errc() || end != value.data() + value.size()) {
        throw std::invalid_argument(key + ": not a number in range: '" + value + "'");
    }
    return out;
}

bool parse_bool(const std::string& key, const std::string& value) {
    if (value == "true" || value == "1" || value == "yes" || value.empty()) {
        return true;
    }
    if (value == "false" || value == "0" || value == "no") {
        return false;
    }
    throw std::invalid_argument(key + ": not a boolean: '" + value + "'");
}

std::size_t parse_power_of_two(const std::string& key, const std::string& value) {
    const auto n = parse_number<std::size_t>(key, value);
    if (n < 2 || (n & (n - 1)) != 0) {
        throw std::invalid_argument(key + ": must be a power of two: '" + value + "'");
    }
    return n;
}

// Basis points of an amount: 0 to 10000 (100%).
std::uint32_t parse_bps(const std::string& key, const std::string& value) {
    const auto n = parse_number<std::uint32_t>(key, value);
    if (n > 10'000) {
        throw std::invalid_argument(key + ": basis points from 0 to 10000: '" + value + "'");
    }
    return n;
}

const std::vector<Key>& keys() {
    static const std::vector<Key> all = {
        {"listen", "gRPC address, host:port (127.0.0.1:7070)",
         [](ServerConfig& c, const std::string& v) { c.listen = v; }},
        {"ops_address", "HTTP operations endpoint address (127.0.0.1)",
         [](ServerConfig& c, const std::string& v) { c.ops_address = v; }},
        {"ops_port", "HTTP operations endpoint port, 0 for any (7071)",
         [](ServerConfig& c, const std::string& v) {
             c.ops_port = parse_number<std::uint16_t>("ops_port", v);
         }},
        {"operator_key", "API key of the operator account (made at start when empty)",
         [](ServerConfig& c, const std::string& v) { c.operator_key = v; }},
        {"operator_key_file", "file the made operator key is written to (mode 0600)",
         [](ServerConfig& c, const std::string& v) { c.operator_key_file = v; }},
        {"tls_cert_file", "PEM server certificate chain; TLS is on when set",
         [](ServerConfig& c, const std::string& v) { c.tls_cert_file = v; }},
        {"tls_key_file", "PEM server private key",
         [](ServerConfig& c, const std::string& v) { c.tls_key_file = v; }},
        {"tls_client_ca_file", "PEM CA that signs client certificates",
         [](ServerConfig& c, const std::string& v) { c.tls_client_ca_file = v; }},
        {"tls_require_client_cert", "refuse clients without a certificate (false)",
         [](ServerConfig& c, const std::string& v) {
             c.tls_require_client_cert = parse_bool("tls_require_client_cert", v);
         }},
        {"shutdown_grace_ms", "time calls get to finish on SIGTERM (2000)",
         [](ServerConfig& c, const std::string& v) {
             c.shutdown_grace_ms = parse_number<std::uint32_t>("shutdown_grace_ms", v);
         }},
        {"demo", "list a demo market and trade in it (false)",
         [](ServerConfig& c, const std::string& v) { c.demo = parse_bool("demo", v); }},
        {"demo_orders_per_second", "order rate of the demo's simulated traders (50)",
         [](ServerConfig& c, const std::string& v) {
             c.demo_orders_per_second = parse_number<std::uint32_t>("demo_orders_per_second", v);
         }},
        {"demo_spot_window_ns",
         "delivery window of the demo's Hohhot spot product, 1 s to 24 h (300000000000)",
         [](ServerConfig& c, const std::string& v) {
             c.demo_spot_window_ns = parse_number<std::int64_t>("demo_spot_window_ns", v);
             // The demo confirms and settles in rounds seconds apart, so a shorter
             // window behaves as a second does; a window over a day is no longer spot.
             if (c.demo_spot_window_ns < 1'000'000'000 ||
                 c.demo_spot_window_ns > 86'400'000'000'000) {
                 throw std::invalid_argument("demo_spot_window_ns must be 1 s to 24 h");
             }
         }},
        {"database_url", "PostgreSQL URL; empty: no database ($CPX_DATABASE_URL)",
         [](ServerConfig& c, const std::string& v) { c.database_url = v; }},
        {"audit_key_file",
         "Ed25519 audit key that signs the audit log's checkpoints (made when missing; "
         "public key in FILE.pub)",
         [](ServerConfig& c, const std::string& v) { c.audit_key_file = v; }},
        {"audit_checkpoint_interval_ms", "journal time between signed audit checkpoints (1000)",
         [](ServerConfig& c, const std::string& v) {
             c.audit_checkpoint_interval_ms =
                 parse_number<std::int64_t>("audit_checkpoint_interval_ms", v);
             if (c.audit_checkpoint_interval_ms < 0) {
                 throw std::invalid_argument("audit_checkpoint_interval_ms must be >= 0");
             }
         }},
        {"surveillance_spoof_quantity_min",
         "lots from which a quickly cancelled order can be spoofing (500)",
         [](ServerConfig& c, const std::string& v) {
             c.surveillance_spoof_quantity_min =
                 parse_number<std::int64_t>("surveillance_spoof_quantity_min", v);
             if (c.surveillance_spoof_quantity_min < 1) {
                 throw std::invalid_argument("surveillance_spoof_quantity_min must be >= 1");
             }
         }},
        {"surveillance_spoof_window_ms",
         "how soon a large order's cancel and its owner's trade on the other side are "
         "spoofing (5000)",
         [](ServerConfig& c, const std::string& v) {
             c.surveillance_spoof_window_ms =
                 parse_number<std::int64_t>("surveillance_spoof_window_ms", v);
             if (c.surveillance_spoof_window_ms < 1 ||
                 c.surveillance_spoof_window_ms > 86'400'000) {
                 throw std::invalid_argument("surveillance_spoof_window_ms must be 1 ms to 24 h");
             }
         }},
        {"surveillance_band_rejects_min",
         "price-band rejections of one account that raise an alert (3)",
         [](ServerConfig& c, const std::string& v) {
             c.surveillance_band_rejects_min =
                 parse_number<std::uint32_t>("surveillance_band_rejects_min", v);
             if (c.surveillance_band_rejects_min < 1) {
                 throw std::invalid_argument("surveillance_band_rejects_min must be >= 1");
             }
         }},
        {"surveillance_band_window_ms", "the window of those rejections (60000)",
         [](ServerConfig& c, const std::string& v) {
             c.surveillance_band_window_ms =
                 parse_number<std::int64_t>("surveillance_band_window_ms", v);
             if (c.surveillance_band_window_ms < 1 || c.surveillance_band_window_ms > 86'400'000) {
                 throw std::invalid_argument("surveillance_band_window_ms must be 1 ms to 24 h");
             }
         }},
        {"migrations_dir", "folder of the NNNN_name.sql migrations (the source tree's)",
         [](ServerConfig& c, const std::string& v) { c.migrations_dir = v; }},
        {"migrate_on_start", "apply missing migrations before serving (true)",
         [](ServerConfig& c, const std::string& v) {
             c.migrate_on_start = parse_bool("migrate_on_start", v);
         }},
        {"order_capacity", "orders that can rest at once (1048576)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.order_capacity = parse_number<std::uint32_t>("order_capacity", v);
         }},
        {"client_id_window", "client order ids remembered for idempotency (1048576)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.client_id_window =
                 parse_number<std::uint32_t>("client_id_window", v);
         }},
        {"report_retention", "report records kept per account for resume (65536)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.report_retention =
                 parse_number<std::uint32_t>("report_retention", v);
         }},
        {"orders_per_second_max", "default rate limit per account (100000)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.orders_per_second_max_default =
                 parse_number<std::uint32_t>("orders_per_second_max", v);
         }},
        {"settlement_fee_bps",
         "exchange fee on what a provider is paid at settlement, basis points (50)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.settlement.fee_bps = parse_bps("settlement_fee_bps", v);
         }},
        {"settlement_penalty_bps",
         "penalty on the undelivered value of a failed delivery, basis points (1000)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.settlement.penalty_bps = parse_bps("settlement_penalty_bps", v);
         }},
        {"dispute_period_ns",
         "time a buyer has to dispute after the window end or confirmation (86400000000000)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.exchange.settlement.dispute_period_ns =
                 parse_number<std::int64_t>("dispute_period_ns", v);
             if (c.pipeline.exchange.settlement.dispute_period_ns < 0) {
                 throw std::invalid_argument("dispute_period_ns must not be negative");
             }
         }},
        {"request_queue_capacity", "requests waiting for the sequencer, power of two (65536)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.request_queue_capacity = parse_power_of_two("request_queue_capacity", v);
         }},
        {"dispatch",
         "where calls are answered: sequencer, thread, or adaptive (a thread of its own, the "
         "sequencer's for light rounds) (adaptive)",
         [](ServerConfig& c, const std::string& v) {
             if (v == "sequencer") {
                 c.pipeline.dispatch = DispatchMode::Sequencer;
             } else if (v == "thread") {
                 c.pipeline.dispatch = DispatchMode::Thread;
             } else if (v == "adaptive") {
                 c.pipeline.dispatch = DispatchMode::Adaptive;
             } else {
                 throw std::invalid_argument("dispatch must be sequencer, thread or adaptive");
             }
         }},
        {"dispatch_inline_max",
         "adaptive dispatch: the largest round the sequencer answers itself (16)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.dispatch_inline_max = parse_number<std::size_t>("dispatch_inline_max", v);
         }},
        {"idle_spins", "yields of an idle order-path thread before it sleeps (0)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.idle_spins = parse_number<int>("idle_spins", v);
         }},
        {"checkpoint_every",
         "journalled requests between state-hash checkpoints, and one at stop (1000000)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.checkpoint_every = parse_number<std::uint64_t>("checkpoint_every", v);
             if (c.pipeline.checkpoint_every == 0) {
                 throw std::invalid_argument("checkpoint_every must be at least 1");
             }
         }},
        {"snapshot_after_replay",
         "a start that replayed at least this many journalled requests snapshots (1000000)",
         [](ServerConfig& c, const std::string& v) {
             c.snapshot_after_replay = parse_number<std::uint64_t>("snapshot_after_replay", v);
         }},
        {"project_ledger",
         "write the ledger and obligations to PostgreSQL from the journal, in the background "
         "(true)",
         [](ServerConfig& c, const std::string& v) {
             c.project_ledger = parse_bool("project_ledger", v);
         }},
        {"projector_batch_requests_max",
         "most journalled requests in one of the projector's transactions, 1 to 1000000 "
         "(100000)",
         [](ServerConfig& c, const std::string& v) {
             c.projector_batch_requests_max =
                 parse_number<std::uint64_t>("projector_batch_requests_max", v);
             // A batch's rows are held in memory until its commit: the bound is the
             // projector's memory.
             if (c.projector_batch_requests_max < 1 || c.projector_batch_requests_max > 1'000'000) {
                 throw std::invalid_argument("projector_batch_requests_max must be 1 to 1000000");
             }
         }},
        {"projector_snapshot_every",
         "journalled requests between snapshots of the projector's replica; 0: never (1000000)",
         [](ServerConfig& c, const std::string& v) {
             c.projector_snapshot_every =
                 parse_number<std::uint64_t>("projector_snapshot_every", v);
         }},
        {"projector_parallel_reports_min",
         "execution reports from which a projected batch writes them on a second connection; "
         "0: never (20000)",
         [](ServerConfig& c, const std::string& v) {
             c.projector_parallel_reports_min =
                 parse_number<std::uint64_t>("projector_parallel_reports_min", v);
         }},
        {"held_capacity", "answers that may wait for the journal at once, power of two (262144)",
         [](ServerConfig& c, const std::string& v) {
             c.pipeline.held_capacity = parse_power_of_two("held_capacity", v);
         }},
        {"heartbeat_interval_ms", "default heartbeat of order-entry streams (5000)",
         [](ServerConfig& c, const std::string& v) {
             c.gateway.heartbeat_interval_ms_default =
                 parse_number<std::uint32_t>("heartbeat_interval_ms", v);
         }},
        {"heartbeat_interval_ms_min", "shortest heartbeat a logon may ask for (100)",
         [](ServerConfig& c, const std::string& v) {
             c.gateway.heartbeat_interval_ms_min =
                 parse_number<std::uint32_t>("heartbeat_interval_ms_min", v);
         }},
        {"session_write_slots", "messages queued per order-entry stream (256)",
         [](ServerConfig& c, const std::string& v) {
             c.gateway.session_write_slots = parse_number<std::size_t>("session_write_slots", v);
         }},
        {"market_write_slots", "messages queued per market-data stream (256)",
         [](ServerConfig& c, const std::string& v) {
             c.gateway.market_write_slots = parse_number<std::size_t>("market_write_slots", v);
         }},
        {"regulator_stream_slots",
         "messages queued per DropCopy or Alerts stream before it is ended (65536)",
         [](ServerConfig& c, const std::string& v) {
             c.gateway.regulator_stream_slots =
                 parse_number<std::size_t>("regulator_stream_slots", v);
         }},
    };
    return all;
}

void set(ServerConfig& config, const std::string& key, const std::string& value,
         const std::string& source) {
    for (const Key& k : keys()) {
        if (key == k.name) {
            try {
                k.set(config, value);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument(source + ": " + e.what());
            }
            return;
        }
    }
    throw std::invalid_argument(source + ": unknown key '" + key + "'");
}

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r");
    if (begin == std::string::npos) {
        return "";
    }
    const auto end = s.find_last_not_of(" \t\r");
    return s.substr(begin, end - begin + 1);
}

void load_file(ServerConfig& config, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::invalid_argument("config file '" + path + "' cannot be read");
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string text = trim(line.substr(0, line.find('#')));
        if (text.empty()) {
            continue;
        }
        const auto eq = text.find('=');
        const std::string where = path + ":" + std::to_string(number);
        if (eq == std::string::npos) {
            throw std::invalid_argument(where + ": expected key = value");
        }
        set(config, trim(text.substr(0, eq)), trim(text.substr(eq + 1)), where);
    }
}

}  // namespace

ServerConfig load_config(int argc, const char* const* argv) {
    ServerConfig config;
    std::vector<std::pair<std::string, std::string>> flags;
    std::string config_file;
    if (const char* env = std::getenv("CPXD_CONFIG")) {
        config_file = env;
    }
    // The URL the scripts and tests share is only a default: the file, CPXD_DATABASE_URL
    // and --database_url (even an empty one, which means no database) override it.
    if (const char* env = std::getenv("CPX_DATABASE_URL")) {
        config.database_url = env;
    }
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) {
            throw std::invalid_argument("unexpected argument '" + arg +
                                        "' (flags are --key=value)");
        }
        arg = arg.substr(2);
        std::string value;
        const auto eq = arg.find('=');
        if (eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
            value = argv[++i];
        }
        for (char& c : arg) {
            if (c == '-') {
                c = '_';
            }
        }
        if (arg == "config") {
            config_file = value;
        } else {
            flags.emplace_back(arg, value);
        }
    }
    if (!config_file.empty()) {
        load_file(config, config_file);
    }
    for (const Key& k : keys()) {
        std::string env_name = "CPXD_";
        for (const char* p = k.name; *p != '\0'; ++p) {
            env_name.push_back(static_cast<char>(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
        }
        if (const char* env = std::getenv(env_name.c_str())) {
            set(config, k.name, env, "environment " + env_name);
        }
    }
    for (const auto& [key, value] : flags) {
        set(config, key, value, "flag --" + key);
    }
    return config;
}

std::string config_help() {
    std::string out =
        "usage: cpxd [--config FILE] [--key=value ...]\n"
        "       cpxd migrate [--config FILE] [--key=value ...]\n"
        "           applies the database's missing migrations, prints each, and exits\n"
        "Each key may also come from the config file (key = value) or the environment\n"
        "(CPXD_KEY); flags override the environment, which overrides the file.\n\nkeys:\n";
    for (const Key& k : keys()) {
        out += "  --";
        out += k.name;
        out += std::string(k.name).size() < 26 ? std::string(26 - std::string(k.name).size(), ' ')
                                               : std::string(" ");
        out += k.help;
        out += "\n";
    }
    return out;
}

}  // namespace cpx::gateway
