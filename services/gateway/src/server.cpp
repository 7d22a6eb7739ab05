#include "cpx/gateway/server.hpp"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "cpx/audit/sha256.hpp"
#include "cpx/audit/signing.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/log.hpp"
#include "cpx/journal/pg_snapshots.hpp"
#include "cpx/projector/ledger_projector.hpp"

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

std::unique_ptr<journal::PgJournal> make_journal(const ServerConfig& config) {
    if (config.database_url.empty()) {
        return nullptr;
    }
    journal::PgJournalConfig journal_config;
    journal_config.database_url = config.database_url;
    return std::make_unique<journal::PgJournal>(journal_config);
}

// The audit key: loaded from its file, or made and saved there at the first start, with
// the public key written beside it for the regulators who verify the record.
std::shared_ptr<const audit::SigningKey> audit_key(const std::string& path) {
    if (path.empty()) {
        log_event("warning", "audit_unsigned",
                  {field("reason", "no audit_key_file: checkpoints are not signed")});
        return nullptr;
    }
    std::error_code error;
    const bool exists = std::filesystem::exists(path, error);
    auto key = std::make_shared<audit::SigningKey>(exists ? audit::SigningKey::load(path)
                                                          : audit::SigningKey::generate());
    if (!exists) {
        key->save(path);
    }
    // A public key is 32 bytes, as a digest is: the same hex form.
    const std::string public_hex = audit::to_hex(key->public_key());
    std::ofstream pub(path + ".pub", std::ios::trunc);
    pub << public_hex << '\n';
    if (!pub) {
        throw std::runtime_error("cannot write the audit public key to " + path + ".pub");
    }
    log_event("info", "audit_key",
              {field("public_key", public_hex), field("file", path + ".pub"),
               field("made", exists ? "false" : "true")});
    return key;
}

}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      metrics_(registry_),
      journal_(make_journal(config_)),
      pipeline_(config_.pipeline, journal_.get()),
      context_{pipeline_, config_.gateway, metrics_},
      order_entry_(context_),
      market_data_(context_),
      account_query_(context_),
      admin_(context_),
      settlement_(context_),
      vouchers_(context_),
      audit_(context_, config_.database_url,
             config_.project_ledger && !config_.database_url.empty() ? &regulator_hub_ : nullptr) {
    metrics_.watch(registry_, pipeline_);
    if (journal_) {
        metrics_.watch(registry_, *journal_);
        journal_->set_on_durable([this] { pipeline_.wake_sequencer(); });
        journal_->set_on_error([](const std::string& error) {
            log_event("error", "journal_write_failed", {field("error", error)});
        });
        if (config_.project_ledger) {
            projector::ProjectorConfig projector_config;
            projector_config.database_url = config_.database_url;
            projector_config.exchange = config_.pipeline.exchange;
            projector_config.batch_requests_max = config_.projector_batch_requests_max;
            projector_config.snapshot_every = config_.projector_snapshot_every;
            projector_config.parallel_reports_min = config_.projector_parallel_reports_min;
            projector_config.audit_key = audit_key(config_.audit_key_file);
            projector_config.audit_checkpoint_interval_ns =
                config_.audit_checkpoint_interval_ms * 1'000'000;
            surveillance::SurveillanceConfig& rules = projector_config.surveillance;
            rules.spoof_quantity_min = config_.surveillance_spoof_quantity_min;
            rules.spoof_cancel_within_ns = config_.surveillance_spoof_window_ms * 1'000'000;
            rules.spoof_trade_within_ns = config_.surveillance_spoof_window_ms * 1'000'000;
            rules.band_rejects_min = config_.surveillance_band_rejects_min;
            rules.band_window_ns = config_.surveillance_band_window_ms * 1'000'000;
            projector_ = std::make_unique<projector::LedgerProjector>(projector_config);
            projector_->set_on_error([](const std::string& error) {
                log_event("error", "projector_failed", {field("error", error)});
            });
            // On the projector's writer thread: the hub only copies into the streams'
            // queues, so the projection never waits for a regulator.
            projector_->set_on_committed(
                [this](const projector::CommittedBatch& batch) { regulator_hub_.publish(batch); });
            metrics_.watch(registry_, *projector_, *journal_);
        }
    }
    pipeline_.dispatcher().count_trades(&metrics_.trades);
}

Server::~Server() {
    shutdown();
}

std::uint16_t Server::ops_port() const {
    return ops_ ? ops_->port() : 0;
}

void Server::resolve_operator_key() {
    operator_key_ = config_.operator_key;
    // A key file from an earlier start is the operator's key for the journal that start
    // began: reuse it rather than make a key the journalled operator does not have.
    if (operator_key_.empty() && !config_.operator_key_file.empty()) {
        std::ifstream in(config_.operator_key_file);
        std::string line;
        if (in && std::getline(in, line) && !line.empty()) {
            operator_key_ = line;
        }
    }
    if (!operator_key_.empty()) {
        return;
    }
    operator_key_ = generate_api_key();
    if (!config_.operator_key_file.empty()) {
        std::ofstream out(config_.operator_key_file, std::ios::trunc);
        if (!out) {
            throw std::runtime_error("operator_key_file '" + config_.operator_key_file +
                                     "' cannot be written");
        }
        ::chmod(config_.operator_key_file.c_str(), 0600);
        out << operator_key_ << "\n";
    }
}

