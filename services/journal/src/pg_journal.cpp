#include "cpx/journal/pg_journal.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>

#include "cpx/journal/codec.hpp"
#include "cpx/journal/pg_snapshots.hpp"
#include "pg_connection.hpp"

// The journal speaks to PostgreSQL through libpq itself rather than libpqxx: libpqxx 6.4
// streams COPY only in text form, converting every field to a string, while the
// journal's hot path wants one binary COPY buffer per batch, written without a
// conversion or an allocation per row, and read back the same way at recovery.

namespace cpx::journal {

namespace {

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// PostgreSQL's binary COPY format: a signature, flags and an empty header extension,
// then per row a field count and length-prefixed fields in network byte order, then -1.
constexpr char kCopySignature[] = "PGCOPY\n\377\r\n";  // 11 bytes with its NUL

void put_u16(std::string& out, std::uint16_t v) {
    const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(bytes, 2);
}
void put_u32(std::string& out, std::uint32_t v) {
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(bytes, 4);
}
void put_u64(std::string& out, std::uint64_t v) {
    put_u32(out, static_cast<std::uint32_t>(v >> 32));
    put_u32(out, static_cast<std::uint32_t>(v));
}

std::string copy_header() {
    std::string h(kCopySignature, 11);
    put_u32(h, 0);  // flags
    put_u32(h, 0);  // header extension length
    return h;
}

std::uint64_t get_u64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}
std::uint32_t get_u32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
std::uint16_t get_u16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

using detail::Connection;
using detail::PgResult;
using detail::trim;

// The batch being written: the COPY rows of the records drained from the ring, each
// row's end offset (so that a retry after a commit of unknown outcome resends only what
// the table lacks) and the checkpoints that go with them.
class PgJournal::Writer {
  public:
    explicit Writer(const PgJournalConfig& config) : config_(config), conn_(config.database_url) {
        header_ = copy_header();
        rows_.reserve(config.batch_bytes_max + 4096);
    }

    bool empty() const { return ends_.empty() && checkpoints_.empty(); }
    bool has_commits() const { return !commits_.empty(); }

    // Records that the journal rows first_seq..last_seq became durable at durable_ns, for
    // journal_commits; the row rides in the next transaction.
    void committed(std::uint64_t first_seq, std::uint64_t last_seq, std::int64_t durable_ns) {
        commits_.push_back({first_seq, last_seq, durable_ns});
    }
    std::size_t bytes() const { return rows_.size(); }
    std::size_t records() const { return ends_.size(); }
    std::uint64_t last_seq() const { return last_seq_; }

    void add(const RecordHeader& h, const std::string& body) {
        if (h.kind == kCheckpointKind) {
            assert(body.size() == 8);
            std::uint64_t hash = 0;
            std::memcpy(&hash, body.data(), 8);
            checkpoints_.push_back({h.seq, hash});
            last_seq_ = std::max(last_seq_, h.seq);
            return;
        }
        put_u16(rows_, 4);
        put_u32(rows_, 8);
        put_u64(rows_, h.seq);
        put_u32(rows_, 8);
        put_u64(rows_, static_cast<std::uint64_t>(h.ts_ns));
        put_u32(rows_, 2);
        put_u16(rows_, h.kind);
        put_u32(rows_, h.body_bytes);
        rows_.append(body);
        ends_.push_back({h.seq, rows_.size()});
        last_seq_ = h.seq;
    }

    void clear() {
        rows_.clear();
        ends_.clear();
        checkpoints_.clear();
    }

