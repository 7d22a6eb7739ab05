// Order-entry sessions: cancel-on-disconnect when the client goes away or stops
// heartbeating (and only for the orders that stream entered), orders kept without it,
// and a reconnecting client replaying exactly the reports it missed.

#include <thread>

#include "http_get.hpp"
#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

class GatewaySessions : public GatewayFixture {
  protected:
    // The server's count of ended order-entry streams, from its /metrics.
    std::int64_t streams_closed() {
        const auto metrics = http_get(server_->ops_port(), "/metrics");
        return metrics ? metric_value(metrics->body, "cpx_streams_closed_total") : -1;
    }
    bool wait_streams_closed(std::int64_t count) {
        const auto until = std::chrono::steady_clock::now() + kWaitTimeout;
        while (std::chrono::steady_clock::now() < until) {
            if (streams_closed() >= count) {
                return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
    // Waits until the account's open orders are exactly `ids` (in placement order).
    bool wait_open_orders(const Party& who, const std::vector<std::uint64_t>& ids) {
        const auto until = std::chrono::steady_clock::now() + kWaitTimeout;
        while (true) {
            const auto open = open_orders(who);
            std::vector<std::uint64_t> now;
            for (const cpx::v1::OpenOrder& o : open.response.orders()) {
                now.push_back(o.order_id());
            }
            if (open.ok() && now == ids) {
                return true;
            }
            if (std::chrono::steady_clock::now() >= until) {
                ADD_FAILURE() << "open orders: " << open.response.DebugString();
                return false;
            }
            std::this_thread::sleep_for(10ms);
        }
    }
};

TEST_F(GatewaySessions, CancelOnDisconnectCancelsOnlyTheStreamsOrders) {
    const auto unary = buy(buyer_, kTokens, 100, 1);
    ASSERT_TRUE(unary.ok());
    TradeSession keeper(*orders_, buyer_.key);
    ASSERT_TRUE(keeper.logon(false).has_value());
    ASSERT_TRUE(keeper.send_batch({command(limit("keep", kTokens, cpx::v1::SIDE_BUY, 101, 1))}));
    const auto kept = keeper.wait_reports(1);
    ASSERT_EQ(kept.size(), 1u);

    auto leaver = std::make_unique<TradeSession>(*orders_, buyer_.key);
    ASSERT_TRUE(leaver->logon(true).has_value());
    ASSERT_TRUE(leaver->send_batch({command(limit("go-1", kTokens, cpx::v1::SIDE_BUY, 102, 1)),
                                    command(limit("go-2", kCompute, cpx::v1::SIDE_BUY, 900, 2))}));
    ASSERT_EQ(leaver->wait_reports(2).size(), 2u);
    ASSERT_EQ(all_open_orders(0).size(), 4u);

    leaver->cancel();  // the client goes away without a word
    EXPECT_TRUE(wait_open_orders(buyer_, {unary.response.order_id(), kept[0].order_id()}));
    // The account's other stream hears of both cancels.
    const auto heard = keeper.wait_reports(5);
    ASSERT_EQ(heard.size(), 5u);
    EXPECT_EQ(heard[3].exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    EXPECT_EQ(heard[4].exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 100 + 101);
}

TEST_F(GatewaySessions, WithoutCancelOnDisconnectOrdersStay) {
    const std::int64_t closed_before = streams_closed();
    ASSERT_GE(closed_before, 0);
    auto session = std::make_unique<TradeSession>(*orders_, provider_.key);
    ASSERT_TRUE(session->logon(false).has_value());
    ASSERT_TRUE(
        session->send_batch({command(limit("stay-1", kTokens, cpx::v1::SIDE_SELL, 900, 1)),
                             command(limit("stay-2", kTokens, cpx::v1::SIDE_SELL, 901, 1))}));
    const auto reports = session->wait_reports(2);
    ASSERT_EQ(reports.size(), 2u);
    session->cancel();
    // Once the server has ended the stream, the orders are still there.
    ASSERT_TRUE(wait_streams_closed(closed_before + 1));
    const auto open = open_orders(provider_);
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open.response.orders_size(), 2);
    EXPECT_EQ(open.response.orders(0).order_id(), reports[0].order_id());
    EXPECT_EQ(open.response.orders(1).order_id(), reports[1].order_id());
}

TEST_F(GatewaySessions, HeartbeatTimeoutEndsTheStreamAndCancelsItsOrders) {
    const auto unary = buy(buyer_, kTokens, 100, 1);
    ASSERT_TRUE(unary.ok());
    TradeSession session(*orders_, buyer_.key);
    const auto ack = session.logon(true, 50);
    ASSERT_TRUE(ack.has_value());
    ASSERT_EQ(ack->heartbeat_interval_ms(), 50u);
    ASSERT_TRUE(session.send_batch({command(limit("hb-1", kTokens, cpx::v1::SIDE_BUY, 102, 1))}));
    ASSERT_EQ(session.wait_reports(1).size(), 1u);

    // The client falls silent: three intervals later the server ends the stream.
    const auto status = session.wait_finished();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status->error_message();
    EXPECT_NE(status->error_message().find("heartbeat"), std::string::npos)
        << status->error_message();
    EXPECT_TRUE(wait_open_orders(buyer_, {unary.response.order_id()}));
}

TEST_F(GatewaySessions, HeartbeatsKeepTheStreamAlive) {
    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(true, 100).has_value());
    ASSERT_TRUE(session.send_batch({command(limit("alive", kTokens, cpx::v1::SIDE_BUY, 102, 1))}));
    ASSERT_EQ(session.wait_reports(1).size(), 1u);
    const auto until = std::chrono::steady_clock::now() + 600ms;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_TRUE(session.send_heartbeat());
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_FALSE(session.finished());
    // The server heartbeats on the same interval while it has nothing else to say.
    EXPECT_GE(session.heartbeats(), 2u);
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 1);
}

TEST_F(GatewaySessions, ResumeReplaysExactlyTheMissedReports) {
    // A witness stream stays logged on and sees every report of the account live.
    TradeSession witness(*orders_, provider_.key);
    ASSERT_TRUE(witness.logon(false).has_value());

    auto first = std::make_unique<TradeSession>(*orders_, provider_.key);
    ASSERT_TRUE(first->logon(false).has_value());
    ASSERT_TRUE(first->send_batch({command(limit("rs-1", kTokens, cpx::v1::SIDE_SELL, 500, 10)),
                                   command(limit("rs-2", kTokens, cpx::v1::SIDE_SELL, 510, 10))}));
    const auto seen = first->wait_reports(2);
    ASSERT_EQ(seen.size(), 2u);
    const std::uint64_t last_seen = seen.back().session_seq();
    ASSERT_EQ(last_seen, 2u);
    first->cancel();

    // While the client is away: a fill, a cancel and a new order of the account.
    ASSERT_TRUE(buy(buyer_, kTokens, 500, 4).ok());
    ASSERT_TRUE(cancel(provider_, cancel_of("rs-3", seen[1].order_id())).ok());
    ASSERT_TRUE(place(provider_, limit("rs-4", kTokens, cpx::v1::SIDE_SELL, 520, 1)).ok());
    const auto live = witness.wait_reports(5);
    ASSERT_EQ(live.size(), 5u);

    TradeSession resumed(*orders_, provider_.key);
    const auto ack = resumed.logon(false, 0, last_seen);
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->last_seq(), 5u);
    const auto replayed = resumed.wait_reports(3);
    ASSERT_EQ(replayed.size(), 3u);
    for (std::size_t i = 0; i < replayed.size(); ++i) {
        EXPECT_EQ(replayed[i].SerializeAsString(), live[i + 2].SerializeAsString())
            << "replayed " << replayed[i].DebugString() << "live " << live[i + 2].DebugString();
    }
    EXPECT_EQ(replayed[0].exec_type(), cpx::v1::EXEC_TYPE_TRADE);
    ASSERT_EQ(replayed[0].fills_size(), 1);
    EXPECT_EQ(replayed[0].fills(0).quantity(), 4);
    EXPECT_EQ(replayed[1].exec_type(), cpx::v1::EXEC_TYPE_CANCELLED);
    EXPECT_EQ(replayed[2].client_order_id(), "rs-4");

    // Nothing else was replayed: the next report is the next live one.
    ASSERT_TRUE(resumed.send_batch({command(limit("rs-5", kTokens, cpx::v1::SIDE_SELL, 530, 1))}));
    const auto after = resumed.wait_reports(4);
    ASSERT_EQ(after.size(), 4u);
    EXPECT_EQ(after[3].client_order_id(), "rs-5");
    EXPECT_EQ(after[3].session_seq(), 6u);

    // A logon without resume replays nothing.
    TradeSession fresh(*orders_, provider_.key);
    const auto fresh_ack = fresh.logon(false);
    ASSERT_TRUE(fresh_ack.has_value());
    EXPECT_EQ(fresh_ack->last_seq(), 6u);
    ASSERT_TRUE(place(provider_, limit("rs-6", kTokens, cpx::v1::SIDE_SELL, 540, 1)).ok());
    const auto only_live = fresh.wait_reports(1);
    ASSERT_EQ(only_live.size(), 1u);
    EXPECT_EQ(only_live[0].session_seq(), 7u);
}

}  // namespace
}  // namespace cpx::gateway::test
