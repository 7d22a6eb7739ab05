// cpx-raw-server: the "empty" exchange (raw_service.hpp), the gRPC ceiling cpxd is
// measured against. It runs until SIGINT or SIGTERM, or for --exit-after-s seconds.
//
// Usage: cpx-raw-server [--listen HOST:PORT] [--exit-after-s N]

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>

#include "raw_service.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: cpx-raw-server [--listen HOST:PORT] [--exit-after-s N]\n"
    "  An empty implementation of cpx.v1.OrderEntry (and of Admin, for setup) on gRPC's\n"
    "  callback API: it answers every command at once and checks nothing, so a load\n"
    "  generator driving it measures the gRPC ceiling of this machine.\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:50151; port 0 picks one)\n"
    "  --exit-after-s N     stop by itself after N seconds (default 0: run until SIGINT or\n"
    "                       SIGTERM)\n";

}  // namespace

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:50151";
    std::uint64_t exit_after_s = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if ((arg == "--listen" || arg == "--exit-after-s") && i + 1 < argc) {
            const std::string_view value = argv[++i];
            if (arg == "--listen") {
                listen = std::string(value);
                continue;
            }
            const auto [end, ec] =
                std::from_chars(value.data(), value.data() + value.size(), exit_after_s);
            if (ec == std::errc() && end == value.data() + value.size() &&
                exit_after_s <= 1'000'000) {
                continue;
            }
        }
        std::cerr << "cpx-raw-server: bad argument: " << arg << '\n' << kUsage;
        return 2;
    }

    // The signals are blocked before gRPC starts its threads, which inherit the mask, so
    // they reach only the sigtimedwait below.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    cpx::load::RawServer server;
    if (!server.start(listen)) {
        std::cerr << "cpx-raw-server: " << server.error() << '\n';
        return 1;
    }
    const std::string host = listen.substr(0, listen.rfind(':'));
    std::cout << "cpx-raw-server listening on " << host << ':' << server.port() << std::endl;

    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::seconds(static_cast<std::int64_t>(exit_after_s));
    for (;;) {
        std::int64_t wait_s = 3600;
        if (exit_after_s != 0) {
            const auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::seconds(0)) {
                break;
            }
            wait_s = std::chrono::ceil<std::chrono::seconds>(left).count();
        }
        timespec timeout{};
        timeout.tv_sec = static_cast<std::time_t>(wait_s);
        const int received = sigtimedwait(&signals, nullptr, &timeout);
        if (received == SIGINT || received == SIGTERM) {
            break;
        }
    }
    server.shutdown();
    const cpx::load::RawStats& stats = server.stats();
    std::cout << "cpx-raw-server stopped: " << stats.unary_calls.load() << " unary calls, "
              << stats.stream_messages.load() << " stream messages, " << stats.new_orders.load()
              << " new orders, " << stats.cancels.load() << " cancels" << std::endl;
    return 0;
}
