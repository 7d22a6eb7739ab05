#pragma once
// cpxd as a library: the pipeline, the gRPC services (with standard health checking
// and server reflection) and the HTTP operations endpoint, started and stopped
// together. The cpxd binary and the integration tests both run it.

#include <atomic>
#include <memory>
#include <string>

#include "cpx/gateway/config.hpp"
#include "cpx/gateway/metrics.hpp"
#include "cpx/gateway/pipeline.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/ops/http_server.hpp"
#include "cpx/ops/metrics.hpp"

namespace grpc {
class Server;
}

namespace cpx::gateway {

class Server {
  public:
    explicit Server(ServerConfig config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts serving. Throws std::runtime_error when an address cannot be
    // bound or a TLS file cannot be read.
    void start();
    // Graceful: stops taking calls, ends streams (cancel-on-disconnect happens in
    // sequence), gives calls shutdown_grace_ms to finish, then drains the pipeline.
    void shutdown();

    int port() const { return port_; }
    std::uint16_t ops_port() const;
    const std::string& operator_key() const { return operator_key_; }
    const ServerConfig& config() const { return config_; }

  private:
    ServerConfig config_;
    std::string operator_key_;
    ops::Registry registry_;
    GatewayMetrics metrics_;
    Pipeline pipeline_;
    GatewayContext context_;
    OrderEntryService order_entry_;
    MarketDataService market_data_;
    AccountQueryService account_query_;
    AdminService admin_;
    std::unique_ptr<grpc::Server> grpc_;
    std::unique_ptr<ops::OpsServer> ops_;
    std::atomic<bool> ready_{false};
    int port_ = 0;
    bool started_ = false;
};

}  // namespace cpx::gateway
