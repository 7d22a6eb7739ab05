// The ledger projector against a real PostgreSQL: an exchange driven through a real
// journal (PgJournal), then projected; PostgreSQL's ledger and settlement tables must
// equal the exchange's, whatever the batch boundaries, restarts and broken connections.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cpx/journal/pg_snapshots.hpp"
#include "projector_fixture.hpp"
#include "projector_market.hpp"
#include "stress.hpp"

namespace cpx::projector::test {
namespace {

constexpr std::uint64_t kFees = ledger::account_id(0, ledger::purpose::fees);
// What a cancel that worked answers.
const Code kCancelled = exchange::from_engine(matching::Reason::CancelledByUser);

class Projector : public ::testing::Test {
  protected:
    cpx::test::TestDatabase db;
};

TEST_F(Projector, ProjectsTheLedgerAndTheObligationsOfAMarket) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 400, 1);
    x.flush();
    const std::vector<exchange::Obligation> trades = x.exchange.open_obligations();
    ASSERT_GT(trades.size(), 20u);

    LedgerProjector projector(projector_config(db.url()));
    const RecoveryInfo info = projector.start_from_database();
    EXPECT_EQ(info.progress_seq, 0u);
    EXPECT_EQ(info.accounts_inserted, 2u);  // external deposits and fees
    EXPECT_EQ(projector.project_available(), x.last_seq());
    EXPECT_EQ(projector.projected_seq(), x.last_seq());
    EXPECT_EQ(projector.replica().state_hash(), x.exchange.state_hash());
    expect_agrees(projector);

    // Every account's four totals are the live exchange's, and the ledger balances.
    for (const ledger::Account& a : x.exchange.ledger().accounts()) {
        const std::string where = " FROM ledger_accounts WHERE id = " + std::to_string(a.id);
        EXPECT_EQ(scalar(db.url(), "SELECT debits_pending" + where), a.debits_pending);
        EXPECT_EQ(scalar(db.url(), "SELECT debits_posted" + where), a.debits_posted);
        EXPECT_EQ(scalar(db.url(), "SELECT credits_pending" + where), a.credits_pending);
        EXPECT_EQ(scalar(db.url(), "SELECT credits_posted" + where), a.credits_posted);
    }
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM ledger_accounts"),
              static_cast<std::int64_t>(x.exchange.ledger().account_count()));
    EXPECT_EQ(scalar(db.url(),
                     "SELECT (debits_posted = credits_posted AND debits_pending = "
                     "credits_pending)::int FROM ledger_totals"),
              1);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM ledger_balance_check"), 0);

    // One obligations row per trade, equal to the exchange's.
    const std::vector<std::string> rows =
        dump(db.url(),
             "SELECT id, instrument, buyer, provider, buy_order, sell_order, price, quantity, "
             "amount_fen, traded_ns, window_end_ns, created_seq FROM obligations ORDER BY id");
    ASSERT_EQ(rows.size(), trades.size());
    for (std::size_t i = 0; i < trades.size(); ++i) {
        const exchange::Obligation& o = trades[i];
        const std::string expected =
            std::to_string(o.id) + "|" + std::to_string(o.instrument) + "|" +
            std::to_string(o.buyer) + "|" + std::to_string(o.provider) + "|" +
            std::to_string(o.buy_order) + "|" + std::to_string(o.sell_order) + "|" +
            std::to_string(o.price) + "|" + std::to_string(o.quantity) + "|" +
            std::to_string(o.amount_fen) + "|" + std::to_string(o.traded_ns) + "|" +
            std::to_string(o.window_end_ns) + "|" + std::to_string(o.created_seq) + "|";
        EXPECT_EQ(rows[i], expected);
    }
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM obligation_status WHERE state = 'open'"),
              static_cast<std::int64_t>(trades.size()));
    // Transfer ids are unique and increase with the journal.
    EXPECT_EQ(scalar(db.url(),
                     "SELECT count(*) FROM (SELECT id, seq, lag(seq) OVER (ORDER BY id) AS prev "
                     "FROM transfers) t WHERE seq < prev"),
              0);
    EXPECT_GT(projector.stats().transfers_netted.load(), 0u);
    EXPECT_EQ(projector.stats().obligations.load(), trades.size());
}

