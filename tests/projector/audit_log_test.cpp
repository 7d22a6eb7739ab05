// The audit log as the ledger projector writes it (db/migrations/0007_audit.sql,
// docs/AUDIT.md): every journal row, transfer and trade once, in seq order, each leaf
// and chain head recomputable from the tables alone; the same log whatever the batch
// boundaries and restarts; signed checkpoints at the interval of journal time.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cpx/audit/chain.hpp"
#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/audit/records.hpp"
#include "projector_fixture.hpp"
#include "projector_market.hpp"

namespace cpx::projector::test {
namespace {

class AuditLog : public ::testing::Test {
  protected:
    cpx::test::TestDatabase db;
};

audit::Digest digest(const pqxx::field& f) {
    const pqxx::binarystring bytes(f);
    audit::Digest d{};
    EXPECT_EQ(bytes.size(), d.size());
    std::copy_n(bytes.data(), std::min(bytes.size(), d.size()), d.begin());
    return d;
}

struct LogRow {
    std::int64_t position = 0;
    int kind = 0;
    std::int64_t ref = 0;
    std::int64_t seq = 0;
    audit::Digest leaf{};
    audit::Digest head{};
};

std::vector<LogRow> read_log(const std::string& url) {
    const auto connection = store::connect(url);
    pqxx::read_transaction tx(*connection);
    std::vector<LogRow> rows;
    for (const pqxx::row& r : tx.exec(
             "SELECT position, kind, ref, seq, leaf_hash, head FROM audit_log ORDER BY position")) {
        rows.push_back(LogRow{r[0].as<std::int64_t>(), r[1].as<int>(), r[2].as<std::int64_t>(),
                              r[3].as<std::int64_t>(), digest(r[4]), digest(r[5])});
    }
    return rows;
}

// The canonical record of the row a log entry names, rebuilt from its table alone.
std::string record_of(pqxx::transaction_base& tx, const LogRow& row) {
    audit::CanonicalWriter w;
    const std::string ref = std::to_string(row.ref);
    switch (row.kind) {
        case 1: {
            const pqxx::row r =
                tx.exec1("SELECT seq, ts_ns, kind, body FROM journal WHERE seq = " + ref);
            const pqxx::binarystring body(r[3]);
            audit::encode_record(
                audit::JournalRecord{r[0].as<std::uint64_t>(), r[1].as<std::int64_t>(),
                                     r[2].as<std::uint16_t>(), body.str()},
                w);
            break;
        }
        case 2: {
            const pqxx::row r = tx.exec1(
                "SELECT id, debit_account_id, credit_account_id, amount, coalesce(pending_id, 0), "
                "flags, code, seq, ts_ns, user_data FROM transfers WHERE id = " +
                ref);
            audit::encode_record(
                audit::TransferRecord{
                    r[0].as<std::uint64_t>(), r[1].as<std::uint64_t>(), r[2].as<std::uint64_t>(),
                    r[3].as<std::int64_t>(), r[4].as<std::uint64_t>(),
                    static_cast<std::uint8_t>(r[5].as<int>()), r[6].as<std::uint16_t>(),
                    r[7].as<std::uint64_t>(), r[8].as<std::int64_t>(),
                    static_cast<std::uint64_t>(r[9].as<std::int64_t>())},
                w);
            break;
        }
        case 3: {
            const pqxx::row r = tx.exec1(
                "SELECT id, instrument, buyer, provider, buy_order, sell_order, price, quantity, "
                "amount_fen, traded_ns, window_end_ns, created_seq FROM obligations WHERE id = " +
                ref);
            audit::encode_record(
                audit::TradeRecord{
                    r[0].as<std::uint64_t>(), r[1].as<std::uint64_t>(), r[2].as<std::uint64_t>(),
                    r[3].as<std::uint64_t>(), r[4].as<std::uint64_t>(), r[5].as<std::uint64_t>(),
                    r[6].as<std::int64_t>(), r[7].as<std::int64_t>(), r[8].as<std::int64_t>(),
                    r[9].as<std::int64_t>(), r[10].as<std::int64_t>(), r[11].as<std::uint64_t>()},
                w);
            break;
        }
        default:
            ADD_FAILURE() << "log row " << row.position << " has kind " << row.kind;
    }
    return w.take();
}

std::vector<std::string> dump_log(const std::string& url) {
    std::vector<std::string> rows = dump(url, "SELECT * FROM audit_log ORDER BY position");
    const std::vector<std::string> subtrees =
        dump(url, "SELECT * FROM audit_subtrees ORDER BY level, idx");
    rows.insert(rows.end(), subtrees.begin(), subtrees.end());
    return rows;
}

void run_market(JournalledExchange& x) {
    const Market m = open_market(x);
    trade_randomly(x, m, 300, 11);
    settle(x, m);
    x.flush();
}

TEST_F(AuditLog, HoldsEveryJournalRowTransferAndTradeOnceInSeqOrderAndRecomputesFromTheTables) {
    JournalledExchange x(db.url(), test_config());
    run_market(x);
    LedgerProjector projector(projector_config(db.url(), 37));
    EXPECT_EQ(projector.project_available(), x.last_seq());

    const std::vector<LogRow> log = read_log(db.url());
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM audit_log WHERE kind = 1"),
              scalar(db.url(), "SELECT count(*) FROM journal"));
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM audit_log WHERE kind = 2"),
              scalar(db.url(), "SELECT count(*) FROM transfers"));
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM audit_log WHERE kind = 3"),
              scalar(db.url(), "SELECT count(*) FROM obligations"));
    EXPECT_GT(scalar(db.url(), "SELECT count(*) FROM obligations"), 20);
    EXPECT_EQ(static_cast<std::uint64_t>(log.size()), projector.stats().audit_records.load());

    const auto connection = store::connect(db.url());
    pqxx::read_transaction tx(*connection);
    audit::HashChain chain;
    std::int64_t seq = 0;
    std::int64_t last_ref[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < log.size(); ++i) {
        const LogRow& row = log[i];
        ASSERT_EQ(row.position, static_cast<std::int64_t>(i));
        // Each seq opens with its journal row; then what it caused, transfers before trades.
        if (row.kind == 1) {
            EXPECT_EQ(row.seq, seq + 1) << "position " << i;
            seq = row.seq;
        } else {
            EXPECT_EQ(row.seq, seq) << "position " << i;
            EXPECT_TRUE(row.kind != 2 || log[i - 1].kind != 3) << "position " << i;
        }
        EXPECT_GT(row.ref, last_ref[row.kind]) << "position " << i;
        last_ref[row.kind] = row.ref;
        const std::string record = record_of(tx, row);
        EXPECT_EQ(row.leaf, audit::leaf_hash(record)) << "position " << i;
        ASSERT_EQ(row.head, chain.append(record)) << "position " << i;
    }
    EXPECT_EQ(seq, static_cast<std::int64_t>(x.last_seq()));

    // Every perfect subtree of 256 records or more is stored with its root.
    std::vector<audit::Digest> leaves;
    for (const LogRow& row : log) {
        leaves.push_back(row.leaf);
    }
    std::size_t expected = 0;
    for (std::uint32_t level = 8; (std::size_t{1} << level) <= leaves.size(); ++level) {
        expected += leaves.size() >> level;
    }
    ASSERT_GT(expected, 2u);
    const pqxx::result subtrees = tx.exec("SELECT level, idx, root FROM audit_subtrees");
    EXPECT_EQ(subtrees.size(), expected);
    for (const pqxx::row& r : subtrees) {
        const auto level = r[0].as<std::uint32_t>();
        const auto index = r[1].as<std::uint64_t>();
        const std::size_t size = std::size_t{1} << level;
        ASSERT_LE((index + 1) * size, leaves.size());
        EXPECT_EQ(digest(r[2]), audit::root(std::span(leaves).subspan(index * size, size)))
            << "subtree " << level << "/" << index;
    }
}

