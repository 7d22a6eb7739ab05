// Unary order entry through a real gRPC client: each call gets one execution report
// that says what happened to the order, and the book agrees with it.

#include "gateway_fixture.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayOrderEntry : public GatewayFixture {};

TEST_F(GatewayOrderEntry, PlaceOrderRestsAndAnswersNew) {
    const auto placed = place(buyer_, limit("bid-1", kTokens, cpx::v1::SIDE_BUY, 500, 100));
    ASSERT_TRUE(placed.ok()) << placed.status.error_message();
    const cpx::v1::ExecutionReport& r = placed.response;
    EXPECT_EQ(r.session_seq(), 1u);
    EXPECT_EQ(r.client_order_id(), "bid-1");
    EXPECT_NE(r.order_id(), 0u);
    EXPECT_EQ(r.instrument_id(), kTokens);
    EXPECT_EQ(r.side(), cpx::v1::SIDE_BUY);
    EXPECT_EQ(r.exec_type(), cpx::v1::EXEC_TYPE_NEW);
    EXPECT_EQ(r.status(), cpx::v1::ORDER_STATUS_NEW);
    EXPECT_EQ(r.price_fen(), 500);
    EXPECT_EQ(r.quantity(), 100);
    EXPECT_EQ(r.leaves_quantity(), 100);
    EXPECT_EQ(r.filled_quantity(), 0);
    EXPECT_EQ(r.fills_size(), 0);
    EXPECT_EQ(r.reason(), "");
    EXPECT_EQ(r.status_code(), 0);
    EXPECT_FALSE(r.duplicate());
    EXPECT_GT(r.ts_ns(), 0);

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open.response.orders_size(), 1);
    const cpx::v1::OpenOrder& o = open.response.orders(0);
    EXPECT_EQ(o.order_id(), r.order_id());
    EXPECT_EQ(o.client_order_id(), "bid-1");
    EXPECT_EQ(o.price_fen(), 500);
    EXPECT_EQ(o.leaves_quantity(), 100);
    EXPECT_EQ(o.status(), cpx::v1::ORDER_STATUS_NEW);

    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 500 * 100);
    EXPECT_EQ(money.response.available_fen(), kBuyerDeposit - 500 * 100);
}

TEST_F(GatewayOrderEntry, CrossingOrderTradesAtTheRestingPrice) {
    const auto ask = sell(provider_, kTokens, 500, 10);
    ASSERT_TRUE(ask.ok()) << ask.status.error_message();
    const auto bid = place(buyer_, limit("take-1", kTokens, cpx::v1::SIDE_BUY, 600, 4));
    ASSERT_TRUE(bid.ok()) << bid.status.error_message();
    const cpx::v1::ExecutionReport& r = bid.response;
    EXPECT_EQ(r.exec_type(), cpx::v1::EXEC_TYPE_NEW);
    EXPECT_EQ(r.status(), cpx::v1::ORDER_STATUS_FILLED);
    EXPECT_EQ(r.leaves_quantity(), 0);
    EXPECT_EQ(r.filled_quantity(), 4);
    ASSERT_EQ(r.fills_size(), 1);
    EXPECT_NE(r.fills(0).trade_id(), 0u);
    EXPECT_EQ(r.fills(0).price_fen(), 500);
    EXPECT_EQ(r.fills(0).quantity(), 4);
    EXPECT_TRUE(r.fills(0).aggressor());

    const auto resting = open_orders(provider_);
    ASSERT_TRUE(resting.ok());
    ASSERT_EQ(resting.response.orders_size(), 1);
    EXPECT_EQ(resting.response.orders(0).leaves_quantity(), 6);
    EXPECT_EQ(resting.response.orders(0).filled_quantity(), 4);
    EXPECT_EQ(resting.response.orders(0).status(), cpx::v1::ORDER_STATUS_PARTIALLY_FILLED);

    // The buyer paid the trade price, not its limit, and holds nothing more.
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.balance_fen(), kBuyerDeposit - 2'000);
    EXPECT_EQ(money.response.reserved_fen(), 0);
    EXPECT_EQ(money.response.unsettled_fen(), 2'000);
}

TEST_F(GatewayOrderEntry, MarketOrderTakesLevelsUpToItsQuantity) {
    ASSERT_TRUE(sell(provider_, kTokens, 700, 5).ok());
    ASSERT_TRUE(sell(provider_, kTokens, 710, 5).ok());
    cpx::v1::NewOrder order = limit("mkt-1", kTokens, cpx::v1::SIDE_BUY, 0, 7);
    order.set_order_type(cpx::v1::ORDER_TYPE_MARKET);
    order.set_time_in_force(cpx::v1::TIME_IN_FORCE_UNSPECIFIED);
    const auto taken = place(buyer_, order);
    ASSERT_TRUE(taken.ok()) << taken.status.error_message();
    EXPECT_EQ(taken.response.status(), cpx::v1::ORDER_STATUS_FILLED);
    ASSERT_EQ(taken.response.fills_size(), 2);
    EXPECT_EQ(taken.response.fills(0).price_fen(), 700);
    EXPECT_EQ(taken.response.fills(0).quantity(), 5);
    EXPECT_EQ(taken.response.fills(1).price_fen(), 710);
    EXPECT_EQ(taken.response.fills(1).quantity(), 2);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.balance_fen(), kBuyerDeposit - 5 * 700 - 2 * 710);
    EXPECT_EQ(money.response.reserved_fen(), 0);
}