TEST_F(Projector, SettlementIsProjectedWithOneFinalEventPerObligation) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 300, 2);
    const std::size_t trades = x.exchange.open_obligations().size();
    ASSERT_GT(trades, 20u);
    // Trading and settling in separate batches, then more of both in one.
    x.flush();
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    const auto [settled, failed] = settle(x, m);
    x.flush();
    projector.project_available();
    expect_agrees(projector);

    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM obligations"),
              static_cast<std::int64_t>(trades));
    for (const std::uint64_t id : settled) {
        const std::string where = " WHERE obligation_id = " + std::to_string(id);
        EXPECT_EQ(
            scalar(db.url(), "SELECT count(*) FROM obligation_events" + where + " AND kind = 6"), 1)
            << id;
        EXPECT_EQ(
            scalar(db.url(), "SELECT count(*) FROM obligation_events" + where + " AND kind = 7"), 0)
            << id;
        EXPECT_EQ(
            dump(db.url(), "SELECT state FROM obligation_status WHERE id = " + std::to_string(id)),
            std::vector<std::string>{"settled|"});
    }
    for (const std::uint64_t id : failed) {
        EXPECT_EQ(
            dump(db.url(), "SELECT state FROM obligation_status WHERE id = " + std::to_string(id)),
            std::vector<std::string>{"failed|"});
    }
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM obligation_status WHERE state = 'settled'"),
              static_cast<std::int64_t>(settled.size()));
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM obligation_status WHERE state = 'disputed'"),
              static_cast<std::int64_t>(x.exchange.open_obligations().size()));
    // The notes of disputes and rulings are kept; a dispute without one has NULL.
    EXPECT_GT(scalar(db.url(),
                     "SELECT count(*) FROM obligation_events WHERE kind = 3 AND note = "
                     "'nothing arrived'"),
              0);
    EXPECT_GT(scalar(db.url(),
                     "SELECT count(*) FROM obligation_events WHERE kind = 3 AND note "
                     "IS NULL"),
              0);
    EXPECT_GT(scalar(db.url(),
                     "SELECT count(*) FROM obligation_events WHERE kind = 4 AND note = "
                     "'met the spec'"),
              0);
    // The money of the final events is the ledger's: fees, penalties.
    EXPECT_EQ(scalar(db.url(), "SELECT sum(fee_fen) FROM obligation_events"),
              x.exchange.ledger().account(kFees)->credits_posted);
    EXPECT_EQ(scalar(db.url(), "SELECT credits_posted FROM ledger_accounts WHERE id = " +
                                   std::to_string(kFees)),
              x.exchange.ledger().account(kFees)->credits_posted);
    EXPECT_GT(scalar(db.url(), "SELECT sum(penalty_fen) FROM obligation_events"), 0);
    EXPECT_EQ(scalar(db.url(), "SELECT sum(amount) FROM transfers WHERE code = 9"),
              scalar(db.url(), "SELECT sum(penalty_fen) FROM obligation_events"));
    // Settled obligations' escrow went out: what is left in escrow is what the open
    // (disputed) obligations hold.
    Price open_amount = 0;
    for (const exchange::Obligation& o : x.exchange.open_obligations()) {
        open_amount += o.amount_fen;
    }
    EXPECT_EQ(scalar(db.url(),
                     "SELECT sum(credits_posted - debits_posted) FROM ledger_accounts "
                     "WHERE purpose = 3"),
              open_amount);
    // The audit's checks of docs/AUDIT.md, as written there.
    for (const char* audit :
         {"SELECT (count(*) = 0)::int FROM obligation_events e JOIN obligations o ON o.id = "
          "e.obligation_id WHERE e.kind IN (6, 7) AND e.paid_fen + e.fee_fen + e.refunded_fen "
          "<> o.amount_fen",
          "SELECT ((SELECT coalesce(sum(fee_fen), 0) FROM obligation_events) = (SELECT "
          "credits_posted - debits_posted FROM ledger_accounts WHERE owner = 0 AND purpose = "
          "5))::int",
          "SELECT ((SELECT coalesce(sum(amount_fen), 0) FROM obligation_status WHERE state IN "
          "('open', 'delivered', 'disputed')) = (SELECT coalesce(sum(credits_posted - "
          "debits_posted), 0) FROM ledger_accounts WHERE purpose = 3))::int"}) {
        EXPECT_EQ(scalar(db.url(), audit), 1) << audit;
    }
}

