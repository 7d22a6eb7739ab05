// cpx-load against cpx-raw-server's services, both in this process, over a real gRPC
// channel on loopback: every mode runs for a fraction of a second, and the client's
// counts must agree with each other and with what the server says it received.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "load/driver.hpp"
#include "load/raw_service.hpp"
#include "load/setup.hpp"

namespace {

using cpx::load::LoadOptions;
using cpx::load::LoadResult;
using cpx::load::Mode;
using cpx::load::RawServer;
using cpx::load::SetupResult;
using cpx::load::Tally;
using cpx::load::Transport;

class LoadRaw : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(server_.start("127.0.0.1:0")) << server_.error();
        ASSERT_GT(server_.port(), 0);
    }

    LoadOptions options(Mode mode) const {
        LoadOptions o;
        o.target = "127.0.0.1:" + std::to_string(server_.port());
        o.mode = mode;
        o.raw = true;
        o.duration_ms = 300;
        o.warmup_ms = 100;
        o.connections = 2;
        o.accounts = 4;
        o.batch = 20;
        o.rate = 2'000;
        return o;
    }

    LoadResult run(const LoadOptions& o) {
        const SetupResult setup = cpx::load::prepare_market(o);
        EXPECT_TRUE(setup.error.empty()) << setup.error;
        return cpx::load::run_load(o, setup.market);
    }

    // Every command sent got exactly one answer, the latency histogram holds one value
    // per counted answer, nothing failed, and the server received each command once.
    void expect_clean(const LoadResult& result) {
        ASSERT_TRUE(result.error.empty()) << result.error;
        const Tally& t = result.tally;
        EXPECT_GT(t.orders_acked, 0u);
        EXPECT_GT(t.cancels_acked, 0u);
        EXPECT_GT(t.orders_traded, 0u);
        EXPECT_EQ(t.commands_acked_total, t.commands_sent_total);
        EXPECT_EQ(t.orders_acked, t.orders_sent);
        EXPECT_EQ(t.cancels_acked, t.cancels_sent);
        EXPECT_EQ(t.latency.count(), t.orders_acked + t.cancels_acked);
        EXPECT_GT(t.latency.percentile_ns(500'000), 0);
        EXPECT_EQ(t.unmatched_reports, 0u);
        EXPECT_EQ(t.unsolicited_reports, 0u);
        EXPECT_EQ(t.lost_commands, 0u);
        EXPECT_EQ(t.errors, 0u);
        EXPECT_TRUE(t.order_rejects.empty());
        EXPECT_TRUE(t.cancel_rejects.empty());
        const cpx::load::RawStats& stats = server_.stats();
        EXPECT_EQ(stats.new_orders.load() + stats.cancels.load(), t.commands_sent_total);
    }

    RawServer server_;
};

TEST_F(LoadRaw, UnaryCallsAreEachAnsweredOnce) {
    const LoadResult result = run(options(Mode::Unary));
    expect_clean(result);
    EXPECT_EQ(result.tally.messages_sent, result.tally.orders_sent + result.tally.cancels_sent);
    EXPECT_EQ(server_.stats().unary_calls.load(), result.tally.commands_sent_total);
    EXPECT_EQ(server_.stats().streams_opened.load(), 0u);
}

TEST_F(LoadRaw, StreamCarriesOneCommandPerMessage) {
    const LoadResult result = run(options(Mode::Stream));
    expect_clean(result);
    EXPECT_EQ(result.tally.messages_sent, result.tally.orders_sent + result.tally.cancels_sent);
    EXPECT_EQ(server_.stats().unary_calls.load(), 0u);
    // One stream per session (four accounts on two connections), all closed cleanly.
    // The server learns of the last close a moment after the client does.
    EXPECT_EQ(server_.stats().streams_opened.load(), 4u);
    for (int i = 0; i < 100 && server_.stats().streams_closed.load() < 4; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(server_.stats().streams_closed.load(), 4u);
}

TEST_F(LoadRaw, BatchCarriesManyCommandsPerMessage) {
    const LoadResult result = run(options(Mode::Batch));
    expect_clean(result);
    const Tally& t = result.tally;
    const std::uint64_t commands = t.orders_sent + t.cancels_sent;
    EXPECT_LE(commands, t.messages_sent * 20 + 40);
    EXPECT_GT(commands, t.messages_sent * 5);
}

TEST_F(LoadRaw, LatencyModeOffersTheScheduledRateOverStreams) {
    const LoadResult result = run(options(Mode::Latency));
    expect_clean(result);
    // 2000 orders per second for 0.3 s, whatever the answers do: the load is open loop.
    EXPECT_NEAR(static_cast<double>(result.tally.orders_sent), 600.0, 2.0);
}

TEST_F(LoadRaw, LatencyModeOffersTheScheduledRateOverUnaryCalls) {
    LoadOptions o = options(Mode::Latency);
    o.latency_transport = Transport::Unary;
    const LoadResult result = run(o);
    expect_clean(result);
    EXPECT_NEAR(static_cast<double>(result.tally.orders_sent), 600.0, 2.0);
    EXPECT_EQ(server_.stats().unary_calls.load(), result.tally.commands_sent_total);
}

TEST_F(LoadRaw, SetupCreatesTheMarketThroughAdmin) {
    LoadOptions o = options(Mode::Stream);
    o.raw = false;
    o.operator_key = "operator";
    const SetupResult setup = cpx::load::prepare_market(o);
    ASSERT_TRUE(setup.error.empty()) << setup.error;
    ASSERT_EQ(setup.market.accounts.size(), 4u);
    EXPECT_EQ(setup.market.instrument_id, o.instrument_id);
    EXPECT_EQ(setup.market.mid_price_fen, o.mid_price_fen);
    for (std::size_t i = 0; i < setup.market.accounts.size(); ++i) {
        const cpx::load::LoadAccount& account = setup.market.accounts[i];
        EXPECT_FALSE(account.api_key.empty());
        EXPECT_EQ(account.side, i % 2 == 0 ? cpx::v1::SIDE_BUY : cpx::v1::SIDE_SELL);
    }
    expect_clean(cpx::load::run_load(o, setup.market));
}

}  // namespace
