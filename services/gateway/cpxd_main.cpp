// cpxd: the exchange server. Reads its configuration (file, environment, flags), brings
// the database's schema up to date, starts the gRPC services and the operations
// endpoint, and shuts down gracefully on SIGTERM or SIGINT. `cpxd migrate` only
// migrates the database.

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "cpx/gateway/config.hpp"
#include "cpx/gateway/demo_market.hpp"
#include "cpx/gateway/log.hpp"
#include "cpx/gateway/server.hpp"
#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"

namespace {

struct Migrated {
    std::vector<cpx::store::Migration> migrations;
    cpx::store::MigrationReport report;
};

Migrated migrate_database(const cpx::gateway::ServerConfig& config) {
    if (config.database_url.empty()) {
        throw std::runtime_error(
            "no database: set database_url (--database_url, CPXD_DATABASE_URL or "
            "CPX_DATABASE_URL)");
    }
    Migrated out;
    out.migrations = cpx::store::load_migrations(config.migrations_dir);
    const auto connection = cpx::store::connect(config.database_url);
    out.report = cpx::store::migrate(*connection, out.migrations);
    return out;
}

// `cpxd migrate [flags]`: one line per migration on standard output; exit 0 when the
// database is up to date, else the reason on standard error and exit 1.
int run_migrate(int argc, char** argv) {
    try {
        // The subcommand's word is not a flag: load_config sees the program and flags.
        std::vector<const char*> args{argv[0]};
        args.insert(args.end(), argv + 2, argv + argc);
        const auto config = cpx::gateway::load_config(static_cast<int>(args.size()), args.data());
        const Migrated done = migrate_database(config);
        for (const cpx::store::Migration& m : done.migrations) {
            const bool applied = std::find(done.report.applied.begin(), done.report.applied.end(),
                                           m.version) != done.report.applied.end();
            std::cout << cpx::store::display_name(m)
                      << (applied ? ": applied\n" : ": already applied\n");
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "cpxd migrate: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::cout << cpx::gateway::config_help();
            return 0;
        }
    }
    if (argc > 1 && std::strcmp(argv[1], "migrate") == 0) {
        return run_migrate(argc, argv);
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
        if (!config.database_url.empty() && config.migrate_on_start) {
            const Migrated done = migrate_database(config);
            cpx::gateway::log_event(
                "info", "database_migrated",
                {cpx::gateway::field("database", cpx::store::redact_url(config.database_url)),
                 cpx::gateway::field("applied",
                                     static_cast<std::int64_t>(done.report.applied.size())),
                 cpx::gateway::field("already_applied",
                                     static_cast<std::int64_t>(done.report.already.size()))});
        }
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
                config.demo_orders_per_second, config.demo_spot_window_ns);
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