TEST_F(Projector, ARestartWritesNothingTwiceAndContinuesWhereItStopped) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 200, 3);
    x.flush();
    std::vector<std::string> after_first;
    {
        LedgerProjector projector(projector_config(db.url()));
        EXPECT_EQ(projector.project_available(), x.last_seq());
        after_first = dump_projection(db.url());
    }
    {
        LedgerProjector projector(projector_config(db.url()));
        const RecoveryInfo info = projector.start_from_database();
        EXPECT_EQ(info.progress_seq, x.last_seq());
        EXPECT_EQ(info.replayed, x.last_seq());
        EXPECT_EQ(info.accounts_inserted, 0u);
        EXPECT_EQ(projector.project_available(), 0u);
        EXPECT_EQ(projector.stats().batches.load(), 0u);
        EXPECT_EQ(dump_projection(db.url()), after_first);
        expect_agrees(projector);
    }
    trade_randomly(x, m, 200, 4);
    settle(x, m);
    x.flush();
    {
        LedgerProjector projector(projector_config(db.url()));
        const auto before =
            static_cast<std::uint64_t>(scalar(db.url(), "SELECT seq FROM projector_progress"));
        EXPECT_EQ(projector.project_available(), x.last_seq() - before);
        expect_agrees(projector);
        EXPECT_EQ(projector.replica().state_hash(), x.exchange.state_hash());
    }
}

TEST_F(Projector, ASecondProjectorOnTheSameDatabaseIsRefused) {
    JournalledExchange x(db.url(), test_config());
    x.flush();
    LedgerProjector first(projector_config(db.url()));
    first.start_from_database();
    LedgerProjector second(projector_config(db.url()));
    EXPECT_THROW(second.start_from_database(), std::runtime_error);
}

// The journal of `drive`, projected by `project` into a fresh database; returns the
// projection's rows.
template <typename Project>
std::vector<std::string> projection_of(std::uint64_t seed, Project&& project) {
    cpx::test::TestDatabase db;
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 300, seed);
    settle(x, m);
    trade_randomly(x, m, 100, seed + 1);
    x.flush();
    project(db.url(), x);
    return dump_projection(db.url());
}

