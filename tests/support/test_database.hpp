#pragma once
// PostgreSQL for tests: every test gets a database of its own, created fresh on one
// server and dropped afterwards, so tests run in parallel and leave nothing behind.
// A test that cannot have a server fails: a skipped database test would hide that the
// durable half of the exchange went untested.

#include <string>

namespace cpx::test {

// The URL of the server tests use: CPX_DATABASE_URL when set, else the private cluster,
// started on demand by scripts/pg.sh start (and left running for the next test).
// Throws std::runtime_error when neither can be had.
std::string server_url();

// A fresh database with a unique name (cpx_test_<pid>_<counter>) on that server, with
// every migration of db/migrations applied unless `migrate` is false; dropped (WITH
// (FORCE), closing connections still open) when destroyed. Throws std::runtime_error
// (or the migrator's MigrationError) when it cannot be made.
class TestDatabase {
  public:
    explicit TestDatabase(bool migrate = true);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    // A URL of the server's, naming this database.
    const std::string& url() const { return url_; }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
    std::string url_;
};

}  // namespace cpx::test
