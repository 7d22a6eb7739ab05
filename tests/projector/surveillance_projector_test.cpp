// Surveillance in the ledger projector: the rules watch the replica, and their alerts
// reach surveillance_alerts in the batch's transaction, once, the same whatever the
// batch boundaries (they follow from the journal alone).

#include <string>
#include <vector>

#include "projector_fixture.hpp"
#include "projector_market.hpp"

namespace cpx::projector::test {
namespace {

class SurveillanceAlerts : public ::testing::Test {
  protected:
    cpx::test::TestDatabase db;
};

std::vector<std::string> dump_alerts(const std::string& url) {
    return dump(url,
                "SELECT seq, idx, r.name, ts_ns, account, instrument, orders, trades, detail "
                "FROM surveillance_alerts a JOIN surveillance_rules r USING (rule) "
                "ORDER BY seq, idx");
}

// A market with an owner trading with itself, and with an owner who shows a large bid,
// sells into the market through its provider account and cancels the bid.
void abusive_market(JournalledExchange& x) {
    const Market m = open_market(x);
    const Party wash_buyer = x.buyer("wash-b", 50'000'000, "wash-group");
    const Party wash_provider = x.provider("wash-p", 1'000'000, 0, "wash-group");
    const Party spoof_buyer = x.buyer("spoof-b", 50'000'000, "spoof-group");
    const Party spoof_provider = x.provider("spoof-p", 1'000'000, 0, "spoof-group");
    trade_randomly(x, m, 100, 31);
    x.now += 1'000'000;
    x.sell(wash_provider, 1'003, 5);
    x.buy(wash_buyer, 1'003, 5);
    x.now += 1'000'000;
    const exchange::OrderId large = x.buy(spoof_buyer, 900, 900);
    x.now += 1'000'000;
    x.sell(spoof_provider, 1'002, 7);
    x.buy(m.alice, 1'002, 7);
    x.now += 1'000'000'000;
    EXPECT_EQ(x.cancel(spoof_buyer, large),
              exchange::from_engine(matching::Reason::CancelledByUser));
    trade_randomly(x, m, 100, 32);
    x.flush();
}

TEST_F(SurveillanceAlerts, AreWrittenWithTheirRuleAndEvidenceInTheBatchThatRaisedThem) {
    JournalledExchange x(db.url(), test_config());
    abusive_market(x);
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    const std::vector<std::string> alerts = dump_alerts(db.url());
    ASSERT_EQ(alerts.size(), 2u) << (alerts.empty() ? "" : alerts.front());
    EXPECT_NE(alerts[0].find("|wash_trade|"), std::string::npos) << alerts[0];
    EXPECT_NE(alerts[0].find("wash-group"), std::string::npos) << alerts[0];
    EXPECT_NE(alerts[1].find("|spoofing|"), std::string::npos) << alerts[1];
    EXPECT_EQ(projector.stats().alerts.load(), 2u);
    // The wash trade's evidence is its trade and the trade's two orders.
    EXPECT_EQ(scalar(db.url(),
                     "SELECT count(*) FROM surveillance_alerts a JOIN obligations o "
                     "ON o.id = ANY (a.trades) WHERE a.rule = 1 AND o.buy_order = a.orders[1] "
                     "AND o.sell_order = a.orders[2]"),
              1);
}

TEST_F(SurveillanceAlerts, AreTheSameWhateverTheBatchBoundaries) {
    cpx::test::TestDatabase other;
    for (const std::string* url : {&db.url(), &other.url()}) {
        JournalledExchange x(*url, test_config());
        abusive_market(x);
    }
    {
        LedgerProjector projector(projector_config(db.url()));
        projector.project_available();
    }
    {
        LedgerProjector projector(projector_config(other.url(), 13));
        projector.project_available();
    }
    EXPECT_EQ(dump_alerts(other.url()), dump_alerts(db.url()));
    EXPECT_EQ(dump_alerts(db.url()).size(), 2u);
}

TEST_F(SurveillanceAlerts, AnOrdinaryMarketRaisesNone) {
    JournalledExchange x(db.url(), test_config());
    const Market m = open_market(x);
    trade_randomly(x, m, 300, 33);
    settle(x, m);
    x.flush();
    LedgerProjector projector(projector_config(db.url()));
    projector.project_available();
    EXPECT_GT(scalar(db.url(), "SELECT count(*) FROM obligations"), 10);
    EXPECT_EQ(scalar(db.url(), "SELECT count(*) FROM surveillance_alerts"), 0);
}

}  // namespace
}  // namespace cpx::projector::test