TEST_F(GatewayOrderEntry, CancelOrderByOrderIdAndByClientOrderId) {
    const auto first = place(buyer_, limit("keep-a", kTokens, cpx::v1::SIDE_BUY, 400, 10));
    const auto second = place(buyer_, limit("keep-b", kTokens, cpx::v1::SIDE_BUY, 410, 10));
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(second.ok());

    const auto by_id = cancel(buyer_, cancel_of("cx-1", first.response.order_id()));
    ASSERT_TRUE(by_id.ok()) << by_id.status.error_message();
    EXPECT_EQ(by_id.response.exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    EXPECT_EQ(by_id.response.status(), cpx::v1::ORDER_STATUS_CANCELLED);
    EXPECT_EQ(by_id.response.order_id(), first.response.order_id());
    EXPECT_EQ(by_id.response.client_order_id(), "cx-1");
    EXPECT_EQ(by_id.response.leaves_quantity(), 0);

    const auto by_client_id = cancel(buyer_, cancel_of("cx-2", 0, "keep-b"));
    ASSERT_TRUE(by_client_id.ok()) << by_client_id.status.error_message();
    EXPECT_EQ(by_client_id.response.exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    EXPECT_EQ(by_client_id.response.order_id(), second.response.order_id());

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 0);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 0);
    EXPECT_EQ(money.response.available_fen(), kBuyerDeposit);
}

TEST_F(GatewayOrderEntry, ReplaceOrderChangesPriceAndQuantity) {
    const auto placed = place(buyer_, limit("rp-1", kTokens, cpx::v1::SIDE_BUY, 500, 10));
    ASSERT_TRUE(placed.ok());
    const auto replaced = replace(buyer_, replace_of("rp-2", placed.response.order_id(), 510, 20));
    ASSERT_TRUE(replaced.ok()) << replaced.status.error_message();
    EXPECT_EQ(replaced.response.exec_type(), cpx::v1::EXEC_TYPE_REPLACED);
    EXPECT_EQ(replaced.response.status(), cpx::v1::ORDER_STATUS_NEW);
    EXPECT_EQ(replaced.response.order_id(), placed.response.order_id());
    EXPECT_EQ(replaced.response.price_fen(), 510);
    EXPECT_EQ(replaced.response.quantity(), 20);
    EXPECT_EQ(replaced.response.leaves_quantity(), 20);

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open.response.orders_size(), 1);
    EXPECT_EQ(open.response.orders(0).price_fen(), 510);
    EXPECT_EQ(open.response.orders(0).leaves_quantity(), 20);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 510 * 20);
}

TEST_F(GatewayOrderEntry, MassCancelCancelsTheAccountsOrdersOnly) {
    ASSERT_TRUE(buy(buyer_, kTokens, 300, 1).ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 301, 1).ok());
    ASSERT_TRUE(buy(buyer_, kCompute, 900, 2).ok());
    ASSERT_TRUE(sell(provider_, kTokens, 900, 1).ok());

    // One instrument first, then all of them.
    const auto compute_only = mass_cancel(buyer_, kCompute);
    ASSERT_TRUE(compute_only.ok()) << compute_only.status.error_message();
    EXPECT_EQ(compute_only.response.cancelled_count(), 1u);
    EXPECT_EQ(compute_only.response.instrument_id(), kCompute);
    EXPECT_EQ(compute_only.response.reason(), "");
    EXPECT_NE(compute_only.response.session_seq(), 0u);

    const auto everything = mass_cancel(buyer_, 0);
    ASSERT_TRUE(everything.ok()) << everything.status.error_message();
    EXPECT_EQ(everything.response.cancelled_count(), 2u);

    const auto mine = open_orders(buyer_);
    ASSERT_TRUE(mine.ok());
    EXPECT_EQ(mine.response.orders_size(), 0);
    const auto theirs = open_orders(provider_);
    ASSERT_TRUE(theirs.ok());
    EXPECT_EQ(theirs.response.orders_size(), 1);
}

}  // namespace
}  // namespace cpx::gateway::test