    // Makes the batch durable: one transaction, committed. False (with error()) when
    // anything failed; the connection is then dropped and the next call starts anew.
    bool write(bool after_failure) {
        if (!conn_.open()) {
            return false;
        }
        std::size_t from = 0;
        if (after_failure) {
            // The last commit may have happened before the connection broke: write only
            // the rows the table lacks.
            PgResult r(PQexec(conn_.get(), "SELECT coalesce(max(seq), 0) FROM journal"));
            if (r.status() != PGRES_TUPLES_OK) {
                return fail(PQresultErrorMessage(r.result));
            }
            const std::uint64_t committed = std::stoull(PQgetvalue(r.result, 0, 0));
            std::size_t i = 0;
            while (i < ends_.size() && ends_[i].seq <= committed) {
                ++i;
            }
            from = i == 0 ? 0 : ends_[i - 1].end;
            ends_.erase(ends_.begin(), ends_.begin() + static_cast<std::ptrdiff_t>(i));
            rows_.erase(0, from);
            for (auto& e : ends_) {
                e.end -= from;
            }
        }
        if (!conn_.exec("BEGIN", PGRES_COMMAND_OK)) {
            return fail(conn_.error());
        }
        if (!ends_.empty()) {
            if (!conn_.exec("COPY journal (seq, ts_ns, kind, body) FROM STDIN (FORMAT binary)",
                            PGRES_COPY_IN)) {
                return fail(conn_.error());
            }
            std::string trailer;
            put_u16(trailer, 0xFFFF);
            if (PQputCopyData(conn_.get(), header_.data(), static_cast<int>(header_.size())) != 1 ||
                PQputCopyData(conn_.get(), rows_.data(), static_cast<int>(rows_.size())) != 1 ||
                PQputCopyData(conn_.get(), trailer.data(), static_cast<int>(trailer.size())) != 1 ||
                PQputCopyEnd(conn_.get(), nullptr) != 1) {
                return fail(PQerrorMessage(conn_.get()));
            }
            PgResult r(PQgetResult(conn_.get()));
            if (r.status() != PGRES_COMMAND_OK) {
                std::string message = PQresultErrorMessage(r.result);
                while (PGresult* rest = PQgetResult(conn_.get())) {
                    PQclear(rest);
                }
                return fail(message);
            }
            while (PGresult* rest = PQgetResult(conn_.get())) {
                PQclear(rest);
            }
        }
        for (const Checkpoint& c : checkpoints_) {
            const std::string seq = std::to_string(c.seq);
            const std::string hash = std::to_string(static_cast<std::int64_t>(c.hash));
            const char* values[2] = {seq.c_str(), hash.c_str()};
            PgResult r(PQexecParams(conn_.get(),
                                    "INSERT INTO checkpoints (seq, state_hash) VALUES ($1, $2) "
                                    "ON CONFLICT (seq) DO NOTHING",
                                    2, nullptr, values, nullptr, nullptr, 0));
            if (r.status() != PGRES_COMMAND_OK) {
                return fail(PQresultErrorMessage(r.result));
            }
        }
        return commit_with_commits();
    }

    // Writes the pending journal_commits rows in a transaction of their own, when no
    // batch follows to carry them: one round trip, which does not wait for the disk (the
    // rows say when answers left; the next batch's commit makes them durable anyway).
    bool write_commits() {
        if (!conn_.open()) {
            return fail(conn_.error());
        }
        const std::string sql =
            "BEGIN; SET LOCAL synchronous_commit = off; " + insert_commits_sql() + "; COMMIT";
        if (!conn_.exec(sql.c_str(), PGRES_COMMAND_OK)) {
            return fail(conn_.error());
        }
        commits_.clear();
        return true;
    }

    const std::string& error() const { return error_; }

  private:
    struct RowEnd {
        std::uint64_t seq;
        std::size_t end;
    };
    struct Checkpoint {
        std::uint64_t seq;
        std::uint64_t hash;
    };

    struct Commit {
        std::uint64_t first_seq;
        std::uint64_t last_seq;
        std::int64_t durable_ns;
    };

    // Ends the open transaction, with the pending journal_commits rows inserted in the
    // same round trip as the COMMIT.
    bool commit_with_commits() {
        const std::string sql =
            commits_.empty() ? std::string("COMMIT") : insert_commits_sql() + "; COMMIT";
        if (!conn_.exec(sql.c_str(), PGRES_COMMAND_OK)) {
            return fail(conn_.error());
        }
        commits_.clear();
        return true;
    }

