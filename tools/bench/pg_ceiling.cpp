// The write ceiling of PostgreSQL for the ledger: how many transfers per second the
// database can make durable, and what the ledger's own enforcement (reference checks,
// the balance trigger, the CHECK constraints, the indexes) costs on top of a plain append.
//
//   (a) raw ceiling: COPY of ledger-like rows into a plain table with the columns of
//       `transfers` and its primary key only (no trigger, no foreign key, no other
//       index), in batches of --batch rows, each batch its own durable transaction
//       (synchronous_commit stays on).
//   (b) the same rows, batched the same way, into the real `transfers` table: its
//       reference checks (foreign keys up to migration 0004, a per-statement check in
//       the balance trigger since 0005), the balance trigger, the indexes and the account
//       CHECK constraints all run.
//   (c) one row per transaction: single-row INSERTs, each committed on its own, for
//       --commit_seconds into each table: commits per second and the commit latency
//       percentiles, i.e. the cost of one durable commit.
//
// Everything happens in a scratch database created on the server of --database_url
// (default: the CPX_DATABASE_URL environment variable), migrated with db/migrations, and
// dropped at the end, so the benchmark never writes into a real ledger. The rows are
// those of a market: per trade a deposit, a reserve, a fill to escrow, a pending
// settlement to the provider, its partial post (the fee stays behind) and the fee, over
// 1000 buyers and 100 providers. Any prefix of that flow is valid, so every batch of (b)
// passes the ledger's checks; the run verifies the balances afterwards (untimed).
//
// The COPY data goes through libpq directly (PQputCopyData with one buffer per batch),
// the fastest client path: libpqxx 6.4's stream_to converts and sends row by row and
// does not expose its PGconn.
//
// Usage: cpx-pg-ceiling [--database_url=URL] [--rows=N] [--batch=N] [--seconds_max=N]
//                       [--commit_seconds=N] [--migrations_dir=DIR]

#include <libpq-fe.h>

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"

namespace {

struct Options {
    std::string database_url;
    std::uint64_t rows = 1'000'000;
    std::uint64_t batch = 10'000;
    std::uint64_t seconds_max = 120;  // per COPY phase
    std::uint64_t commit_seconds = 3;
    std::string migrations_dir;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A libpq connection that throws on every failure.
class Pg {
  public:
    explicit Pg(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string reason = PQerrorMessage(conn_);
            PQfinish(conn_);
            throw std::runtime_error("cannot connect to " + cpx::store::redact_url(url) + ": " +
                                     reason);
        }
    }
    ~Pg() { PQfinish(conn_); }
    Pg(const Pg&) = delete;
    Pg& operator=(const Pg&) = delete;

    // Runs `sql` (one or more statements without results) and checks it succeeded.
    void exec(const std::string& sql) { check(PQexec(conn_, sql.c_str()), PGRES_COMMAND_OK, sql); }

    // The first field of the first row of a query's result.
    std::string query_value(const std::string& sql) {
        PGresult* result = PQexec(conn_, sql.c_str());
        if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) < 1) {
            fail(result, sql);
        }
        std::string value = PQgetvalue(result, 0, 0);
        PQclear(result);
        return value;
    }

    // COPY `data` (text format, one line per row) into `table` (`columns`).
    void copy(const std::string& table, const std::string& columns, const std::string& data) {
        const std::string sql = "COPY " + table + " (" + columns + ") FROM STDIN";
        check(PQexec(conn_, sql.c_str()), PGRES_COPY_IN, sql);
        if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 ||
            PQputCopyEnd(conn_, nullptr) != 1) {
            throw std::runtime_error(std::string("COPY failed: ") + PQerrorMessage(conn_));
        }
        PGresult* result = PQgetResult(conn_);
        check(result, PGRES_COMMAND_OK, sql);
        while ((result = PQgetResult(conn_)) != nullptr) {
            PQclear(result);
        }
    }

    void prepare(const std::string& name, const std::string& sql) {
        check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), PGRES_COMMAND_OK, sql);
    }

    // Runs a prepared statement; a null pointer among `values` is SQL NULL.
    void exec_prepared(const std::string& name, const std::vector<const char*>& values) {
        check(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(),
                             nullptr, nullptr, 0),
              PGRES_COMMAND_OK, name);
    }

  private:
    void check(PGresult* result, ExecStatusType expected, const std::string& what) {
        if (PQresultStatus(result) != expected) {
            fail(result, what);
        }
        PQclear(result);
    }
    [[noreturn]] void fail(PGresult* result, const std::string& what) {
        std::string reason = PQresultErrorMessage(result);
        if (reason.empty()) {
            reason = PQerrorMessage(conn_);
        }
        PQclear(result);
        throw std::runtime_error(what.substr(0, 200) + ": " + reason);
    }

    PGconn* conn_;
};