void Server::write_snapshot(std::uint64_t seq) {
    const auto started = std::chrono::steady_clock::now();
    std::string bytes;
    pipeline_.exchange().save_snapshot(bytes);
    journal::PgSnapshotStore(config_.database_url)
        .write(seq, pipeline_.exchange().state_hash(), bytes);
    last_snapshot_seq_ = seq;
    log_event("info", "snapshot_written",
              {field("seq", static_cast<std::int64_t>(seq)),
               field("bytes", static_cast<std::int64_t>(bytes.size())),
               field("elapsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count())});
}

void Server::recover_and_bootstrap() {
    if (journal_) {
        journal::RecoveryHooks hooks;
        hooks.apply = [this](const exchange::Request& r) { pipeline_.replay(r); };
        hooks.state_hash = [this] { return pipeline_.exchange().state_hash(); };
        hooks.load_snapshot = [this](std::string_view bytes, std::string& error) {
            return pipeline_.exchange().load_snapshot(bytes, error);
        };
        hooks.reset = [this] { pipeline_.reset_exchange(); };
        hooks.after_snapshot = [this] { pipeline_.rebuild_market_data(); };
        recovery_ = journal_->recover(hooks);
        last_snapshot_seq_ = recovery_.snapshot_seq;
        if (!recovery_.snapshot_refused.empty()) {
            log_event("warning", "snapshot_refused", {field("reason", recovery_.snapshot_refused)});
        }
        log_event(
            "info", "journal_recovered",
            {field("last_seq", static_cast<std::int64_t>(recovery_.last_seq)),
             field("snapshot_seq", static_cast<std::int64_t>(recovery_.snapshot_seq)),
             field("snapshot_bytes", static_cast<std::int64_t>(recovery_.snapshot_bytes)),
             field("snapshot_load_ms", recovery_.snapshot_load_ms),
             field("replayed", static_cast<std::int64_t>(recovery_.replayed)),
             field("checkpoints_checked", static_cast<std::int64_t>(recovery_.checkpoints_checked)),
             field("elapsed_ms", recovery_.elapsed_ms)});
        // A long replay is not repeated at the next start.
        if (recovery_.replayed >= config_.snapshot_after_replay) {
            write_snapshot(recovery_.last_seq);
        }
    }
    exchange::Exchange& exchange = pipeline_.exchange();
    const exchange::KeyHash key_hash = hash_api_key(operator_key_);
    if (exchange.account(1) == nullptr) {
        exchange::Payload payload;
        payload.account.name = "operator";
        payload.new_key_hash = key_hash;
        exchange::Request bootstrap;
        bootstrap.type = exchange::RequestType::Bootstrap;
        bootstrap.payload = &payload;
        pipeline_.apply_before_start(bootstrap);
    } else if (exchange.account_of_key(key_hash) != 1) {
        log_event("warning", "operator_key_unknown",
                  {field("detail", std::string_view("the configured operator key is not the "
                                                    "journalled operator's; use its key file"))});
    }
    // The streams of the sessions the journal left logged on ended with the process that
    // served them: their cancel-on-disconnect happens now, in sequence.
    for (const exchange::SessionId session : exchange.open_sessions()) {
        exchange::Request logoff;
        logoff.type = exchange::RequestType::Logoff;
        logoff.session = session;
        pipeline_.apply_before_start(logoff);
    }
}

void Server::start() {
    resolve_operator_key();
    recover_and_bootstrap();
    if (journal_) {
        journal_->start();
    }
    if (projector_) {
        // Recovers on its own thread: a long journal does not delay serving.
        projector_->start();
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
    builder.RegisterService(&settlement_);
    builder.RegisterService(&vouchers_);
    builder.RegisterService(&audit_);
    // Clients that send a larger message get RESOURCE_EXHAUSTED from gRPC itself.
    builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
    grpc_ = builder.BuildAndStart();
    if (!grpc_ || port_ == 0) {
        pipeline_.stop();
        if (projector_) {
            projector_->stop();
        }
        if (journal_) {
            journal_->stop();
        }
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
    // The regulators' streams would otherwise wait for batches until the grace ends.
    regulator_hub_.close();
    grpc_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(config_.shutdown_grace_ms));
    grpc_->Wait();
    // Every audit call has been answered: gRPC waited for them.
    audit_.stop();
    pipeline_.stop();
    if (journal_) {
        journal_->stop();
        // Everything applied is durable now: the next start loads this state and
        // replays nothing.
        if (journal_->durable_seq() == journal_->next_seq() - 1 && journal_->durable_seq() > 0 &&
            journal_->durable_seq() != last_snapshot_seq_) {
            try {
                write_snapshot(journal_->durable_seq());
            } catch (const std::exception& e) {
                log_event("error", "snapshot_failed", {field("error", std::string_view(e.what()))});
            }
        }
    }
    if (projector_) {
        // Finishes the batch in hand; the next start continues from its progress.
        projector_->stop();
    }
    ops_->stop();
    log_event("info", "cpxd_stopped",
              {field("requests_applied", static_cast<std::int64_t>(pipeline_.requests_applied()))});
}

}  // namespace cpx::gateway