TEST(ProjectorRestarts, StoppedAndKilledMidwayEndsAsOneUninterruptedRun) {
    constexpr std::uint64_t kBatch = 7;
    const std::vector<std::string> uninterrupted =
        projection_of(5, [&](const std::string& url, JournalledExchange& x) {
            LedgerProjector projector(projector_config(url, kBatch));
            EXPECT_EQ(projector.project_available(), x.last_seq());
            expect_agrees(projector);
        });
    ASSERT_GT(uninterrupted.size(), 100u);

    // The interrupted runs write every batch's execution reports on the report writer's
    // session (the uninterrupted one writes them in each batch's transaction), so the
    // report writer is stopped and killed too, and must end with the same rows.
    const auto reports_apart = [&](const std::string& url) {
        ProjectorConfig config = projector_config(url, kBatch);
        config.parallel_reports_min = 1;
        return config;
    };

    // The background thread, stopped at random moments (a stop finishes its batch) and
    // started again by a new projector each time.
    const std::vector<std::string> stopped =
        projection_of(5, [&](const std::string& url, JournalledExchange& x) {
            int restarts = 0;
            while (scalar(url, "SELECT seq FROM projector_progress") <
                   static_cast<std::int64_t>(x.last_seq())) {
                LedgerProjector projector(reports_apart(url));
                projector.start();
                std::this_thread::sleep_for(std::chrono::milliseconds(2 + restarts % 7));
                projector.stop();
                ++restarts;
                ASSERT_LT(restarts, 10'000);
            }
            EXPECT_GT(restarts, 1);
            LedgerProjector projector(projector_config(url, kBatch));
            EXPECT_EQ(projector.project_available(), 0u);
            expect_agrees(projector);
        });
    EXPECT_EQ(stopped, uninterrupted);

    // Connections killed under the running projector: it recovers by itself.
    const std::vector<std::string> killed =
        projection_of(5, [&](const std::string& url, JournalledExchange& x) {
            LedgerProjector projector(reports_apart(url));
            std::atomic<int> errors{0};
            projector.set_on_error([&](const std::string&) { ++errors; });
            projector.start();
            const auto connection = store::connect(url);
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
            int kills = 0;
            while (projector.projected_seq() < x.last_seq()) {
                ASSERT_LT(std::chrono::steady_clock::now(), deadline);
                std::this_thread::sleep_for(std::chrono::milliseconds(3));
                if (kills < 5) {
                    pqxx::nontransaction tx(*connection);
                    tx.exec(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()");
                    ++kills;
                }
            }
            projector.stop();
            EXPECT_GT(errors.load(), 0);
            EXPECT_EQ(projector.projected_seq(), x.last_seq());
            expect_agrees(projector);
        });
    EXPECT_EQ(killed, uninterrupted);
}

TEST_F(Projector, VerifiesEveryBatchWhenAsked) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 150, 6);
    settle(x, m);
    x.flush();
    ProjectorConfig config = projector_config(db.url(), 3);
    config.verify_each_batch = true;
    LedgerProjector projector(config);
    EXPECT_EQ(projector.project_available(), x.last_seq());
    EXPECT_EQ(projector.stats().batches.load(), (x.last_seq() + 2) / 3);
    expect_agrees(projector);
}

// The transfers of one order (user_data is the order id for holds and releases).
std::vector<std::string> order_transfers(const std::string& url, exchange::OrderId order) {
    return dump(url,
                "SELECT flags, code, amount, pending_id IS NULL FROM transfers WHERE "
                "user_data = " +
                    std::to_string(order) + " AND code IN (3, 4) ORDER BY id");
}

TEST_F(Projector, APendingAndItsVoidInOneBatchLeaveNoRowAndAcrossTwoBothRows) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    LedgerProjector projector(projector_config(db.url()));

    // In one batch: the hold and its release net to nothing.
    const exchange::OrderId same = x.buy(m.alice, 900, 10);
    ASSERT_EQ(x.cancel(m.alice, same), kCancelled);
    x.flush();
    projector.project_available();
    EXPECT_TRUE(order_transfers(db.url(), same).empty());

    // Across two batches: the pending row, then its void.
    const exchange::OrderId split = x.buy(m.alice, 900, 10);
    x.flush();
    projector.project_available();
    EXPECT_EQ(order_transfers(db.url(), split), (std::vector<std::string>{"1|3|9000|t|"}));
    EXPECT_EQ(scalar(db.url(), "SELECT debits_pending FROM ledger_accounts WHERE id = " +
                                   std::to_string(ledger::account_id(m.alice.id, 1))),
              9000);
    ASSERT_EQ(x.cancel(m.alice, split), kCancelled);
    x.flush();
    projector.project_available();
    EXPECT_EQ(order_transfers(db.url(), split),
              (std::vector<std::string>{"1|3|9000|t|", "4|4|9000|f|"}));
    expect_agrees(projector);
}