// ---- the flow ---------------------------------------------------------------------------

constexpr std::int64_t kExternal = 1;
constexpr std::int64_t kFees = 2;
constexpr std::int64_t kBuyers = 1000;
constexpr std::int64_t kProviders = 100;
// Buyer b (0-based) has available, reserved and escrow accounts; provider p an available.
std::int64_t buyer_available(std::int64_t b) {
    return 1000 + 3 * b;
}
std::int64_t buyer_reserved(std::int64_t b) {
    return 1001 + 3 * b;
}
std::int64_t buyer_escrow(std::int64_t b) {
    return 1002 + 3 * b;
}
std::int64_t provider_available(std::int64_t p) {
    return 100'000 + p;
}

struct Row {
    std::int64_t id, debit, credit, amount, pending_id, flags, code, seq, ts_ns, user_data;
};

constexpr std::string_view kColumns =
    "id, debit_account_id, credit_account_id, amount, pending_id, flags, code, seq, ts_ns, "
    "user_data";

// Row i of the flow (ids from 1): six rows per trade, each valid after those before it.
Row flow_row(std::int64_t id) {
    const std::int64_t trade = (id - 1) / 6;
    const std::int64_t step = (id - 1) % 6;
    // A fixed, cheap mix of buyers, providers and prices.
    const std::uint64_t h = static_cast<std::uint64_t>(trade) * 0x9E3779B97F4A7C15ull;
    const std::int64_t buyer = static_cast<std::int64_t>((h >> 20) % kBuyers);
    const std::int64_t provider = static_cast<std::int64_t>((h >> 40) % kProviders);
    const std::int64_t amount = 10'000 + static_cast<std::int64_t>((h >> 8) % 990'000);
    const std::int64_t fee = amount / 1000 + 1;
    Row row{id, 0, 0, amount, 0, 0, 0, trade + 1, trade * 1000 + step, trade + 1};
    switch (step) {
        case 0:  // deposit
            row.debit = kExternal, row.credit = buyer_available(buyer), row.code = 1;
            break;
        case 1:  // reserve for the order
            row.debit = buyer_available(buyer), row.credit = buyer_reserved(buyer), row.code = 3;
            break;
        case 2:  // the fill: reserved money to escrow
            row.debit = buyer_reserved(buyer), row.credit = buyer_escrow(buyer), row.code = 5;
            break;
        case 3:  // settlement to the provider, pending until delivery is confirmed
            row.debit = buyer_escrow(buyer), row.credit = provider_available(provider);
            row.code = 6, row.flags = 1;
            break;
        case 4:  // delivery confirmed: post less the fee, which is released
            row.debit = buyer_escrow(buyer), row.credit = provider_available(provider);
            row.code = 6, row.flags = 2, row.pending_id = id - 1, row.amount = amount - fee;
            break;
        default:  // the fee
            row.debit = buyer_escrow(buyer), row.credit = kFees, row.code = 7, row.amount = fee;
            break;
    }
    return row;
}

void append_number(std::string& out, std::int64_t value) {
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    (void)ec;
    out.append(buffer, end);
}

