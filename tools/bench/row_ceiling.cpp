#include "row_ceiling.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace cpx::bench {

namespace {

// The binary COPY header with no extension area, and the trailer (a field count of -1).
constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
constexpr std::size_t kHeaderBytes = 19;
constexpr char kTrailer[] = "\377\377";
constexpr std::size_t kTrailerBytes = 2;
constexpr const char* kSchema = "cpx_row_ceiling";

class Connection {
  public:
    explicit Connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string reason = PQerrorMessage(conn_);
            PQfinish(conn_);
            throw std::runtime_error("row ceiling: cannot connect: " + reason);
        }
    }
    ~Connection() { PQfinish(conn_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void exec(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const ExecStatusType status = PQresultStatus(r);
        const std::string error = PQresultErrorMessage(r);
        PQclear(r);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            throw std::runtime_error("row ceiling: " + sql + ": " + error);
        }
    }

    // Runs a COPY ... TO STDOUT and appends everything it sends to `out`.
    void copy_out(const std::string& sql, std::string& out) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const bool started = PQresultStatus(r) == PGRES_COPY_OUT;
        PQclear(r);
        if (!started) {
            throw std::runtime_error("row ceiling: " + sql + ": " + PQerrorMessage(conn_));
        }
        char* piece = nullptr;
        int bytes = 0;
        while ((bytes = PQgetCopyData(conn_, &piece, 0)) > 0) {
            out.append(piece, static_cast<std::size_t>(bytes));
            PQfreemem(piece);
        }
        finish(sql, bytes == -1);
    }

    // Runs a COPY ... FROM STDIN and sends `pieces`, in order, as its data.
    void copy_in(const std::string& sql, std::initializer_list<std::string_view> pieces) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const bool started = PQresultStatus(r) == PGRES_COPY_IN;
        PQclear(r);
        if (!started) {
            throw std::runtime_error("row ceiling: " + sql + ": " + PQerrorMessage(conn_));
        }
        bool sent = true;
        for (const std::string_view piece : pieces) {
            // libpq takes an int length; send large pieces in parts.
            for (std::size_t at = 0; sent && at < piece.size(); at += kPieceBytes) {
                const std::size_t n = std::min(kPieceBytes, piece.size() - at);
                sent = PQputCopyData(conn_, piece.data() + at, static_cast<int>(n)) == 1;
            }
        }
        sent = PQputCopyEnd(conn_, sent ? nullptr : "send failed") == 1 && sent;
        finish(sql, sent);
    }

    // The first column of the first row of a query, as a number.
    std::uint64_t count(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        const std::string value = ok ? PQgetvalue(r, 0, 0) : "";
        const std::string error = PQresultErrorMessage(r);
        PQclear(r);
        if (!ok) {
            throw std::runtime_error("row ceiling: " + sql + ": " + error);
        }
        return std::stoull(value);
    }

  private:
    static constexpr std::size_t kPieceBytes = 1 << 20;

    void finish(const std::string& sql, bool ok) {
        std::string error;
        while (PGresult* r = PQgetResult(conn_)) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                ok = false;
                error = PQresultErrorMessage(r);
            }
            PQclear(r);
        }
        if (!ok) {
            throw std::runtime_error("row ceiling: " + sql + ": " + error + PQerrorMessage(conn_));
        }
    }

    PGconn* conn_;
};

std::uint16_t read_u16(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}

std::uint32_t read_u32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
           std::uint32_t{u[3]};
}

}  // namespace

RowCeiling::RowCeiling(std::string url, const std::vector<std::string>& tables)
    : url_(std::move(url)) {
    Connection conn(url_);
    for (const std::string& name : tables) {
        std::string stream;
        conn.copy_out("COPY " + name + " TO STDOUT (FORMAT binary)", stream);
        if (stream.size() < kHeaderBytes + kTrailerBytes ||
            std::memcmp(stream.data(), kHeader, 11) != 0) {
            throw std::runtime_error("row ceiling: " + name + ": no binary COPY header");
        }
        const std::size_t body = kHeaderBytes + read_u32(stream.data() + 15);
        if (stream.size() - kTrailerBytes < body ||
            std::memcmp(stream.data() + stream.size() - kTrailerBytes, kTrailer, kTrailerBytes) !=
                0) {
            throw std::runtime_error("row ceiling: " + name + ": no binary COPY trailer");
        }
        Table t;
        t.name = name;
        t.data = stream.substr(body, stream.size() - body - kTrailerBytes);
        // Finds where each row begins: a field count, then each field's length and bytes
        // (a length of -1 is a null with no bytes).
        const std::size_t size = t.data.size();
        const auto malformed = [&] {
            return std::runtime_error("row ceiling: " + name + ": malformed COPY row");
        };
        std::size_t at = 0;
        while (at < size) {
            t.starts.push_back(at);
            if (size - at < 2) {
                throw malformed();
            }
            const std::uint16_t fields = read_u16(t.data.data() + at);
            at += 2;
            for (std::uint16_t f = 0; f < fields; ++f) {
                if (size - at < 4) {
                    throw malformed();
                }
                const std::uint32_t length = read_u32(t.data.data() + at);
                at += 4;
                if (length == 0xffffffffu) {
                    continue;
                }
                if (size - at < length) {
                    throw malformed();
                }
                at += length;
            }
        }
        t.starts.push_back(at);
        tables_.push_back(std::move(t));
    }
}

