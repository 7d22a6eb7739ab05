// The migrator against real databases: it builds the schema once, notices an edited or
// unknown migration instead of running on a schema nobody wrote, serializes concurrent
// migrators, and the schema it builds keeps the journal append-only.

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"
#include "test_database.hpp"

namespace cpx::store {
namespace {

using cpx::test::TestDatabase;

std::vector<Migration> all_migrations() {
    return load_migrations(default_migrations_dir());
}

std::vector<int> versions_of(const std::vector<Migration>& migrations) {
    std::vector<int> out;
    for (const Migration& m : migrations) {
        out.push_back(m.version);
    }
    return out;
}

std::vector<int> recorded_versions(const std::string& url) {
    const auto connection = connect(url);
    pqxx::read_transaction tx(*connection);
    std::vector<int> out;
    for (const auto& row : tx.exec("SELECT version FROM schema_migrations ORDER BY version")) {
        out.push_back(row[0].as<int>());
    }
    return out;
}

// Runs `action` and returns the message of the MigrationError it throws ("" if none).
std::string migration_error(const std::function<void()>& action) {
    try {
        action();
    } catch (const MigrationError& e) {
        return e.what();
    }
    return "";
}

// A folder of its own under the system's temporary folder, removed afterwards.
class TempDir {
  public:
    TempDir() {
        static int counter = 0;
        path_ =
            std::filesystem::temp_directory_path() /
            ("cpx_migrations_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    void write(const std::string& file, const std::string& text) const {
        std::ofstream(path_ / file, std::ios::binary) << text;
    }
    // Copies every migration of the source tree here.
    void copy_migrations() const {
        for (const auto& entry : std::filesystem::directory_iterator(default_migrations_dir())) {
            std::filesystem::copy_file(entry.path(), path_ / entry.path().filename());
        }
    }

  private:
    std::filesystem::path path_;
};

TEST(Migrations, TheSourceTreesMigrationsAreNumberedFromOneWithoutGaps) {
    const auto migrations = all_migrations();
    ASSERT_FALSE(migrations.empty());
    EXPECT_EQ(migrations.front().version, 1);
    EXPECT_EQ(display_name(migrations.front()), "0001_journal");
    EXPECT_EQ(migrations.front().sha256_hex, sha256_hex(migrations.front().sql));
    EXPECT_EQ(migrations.front().sha256_hex.size(), 64U);
}

TEST(Migrations, Sha256MatchesTheStandardTestVector) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Migrations, AnEmptyDatabaseGetsEveryMigrationRecordedOnce) {
    TestDatabase db(false);
    const auto migrations = all_migrations();
    const auto connection = connect(db.url());
    const MigrationReport report = migrate(*connection, migrations);
    EXPECT_EQ(report.applied, versions_of(migrations));
    EXPECT_TRUE(report.already.empty());
    EXPECT_EQ(recorded_versions(db.url()), versions_of(migrations));

    pqxx::read_transaction tx(*connection);
    const auto row = tx.exec1("SELECT name, sha256 FROM schema_migrations WHERE version = 1");
    EXPECT_EQ(row[0].as<std::string>(), "journal");
    EXPECT_EQ(row[1].as<std::string>(), migrations.front().sha256_hex);
}

TEST(Migrations, MigratingAnUpToDateDatabaseAppliesNothing) {
    TestDatabase db;  // migrated already
    const auto migrations = all_migrations();
    const auto connection = connect(db.url());
    const MigrationReport report = migrate(*connection, migrations);
    EXPECT_TRUE(report.applied.empty());
    EXPECT_EQ(report.already, versions_of(migrations));
    EXPECT_EQ(recorded_versions(db.url()), versions_of(migrations));
}

TEST(Migrations, AnAppliedMigrationThatWasEditedIsRefused) {
    TestDatabase db;
    TempDir dir;
    dir.copy_migrations();
    {
        std::ofstream(dir.path() / "0001_journal.sql", std::ios::app)
            << "\nCREATE TABLE sneaked_in (x int);\n";
    }
    const auto edited = load_migrations(dir.path());
    const auto connection = connect(db.url());
    const std::string error = migration_error([&] { migrate(*connection, edited); });
    EXPECT_NE(error.find("migration 0001_journal was edited after it was applied"),
              std::string::npos)
        << error;
    pqxx::read_transaction tx(*connection);
    EXPECT_EQ(tx.exec("SELECT 1 FROM pg_tables WHERE tablename = 'sneaked_in'").size(), 0U);
}

TEST(Migrations, ADatabaseWithAVersionTheFilesDoNotHaveIsRefused) {
    TestDatabase db;
    const auto connection = connect(db.url());
    {
        pqxx::work tx(*connection);
        tx.exec(
            "INSERT INTO schema_migrations (version, name, sha256) "
            "VALUES (9999, 'from_the_future', 'x')");
        tx.commit();
    }
    const std::string error = migration_error([&] { migrate(*connection, all_migrations()); });
    EXPECT_NE(error.find("the database has migration 9999_from_the_future"), std::string::npos)
        << error;
}

TEST(Migrations, AGapInTheNumberingIsRefused) {
    TempDir dir;
    dir.write("0001_first.sql", "SELECT 1;");
    dir.write("0003_third.sql", "SELECT 3;");
    const std::string error = migration_error([&] { load_migrations(dir.path()); });
    EXPECT_NE(error.find("migration 0002 is missing"), std::string::npos) << error;
}

TEST(Migrations, NumberingThatDoesNotStartAtOneIsRefused) {
    TempDir dir;
    dir.write("0002_second.sql", "SELECT 2;");
    const std::string error = migration_error([&] { load_migrations(dir.path()); });
    EXPECT_NE(error.find("migration 0001 is missing"), std::string::npos) << error;
}

TEST(Migrations, TwoMigrationsWithOneVersionAreRefused) {
    TempDir dir;
    dir.write("0001_first.sql", "SELECT 1;");
    dir.write("0002_second.sql", "SELECT 2;");
    dir.write("0002_other.sql", "SELECT 2;");
    const std::string error = migration_error([&] { load_migrations(dir.path()); });
    EXPECT_NE(error.find("have the same version"), std::string::npos) << error;
}

TEST(Migrations, ASqlFileNotNamedNNNNNameIsRefusedAndOtherFilesAreIgnored) {
    TempDir dir;
    dir.write("0001_first.sql", "SELECT 1;");
    dir.write("README.md", "not a migration");
    EXPECT_EQ(load_migrations(dir.path()).size(), 1U);
    dir.write("2_second.sql", "SELECT 2;");
    const std::string error = migration_error([&] { load_migrations(dir.path()); });
    EXPECT_NE(error.find("is not named NNNN_name.sql"), std::string::npos) << error;
}

TEST(Migrations, AMissingOrEmptyFolderIsRefused) {
    TempDir dir;
    EXPECT_NE(migration_error([&] { load_migrations(dir.path()); }).find("no migrations"),
              std::string::npos);
    EXPECT_NE(migration_error([&] {
                  load_migrations(dir.path() / "absent");
              }).find("cannot read the migrations folder"),
              std::string::npos);
}

TEST(Migrations, AFailingMigrationLeavesTheOnesBeforeItAppliedAndItselfUnrecorded) {
    TestDatabase db(false);
    TempDir dir;
    dir.write("0001_good.sql", "CREATE TABLE good (x int);");
    dir.write("0002_bad.sql", "CREATE TABLE bad (x int); SELECT no_such_column FROM good;");
    const auto connection = connect(db.url());
    const std::string error =
        migration_error([&] { migrate(*connection, load_migrations(dir.path())); });
    EXPECT_NE(error.find("migration 0002_bad failed"), std::string::npos) << error;
    EXPECT_EQ(recorded_versions(db.url()), std::vector<int>{1});
    pqxx::read_transaction tx(*connection);
    EXPECT_EQ(tx.exec("SELECT 1 FROM pg_tables WHERE tablename = 'bad'").size(), 0U);
}

TEST(Migrations, ConcurrentMigratorsOfOneDatabaseBothSucceedAndApplyEachMigrationOnce) {
    TestDatabase db(false);
    const auto migrations = all_migrations();
    MigrationReport reports[2];
    std::string errors[2];
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
        threads.emplace_back([&, i] {
            try {
                const auto connection = connect(db.url());
                reports[i] = migrate(*connection, migrations);
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
    // One of them applied everything, the other found it done.
    std::multiset<int> applied(reports[0].applied.begin(), reports[0].applied.end());
    applied.insert(reports[1].applied.begin(), reports[1].applied.end());
    const auto all = versions_of(migrations);
    EXPECT_EQ(applied, std::multiset<int>(all.begin(), all.end()));
    EXPECT_TRUE(reports[0].applied.empty() || reports[1].applied.empty());
    EXPECT_EQ(recorded_versions(db.url()), all);
}

// The journal is the system of record: once a request is in it, nobody changes it.
TEST(Migrations, TheJournalRefusesUpdateDeleteAndTruncateEvenToASuperuser) {
    TestDatabase db;
    const auto connection = connect(db.url());
    {
        pqxx::work tx(*connection);
        tx.exec("INSERT INTO journal (seq, ts_ns, kind, body) VALUES (1, 10, 1, '\\x01'::bytea)");
        tx.commit();
    }
    for (const char* change :
         {"UPDATE journal SET kind = 2 WHERE seq = 1", "DELETE FROM journal WHERE seq = 1",
          // CASCADE: without it the checkpoints' foreign key refuses
          // first, and the trigger would go untested.
          "TRUNCATE journal CASCADE"}) {
        pqxx::work tx(*connection);
        try {
            tx.exec(change);
            ADD_FAILURE() << "the journal allowed: " << change;
        } catch (const pqxx::sql_error& e) {
            EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos)
                << change << ": " << e.what();
        }
    }
    pqxx::read_transaction tx(*connection);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM journal WHERE kind = 1")[0].as<int>(), 1);
}

TEST(Migrations, TheAppRoleCanAppendToAndReadTheJournalButNotRewriteIt) {
    TestDatabase db;
    const auto connection = connect(db.url());
    use_app_role(*connection);
    {
        pqxx::work tx(*connection);
        EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), "cpx_app");
        tx.exec("INSERT INTO journal (seq, ts_ns, kind, body) VALUES (1, 10, 1, '\\x01'::bytea)");
        tx.exec("INSERT INTO checkpoints (seq, state_hash) VALUES (1, 42)");
        tx.commit();
    }
    {
        pqxx::read_transaction tx(*connection);
        EXPECT_EQ(tx.exec1("SELECT body FROM journal WHERE seq = 1")[0].as<std::string>(), "\\x01");
        EXPECT_EQ(tx.exec1("SELECT state_hash FROM checkpoints WHERE seq = 1")[0].as<int>(), 42);
    }
    for (const char* change : {"UPDATE journal SET kind = 2", "DELETE FROM journal",
                               "TRUNCATE journal", "CREATE TABLE mine (x int)"}) {
        pqxx::work tx(*connection);
        EXPECT_THROW(tx.exec(change), pqxx::sql_error) << change;
    }
}

}  // namespace
}  // namespace cpx::store