// Netting depends on where batches end (a hold made and posted within one batch is one
// transfer row), so the log is compared at batches of one request each: a projector that
// stopped after the first half of the market and a new one that projected the rest
// write exactly the log of one that projected everything at once.
TEST_F(AuditLog, ARestartContinuesTheLogAsIfItHadNeverStopped) {
    cpx::test::TestDatabase other;
    JournalledExchange straight(db.url(), test_config());
    JournalledExchange restarted(other.url(), test_config());
    const Market m1 = open_market(straight);
    const Market m2 = open_market(restarted);
    trade_randomly(straight, m1, 150, 21);
    trade_randomly(restarted, m2, 150, 21);
    restarted.flush();
    {
        LedgerProjector projector(projector_config(other.url(), 1));
        EXPECT_EQ(projector.project_available(), restarted.last_seq());
    }
    trade_randomly(straight, m1, 150, 22);
    trade_randomly(restarted, m2, 150, 22);
    settle(straight, m1);
    settle(restarted, m2);
    straight.flush();
    restarted.flush();
    {
        LedgerProjector projector(projector_config(other.url(), 1));
        EXPECT_GT(projector.project_available(), 0u);
    }
    {
        LedgerProjector projector(projector_config(db.url(), 1));
        EXPECT_EQ(projector.project_available(), straight.last_seq());
    }
    EXPECT_EQ(scalar(other.url(), "SELECT count(*) FROM audit_log"),
              scalar(db.url(), "SELECT count(*) FROM audit_log"));
    EXPECT_EQ(dump_log(other.url()), dump_log(db.url()));
}

