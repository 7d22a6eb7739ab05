#pragma once
// The ledger projector: keeps PostgreSQL's ledger (ledger_accounts, transfers),
// settlement tables (obligations, obligation_events) and voucher tables
// (voucher_programs, vouchers, voucher_events) equal to the exchange's, as a projection
// of the committed journal, entirely off the order path.
//
// It owns a replica Exchange (the live one's ExchangeConfig) whose observers collect
// every ledger account opened, every transfer, every obligation event and every voucher
// event. It reads the committed journal rows after its progress, in order, a batch at a
// time (binary COPY, at most batch_requests_max requests, applied as they arrive),
// applies them to the replica, and writes what they did in ONE transaction together with
// its progress (the last journal seq of the batch): a crash never writes a batch twice or
// half of one. Batches are request boundaries. A writer thread commits batch k while the
// next one is read and applied, so the replica and PostgreSQL work at the same time.
//
// Netting within a batch: a pending transfer created and resolved in the same batch
// never reaches PostgreSQL. A void of it drops both; a post of it is written as a
// single-phase posted transfer (flags 0, no pending_id) with the post's id, amount,
// code, seq, ts_ns and user_data. A pending still unresolved at the end of its batch is
// written as a pending row, and its later post or void as they are. So at every batch
// boundary PostgreSQL's posted totals equal the replica's, and so do its pending totals
// (only the reservations that lived within one batch are absent from `transfers`).
// Transfer ids stay unique and increasing, with gaps where rows were netted.
//
// The obligation's creation is its `obligations` row; its later steps are
// `obligation_events` rows (db/migrations/0004_settlement.sql).
//
// The audit log (db/migrations/0007_audit.sql, docs/AUDIT.md): the batch's journal rows,
// transfers and trades, each hashed into the chain and the Merkle tree, in the batch's
// transaction, and a signed checkpoint at intervals (src/audit_writer.hpp).
//
// Surveillance (services/surveillance, db/migrations/0008_surveillance.sql): the replica's
// output and events also go to the surveillance rules, request by request, and the
// alerts they raise are written in the batch's transaction, so the alerts follow from
// the journal alone (a silent replay feeds the rules and writes nothing).
//
// Vouchers (db/migrations/0006_vouchers.sql): a program's creation is also its
// `voucher_programs` row (the spec as the replica holds it once the request is applied),
// a grant also its `vouchers` row (with the expiry and reference of the GrantVoucher
// payload), and every voucher event a `voucher_events` row, numbered within its request.
// They are written in the batch's transaction after its transfers and obligation events,
// because the tables check a redemption against its transfer and its settled trade.
//
// Execution reports (db/migrations/0009_order_lifecycle.sql): every report the replica
// sent, numbered by (seq, idx). A large batch's reports are a third to a half of what
// PostgreSQL does for it, so they go to a second session, whose backend runs on another
// core beside the writer's. That session commits them just before the batch's own
// transaction commits, and the batch rolls back when they did not commit, so the reports
// are never behind the progress, and ahead of it by at most the one batch whose own
// transaction then failed. The recovery reads how far they reach (their largest seq:
// each batch's reports commit whole and in order) and leaves out what is there when the
// replay makes them again. This is the one table that can run ahead of the progress; the
// ledger, the settlement tables and the audit log never do.
//
// Restart: start_from_database() loads the newest snapshot at or before the stored
// progress, replays the journal silently up to the progress (every observer, the voucher
// sink included, ignores what PostgreSQL has already), checks that PostgreSQL's
// accounts equal the replica's there, and projects from the next seq on. Every
// snapshot_every requests the projector takes the replica's snapshot; a snapshot thread
// writes it after its batch has committed (cpxd's restarts load it too).
//
// Threads: start() runs a background thread that polls the journal (every
// poll_interval_ms, or at once after wake()) and projects what it finds; stop() lets it
// finish its current batch. Without start(), project_available() catches up on the
// caller's thread. replica() and check_against_database() need the projector idle
// (stopped, or between project_available() calls).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cpx/audit/chain.hpp"
#include "cpx/audit/signing.hpp"
#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/outbound.hpp"
#include "cpx/exchange/settlement.hpp"
#include "cpx/surveillance/surveillance.hpp"

