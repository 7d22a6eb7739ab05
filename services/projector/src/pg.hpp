#pragma once
// A libpq connection for the projector, working as the application's role, that throws
// std::runtime_error on every failure; and the binary COPY format's encoding. Internal
// to cpx_projector. libpq is used directly (as by the journal) because libpqxx 6.4 has
// no binary COPY.

#include <libpq-fe.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cpx::projector::detail {

inline std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

// A query's result, freed by scope.
class PgResult {
  public:
    explicit PgResult(PGresult* r) : result_(r) {}
    ~PgResult() { PQclear(result_); }
    PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    PgResult& operator=(PgResult&&) = delete;

    int rows() const { return PQntuples(result_); }
    bool null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
    std::string_view text(int row, int column) const { return PQgetvalue(result_, row, column); }
    std::int64_t i64(int row, int column) const {
        return null(row, column) ? 0 : std::stoll(PQgetvalue(result_, row, column));
    }
    PGresult* get() const { return result_; }

  private:
    PGresult* result_;
};

class Pg {
  public:
    // `setup` (statements) runs after each connect, after SET ROLE.
    explicit Pg(std::string url, std::string setup = {})
        : url_(std::move(url)), setup_(std::move(setup)) {}
    ~Pg() { close(); }
    Pg(const Pg&) = delete;
    Pg& operator=(const Pg&) = delete;

    // Connects when not connected (or when the connection broke), as cpx_app.
    void open() {
        if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
            return;
        }
        close();
        conn_ = PQconnectdb(url_.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string error = trim(PQerrorMessage(conn_));
            close();
            throw std::runtime_error("projector: cannot connect: " + error);
        }
        exec("SET ROLE cpx_app");
        if (!setup_.empty()) {
            exec(setup_);
        }
    }
    void close() {
        if (conn_ != nullptr) {
            PQfinish(conn_);
            conn_ = nullptr;
        }
    }
    bool connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

    void exec(const std::string& sql) { check(PQexec(conn_, sql.c_str()), PGRES_COMMAND_OK, sql); }
    // A command with text parameters; returns the rows it affected.
    std::uint64_t exec_params(const std::string& sql, const std::vector<std::string>& params) {
        std::vector<const char*> values;
        values.reserve(params.size());
        for (const std::string& p : params) {
            values.push_back(p.c_str());
        }
        PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0));
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
            fail(r.get(), sql);
        }
        const std::string affected = PQcmdTuples(r.get());
        return affected.empty() ? 0 : std::stoull(affected);
    }
    PgResult query(const std::string& sql) {
        PgResult r(PQexec(conn_, sql.c_str()));
        if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
            fail(r.get(), sql);
        }
        return r;
    }

    // COPY ... FROM STDIN: begin, put any number of pieces, end.
    void copy_in_begin(const std::string& sql) {
        check(PQexec(conn_, sql.c_str()), PGRES_COPY_IN, sql);
    }
    void copy_put(std::string_view data) {
        if (!data.empty() &&
            PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) {
            throw std::runtime_error("projector: COPY failed: " + trim(PQerrorMessage(conn_)));
        }
    }
    void copy_in_end(const std::string& what) {
        if (PQputCopyEnd(conn_, nullptr) != 1) {
            throw std::runtime_error("projector: COPY failed: " + trim(PQerrorMessage(conn_)));
        }
        finish_copy(what);
    }

    // COPY ... TO STDOUT: begin, then get() pieces until it returns false.
    void copy_out_begin(const std::string& sql) {
        check(PQexec(conn_, sql.c_str()), PGRES_COPY_OUT, sql);
    }
    // The next piece (freed at the next call or by copy_out_end), or false at the end.
    bool copy_get(std::string_view& piece) {
        free_piece();
        const int n = PQgetCopyData(conn_, &piece_, 0);
        if (n == -1) {
            finish_copy("COPY TO STDOUT");
            return false;
        }
        if (n < 0) {
            throw std::runtime_error("projector: reading failed: " + trim(PQerrorMessage(conn_)));
        }
        piece = std::string_view(piece_, static_cast<std::size_t>(n));
        return true;
    }

    PGconn* get() const { return conn_; }

  private:
    void free_piece() {
        if (piece_ != nullptr) {
            PQfreemem(piece_);
            piece_ = nullptr;
        }
    }
    void finish_copy(const std::string& what) {
        free_piece();
        PgResult r(PQgetResult(conn_));
        const bool ok = PQresultStatus(r.get()) == PGRES_COMMAND_OK;
        std::string error = ok ? std::string() : trim(PQresultErrorMessage(r.get()));
        while (PGresult* rest = PQgetResult(conn_)) {
            PQclear(rest);
        }
        if (!ok) {
            throw std::runtime_error("projector: " + what.substr(0, 120) + ": " + error);
        }
    }
    void check(PGresult* result, ExecStatusType expected, const std::string& what) {
        PgResult r(result);
        if (PQresultStatus(result) != expected) {
            fail(result, what);
        }
    }
    [[noreturn]] void fail(PGresult* result, const std::string& what) {
        std::string reason = result != nullptr ? PQresultErrorMessage(result) : "";
        if (reason.empty()) {
            reason = PQerrorMessage(conn_);
        }
        throw std::runtime_error("projector: " + what.substr(0, 120) + ": " + trim(reason));
    }

    std::string url_;
    std::string setup_;
    PGconn* conn_ = nullptr;
    char* piece_ = nullptr;
};

