#include "cpx/store/migrations.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>

namespace cpx::store {

namespace {

// The key of the session advisory lock that serializes migrators of one database
// (advisory locks are scoped to the database): "cpxmigr" in ASCII.
constexpr std::int64_t kMigrationLock = 0x637078'6d696772;

std::string pad4(int version) {
    std::string digits = std::to_string(version);
    return std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
}

// Splits "NNNN_name.sql" into its version and name; false for any other file name.
// (Parsed by hand: GCC 12's <regex> trips -Wmaybe-uninitialized in sanitizer builds.)
bool parse_file_name(const std::string& file, int& version, std::string& name) {
    constexpr std::string_view kSuffix = ".sql";
    if (file.size() < 4 + 1 + 1 + kSuffix.size() || file[4] != '_' || !file.ends_with(kSuffix)) {
        return false;
    }
    version = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        if (file[i] < '0' || file[i] > '9') {
            return false;
        }
        version = version * 10 + (file[i] - '0');
    }
    name = file.substr(5, file.size() - 5 - kSuffix.size());
    for (const char c : name) {
        const bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!word) {
            return false;
        }
    }
    return true;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw MigrationError("cannot read migration " + path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Holds the migration lock for its lifetime. The lock belongs to the session, so a
// migrator that dies releases it with its connection.
class MigrationLock {
  public:
    explicit MigrationLock(pqxx::connection& connection) : connection_(connection) {
        pqxx::nontransaction tx(connection_);
        tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLock);
    }
    ~MigrationLock() {
        try {
            pqxx::nontransaction tx(connection_);
            tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLock);
        } catch (const std::exception&) {
            // A broken connection has released the lock already.
        }
    }
    MigrationLock(const MigrationLock&) = delete;
    MigrationLock& operator=(const MigrationLock&) = delete;

  private:
    pqxx::connection& connection_;
};

}  // namespace

std::string display_name(const Migration& migration) {
    return pad4(migration.version) + "_" + migration.name;
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 0xf]);
    }
    return out;
}

std::vector<Migration> load_migrations(const std::filesystem::path& dir) {
    std::error_code error;
    std::filesystem::directory_iterator files(dir, error);
    if (error) {
        throw MigrationError("cannot read the migrations folder " + dir.string() + ": " +
                             error.message());
    }
    std::vector<Migration> out;
    std::map<int, std::string> files_by_version;
    for (const auto& entry : files) {
        const std::string file = entry.path().filename().string();
        if (!entry.is_regular_file() || entry.path().extension() != ".sql") {
            continue;  // a README or an editor's backup is not a migration
        }
        Migration m;
        if (!parse_file_name(file, m.version, m.name)) {
            throw MigrationError("migration " + (dir / file).string() +
                                 " is not named NNNN_name.sql");
        }
        const auto [it, inserted] = files_by_version.emplace(m.version, file);
        if (!inserted) {
            throw MigrationError("migrations " + it->second + " and " + file + " in " +
                                 dir.string() + " have the same version");
        }
        m.sql = read_file(entry.path());
        m.sha256_hex = sha256_hex(m.sql);
        out.push_back(std::move(m));
    }
    if (out.empty()) {
        throw MigrationError("no migrations (NNNN_name.sql) in " + dir.string());
    }
    std::sort(out.begin(), out.end(),
              [](const Migration& a, const Migration& b) { return a.version < b.version; });
    // Versions count up from 1 without a gap, so that a missing file (a bad merge, a
    // partial copy) is noticed before the ones after it are applied.
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int expected = static_cast<int>(i) + 1;
        if (out[i].version != expected) {
            throw MigrationError("migration " + pad4(expected) + " is missing in " + dir.string() +
                                 " (found " + display_name(out[i]) + ")");
        }
    }
    return out;
}

MigrationReport migrate(pqxx::connection& connection, const std::vector<Migration>& migrations) {
    MigrationLock lock(connection);
    {
        pqxx::work tx(connection);
        tx.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version    int         PRIMARY KEY,"
            " name       text        NOT NULL,"
            " sha256     text        NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
        tx.commit();
    }

    std::map<int, const Migration*> by_version;
    for (const Migration& m : migrations) {
        by_version.emplace(m.version, &m);
    }
    // Every check comes before the first change: a database that does not match its
    // files is left as it is.
    MigrationReport report;
    {
        pqxx::read_transaction tx(connection);
        for (const auto& row :
             tx.exec("SELECT version, name, sha256 FROM schema_migrations ORDER BY version")) {
            const int version = row[0].as<int>();
            const std::string name = row[1].as<std::string>();
            const std::string sha = row[2].as<std::string>();
            const auto it = by_version.find(version);
            if (it == by_version.end()) {
                throw MigrationError("the database has migration " + pad4(version) + "_" + name +
                                     ", which the migration files do not have (was it "
                                     "migrated by a newer cpx?)");
            }
            if (it->second->sha256_hex != sha) {
                throw MigrationError("migration " + display_name(*it->second) +
                                     " was edited after it was applied (checksum " +
                                     it->second->sha256_hex + ", applied " + sha +
                                     "); restore the file and put the change in a new "
                                     "migration");
            }
            report.already.push_back(version);
        }
    }

    for (const Migration& m : migrations) {
        if (std::find(report.already.begin(), report.already.end(), m.version) !=
            report.already.end()) {
            continue;
        }
        try {
            pqxx::work tx(connection);
            tx.exec(m.sql);
            tx.exec_params(
                "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                m.version, m.name, m.sha256_hex);
            tx.commit();
        } catch (const pqxx::sql_error& e) {
            throw MigrationError("migration " + display_name(m) + " failed: " + e.what());
        }
        report.applied.push_back(m.version);
    }
    return report;
}

std::filesystem::path default_migrations_dir() {
    return CPX_MIGRATIONS_DIR;
}

}  // namespace cpx::store
