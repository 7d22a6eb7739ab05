// AccountQuery: instruments, open orders, fills and balances read through gRPC agree
// with what the account's orders did.

#include "gateway_fixture.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayQueries : public GatewayFixture {};

TEST_F(GatewayQueries, ListInstrumentsReturnsWhatWasListed) {
    const auto listed = list_instruments(buyer_);
    ASSERT_TRUE(listed.ok()) << listed.status.error_message();
    ASSERT_EQ(listed.response.instruments_size(), 2);
    for (const cpx::v1::Instrument& i : listed.response.instruments()) {
        const cpx::v1::Instrument expected =
            i.instrument_id() == kTokens ? token_instrument() : compute_instrument();
        EXPECT_EQ(i.SerializeAsString(), expected.SerializeAsString()) << i.DebugString();
    }
}

TEST_F(GatewayQueries, OpenOrdersAreInPlacementOrderAndFilterByInstrument) {
    const auto a = buy(buyer_, kTokens, 300, 1);
    const auto b = buy(buyer_, kCompute, 900, 4);
    const auto c = buy(buyer_, kTokens, 310, 2);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());

    const auto all = open_orders(buyer_);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all.response.orders_size(), 3);
    EXPECT_EQ(all.response.orders(0).order_id(), a.response.order_id());
    EXPECT_EQ(all.response.orders(1).order_id(), b.response.order_id());
    EXPECT_EQ(all.response.orders(2).order_id(), c.response.order_id());
    EXPECT_EQ(all.response.orders(1).instrument_id(), kCompute);
    EXPECT_EQ(all.response.orders(1).side(), cpx::v1::SIDE_BUY);
    EXPECT_EQ(all.response.orders(1).quantity(), 4);
    EXPECT_GT(all.response.orders(1).ts_ns(), 0);

    const auto tokens_only = open_orders(buyer_, 0, kTokens);
    ASSERT_TRUE(tokens_only.ok());
    ASSERT_EQ(tokens_only.response.orders_size(), 2);
    EXPECT_EQ(tokens_only.response.orders(0).order_id(), a.response.order_id());
    EXPECT_EQ(tokens_only.response.orders(1).order_id(), c.response.order_id());

    // Naming one's own account is the same as naming none.
    const auto own = open_orders(buyer_, buyer_.id);
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(own.response.orders_size(), 3);
}

TEST_F(GatewayQueries, FillsShowBothSidesOfATrade) {
    const auto ask = sell(provider_, kCompute, 1'000, 10);
    ASSERT_TRUE(ask.ok()) << ask.status.error_message();
    const auto bid = place(buyer_, limit("fill-me", kCompute, cpx::v1::SIDE_BUY, 1'050, 6));
    ASSERT_TRUE(bid.ok()) << bid.status.error_message();
    ASSERT_EQ(bid.response.fills_size(), 1);

    const auto bought = fills(buyer_);
    ASSERT_TRUE(bought.ok());
    ASSERT_EQ(bought.response.fills_size(), 1);
    const cpx::v1::AccountFill& b = bought.response.fills(0);
    EXPECT_EQ(b.trade_id(), bid.response.fills(0).trade_id());
    EXPECT_EQ(b.order_id(), bid.response.order_id());
    EXPECT_EQ(b.client_order_id(), "fill-me");
    EXPECT_EQ(b.instrument_id(), kCompute);
    EXPECT_EQ(b.side(), cpx::v1::SIDE_BUY);
    EXPECT_EQ(b.price_fen(), 1'000);
    EXPECT_EQ(b.quantity(), 6);
    EXPECT_TRUE(b.aggressor());

    const auto sold = fills(provider_, 0, kCompute);
    ASSERT_TRUE(sold.ok());
    ASSERT_EQ(sold.response.fills_size(), 1);
    EXPECT_EQ(sold.response.fills(0).trade_id(), b.trade_id());
    EXPECT_EQ(sold.response.fills(0).order_id(), ask.response.order_id());
    EXPECT_EQ(sold.response.fills(0).side(), cpx::v1::SIDE_SELL);
    EXPECT_FALSE(sold.response.fills(0).aggressor());

    const auto none = fills(provider_, 0, kTokens);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none.response.fills_size(), 0);
}

TEST_F(GatewayQueries, BalancesShowMoneyAndCapacity) {
    ASSERT_TRUE(sell(provider_, kCompute, 1'000, 10).ok());
    ASSERT_TRUE(buy(buyer_, kCompute, 1'000, 4).ok());  // fills 4
    ASSERT_TRUE(buy(buyer_, kTokens, 250, 8).ok());     // rests, holds 2 000

    const auto buyer = balances(buyer_);
    ASSERT_TRUE(buyer.ok());
    EXPECT_EQ(buyer.response.account_id(), buyer_.id);
    EXPECT_EQ(buyer.response.role(), cpx::v1::ROLE_BUYER);
    EXPECT_EQ(buyer.response.balance_fen(), kBuyerDeposit - 4'000);
    EXPECT_EQ(buyer.response.reserved_fen(), 2'000);
    EXPECT_EQ(buyer.response.available_fen(), kBuyerDeposit - 4'000 - 2'000);
    EXPECT_EQ(buyer.response.unsettled_fen(), 4'000);
    EXPECT_EQ(buyer.response.capacity_size(), 0);

    const auto provider = balances(provider_);
    ASSERT_TRUE(provider.ok());
    EXPECT_EQ(provider.response.role(), cpx::v1::ROLE_PROVIDER);
    ASSERT_EQ(provider.response.capacity_size(), 2);
    bool seen_compute = false;
    for (const cpx::v1::CapacityPosition& p : provider.response.capacity()) {
        EXPECT_EQ(p.window_start_ns(), kWindowStart);
        EXPECT_EQ(p.window_end_ns(), kWindowEnd);
        if (p.kind() == cpx::v1::INSTRUMENT_KIND_COMPUTE) {
            seen_compute = true;
            EXPECT_EQ(p.hub(), kComputeHub);
            EXPECT_EQ(p.registered(), kProviderComputeUnits);
            EXPECT_EQ(p.offered(), 6);
            EXPECT_EQ(p.sold(), 4);
        } else {
            EXPECT_EQ(p.hub(), kTokenHub);
            EXPECT_EQ(p.registered(), kProviderTokenBundles);
            EXPECT_EQ(p.offered(), 0);
            EXPECT_EQ(p.sold(), 0);
        }
    }
    EXPECT_TRUE(seen_compute);
}

}  // namespace
}  // namespace cpx::gateway::test
