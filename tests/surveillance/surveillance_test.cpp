// The surveillance rules on a real exchange: for each rule a crafted scenario that must
// raise its alert with the right evidence, and a normal one that must not.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cpx/surveillance/surveillance.hpp"
#include "exchange_fixture.hpp"

namespace cpx::surveillance {
namespace {

using exchange::AccountSpec;
using exchange::Code;
using exchange::Obligation;
using exchange::Request;
using exchange::test::kMs;
using exchange::test::kSecond;
using exchange::test::kTokens;
using exchange::test::Party;
using exchange::test::TestExchange;

class Alerts final : public AlertSink {
  public:
    void on_alert(const Alert& alert) override { all.push_back(alert); }
    std::vector<Alert> of(Rule rule) const {
        std::vector<Alert> out;
        for (const Alert& a : all) {
            if (a.rule == rule) {
                out.push_back(a);
            }
        }
        return out;
    }
    std::vector<Alert> all;
};

// A token market watched by surveillance the way the projector's replica is: each
// request between begin_request and end_request, its output delivered in order.
class Watched : public ::testing::Test {
  protected:
    Watched() : surveillance(config(), alerts) {
        x.exchange.set_observers(nullptr, &surveillance, &surveillance);
        spec_ = exchange::test::token_spec();
        spec_.reference_price = 1'000;
        spec_.band_bps = 1'000;  // 900 to 1,100 fen
        EXPECT_EQ(x.add_instrument(spec_), Code::None);
        flush();
    }

    static SurveillanceConfig config() {
        SurveillanceConfig c;
        c.spoof_quantity_min = 500;
        c.spoof_cancel_within_ns = 5 * kSecond;
        c.spoof_trade_within_ns = 5 * kSecond;
        c.band_rejects_min = 3;
        c.band_window_ns = 60 * kSecond;
        return c;
    }

    // Sends one request through surveillance.
    exchange::test::Result send(const Request& r) {
        surveillance.begin_request(x.exchange.request_seq() + 1, x.now);
        exchange::test::Result result = x.send(r);
        flush();
        return result;
    }
    // Administration the fixture sends itself (accounts, deposits, capacity) is output
    // too: delivered as one request.
    void flush() {
        for (; delivered_ < x.sink.records.size(); ++delivered_) {
            surveillance.deliver(x.sink.records[delivered_]);
        }
        surveillance.end_request(x.exchange);
        surveillance.begin_request(x.exchange.request_seq() + 1, x.now);
    }