namespace cpx::projector {

struct ProjectorConfig {
    std::string database_url;
    // Must equal the live exchange's: the replica replays the same journal into the
    // same state, and its snapshots must load into cpxd.
    exchange::ExchangeConfig exchange;
    // The most journal rows (requests) one batch, and so one transaction, carries.
    std::uint64_t batch_requests_max = 100'000;
    // A snapshot of the replica every this many requests (0: never).
    std::uint64_t snapshot_every = 1'000'000;
    // How many snapshots the snapshot store keeps (and the newest at or before the
    // projector's progress; see PgSnapshotStore).
    std::uint32_t snapshot_keep = 2;
    // The background thread looks for new journal rows this often when it is idle.
    std::int64_t poll_interval_ms = 20;
    // After every batch, wait for its commit and compare PostgreSQL's ledger with the
    // replica's (check_against_database without the recomputation); throws on a
    // difference. For debug builds and tests: it serializes reading and writing.
    bool verify_each_batch = false;
    // work_mem of the writer's session (MB): a batch's transfers and events are read
    // back by the tables' statement triggers, in memory when they fit.
    std::uint32_t writer_work_mem_mb = 256;
    // A batch with at least this many execution reports writes them on a second session
    // (the report writer), in a transaction of their own committed just before the
    // batch's, so that two PostgreSQL backends work on one batch at once (0: never; a
    // smaller batch writes them in its own transaction). See "Execution reports" above.
    std::uint64_t parallel_reports_min = 20'000;
    // The exchange's audit key. Every batch extends the audit log (docs/AUDIT.md); with a
    // key, the projector also signs a checkpoint of it after a batch when the journal
    // time has moved at least audit_checkpoint_interval_ns past the last checkpoint's
    // (0: after every batch). Without a key the log is written and never signed.
    std::shared_ptr<const audit::SigningKey> audit_key;
    // The surveillance rules watch the replica; their alerts are written with the batch
    // that raised them (surveillance_alerts).
    surveillance::SurveillanceConfig surveillance;
    std::int64_t audit_checkpoint_interval_ns = 1'000'000'000;
    // Backoff of the background thread after a failure, doubling up to the maximum.
    std::int64_t retry_wait_ms_min = 100;
    std::int64_t retry_wait_ms_max = 5'000;
};

// What start_from_database() found and did.
struct RecoveryInfo {
    std::uint64_t progress_seq = 0;       // the stored progress: the last seq already projected
    std::uint64_t reports_seq = 0;        // the largest seq of the execution reports stored
    std::uint64_t snapshot_seq = 0;       // the snapshot the replica started from (0: none)
    std::string snapshot_refused;         // why a stored snapshot was not used, if one was not
    std::uint64_t replayed = 0;           // requests replayed silently up to the progress
    std::uint64_t accounts_inserted = 0;  // accounts the replica had and PostgreSQL lacked
    std::int64_t elapsed_ms = 0;
};

// Counters, updated by the projector's threads; read from any thread.
struct ProjectorStats {
    std::atomic<std::uint64_t> batches{0};           // transactions committed
    std::atomic<std::uint64_t> requests{0};          // journal rows projected (committed)
    std::atomic<std::uint64_t> accounts{0};          // ledger_accounts rows written
    std::atomic<std::uint64_t> transfers{0};         // transfers rows written
    std::atomic<std::uint64_t> transfers_netted{0};  // transfers netted away (not written)
    std::atomic<std::uint64_t> obligations{0};       // obligations rows written
    std::atomic<std::uint64_t> obligation_events{0};
    std::atomic<std::uint64_t> voucher_events{0};  // voucher_events rows written
    std::atomic<std::uint64_t> alerts{0};          // surveillance_alerts rows written
    std::atomic<std::uint64_t> reports{0};         // execution_reports rows written
    std::atomic<std::uint64_t> audit_records{0};   // audit_log rows written
    std::atomic<std::uint64_t> audit_checkpoints{0};
    std::atomic<std::uint64_t> snapshots{0};
    std::atomic<std::uint64_t> failures{0};  // failed batches or reads (retried)
    std::atomic<std::uint64_t> last_batch_requests{0};
    std::atomic<std::int64_t> last_commit_ms{0};  // the last batch's write and commit
    // Where the time goes, in microseconds summed over all batches: reading and
    // applying the journal (the replica's thread, snapshots included), and on the
    // writer thread each table's COPY and the commit.
    std::atomic<std::uint64_t> read_apply_us{0};
    std::atomic<std::uint64_t> copy_accounts_us{0};
    std::atomic<std::uint64_t> copy_transfers_us{0};
    std::atomic<std::uint64_t> copy_obligations_us{0};
    std::atomic<std::uint64_t> copy_events_us{0};
    std::atomic<std::uint64_t> copy_vouchers_us{0};  // programs, vouchers and their events
    std::atomic<std::uint64_t> copy_reports_us{0};   // execution_reports, on either session
    // The writer's wait for the report writer's commit, when that finished last.
    std::atomic<std::uint64_t> wait_reports_us{0};
    std::atomic<std::uint64_t> copy_audit_us{0};  // hashing, audit_log and checkpoints
    std::atomic<std::uint64_t> commit_us{0};      // COMMIT (the WAL flush) and the progress
    // Snapshots: taking them (state hash and save, on the replica's thread) and writing
    // them (the snapshot thread).
    std::atomic<std::uint64_t> snapshot_take_us{0};
    std::atomic<std::uint64_t> snapshot_write_us{0};
};

// The comparison of PostgreSQL with the replica (check_against_database()).
struct DatabaseCheck {
    std::uint64_t seq = 0;  // the projected seq compared at
    std::uint64_t accounts = 0;
    std::uint64_t open_obligations = 0;
    std::uint64_t voucher_programs = 0;
    std::vector<std::string> problems;  // empty when everything agrees
    bool ok() const { return problems.empty(); }
};

// A trade as the audit log holds it: the obligation row, and where the writer put its
// record (its leaf index, its leaf hash and the chain's head after it).
struct CommittedTrade {
    exchange::Obligation trade;
    std::uint64_t position = 0;
    audit::Digest leaf_hash{};
    audit::Digest head{};
};

// What one batch's transaction committed, for observers that follow the projection in
// real time (set_on_committed): its trades in the audit log's order and its surveillance
// alerts in the order surveillance_alerts holds them.
struct CommittedBatch {
    std::uint64_t first_seq = 0;  // the journal rows covered: first_seq..last_seq
    std::uint64_t last_seq = 0;
    std::vector<CommittedTrade> trades;
    std::vector<surveillance::Alert> alerts;
};

namespace detail {
class AuditWriter;
class Pg;
struct Batch;
class Collector;
}  // namespace detail

class LedgerProjector {
  public:
    explicit LedgerProjector(ProjectorConfig config);
    ~LedgerProjector();
    LedgerProjector(const LedgerProjector&) = delete;
    LedgerProjector& operator=(const LedgerProjector&) = delete;