    // A retry after a commit of unknown outcome may repeat rows: they are skipped.
    std::string insert_commits_sql() const {
        assert(!commits_.empty());
        std::string sql = "INSERT INTO journal_commits (first_seq, last_seq, durable_ns) VALUES ";
        for (std::size_t i = 0; i < commits_.size(); ++i) {
            sql += (i == 0 ? "(" : ",(") + std::to_string(commits_[i].first_seq) + "," +
                   std::to_string(commits_[i].last_seq) + "," +
                   std::to_string(commits_[i].durable_ns) + ")";
        }
        sql += " ON CONFLICT (last_seq) DO NOTHING";
        return sql;
    }

    bool fail(std::string message) {
        error_ = trim(std::move(message));
        conn_.close();
        return false;
    }

    const PgJournalConfig& config_;
    Connection conn_;
    std::string header_;
    std::string rows_;
    std::vector<RowEnd> ends_;
    std::vector<Checkpoint> checkpoints_;
    std::vector<Commit> commits_;
    std::uint64_t last_seq_ = 0;
    std::string error_;
};

PgJournal::PgJournal(PgJournalConfig config)
    : config_(std::move(config)), ring_(config_.ring_bytes) {
    scratch_.reserve(1 << 16);
}

PgJournal::~PgJournal() {
    stop(0);
}

RecoveryReport PgJournal::recover(const std::function<void(const exchange::Request&)>& apply,
                                  const std::function<std::uint64_t()>& state_hash) {
    RecoveryHooks hooks;
    hooks.apply = apply;
    hooks.state_hash = state_hash;
    return recover(hooks);
}

RecoveryReport PgJournal::recover(const RecoveryHooks& hooks) {
    assert(!writer_.joinable());
    assert(hooks.apply && hooks.state_hash);
    const auto started = std::chrono::steady_clock::now();
    const auto& apply = hooks.apply;
    const auto& state_hash = hooks.state_hash;
    if (!lock_) {
        auto lock = std::make_unique<Connection>(config_.database_url);
        if (!lock->open()) {
            throw std::runtime_error("journal: cannot connect: " + trim(lock->error()));
        }
        // The key is the journal's, per database: "cpxjrnl" in ASCII.
        PgResult r(PQexec(lock->get(), "SELECT pg_try_advisory_lock(7220290178280556)"));
        if (r.status() != PGRES_TUPLES_OK) {
            throw std::runtime_error("journal: cannot take its lock: " +
                                     trim(PQresultErrorMessage(r.result)));
        }
        if (std::string_view(PQgetvalue(r.result, 0, 0)) != "t") {
            throw std::runtime_error(
                "journal: another cpxd is writing this database's journal (its advisory lock "
                "is held); one exchange, one writer");
        }
        lock_ = std::move(lock);
    }
    Connection conn(config_.database_url);
    if (!conn.open()) {
        throw std::runtime_error("journal: cannot connect: " + trim(conn.error()));
    }
    std::map<std::uint64_t, std::uint64_t> checkpoints;
    {
        PgResult r(PQexec(conn.get(), "SELECT seq, state_hash FROM checkpoints ORDER BY seq"));
        if (r.status() != PGRES_TUPLES_OK) {
            throw std::runtime_error("journal: cannot read checkpoints: " +
                                     trim(PQresultErrorMessage(r.result)));
        }
        for (int i = 0; i < PQntuples(r.result); ++i) {
            checkpoints[std::stoull(PQgetvalue(r.result, i, 0))] =
                static_cast<std::uint64_t>(std::stoll(PQgetvalue(r.result, i, 1)));
        }
    }
    std::uint64_t journal_end = 0;
    {
        PgResult r(PQexec(conn.get(), "SELECT coalesce(max(seq), 0) FROM journal"));
        if (r.status() != PGRES_TUPLES_OK) {
            throw std::runtime_error("journal: cannot read: " +
                                     trim(PQresultErrorMessage(r.result)));
        }
        journal_end = std::stoull(PQgetvalue(r.result, 0, 0));
    }

    RecoveryReport report;
    if (hooks.load_snapshot) {
        const auto loading = std::chrono::steady_clock::now();
        const std::optional<StoredSnapshot> snapshot =
            PgSnapshotStore(config_.database_url).load_latest(journal_end);
        if (snapshot) {
            std::string error;
            const auto checkpoint = checkpoints.find(snapshot->seq);
            if (!hooks.load_snapshot(snapshot->bytes, error)) {
                report.snapshot_refused =
                    "snapshot " + std::to_string(snapshot->seq) + " does not load: " + error;
            } else if (state_hash() != snapshot->state_hash ||
                       (checkpoint != checkpoints.end() && checkpoint->second != state_hash())) {
                report.snapshot_refused = "snapshot " + std::to_string(snapshot->seq) +
                                          " loads to another state hash than recorded";
            } else {
                report.snapshot_seq = snapshot->seq;
                report.snapshot_bytes = snapshot->bytes.size();
                report.last_seq = snapshot->seq;
                report.snapshot_load_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - loading)
                                              .count();
                if (hooks.after_snapshot) {
                    hooks.after_snapshot();
                }
            }
            if (!report.snapshot_refused.empty()) {
                // The journal alone rebuilds everything: start again from nothing.
                assert(hooks.reset);
                hooks.reset();
            }
        }
    }
    const std::string copy = "COPY (SELECT seq, ts_ns, kind, body FROM journal WHERE seq > " +
                             std::to_string(report.last_seq) +
                             " ORDER BY seq) TO STDOUT (FORMAT binary)";
    if (!conn.exec(copy.c_str(), PGRES_COPY_OUT)) {
        throw std::runtime_error("journal: cannot read: " + trim(conn.error()));
    }

