#pragma once
// The journal in PostgreSQL. The sequencer appends each state-changing request to a
// bounded ring; a writer thread drains whatever has gathered (the batch grows with the
// load), writes it with one binary COPY into the journal table together with any
// checkpoints, commits (synchronous_commit: the commit returns once the WAL is on
// disk), and only then advances durable_seq(). Recovery reads the table back in order
// and replays it through a fresh exchange, comparing the state hash at every
// checkpoint.
//
// After each commit the writer notes the wall-clock instant it returned (when the
// batch's answers are released) and writes it to journal_commits with the next batch,
// or alone when the journal goes quiet: the acknowledgement times of the regulator's
// order lifecycle (db/migrations/0009_order_lifecycle.sql).
//
// The writer survives a lost connection: it reconnects with backoff, asks the table how
// far the last commit got, and writes the rest. Meanwhile durable_seq() stands still,
// so no answer leaves cpxd.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpx/exchange/request.hpp"
#include "cpx/journal/record_ring.hpp"
#include "cpx/journal/request_journal.hpp"

namespace cpx::journal {

namespace detail {
class Connection;
}

struct PgJournalConfig {
    std::string database_url;
    // The ring between the sequencer and the writer (power of two).
    std::size_t ring_bytes = std::size_t{64} << 20;
    // The largest batch one commit carries.
    std::size_t batch_bytes_max = std::size_t{16} << 20;
    // Backoff after a failed write, doubling up to the maximum.
    std::int64_t retry_wait_ms_min = 50;
    std::int64_t retry_wait_ms_max = 2'000;
};

// What recovery found.
struct RecoveryReport {
    std::uint64_t last_seq = 0;      // the last journalled request (0: empty journal)
    std::uint64_t snapshot_seq = 0;  // the snapshot recovery started from (0: none)
    std::uint64_t snapshot_bytes = 0;
    std::int64_t snapshot_load_ms = 0;
    std::string snapshot_refused;  // why a stored snapshot was not used, if one was not
    std::uint64_t replayed = 0;    // requests applied after the snapshot
    std::uint64_t checkpoints_checked = 0;
    std::int64_t last_ts_ns = 0;
    std::int64_t elapsed_ms = 0;
};

// Counters for metrics; updated by the writer thread.
struct PgJournalStats {
    std::atomic<std::uint64_t> commits{0};
    std::atomic<std::uint64_t> records{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> batch_records_max{0};
};

// How recovery rebuilds the exchange. apply and state_hash are required; without
// load_snapshot recovery replays the whole journal.
struct RecoveryHooks {
    std::function<void(const exchange::Request&)> apply;
    std::function<std::uint64_t()> state_hash;
    // Loads a snapshot into the fresh exchange. On false (with the reason) the exchange
    // is unusable: recovery calls reset (which must build a fresh one) and replays the
    // whole journal.
    std::function<bool(std::string_view, std::string&)> load_snapshot;
    std::function<void()> reset;
    // After a snapshot loaded, before the journal after it is replayed (to rebuild what
    // the snapshot does not hold, such as market-data books).
    std::function<void()> after_snapshot;
};

class PgJournal final : public RequestJournal {
  public:
    explicit PgJournal(PgJournalConfig config);
    ~PgJournal() override;
    PgJournal(const PgJournal&) = delete;
    PgJournal& operator=(const PgJournal&) = delete;

    // Before start(): takes the journal's lock (throws when another process holds it:
    // two writers would number their requests alike), loads the newest snapshot (when
    // the hooks can), then reads every
    // journalled request after it in order and hands it to apply; at each checkpoint
    // compares state_hash() with the recorded hash. Throws
    // std::runtime_error on a gap in the numbers, a row that does not decode, or a hash
    // that differs: a server that cannot rebuild its books exactly must not serve.
    RecoveryReport recover(const RecoveryHooks& hooks);
    // The same, from the whole journal (no snapshot).
    RecoveryReport recover(const std::function<void(const exchange::Request&)>& apply,
                           const std::function<std::uint64_t()>& state_hash);

    // Before start(). Called on the writer thread whenever durable_seq() advances.
    void set_on_durable(std::function<void()> on_durable) { on_durable_ = std::move(on_durable); }
    // Before start(). Called on the writer thread with the reason a write failed (it
    // will be retried).
    void set_on_error(std::function<void(const std::string&)> on_error) {
        on_error_ = std::move(on_error);
    }

    void start();
    // Writes everything appended so far (retrying while the database is away, until
    // give_up_ms), then stops the writer.
    void stop(std::int64_t give_up_ms = 10'000);

    // RequestJournal.
    std::uint64_t next_seq() const override { return next_seq_; }
    void append(const exchange::Request& request) override;
    void checkpoint(std::uint64_t state_hash) override;
    std::uint64_t durable_seq() const override {
        return durable_seq_.load(std::memory_order_acquire);
    }

    const PgJournalStats& stats() const { return stats_; }
    bool connected() const { return connected_.load(std::memory_order_relaxed); }

  private:
    class Writer;
    void push(const RecordHeader& header, std::string_view body);
    void wake_writer();
    void run_writer();

    PgJournalConfig config_;
    RecordRing ring_;
    std::uint64_t next_seq_ = 1;  // sequencer thread
    std::string scratch_;         // sequencer thread
    std::atomic<std::uint64_t> durable_seq_{0};
    std::atomic<bool> writer_sleeping_{false};
    std::atomic<std::uint32_t> wake_{0};  // the writer waits on it when the ring is empty
    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> give_up_at_ms_{0};
    std::atomic<bool> connected_{false};
    std::function<void()> on_durable_;
    std::function<void(const std::string&)> on_error_;
    std::thread writer_;
    // Holds the journal's advisory lock from recover() until destruction: one writer per
    // journal. The lock goes with the connection, so a killed cpxd releases it.
    std::unique_ptr<detail::Connection> lock_;
    PgJournalStats stats_;
};

}  // namespace cpx::journal
