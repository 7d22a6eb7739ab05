// cpx-demo: the exchange's main program until the gRPC server exists. It runs a
// simulated compute market through the matching engine and prints what happened.

#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "simulation.hpp"

int main(int argc, char** argv) {
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    const cpx::demo::ParsedOptions parsed = cpx::demo::parse_options(args);
    if (parsed.help) {
        std::cout << cpx::demo::usage();
        return 0;
    }
    if (!parsed.error.empty()) {
        std::cerr << "cpx-demo: " << parsed.error << '\n' << cpx::demo::usage();
        return 2;
    }
    try {
        std::ios::sync_with_stdio(false);
        cpx::demo::run_demo(parsed.options, std::cout);
        std::cout.flush();
    } catch (const std::exception& e) {
        std::cerr << "cpx-demo: " << e.what() << '\n';
        return 1;
    }
    return std::cout.good() ? 0 : 1;
}
