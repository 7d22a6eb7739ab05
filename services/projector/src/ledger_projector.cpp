#include "cpx/projector/ledger_projector.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>

#include "audit_writer.hpp"
#include "batch.hpp"
#include "cpx/journal/codec.hpp"
#include "cpx/journal/pg_snapshots.hpp"
#include "pg.hpp"

namespace cpx::projector {

namespace {

using detail::Batch;
using detail::CopyWriter;

// A client order id as execution_reports keeps it: as sent when it is printable ASCII
// (every accepted id is), else with each other byte, and each backslash, as \xNN, so
// that a refused command's raw bytes can never make the text column refuse the batch.
std::string_view stored_client_id(std::string_view id, std::string& scratch) {
    const auto plain = [](char c) { return c >= 0x20 && c <= 0x7E && c != '\\'; };
    if (std::all_of(id.begin(), id.end(), plain)) {
        return id;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    scratch.clear();
    for (const char c : id) {
        if (plain(c)) {
            scratch += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            scratch += "\\x";
            scratch += kHex[byte >> 4];
            scratch += kHex[byte & 0xF];
        }
    }
    return scratch;
}
using detail::Pg;
using detail::PgResult;

// The projector's advisory lock, per database: "cpxproj" in ASCII. One projector per
// database: two would write every batch twice (the second would fail on the progress
// fence, below, but only after reading and applying it).
constexpr std::int64_t kLockKey = 27989685279289194;

// COPY data is sent in pieces of about this size.
constexpr std::size_t kCopyPieceBytes = std::size_t{4} << 20;

std::uint64_t elapsed_us(std::chrono::steady_clock::time_point since) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - since)
                                          .count());
}

// Adds the time since `since` to `counter` and restarts the clock.
void lap(std::atomic<std::uint64_t>& counter, std::chrono::steady_clock::time_point& since) {
    counter.fetch_add(elapsed_us(since), std::memory_order_relaxed);
    since = std::chrono::steady_clock::now();
}

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 since)
        .count();
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

// Reads the journal rows first_seq..last_seq in order with one binary COPY and hands
// each to `row` as it arrives; returns how many came. Throws on a gap, on a malformed
// stream and when the read fails.
template <typename RowFn>
std::uint64_t read_journal(Pg& pg, std::uint64_t first_seq, std::uint64_t last_seq, RowFn&& row) {
    pg.copy_out_begin("COPY (SELECT seq, ts_ns, kind, body FROM journal WHERE seq BETWEEN " +
                      std::to_string(first_seq) + " AND " + std::to_string(last_seq) +
                      " ORDER BY seq) TO STDOUT (FORMAT binary)");
    std::string pending;  // bytes received and not yet parsed
    std::size_t at = 0;
    bool header_seen = false;
    bool trailer_seen = false;
    std::uint64_t next = first_seq;
    const auto fail = [&](const std::string& why) {
        throw std::runtime_error("projector: journal " + why + " (at seq " + std::to_string(next) +
                                 ")");
    };
    const auto parse = [&] {
        while (!trailer_seen) {
            const auto* p = reinterpret_cast<const unsigned char*>(pending.data()) + at;
            const std::size_t left = pending.size() - at;
            if (!header_seen) {
                if (left < 19) {
                    return;
                }
                if (std::memcmp(p, "PGCOPY\n\377\r\n", 11) != 0) {
                    fail("COPY stream has no header");
                }
                const std::uint32_t extension = get_u32(p + 15);
                if (left < 19 + std::size_t{extension}) {
                    return;
                }
                at += 19 + std::size_t{extension};
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
                fail("COPY row has " + std::to_string(fields) + " fields");
            }
            // seq, ts_ns: 4 + 8 each; kind: 4 + 2; body: 4 + n.
            if (left < 36) {
                return;
            }
            if (get_u32(p + 2) != 8 || get_u32(p + 14) != 8 || get_u32(p + 26) != 2) {
                fail("COPY row is malformed");
            }
            const std::uint32_t body_bytes = get_u32(p + 32);
            if (left < 36 + std::size_t{body_bytes}) {
                return;
            }
            const std::uint64_t seq = get_u64(p + 6);
            const auto ts_ns = static_cast<std::int64_t>(get_u64(p + 18));
            const std::uint16_t kind = get_u16(p + 30);
            if (seq != next) {
                fail("has a gap: the next row is seq " + std::to_string(seq));
            }
            row(seq, ts_ns, kind, std::string_view(pending.data() + at + 36, body_bytes));
            at += 36 + std::size_t{body_bytes};
            ++next;
        }
    };
    std::string_view piece;
    while (pg.copy_get(piece)) {
        if (at > 0 && at == pending.size()) {
            pending.clear();
            at = 0;
        } else if (at > (std::size_t{1} << 20)) {
            pending.erase(0, at);
            at = 0;
        }
        pending.append(piece);
        parse();
    }
    if (header_seen && !trailer_seen) {
        fail("COPY ended early");
    }
    return next - first_seq;
}

// Every ledger account PostgreSQL holds, in id order, as account_of_row reads them.
constexpr const char* kSelectAccounts =
    "SELECT id, owner, purpose, currency, flags, coalesce(created_seq, 0), debits_pending, "
    "debits_posted, credits_pending, credits_posted FROM ledger_accounts ORDER BY id";

ledger::Account account_of_row(const PgResult& r, int row) {
    ledger::Account a;
    a.id = static_cast<std::uint64_t>(r.i64(row, 0));
    a.owner = static_cast<std::uint64_t>(r.i64(row, 1));
    a.purpose = static_cast<std::uint16_t>(r.i64(row, 2));
    a.currency = static_cast<std::uint16_t>(r.i64(row, 3));
    a.flags = static_cast<std::uint32_t>(r.i64(row, 4));
    a.created_seq = static_cast<std::uint64_t>(r.i64(row, 5));
    a.debits_pending = r.i64(row, 6);
    a.debits_posted = r.i64(row, 7);
    a.credits_pending = r.i64(row, 8);
    a.credits_posted = r.i64(row, 9);
    return a;
}

