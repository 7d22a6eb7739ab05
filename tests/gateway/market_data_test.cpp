// Public market data: a depth stream is a snapshot and then deltas whose sequence
// numbers chain, and what a client rebuilds from them is the book; a trade stream
// carries every trade; a reader too slow to keep up sees a jump in the numbers and gets
// the true book again by subscribing anew.

#include <mutex>
#include <thread>

#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

class GatewayMarketData : public GatewayFixture {};

TEST_F(GatewayMarketData, DepthIsASnapshotThenChainedDeltasThatRebuildTheBook) {
    ASSERT_TRUE(buy(buyer_, kTokens, 500, 100).ok());
    ASSERT_TRUE(sell(provider_, kTokens, 600, 10).ok());

    const auto depth = subscribe_depth(*market_, kTokens);
    ASSERT_TRUE(depth->wait_count(1));
    const cpx::v1::DepthUpdate snapshot = depth->messages().front();
    EXPECT_TRUE(snapshot.snapshot());
    EXPECT_EQ(snapshot.instrument_id(), kTokens);
    EXPECT_EQ(snapshot.state(), cpx::v1::TRADING_STATE_CONTINUOUS);
    EXPECT_EQ(snapshot.prev_seq(), snapshot.seq());
    EXPECT_GT(snapshot.seq(), 0u);
    ASSERT_EQ(snapshot.bids_size(), 1);
    EXPECT_EQ(snapshot.bids(0).price_fen(), 500);
    EXPECT_EQ(snapshot.bids(0).quantity(), 100);
    EXPECT_EQ(snapshot.bids(0).order_count(), 1u);
    ASSERT_EQ(snapshot.asks_size(), 1);
    EXPECT_EQ(snapshot.asks(0).price_fen(), 600);
    EXPECT_EQ(snapshot.asks(0).quantity(), 10);

    // Activity of every kind: new levels, a second order at a level, a trade that
    // empties a level, a replace that moves an order, a cancel that removes one.
    const auto second_bid = buy(buyer_, kTokens, 500, 20);
    ASSERT_TRUE(second_bid.ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 510, 5).ok());
    const auto ask = sell(provider_, kTokens, 620, 7);
    ASSERT_TRUE(ask.ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 600, 10).ok());  // takes the whole 600 level
    ASSERT_TRUE(replace(provider_, replace_of(next_id(), ask.response.order_id(), 650, 9)).ok());
    ASSERT_TRUE(cancel(buyer_, cancel_of(next_id(), second_bid.response.order_id())).ok());

    const Depth expected = depth_from_open_orders(kTokens);
    ASSERT_EQ(expected.bids.size(), 2u);
    ASSERT_EQ(expected.asks.size(), 1u);
    // Deltas leave after the answers to the orders: wait until the stream caught up.
    Depth rebuilt;
    const bool caught_up = depth->wait_until([&](const std::vector<cpx::v1::DepthUpdate>& m) {
        Depth d;
        return replay_depth(m, d) && d == expected;
    });
    const auto messages = depth->messages();
    EXPECT_TRUE(replay_depth(messages, rebuilt));
    EXPECT_TRUE(caught_up) << "rebuilt " << describe(rebuilt) << "\nexpected "
                           << describe(expected);
    for (const cpx::v1::DepthUpdate& u : messages) {
        EXPECT_EQ(u.instrument_id(), kTokens);
    }
}

TEST_F(GatewayMarketData, DepthOfAnUnknownInstrumentIsNotFound) {
    const auto depth = subscribe_depth(*market_, 777);
    const auto status = depth->wait_finished();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(depth->messages().empty());
}

TEST_F(GatewayMarketData, MarketDataIsPublicAndNeedsNoKey) {
    // StreamDepth and StreamTrades carry public data (market_data.proto): the stubs of
    // this test send no x-api-key at all.
    const auto depth = subscribe_depth(*market_, kCompute);
    ASSERT_TRUE(depth->wait_count(1));
    EXPECT_TRUE(depth->messages().front().snapshot());
}

