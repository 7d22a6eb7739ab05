#include "options.hpp"

#include <charconv>

#include "schedule.hpp"

namespace cpx::demo {

namespace {

bool parse_unsigned(std::string_view text, std::uint64_t& out) {
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

}  // namespace

ParsedOptions parse_options(const std::vector<std::string_view>& args) {
    ParsedOptions parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--quiet" || arg == "-q") {
            parsed.options.quiet = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
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
        if (name != "--seed" && name != "--steps") {
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
        std::uint64_t number = 0;
        if (!parse_unsigned(value, number)) {
            parsed.error = std::string(name) + " needs a non-negative integer, not '" +
                           std::string(value) + "'";
            return parsed;
        }
        if (name == "--seed") {
            parsed.options.seed = number;
        } else if (number < kMinSteps || number > kMaxSteps) {
            parsed.error = "--steps must be between " + std::to_string(kMinSteps) + " and " +
                           std::to_string(kMaxSteps);
            return parsed;
        } else {
            parsed.options.steps = number;
        }
    }
    return parsed;
}

std::string usage() {
    return "usage: cpx-demo [--seed N] [--steps N] [--quiet]\n"
           "  Runs a simulated compute-power exchange through the cpx matching engine and\n"
           "  prints its auctions, trade tape, final books and a summary.\n"
           "  --seed N   seed of the simulation (default 42); a seed always gives the same output\n"
           "  --steps N  number of commands sent to the engine, " +
           std::to_string(kMinSteps) + " to " + std::to_string(kMaxSteps) +
           " (default 3000)\n"
           "  --quiet    print only the summary\n";
}

}  // namespace cpx::demo
