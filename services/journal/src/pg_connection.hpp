#pragma once
// A libpq connection for the journal and the snapshot store: opened on demand, working
// as the application's role, with results freed by scope. Internal to cpx_journal.

#include <libpq-fe.h>

#include <string>

namespace cpx::journal::detail {

struct PgResult {
    explicit PgResult(PGresult* r) : result(r) {}
    ~PgResult() { PQclear(result); }
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    ExecStatusType status() const { return PQresultStatus(result); }
    PGresult* result;
};

// One connection, opened on demand, working as the application's role.
class Connection {
  public:
    explicit Connection(std::string url) : url_(std::move(url)) {}
    ~Connection() { close(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Opens the connection when it is not open; false (with error()) when it fails.
    bool open() {
        if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
            return true;
        }
        close();
        conn_ = PQconnectdb(url_.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            error_ = PQerrorMessage(conn_);
            close();
            return false;
        }
        return exec("SET ROLE cpx_app", PGRES_COMMAND_OK);
    }
    void close() {
        if (conn_ != nullptr) {
            PQfinish(conn_);
            conn_ = nullptr;
        }
    }
    // Runs a statement and checks its status; false (with error()) otherwise.
    bool exec(const char* sql, ExecStatusType expected) {
        PgResult r(PQexec(conn_, sql));
        if (r.status() != expected) {
            error_ = PQresultErrorMessage(r.result);
            return false;
        }
        return true;
    }
    PGconn* get() const { return conn_; }
    const std::string& error() const { return error_; }
    void set_error(std::string e) { error_ = std::move(e); }

  private:
    std::string url_;
    PGconn* conn_ = nullptr;
    std::string error_;
};

inline std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

}  // namespace cpx::journal::detail
