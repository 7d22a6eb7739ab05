// Queries: an account's open orders, fills and balances as it reads them.

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeQueries : public ExchangeTest {
  protected:
    ExchangeQueries() {
        alice = x.buyer("alice", 1'000'000);
        pat = x.provider("pat");
        x.register_tokens(pat, 1'000);
    }
    Party alice, pat;
};

TEST_F(ExchangeQueries, OpenOrdersAreListedInPlacementOrderAndFilteredByInstrument) {
    const Result a = x.send(TestExchange::buy(alice, 100, 3, "a"));
    const Result b = x.send(TestExchange::buy(alice, 90, 4, "b", kCompute));
    const Result c = x.send(TestExchange::buy(alice, 80, 5, "c"));
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 1, "s")).code(), Code::None);

    const std::vector<OpenOrderView> all = x.open_orders(alice);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].order_id, a.answer.order_id);
    EXPECT_EQ(all[1].order_id, b.answer.order_id);
    EXPECT_EQ(all[2].order_id, c.answer.order_id);
    EXPECT_EQ(all[0].client_order_id.view(), "a");
    EXPECT_EQ(all[0].side, Side::Buy);
    EXPECT_EQ(all[0].price, 100);
    EXPECT_EQ(all[0].quantity, 3);
    EXPECT_EQ(all[0].leaves, 2);
    EXPECT_EQ(all[0].filled, 1);
    EXPECT_EQ(all[0].ts_ns, x.now);
    EXPECT_EQ(all[1].instrument, kCompute);

    const std::vector<OpenOrderView> tokens = x.open_orders(alice, kTokens);
    ASSERT_EQ(tokens.size(), 2u);
    EXPECT_EQ(tokens[0].order_id, a.answer.order_id);
    EXPECT_EQ(tokens[1].order_id, c.answer.order_id);
    EXPECT_TRUE(x.open_orders(pat).empty());
}

TEST_F(ExchangeQueries, FillsAreListedOldestFirstWithTheirOrder) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 2, "s1")).code(), Code::None);
    x.advance(kMs);
    const Result b1 = x.send(TestExchange::buy(alice, 100, 2, "b1"));
    x.advance(kMs);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 105, 3, "b2")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 104, 3, "s2")).code(), Code::None);

    const std::vector<FillView> bought = x.fills(alice);
    ASSERT_EQ(bought.size(), 2u);
    EXPECT_EQ(bought[0].order_id, b1.answer.order_id);
    EXPECT_EQ(bought[0].client_order_id.view(), "b1");
    EXPECT_EQ(bought[0].price, 100);
    EXPECT_EQ(bought[0].quantity, 2);
    EXPECT_TRUE(bought[0].aggressor);
    EXPECT_EQ(bought[0].side, Side::Buy);
    EXPECT_EQ(bought[0].instrument, kTokens);
    EXPECT_EQ(bought[0].ts_ns, kStartNs + kMs);
    EXPECT_EQ(bought[1].client_order_id.view(), "b2");
    EXPECT_EQ(bought[1].price, 105);
    EXPECT_FALSE(bought[1].aggressor);
    EXPECT_LT(bought[0].trade_id, bought[1].trade_id);

    const std::vector<FillView> sold = x.fills(pat);
    ASSERT_EQ(sold.size(), 2u);
    EXPECT_EQ(sold[0].side, Side::Sell);
    EXPECT_TRUE(x.fills(alice, kCompute).empty());
}

TEST_F(ExchangeQueries, BalancesShowMoneyAndCapacityPositions) {
    Code code = Code::None;
    x.register_compute(pat, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    ASSERT_EQ(code, Code::None);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 10, "s1", kCompute)).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 4, "b1", kCompute)).code(), Code::None);

    const BalanceView p = x.balances(pat);
    EXPECT_EQ(p.account, pat.id);
    EXPECT_EQ(p.role, Role::Provider);
    EXPECT_EQ(p.unsettled_fen, 400);
    ASSERT_EQ(p.capacity.size(), 2u);
    EXPECT_EQ(p.capacity[0].kind, InstrumentKind::TokenBundle);
    EXPECT_EQ(p.capacity[0].hub, kTokenHub);
    EXPECT_EQ(p.capacity[0].registered, 1'000);
    EXPECT_EQ(p.capacity[1].kind, InstrumentKind::ComputeCapacity);
    EXPECT_EQ(p.capacity[1].hub, kComputeHub);
    EXPECT_EQ(p.capacity[1].window_start_ns, kWindowStart);
    EXPECT_EQ(p.capacity[1].window_end_ns, kWindowEnd);
    EXPECT_EQ(p.capacity[1].registered, 79);
    EXPECT_EQ(p.capacity[1].offered, 6);
    EXPECT_EQ(p.capacity[1].sold, 4);

    const BalanceView a = x.balances(alice);
    EXPECT_EQ(a.role, Role::Buyer);
    EXPECT_EQ(a.balance_fen, 1'000'000 - 400);
    EXPECT_EQ(a.reserved_fen, 0);
    EXPECT_EQ(a.available_fen, 1'000'000 - 400);
    EXPECT_EQ(a.unsettled_fen, 400);
    EXPECT_TRUE(a.capacity.empty());
}

TEST_F(ExchangeQueries, QueriesChangeNothing) {
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 3, "a")).code(), Code::None);
    const std::uint64_t hash = x.exchange.state_hash();
    const std::size_t records = x.sink.records.size();
    x.open_orders(alice);
    x.fills(alice);
    x.balances(alice);
    Payload list;
    x.query(RequestType::ListInstruments, alice.key, 0, list);
    EXPECT_EQ(x.exchange.state_hash(), hash);
    // One reply per query and nothing else.
    EXPECT_EQ(x.sink.records.size(), records + 4);
}

}  // namespace
}  // namespace cpx::exchange::test
