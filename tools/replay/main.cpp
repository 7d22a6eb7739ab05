// cpx-replay: replays a LOBSTER message file through the matching engine and compares
// the book after every message with LOBSTER's orderbook file.
//
//   cpx-replay MESSAGE.csv ORDERBOOK.csv [--out OUT.csv] [--levels L] [--quiet]
//              [--diagnostics N]
//
// --diagnostics N describes up to N disagreements (20 by default) on standard error.
// Exit status: 0 when every row and fill matched, 1 when any disagreed, 2 when the
// input or the command line is unusable.

#include <charconv>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "lobster.hpp"

namespace {

constexpr int kMismatch = 1;
constexpr int kUnusable = 2;

int usage(const std::string& problem) {
    std::cerr << "cpx-replay: " << problem << "\n"
              << "usage: cpx-replay MESSAGE.csv ORDERBOOK.csv [--out OUT.csv] [--levels L] "
                 "[--quiet] [--diagnostics N]\n";
    return kUnusable;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> files;
    std::string out_path;
    std::size_t levels = 0;
    std::size_t diagnostics = 20;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quiet") {
            quiet = true;
        } else if (arg == "--out" || arg == "--levels" || arg == "--diagnostics") {
            if (i + 1 >= argc) {
                return usage(std::string(arg) + " needs a value");
            }
            const std::string_view value = argv[++i];
            if (arg == "--out") {
                out_path = value;
                continue;
            }
            std::size_t number = 0;
            const auto [ptr, ec] =
                std::from_chars(value.data(), value.data() + value.size(), number);
            if (ec != std::errc() || ptr != value.data() + value.size() ||
                (arg == "--levels" && number == 0)) {
                return usage(std::string(arg) +
                             (arg == "--levels" ? " needs a positive integer, not '"
                                                : " needs a non-negative integer, not '") +
                             std::string(value) + "'");
            }
            (arg == "--levels" ? levels : diagnostics) = number;
        } else if (arg.starts_with("--")) {
            return usage("unknown option " + std::string(arg));
        } else {
            files.emplace_back(arg);
        }
    }
    if (files.size() != 2) {
        return usage("expected a message file and an orderbook file");
    }

    try {
        const std::vector<cpx::replay::Message> messages = cpx::replay::load_messages(files[0]);
        const cpx::replay::OrderbookFile book = cpx::replay::load_orderbook(files[1]);
        std::ofstream out;
        cpx::replay::ReplayOptions options;
        options.levels = levels;
        options.max_diagnostics = diagnostics;
        if (!out_path.empty()) {
            out.open(out_path, std::ios::binary | std::ios::trunc);
            if (!out) {
                std::cerr << "cpx-replay: cannot write " << out_path << "\n";
                return kUnusable;
            }
            options.out = &out;
        }
        const cpx::replay::ReplayResult result = cpx::replay::replay(messages, book, options);
        if (out.is_open()) {
            out.close();
            if (!out) {
                std::cerr << "cpx-replay: writing " << out_path << " failed\n";
                return kUnusable;
            }
        }
        if (!quiet) {
            std::cout << format_report(result);
        }
        for (const std::string& line : result.diagnostics) {
            std::cerr << "cpx-replay: " << line << "\n";
        }
        const bool clean = result.clean();
        std::cout << (clean ? "OK" : "MISMATCH") << ": " << result.counters.rows << " rows, "
                  << result.counters.book_row_mismatches << " book-row mismatches, "
                  << result.counters.fill_mismatches << " fill-order mismatches\n";
        return clean ? 0 : kMismatch;
    } catch (const cpx::replay::InputError& e) {
        std::cerr << "cpx-replay: error: " << e.what() << "\n";
        return kUnusable;
    } catch (const std::exception& e) {
        std::cerr << "cpx-replay: internal error: " << e.what() << "\n";
        return kUnusable;
    }
}
