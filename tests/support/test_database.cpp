#include "test_database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"

namespace cpx::test {

namespace {

// Serializes, across the processes ctest runs in parallel, the starts of the private
// cluster (two initdb in one folder would clash) and the making of test databases.
class FileLock {
  public:
    explicit FileLock(const std::filesystem::path& path) {
        std::filesystem::create_directories(path.parent_path());
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
            throw std::runtime_error("cannot lock " + path.string());
        }
    }
    ~FileLock() {
        if (fd_ >= 0) {
            ::close(fd_);  // releases the lock
        }
    }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int fd_ = -1;
};

const std::filesystem::path kLockFile =
    std::filesystem::path(CPX_SOURCE_DIR) / "build" / "pg-tests.lock";

std::string start_private_cluster() {
    FileLock lock(kLockFile);
    const std::string command = "'" CPX_SOURCE_DIR "/scripts/pg.sh' start";
    FILE* out = ::popen(command.c_str(), "r");
    if (out == nullptr) {
        throw std::runtime_error("cannot run " + command);
    }
    std::string text;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, out) != nullptr) {
        text += buffer;
    }
    const int status = ::pclose(out);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    // The URL is the last line pg.sh prints.
    const std::string url =
        text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    if (status != 0 || url.empty()) {
        throw std::runtime_error(
            "no PostgreSQL server for the tests: CPX_DATABASE_URL is unset and '" + command +
            "' failed (status " + std::to_string(status) + "): " + text);
    }
    return url;
}

std::string make_url() {
    if (const char* env = std::getenv("CPX_DATABASE_URL"); env != nullptr && *env != '\0') {
        return env;
    }
    return start_private_cluster();
}

std::string unique_name() {
    static std::atomic<int> counter{0};
    return "cpx_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

void drop_database(const std::string& name) {
    const auto admin = store::connect(server_url());
    pqxx::nontransaction tx(*admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
}

}  // namespace

std::string server_url() {
    static const std::string url = make_url();
    return url;
}

TestDatabase::TestDatabase(bool migrate) : name_(unique_name()) {
    const std::string server = server_url();
    url_ = store::url_with_database(server, name_);
    // Migrations create roles, which belong to the whole server, and two databases
    // migrated at once on a fresh server could both try to create the same one.
    FileLock lock(kLockFile);
    // A name left behind by a crashed process with the same id goes first.
    drop_database(name_);
    {
        const auto admin = store::connect(server);
        pqxx::nontransaction tx(*admin);
        tx.exec("CREATE DATABASE " + tx.quote_name(name_));
    }
    if (migrate) {
        try {
            const auto connection = store::connect(url_);
            store::migrate(*connection, store::load_migrations(store::default_migrations_dir()));
        } catch (...) {
            drop_database(name_);
            throw;
        }
    }
}

TestDatabase::~TestDatabase() {
    try {
        drop_database(name_);
    } catch (const std::exception& e) {
        std::cerr << "test database " << name_ << " was not dropped: " << e.what() << "\n";
    }
}

}  // namespace cpx::test
