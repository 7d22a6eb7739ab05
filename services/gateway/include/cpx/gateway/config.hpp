#pragma once
// cpxd's configuration: defaults that work on loopback, then a file of "key = value"
// lines, then CPXD_<KEY> environment variables, then --key=value flags, each source
// overriding the ones before. docs/OPERATIONS.md lists the keys.

#include <cstdint>
#include <map>
#include <string>

#include "cpx/gateway/pipeline.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/store/migrations_dir.hpp"

namespace cpx::gateway {

struct ServerConfig {
    std::string listen = "127.0.0.1:7070";  // gRPC; port 0 picks a free one
    std::string ops_address = "127.0.0.1";  // HTTP /healthz /readyz /metrics
    std::uint16_t ops_port = 7071;          // 0 picks a free one
    // The operator's API key. Empty: cpxd makes one at start and writes it to
    // operator_key_file (mode 0600) when that is set, else to its log.
    std::string operator_key;
    std::string operator_key_file;
    // TLS, on when a certificate and key are given; with a client CA, clients may
    // present certificates, and must when tls_require_client_cert is set.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;
    bool tls_require_client_cert = false;
    std::uint32_t shutdown_grace_ms = 2'000;
    // Lists a demo market and runs simulated providers and buyers through the API.
    bool demo = false;
    std::uint32_t demo_orders_per_second = 50;
    // The delivery window of the demo's Hohhot spot product: short, so that with a short
    // dispute period its deals settle (and vouchers pay) while someone watches.
    std::int64_t demo_spot_window_ns = 300'000'000'000;  // five minutes
    // PostgreSQL, where the exchange keeps its record (a libpq URL; empty: no
    // database). Without database_url anywhere, the environment's CPX_DATABASE_URL,
    // which the scripts and tests share, is the default.
    std::string database_url;
    std::string migrations_dir = cpx::store::default_migrations_dir().string();
    // Applies the migrations the database lacks before serving; off where an operator
    // runs `cpxd migrate` as a step of its own.
    bool migrate_on_start = true;
    // A recovery that replayed at least this many journalled requests writes a snapshot
    // before serving, so that the next start does not replay them again. Every clean
    // stop writes one too.
    std::uint64_t snapshot_after_replay = 1'000'000;
    // With a database: runs the ledger projector (services/projector), a background
    // thread that writes the ledger and the settlement's obligations to PostgreSQL from
    // the committed journal, off the order path.
    bool project_ledger = true;
    // The projector's batches (cpx/projector/ledger_projector.hpp, ProjectorConfig, whose
    // defaults these are): the most journalled requests one transaction carries, a
    // snapshot of its replica every this many requests (0: never), and the execution
    // reports from which a batch writes them on a second connection (0: never).
    std::uint64_t projector_batch_requests_max = 100'000;
    std::uint64_t projector_snapshot_every = 1'000'000;
    std::uint64_t projector_parallel_reports_min = 20'000;
    // The exchange's audit key (docs/AUDIT.md): a file holding an Ed25519 seed as 64 hex
    // digits. cpxd makes it at its first start (mode 0600), writes the public key beside
    // it (the same name with ".pub") and to its log, and the projector signs the audit
    // log's checkpoints with it, one per audit_checkpoint_interval_ms of journal time.
    // Empty: the audit log is written and never signed.
    std::string audit_key_file;
    std::int64_t audit_checkpoint_interval_ms = 1'000;
    // The surveillance rules' thresholds (cpx/surveillance/surveillance.hpp): a large
    // order for spoofing, the window within which it is cancelled and its owner traded
    // the other side, and how many price-band rejections within a window raise an alert.
    std::int64_t surveillance_spoof_quantity_min = 500;
    std::int64_t surveillance_spoof_window_ms = 5'000;
    std::uint32_t surveillance_band_rejects_min = 3;
    std::int64_t surveillance_band_window_ms = 60'000;
    PipelineConfig pipeline;
    GatewayOptions gateway;
};

// Throws std::invalid_argument naming the key and source of a bad value or an unknown
// key. `--help` and the `migrate` subcommand are not handled here: argv holds flags only.
ServerConfig load_config(int argc, const char* const* argv);

// The keys, their meaning and default, for --help.
std::string config_help();

}  // namespace cpx::gateway