// The replica's ledger accounts that PostgreSQL lacks, after checking that every account
// both have agrees in every field; throws on a difference.
std::vector<ledger::Account> accounts_missing(Pg& pg, const ledger::Ledger& ledger,
                                              std::uint64_t seq) {
    PgResult r = pg.query(kSelectAccounts);
    std::map<std::uint64_t, ledger::Account> stored;
    for (int i = 0; i < r.rows(); ++i) {
        const ledger::Account a = account_of_row(r, i);
        stored.emplace(a.id, a);
    }
    std::vector<ledger::Account> missing;
    const auto differs = [&](const std::string& what) {
        throw std::runtime_error(
            "projector: PostgreSQL's ledger differs from the journal's at seq " +
            std::to_string(seq) + ": " + what);
    };
    for (const ledger::Account& a : ledger.accounts()) {
        const auto it = stored.find(a.id);
        if (it == stored.end()) {
            if (a.debits_pending != 0 || a.debits_posted != 0 || a.credits_pending != 0 ||
                a.credits_posted != 0) {
                differs("account " + std::to_string(a.id) + " with money is missing");
            }
            missing.push_back(a);
            continue;
        }
        if (!(it->second == a)) {
            differs("account " + std::to_string(a.id) + " (totals " +
                    std::to_string(it->second.debits_pending) + "/" +
                    std::to_string(it->second.debits_posted) + "/" +
                    std::to_string(it->second.credits_pending) + "/" +
                    std::to_string(it->second.credits_posted) + ", the replica's " +
                    std::to_string(a.debits_pending) + "/" + std::to_string(a.debits_posted) + "/" +
                    std::to_string(a.credits_pending) + "/" + std::to_string(a.credits_posted) +
                    ")");
        }
        stored.erase(it);
    }
    if (!stored.empty()) {
        differs("account " + std::to_string(stored.begin()->first) + " is not the replica's (and " +
                std::to_string(stored.size() - 1) + " more)");
    }
    return missing;
}

// COPY rows of each table; `put` sends a piece when the buffer is large.
class Copier {
  public:
    explicit Copier(Pg& pg) : pg_(pg), out_(buffer_) { buffer_.reserve(kCopyPieceBytes + 4096); }

    template <typename Rows, typename RowFn>
    void copy(const std::string& sql, const Rows& rows, RowFn&& encode) {
        pg_.copy_in_begin(sql);
        buffer_.clear();
        out_.header();
        for (const auto& r : rows) {
            encode(out_, r);
            if (buffer_.size() >= kCopyPieceBytes) {
                pg_.copy_put(buffer_);
                buffer_.clear();
            }
        }
        out_.trailer();
        pg_.copy_put(buffer_);
        buffer_.clear();
        pg_.copy_in_end(sql);
    }

  private:
    Pg& pg_;
    std::string buffer_;
    CopyWriter out_;
};

void copy_accounts(Copier& copier, const std::vector<ledger::Account>& accounts) {
    copier.copy(
        "COPY ledger_accounts (id, owner, purpose, currency, flags, created_seq) FROM STDIN "
        "(FORMAT binary)",
        accounts, [](CopyWriter& w, const ledger::Account& a) {
            w.row(6);
            w.int8(static_cast<std::int64_t>(a.id));
            w.int8(static_cast<std::int64_t>(a.owner));
            w.int2(static_cast<std::int16_t>(a.purpose));
            w.int2(static_cast<std::int16_t>(a.currency));
            w.int4(static_cast<std::int32_t>(a.flags));
            w.int8_or_null(static_cast<std::int64_t>(a.created_seq), a.created_seq == 0);
        });
}

// The batch's voucher programs, vouchers and voucher events, in that order (an event
// names its program and voucher). An id the exchange leaves 0 is NULL in the table, and
// so are the side and the cap period where the event's kind has none; everything else is
// written as the exchange gave it, for the table's checks to judge
// (db/migrations/0006_vouchers.sql).
void copy_vouchers(Copier& copier, const Batch& batch) {
    using exchange::VoucherEventKind;
    if (!batch.voucher_programs.empty()) {
        copier.copy(
            "COPY voucher_programs (id, issuer, name, initial_budget_fen, share_bps, mode, side, "
            "cap_per_beneficiary_fen, cap_period_ns, pool_cap_fen, kinds, hubs, "
            "accelerator_models, domestic_only, approved_providers, allow_affiliated, "
            "allow_both_sides, valid_from_ns, valid_until_ns, budget_account_id, created_seq, "
            "created_ts_ns) FROM STDIN (FORMAT binary)",
            batch.voucher_programs, [](CopyWriter& w, const detail::ProgramRow& row) {
                const exchange::VoucherProgramSpec& p = row.spec;
                w.row(22);
                w.int4(static_cast<std::int32_t>(p.id));
                w.int8(static_cast<std::int64_t>(p.issuer));
                w.text(p.name);
                w.int8(p.budget_fen);
                w.int4(static_cast<std::int32_t>(p.share_bps));
                w.int2(static_cast<std::int16_t>(p.mode));
                w.int2(static_cast<std::int16_t>(p.side));
                w.int8(p.cap_per_beneficiary_fen);
                w.int8(p.cap_period_ns);
                w.int8(p.pool_cap_fen);
                w.int2(static_cast<std::int16_t>(p.kinds));
                w.text_array(p.hubs);
                w.text_array(p.accelerator_models);
                w.boolean(p.domestic_only);
                w.int8_array(p.approved_providers);
                w.boolean(p.allow_affiliated);
                w.boolean(p.allow_both_sides);
                w.int8(p.valid_from_ns);
                w.int8(p.valid_until_ns);
                w.int8(static_cast<std::int64_t>(exchange::Exchange::voucher_budget_account(p.id)));
                w.int8(static_cast<std::int64_t>(row.created_seq));
                w.int8(row.created_ts_ns);
            });
    }
    if (!batch.vouchers.empty()) {
        copier.copy(
            "COPY vouchers (id, program, beneficiary, face_fen, expiry_ns, ref, granted_seq, "
            "granted_ts_ns) FROM STDIN (FORMAT binary)",
            batch.vouchers, [](CopyWriter& w, const detail::VoucherRow& v) {
                w.row(8);
                w.int8(static_cast<std::int64_t>(v.id));
                w.int4(static_cast<std::int32_t>(v.program));
                w.int8(static_cast<std::int64_t>(v.beneficiary));
                w.int8(v.face_fen);
                w.int8(v.expiry_ns);
                w.text(v.ref);
                w.int8(static_cast<std::int64_t>(v.granted_seq));
                w.int8(v.granted_ts_ns);
            });
    }
    if (!batch.voucher_events.empty()) {
        copier.copy(
            "COPY voucher_events (seq, idx, kind, program, voucher, trade_id, side, beneficiary, "
            "provider, amount_fen, share_fen, reason, transfer_id, cap_period, ts_ns, cover_seq, "
            "cover_ns) FROM STDIN (FORMAT binary)",
            batch.voucher_events, [](CopyWriter& w, const detail::VoucherEventRow& row) {
                const exchange::VoucherEvent& e = row.event;
                const bool program_event = e.kind == VoucherEventKind::ProgramCreated ||
                                           e.kind == VoucherEventKind::ProgramFunded;
                const bool claim = e.kind == VoucherEventKind::Redeemed ||
                                   e.kind == VoucherEventKind::RedemptionRefused ||
                                   e.kind == VoucherEventKind::RedeemedAtFill ||
                                   e.kind == VoucherEventKind::Returned;
                const auto id_or_null = [&w](std::uint64_t id) {
                    w.int8_or_null(static_cast<std::int64_t>(id), id == 0);
                };
                w.row(17);
                w.int8(static_cast<std::int64_t>(e.seq));
                w.int4(static_cast<std::int32_t>(row.idx));
                w.int2(static_cast<std::int16_t>(e.kind));
                w.int4(static_cast<std::int32_t>(e.program));
                id_or_null(e.voucher);
                id_or_null(e.trade_id);
                if (program_event) {
                    w.null();
                } else {
                    w.int2(static_cast<std::int16_t>(e.side));
                }
                w.int8(static_cast<std::int64_t>(e.beneficiary));
                id_or_null(e.provider);
                w.int8(e.amount_fen);
                w.int8(e.share_fen);
                w.int2(static_cast<std::int16_t>(e.reason));
                id_or_null(e.transfer_id);
                // The cap period is a redemption's or a refusal's (period 0 is a value).
                w.int8_or_null(e.cap_period, !claim);
                w.int8(e.ts_ns);
                // When a buy order took the cover a payment at its fill spends.
                const bool at_fill = e.kind == VoucherEventKind::RedeemedAtFill;
                w.int8_or_null(static_cast<std::int64_t>(e.cover_seq), !at_fill);
                w.int8_or_null(e.cover_ns, !at_fill);
            });
    }
}

