// cpx-load: the load generator. It prepares a market on the target (accounts, money,
// capacity, an instrument), drives it with the chosen mode for a bounded time and
// prints throughput, latency, refusals and errors. See --help.

#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "driver.hpp"
#include "options.hpp"
#include "report.hpp"
#include "setup.hpp"

namespace {

int fail(const cpx::load::LoadOptions& options, const std::string& error) {
    if (options.json) {
        std::cout << "{\"error\":\"";
        for (const char c : error) {
            if (c == '"' || c == '\\') {
                std::cout << '\\';
            }
            std::cout << (static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
        }
        std::cout << "\"}\n";
    }
    std::cerr << "cpx-load: " << error << '\n';
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    const cpx::load::ParsedOptions parsed = cpx::load::parse_options(args);
    if (parsed.help) {
        std::cout << cpx::load::usage();
        return 0;
    }
    if (!parsed.error.empty()) {
        std::cerr << "cpx-load: " << parsed.error << '\n' << cpx::load::usage();
        return 2;
    }
    const cpx::load::LoadOptions& options = parsed.options;
    try {
        const cpx::load::SetupResult setup = cpx::load::prepare_market(options);
        if (!setup.error.empty()) {
            return fail(options, "setup: " + setup.error);
        }
        const cpx::load::LoadResult result = cpx::load::run_load(options, setup.market);
        if (!result.error.empty()) {
            return fail(options, result.error);
        }
        if (options.json) {
            cpx::load::print_json(options, result, std::cout);
        } else {
            cpx::load::print_table(options, setup.notes, result, std::cout);
        }
    } catch (const std::exception& e) {
        return fail(options, e.what());
    }
    return std::cout.good() ? 0 : 1;
}
