#pragma once
// cpxd as a library: the pipeline, the gRPC services (with standard health checking
// and server reflection) and the HTTP operations endpoint, started and stopped
// together. The cpxd binary and the integration tests both run it.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "cpx/gateway/config.hpp"
#include "cpx/gateway/metrics.hpp"
#include "cpx/gateway/pipeline.hpp"
#include "cpx/gateway/regulator_hub.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/journal/pg_journal.hpp"
#include "cpx/ops/http_server.hpp"
#include "cpx/ops/metrics.hpp"

namespace grpc {
class Server;
}

namespace cpx::projector {
class LedgerProjector;
}

namespace cpx::gateway {

class Server {
  public:
    explicit Server(ServerConfig config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // With a database: rebuilds the exchange from the journal (throws when the rebuilt
    // state's hash differs from a recorded one), bootstraps an empty exchange's operator
    // and logs off the sessions the restart ended, all journalled. Then binds and starts
    // serving. Throws std::runtime_error when an address cannot be bound, a TLS file
    // cannot be read, or the journal cannot be read or written.
    void start();
    // Graceful: stops taking calls, ends streams (cancel-on-disconnect happens in
    // sequence), gives calls shutdown_grace_ms to finish, then drains the pipeline.
    void shutdown();

    int port() const { return port_; }
    std::uint16_t ops_port() const;
    const std::string& operator_key() const { return operator_key_; }
    const ServerConfig& config() const { return config_; }
    // What recovery found at start (all zero without a database).
    const journal::RecoveryReport& recovery() const { return recovery_; }
    // The regulators' streams subscribed now (Audit.DropCopy and Audit.Alerts): a stream
    // receives what commits after it is counted here.
    std::size_t regulator_streams() const { return regulator_hub_.subscribers(); }

  private:
    void recover_and_bootstrap();
    // Saves the exchange's state after journal seq `seq` (the pipeline stopped or not
    // started) as a snapshot. Throws std::runtime_error.
    void write_snapshot(std::uint64_t seq);
    void resolve_operator_key();

    ServerConfig config_;
    std::string operator_key_;
    ops::Registry registry_;
    GatewayMetrics metrics_;
    // Declared before the pipeline, which holds a pointer to it.
    std::unique_ptr<journal::PgJournal> journal_;
    // The regulators' streams' hub, fed by the projector's writer thread: declared before
    // the projector, so that it outlives it.
    RegulatorHub regulator_hub_;
    // The ledger projector (with a database and project_ledger): writes the ledger and
    // obligations to PostgreSQL from the committed journal, on a thread of its own.
    std::unique_ptr<projector::LedgerProjector> projector_;
    journal::RecoveryReport recovery_;
    std::uint64_t last_snapshot_seq_ = 0;
    Pipeline pipeline_;
    GatewayContext context_;
    OrderEntryService order_entry_;
    MarketDataService market_data_;
    AccountQueryService account_query_;
    AdminService admin_;
    SettlementService settlement_;
    VoucherService vouchers_;
    // Stopped in shutdown() once gRPC has taken its last call.
    AuditService audit_;
    std::unique_ptr<grpc::Server> grpc_;
    std::unique_ptr<ops::OpsServer> ops_;
    std::atomic<bool> ready_{false};
    int port_ = 0;
    bool started_ = false;
};

}  // namespace cpx::gateway