    // Takes the projector's lock (throws std::runtime_error when another projector holds
    // it for this database), rebuilds the replica up to the stored progress and checks
    // PostgreSQL's accounts against it (throws when they differ). Called by
    // project_available() and by the background thread when it has not been.
    RecoveryInfo start_from_database();

    // Catches up once on the caller's thread: projects every committed journal row
    // after the progress, batch by batch, until a read finds none; returns when all is
    // committed. Returns the rows projected. Throws std::runtime_error on a failure (the
    // projector must then be destroyed, or restarted with start_from_database()).
    std::uint64_t project_available();

    // The background thread. It recovers first when start_from_database() has not run
    // (so start() returns at once, whatever the journal's length), and retries every
    // failure, a failed recovery included, by recovering again with backoff; the
    // reasons go to set_on_error's callback.
    void start();
    // Finishes the batch in hand, commits it, and stops the thread.
    void stop();
    // Wakes the background thread now (for example when the journal has committed).
    void wake();
    bool running() const { return thread_.joinable(); }

    // The last journal seq whose effects are committed in PostgreSQL.
    std::uint64_t projected_seq() const { return projected_seq_.load(std::memory_order_acquire); }
    // The last journal seq the replica applied (ahead of projected_seq by at most the
    // batches in flight).
    std::uint64_t applied_seq() const { return applied_seq_.load(std::memory_order_acquire); }
    const ProjectorStats& stats() const { return stats_; }

    // Called on the projector's threads with the reason a batch, read or snapshot failed.
    // Set it before the first start() or project_available().
    void set_on_error(std::function<void(const std::string&)> on_error) {
        on_error_ = std::move(on_error);
    }