const RowCeiling::Table& RowCeiling::table(const std::string& name) const {
    for (const Table& t : tables_) {
        if (t.name == name) {
            return t;
        }
    }
    throw std::invalid_argument("row ceiling: " + name + " was not read");
}

std::uint64_t RowCeiling::rows(const std::string& name) const {
    return table(name).starts.size() - 1;
}

CeilingResult RowCeiling::measure(const CeilingRun& run, std::uint64_t batches) const {
    if (run.sessions == 0 || batches == 0) {
        throw std::invalid_argument("row ceiling: sessions and batches must be > 0");
    }
    std::vector<const Table*> tables;
    for (const std::string& name : run.tables) {
        tables.push_back(&table(name));
    }
    const std::uint32_t sessions = run.sessions;
    // What each session writes of a table: of every batch's rows of it, the part from
    // numerator / sessions to (numerator + 1) / sessions.
    struct Share {
        const Table* table;
        std::uint32_t numerator;
        std::uint32_t sessions;
    };
    std::vector<std::vector<Share>> shares(sessions);
    {
        Connection setup(url_);
        setup.exec("SET client_min_messages = warning");
        setup.exec(std::string("DROP SCHEMA IF EXISTS ") + kSchema + " CASCADE");
        setup.exec(std::string("CREATE SCHEMA ") + kSchema);
        std::vector<std::pair<std::uint64_t, const Table*>> costs;
        for (const Table* t : tables) {
            setup.exec(std::string("CREATE TABLE ") + kSchema + "." + t->name + " (LIKE public." +
                       t->name + " INCLUDING DEFAULTS INCLUDING INDEXES)");
            const std::uint64_t indexes =
                setup.count("SELECT count(*) FROM pg_index WHERE indrelid = 'public." + t->name +
                            "'::regclass");
            costs.emplace_back((t->starts.size() - 1) * (1 + indexes), t);
        }
        if (run.split == CeilingSplit::Rows) {
            for (std::uint32_t s = 0; s < sessions; ++s) {
                for (const Table* t : tables) {
                    shares[s].push_back(Share{t, s, sessions});
                }
            }
        } else {
            std::stable_sort(costs.begin(), costs.end(),
                             [](const auto& a, const auto& b) { return a.first > b.first; });
            std::vector<std::uint64_t> load(sessions, 0);
            for (const auto& [cost, t] : costs) {
                const auto least = static_cast<std::size_t>(
                    std::min_element(load.begin(), load.end()) - load.begin());
                load[least] += cost;
                shares[least].push_back(Share{t, 0, 1});
            }
        }
        // Every measurement starts from a clean checkpoint.
        setup.exec("CHECKPOINT");
    }

    std::vector<std::exception_ptr> errors(sessions);
    std::latch connected(sessions + 1);
    std::latch go(1);
    std::vector<std::thread> threads;
    for (std::uint32_t s = 0; s < sessions; ++s) {
        threads.emplace_back([&, s] {
            std::unique_ptr<Connection> conn;
            try {
                conn = std::make_unique<Connection>(url_);
            } catch (...) {
                errors[s] = std::current_exception();
            }
            connected.count_down();
            go.wait();
            if (!conn) {
                return;
            }
            try {
                for (std::uint64_t b = 0; b < batches; ++b) {
                    conn->exec("BEGIN");
                    for (const Share& share : shares[s]) {
                        // This session's share of this batch's rows, a contiguous range.
                        const Table* t = share.table;
                        const std::uint64_t n = t->starts.size() - 1;
                        const std::uint64_t lo = n * b / batches;
                        const std::uint64_t hi = n * (b + 1) / batches;
                        const std::uint64_t from =
                            lo + (hi - lo) * share.numerator / share.sessions;
                        const std::uint64_t to =
                            lo + (hi - lo) * (share.numerator + 1) / share.sessions;
                        if (from == to) {
                            continue;
                        }
                        conn->copy_in(std::string("COPY ") + kSchema + "." + t->name +
                                          " FROM STDIN (FORMAT binary)",
                                      {std::string_view(kHeader, kHeaderBytes),
                                       std::string_view(t->data).substr(
                                           t->starts[from], t->starts[to] - t->starts[from]),
                                       std::string_view(kTrailer, kTrailerBytes)});
                    }
                    conn->exec("COMMIT");
                }
            } catch (...) {
                errors[s] = std::current_exception();
            }
        });
    }
    connected.arrive_and_wait();
    const auto start = std::chrono::steady_clock::now();
    go.count_down();
    for (std::thread& t : threads) {
        t.join();
    }
    CeilingResult result;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const Table* t : tables) {
        result.rows += t->starts.size() - 1;
    }
    for (const std::exception_ptr& e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    Connection cleanup(url_);
    // Untimed: every row arrived once, or the measurement counted work that was not done.
    for (const Table* t : tables) {
        const std::uint64_t stored =
            cleanup.count(std::string("SELECT count(*) FROM ") + kSchema + "." + t->name);
        if (stored != t->starts.size() - 1) {
            throw std::runtime_error("row ceiling: " + t->name + " has " + std::to_string(stored) +
                                     " rows of " + std::to_string(t->starts.size() - 1));
        }
    }
    cleanup.exec("SET client_min_messages = warning");
    cleanup.exec(std::string("DROP SCHEMA ") + kSchema + " CASCADE");
    return result;
}

}  // namespace cpx::bench
