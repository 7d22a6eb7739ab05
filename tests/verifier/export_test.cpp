// Exports of the record as CSV with their hashes (cpx/verifier/export.hpp): an export of
// the whole record or of a time range verifies offline under the exchange's key, and
// every change to it (a value, a row dropped, a forged anchor, another key) or to the
// database before it was made is named.

#include <fstream>
#include <string>
#include <vector>

#include "cpx/verifier/export.hpp"
#include "verifier_fixture.hpp"

namespace cpx::verifier::test {
namespace {

class Exports : public AuditedMarket {
  protected:
    void TearDown() override { std::filesystem::remove_all(root_); }

    std::filesystem::path folder(const std::string& name) { return root_ / name; }
    ExportSummary export_all(const std::filesystem::path& dir) {
        const auto connection = store::connect(db.url());
        return export_range(*connection, 0, std::numeric_limits<std::int64_t>::max(), dir);
    }
    ExportCheck check(const std::filesystem::path& dir) {
        return verify_export(dir, key->public_key());
    }

    static std::vector<std::string> lines(const std::filesystem::path& file) {
        std::ifstream in(file);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) {
            out.push_back(line);
        }
        return out;
    }
    static void write(const std::filesystem::path& file, const std::vector<std::string>& rows) {
        std::ofstream out(file, std::ios::trunc);
        for (const std::string& row : rows) {
            out << row << '\n';
        }
    }
    static std::string field(const std::string& line, std::size_t index) {
        std::size_t begin = 0;
        for (std::size_t i = 0; i < index; ++i) {
            begin = line.find(',', begin) + 1;
        }
        return line.substr(begin, line.find(',', begin) - begin);
    }
    static bool has(const ExportCheck& c, const std::string& text) {
        for (const std::string& p : c.problems) {
            if (p.find(text) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    static std::string all(const ExportCheck& c) {
        std::string out;
        for (const std::string& p : c.problems) {
            out += p + "\n";
        }
        return out;
    }

  private:
    std::filesystem::path root_ =
        std::filesystem::temp_directory_path() / ("cpx-export-test-" + std::to_string(::getpid()));
};

TEST_F(Exports, AnExportOfTheWholeRecordVerifiesOffline) {
    const ExportSummary s = export_all(folder("all"));
    EXPECT_EQ(s.first_position, 0u);
    EXPECT_EQ(static_cast<std::int64_t>(s.tree_size), scalar("SELECT count(*) FROM audit_log"));
    EXPECT_EQ(static_cast<std::int64_t>(s.journal_rows), scalar("SELECT count(*) FROM journal"));
    EXPECT_EQ(static_cast<std::int64_t>(s.transfers), scalar("SELECT count(*) FROM transfers"));
    EXPECT_EQ(static_cast<std::int64_t>(s.trades), scalar("SELECT count(*) FROM obligations"));
    const ExportCheck c = check(folder("all"));
    EXPECT_TRUE(c.ok()) << all(c);
    EXPECT_EQ(c.summary.tree_size, s.tree_size);
    EXPECT_EQ(c.summary.transfers, s.transfers);
}

TEST_F(Exports, ATimeRangeStartsFromThePeaksBeforeItAndEndsAtASignedCheckpoint) {
    // The trading of the second batch, and not the accounts' opening before it.
    const std::int64_t from = scalar("SELECT min(ts_ns) FROM journal WHERE kind = 1") + 10'000;
    const std::int64_t to = from + 10'000;
    const auto connection = store::connect(db.url());
    const ExportSummary s = export_range(*connection, from, to, folder("range"));
    EXPECT_GT(s.first_position, 0u);
    EXPECT_GT(s.trades, 0u);
    EXPECT_LT(s.journal_rows, static_cast<std::uint64_t>(scalar("SELECT count(*) FROM journal")));
    EXPECT_EQ(
        scalar("SELECT min(ts_ns) FROM journal WHERE seq = " + std::to_string(s.first_seq)) >= from,
        true);
    // It ends where a checkpoint was signed.
    EXPECT_EQ(scalar("SELECT count(*) FROM audit_checkpoints WHERE tree_size = " +
                     std::to_string(s.tree_size)),
              1);
    const ExportCheck c = check(folder("range"));
    EXPECT_TRUE(c.ok()) << all(c);
    EXPECT_EQ(c.summary.first_position, s.first_position);
}

TEST_F(Exports, AChangedAmountADroppedRowAndAForgedPeakAreNamed) {
    export_all(folder("all"));
    {
        // A transfer's amount, one fen more.
        const std::filesystem::path dir = folder("amount");
        std::filesystem::copy(folder("all"), dir);
        std::vector<std::string> rows = lines(dir / "transfers.csv");
        const std::string id = field(rows[3], 0);
        const std::string amount = field(rows[3], 3);
        const std::size_t at = rows[3].find("," + amount + ",");
        rows[3].replace(at, amount.size() + 2, "," + std::to_string(std::stoll(amount) + 1) + ",");
        write(dir / "transfers.csv", rows);
        const ExportCheck c = check(dir);
        EXPECT_TRUE(has(c, ": transfer " + id + " differs from what was recorded")) << all(c);
        EXPECT_TRUE(has(c, "the Merkle root of the exported records")) << all(c);
    }
    {
        // A trade's row left out.
        const std::filesystem::path dir = folder("dropped");
        std::filesystem::copy(folder("all"), dir);
        std::vector<std::string> rows = lines(dir / "trades.csv");
        const std::string id = field(rows[2], 0);
        rows.erase(rows.begin() + 2);
        write(dir / "trades.csv", rows);
        const ExportCheck c = check(dir);
        EXPECT_TRUE(has(c, "trade " + id + " is not in the export's tables")) << all(c);
    }
    {
        // A range export whose first peak is replaced: the signed root no longer follows.
        const std::int64_t from = scalar("SELECT min(ts_ns) FROM journal") + 20'000;
        const auto connection = store::connect(db.url());
        export_range(*connection, from, std::numeric_limits<std::int64_t>::max(), folder("peaks"));
        std::vector<std::string> rows = lines(folder("peaks") / "anchor.csv");
        bool forged = false;
        for (std::string& row : rows) {
            if (!forged && row.rfind("peak,", 0) == 0) {
                row = "peak," + std::string(64, row.back() == '0' ? '1' : '0');
                forged = true;
            }
        }
        ASSERT_TRUE(forged);
        write(folder("peaks") / "anchor.csv", rows);
        const ExportCheck c = check(folder("peaks"));
        ASSERT_EQ(c.problems.size(), 1u) << all(c);
        EXPECT_TRUE(has(c, "the checkpoint signed")) << all(c);
    }
}

TEST_F(Exports, AnotherKeyOrARewrittenCheckpointFails) {
    export_all(folder("all"));
    const ExportCheck other =
        verify_export(folder("all"), audit::SigningKey::from_seed(seed_of(99)).public_key());
    EXPECT_TRUE(has(other, "the checkpoint's signature is not valid")) << all(other);
    std::vector<std::string> rows = lines(folder("all") / "anchor.csv");
    for (std::string& row : rows) {
        if (row.rfind("ts_ns,", 0) == 0) {
            row.back() = row.back() == '1' ? '2' : '1';  // another time, one digit off
        }
    }
    write(folder("all") / "anchor.csv", rows);
    EXPECT_TRUE(has(check(folder("all")), "the checkpoint's signature is not valid"));
}

TEST_F(Exports, ARowRewrittenInTheDatabaseWithItsHashesIsCaughtByTheSignedRoot) {
    // The insider rewrites a transfer and every hash after it before exporting; only the
    // checkpoint's signature is beyond reach.
    const std::int64_t id = scalar("SELECT min(id) FROM transfers WHERE code = 5");
    as_insider("UPDATE transfers SET amount = amount + 100 WHERE id = " + std::to_string(id));
    recompute_log_from(position_of(audit::RecordKind::Transfer, id));
    export_all(folder("rewritten"));
    const ExportCheck c = check(folder("rewritten"));
    ASSERT_EQ(c.problems.size(), 1u) << all(c);
    EXPECT_TRUE(has(c, "the Merkle root of the exported records")) << all(c);
}

TEST_F(Exports, AnExportNeedsANewFolderAndASignedEnd) {
    std::filesystem::create_directories(folder("exists"));
    const auto connection = store::connect(db.url());
    EXPECT_THROW(
        export_range(*connection, 0, std::numeric_limits<std::int64_t>::max(), folder("exists")),
        std::runtime_error);
    // A range after the last journal row holds nothing.
    const std::int64_t last = scalar("SELECT max(ts_ns) FROM journal");
    EXPECT_THROW(export_range(*connection, last + 1, last + 2, folder("empty")),
                 std::runtime_error);
    // A missing export is reported, not thrown.
    EXPECT_FALSE(check(folder("missing")).ok());
}

}  // namespace
}  // namespace cpx::verifier::test