TEST_F(AuditLog, CheckpointsSignTheTreeHeadAtTheIntervalOfJournalTime) {
    JournalledExchange x(db.url(), test_config());
    run_market(x);
    audit::Seed seed{};
    seed[0] = 42;
    auto key = std::make_shared<const audit::SigningKey>(audit::SigningKey::from_seed(seed));
    ProjectorConfig config = projector_config(db.url(), 25);
    config.audit_key = key;
    // The market's requests are 1 microsecond apart: about one checkpoint per 100 requests.
    config.audit_checkpoint_interval_ns = 100'000;
    LedgerProjector projector(config);
    projector.project_available();

    const std::vector<LogRow> log = read_log(db.url());
    std::vector<audit::Digest> leaves;
    for (const LogRow& row : log) {
        leaves.push_back(row.leaf);
    }
    const auto connection = store::connect(db.url());
    pqxx::read_transaction tx(*connection);
    const pqxx::result checkpoints = tx.exec(
        "SELECT tree_size, ts_ns, root, signature FROM audit_checkpoints ORDER BY tree_size");
    ASSERT_GE(checkpoints.size(), 3u);
    EXPECT_EQ(checkpoints.size(), projector.stats().audit_checkpoints.load());
    std::int64_t previous_ts_ns = -1;
    for (const pqxx::row& r : checkpoints) {
        audit::Checkpoint c;
        c.tree_size = r[0].as<std::uint64_t>();
        c.ts_ns = r[1].as<std::int64_t>();
        c.root = digest(r[2]);
        const pqxx::binarystring signature(r[3]);
        ASSERT_EQ(signature.size(), c.signature.size());
        std::copy_n(signature.data(), c.signature.size(), c.signature.begin());
        ASSERT_LE(c.tree_size, leaves.size());
        EXPECT_TRUE(audit::verify_checkpoint(c, key->public_key())) << "tree size " << c.tree_size;
        EXPECT_EQ(c.root, audit::root(std::span(leaves).first(c.tree_size)));
        // Its time is the journal time of the last record it covers.
        const std::int64_t last_seq = log[c.tree_size - 1].seq;
        EXPECT_EQ(c.ts_ns,
                  tx.exec1("SELECT ts_ns FROM journal WHERE seq = " + std::to_string(last_seq))[0]
                      .as<std::int64_t>());
        if (previous_ts_ns >= 0) {
            EXPECT_GE(c.ts_ns - previous_ts_ns, config.audit_checkpoint_interval_ns);
        }
        previous_ts_ns = c.ts_ns;
        // Another key's signature does not pass.
        audit::Seed other_seed{};
        other_seed[0] = 43;
        EXPECT_FALSE(
            audit::verify_checkpoint(c, audit::SigningKey::from_seed(other_seed).public_key()));
    }
}

TEST_F(AuditLog, WithoutAKeyTheLogIsWrittenAndNothingIsSigned) {
    JournalledExchange x(db.url(), test_config());
    run_market(x);
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    EXPECT_GT(scalar(db.url(), "SELECT count(*) FROM audit_log"), 0);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM audit_checkpoints"), 0);
}

TEST_F(AuditLog, IsAppendOnlyForTheExchangesRole) {
    JournalledExchange x(db.url(), test_config());
    run_market(x);
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    const auto connection = store::connect(db.url());
    for (const char* sql : {"UPDATE audit_log SET seq = seq WHERE position = 0",
                            "DELETE FROM audit_log WHERE position = 0", "TRUNCATE audit_log"}) {
        pqxx::work tx(*connection);
        EXPECT_THROW(tx.exec(sql), pqxx::sql_error) << sql;
    }
}

// The regulator's database role (cpx_regulator, which a regulator's login role joins):
// it reads every table of the record and can change none of them.
TEST_F(AuditLog, TheRegulatorsRoleReadsEveryTableAndChangesNothing) {
    JournalledExchange x(db.url(), test_config());
    run_market(x);
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    const auto connection = store::connect(db.url());
    std::vector<std::string> tables;
    {
        pqxx::read_transaction tx(*connection);
        for (const pqxx::row& r : tx.exec("SELECT tablename FROM pg_tables "
                                          "WHERE schemaname = 'public' UNION ALL "
                                          "SELECT viewname FROM pg_views "
                                          "WHERE schemaname = 'public' ORDER BY 1")) {
            tables.push_back(r[0].c_str());
        }
    }
    ASSERT_GT(tables.size(), 15u);
    ASSERT_NE(std::find(tables.begin(), tables.end(), "order_lifecycle"), tables.end());
    for (const std::string& table : tables) {
        pqxx::work tx(*connection);
        tx.exec("SET LOCAL ROLE cpx_regulator");
        EXPECT_NO_THROW(tx.exec("SELECT * FROM " + table + " LIMIT 1")) << table;
    }
    for (const char* sql :
         {"INSERT INTO journal (seq, ts_ns, kind, body) VALUES (999999, 1, 1, '')",
          "UPDATE transfers SET amount = amount + 1", "DELETE FROM audit_checkpoints",
          "UPDATE ledger_accounts SET credits_posted = 0", "DELETE FROM obligations",
          "DELETE FROM execution_reports", "INSERT INTO journal_commits VALUES (1, 1)",
          "INSERT INTO audit_log (position, kind, ref, seq, leaf_hash, head) "
          "SELECT 999999, kind, ref + 1000000, seq, leaf_hash, head FROM audit_log LIMIT 1"}) {
        pqxx::work tx(*connection);
        tx.exec("SET LOCAL ROLE cpx_regulator");
        EXPECT_THROW(tx.exec(sql), pqxx::insufficient_privilege) << sql;
    }
}

}  // namespace
}  // namespace cpx::projector::test