    Decoded decoded;
    std::string error;
    std::string pending;  // bytes received and not yet parsed
    std::size_t at = 0;
    bool header_seen = false;
    bool trailer_seen = false;
    auto next_checkpoint = checkpoints.upper_bound(report.last_seq);
    const auto fail = [&](const std::string& why) {
        throw std::runtime_error("journal: " + why + " (after seq " +
                                 std::to_string(report.last_seq) + ")");
    };
    // Parses every complete item in pending[at..]; returns when one is incomplete.
    const auto parse = [&] {
        while (!trailer_seen) {
            const auto* p = reinterpret_cast<const unsigned char*>(pending.data()) + at;
            const std::size_t left = pending.size() - at;
            if (!header_seen) {
                if (left < 19) {
                    return;
                }
                if (std::memcmp(p, kCopySignature, 11) != 0) {
                    fail("unexpected COPY header");
                }
                const std::uint32_t extension = get_u32(p + 15);
                if (left < 19 + extension) {
                    return;
                }
                at += 19 + extension;
                header_seen = true;
                continue;
            }
            if (left < 2) {
                return;
            }
            const std::uint16_t fields = get_u16(p);
            if (fields == 0xFFFF) {
                trailer_seen = true;
                at += 2;
                return;
            }
            if (fields != 4) {
                fail("unexpected COPY row");
            }
            // seq, ts_ns: 4 + 8 each; kind: 4 + 2; body: 4 + n.
            if (left < 2 + 12 + 12 + 6 + 4) {
                return;
            }
            const std::uint32_t body_bytes = get_u32(p + 32);
            if (left < 36 + std::size_t{body_bytes}) {
                return;
            }
            const std::uint64_t seq = get_u64(p + 6);
            const auto ts_ns = static_cast<std::int64_t>(get_u64(p + 18));
            const std::uint16_t kind = get_u16(p + 30);
            const std::string_view body(pending.data() + at + 36, body_bytes);
            at += 36 + std::size_t{body_bytes};
            if (seq != report.last_seq + 1) {
                fail("gap in the journal: next row is seq " + std::to_string(seq));
            }
            if (!decode(kind, ts_ns, body, decoded, error)) {
                fail("row " + std::to_string(seq) + " does not decode: " + error);
            }
            apply(decoded.request);
            report.last_seq = seq;
            report.last_ts_ns = ts_ns;
            ++report.replayed;
            if (next_checkpoint != checkpoints.end() && next_checkpoint->first == seq) {
                const std::uint64_t hash = state_hash();
                if (hash != next_checkpoint->second) {
                    fail("state hash after seq " + std::to_string(seq) + " is " +
                         std::to_string(hash) + ", the checkpoint recorded " +
                         std::to_string(next_checkpoint->second));
                }
                ++report.checkpoints_checked;
                ++next_checkpoint;
            }
        }
    };
    while (true) {
        char* buffer = nullptr;
        const int n = PQgetCopyData(conn.get(), &buffer, 0);
        if (n == -1) {
            break;
        }
        if (n < 0) {
            throw std::runtime_error("journal: reading failed: " +
                                     trim(PQerrorMessage(conn.get())));
        }
        if (at > 0 && at == pending.size()) {
            pending.clear();
            at = 0;
        } else if (at > (1u << 20)) {
            pending.erase(0, at);
            at = 0;
        }
        pending.append(buffer, static_cast<std::size_t>(n));
        PQfreemem(buffer);
        parse();
    }
    {
        PgResult r(PQgetResult(conn.get()));
        if (r.status() != PGRES_COMMAND_OK) {
            throw std::runtime_error("journal: reading failed: " +
                                     trim(PQresultErrorMessage(r.result)));
        }
    }
    if (header_seen && !trailer_seen) {
        fail("the journal's COPY ended early");
    }
    if (report.last_seq != journal_end) {
        fail("the journal ends at seq " + std::to_string(journal_end) + " but its rows stop");
    }
    if (next_checkpoint != checkpoints.end()) {
        fail("a checkpoint names seq " + std::to_string(next_checkpoint->first) +
             " past the journal's end");
    }
    next_seq_ = report.last_seq + 1;
    durable_seq_.store(report.last_seq, std::memory_order_release);
    report.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    return report;
}