    // Called on the writer thread right after a batch's COMMIT succeeded, never for a batch
    // that rolled back, with what it committed. The callback holds up the next batch
    // while it runs, so it must hand the batch on and return; it must not throw (what it
    // throws is reported through on_error and otherwise ignored, because the batch is
    // committed). Without a callback nothing is collected. Set it before the first
    // start() or project_available().
    void set_on_committed(std::function<void(const CommittedBatch&)> on_committed) {
        on_committed_ = std::move(on_committed);
    }

    // The replica (idle projector only).
    const exchange::Exchange& replica() const { return *replica_; }

    // Compares PostgreSQL with the replica at the projected seq (idle projector only):
    // every ledger account (identity and four totals) equal, ledger_totals balanced and
    // equal to the replica's totals, the open obligations (obligation_status) equal to
    // the replica's, every voucher program's totals (voucher_program_status) equal to the
    // replica's; with recompute, also ledger_balance_check empty (every account's
    // totals recomputed from all transfers: a full scan, for tests and audits).
    DatabaseCheck check_against_database(bool recompute = true) const;

  private:
    void reset_replica();
    // Reads, applies and hands to the writer at most one batch; returns its requests.
    std::uint64_t project_batch();
    void run();
    void report_error(const std::string& error);

    // Writer thread.
    void start_writer();
    void stop_writer();
    void enqueue(std::unique_ptr<detail::Batch> batch);
    void drain();
    void run_writer();
    void write_batch(detail::Batch& batch);

    // The report writer's thread: writes and commits the execution reports of the batch
    // handed over, while the writer thread writes the rest of it.
    void hand_reports(const detail::Batch& batch);
    // Waits until the batch handed over is done with; returns why it failed ("" when its
    // reports committed).
    std::string await_reports();
    void run_report_writer();

    // The snapshot thread: writes the newest snapshot handed over by the writer after its
    // batch committed (a newer one replaces one still waiting), so that writing it
    // delays no batch.
    void offer_snapshot(std::uint64_t seq, std::uint64_t state_hash, std::string bytes);
    void wait_snapshots();
    void run_snapshots();

    ProjectorConfig config_;
    // The replica's output goes to surveillance, whose state starts afresh with it.
    std::unique_ptr<surveillance::Surveillance> surveillance_;
    std::unique_ptr<exchange::Exchange> replica_;
    std::unique_ptr<detail::Collector> collector_;
    // Used by the writer thread, and loaded by start_from_database() while it is stopped.
    std::unique_ptr<detail::AuditWriter> audit_;
    std::unique_ptr<detail::Pg> lock_;    // holds the projector's advisory lock
    std::unique_ptr<detail::Pg> reader_;  // reads the journal
    bool recovered_ = false;
    std::uint64_t last_snapshot_seq_ = 0;

    std::atomic<std::uint64_t> projected_seq_{0};
    std::atomic<std::uint64_t> applied_seq_{0};
    ProjectorStats stats_;
    std::function<void(const std::string&)> on_error_;
    std::function<void(const CommittedBatch&)> on_committed_;

    // The background thread.
    std::thread thread_;
    std::mutex wake_mutex_;
    std::condition_variable wake_cv_;
    bool wake_flag_ = false;
    std::atomic<bool> stopping_{false};

    // The writer thread: one batch queued, one being written.
    std::thread writer_;
    std::unique_ptr<detail::Pg> writer_pg_;
    std::mutex writer_mutex_;
    std::condition_variable writer_cv_;
    std::unique_ptr<detail::Batch> queued_;
    bool writer_busy_ = false;
    bool writer_stop_ = false;
    std::string writer_error_;

    // The report writer: at most one batch handed over at a time, by the writer thread,
    // which waits for it before its own commit and before the batch is freed.
    std::thread report_writer_;
    std::unique_ptr<detail::Pg> report_pg_;
    std::mutex report_mutex_;
    std::condition_variable report_cv_;
    const detail::Batch* report_batch_ = nullptr;
    bool report_stop_ = false;
    std::string report_error_;
    // Reports of journal seqs up to this one are in PostgreSQL already (set by the
    // recovery, read by both writers).
    std::uint64_t reports_through_ = 0;

    std::thread snapshotter_;
    std::mutex snapshot_mutex_;
    std::condition_variable snapshot_cv_;
    bool snapshot_waiting_ = false;
    bool snapshot_busy_ = false;
    bool snapshot_stop_ = false;
    std::uint64_t snapshot_seq_ = 0;
    std::uint64_t snapshot_hash_ = 0;
    std::string snapshot_bytes_;
};

}  // namespace cpx::projector
