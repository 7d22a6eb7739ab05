#pragma once
// The database's schema, built by numbered migrations: db/migrations/NNNN_name.sql,
// applied in order, each once, each in its own transaction together with its row in
// schema_migrations. An applied migration is never edited: a change is a new file, and
// the recorded SHA-256 of every applied file lets migrate() notice an edit.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/store/migrations_dir.hpp"

namespace cpx::store {

struct Migration {
    int version = 0;         // NNNN of the file name
    std::string name;        // the rest of the file name, without ".sql"
    std::string sql;         // the file's contents
    std::string sha256_hex;  // SHA-256 of the contents, lower-case hex
};

// A migration folder or database that cannot be migrated safely.
class MigrationError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// "0001_journal": how messages and `cpxd migrate` name a migration.
std::string display_name(const Migration& migration);

// Reads the NNNN_name.sql files of `dir` (other files are ignored), sorted by version.
// Throws MigrationError when the folder cannot be read or holds no migration, when a
// .sql file is not named NNNN_name.sql, or when the versions are not 1, 2, 3, ...
// (a duplicate or a gap).
std::vector<Migration> load_migrations(const std::filesystem::path& dir);

struct MigrationReport {
    std::vector<int> applied;  // versions applied by this call, in order
    std::vector<int> already;  // versions that were applied before it
};

// Brings the connection's database up to `migrations`: creates schema_migrations when
// missing and applies each migration not recorded there. A session advisory lock makes
// concurrent migrators of one database wait for each other, so each migration is
// applied once. Throws MigrationError, applying nothing, when a recorded migration's
// checksum differs from its file (an applied migration was edited) or the database
// records a version the files do not have (it was migrated by a newer cpx); and when a
// migration fails (the ones before it stay applied).
MigrationReport migrate(pqxx::connection& connection, const std::vector<Migration>& migrations);

// SHA-256 of `data`, lower-case hex.
std::string sha256_hex(std::string_view data);

}  // namespace cpx::store
