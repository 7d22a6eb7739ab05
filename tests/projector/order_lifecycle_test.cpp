// The regulator's order lifecycle (db/migrations/0009_order_lifecycle.sql): every
// execution report the exchange sent, projected with the receipt and sequencing times of
// the request behind it, and the acknowledgement time the journal's writer records after
// each commit.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "projector_fixture.hpp"
#include "projector_market.hpp"

namespace cpx::projector::test {
namespace {

// How often `column` of `table`, read in `order`, is smaller than the row before.
std::int64_t steps_back(const std::string& url, const std::string& column, const std::string& table,
                        const std::string& order) {
    return scalar(url, "SELECT count(*) FROM (SELECT " + column + " AS t, lag(" + column +
                           ") OVER (ORDER BY " + order + ") AS before FROM " + table +
                           ") s WHERE t < before");
}

class OrderLifecycle : public ::testing::Test {
  protected:
    // Waits until journal_commits covers the journal's last row: the writer records the
    // newest commit alone once the journal goes quiet.
    void wait_for_commit_of(std::uint64_t seq) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (scalar(db.url(), "SELECT coalesce(max(last_seq), 0) FROM journal_commits") <
               static_cast<std::int64_t>(seq)) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline)
                << "journal_commits never reached seq " << seq;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    cpx::test::TestDatabase db;
};

TEST_F(OrderLifecycle, AnOrdersEveryStepIsRecordedWithItsReceiptSequencingAndAcknowledgement) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    x.receipt_lead_ns = 3'000;
    x.now += 1'000'000;
    const exchange::Timestamp placed_ns = x.now;
    const exchange::OrderId sell = x.sell(m.pat, 1'000, 10);
    ASSERT_NE(sell, 0u);
    x.now += 1'000'000;
    const exchange::Timestamp first_fill_ns = x.now;
    x.buy(m.alice, 1'000, 4);
    x.now += 1'000'000;
    x.buy(m.bob, 1'000, 3);
    x.now += 1'000'000;
    const exchange::Timestamp cancelled_ns = x.now;
    x.cancel(m.pat, sell);  // answered with the cancel's reason, checked below
    x.flush();
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    wait_for_commit_of(x.last_seq());

    const std::vector<std::string> life =
        dump(db.url(),
             "SELECT exec, status, price, quantity, leaves, filled, cardinality(trade_ids), "
             "sequenced_ns - " +
                 std::to_string(placed_ns) +
                 ", sequenced_ns - received_ns, acknowledged_ns IS NOT NULL "
                 "FROM order_lifecycle WHERE order_id = " +
                 std::to_string(sell) + " ORDER BY seq, idx");
    const std::vector<std::string> want = {
        "new|new|1000|10|10|0|0|0|3000|t|",
        "trade|partially_filled|1000|10|6|4|1|1000000|3000|t|",
        "trade|partially_filled|1000|10|3|7|1|2000000|3000|t|",
        "cancelled|cancelled|1000|10|0|7|0|3000000|3000|t|",
    };
    EXPECT_EQ(life, want);
    // The fills are the provider's trades, as the obligations table holds them.
    EXPECT_EQ(dump(db.url(), "SELECT unnest(trade_ids) FROM execution_reports WHERE order_id = " +
                                 std::to_string(sell) + " ORDER BY 1"),
              dump(db.url(), "SELECT id FROM obligations WHERE sell_order = " +
                                 std::to_string(sell) + " ORDER BY 1"));
    EXPECT_EQ(scalar(db.url(),
                     "SELECT min(sequenced_ns) FROM execution_reports WHERE exec = 2 "
                     "AND order_id = " +
                         std::to_string(sell)),
              first_fill_ns);
    EXPECT_EQ(scalar(db.url(), "SELECT max(sequenced_ns) FROM execution_reports WHERE order_id = " +
                                   std::to_string(sell)),
              cancelled_ns);
    // Each report is acknowledged by the first commit that covers its request, and a
    // later request is never acknowledged before an earlier one.
    EXPECT_EQ(scalar(db.url(),
                     "SELECT count(*) FROM order_lifecycle l WHERE acknowledged_ns <> "
                     "(SELECT durable_ns FROM journal_commits WHERE last_seq >= l.seq "
                     "ORDER BY last_seq LIMIT 1)"),
              0);
    EXPECT_EQ(steps_back(db.url(), "acknowledged_ns", "order_lifecycle", "seq, idx"), 0);
}

// The reports the clients were sent, as execution_reports lists them (seq, idx order),
// and the trades among them.
struct SentReports {
    std::vector<std::string> reports;
    std::vector<std::uint64_t> trades;
};

SentReports sent_reports(const JournalledExchange& x) {
    SentReports sent;
    for (const exchange::Outbound& o : x.sink.records) {
        const bool mass_cancel = o.kind == exchange::OutKind::MassCancelDone;
        if ((o.kind == exchange::OutKind::Report || mass_cancel) && !o.targeted && !o.duplicate) {
            sent.reports.push_back(std::to_string(o.account) + "|" + std::to_string(o.seq) + "|" +
                                   std::to_string(o.order_id) + "|" +
                                   std::string(o.client_order_id.view()) + "|" +
                                   std::to_string(static_cast<int>(o.exec)) + "|" +
                                   std::to_string(static_cast<int>(o.status)) + "|" +
                                   std::to_string(static_cast<int>(o.code)) + "|" +
                                   std::to_string(o.leaves) + "|" + std::to_string(o.filled) + "|" +
                                   std::to_string(o.ts_ns) + "|" + (mass_cancel ? "t" : "f") + "|");
        } else if (o.kind == exchange::OutKind::Fill) {
            sent.trades.push_back(o.trade_id);
        }
    }
    return sent;
}

// Every report sent is stored once, in order, each fill in exactly one of them.
void expect_reports_stored(const std::string& url, const SentReports& sent) {
    const std::vector<std::string> stored =
        dump(url,
             "SELECT account, report_seq, order_id, client_order_id, exec, status, code, "
             "leaves, filled, sequenced_ns, mass_cancel FROM execution_reports "
             "ORDER BY seq, idx");
    EXPECT_EQ(stored.size(), sent.reports.size());
    for (std::size_t i = 0; i < std::min(stored.size(), sent.reports.size()); ++i) {
        ASSERT_EQ(stored[i], sent.reports[i]) << "report " << i;  // the first that differs
    }
    // Each account's report numbers run 1, 2, 3, ... without a gap: nothing it was sent is
    // missing.
    EXPECT_EQ(scalar(url,
                     "SELECT count(*) FROM (SELECT account, count(*) AS n, max(report_seq) AS top "
                     "FROM execution_reports GROUP BY account) t WHERE n <> top"),
              0);
    // Each fill the clients saw is in exactly one report; every trade has two fills.
    EXPECT_EQ(scalar(url, "SELECT sum(cardinality(trade_ids)) FROM execution_reports"),
              static_cast<std::int64_t>(sent.trades.size()));
    EXPECT_EQ(scalar(url,
                     "SELECT count(*) FROM obligations o WHERE (SELECT count(*) FROM "
                     "execution_reports r WHERE o.id = ANY (r.trade_ids)) <> 2"),
              0);
}

// Random trading with a mass cancel in the middle: every kind of report, in batches
// of every size.
void trade_and_sweep(JournalledExchange& x) {
    const Market m = open_market(x);
    trade_randomly(x, m, 300, 17);
    x.send(TestExchange::mass_cancel(m.alice, "sweep"));
    trade_randomly(x, m, 100, 18);
    x.flush();
}

TEST_F(OrderLifecycle, TheReportsAreExactlyThoseTheClientsWereSent) {
    JournalledExchange x(db.url(), test_config());
    trade_and_sweep(x);
    // Small batches: a request's reports never straddle two, whatever the size.
    LedgerProjector projector(projector_config(db.url(), 23));
    projector.project_available();

    const SentReports sent = sent_reports(x);
    ASSERT_GT(sent.reports.size(), 300u);
    expect_reports_stored(db.url(), sent);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM execution_reports WHERE mass_cancel"), 1);
    // Requests journalled without a receipt time keep none.
    EXPECT_EQ(
        scalar(db.url(), "SELECT count(*) FROM execution_reports WHERE received_ns IS NOT NULL"),
        0);
}

// A large batch's reports commit on the report writer's session just before the batch's
// own transaction. When that transaction then fails, the reports are ahead of the
// progress; the recovery must leave them as they are and write the rest, whichever
// session the next projector writes its reports on (the parameter: the next projector's
// parallel_reports_min, 1 for always, 0 for never).
class ReportsAheadOfTheProgress : public OrderLifecycle,
                                  public ::testing::WithParamInterface<std::uint64_t> {};

TEST_P(ReportsAheadOfTheProgress, AreKeptAndNotWrittenAgainAfterTheBatchFailed) {
    JournalledExchange x(db.url(), test_config());
    trade_and_sweep(x);
    // The first batch that makes a trade fails in its own transaction, after its reports
    // (a sequence is not rolled back, so the trigger fails once).
    {
        const auto connection = store::connect(db.url());
        pqxx::work tx(*connection);
        tx.exec(
            "CREATE SEQUENCE test_fail_once; GRANT USAGE ON SEQUENCE test_fail_once TO cpx_app;"
            "CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF nextval('test_fail_once') = 1 THEN RAISE EXCEPTION 'injected failure'; END IF; "
            "RETURN NULL; END $$;"
            "CREATE TRIGGER test_fail_once AFTER INSERT ON obligations "
            "FOR EACH STATEMENT EXECUTE FUNCTION test_fail_once()");
        tx.commit();
    }
    std::uint64_t failed_at = 0;
    {
        ProjectorConfig config = projector_config(db.url(), 23);
        config.parallel_reports_min = 1;
        LedgerProjector projector(config);
        EXPECT_THROW(projector.project_available(), std::runtime_error);
        failed_at = projector.projected_seq();
    }
    ASSERT_GT(failed_at, 0u);
    ASSERT_LT(failed_at, x.last_seq());
    ASSERT_EQ(scalar(db.url(), "SELECT seq FROM projector_progress"),
              static_cast<std::int64_t>(failed_at));
    const std::int64_t reports_seq = scalar(db.url(), "SELECT max(seq) FROM execution_reports");
    ASSERT_GT(reports_seq, static_cast<std::int64_t>(failed_at))
        << "the failed batch's reports did not commit ahead of the progress";

    ProjectorConfig config = projector_config(db.url(), 23);
    config.parallel_reports_min = GetParam();
    LedgerProjector projector(config);
    const RecoveryInfo info = projector.start_from_database();
    EXPECT_EQ(info.progress_seq, failed_at);
    EXPECT_EQ(info.reports_seq, static_cast<std::uint64_t>(reports_seq));
    projector.project_available();
    EXPECT_EQ(projector.projected_seq(), x.last_seq());
    expect_reports_stored(db.url(), sent_reports(x));
    EXPECT_TRUE(projector.check_against_database().ok());
}

INSTANTIATE_TEST_SUITE_P(NextProjector, ReportsAheadOfTheProgress, ::testing::Values(1u, 0u),
                         [](const ::testing::TestParamInfo<std::uint64_t>& p) {
                             return p.param == 0 ? std::string("InTheBatch")
                                                 : std::string("OnTheirOwnSession");
                         });

TEST_F(OrderLifecycle, EveryCommitOfTheJournalIsRecordedOnceInOrder) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    for (int round = 0; round < 5; ++round) {
        trade_randomly(x, m, 40, 100 + static_cast<std::uint64_t>(round));
        x.flush();
    }
    wait_for_commit_of(x.last_seq());
    EXPECT_EQ(scalar(db.url(), "SELECT max(last_seq) FROM journal_commits"),
              static_cast<std::int64_t>(x.last_seq()));
    EXPECT_GE(scalar(db.url(), "SELECT count(*) FROM journal_commits"), 5);
    // Every journal row is in exactly one commit's range, and the ranges follow each
    // other without a gap.
    EXPECT_EQ(scalar(db.url(),
                     "SELECT count(*) FROM journal j WHERE (SELECT count(*) FROM journal_commits c "
                     "WHERE j.seq BETWEEN c.first_seq AND c.last_seq) <> 1"),
              0);
    EXPECT_EQ(scalar(db.url(),
                     "SELECT count(*) FROM (SELECT first_seq, lag(last_seq) OVER (ORDER BY "
                     "last_seq) AS before FROM journal_commits) t WHERE first_seq <> "
                     "coalesce(before, 0) + 1"),
              0);
    // Each row ends a batch of journal rows, and a later batch became durable no earlier.
    EXPECT_EQ(steps_back(db.url(), "durable_ns", "journal_commits", "last_seq"), 0);
}

// A refused command's report echoes what the client sent, whatever it was: none of it
// may stop the projector (a batch it could not write would be retried for ever).
TEST_F(OrderLifecycle, RefusalsOfAnythingAClientCanSendAreRecordedAndTheProjectionGoesOn) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    Request negative = TestExchange::buy(m.alice, 1'000, -5, "neg-qty");
    x.send(negative);
    x.send(TestExchange::cancel(m.alice, ~std::uint64_t{0}, "huge-id"));
    Request replace = TestExchange::replace(m.alice, 999'999, 1'000, -7, "bad-replace");
    x.send(replace);
    // Bytes no text column takes: a cut UTF-8 character, a NUL after them, a backslash.
    Request raw = TestExchange::buy(m.alice, 1'000, 1, "");
    raw.client_order_id = exchange::ClientOrderId::from(std::string("caf\xC3", 4));
    raw.client_order_id_too_long = true;
    x.send(raw);
    Request slash = TestExchange::buy(m.alice, 1'000, 1, "a\\b");
    slash.side = static_cast<exchange::Side>(0xFF);
    x.send(slash);
    const exchange::OrderId after = x.buy(m.alice, 1'000, 1);  // an ordinary order after them
    x.flush();
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    EXPECT_EQ(projector.projected_seq(), x.last_seq());

    EXPECT_EQ(dump(db.url(),
                   "SELECT client_order_id, exec, order_id, side, quantity FROM execution_reports "
                   "WHERE account = " +
                       std::to_string(m.alice.id) + " ORDER BY seq, idx"),
              (std::vector<std::string>{
                  // The engine refused it, after the exchange had given it an id.
                  "neg-qty|5|1|1|-5|",
                  "huge-id|5|-1|0|0|",
                  "bad-replace|5|999999|0|-7|",
                  // Refused before it was given one.
                  "caf\\xC3|5|0|1|1|",
                  "a\\x5Cb|5|2|255|1|",
                  "c1|1|" + std::to_string(after) + "|1|1|",
              }));
}

TEST_F(OrderLifecycle, TheLifecycleTablesRefuseEditsAndImpossibleRows) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 60, 5);
    x.flush();
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    wait_for_commit_of(x.last_seq());
    const auto refused = [&](const std::string& sql) {
        const auto connection = store::connect(db.url());
        pqxx::work tx(*connection);
        try {
            tx.exec(sql);
        } catch (const pqxx::sql_error&) {
            return true;
        }
        return false;
    };
    EXPECT_TRUE(refused("UPDATE execution_reports SET price = price + 1"));
    EXPECT_TRUE(refused("DELETE FROM execution_reports"));
    EXPECT_TRUE(refused("TRUNCATE execution_reports"));
    EXPECT_TRUE(refused("UPDATE journal_commits SET durable_ns = durable_ns - 1"));
    EXPECT_TRUE(refused("DELETE FROM journal_commits"));
    // A report with trades for an order that has filled nothing, and a commit of a seq the
    // journal does not have.
    EXPECT_TRUE(refused(
        "INSERT INTO execution_reports SELECT seq + 1000000, idx, account, report_seq, order_id, "
        "client_order_id, instrument, side, exec, status, code, price, quantity, leaves, 0, "
        "ARRAY[1]::bigint[], received_ns, sequenced_ns FROM execution_reports LIMIT 1"));
    EXPECT_TRUE(refused("INSERT INTO journal_commits VALUES (" +
                        std::to_string(x.last_seq() + 1000) + ", 1)"));
}

}  // namespace
}  // namespace cpx::projector::test