// PostgreSQL's binary COPY format: a signature, flags and an empty header extension,
// then per row a field count and length-prefixed fields in network byte order, then -1.
class CopyWriter {
  public:
    explicit CopyWriter(std::string& out) : out_(out) {}

    void header() {
        out_.append("PGCOPY\n\377\r\n", 11);
        u32(0);  // flags
        u32(0);  // header extension length
    }
    void trailer() { u16(0xFFFF); }
    void row(std::uint16_t fields) { u16(fields); }
    void int8(std::int64_t v) {
        u32(8);
        u64(static_cast<std::uint64_t>(v));
    }
    void int8_or_null(std::int64_t v, bool is_null) {
        if (is_null) {
            null();
        } else {
            int8(v);
        }
    }
    void int4(std::int32_t v) {
        u32(4);
        u32(static_cast<std::uint32_t>(v));
    }
    void int2(std::int16_t v) {
        u32(2);
        u16(static_cast<std::uint16_t>(v));
    }
    void text(std::string_view v) {
        u32(static_cast<std::uint32_t>(v.size()));
        out_.append(v);
    }
    // bytea's binary form is its bytes, as text's is.
    void bytea(std::string_view v) { text(v); }
    void boolean(bool v) {
        u32(1);
        out_.push_back(v ? '\1' : '\0');
    }
    void null() { u32(0xFFFFFFFFu); }

    // One-dimensional arrays (array_send's format): the dimensions, a has-nulls flag, the
    // element type's OID, each dimension's length and lower bound (1), then the elements
    // as fields. An empty array has no dimensions. PostgreSQL refuses an element type
    // other than the column's, so text[] and bigint[] have a writer each.
    void text_array(const std::vector<std::string>& items) {
        std::size_t bytes = 0;
        for (const std::string& item : items) {
            bytes += 4 + item.size();
        }
        array_header(items.size(), kTextOid, bytes);
        for (const std::string& item : items) {
            text(item);
        }
    }
    template <typename Int>
    void int8_array(const std::vector<Int>& items) {
        int8_array(std::span<const Int>(items));
    }
    template <typename Int>
    void int8_array(std::span<const Int> items) {
        array_header(items.size(), kInt8Oid, items.size() * 12);
        for (const Int item : items) {
            int8(static_cast<std::int64_t>(item));
        }
    }

  private:
    static constexpr std::uint32_t kInt8Oid = 20;
    static constexpr std::uint32_t kTextOid = 25;

    // The field's length, then the array's header; `element_bytes` is the length of the
    // elements that follow, each with its own length.
    void array_header(std::size_t count, std::uint32_t element_oid, std::size_t element_bytes) {
        const bool empty = count == 0;
        u32(static_cast<std::uint32_t>((empty ? 12 : 20) + element_bytes));
        u32(empty ? 0 : 1);  // dimensions
        u32(0);              // no NULL elements
        u32(element_oid);
        if (!empty) {
            u32(static_cast<std::uint32_t>(count));
            u32(1);  // lower bound
        }
    }

    void u16(std::uint16_t v) {
        const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
        out_.append(bytes, 2);
    }
    void u32(std::uint32_t v) {
        const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                               static_cast<char>(v >> 8), static_cast<char>(v)};
        out_.append(bytes, 4);
    }
    void u64(std::uint64_t v) {
        char bytes[8];
        for (int i = 0; i < 8; ++i) {
            bytes[i] = static_cast<char>(v >> (56 - 8 * i));
        }
        out_.append(bytes, 8);
    }

    std::string& out_;
};

}  // namespace cpx::projector::detail