// Rows [first, first + count) of the flow in COPY text format.
std::string copy_text(std::int64_t first, std::int64_t count) {
    std::string out;
    out.reserve(static_cast<std::size_t>(count) * 72);
    for (std::int64_t id = first; id < first + count; ++id) {
        const Row r = flow_row(id);
        for (const std::int64_t value : {r.id, r.debit, r.credit, r.amount}) {
            append_number(out, value);
            out += '\t';
        }
        if (r.pending_id == 0) {
            out += "\\N";
        } else {
            append_number(out, r.pending_id);
        }
        for (const std::int64_t value : {r.flags, r.code, r.seq, r.ts_ns, r.user_data}) {
            out += '\t';
            append_number(out, value);
        }
        out += '\n';
    }
    return out;
}

// ---- measurement ------------------------------------------------------------------------

struct Percentiles {
    double p50 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> samples) {
    Percentiles out;
    if (samples.empty()) {
        return out;
    }
    std::sort(samples.begin(), samples.end());
    const auto at = [&](double q) {
        const auto index = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
        return samples[index];
    };
    out.p50 = at(0.50);
    out.p99 = at(0.99);
    out.max = samples.back();
    return out;
}

struct CopyResult {
    std::int64_t rows = 0;
    double seconds = 0;
    Percentiles batch_ms;
    double rate() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
};

// COPY rows 1..rows into `table` in batches, one durable transaction each, until done or
// `seconds_max` has passed. The COPY text is built before each batch's clock starts.
CopyResult copy_phase(Pg& pg, const std::string& table, std::int64_t rows, std::int64_t batch,
                      double seconds_max) {
    CopyResult out;
    std::vector<double> batch_ms;
    double busy = 0;
    const Clock::time_point start = Clock::now();
    for (std::int64_t first = 1; first <= rows; first += batch) {
        const std::int64_t count = std::min(batch, rows - first + 1);
        const std::string data = copy_text(first, count);
        const Clock::time_point batch_start = Clock::now();
        pg.exec("BEGIN");
        pg.copy(table, std::string(kColumns), data);
        pg.exec("COMMIT");
        const double elapsed = seconds_since(batch_start);
        busy += elapsed;
        batch_ms.push_back(elapsed * 1e3);
        out.rows += count;
        if (seconds_since(start) > seconds_max) {
            break;
        }
    }
    out.seconds = busy;
    out.batch_ms = percentiles(std::move(batch_ms));
    return out;
}

struct CommitResult {
    std::int64_t commits = 0;
    double seconds = 0;
    Percentiles latency_us;
    double rate() const { return seconds > 0 ? static_cast<double>(commits) / seconds : 0; }
};