// The batch's execution reports after journal seq `through`: a recovery finds those at or
// before it in PostgreSQL already (see LedgerProjector::write_batch). A batch collects its
// reports in journal order, so these are the end of its list.
std::span<const detail::ReportRow> reports_after(const Batch& batch, std::uint64_t through) {
    const auto first =
        std::partition_point(batch.reports.begin(), batch.reports.end(),
                             [through](const detail::ReportRow& r) { return r.seq <= through; });
    return {first, batch.reports.end()};
}

void copy_reports(Copier& copier, const Batch& batch, std::uint64_t through) {
    const std::span<const detail::ReportRow> rows = reports_after(batch, through);
    if (rows.empty()) {
        return;
    }
    copier.copy(
        "COPY execution_reports (seq, idx, account, report_seq, order_id, client_order_id, "
        "instrument, side, exec, mass_cancel, status, code, price, quantity, leaves, filled, "
        "trade_ids, received_ns, sequenced_ns) FROM STDIN (FORMAT binary)",
        rows,
        [&batch, scratch = std::string()](CopyWriter& w, const detail::ReportRow& row) mutable {
            const exchange::Outbound& r = row.report;
            w.row(19);
            w.int8(static_cast<std::int64_t>(row.seq));
            w.int4(static_cast<std::int32_t>(row.idx));
            w.int8(static_cast<std::int64_t>(r.account));
            w.int8(static_cast<std::int64_t>(r.seq));
            w.int8(static_cast<std::int64_t>(r.order_id));
            w.text(stored_client_id(r.client_order_id.view(), scratch));
            w.int8(static_cast<std::int64_t>(r.instrument));
            w.int2(static_cast<std::int16_t>(r.side));
            w.int2(static_cast<std::int16_t>(r.exec));
            w.boolean(r.kind == exchange::OutKind::MassCancelDone);
            w.int2(static_cast<std::int16_t>(r.status));
            w.int2(static_cast<std::int16_t>(r.code));
            w.int8(r.price);
            w.int8(r.quantity);
            w.int8(r.leaves);
            w.int8(r.filled);
            w.int8_array(std::span<const std::uint64_t>(batch.report_trades)
                             .subspan(row.trades_begin, row.trades_count));
            w.int8_or_null(row.received_ns, row.received_ns == 0);
            w.int8(r.ts_ns);
        });
}

}  // namespace

// ---- Construction and recovery -----------------------------------------------------------

LedgerProjector::LedgerProjector(ProjectorConfig config)
    : config_(std::move(config)),
      collector_(std::make_unique<detail::Collector>()),
      audit_(std::make_unique<detail::AuditWriter>(config_.audit_key,
                                                   config_.audit_checkpoint_interval_ns)) {
    if (config_.batch_requests_max == 0) {
        config_.batch_requests_max = 1;
    }
    reset_replica();
    if (config_.snapshot_every > 0) {
        snapshotter_ = std::thread([this] { run_snapshots(); });
    }
}

LedgerProjector::~LedgerProjector() {
    stop();
    stop_writer();
    if (snapshotter_.joinable()) {
        // The snapshot waiting, if any, is written first: the next start may use it.
        {
            const std::lock_guard<std::mutex> lock(snapshot_mutex_);
            snapshot_stop_ = true;
        }
        snapshot_cv_.notify_all();
        snapshotter_.join();
    }
    if (lock_) {
        // Released now rather than when the server notices the connection closed, so
        // that a projector started next finds it free.
        try {
            lock_->query("SELECT pg_advisory_unlock(" + std::to_string(kLockKey) + ")");
        } catch (const std::exception&) {
            // The connection is gone, and the lock with it.
        }
    }
}

void LedgerProjector::reset_replica() {
    collector_->end();
    replica_.reset();  // frees the old one's tables before the new one allocates its own
    surveillance_ = std::make_unique<surveillance::Surveillance>(config_.surveillance, *collector_);
    collector_->watch_with(surveillance_.get());
    replica_ = std::make_unique<exchange::Exchange>(config_.exchange, *collector_);
    replica_->set_observers(collector_.get(), collector_.get(), collector_.get());
}

