// The projector's committed-batch observer (LedgerProjector::set_on_committed): what it
// is shown is exactly what the batches committed, each trade once, in the audit log's
// order and with the log's position, leaf hash and head, and every surveillance alert as
// surveillance_alerts holds it.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cpx/audit/merkle.hpp"
#include "cpx/audit/records.hpp"
#include "projector_fixture.hpp"
#include "projector_market.hpp"

namespace cpx::projector::test {
namespace {

audit::Digest digest_of(const pqxx::field& f) {
    const pqxx::binarystring bytes(f);
    audit::Digest d{};
    EXPECT_EQ(bytes.size(), d.size());
    std::copy_n(bytes.data(), std::min(bytes.size(), d.size()), d.begin());
    return d;
}

struct TradeRow {
    std::uint64_t id = 0;
    std::uint64_t position = 0;
    audit::Digest leaf{};
    audit::Digest head{};
};

// The audit log's trade records, in log order.
std::vector<TradeRow> logged_trades(const std::string& url) {
    const auto connection = store::connect(url);
    pqxx::read_transaction tx(*connection);
    std::vector<TradeRow> rows;
    for (const pqxx::row& r :
         tx.exec("SELECT ref, position, leaf_hash, head FROM audit_log WHERE kind = 3 "
                 "ORDER BY position")) {
        rows.push_back(TradeRow{r[0].as<std::uint64_t>(), r[1].as<std::uint64_t>(), digest_of(r[2]),
                                digest_of(r[3])});
    }
    return rows;
}

// An alert as dump() prints surveillance_alerts' rows.
std::string line_of(const surveillance::Alert& a) {
    const auto array = [](const std::vector<std::uint64_t>& ids) {
        std::string out = "{";
        for (std::size_t i = 0; i < ids.size(); ++i) {
            out += (i == 0 ? "" : ",") + std::to_string(ids[i]);
        }
        return out + "}";
    };
    return std::to_string(a.seq) + "|" + std::to_string(a.idx) + "|" +
           surveillance::rule_name(a.rule) + "|" + std::to_string(a.ts_ns) + "|" +
           std::to_string(a.account) + "|" + std::to_string(a.instrument) + "|" + array(a.orders) +
           "|" + array(a.trades) + "|" + a.detail + "|";
}

// A market with a wash trade (two accounts of one owner trading with each other) among
// ordinary trades.
void market_with_wash_trade(JournalledExchange& x) {
    const Market m = open_market(x);
    const Party wash_buyer = x.buyer("wash-b", 50'000'000, "wash-group");
    const Party wash_provider = x.provider("wash-p", 1'000'000, 0, "wash-group");
    trade_randomly(x, m, 150, 41);
    x.now += 1'000'000;
    x.sell(wash_provider, 1'003, 5);
    x.buy(wash_buyer, 1'003, 5);
    trade_randomly(x, m, 150, 42);
    x.flush();
}

class CommittedBatches : public ::testing::Test {
  protected:
    cpx::test::TestDatabase db;
};

TEST_F(CommittedBatches, ShowEveryTradeOnceWithItsAuditPlaceAndEveryAlert) {
    JournalledExchange x(db.url(), test_config());
    market_with_wash_trade(x);
    // Small batches, so that trades and alerts are spread over many transactions.
    LedgerProjector projector(projector_config(db.url(), 17));
    std::vector<CommittedBatch> seen;
    projector.set_on_committed([&seen](const CommittedBatch& b) { seen.push_back(b); });
    projector.project_available();

    ASSERT_FALSE(seen.empty());
    std::vector<CommittedTrade> trades;
    std::vector<surveillance::Alert> alerts;
    std::uint64_t next_seq = 1;
    for (const CommittedBatch& b : seen) {
        // The batches come in order, each right after its commit, none twice.
        EXPECT_EQ(b.first_seq, next_seq);
        EXPECT_GE(b.last_seq, b.first_seq);
        next_seq = b.last_seq + 1;
        for (const CommittedTrade& t : b.trades) {
            EXPECT_GE(t.trade.created_seq, b.first_seq);
            EXPECT_LE(t.trade.created_seq, b.last_seq);
        }
        trades.insert(trades.end(), b.trades.begin(), b.trades.end());
        alerts.insert(alerts.end(), b.alerts.begin(), b.alerts.end());
    }
    EXPECT_EQ(next_seq - 1, projector.projected_seq());
    EXPECT_EQ(seen.size(), projector.stats().batches.load());

    const std::vector<TradeRow> logged = logged_trades(db.url());
    ASSERT_GT(logged.size(), 10u);
    ASSERT_EQ(trades.size(), logged.size());
    for (std::size_t i = 0; i < logged.size(); ++i) {
        const CommittedTrade& t = trades[i];
        EXPECT_EQ(t.trade.id, logged[i].id) << i;
        EXPECT_EQ(t.position, logged[i].position) << i;
        EXPECT_EQ(t.leaf_hash, logged[i].leaf) << i;
        EXPECT_EQ(t.head, logged[i].head) << i;
        // The leaf hash is the trade's canonical record's, as a regulator recomputes it.
        audit::CanonicalWriter record;
        audit::encode_record(
            audit::TradeRecord{t.trade.id, t.trade.instrument, t.trade.buyer, t.trade.provider,
                               t.trade.buy_order, t.trade.sell_order, t.trade.price,
                               t.trade.quantity, t.trade.amount_fen, t.trade.traded_ns,
                               t.trade.window_end_ns, t.trade.created_seq},
            record);
        EXPECT_EQ(t.leaf_hash, audit::leaf_hash(record.data())) << i;
    }
    // The trades the obligations table holds, each once.
    EXPECT_EQ(static_cast<std::int64_t>(trades.size()),
              scalar(db.url(), "SELECT count(*) FROM obligations"));

    const std::vector<std::string> stored =
        dump(db.url(),
             "SELECT seq, idx, r.name, ts_ns, account, instrument, orders, trades, detail "
             "FROM surveillance_alerts a JOIN surveillance_rules r USING (rule) "
             "ORDER BY seq, idx");
    ASSERT_EQ(alerts.size(), stored.size());
    ASSERT_FALSE(alerts.empty());
    for (std::size_t i = 0; i < alerts.size(); ++i) {
        EXPECT_EQ(line_of(alerts[i]), stored[i]) << i;
    }
    EXPECT_EQ(alerts.front().rule, surveillance::Rule::WashTrade);
}

TEST_F(CommittedBatches, AreNotShownForABatchThatRolledBack) {
    JournalledExchange x(db.url(), test_config());
    market_with_wash_trade(x);
    LedgerProjector projector(projector_config(db.url()));
    std::uint64_t shown = 0;
    projector.set_on_committed([&shown](const CommittedBatch&) { ++shown; });
    projector.start_from_database();
    // Another writer moved the progress after the projector recovered: the fence refuses
    // the first batch, and its transaction rolls back.
    {
        const auto connection = store::connect(db.url());
        pqxx::work tx(*connection);
        tx.exec0("UPDATE projector_progress SET seq = 1000000");
        tx.commit();
    }
    EXPECT_ANY_THROW(projector.project_available());
    EXPECT_EQ(shown, 0u);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM audit_log"), 0);
}

}  // namespace
}  // namespace cpx::projector::test