void PgJournal::start() {
    if (writer_.joinable()) {
        return;
    }
    stopping_.store(false);
    writer_ = std::thread([this] { run_writer(); });
}

void PgJournal::stop(std::int64_t give_up_ms) {
    if (!writer_.joinable()) {
        return;
    }
    give_up_at_ms_.store(steady_ms() + give_up_ms);
    stopping_.store(true, std::memory_order_seq_cst);
    wake_.fetch_add(1, std::memory_order_seq_cst);
    wake_.notify_one();
    writer_.join();
}

void PgJournal::append(const exchange::Request& request) {
    assert(is_journalled(request.type));
    scratch_.clear();
    encode(request, scratch_);
    RecordHeader header{};
    header.seq = next_seq_;
    header.ts_ns = request.ts_ns;
    header.body_bytes = static_cast<std::uint32_t>(scratch_.size());
    header.kind = kind_of(request);
    push(header, scratch_);
    ++next_seq_;
}

void PgJournal::checkpoint(std::uint64_t state_hash) {
    assert(next_seq_ > 1);
    RecordHeader header{};
    header.seq = next_seq_ - 1;
    header.body_bytes = 8;
    header.kind = kCheckpointKind;
    char body[8];
    std::memcpy(body, &state_hash, 8);
    push(header, std::string_view(body, 8));
}

void PgJournal::push(const RecordHeader& header, std::string_view body) {
    if (sizeof(RecordHeader) + body.size() > ring_.record_bytes_max()) {
        throw std::length_error("journal: a request larger than the journal's ring");
    }
    while (!ring_.try_write(header, body)) {
        // The writer is a ring behind: durability sets the pace.
        wake_writer();
        std::this_thread::yield();
    }
    wake_writer();
}