RecoveryInfo LedgerProjector::start_from_database() {
    const auto started = std::chrono::steady_clock::now();
    stop_writer();
    recovered_ = false;
    if (lock_) {
        // libpq learns that a connection broke only when it uses it; the lock went with it.
        try {
            lock_->query("SELECT 1");
        } catch (const std::exception&) {
            lock_.reset();
        }
    }
    if (!lock_ || !lock_->connected()) {
        lock_ = std::make_unique<Pg>(config_.database_url);
        lock_->open();
        // A projector that just ended (or a killed cpxd) may hold the lock until its
        // server process notices: a short wait before giving up.
        bool locked = false;
        for (int attempt = 0; attempt < 20 && !locked; ++attempt) {
            if (attempt > 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            PgResult r =
                lock_->query("SELECT pg_try_advisory_lock(" + std::to_string(kLockKey) + ")");
            locked = r.text(0, 0) == "t";
        }
        if (!locked) {
            lock_.reset();
            throw std::runtime_error(
                "projector: another ledger projector holds this database's projector lock");
        }
    }
    reader_ = std::make_unique<Pg>(config_.database_url);
    reader_->open();

    RecoveryInfo info;
    {
        PgResult r = reader_->query("SELECT seq FROM projector_progress");
        if (r.rows() != 1) {
            throw std::runtime_error("projector: projector_progress does not have its one row");
        }
        info.progress_seq = static_cast<std::uint64_t>(r.i64(0, 0));
    }
    {
        PgResult r = reader_->query("SELECT coalesce(max(seq), 0) FROM journal");
        const auto journal_end = static_cast<std::uint64_t>(r.i64(0, 0));
        if (info.progress_seq > journal_end) {
            throw std::runtime_error(
                "projector: its progress (seq " + std::to_string(info.progress_seq) +
                ") is past the journal's end (seq " + std::to_string(journal_end) + ")");
        }
    }

    {
        // The primary key (seq, idx) answers this from its last page.
        PgResult r = reader_->query("SELECT coalesce(max(seq), 0) FROM execution_reports");
        info.reports_seq = static_cast<std::uint64_t>(r.i64(0, 0));
        reports_through_ = info.reports_seq;
    }

    audit_->load(*reader_, info.progress_seq);

    reset_replica();
    if (info.progress_seq > 0) {
        const std::optional<journal::StoredSnapshot> snapshot =
            journal::PgSnapshotStore(config_.database_url).load_latest(info.progress_seq);
        if (snapshot) {
            std::string error;
            if (!replica_->load_snapshot(snapshot->bytes, error)) {
                info.snapshot_refused =
                    "snapshot " + std::to_string(snapshot->seq) + " does not load: " + error;
            } else if (replica_->state_hash() != snapshot->state_hash ||
                       replica_->request_seq() != snapshot->seq) {
                info.snapshot_refused = "snapshot " + std::to_string(snapshot->seq) +
                                        " loads to another state than recorded";
            } else {
                info.snapshot_seq = snapshot->seq;
            }
            if (!info.snapshot_refused.empty()) {
                reset_replica();  // the journal alone rebuilds everything
            } else {
                replica_->set_observers(collector_.get(), collector_.get(), collector_.get());
            }
        }
    }

    // The silent replay: PostgreSQL has everything up to the progress.
    collector_->end();
    journal::Decoded decoded;
    std::string error;
    while (replica_->request_seq() < info.progress_seq) {
        const std::uint64_t first = replica_->request_seq() + 1;
        const std::uint64_t last =
            std::min(info.progress_seq,
                     first + std::max<std::uint64_t>(config_.batch_requests_max, 100'000) - 1);
        const std::uint64_t n = read_journal(
            *reader_, first, last,
            [&](std::uint64_t seq, std::int64_t ts_ns, std::uint16_t kind, std::string_view body) {
                if (!journal::decode(kind, ts_ns, body, decoded, error)) {
                    throw std::runtime_error("projector: journal row " + std::to_string(seq) +
                                             " does not decode: " + error);
                }
                surveillance_->begin_request(seq, ts_ns);
                replica_->apply(decoded.request);
                surveillance_->end_request(*replica_);
            });
        if (n != last + 1 - first) {
            throw std::runtime_error("projector: the journal lacks rows before its progress");
        }
        info.replayed += n;
    }
    if (replica_->request_seq() != info.progress_seq) {
        throw std::runtime_error("projector: the replica is at seq " +
                                 std::to_string(replica_->request_seq()) +
                                 " after replaying to seq " + std::to_string(info.progress_seq));
    }

    // The replica opened some accounts without a journalled request (the exchange's
    // own, at construction); PostgreSQL gets them now. Every other account must agree.
    const std::vector<ledger::Account> missing =
        accounts_missing(*reader_, replica_->ledger(), info.progress_seq);
    if (!missing.empty()) {
        reader_->exec("BEGIN");
        Copier copier(*reader_);
        copy_accounts(copier, missing);
        reader_->exec("COMMIT");
        stats_.accounts.fetch_add(missing.size(), std::memory_order_relaxed);
        info.accounts_inserted = missing.size();
    }

    last_snapshot_seq_ = info.snapshot_seq;
    projected_seq_.store(info.progress_seq, std::memory_order_release);
    applied_seq_.store(info.progress_seq, std::memory_order_release);
    start_writer();
    recovered_ = true;
    info.elapsed_ms = elapsed_ms(started);
    return info;
}

// ---- Projecting ------------------------------------------------------------------------

std::uint64_t LedgerProjector::project_batch() {
    auto started = std::chrono::steady_clock::now();
    auto batch = std::make_unique<Batch>();
    const std::uint64_t first = replica_->request_seq() + 1;
    batch->first_seq = first;
    collector_->begin(batch.get());
    journal::Decoded decoded;
    std::string error;
    std::uint64_t n = 0;
    try {
        n = read_journal(
            *reader_, first, first + config_.batch_requests_max - 1,
            [&](std::uint64_t seq, std::int64_t ts_ns, std::uint16_t kind, std::string_view body) {
                if (!journal::decode(kind, ts_ns, body, decoded, error)) {
                    throw std::runtime_error("projector: journal row " + std::to_string(seq) +
                                             " does not decode: " + error);
                }
                batch->journal.push_back(detail::JournalRow{
                    seq, ts_ns, kind, batch->journal_bodies.size(), body.size()});
                batch->journal_bodies.append(body);
                collector_->set_payload(decoded.request.payload);
                collector_->begin_request(seq, decoded.request.received_ns);
                surveillance_->begin_request(seq, ts_ns);
                replica_->apply(decoded.request);
                surveillance_->end_request(*replica_);
                collector_->set_payload(nullptr);
                collector_->describe_programs(*replica_);
            });
    } catch (...) {
        // The replica may hold part of a batch: it is rebuilt by the next recovery.
        collector_->set_payload(nullptr);
        collector_->end();
        recovered_ = false;
        throw;
    }
    collector_->end();
    if (n == 0) {
        return 0;
    }
    batch->last_seq = first + n - 1;
    assert(replica_->request_seq() == batch->last_seq);
    applied_seq_.store(batch->last_seq, std::memory_order_release);
    if (config_.snapshot_every > 0 &&
        batch->last_seq - last_snapshot_seq_ >= config_.snapshot_every) {
        auto taking = std::chrono::steady_clock::now();
        batch->has_snapshot = true;
        batch->snapshot_hash = replica_->state_hash();
        replica_->save_snapshot(batch->snapshot);
        last_snapshot_seq_ = batch->last_seq;
        lap(stats_.snapshot_take_us, taking);
    }
    lap(stats_.read_apply_us, started);
    enqueue(std::move(batch));
    if (config_.verify_each_batch) {
        drain();
        const DatabaseCheck check = check_against_database(false);
        if (!check.ok()) {
            recovered_ = false;
            throw std::runtime_error(
                "projector: after seq " + std::to_string(check.seq) +
                " PostgreSQL differs from the replica: " + check.problems.front());
        }
    }
    return n;
}

std::uint64_t LedgerProjector::project_available() {
    if (thread_.joinable()) {
        throw std::logic_error("projector: project_available() while the thread runs");
    }
    if (!recovered_) {
        start_from_database();
    }
    std::uint64_t total = 0;
    try {
        while (true) {
            const std::uint64_t n = project_batch();
            total += n;
            if (n == 0) {
                break;
            }
        }
        drain();
        wait_snapshots();
    } catch (...) {
        recovered_ = false;
        stop_writer();
        throw;
    }
    return total;
}

void LedgerProjector::start() {
    if (thread_.joinable()) {
        return;
    }
    stopping_.store(false);
    thread_ = std::thread([this] { run(); });
}

void LedgerProjector::stop() {
    if (!thread_.joinable()) {
        return;
    }
    stopping_.store(true);
    wake();
    thread_.join();
}

void LedgerProjector::wake() {
    {
        const std::lock_guard<std::mutex> lock(wake_mutex_);
        wake_flag_ = true;
    }
    wake_cv_.notify_one();
}

void LedgerProjector::report_error(const std::string& error) {
    if (on_error_) {
        on_error_(error);
    }
}

void LedgerProjector::run() {
    std::int64_t backoff_ms = config_.retry_wait_ms_min;
    const auto wait = [&](std::int64_t ms) {
        std::unique_lock<std::mutex> lock(wake_mutex_);
        wake_cv_.wait_for(lock, std::chrono::milliseconds(ms),
                          [&] { return wake_flag_ || stopping_.load(); });
        wake_flag_ = false;
    };
    while (!stopping_.load()) {
        try {
            if (!recovered_) {
                start_from_database();
            }
            const std::uint64_t n = project_batch();
            backoff_ms = config_.retry_wait_ms_min;
            if (n < config_.batch_requests_max) {
                wait(config_.poll_interval_ms);
            }
        } catch (const std::exception& e) {
            stats_.failures.fetch_add(1, std::memory_order_relaxed);
            report_error(e.what());
            recovered_ = false;
            stop_writer();
            wait(backoff_ms);
            backoff_ms = std::min(backoff_ms * 2, config_.retry_wait_ms_max);
        }
    }
    // The batch in hand is committed before the thread ends.
    try {
        drain();
    } catch (const std::exception& e) {
        stats_.failures.fetch_add(1, std::memory_order_relaxed);
        report_error(e.what());
        recovered_ = false;
    }
    stop_writer();
}

// ---- The writer thread -----------------------------------------------------------------

void LedgerProjector::start_writer() {
    stop_writer();
    // A batch's transfers reach ledger_apply_transfers() as a transition table, which
    // the trigger reads several times: with work_mem large enough it stays in memory
    // instead of spilling to a temporary file (and the trigger's joins hash in memory).
    // No JIT: compiling a large statement's plan costs more than running it.
    writer_pg_ = std::make_unique<Pg>(
        config_.database_url,
        "SET work_mem = '" + std::to_string(config_.writer_work_mem_mb) + "MB'; SET jit = off");
    writer_pg_->open();
    writer_stop_ = false;
    writer_error_.clear();
    writer_busy_ = false;
    // The report writer's session connects when it gets its first batch.
    report_pg_ = std::make_unique<Pg>(config_.database_url, "SET jit = off");
    report_stop_ = false;
    report_batch_ = nullptr;
    report_error_.clear();
    report_writer_ = std::thread([this] { run_report_writer(); });
    writer_ = std::thread([this] { run_writer(); });
}

void LedgerProjector::stop_writer() {
    if (!writer_.joinable()) {
        return;
    }
    {
        const std::lock_guard<std::mutex> lock(writer_mutex_);
        writer_stop_ = true;
    }
    writer_cv_.notify_all();
    writer_.join();
    // A batch still queued after a failure was not written: the next recovery reads it
    // again.
    queued_.reset();
    writer_pg_.reset();
    // The writer thread never ends with a batch handed over, so this one is idle.
    {
        const std::lock_guard<std::mutex> lock(report_mutex_);
        assert(report_batch_ == nullptr);
        report_stop_ = true;
    }
    report_cv_.notify_all();
    report_writer_.join();
    report_pg_.reset();
}

void LedgerProjector::enqueue(std::unique_ptr<Batch> batch) {
    std::unique_lock<std::mutex> lock(writer_mutex_);
    writer_cv_.wait(lock, [&] { return queued_ == nullptr || !writer_error_.empty(); });
    if (!writer_error_.empty()) {
        recovered_ = false;
        throw std::runtime_error(writer_error_);
    }
    queued_ = std::move(batch);
    lock.unlock();
    writer_cv_.notify_all();
}

void LedgerProjector::drain() {
    std::unique_lock<std::mutex> lock(writer_mutex_);
    writer_cv_.wait(
        lock, [&] { return (queued_ == nullptr && !writer_busy_) || !writer_error_.empty(); });
    if (!writer_error_.empty()) {
        recovered_ = false;
        throw std::runtime_error(writer_error_);
    }
}

void LedgerProjector::run_writer() {
    std::unique_lock<std::mutex> lock(writer_mutex_);
    while (true) {
        writer_cv_.wait(lock, [&] { return queued_ != nullptr || writer_stop_; });
        if (queued_ == nullptr) {
            return;  // stopping, nothing left
        }
        std::unique_ptr<Batch> batch = std::move(queued_);
        writer_busy_ = true;
        lock.unlock();
        writer_cv_.notify_all();
        std::string error;
        try {
            write_batch(*batch);
        } catch (const std::exception& e) {
            error = e.what();
        }
        batch.reset();
        lock.lock();
        writer_busy_ = false;
        if (!error.empty()) {
            writer_error_ = error;
            queued_.reset();
            writer_cv_.notify_all();
            return;
        }
        writer_cv_.notify_all();
    }
}

void LedgerProjector::write_batch(Batch& batch) {
    const auto started = std::chrono::steady_clock::now();
    auto clock = started;
    Pg& pg = *writer_pg_;
    const bool parallel_reports =
        config_.parallel_reports_min > 0 && batch.reports.size() >= config_.parallel_reports_min;
    // However this function ends, the report writer is done with the batch first: the
    // caller frees it.
    struct ReportsDone {
        LedgerProjector& projector;
        bool handed;
        ~ReportsDone() {
            if (handed) {
                projector.await_reports();
            }
        }
    } reports_done{*this, parallel_reports};
    if (parallel_reports) {
        hand_reports(batch);
    }
    bool checkpointed = false;
    // Collected only for an observer: the trades with their places in the audit log.
    std::unique_ptr<CommittedBatch> observed;
    if (on_committed_) {
        observed = std::make_unique<CommittedBatch>();
        observed->first_seq = batch.first_seq;
        observed->last_seq = batch.last_seq;
        observed->trades.reserve(batch.obligations.size());
    }
    try {
        pg.open();
        pg.exec("BEGIN");
        // The fence: the progress moves from exactly where this batch starts, so a batch
        // is never written twice, even by two projectors at once (the second waits for
        // the first's row lock, then finds the progress moved).
        if (pg.exec_params("UPDATE projector_progress SET seq = $1, updated_at = now() "
                           "WHERE seq = $2",
                           {std::to_string(batch.last_seq), std::to_string(batch.first_seq - 1)}) !=
            1) {
            throw std::runtime_error("projector: the stored progress is not seq " +
                                     std::to_string(batch.first_seq - 1) +
                                     ": another projector wrote this batch");
        }
        Copier copier(pg);
        lap(stats_.commit_us, clock);
        if (!batch.accounts.empty()) {
            copy_accounts(copier, batch.accounts);
        }
        lap(stats_.copy_accounts_us, clock);
        if (batch.transfer_rows() > 0) {
            // A netted transfer is skipped: no row is written for it.
            copier.copy(
                "COPY transfers (id, debit_account_id, credit_account_id, amount, pending_id, "
                "flags, code, seq, ts_ns, user_data) FROM STDIN (FORMAT binary)",
                batch.transfers, [](CopyWriter& w, const ledger::Transfer& t) {
                    if (t.flags == detail::kNetted) {
                        return;
                    }
                    w.row(10);
                    w.int8(static_cast<std::int64_t>(t.id));
                    w.int8(static_cast<std::int64_t>(t.debit_account_id));
                    w.int8(static_cast<std::int64_t>(t.credit_account_id));
                    w.int8(t.amount);
                    w.int8_or_null(static_cast<std::int64_t>(t.pending_id), t.pending_id == 0);
                    w.int2(static_cast<std::int16_t>(t.flags));
                    w.int2(static_cast<std::int16_t>(t.code));
                    w.int8(static_cast<std::int64_t>(t.seq));
                    w.int8(t.ts_ns);
                    w.int8(static_cast<std::int64_t>(t.user_data));  // bigint bits
                });
        }
        lap(stats_.copy_transfers_us, clock);
        if (!batch.obligations.empty()) {
            copier.copy(
                "COPY obligations (id, instrument, buyer, provider, buy_order, sell_order, price, "
                "quantity, amount_fen, traded_ns, window_end_ns, created_seq) FROM STDIN "
                "(FORMAT binary)",
                batch.obligations, [](CopyWriter& w, const exchange::Obligation& o) {
                    w.row(12);
                    w.int8(static_cast<std::int64_t>(o.id));
                    w.int8(static_cast<std::int64_t>(o.instrument));
                    w.int8(static_cast<std::int64_t>(o.buyer));
                    w.int8(static_cast<std::int64_t>(o.provider));
                    w.int8(static_cast<std::int64_t>(o.buy_order));
                    w.int8(static_cast<std::int64_t>(o.sell_order));
                    w.int8(o.price);
                    w.int8(o.quantity);
                    w.int8(o.amount_fen);
                    w.int8(o.traded_ns);
                    w.int8(o.window_end_ns);
                    w.int8(static_cast<std::int64_t>(o.created_seq));
                });
        }
        lap(stats_.copy_obligations_us, clock);
        if (!batch.events.empty()) {
            copier.copy(
                "COPY obligation_events (obligation_id, kind, seq, ts_ns, delivered_quantity, "
                "paid_fen, fee_fen, refunded_fen, penalty_fen, note) FROM STDIN (FORMAT binary)",
                batch.events, [&batch](CopyWriter& w, const detail::EventRow& e) {
                    w.row(10);
                    w.int8(static_cast<std::int64_t>(e.obligation_id));
                    w.int2(static_cast<std::int16_t>(e.kind));
                    w.int8(static_cast<std::int64_t>(e.seq));
                    w.int8(e.ts_ns);
                    w.int8(e.delivered_quantity);
                    w.int8(e.amounts.paid_fen);
                    w.int8(e.amounts.fee_fen);
                    w.int8(e.amounts.refunded_fen);
                    w.int8(e.amounts.penalty_fen);
                    if (e.note >= 0) {
                        w.text(batch.notes[static_cast<std::size_t>(e.note)]);
                    } else {
                        w.null();
                    }
                });
        }
        lap(stats_.copy_events_us, clock);
        // After the transfers and the obligation events: a program names its budget
        // account, a redemption its transfer and its settled trade.
        copy_vouchers(copier, batch);
        lap(stats_.copy_vouchers_us, clock);
        if (!batch.alerts.empty()) {
            copier.copy(
                "COPY surveillance_alerts (seq, idx, rule, ts_ns, account, instrument, orders, "
                "trades, detail) FROM STDIN (FORMAT binary)",
                batch.alerts, [](CopyWriter& w, const surveillance::Alert& a) {
                    w.row(9);
                    w.int8(static_cast<std::int64_t>(a.seq));
                    w.int4(static_cast<std::int32_t>(a.idx));
                    w.int2(static_cast<std::int16_t>(a.rule));
                    w.int8(a.ts_ns);
                    w.int8(static_cast<std::int64_t>(a.account));
                    w.int8(static_cast<std::int64_t>(a.instrument));
                    w.int8_array(a.orders);
                    w.int8_array(a.trades);
                    w.text(a.detail);
                });
        }
        if (!parallel_reports) {
            copy_reports(copier, batch, reports_through_);
            lap(stats_.copy_reports_us, clock);
        }
        checkpointed = audit_->write(pg, batch, observed ? &observed->trades : nullptr);
        lap(stats_.copy_audit_us, clock);
        if (parallel_reports) {
            // The reports commit first: once the progress moves past the batch, its
            // reports are in PostgreSQL.
            const std::string error = await_reports();
            lap(stats_.wait_reports_us, clock);
            if (!error.empty()) {
                throw std::runtime_error("projector: the execution reports did not commit: " +
                                         error);
            }
        }
        pg.exec("COMMIT");
        lap(stats_.commit_us, clock);
    } catch (const std::exception& e) {
        // The commit may have happened before the connection broke: the progress says.
        bool committed = false;
        if (!pg.connected()) {
            try {
                pg.open();
                PgResult r = pg.query("SELECT seq FROM projector_progress");
                committed =
                    r.rows() == 1 && static_cast<std::uint64_t>(r.i64(0, 0)) >= batch.last_seq;
            } catch (const std::exception&) {
                committed = false;
            }
        } else {
            try {
                pg.exec("ROLLBACK");
            } catch (const std::exception&) {
                pg.close();
            }
        }
        if (!committed) {
            throw std::runtime_error(std::string(e.what()) + " (batch of seq " +
                                     std::to_string(batch.first_seq) + " to " +
                                     std::to_string(batch.last_seq) + ")");
        }
    }
    projected_seq_.store(batch.last_seq, std::memory_order_release);
    stats_.batches.fetch_add(1, std::memory_order_relaxed);
    stats_.requests.fetch_add(batch.requests(), std::memory_order_relaxed);
    stats_.accounts.fetch_add(batch.accounts.size(), std::memory_order_relaxed);
    stats_.transfers.fetch_add(batch.transfer_rows(), std::memory_order_relaxed);
    stats_.transfers_netted.fetch_add(batch.netted, std::memory_order_relaxed);
    stats_.obligations.fetch_add(batch.obligations.size(), std::memory_order_relaxed);
    stats_.obligation_events.fetch_add(batch.events.size(), std::memory_order_relaxed);
    stats_.voucher_events.fetch_add(batch.voucher_events.size(), std::memory_order_relaxed);
    stats_.alerts.fetch_add(batch.alerts.size(), std::memory_order_relaxed);
    // After a recovery, some of the first batch's reports may have been there already.
    stats_.reports.fetch_add(reports_after(batch, reports_through_).size(),
                             std::memory_order_relaxed);
    stats_.audit_records.fetch_add(
        batch.journal.size() + batch.transfer_rows() + batch.obligations.size(),
        std::memory_order_relaxed);
    stats_.audit_checkpoints.fetch_add(checkpointed ? 1 : 0, std::memory_order_relaxed);
    stats_.last_batch_requests.store(batch.requests(), std::memory_order_relaxed);
    stats_.last_commit_ms.store(elapsed_ms(started), std::memory_order_relaxed);

    if (observed) {
        // The alerts are written as the batch holds them, so they go out in that order;
        // the batch is done with them.
        observed->alerts = std::move(batch.alerts);
        try {
            on_committed_(*observed);
        } catch (const std::exception& e) {
            // The batch is committed whatever the observer did: it is not retried.
            report_error(std::string("projector: the committed-batch observer failed: ") +
                         e.what());
        }
    }

    if (batch.has_snapshot) {
        // After the commit, so that a stored snapshot is never ahead of the progress of
        // the projector that took it.
        offer_snapshot(batch.last_seq, batch.snapshot_hash, std::move(batch.snapshot));
    }
}

// ---- The report writer -----------------------------------------------------------------

void LedgerProjector::hand_reports(const Batch& batch) {
    {
        const std::lock_guard<std::mutex> lock(report_mutex_);
        assert(report_batch_ == nullptr);
        report_batch_ = &batch;
        report_error_.clear();
    }
    report_cv_.notify_all();
}

std::string LedgerProjector::await_reports() {
    std::unique_lock<std::mutex> lock(report_mutex_);
    report_cv_.wait(lock, [&] { return report_batch_ == nullptr; });
    return report_error_;
}

void LedgerProjector::run_report_writer() {
    std::unique_lock<std::mutex> lock(report_mutex_);
    while (true) {
        report_cv_.wait(lock, [&] { return report_batch_ != nullptr || report_stop_; });
        if (report_batch_ == nullptr) {
            return;
        }
        const Batch& batch = *report_batch_;
        lock.unlock();
        const auto started = std::chrono::steady_clock::now();
        Pg& pg = *report_pg_;
        std::string error;
        try {
            pg.open();
            pg.exec("BEGIN");
            Copier copier(pg);
            copy_reports(copier, batch, reports_through_);
            pg.exec("COMMIT");
        } catch (const std::exception& e) {
            // Whether a COMMIT whose connection broke took effect is left to the
            // recovery that follows the batch's failure: it reads how far the reports
            // reach.
            error = e.what();
            if (pg.connected()) {
                try {
                    pg.exec("ROLLBACK");
                } catch (const std::exception&) {
                    pg.close();
                }
            }
        }
        stats_.copy_reports_us.fetch_add(elapsed_us(started), std::memory_order_relaxed);
        lock.lock();
        report_batch_ = nullptr;
        report_error_ = std::move(error);
        report_cv_.notify_all();
    }
}

// ---- The snapshot thread ---------------------------------------------------------------

void LedgerProjector::offer_snapshot(std::uint64_t seq, std::uint64_t state_hash,
                                     std::string bytes) {
    {
        const std::lock_guard<std::mutex> lock(snapshot_mutex_);
        snapshot_seq_ = seq;
        snapshot_hash_ = state_hash;
        snapshot_bytes_ = std::move(bytes);
        snapshot_waiting_ = true;
    }
    snapshot_cv_.notify_all();
}

void LedgerProjector::wait_snapshots() {
    std::unique_lock<std::mutex> lock(snapshot_mutex_);
    snapshot_cv_.wait(lock, [&] { return !snapshot_waiting_ && !snapshot_busy_; });
}

void LedgerProjector::run_snapshots() {
    std::unique_lock<std::mutex> lock(snapshot_mutex_);
    while (true) {
        snapshot_cv_.wait(lock, [&] { return snapshot_waiting_ || snapshot_stop_; });
        if (!snapshot_waiting_) {
            return;
        }
        const std::uint64_t seq = snapshot_seq_;
        const std::uint64_t state_hash = snapshot_hash_;
        const std::string bytes = std::move(snapshot_bytes_);
        snapshot_bytes_ = std::string();
        snapshot_waiting_ = false;
        snapshot_busy_ = true;
        lock.unlock();
        // A failed snapshot costs only a longer restart.
        auto writing = std::chrono::steady_clock::now();
        try {
            journal::PgSnapshotStore(config_.database_url, config_.snapshot_keep)
                .write(seq, state_hash, bytes);
            stats_.snapshots.fetch_add(1, std::memory_order_relaxed);
        } catch (const std::exception& e) {
            stats_.failures.fetch_add(1, std::memory_order_relaxed);
            report_error(std::string("projector: snapshot failed: ") + e.what());
        }
        lap(stats_.snapshot_write_us, writing);
        lock.lock();
        snapshot_busy_ = false;
        snapshot_cv_.notify_all();
    }
}

// ---- The check -------------------------------------------------------------------------

DatabaseCheck LedgerProjector::check_against_database(bool recompute) const {
    DatabaseCheck check;
    check.seq = projected_seq();
    Pg pg(config_.database_url);
    pg.open();
    // One snapshot of the database for every query below.
    pg.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    {
        PgResult r = pg.query("SELECT seq FROM projector_progress");
        const auto stored = static_cast<std::uint64_t>(r.i64(0, 0));
        if (stored != check.seq || replica_->request_seq() != check.seq) {
            check.problems.push_back("progress: stored " + std::to_string(stored) + ", projected " +
                                     std::to_string(check.seq) + ", replica at " +
                                     std::to_string(replica_->request_seq()));
        }
    }
    const ledger::Ledger& ledger = replica_->ledger();
    {
        PgResult r = pg.query(kSelectAccounts);
        const std::vector<ledger::Account> accounts = ledger.accounts();
        check.accounts = accounts.size();
        if (static_cast<std::size_t>(r.rows()) != accounts.size()) {
            check.problems.push_back("accounts: PostgreSQL has " + std::to_string(r.rows()) +
                                     ", the replica " + std::to_string(accounts.size()));
        }
        const std::size_t n = std::min(accounts.size(), static_cast<std::size_t>(r.rows()));
        for (std::size_t i = 0; i < n; ++i) {
            const int row = static_cast<int>(i);
            const ledger::Account& a = accounts[i];
            const ledger::Account stored = account_of_row(r, row);
            if (!(stored == a)) {
                check.problems.push_back(
                    "account " + std::to_string(a.id) + ": PostgreSQL " +
                    std::to_string(stored.id) + " totals " + std::to_string(stored.debits_pending) +
                    "/" + std::to_string(stored.debits_posted) + "/" +
                    std::to_string(stored.credits_pending) + "/" +
                    std::to_string(stored.credits_posted) + ", the replica " +
                    std::to_string(a.debits_pending) + "/" + std::to_string(a.debits_posted) + "/" +
                    std::to_string(a.credits_pending) + "/" + std::to_string(a.credits_posted));
            }
        }
    }
    {
        PgResult r = pg.query(
            "SELECT debits_pending, debits_posted, credits_pending, credits_posted FROM "
            "ledger_totals");
        const ledger::Ledger::Totals totals = ledger.totals();
        const auto u = [&](int column) { return static_cast<std::uint64_t>(r.i64(0, column)); };
        if (u(0) != totals.debits_pending || u(1) != totals.debits_posted ||
            u(2) != totals.credits_pending || u(3) != totals.credits_posted) {
            check.problems.push_back("ledger_totals differ from the replica's totals");
        }
        if (u(0) != u(2) || u(1) != u(3)) {
            check.problems.push_back("ledger_totals: debits and credits differ");
        }
    }
    if (recompute) {
        PgResult r = pg.query("SELECT count(*) FROM ledger_balance_check");
        if (r.i64(0, 0) != 0) {
            check.problems.push_back("ledger_balance_check lists " + std::string(r.text(0, 0)) +
                                     " accounts whose totals differ from their transfers");
        }
    }
    {
        PgResult r = pg.query(
            "SELECT id, state, delivered_quantity FROM obligation_status "
            "WHERE state IN ('open', 'delivered', 'disputed') ORDER BY id");
        const std::vector<exchange::Obligation> open = replica_->open_obligations();
        check.open_obligations = open.size();
        if (static_cast<std::size_t>(r.rows()) != open.size()) {
            check.problems.push_back("open obligations: PostgreSQL has " +
                                     std::to_string(r.rows()) + ", the replica " +
                                     std::to_string(open.size()));
        }
        const std::size_t n = std::min(open.size(), static_cast<std::size_t>(r.rows()));
        for (std::size_t i = 0; i < n; ++i) {
            const int row = static_cast<int>(i);
            const exchange::Obligation& o = open[i];
            if (static_cast<std::uint64_t>(r.i64(row, 0)) != o.id ||
                r.text(row, 1) != exchange::obligation_state_name(o.state) ||
                r.i64(row, 2) != o.delivered_quantity) {
                check.problems.push_back(
                    "obligation " + std::to_string(o.id) + " is " +
                    exchange::obligation_state_name(o.state) + " in the replica, PostgreSQL has " +
                    std::string(r.text(row, 0)) + " " + std::string(r.text(row, 1)));
            }
        }
    }
    {
        PgResult r = pg.query(
            "SELECT id, funded_fen, budget_left_fen, granted_fen, revoked_fen, redeemed_fen, "
            "vouchers, redemptions FROM voucher_program_status ORDER BY id");
        const std::vector<exchange::VoucherProgramView> programs = replica_->voucher_programs();
        check.voucher_programs = programs.size();
        if (static_cast<std::size_t>(r.rows()) != programs.size()) {
            check.problems.push_back("voucher programs: PostgreSQL has " +
                                     std::to_string(r.rows()) + ", the replica " +
                                     std::to_string(programs.size()));
        }
        const std::size_t n = std::min(programs.size(), static_cast<std::size_t>(r.rows()));
        for (std::size_t i = 0; i < n; ++i) {
            const int row = static_cast<int>(i);
            const exchange::VoucherProgramView& p = programs[i];
            const std::int64_t expected[] = {static_cast<std::int64_t>(p.spec.id),
                                             p.funded_fen,
                                             p.budget_fen,
                                             p.granted_fen,
                                             p.revoked_fen,
                                             p.redeemed_fen,
                                             static_cast<std::int64_t>(p.vouchers),
                                             static_cast<std::int64_t>(p.redemptions)};
            for (int column = 0; column < 8; ++column) {
                if (r.i64(row, column) != expected[column]) {
                    check.problems.push_back("voucher program " + std::to_string(p.spec.id) +
                                             ": column " + std::to_string(column) +
                                             " of voucher_program_status is " +
                                             std::string(r.text(row, column)) + ", the replica's " +
                                             std::to_string(expected[column]));
                    break;
                }
            }
        }
    }
    pg.exec("COMMIT");
    return check;
}

}  // namespace cpx::projector