TEST_F(Projector, AHoldPostedInItsBatchIsOneSinglePhaseTransfer) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    LedgerProjector projector(projector_config(db.url()));
    const auto fills = [&](exchange::OrderId buy) {
        // The hold (code 3, user_data = order) and the fill's post (code 5, user_data =
        // trade id) of one buy order.
        return dump(db.url(),
                    "SELECT t.flags, t.code, t.amount, t.pending_id IS NULL FROM transfers t "
                    "WHERE (t.code = 3 AND t.user_data = " +
                        std::to_string(buy) +
                        ") OR (t.code = 5 AND t.user_data IN (SELECT id FROM obligations "
                        "WHERE buy_order = " +
                        std::to_string(buy) + ")) ORDER BY t.id");
    };
    // Rests and trades in one batch: one posted transfer.
    x.sell(m.pat, 1'000, 4);
    const exchange::OrderId same = x.buy(m.alice, 1'000, 4);
    x.flush();
    projector.project_available();
    EXPECT_EQ(fills(same), (std::vector<std::string>{"0|5|4000|t|"}));

    // Rests in one batch, trades in the next: the pending, then its post.
    const exchange::OrderId split = x.buy(m.bob, 1'000, 3);
    x.flush();
    projector.project_available();
    x.sell(m.quinn, 1'000, 3);
    x.flush();
    projector.project_available();
    EXPECT_EQ(fills(split), (std::vector<std::string>{"1|3|3000|t|", "2|5|3000|f|"}));
    expect_agrees(projector);
}

TEST_F(Projector, SnapshotsShortenTheRestartAndTheNewestBelowTheProgressIsKept) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 200, 8);
    x.flush();
    const std::uint64_t projected_to = x.last_seq();
    {
        ProjectorConfig config = projector_config(db.url(), 25);
        config.snapshot_every = 50;
        LedgerProjector projector(config);
        projector.project_available();
        // A snapshot offered while the previous one is still being written replaces the
        // one waiting: at least one is written, the newest offered last.
        EXPECT_GE(projector.stats().snapshots.load(), 1u);
    }
    const std::int64_t newest = scalar(db.url(), "SELECT max(seq) FROM snapshots");
    EXPECT_GT(newest, 0);
    EXPECT_LE(newest, static_cast<std::int64_t>(projected_to));
    EXPECT_GT(newest, static_cast<std::int64_t>(projected_to) - 50);
    EXPECT_LE(scalar(db.url(), "SELECT count(*) FROM snapshots"), 2);

    // cpxd writes its own snapshots, ahead of the projector: the projector's stays.
    trade_randomly(x, m, 50, 9);
    x.flush();
    std::string bytes;
    x.exchange.save_snapshot(bytes);
    journal::PgSnapshotStore store(db.url());
    store.write(x.last_seq() - 1, 0, bytes);  // (the hash does not matter here)
    store.write(x.last_seq(), x.exchange.state_hash(), bytes);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM snapshots"), 3);
    EXPECT_EQ(
        scalar(db.url(), "SELECT count(*) FROM snapshots WHERE seq = " + std::to_string(newest)),
        1);

    LedgerProjector projector(projector_config(db.url(), 25));
    const RecoveryInfo info = projector.start_from_database();
    EXPECT_EQ(info.snapshot_seq, static_cast<std::uint64_t>(newest)) << info.snapshot_refused;
    EXPECT_EQ(info.replayed, projected_to - info.snapshot_seq);
    EXPECT_EQ(projector.project_available(), x.last_seq() - projected_to);
    expect_agrees(projector);
    EXPECT_EQ(projector.replica().state_hash(), x.exchange.state_hash());
}

TEST_F(Projector, TheBackgroundThreadFollowsALiveJournal) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    LedgerProjector projector(projector_config(db.url(), 50));
    projector.start();
    for (int round = 0; round < 5; ++round) {
        trade_randomly(x, m, 60, 20 + static_cast<std::uint64_t>(round));
        projector.wake();
    }
    settle(x, m);
    x.flush();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (projector.projected_seq() < x.last_seq()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    projector.stop();
    EXPECT_EQ(projector.stats().failures.load(), 0u);
    expect_agrees(projector);
}

}  // namespace
}  // namespace cpx::projector::test