void PgJournal::wake_writer() {
    // Pairs with the writer's store of writer_sleeping_ then load of the ring's head
    // (both sequentially consistent): either it sees the new record or we see it asleep.
    if (writer_sleeping_.load(std::memory_order_seq_cst)) {
        wake_.fetch_add(1, std::memory_order_seq_cst);
        wake_.notify_one();
    }
}

void PgJournal::run_writer() {
    Writer batch(config_);
    RecordHeader header{};
    std::string body;
    bool failed = false;
    bool commits_flush_tried = false;
    // The journal rows whose commit time is known: those before this writer started
    // (their rows, if any, were written by the one before) and each commit's since.
    std::uint64_t recorded_through = durable_seq_.load(std::memory_order_acquire);
    std::int64_t backoff_ms = config_.retry_wait_ms_min;
    while (true) {
        if (!failed) {
            while (batch.bytes() < config_.batch_bytes_max && ring_.try_read(header, body)) {
                batch.add(header, body);
            }
        }
        if (batch.empty()) {
            // The newest commit's row waits for the next batch, unless the journal goes
            // quiet: then it is written alone (once; after a failure the next batch
            // carries it).
            if (batch.has_commits() && !commits_flush_tried && ring_.empty()) {
                commits_flush_tried = true;
                if (!batch.write_commits() && on_error_) {
                    on_error_(batch.error());
                }
            }
            if (stopping_.load(std::memory_order_seq_cst) && ring_.empty()) {
                // A last try for the newest commit's row, if its own write failed.
                if (batch.has_commits() && !batch.write_commits() && on_error_) {
                    on_error_(batch.error());
                }
                break;
            }
            const std::uint32_t seen = wake_.load(std::memory_order_seq_cst);
            writer_sleeping_.store(true, std::memory_order_seq_cst);
            if (ring_.empty() && !stopping_.load(std::memory_order_seq_cst)) {
                wake_.wait(seen, std::memory_order_seq_cst);
            }
            writer_sleeping_.store(false, std::memory_order_relaxed);
            continue;
        }
        if (!batch.write(failed)) {
            stats_.failures.fetch_add(1, std::memory_order_relaxed);
            connected_.store(false, std::memory_order_relaxed);
            if (on_error_) {
                on_error_(batch.error());
            }
            failed = true;
            if (stopping_.load() && steady_ms() >= give_up_at_ms_.load()) {
                // Nothing of this batch was acknowledged: its answers are still held.
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
            backoff_ms = std::min(backoff_ms * 2, config_.retry_wait_ms_max);
            continue;
        }
        const std::int64_t durable_ns = wall_clock_ns();
        failed = false;
        backoff_ms = config_.retry_wait_ms_min;
        connected_.store(true, std::memory_order_relaxed);
        stats_.commits.fetch_add(1, std::memory_order_relaxed);
        stats_.records.fetch_add(batch.records(), std::memory_order_relaxed);
        stats_.bytes.fetch_add(batch.bytes(), std::memory_order_relaxed);
        if (batch.records() > stats_.batch_records_max.load(std::memory_order_relaxed)) {
            stats_.batch_records_max.store(batch.records(), std::memory_order_relaxed);
        }
        // Every journal row up to the batch's last became durable now, including the
        // rows of an earlier write whose commit succeeded unseen: their answers were held
        // until this one.
        if (batch.last_seq() > recorded_through) {
            batch.committed(recorded_through + 1, batch.last_seq(), durable_ns);
            recorded_through = batch.last_seq();
            commits_flush_tried = false;
        }
        durable_seq_.store(batch.last_seq(), std::memory_order_release);
        batch.clear();
        if (on_durable_) {
            on_durable_();
        }
    }
}

}  // namespace cpx::journal
