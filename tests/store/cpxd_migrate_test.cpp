// `cpxd migrate` as an operator runs it: one line per migration and exit 0, then the
// same database again finds everything applied; an unreachable database is exit 1 with
// the reason.

#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"
#include "test_database.hpp"

namespace cpx::store {
namespace {

struct MigrateRun {
    int exit_code = -1;
    std::string output;  // standard output and standard error
};

MigrateRun run_cpxd_migrate(const std::string& url) {
    // The URL holds '&' and '?': quoted for the shell (test URLs have no quote).
    const std::string command =
        std::string("'") + CPXD_PATH + "' migrate '--database_url=" + url + "' 2>&1";
    MigrateRun run;
    FILE* out = ::popen(command.c_str(), "r");
    if (out == nullptr) {
        return run;
    }
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, out) != nullptr) {
        run.output += buffer;
    }
    const int status = ::pclose(out);
    if (WIFEXITED(status)) {
        run.exit_code = WEXITSTATUS(status);
    }
    return run;
}

TEST(CpxdMigrate, AppliesEveryMigrationThenFindsThemAllApplied) {
    cpx::test::TestDatabase db(false);
    const auto migrations = load_migrations(default_migrations_dir());

    const MigrateRun first = run_cpxd_migrate(db.url());
    EXPECT_EQ(first.exit_code, 0) << first.output;
    std::string expected;
    for (const Migration& m : migrations) {
        expected += display_name(m) + ": applied\n";
    }
    EXPECT_EQ(first.output, expected);

    const MigrateRun second = run_cpxd_migrate(db.url());
    EXPECT_EQ(second.exit_code, 0) << second.output;
    expected.clear();
    for (const Migration& m : migrations) {
        expected += display_name(m) + ": already applied\n";
    }
    EXPECT_EQ(second.output, expected);
}

TEST(CpxdMigrate, AnUnreachableDatabaseIsExitOneWithTheReason) {
    const std::string url = url_with_database(cpx::test::server_url(), "cpx_no_such_database");
    const MigrateRun run = run_cpxd_migrate(url);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(run.output.rfind("cpxd migrate: cannot connect to the database", 0), 0U)
        << run.output;
    EXPECT_NE(run.output.find("cpx_no_such_database"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace cpx::store
