// `cpx audit verify`, the built CLI, run as a regulator runs it: against the database
// alone, with the exchange's public key on the command line or in a file. Its exit
// status is the verdict: 0 verified, 1 not verified, 2 a wrong command line.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "shell_command.hpp"
#include "verifier_fixture.hpp"

namespace cpx::verifier::test {
namespace {

using CliRun = cpx::test::ShellRun;

// The built cpx with `arguments`, through the shell.
CliRun run_cli(const std::string& arguments) {
    return cpx::test::run_shell(std::string("'") + CPX_CLI_PATH + "' " + arguments);
}

class AuditVerifyCommand : public AuditedMarket {
  protected:
    std::string database() const { return "--database '" + db.url() + "'"; }
    std::string public_key() const { return "--public-key " + audit::to_hex(key->public_key()); }
};

TEST_F(AuditVerifyCommand, ExitsZeroOnTheHonestRecord) {
    const CliRun run = run_cli("audit verify " + database() + " " + public_key());
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("VERIFIED"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("NOT VERIFIED"), std::string::npos) << run.output;
}

TEST_F(AuditVerifyCommand, ReadsThePublicKeyFromAFile) {
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / (db.name() + "-audit.pub");
    std::ofstream(path) << audit::to_hex(key->public_key()) << "\n";
    const CliRun run =
        run_cli("audit verify " + database() + " --public-key-file '" + path.string() + "'");
    std::filesystem::remove(path);
    EXPECT_EQ(run.status, 0) << run.output;
}

TEST_F(AuditVerifyCommand, ExitsOneAndNamesTheRowOnATamperedRecord) {
    const std::int64_t id = scalar("SELECT min(id) FROM transfers WHERE code = 5");
    as_insider("UPDATE transfers SET amount = amount + 1 WHERE id = " + std::to_string(id));
    const CliRun run = run_cli("audit verify " + database() + " " + public_key());
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_NE(run.output.find("NOT VERIFIED"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("transfer " + std::to_string(id) + " differs from what was recorded"),
              std::string::npos)
        << run.output;
}

TEST_F(AuditVerifyCommand, ExitsOneUnderAnotherPublicKey) {
    const CliRun run =
        run_cli("audit verify " + database() + " --public-key " +
                audit::to_hex(audit::SigningKey::from_seed(seed_of(42)).public_key()));
    EXPECT_EQ(run.status, 1) << run.output;
}

TEST_F(AuditVerifyCommand, PrintsJsonWithTheVerdictAndTheCounts) {
    const CliRun run = run_cli("--json audit verify " + database() + " " + public_key());
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_EQ(run.output.rfind("{\"ok\":true,\"records\":", 0), 0u) << run.output;
    EXPECT_NE(run.output.find("\"problems\":[]"), std::string::npos) << run.output;
}

TEST_F(AuditVerifyCommand, ExitsTwoOnAWrongCommandLine) {
    EXPECT_EQ(run_cli("audit verify " + database()).status, 2);    // no key
    EXPECT_EQ(run_cli("audit verify " + public_key()).status, 2);  // no database
    EXPECT_EQ(run_cli("audit verify " + database() + " --public-key abcd").status, 2);
    EXPECT_EQ(
        run_cli("audit verify " + database() + " " + public_key() + " --public-key-file x").status,
        2);
    EXPECT_EQ(run_cli("audit frobnicate").status, 2);
}

TEST_F(AuditVerifyCommand, AnExportOfATimeRangeVerifiesOfflineAndAChangedOneDoesNot) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("cpx-cli-export-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const CliRun exported =
        run_cli("audit export " + database() + " --from 0 --out '" + dir.string() + "'");
    ASSERT_EQ(exported.status, 0) << exported.output;
    EXPECT_NE(exported.output.find("exported journal seq 1 to"), std::string::npos)
        << exported.output;
    const CliRun verified = run_cli("audit verify --export '" + dir.string() + "' " + public_key());
    EXPECT_EQ(verified.status, 0) << verified.output;
    EXPECT_NE(verified.output.find("VERIFIED"), std::string::npos) << verified.output;
    // The same folder again is refused: an export never overwrites one.
    EXPECT_EQ(
        run_cli("audit export " + database() + " --from 0 --out '" + dir.string() + "'").status, 1);
    // A journal row's body changed by one byte.
    std::vector<std::string> rows;
    {
        std::ifstream in(dir / "journal.csv");
        for (std::string line; std::getline(in, line);) {
            rows.push_back(line);
        }
    }
    ASSERT_GT(rows.size(), 2u);
    rows[2].back() = rows[2].back() == '0' ? '1' : '0';
    {
        std::ofstream out(dir / "journal.csv", std::ios::trunc);
        for (const std::string& row : rows) {
            out << row << '\n';
        }
    }
    const CliRun changed = run_cli("audit verify --export '" + dir.string() + "' " + public_key());
    EXPECT_EQ(changed.status, 1) << changed.output;
    EXPECT_NE(changed.output.find("journal row 2 differs"), std::string::npos) << changed.output;
    EXPECT_EQ(run_cli("audit verify --export x " + database() + " " + public_key()).status, 2);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cpx::verifier::test