    Party buyer(const std::string& name, const std::string& group = "") {
        AccountSpec spec;
        spec.owner_group = group;
        const Party p = x.buyer(name, 100'000'000, spec);
        flush();
        return p;
    }
    Party provider(const std::string& name, const std::string& group = "") {
        AccountSpec spec;
        spec.owner_group = group;
        const Party p = x.provider(name, spec);
        x.register_tokens(p, 100'000);
        flush();
        return p;
    }
    exchange::OrderId buy(const Party& p, exchange::Price price, exchange::Quantity quantity) {
        const auto r = send(TestExchange::buy(p, price, quantity, next_id()));
        return r.answer.order_id;
    }
    exchange::OrderId sell(const Party& p, exchange::Price price, exchange::Quantity quantity) {
        const auto r = send(TestExchange::sell(p, price, quantity, next_id()));
        return r.answer.order_id;
    }
    void cancel(const Party& p, exchange::OrderId order) {
        EXPECT_EQ(send(TestExchange::cancel(p, order, next_id())).code(),
                  exchange::from_engine(matching::Reason::CancelledByUser));
    }
    std::string next_id() { return "c" + std::to_string(next_client_++); }

    TestExchange x;
    Alerts alerts;
    Surveillance surveillance;

  private:
    matching::InstrumentSpec spec_;
    std::size_t delivered_ = 0;
    int next_client_ = 1;
};

TEST_F(Watched, AWashTradeBetweenTwoAccountsOfOneOwnerIsRaisedWithItsOrdersAndTrade) {
    const Party b = buyer("inner-buyer", "hohhot-group");
    const Party p = provider("inner-provider", "hohhot-group");
    const exchange::OrderId ask = sell(p, 1'000, 10);
    const exchange::OrderId bid = buy(b, 1'000, 10);
    const std::vector<Alert> wash = alerts.of(Rule::WashTrade);
    ASSERT_EQ(wash.size(), 1u);
    EXPECT_EQ(wash[0].account, b.id);
    EXPECT_EQ(wash[0].instrument, kTokens);
    EXPECT_EQ(wash[0].orders, (std::vector<std::uint64_t>{bid, ask}));
    ASSERT_EQ(wash[0].trades.size(), 1u);
    EXPECT_EQ(wash[0].seq, x.exchange.request_seq());
    EXPECT_NE(wash[0].detail.find("hohhot-group"), std::string::npos) << wash[0].detail;
}

TEST_F(Watched, TradesBetweenDifferentOwnersOrOwnersWithoutAGroupRaiseNothing) {
    const Party b1 = buyer("lab", "lab-group");
    const Party b2 = buyer("maker");
    const Party p1 = provider("cloud", "cloud-group");
    const Party p2 = provider("dc");
    sell(p1, 1'000, 10);
    sell(p2, 1'001, 10);
    buy(b1, 1'001, 15);
    buy(b2, 1'001, 5);
    EXPECT_EQ(x.exchange.open_obligations().size(), 3u);
    EXPECT_TRUE(alerts.all.empty()) << rule_name(alerts.all.front().rule);
}

TEST_F(Watched, ALargeOrderCancelledRightAfterItsOwnerTradedTheOtherSideIsSpoofing) {
    // The owner's buyer account shows a large bid; its provider account sells into the
    // buying it attracts; the bid is cancelled seconds later.
    const Party spoofer_bids = buyer("spoofer-b", "spoof-group");
    const Party spoofer_sells = provider("spoofer-p", "spoof-group");
    const Party honest = buyer("honest");
    const exchange::OrderId large = buy(spoofer_bids, 990, 800);
    x.advance(500 * kMs);
    sell(spoofer_sells, 1'000, 20);
    x.advance(100 * kMs);
    buy(honest, 1'000, 20);  // the honest buyer lifts the offer
    x.advance(1 * kSecond);
    cancel(spoofer_bids, large);
    const std::vector<Alert> spoof = alerts.of(Rule::Spoofing);
    ASSERT_EQ(spoof.size(), 1u);
    EXPECT_EQ(spoof[0].account, spoofer_bids.id);
    EXPECT_EQ(spoof[0].orders, (std::vector<std::uint64_t>{large}));
    EXPECT_EQ(spoof[0].trades.size(), 1u);
    EXPECT_NE(spoof[0].detail.find("800 lots"), std::string::npos) << spoof[0].detail;
}

TEST_F(Watched, LayeringRaisesOneAlertPerCancelledLayer) {
    const Party bids = buyer("layer-b", "layer-group");
    const Party sells = provider("layer-p", "layer-group");
    const Party honest = buyer("honest");
    const exchange::OrderId l1 = buy(bids, 990, 600);
    const exchange::OrderId l2 = buy(bids, 985, 700);
    const exchange::OrderId l3 = buy(bids, 980, 900);
    sell(sells, 1'000, 10);
    buy(honest, 1'000, 10);
    x.advance(2 * kSecond);
    cancel(bids, l1);
    cancel(bids, l2);
    cancel(bids, l3);
    EXPECT_EQ(alerts.of(Rule::Spoofing).size(), 3u);
}

TEST_F(Watched, LargeOrdersCancelledWithoutTradingTheOtherSideOrLateAreNotSpoofing) {
    const Party b = buyer("careful", "careful-group");
    const Party p = provider("careful-p", "careful-group");
    const Party honest = buyer("honest");
    // Cancelled without any trade of the owner on the other side.
    const exchange::OrderId first = buy(b, 990, 800);
    x.advance(1 * kSecond);
    cancel(b, first);
    // Cancelled long after it was placed, although the owner traded meanwhile.
    const exchange::OrderId second = buy(b, 990, 800);
    sell(p, 1'000, 10);
    buy(honest, 1'000, 10);
    x.advance(30 * kSecond);
    cancel(b, second);
    // A small order cancelled quickly after a trade on the other side.
    const exchange::OrderId small = buy(b, 990, 50);
    sell(p, 1'000, 10);
    buy(honest, 1'000, 10);
    cancel(b, small);
    EXPECT_TRUE(alerts.of(Rule::Spoofing).empty());
}

TEST_F(Watched, RepeatedOrdersOutsideThePriceBandRaiseAnAlertNamingThem) {
    const Party b = buyer("prober");
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(send(TestExchange::buy(b, 5'000, 1, "probe-" + std::to_string(i))).code(),
                  exchange::from_engine(matching::Reason::PriceOutsideBand));
        x.advance(5 * kSecond);
    }
    const std::vector<Alert> band = alerts.of(Rule::PriceBandProbing);
    ASSERT_EQ(band.size(), 1u);
    EXPECT_EQ(band[0].account, b.id);
    EXPECT_NE(band[0].detail.find("probe-0 probe-1 probe-2"), std::string::npos) << band[0].detail;
}

TEST_F(Watched, OccasionalOrdersOutsideTheBandRaiseNothing) {
    const Party b = buyer("fat-finger");
    for (int i = 0; i < 6; ++i) {
        send(TestExchange::buy(b, 5'000, 1, "slip-" + std::to_string(i)));
        x.advance(40 * kSecond);  // two rejects at most in any 60 s
    }
    buy(b, 1'000, 1);
    EXPECT_TRUE(alerts.of(Rule::PriceBandProbing).empty());
}

// The voucher rules read the exchange's refusals; the refusals themselves are proved in
// tests/exchange/voucher_test.cpp, so these events are crafted as the exchange emits them.
TEST(SurveillanceVouchers, AClaimOnAnAffiliatedDealAndASecondClaimOnOneDeliveryAreRaised) {
    Alerts alerts;
    Surveillance s(SurveillanceConfig{}, alerts);
    exchange::test::TestExchange x;
    s.begin_request(41, 1'000);
    exchange::VoucherEvent e;
    e.kind = exchange::VoucherEventKind::RedemptionRefused;
    e.program = 2;
    e.voucher = 7;
    e.trade_id = 99;
    e.beneficiary = 12;
    e.provider = 13;
    e.reason = static_cast<std::uint16_t>(Code::AffiliatedParties);
    s.on_voucher(e);
    e.reason = static_cast<std::uint16_t>(Code::BothSidesClaimed);
    e.beneficiary = 13;
    s.on_voucher(e);
    e.reason = static_cast<std::uint16_t>(Code::BudgetExhausted);  // not abuse
    s.on_voucher(e);
    e.kind = exchange::VoucherEventKind::Redeemed;
    e.reason = 0;
    s.on_voucher(e);
    s.end_request(x.exchange);
    ASSERT_EQ(alerts.all.size(), 2u);
    EXPECT_EQ(alerts.all[0].rule, Rule::VoucherAffiliatedDeal);
    EXPECT_EQ(alerts.all[0].account, 12u);
    EXPECT_EQ(alerts.all[0].trades, (std::vector<std::uint64_t>{99}));
    EXPECT_EQ(alerts.all[1].rule, Rule::VoucherClaimedTwice);
    EXPECT_EQ(alerts.all[1].account, 13u);
    EXPECT_EQ(alerts.all[0].seq, 41u);
    EXPECT_EQ(alerts.all[0].idx, 0u);
    EXPECT_EQ(alerts.all[1].idx, 1u);
}

}  // namespace
}  // namespace cpx::surveillance
