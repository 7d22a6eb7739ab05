// cpxd: the exchange server. Reads its configuration (file, environment, flags), starts
// the gRPC services and the operations endpoint, and shuts down gracefully on SIGTERM
// or SIGINT.

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "cpx/gateway/config.hpp"
#include "cpx/gateway/demo_market.hpp"
#include "cpx/gateway/log.hpp"
#include "cpx/gateway/server.hpp"

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::cout << cpx::gateway::config_help();
            return 0;
        }
    }
    // The signals are taken by sigwait below, so every thread started from here on
    // inherits a mask that blocks them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    try {
        cpx::gateway::ServerConfig config = cpx::gateway::load_config(argc, argv);
        cpx::gateway::Server server(config);
        server.start();
        if (config.operator_key.empty() && config.operator_key_file.empty()) {
            cpx::gateway::log_event("info", "operator_key",
                                    {cpx::gateway::field("api_key", server.operator_key())});
        }
        std::unique_ptr<cpx::gateway::DemoMarket> demo;
        if (config.demo) {
            demo = std::make_unique<cpx::gateway::DemoMarket>(
                "127.0.0.1:" + std::to_string(server.port()), server.operator_key(),
                config.demo_orders_per_second);
            demo->start();
        }
        int signal = 0;
        sigwait(&signals, &signal);
        cpx::gateway::log_event("info", "signal", {cpx::gateway::field("signal", signal)});
        if (demo) {
            demo->stop();
        }
        server.shutdown();
        return 0;
    } catch (const std::exception& e) {
        cpx::gateway::log_event("error", "cpxd_failed", {cpx::gateway::field("error", e.what())});
        return 1;
    }
}
