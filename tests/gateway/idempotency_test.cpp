// A repeated client order id answers with the first answer and never makes a second
// order: over unary calls, over the stream, across the two, and for a first answer
// that was a refusal.

#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayIdempotency : public GatewayFixture {};

TEST_F(GatewayIdempotency, RepeatedUnaryClientOrderIdReturnsTheFirstAnswer) {
    const cpx::v1::NewOrder order = limit("once", kTokens, cpx::v1::SIDE_BUY, 300, 10);
    const auto first = place(buyer_, order);
    ASSERT_TRUE(first.ok()) << first.status.error_message();
    EXPECT_FALSE(first.response.duplicate());

    const auto again = place(buyer_, order);
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_TRUE(again.response.duplicate());
    EXPECT_EQ(again.response.order_id(), first.response.order_id());
    EXPECT_EQ(again.response.session_seq(), first.response.session_seq());
    EXPECT_EQ(again.response.exec_type(), cpx::v1::EXEC_TYPE_NEW);

    // Even with other fields: the id decides.
    const auto changed = place(buyer_, limit("once", kTokens, cpx::v1::SIDE_BUY, 310, 99));
    ASSERT_TRUE(changed.ok());
    EXPECT_TRUE(changed.response.duplicate());
    EXPECT_EQ(changed.response.order_id(), first.response.order_id());
    EXPECT_EQ(changed.response.price_fen(), 300);

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open.response.orders_size(), 1);
    EXPECT_EQ(open.response.orders(0).leaves_quantity(), 10);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 3'000);
}

TEST_F(GatewayIdempotency, RepeatOfAFilledOrderCarriesItsFills) {
    ASSERT_TRUE(sell(provider_, kTokens, 400, 5).ok());
    const cpx::v1::NewOrder order = limit("taker", kTokens, cpx::v1::SIDE_BUY, 400, 5);
    const auto first = place(buyer_, order);
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first.response.fills_size(), 1);
    const auto again = place(buyer_, order);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again.response.duplicate());
    EXPECT_EQ(again.response.status(), cpx::v1::ORDER_STATUS_FILLED);
    ASSERT_EQ(again.response.fills_size(), 1);
    EXPECT_EQ(again.response.fills(0).trade_id(), first.response.fills(0).trade_id());
    // Bought once.
    const auto bought = fills(buyer_);
    ASSERT_TRUE(bought.ok());
    EXPECT_EQ(bought.response.fills_size(), 1);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.balance_fen(), kBuyerDeposit - 2'000);
}

TEST_F(GatewayIdempotency, RepeatedIdOnTheStreamReturnsTheFirstAnswer) {
    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    const cpx::v1::NewOrder order = limit("stream-once", kTokens, cpx::v1::SIDE_BUY, 300, 10);
    ASSERT_TRUE(session.send_batch({command(order), command(order)}));
    ASSERT_TRUE(session.send_batch({command(order)}));
    const auto reports = session.wait_reports(3);
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_FALSE(reports[0].duplicate());
    for (std::size_t i = 1; i < 3; ++i) {
        EXPECT_TRUE(reports[i].duplicate()) << i;
        EXPECT_EQ(reports[i].order_id(), reports[0].order_id()) << i;
        EXPECT_EQ(reports[i].session_seq(), reports[0].session_seq()) << i;
    }
    // The same id over a unary call is the same order as well.
    const auto unary = place(buyer_, order);
    ASSERT_TRUE(unary.ok());
    EXPECT_TRUE(unary.response.duplicate());
    EXPECT_EQ(unary.response.order_id(), reports[0].order_id());

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 1);
}

TEST_F(GatewayIdempotency, RejectedFirstAnswerIsRepeated) {
    const auto first = place(buyer_, limit("bad-once", kCompute, cpx::v1::SIDE_BUY, 1'003, 2));
    EXPECT_TRUE(refused(first, grpc::StatusCode::INVALID_ARGUMENT, "PRICE_NOT_TICK_MULTIPLE"));
    // Corrected, but under the same id: the refusal stands.
    const auto retried = place(buyer_, limit("bad-once", kCompute, cpx::v1::SIDE_BUY, 1'000, 2));
    EXPECT_TRUE(refused(retried, grpc::StatusCode::INVALID_ARGUMENT, "PRICE_NOT_TICK_MULTIPLE"));

    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(
        session.send_batch({command(limit("bad-once", kCompute, cpx::v1::SIDE_BUY, 1'000, 2))}));
    const auto reports = session.wait_reports(1);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(
        rejected(reports[0], grpc::StatusCode::INVALID_ARGUMENT, "PRICE_NOT_TICK_MULTIPLE"));
    EXPECT_TRUE(reports[0].duplicate());

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 0);
}

TEST_F(GatewayIdempotency, RepeatedCancelIsAnsweredAsTheFirstCancel) {
    const auto placed = buy(buyer_, kTokens, 300, 1);
    ASSERT_TRUE(placed.ok());
    const cpx::v1::CancelRequest request = cancel_of("cancel-once", placed.response.order_id());
    const auto first = cancel(buyer_, request);
    ASSERT_TRUE(first.ok());
    const auto again = cancel(buyer_, request);
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_TRUE(again.response.duplicate());
    EXPECT_EQ(again.response.exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    EXPECT_EQ(again.response.order_id(), placed.response.order_id());
}

TEST_F(GatewayIdempotency, ClientOrderIdsBelongToTheirAccount) {
    const Party other = create_account(cpx::v1::ROLE_BUYER, "other");
    ASSERT_TRUE(deposit(other, 100'000).ok());
    const auto mine = place(buyer_, limit("shared", kTokens, cpx::v1::SIDE_BUY, 300, 1));
    const auto theirs = place(other, limit("shared", kTokens, cpx::v1::SIDE_BUY, 300, 1));
    ASSERT_TRUE(mine.ok());
    ASSERT_TRUE(theirs.ok());
    EXPECT_FALSE(theirs.response.duplicate());
    EXPECT_NE(theirs.response.order_id(), mine.response.order_id());
}

}  // namespace
}  // namespace cpx::gateway::test
