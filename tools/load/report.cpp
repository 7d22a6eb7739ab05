#include "report.hpp"

#include <array>
#include <cstdio>
#include <map>
#include <utility>

namespace cpx::load {

namespace {

struct Percentile {
    const char* name;
    std::uint64_t parts_per_million;
};

constexpr std::array<Percentile, 4> kPercentiles{{
    {"p50", 500'000},
    {"p90", 900'000},
    {"p99", 990'000},
    {"p99.9", 999'000},
}};

std::uint64_t per_second(std::uint64_t count, std::int64_t ms) {
    return ms <= 0 ? 0 : count * 1000 / static_cast<std::uint64_t>(ms);
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_counts(const std::map<std::string, std::uint64_t>& counts) {
    std::string out = "{";
    for (const auto& [name, count] : counts) {
        if (out.size() > 1) {
            out += ',';
        }
        out += json_string(name) + ":" + std::to_string(count);
    }
    return out + "}";
}

std::string describe_mode(const LoadOptions& options, const LoadResult& result) {
    std::string text(mode_name(options.mode));
    switch (options.mode) {
        case Mode::Unary:
            text += " (PlaceOrder/CancelOrder calls, " + std::to_string(result.window) +
                    " outstanding per connection)";
            break;
        case Mode::Stream:
            text += " (Trade streams, one command per message, " + std::to_string(result.window) +
                    " in flight per stream)";
            break;
        case Mode::Batch:
            text += " (Trade streams, up to " + std::to_string(result.commands_per_message_max) +
                    " commands per message, " + std::to_string(result.window) +
                    " in flight per stream)";
            break;
        case Mode::Latency:
            text += " (" + std::to_string(options.rate) + " orders/s offered open loop via " +
                    std::string(transport_name(result.transport)) + ")";
            break;
    }
    return text;
}

void print_counts(const char* title, const std::map<std::string, std::uint64_t>& counts,
                  std::ostream& out) {
    out << "  " << title << ":";
    if (counts.empty()) {
        out << " none\n";
        return;
    }
    out << '\n';
    for (const auto& [name, count] : counts) {
        out << "    " << name << "  " << count << '\n';
    }
}

std::string seconds_text(std::int64_t ms) {
    char text[32];
    std::snprintf(text, sizeof(text), "%lld.%03lld", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
    return text;
}

}  // namespace

std::string format_us(std::int64_t ns) {
    const std::int64_t tenths = (ns + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

void print_table(const LoadOptions& options, const std::string& setup_notes,
                 const LoadResult& result, std::ostream& out) {
    const Tally& t = result.tally;
    const std::int64_t ms = result.measured_ms;
    out << "cpx-load  target " << options.target << (options.raw ? " (raw)" : "") << '\n';
    out << "  mode " << describe_mode(options, result) << '\n';
    out << "  " << options.connections << " connections, " << result.sessions << " sessions, "
        << seconds_text(ms) << " s measured after " << seconds_text(options.warmup_ms)
        << " s warm-up\n";
    if (!setup_notes.empty()) {
        out << "  setup: " << setup_notes << '\n';
    }
    out << '\n';
    char line[160];
    std::snprintf(line, sizeof(line), "  %-24s %12s %12s\n", "", "count", "per second");
    out << line;
    const std::pair<const char*, std::uint64_t> rows[] = {
        {"orders answered", t.orders_acked},
        {"cancels answered", t.cancels_acked},
        {"commands answered", t.orders_acked + t.cancels_acked},
        {"messages sent", t.messages_sent},
        {"orders that traded", t.orders_traded},
    };
    for (const auto& [name, count] : rows) {
        std::snprintf(line, sizeof(line), "  %-24s %12llu %12llu\n", name,
                      static_cast<unsigned long long>(count),
                      static_cast<unsigned long long>(per_second(count, ms)));
        out << line;
    }
    out << "\n  latency, offer to answer, microseconds (" << t.latency.count() << " commands):\n  ";
    for (const Percentile& p : kPercentiles) {
        out << "  " << p.name << " " << format_us(t.latency.percentile_ns(p.parts_per_million));
    }
    out << "  max " << format_us(t.latency.max_ns()) << "  mean " << format_us(t.latency.mean_ns())
        << "\n\n";
    print_counts("new orders refused (whole run)", t.order_rejects, out);
    print_counts("cancels refused (whole run)", t.cancel_rejects, out);
    print_counts("errors", t.error_kinds, out);
    if (!t.close_statuses.empty()) {
        print_counts("streams closed cleanly but with a non-OK status", t.close_statuses, out);
    }
    out << "  unsolicited reports " << t.unsolicited_reports << ", unmatched answers "
        << t.unmatched_reports << ", lost commands " << t.lost_commands << '\n';
    out << "  every command answered exactly once: "
        << (t.commands_sent_total == t.commands_acked_total && t.unmatched_reports == 0 ? "yes"
                                                                                        : "NO")
        << " (" << t.commands_sent_total << " sent, " << t.commands_acked_total
        << " answered, warm-up and drain included)\n";
}

void print_json(const LoadOptions& options, const LoadResult& result, std::ostream& out) {
    const Tally& t = result.tally;
    const std::int64_t ms = result.measured_ms;
    const std::uint64_t commands = t.orders_acked + t.cancels_acked;
    out << "{\"mode\":" << json_string(std::string(mode_name(options.mode)))
        << ",\"transport\":" << json_string(std::string(transport_name(result.transport)))
        << ",\"target\":" << json_string(options.target)
        << ",\"raw\":" << (options.raw ? "true" : "false")
        << ",\"connections\":" << options.connections << ",\"sessions\":" << result.sessions
        << ",\"window\":" << result.window
        << ",\"commands_per_message_max\":" << result.commands_per_message_max
        << ",\"rate\":" << (options.mode == Mode::Latency ? options.rate : 0)
        << ",\"duration_ms\":" << ms << ",\"warmup_ms\":" << options.warmup_ms
        << ",\"orders_acked\":" << t.orders_acked << ",\"cancels_acked\":" << t.cancels_acked
        << ",\"commands_acked\":" << commands << ",\"messages_sent\":" << t.messages_sent
        << ",\"orders_traded\":" << t.orders_traded
        << ",\"orders_per_s\":" << per_second(t.orders_acked, ms)
        << ",\"commands_per_s\":" << per_second(commands, ms)
        << ",\"messages_per_s\":" << per_second(t.messages_sent, ms) << ",\"latency_ns\":{"
        << "\"count\":" << t.latency.count();
    for (const Percentile& p : kPercentiles) {
        std::string name = p.name;
        if (name == "p99.9") {
            name = "p999";
        }
        out << ",\"" << name << "\":" << t.latency.percentile_ns(p.parts_per_million);
    }
    out << ",\"max\":" << t.latency.max_ns() << ",\"mean\":" << t.latency.mean_ns() << "}"
        << ",\"order_rejects\":" << json_counts(t.order_rejects)
        << ",\"cancel_rejects\":" << json_counts(t.cancel_rejects) << ",\"errors\":" << t.errors
        << ",\"error_kinds\":" << json_counts(t.error_kinds)
        << ",\"close_statuses\":" << json_counts(t.close_statuses)
        << ",\"unsolicited_reports\":" << t.unsolicited_reports
        << ",\"unmatched_reports\":" << t.unmatched_reports
        << ",\"lost_commands\":" << t.lost_commands
        << ",\"commands_sent_total\":" << t.commands_sent_total
        << ",\"commands_acked_total\":" << t.commands_acked_total << "}\n";
}

}  // namespace cpx::load
