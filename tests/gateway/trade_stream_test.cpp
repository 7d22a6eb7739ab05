// The order-entry stream (OrderEntry.Trade): a logon answered by a LogonAck, one report
// per command in the order sent, and the account's later reports (fills of resting
// orders, cancels) on every stream of the account.

#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayTradeStream : public GatewayFixture {};

TEST_F(GatewayTradeStream, LogonIsAnsweredWithLogonAck) {
    // A unary order first, so that the account has a report the ack counts.
    ASSERT_TRUE(buy(buyer_, kTokens, 100, 1).ok());

    TradeSession session(*orders_, buyer_.key);
    const auto ack = session.logon(false);
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->account_id(), buyer_.id);
    EXPECT_NE(ack->session_id(), 0u);
    EXPECT_EQ(ack->last_seq(), 1u);
    EXPECT_EQ(ack->heartbeat_interval_ms(), GatewayOptions{}.heartbeat_interval_ms_default);

    // A second stream is a second session.
    TradeSession other(*orders_, buyer_.key);
    const auto other_ack = other.logon(false);
    ASSERT_TRUE(other_ack.has_value());
    EXPECT_NE(other_ack->session_id(), ack->session_id());
}

TEST_F(GatewayTradeStream, HeartbeatIntervalIsClampedToTheServersRange) {
    TradeSession fast(*orders_, buyer_.key);
    const auto fast_ack = fast.logon(false, 1);
    ASSERT_TRUE(fast_ack.has_value());
    EXPECT_EQ(fast_ack->heartbeat_interval_ms(), 50u);

    TradeSession slow(*orders_, buyer_.key);
    const auto slow_ack = slow.logon(false, 4'000'000'000u);
    ASSERT_TRUE(slow_ack.has_value());
    EXPECT_EQ(slow_ack->heartbeat_interval_ms(), GatewayOptions{}.heartbeat_interval_ms_max);
}

TEST_F(GatewayTradeStream, BatchGetsOneReportPerCommandInOrder) {
    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());

    cpx::v1::MassCancelRequest compute_cancel;
    compute_cancel.set_client_order_id("k-6");
    compute_cancel.set_instrument_id(kCompute);
    ASSERT_TRUE(session.send_batch({
        command(limit("k-1", kTokens, cpx::v1::SIDE_BUY, 200, 5)),
        command(limit("k-2", kTokens, cpx::v1::SIDE_BUY, 210, 5)),
        command(cancel_of("k-3", 0, "k-1")),
        command(replace_of("k-4", 0, 215, 6)),  // names no order: refused in sequence
        command(limit("k-5", kCompute, cpx::v1::SIDE_BUY, 1'003, 2)),  // off tick
        command(compute_cancel),
    }));
    const auto reports = session.wait_reports(5);
    ASSERT_EQ(reports.size(), 5u);
    const auto mass = session.wait_mass_cancels(1);
    ASSERT_EQ(mass.size(), 1u);

    EXPECT_EQ(reports[0].client_order_id(), "k-1");
    EXPECT_EQ(reports[0].exec_type(), cpx::v1::EXEC_TYPE_NEW);
    EXPECT_EQ(reports[1].client_order_id(), "k-2");
    EXPECT_EQ(reports[1].exec_type(), cpx::v1::EXEC_TYPE_NEW);
    EXPECT_EQ(reports[2].client_order_id(), "k-3");
    EXPECT_EQ(reports[2].exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    EXPECT_EQ(reports[2].order_id(), reports[0].order_id());
    EXPECT_EQ(reports[3].client_order_id(), "k-4");
    EXPECT_TRUE(rejected(reports[3], grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
    EXPECT_EQ(reports[4].client_order_id(), "k-5");
    EXPECT_TRUE(
        rejected(reports[4], grpc::StatusCode::INVALID_ARGUMENT, "PRICE_NOT_TICK_MULTIPLE"));
    EXPECT_EQ(mass[0].client_order_id(), "k-6");
    EXPECT_EQ(mass[0].cancelled_count(), 0u);

    // Every report of the account is numbered without gaps, in the order of the
    // commands.
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EXPECT_EQ(reports[i].session_seq(), i + 1) << "report " << i;
    }
    EXPECT_EQ(mass[0].session_seq(), 6u);
}

TEST_F(GatewayTradeStream, FillsOfRestingOrdersArriveOnTheOwnersStream) {
    TradeSession session(*orders_, provider_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(
        session.send_batch({command(limit("ask-1", kTokens, cpx::v1::SIDE_SELL, 800, 10))}));
    const auto placed = session.wait_reports(1);
    ASSERT_EQ(placed.size(), 1u);
    ASSERT_EQ(placed[0].exec_type(), cpx::v1::EXEC_TYPE_NEW);

    const auto taker = buy(buyer_, kTokens, 800, 3);
    ASSERT_TRUE(taker.ok()) << taker.status.error_message();
    ASSERT_EQ(taker.response.fills_size(), 1);

    const auto reports = session.wait_reports(2);
    ASSERT_EQ(reports.size(), 2u);
    const cpx::v1::ExecutionReport& fill = reports[1];
    EXPECT_EQ(fill.exec_type(), cpx::v1::EXEC_TYPE_TRADE);
    EXPECT_EQ(fill.status(), cpx::v1::ORDER_STATUS_PARTIALLY_FILLED);
    EXPECT_EQ(fill.order_id(), placed[0].order_id());
    EXPECT_EQ(fill.client_order_id(), "ask-1");
    EXPECT_EQ(fill.leaves_quantity(), 7);
    EXPECT_EQ(fill.filled_quantity(), 3);
    EXPECT_EQ(fill.session_seq(), 2u);
    ASSERT_EQ(fill.fills_size(), 1);
    EXPECT_EQ(fill.fills(0).trade_id(), taker.response.fills(0).trade_id());
    EXPECT_EQ(fill.fills(0).price_fen(), 800);
    EXPECT_EQ(fill.fills(0).quantity(), 3);
    EXPECT_FALSE(fill.fills(0).aggressor());
}

TEST_F(GatewayTradeStream, MassCancelOnTheStreamAnswersWithMassCancelReport) {
    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(session.send_batch({
        command(limit("mc-1", kTokens, cpx::v1::SIDE_BUY, 100, 1)),
        command(limit("mc-2", kTokens, cpx::v1::SIDE_BUY, 101, 1)),
        command(limit("mc-3", kCompute, cpx::v1::SIDE_BUY, 850, 2)),
    }));
    ASSERT_EQ(session.wait_reports(3).size(), 3u);
    cpx::v1::MassCancelRequest all;
    all.set_client_order_id("mc-all");
    ASSERT_TRUE(session.send_batch({command(all)}));

    const auto mass = session.wait_mass_cancels(1);
    ASSERT_EQ(mass.size(), 1u);
    EXPECT_EQ(mass[0].client_order_id(), "mc-all");
    EXPECT_EQ(mass[0].cancelled_count(), 3u);
    EXPECT_EQ(mass[0].reason(), "");
    // Each order's cancel is reported too, before the answer to the mass cancel.
    const auto reports = session.wait_reports(6);
    ASSERT_EQ(reports.size(), 6u);
    for (std::size_t i = 3; i < 6; ++i) {
        EXPECT_EQ(reports[i].exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
        EXPECT_EQ(reports[i].reason(), "CANCELLED_MASS_CANCEL");
        EXPECT_LT(reports[i].session_seq(), mass[0].session_seq());
    }
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 0);
}

TEST_F(GatewayTradeStream, EveryStreamOfTheAccountSeesEveryReport) {
    TradeSession first(*orders_, buyer_.key);
    TradeSession second(*orders_, buyer_.key);
    ASSERT_TRUE(first.logon(false).has_value());
    ASSERT_TRUE(second.logon(false).has_value());
    ASSERT_TRUE(first.send_batch({command(limit("ev-1", kTokens, cpx::v1::SIDE_BUY, 100, 1))}));
    // The stream and the unary call travel on different connections: only the stream's
    // answer proves its command was sequenced first.
    ASSERT_EQ(first.wait_reports(1).size(), 1u);
    ASSERT_TRUE(buy(buyer_, kTokens, 101, 1).ok());

    const auto on_first = first.wait_reports(2);
    const auto on_second = second.wait_reports(2);
    ASSERT_EQ(on_first.size(), 2u);
    ASSERT_EQ(on_second.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(on_first[i].session_seq(), i + 1);
        EXPECT_EQ(on_first[i].SerializeAsString(), on_second[i].SerializeAsString());
    }
    EXPECT_EQ(on_first[0].client_order_id(), "ev-1");
}

}  // namespace
}  // namespace cpx::gateway::test
