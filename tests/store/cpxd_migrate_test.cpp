// `cpxd migrate` as an operator runs it: one line per migration and exit 0, then the
// same database again finds everything applied; an unreachable database is exit 1 with
// the reason.

#include <gtest/gtest.h>

#include <string>

#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"
#include "shell_command.hpp"
#include "test_database.hpp"

namespace cpx::store {
namespace {

// `cpxd migrate` on the database `url` names. The URL holds '&' and '?': quoted for the
// shell (test URLs have no quote).
cpx::test::ShellRun run_cpxd_migrate(const std::string& url) {
    return cpx::test::run_shell(std::string("'") + CPXD_PATH + "' migrate '--database_url=" + url +
                                "'");
}

TEST(CpxdMigrate, AppliesEveryMigrationThenFindsThemAllApplied) {
    cpx::test::TestDatabase db(false);
    const auto migrations = load_migrations(default_migrations_dir());

    const cpx::test::ShellRun first = run_cpxd_migrate(db.url());
    EXPECT_EQ(first.status, 0) << first.output;
    std::string expected;
    for (const Migration& m : migrations) {
        expected += display_name(m) + ": applied\n";
    }
    EXPECT_EQ(first.output, expected);

    const cpx::test::ShellRun second = run_cpxd_migrate(db.url());
    EXPECT_EQ(second.status, 0) << second.output;
    expected.clear();
    for (const Migration& m : migrations) {
        expected += display_name(m) + ": already applied\n";
    }
    EXPECT_EQ(second.output, expected);
}

TEST(CpxdMigrate, AnUnreachableDatabaseIsExitOneWithTheReason) {
    const std::string url = url_with_database(cpx::test::server_url(), "cpx_no_such_database");
    const cpx::test::ShellRun run = run_cpxd_migrate(url);
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_EQ(run.output.rfind("cpxd migrate: cannot connect to the database", 0), 0U)
        << run.output;
    EXPECT_NE(run.output.find("cpx_no_such_database"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace cpx::store
