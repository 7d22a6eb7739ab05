#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cpx::demo {

struct DemoOptions {
    std::uint64_t seed = 42;
    std::uint64_t steps = 3'000;  // commands sent to the engine
    bool quiet = false;           // print only the summary
    bool keep_events = false;     // keep every event in the result, for tests
};

struct ParsedOptions {
    DemoOptions options;
    bool help = false;
    std::string error;  // empty when the arguments were understood
};

// Reads --seed N, --steps N (both also as --seed=N), --quiet and --help.
ParsedOptions parse_options(const std::vector<std::string_view>& args);

std::string usage();

}  // namespace cpx::demo
