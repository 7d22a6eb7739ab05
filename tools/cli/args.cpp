#include "args.hpp"

#include <charconv>
#include <cstdlib>
#include <ctime>

namespace cpx::cli {

namespace {

std::int64_t parse_int(const std::string& key, const std::string& value) {
    std::int64_t out = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (error != std::errc() || end != value.data() + value.size()) {
        throw UsageError("--" + key + ": not an integer: '" + value + "'");
    }
    return out;
}

}  // namespace

std::int64_t parse_fen(const std::string& text) {
    if (text.size() > 3 && text.compare(text.size() - 3, 3, "fen") == 0) {
        return parse_int("price", text.substr(0, text.size() - 3));
    }
    // Yuan with at most two decimals, read as digits so that 0.1 + 0.2 problems never
    // arise.
    const auto dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    std::string cents = dot == std::string::npos ? "" : text.substr(dot + 1);
    if (whole.empty() || cents.size() > 2 || whole.find('-') != std::string::npos) {
        throw UsageError("not an amount in CNY with at most two decimals: '" + text + "'");
    }
    while (cents.size() < 2) {
        cents.push_back('0');
    }
    const std::int64_t yuan = parse_int("amount", whole);
    const std::int64_t fen = parse_int("amount", cents);
    if (yuan > INT64_MAX / 100 - 1) {
        throw UsageError("amount too large: '" + text + "'");
    }
    return yuan * 100 + fen;
}

std::int64_t parse_time_ns(const std::string& text) {
    if (text.find('T') == std::string::npos) {
        return parse_int("time", text);
    }
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == nullptr || (*end != 'Z' && *end != '\0')) {
        throw UsageError("not a UTC time like 2026-12-01T08:00:00Z: '" + text + "'");
    }
    return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
}

bool Args::has(const std::string& key) const {
    return options_.count(key) != 0;
}

bool Args::flag(const std::string& key) const {
    const auto it = options_.find(key);
    if (it == options_.end()) {
        return false;
    }
    if (it->second.empty() || it->second == "true") {
        return true;
    }
    if (it->second == "false") {
        return false;
    }
    throw UsageError("--" + key + " takes no value (or true/false)");
}

std::string Args::text(const std::string& key) const {
    const auto it = options_.find(key);
    if (it == options_.end() || it->second.empty()) {
        throw UsageError("missing --" + key);
    }
    return it->second;
}

std::string Args::text_or(const std::string& key, const std::string& fallback) const {
    return has(key) ? text(key) : fallback;
}

std::int64_t Args::integer(const std::string& key) const {
    return parse_int(key, text(key));
}

std::int64_t Args::integer_or(const std::string& key, std::int64_t fallback) const {
    return has(key) ? integer(key) : fallback;
}

std::int64_t Args::fen(const std::string& key) const {
    try {
        return parse_fen(text(key));
    } catch (const UsageError& e) {
        throw UsageError("--" + key + ": " + e.what());
    }
}

std::int64_t Args::time_ns(const std::string& key) const {
    try {
        return parse_time_ns(text(key));
    } catch (const UsageError& e) {
        throw UsageError("--" + key + ": " + e.what());
    }
}

void Args::reject_unknown(const std::vector<std::string>& known) const {
    for (const auto& [key, value] : options_) {
        bool found = false;
        for (const std::string& k : known) {
            found = found || k == key;
        }
        if (!found) {
            throw UsageError("unknown option --" + key + " for '" + command_ + "'");
        }
    }
}

std::pair<Global, Args> parse(int argc, const char* const* argv) {
    Global global;
    if (const char* key = std::getenv("CPX_API_KEY")) {
        global.api_key = key;
    }
    if (const char* target = std::getenv("CPX_TARGET")) {
        global.target = target;
    }
    int i = 1;
    const auto value_of = [&](std::string& arg) -> std::string {
        const auto eq = arg.find('=');
        if (eq != std::string::npos) {
            std::string value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            return value;
        }
        if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
            return argv[++i];
        }
        return "";
    };
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) {
            break;
        }
        arg = arg.substr(2);
        if (arg == "json") {
            global.json = true;
            continue;
        }
        if (arg == "help") {
            return {global, Args("help", {})};
        }
        const std::string value = value_of(arg);
        if (arg == "target") {
            global.target = value;
        } else if (arg == "api-key") {
            global.api_key = value;
        } else if (arg == "timeout-ms") {
            global.timeout_ms = static_cast<std::uint32_t>(parse_int(arg, value));
        } else if (arg == "tls-ca") {
            global.tls_ca_file = value;
        } else {
            throw UsageError("unknown global option --" + arg);
        }
    }
    if (i >= argc) {
        return {global, Args("help", {})};
    }
    std::string command = argv[i++];
    // Voucher and audit commands have a subcommand ("voucher grant", "audit verify"): the
    // command is both words.
    if ((command == "voucher" || command == "audit") && i < argc &&
        std::string(argv[i]).rfind("--", 0) != 0) {
        command += " ";
        command += argv[i++];
    }
    std::map<std::string, std::string> options;
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) {
            throw UsageError("unexpected argument '" + arg + "' (options are --key value)");
        }
        arg = arg.substr(2);
        if (arg == "json") {
            global.json = true;
            continue;
        }
        if (arg == "help") {
            return {global, Args("help", {})};
        }
        const std::string value = value_of(arg);
        options[arg] = value;
    }
    return {global, Args(command, std::move(options))};
}

}  // namespace cpx::cli