// Single-row INSERTs, each its own transaction (autocommit), for `seconds`, continuing
// the flow after row `first`.
CommitResult commit_phase(Pg& pg, const std::string& table, std::int64_t first, double seconds) {
    const std::string name = "insert_" + table;
    pg.prepare(name, "INSERT INTO " + table + " (" + std::string(kColumns) +
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    CommitResult out;
    std::vector<double> latency_us;
    const Clock::time_point start = Clock::now();
    for (std::int64_t id = first; seconds_since(start) < seconds; ++id) {
        const Row r = flow_row(id);
        const std::vector<std::string> text = {
            std::to_string(r.id),       std::to_string(r.debit),      std::to_string(r.credit),
            std::to_string(r.amount),   std::to_string(r.pending_id), std::to_string(r.flags),
            std::to_string(r.code),     std::to_string(r.seq),        std::to_string(r.ts_ns),
            std::to_string(r.user_data)};
        std::vector<const char*> values;
        for (const std::string& value : text) {
            values.push_back(value.c_str());
        }
        if (r.pending_id == 0) {
            values[4] = nullptr;
        }
        const Clock::time_point t0 = Clock::now();
        pg.exec_prepared(name, values);
        latency_us.push_back(seconds_since(t0) * 1e6);
        ++out.commits;
    }
    out.seconds = seconds_since(start);
    out.latency_us = percentiles(std::move(latency_us));
    return out;
}

// ---- setup ------------------------------------------------------------------------------

void create_accounts(Pg& pg) {
    std::string sql =
        "INSERT INTO ledger_accounts (id, owner, purpose, flags) VALUES "
        "(1, 0, 6, 0), (2, 0, 5, 1)";
    for (std::int64_t b = 0; b < kBuyers; ++b) {
        const std::string owner = std::to_string(1 + b);
        sql += ", (" + std::to_string(buyer_available(b)) + ", " + owner + ", 1, 1)";
        sql += ", (" + std::to_string(buyer_reserved(b)) + ", " + owner + ", 2, 1)";
        sql += ", (" + std::to_string(buyer_escrow(b)) + ", " + owner + ", 3, 1)";
    }
    for (std::int64_t p = 0; p < kProviders; ++p) {
        sql += ", (" + std::to_string(provider_available(p)) + ", " +
               std::to_string(1'000'000 + p) + ", 1, 1)";
    }
    pg.exec(sql);
}

bool parse_number(std::string_view text, std::uint64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

bool parse(int argc, char** argv, Options& options) {
    if (const char* url = std::getenv("CPX_DATABASE_URL")) {
        options.database_url = url;
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view arg(argv[i]);
        std::string value;
        const auto value_of = [&](std::string_view flag) {
            if (arg.substr(0, flag.size()) != flag) {
                return false;
            }
            if (arg.size() > flag.size() && arg[flag.size()] == '=') {
                value = std::string(arg.substr(flag.size() + 1));
                return true;
            }
            if (arg.size() == flag.size() && i + 1 < argc) {
                value = argv[++i];
                return true;
            }
            return false;
        };
        bool ok = true;
        if (value_of("--database_url")) {
            options.database_url = value;
        } else if (value_of("--rows")) {
            ok = parse_number(value, options.rows) && options.rows > 0 &&
                 options.rows <= 1'000'000'000;
        } else if (value_of("--batch")) {
            ok = parse_number(value, options.batch) && options.batch > 0 &&
                 options.batch <= 10'000'000;
        } else if (value_of("--seconds_max")) {
            ok = parse_number(value, options.seconds_max) && options.seconds_max > 0;
        } else if (value_of("--commit_seconds")) {
            ok = parse_number(value, options.commit_seconds);
        } else if (value_of("--migrations_dir")) {
            options.migrations_dir = value;
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr,
                         "usage: %s [--database_url=URL] [--rows=N] [--batch=N] "
                         "[--seconds_max=N] [--commit_seconds=N] [--migrations_dir=DIR]\n",
                         argv[0]);
            return false;
        }
    }
    if (options.database_url.empty()) {
        std::fprintf(stderr, "%s: give --database_url or set CPX_DATABASE_URL\n", argv[0]);
        return false;
    }
    return true;
}

int run(const Options& options) {
    const std::string scratch = "cpx_pg_ceiling_" + std::to_string(getpid());
    Pg admin(options.database_url);
    admin.exec("DROP DATABASE IF EXISTS " + scratch);
    admin.exec("CREATE DATABASE " + scratch);
    int status = 0;
    try {
        const std::string url = cpx::store::url_with_database(options.database_url, scratch);
        {
            const auto connection = cpx::store::connect(url);
            cpx::store::migrate(
                *connection,
                cpx::store::load_migrations(options.migrations_dir.empty()
                                                ? cpx::store::default_migrations_dir()
                                                : std::filesystem::path(options.migrations_dir)));
        }
        Pg pg(url);
        const std::string server = pg.query_value("SHOW server_version");
        const std::string sync = pg.query_value("SHOW synchronous_commit");
        const std::string fsync = pg.query_value("SHOW fsync");
        pg.exec(
            "CREATE TABLE pg_ceiling_raw (LIKE transfers INCLUDING DEFAULTS, PRIMARY KEY (id))");
        create_accounts(pg);

        const auto rows = static_cast<std::int64_t>(options.rows);
        const auto batch = static_cast<std::int64_t>(options.batch);
        const auto seconds_max = static_cast<double>(options.seconds_max);
        // A checkpoint before each phase, so that neither pays for the other's writes.
        pg.exec("CHECKPOINT");
        const CopyResult raw = copy_phase(pg, "pg_ceiling_raw", rows, batch, seconds_max);
        pg.exec("CHECKPOINT");
        const CopyResult ledger = copy_phase(pg, "transfers", raw.rows, batch, seconds_max);

        // The ledger must balance after it all (untimed).
        const std::string mismatched = pg.query_value("SELECT count(*) FROM ledger_balance_check");
        const std::string balanced = pg.query_value(
            "SELECT debits_posted = credits_posted AND debits_pending = credits_pending "
            "FROM ledger_totals");
        if (mismatched != "0" || balanced != "t") {
            std::fprintf(stderr, "the ledger does not balance: %s accounts differ\n",
                         mismatched.c_str());
            status = 1;
        }

        const std::int64_t next = std::max(raw.rows, ledger.rows) + 1;
        pg.exec("CHECKPOINT");
        const auto commit_seconds = static_cast<double>(options.commit_seconds);
        CommitResult raw_commits, ledger_commits;
        if (commit_seconds > 0) {
            // A commit-phase flow starts at a trade boundary after the COPY rows.
            const std::int64_t first = (next + 5) / 6 * 6 + 1;
            raw_commits = commit_phase(pg, "pg_ceiling_raw", first, commit_seconds);
            ledger_commits = commit_phase(pg, "transfers", first, commit_seconds);
        }

        std::printf("cpx-pg-ceiling: PostgreSQL %s, synchronous_commit=%s, fsync=%s\n",
                    server.c_str(), sync.c_str(), fsync.c_str());
        std::printf("rows %lld, batch %lld, one durable transaction per batch\n\n",
                    static_cast<long long>(raw.rows), static_cast<long long>(batch));
        std::printf("%-44s %10s %9s %12s %12s %12s\n", "phase", "rows", "seconds", "rows/s",
                    "batch p50 ms", "batch p99 ms");
        const auto copy_line = [](const char* name, const CopyResult& r) {
            std::printf("%-44s %10lld %9.2f %12.0f %12.2f %12.2f\n", name,
                        static_cast<long long>(r.rows), r.seconds, r.rate(), r.batch_ms.p50,
                        r.batch_ms.p99);
        };
        copy_line("(a) COPY, plain table (primary key only)", raw);
        copy_line("(b) COPY, transfers (trigger, checks, indexes)", ledger);
        std::printf("\nratio b/a (rows/s): %.3f\n\n",
                    raw.rate() > 0 ? ledger.rate() / raw.rate() : 0);
        if (commit_seconds > 0) {
            std::printf("%-44s %10s %9s %12s %12s %12s\n", "one row per transaction", "commits",
                        "seconds", "commits/s", "p50 us", "p99 us");
            const auto commit_line = [](const char* name, const CommitResult& r) {
                std::printf("%-44s %10lld %9.2f %12.0f %12.0f %12.0f\n", name,
                            static_cast<long long>(r.commits), r.seconds, r.rate(),
                            r.latency_us.p50, r.latency_us.p99);
            };
            commit_line("(c) INSERT + COMMIT, plain table", raw_commits);
            commit_line("(c) INSERT + COMMIT, transfers", ledger_commits);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpx-pg-ceiling: %s\n", e.what());
        status = 1;
    }
    admin.exec("DROP DATABASE IF EXISTS " + scratch + " WITH (FORCE)");
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse(argc, argv, options)) {
        return 2;
    }
    try {
        return run(options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpx-pg-ceiling: %s\n", e.what());
        return 1;
    }
}
