#include "cpx/gateway/server.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/log.hpp"

namespace cpx::gateway {

namespace {

std::string read_file(const std::string& path, const char* what) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error(std::string(what) + " '" + path + "' cannot be read");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::shared_ptr<grpc::ServerCredentials> credentials(const ServerConfig& c) {
    if (c.tls_cert_file.empty() && c.tls_key_file.empty()) {
        return grpc::InsecureServerCredentials();
    }
    if (c.tls_cert_file.empty() || c.tls_key_file.empty()) {
        throw std::runtime_error("TLS needs both tls_cert_file and tls_key_file");
    }
    grpc::SslServerCredentialsOptions options(
        c.tls_client_ca_file.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : (c.tls_require_client_cert
                   ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                   : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY));
    options.pem_key_cert_pairs.push_back(
        {read_file(c.tls_key_file, "TLS key"), read_file(c.tls_cert_file, "TLS certificate")});
    if (!c.tls_client_ca_file.empty()) {
        options.pem_root_certs = read_file(c.tls_client_ca_file, "TLS client CA");
    }
    return grpc::SslServerCredentials(options);
}

}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      metrics_(registry_),
      pipeline_(config_.pipeline),
      context_{pipeline_, config_.gateway, metrics_},
      order_entry_(context_),
      market_data_(context_),
      account_query_(context_),
      admin_(context_) {
    metrics_.watch(registry_, pipeline_);
    pipeline_.dispatcher().count_trades(&metrics_.trades);
}

Server::~Server() {
    shutdown();
}

std::uint16_t Server::ops_port() const {
    return ops_ ? ops_->port() : 0;
}

void Server::start() {
    operator_key_ = config_.operator_key.empty() ? generate_api_key() : config_.operator_key;
    pipeline_.exchange().bootstrap_operator("operator", hash_api_key(operator_key_));
    if (config_.operator_key.empty() && !config_.operator_key_file.empty()) {
        std::ofstream out(config_.operator_key_file, std::ios::trunc);
        if (!out) {
            throw std::runtime_error("operator_key_file '" + config_.operator_key_file +
                                     "' cannot be written");
        }
        ::chmod(config_.operator_key_file.c_str(), 0600);
        out << operator_key_ << "\n";
    }
    pipeline_.start();

    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(config_.listen, credentials(config_), &port_);
    builder.RegisterService(&order_entry_);
    builder.RegisterService(&market_data_);
    builder.RegisterService(&account_query_);
    builder.RegisterService(&admin_);
    // Clients that send a larger message get RESOURCE_EXHAUSTED from gRPC itself.
    builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
    grpc_ = builder.BuildAndStart();
    if (!grpc_ || port_ == 0) {
        pipeline_.stop();
        throw std::runtime_error("cannot listen on " + config_.listen);
    }
    grpc_->GetHealthCheckService()->SetServingStatus(true);

    ops::OpsConfig ops_config;
    ops_config.address = config_.ops_address;
    ops_config.port = config_.ops_port;
    ops_config.ready = [this] { return ready_.load(std::memory_order_acquire); };
    ops_ = std::make_unique<ops::OpsServer>(ops_config, registry_);
    ops_->start();
    ready_.store(true, std::memory_order_release);
    started_ = true;
    log_event("info", "cpxd_started",
              {field("grpc_port", port_), field("ops_port", ops_->port()),
               field("tls", std::string_view(config_.tls_cert_file.empty() ? "off" : "on"))});
}

void Server::shutdown() {
    if (!started_) {
        return;
    }
    started_ = false;
    ready_.store(false, std::memory_order_release);
    log_event("info", "cpxd_stopping", {});
    grpc_->GetHealthCheckService()->SetServingStatus(false);
    // Streams end first, through the exchange, so that their cancel-on-disconnect is
    // sequenced like any other command; then gRPC stops taking calls and waits for the
    // ones in flight.
    pipeline_.dispatcher().post(Dispatcher::Control{Dispatcher::Control::Kind::CloseAll, nullptr});
    grpc_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(config_.shutdown_grace_ms));
    grpc_->Wait();
    pipeline_.stop();
    ops_->stop();
    log_event("info", "cpxd_stopped",
              {field("requests_applied", static_cast<std::int64_t>(pipeline_.requests_applied()))});
}

}  // namespace cpx::gateway