TEST_F(GatewayMarketData, TradesStreamCarriesEveryTradeWithChainedSequence) {
    const auto trades = subscribe_trades(*market_, kTokens);
    ASSERT_TRUE(sell(provider_, kTokens, 700, 1'000).ok());
    // The subscription is registered by the server's dispatcher thread in its own
    // time: trade until the stream shows it is live.
    bool live = false;
    for (int i = 0; i < 50 && !live; ++i) {
        ASSERT_TRUE(buy(buyer_, kTokens, 700, 1).ok());
        live = trades->wait_count(1, 200ms);
    }
    ASSERT_TRUE(live);

    const auto taker = buy(buyer_, kTokens, 700, 7);
    ASSERT_TRUE(taker.ok());
    ASSERT_EQ(taker.response.fills_size(), 1);
    const std::uint64_t trade_id = taker.response.fills(0).trade_id();
    ASSERT_TRUE(trades->wait_until([&](const std::vector<cpx::v1::TradeTick>& ticks) {
        return !ticks.empty() && ticks.back().trade_id() == trade_id;
    }));
    const auto ticks = trades->messages();
    for (std::size_t i = 1; i < ticks.size(); ++i) {
        EXPECT_EQ(ticks[i].seq(), ticks[i - 1].seq() + 1) << "tick " << i;
    }
    const cpx::v1::TradeTick& tick = ticks.back();
    EXPECT_EQ(tick.instrument_id(), kTokens);
    EXPECT_EQ(tick.price_fen(), 700);
    EXPECT_EQ(tick.quantity(), 7);
    EXPECT_EQ(tick.aggressor(), cpx::v1::SIDE_BUY);
    EXPECT_GT(tick.ts_ns(), 0);
    // Trade ticks count the instrument's trades, subscribed or not: the subscription
    // saw the last few of the tries above and this one.
    EXPECT_EQ(tick.seq(), ticks.size() + (ticks.front().seq() - 1));
}

class GatewayMarketDataSlowReader : public GatewayFixture {
  protected:
    void configure(ServerConfig& config) override { config.gateway.market_write_slots = 2; }
};

TEST_F(GatewayMarketDataSlowReader, SlowReaderSeesAGapAndResubscribesToTheTrueBook) {
    // A channel with a small HTTP/2 window, so that a client that does not read stops
    // the server's writes after a few messages instead of after megabytes.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1'024);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    const auto slow_channel = make_channel(args);
    const auto slow_stub = cpx::v1::MarketData::NewStub(slow_channel);
    grpc::ClientContext context;
    context.set_deadline(deadline_in(kStreamTimeout));
    cpx::v1::DepthRequest request;
    request.set_instrument_id(kTokens);
    const auto reader = slow_stub->StreamDepth(&context, request);
    cpx::v1::DepthUpdate first;
    ASSERT_TRUE(reader->Read(&first));
    ASSERT_TRUE(first.snapshot());

    // Far more book changes than gRPC buffers for a stream (a few hundred kilobytes of
    // deltas), while the client reads nothing: every batch places 32 orders at distinct
    // prices and takes them away again.
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.logon(false).has_value());
        for (int b = 0; b < 300; ++b) {
            std::vector<cpx::v1::OrderCommand> batch;
            for (int i = 0; i < 32; ++i) {
                batch.push_back(
                    command(limit(next_id("g"), kTokens, cpx::v1::SIDE_BUY, 1'000 + i, 1 + b % 3)));
            }
            cpx::v1::MassCancelRequest sweep;
            sweep.set_client_order_id(next_id("sweep"));
            batch.push_back(command(sweep));
            ASSERT_TRUE(session.send_batch(batch));
            // Paced, so that this stream's own reports never pile up.
            if (b % 10 == 9) {
                const auto done = static_cast<std::size_t>(b + 1);
                ASSERT_EQ(session.wait_mass_cancels(done).size(), done);
            }
        }
    }
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(buy(buyer_, kTokens, 1'500 + i, 1).ok());
    }

    std::mutex mutex;
    std::vector<cpx::v1::DepthUpdate> received{first};
    std::thread drain([&] {
        cpx::v1::DepthUpdate m;
        while (reader->Read(&m)) {
            std::lock_guard<std::mutex> lock(mutex);
            received.push_back(m);
        }
    });
    const auto has_gap = [&] {
        std::lock_guard<std::mutex> lock(mutex);
        for (std::size_t i = 1; i < received.size(); ++i) {
            if (received[i].prev_seq() != received[i - 1].seq()) {
                return true;
            }
        }
        return false;
    };
    // Messages made while the ring was full are lost; the next change that finds room
    // shows the jump.
    const auto give_up = std::chrono::steady_clock::now() + kWaitTimeout;
    int price = 2'000;
    while (!has_gap() && std::chrono::steady_clock::now() < give_up) {
        ASSERT_TRUE(buy(buyer_, kTokens, price++, 1).ok());
        std::this_thread::sleep_for(20ms);
    }
    context.TryCancel();
    drain.join();
    (void)reader->Finish();
    EXPECT_TRUE(has_gap());
    {
        std::lock_guard<std::mutex> lock(mutex);
        for (std::size_t i = 1; i < received.size(); ++i) {
            EXPECT_FALSE(received[i].snapshot());
            EXPECT_GT(received[i].seq(), received[i - 1].seq());
            EXPECT_GE(received[i].prev_seq(), received[i - 1].seq());
        }
    }

    // A new subscription starts from the true book.
    const Depth expected = depth_from_open_orders(kTokens);
    EXPECT_EQ(expected.bids.size(), static_cast<std::size_t>(20 + (price - 2'000)));
    const auto again = subscribe_depth(*market_, kTokens);
    ASSERT_TRUE(again->wait_count(1));
    Depth snapshot;
    const cpx::v1::DepthUpdate resync = again->messages().front();
    ASSERT_TRUE(resync.snapshot());
    apply_depth(snapshot, resync);
    EXPECT_EQ(snapshot, expected) << "snapshot " << describe(snapshot) << "\nexpected "
                                  << describe(expected);
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_GE(resync.seq(), received.back().seq());
}

}  // namespace
}  // namespace cpx::gateway::test
