// Many threads submit orders to the pipeline at once; every order is answered exactly
// once, to its caller, with the account's reports numbered without gaps; and the
// sequence of requests the sequencer recorded, replayed into a fresh exchange on one
// thread, rebuilds the same state. This is the property recovery by replay depends on,
// checked where the threads meet.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/pipeline.hpp"
#include "stress.hpp"

namespace cpx::gateway {
namespace {

using exchange::Outbound;
using exchange::Request;
using exchange::RequestType;

constexpr exchange::InstrumentId kInstrument = 1;
constexpr std::int64_t kStartNs = 1'800'000'000'000'000'000;
constexpr std::int64_t kHourNs = 3'600'000'000'000;

exchange::KeyHash key_of(std::uint8_t n) {
    exchange::KeyHash key{};
    key.fill(n);
    return key;
}

// Records what the dispatcher hands it; read by the test after the pipeline
// stopped (the join orders those reads after the writes).
class RecordingCaller final : public Caller {
  public:
    void on_reply(const Outbound& reply) override { replies.push_back(reply); }
    void on_report(const Outbound& header, const Outbound*, std::size_t) override {
        reports.push_back(header);
        answered.fetch_add(1, std::memory_order_release);
    }
    std::vector<Outbound> replies;
    std::vector<Outbound> reports;
    std::atomic<std::uint64_t> answered{0};
};

// A journal that keeps the sequenced requests in memory and calls each durable at once:
// what this test checks is the order the sequencer hands them over in, not storage.
class RecordingJournal final : public RequestJournal {
  public:
    std::uint64_t next_seq() const override { return sequenced.size() + 1; }
    void append(const Request& request) override {
        sequenced.push_back(request);
        durable.store(sequenced.size(), std::memory_order_release);
    }
    void checkpoint(std::uint64_t) override {}
    std::uint64_t durable_seq() const override { return durable.load(std::memory_order_acquire); }
    std::vector<Request> sequenced;
    std::atomic<std::uint64_t> durable{0};
};

class DiscardSink final : public exchange::OutboundSink {
  public:
    void deliver(const Outbound&) override {}
};

// The market every run starts from, applied the same way to the pipeline's exchange and
// to the replay.
std::vector<Request> setup_requests(std::vector<exchange::Payload>& payloads) {
    payloads.resize(16);
    std::vector<Request> out;
    std::size_t next = 0;
    const auto admin = [&](RequestType type, exchange::AccountId account) -> exchange::Payload& {
        Request r;
        r.type = type;
        r.account = account;
        r.key_hash = key_of(1);
        r.ts_ns = kStartNs;
        r.payload = &payloads[next++];
        out.push_back(r);
        return *r.payload;
    };
    exchange::Payload& listing = admin(RequestType::AddInstrument, 0);
    listing.instrument.id = kInstrument;
    listing.instrument.symbol = matching::FixedText<32>::from("HHHT-TOKENS");
    listing.instrument.kind = matching::InstrumentKind::TokenBundle;
    listing.instrument.hub = matching::FixedText<16>::from("HOHHOT");
    listing.instrument.unit = matching::FixedText<16>::from("1M-tokens");
    listing.instrument.window_start_ns = kStartNs;
    listing.instrument.window_end_ns = kStartNs + 24 * kHourNs;
    listing.instrument.price_min = 1;
    listing.instrument.price_max = 10'000;
    // Accounts 2 and 3 buy, 4 and 5 sell; each has its own key.
    for (std::uint8_t i = 0; i < 4; ++i) {
        exchange::Payload& account = admin(RequestType::CreateAccount, 0);
        account.account.name = "trader-" + std::to_string(i);
        account.account.role = i < 2 ? exchange::Role::Buyer : exchange::Role::Provider;
        exchange::Payload& key = admin(RequestType::CreateApiKey, i + 2u);
        key.new_key_hash = key_of(static_cast<std::uint8_t>(10 + i));
        if (i < 2) {
            exchange::Payload& deposit = admin(RequestType::CreditDeposit, i + 2u);
            deposit.amount_fen = 1'000'000'000'000;
            deposit.deposit_id = "wire-" + std::to_string(i);
        } else {
            exchange::Payload& capacity = admin(RequestType::RegisterCapacity, i + 2u);
            capacity.capacity.kind = matching::InstrumentKind::TokenBundle;
            capacity.capacity.hub = "HOHHOT";
            capacity.capacity.window_start_ns = kStartNs;
            capacity.capacity.window_end_ns = kStartNs + 24 * kHourNs;
            capacity.capacity.token_bundles = 1'000'000'000;
        }
    }
    return out;
}

// Every way of running the dispatcher's work: on the sequencer's thread after each
// batch, on a thread of its own, or either from one round to the next.
class PipelineThreads : public ::testing::TestWithParam<DispatchMode> {};

TEST_P(PipelineThreads, ConcurrentProducersAreAnsweredOnceAndReplayRebuildsTheSameState) {
    const int orders_per_thread = static_cast<int>(cpx::testing::scaled(20'000));
    PipelineConfig config;
    config.dispatch = GetParam();
    // Adaptive: rounds of up to 64 requests go either way, so that both threads take
    // turns at the dispatcher's work in this run.
    config.dispatch_inline_max = 64;
    config.exchange.order_capacity = 1u << 16;
    config.exchange.client_id_window = 1u << 18;
    config.request_queue_capacity = 1u << 10;   // small, so that producers meet a full queue
    config.outbound_queue_capacity = 1u << 10;  // and the sequencer a full one
    // The dispatcher thread's timer would wake it every 100 ms; with an hour, only a ring
    // does, so that a missed wake-up stalls the run (until ctest's timeout fails it)
    // instead of costing a hidden 100 ms.
    config.timer_interval_ns = 3'600'000'000'000;
    RecordingJournal journal;
    Pipeline pipeline(config, &journal);
    std::vector<exchange::Payload> payloads;
    const std::vector<Request> setup = setup_requests(payloads);
    pipeline.exchange().bootstrap_operator("operator", key_of(1));
    for (const Request& r : setup) {
        pipeline.exchange().apply(r);
    }
    pipeline.start();

    RecordingCaller callers[4];
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
        producers.emplace_back([&, t] {
            const bool buyer = t < 2;
            for (int i = 0; i < orders_per_thread; ++i) {
                Request r;
                r.type = RequestType::NewOrder;
                r.key_hash = key_of(static_cast<std::uint8_t>(10 + t));
                r.token = token_of(&callers[t]);
                r.instrument = kInstrument;
                r.side = buyer ? matching::Side::Buy : matching::Side::Sell;
                // Prices overlap around 100 so that orders rest, cross and trade.
                r.price = buyer ? 95 + (i % 10) : 96 + ((i * 7) % 10);
                r.quantity = 1 + i % 5;
                r.tif = i % 3 == 0 ? matching::TimeInForce::IOC : matching::TimeInForce::GTC;
                r.client_order_id = exchange::ClientOrderId::from("t" + std::to_string(t) + "-" +
                                                                  std::to_string(i));
                while (!pipeline.try_submit(r)) {
                    std::this_thread::yield();
                }
                // Pauses let the queue run dry now and then, so that rounds are light
                // as well as full.
                if (i % 64 == 63) {
                    std::this_thread::sleep_for(std::chrono::microseconds(100 + 50 * t));
                }
            }
        });
    }
    for (std::thread& p : producers) {
        p.join();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (RecordingCaller& c : callers) {
        while (c.answered.load(std::memory_order_acquire) <
                   static_cast<std::uint64_t>(orders_per_thread) &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    pipeline.stop();
    // Each placement answered where it says it does.
    if (GetParam() == DispatchMode::Sequencer) {
        EXPECT_EQ(pipeline.rounds_handed_off(), 0u);
    }
    if (GetParam() == DispatchMode::Thread) {
        EXPECT_EQ(pipeline.rounds_answered_inline(), 0u);
    }
    std::printf("rounds answered on the sequencer %llu, handed to the dispatcher thread %llu\n",
                static_cast<unsigned long long>(pipeline.rounds_answered_inline()),
                static_cast<unsigned long long>(pipeline.rounds_handed_off()));

    for (int t = 0; t < 4; ++t) {
        const RecordingCaller& c = callers[t];
        ASSERT_EQ(c.reports.size(), static_cast<std::size_t>(orders_per_thread)) << "caller " << t;
        EXPECT_TRUE(c.replies.empty());
        // Answers come in the order the caller submitted, and their numbers rise.
        for (std::size_t i = 0; i < c.reports.size(); ++i) {
            EXPECT_EQ(c.reports[i].client_order_id.view(),
                      "t" + std::to_string(t) + "-" + std::to_string(i));
            EXPECT_NE(c.reports[i].exec, exchange::ExecType::Rejected)
                << exchange::code_name(c.reports[i].code);
            if (i > 0) {
                EXPECT_GT(c.reports[i].seq, c.reports[i - 1].seq);
            }
        }
    }

    // One thread, the same requests in the recorded order: the same exchange.
    DiscardSink sink;
    exchange::Exchange replay(config.exchange, sink);
    std::vector<exchange::Payload> replay_payloads;
    const std::vector<Request> replay_setup = setup_requests(replay_payloads);
    replay.bootstrap_operator("operator", key_of(1));
    for (const Request& r : replay_setup) {
        replay.apply(r);
    }
    for (const Request& r : journal.sequenced) {
        replay.apply(r);
    }
    EXPECT_EQ(replay.state_hash(), pipeline.exchange().state_hash());
    EXPECT_GT(replay.engine().resting_orders(), 0u);
    for (exchange::AccountId id = 2; id <= 5; ++id) {
        EXPECT_EQ(replay.account(id)->report_seq, pipeline.exchange().account(id)->report_seq);
    }
}

INSTANTIATE_TEST_SUITE_P(Pipeline, PipelineThreads,
                         ::testing::Values(DispatchMode::Sequencer, DispatchMode::Thread,
                                           DispatchMode::Adaptive),
                         [](const ::testing::TestParamInfo<DispatchMode>& param) {
                             switch (param.param) {
                                 case DispatchMode::Sequencer:
                                     return "OnSequencer";
                                 case DispatchMode::Thread:
                                     return "OwnThread";
                                 case DispatchMode::Adaptive:
                                     return "Adaptive";
                             }
                             return "Unknown";
                         });

// Adaptive dispatch moves the dispatcher's work between two threads from one round to
// the next. One producer alternates the two kinds of round: a lone order after every
// earlier answer arrived (light, so answered on the sequencer thread), then a lone order
// followed at once by a burst and more lone orders (the burst is handed to the
// dispatcher thread, and a lone order after it may find part of its output still
// queued, which the sequencer must answer first). Every answer arrives once and in order
// either way.
TEST(PipelineAdaptive, AnswersKeepTheirOrderWhenRoundsMoveBetweenThreads) {
    constexpr int kCycles = 100;
    constexpr int kBurst = 100;
    PipelineConfig config;
    config.dispatch = DispatchMode::Adaptive;
    config.exchange.order_capacity = 1u << 16;
    config.exchange.client_id_window = 1u << 18;
    config.request_queue_capacity = 1u << 10;
    config.outbound_queue_capacity = 1u << 10;
    config.timer_interval_ns = 3'600'000'000'000;
    RecordingJournal journal;
    Pipeline pipeline(config, &journal);
    std::vector<exchange::Payload> payloads;
    pipeline.exchange().bootstrap_operator("operator", key_of(1));
    for (const Request& r : setup_requests(payloads)) {
        pipeline.exchange().apply(r);
    }
    pipeline.start();

    RecordingCaller caller;
    int sent = 0;
    const auto send = [&] {
        Request r;
        r.type = RequestType::NewOrder;
        r.key_hash = key_of(10);
        r.token = token_of(&caller);
        r.instrument = kInstrument;
        r.side = matching::Side::Buy;
        r.price = 90 + sent % 10;
        r.quantity = 1;
        r.client_order_id = exchange::ClientOrderId::from("a-" + std::to_string(sent));
        while (!pipeline.try_submit(r)) {
            std::this_thread::yield();
        }
        ++sent;
    };
    const auto wait_for_answers = [&] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (caller.answered.load(std::memory_order_acquire) < static_cast<std::uint64_t>(sent) &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    };
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        wait_for_answers();
        send();
        wait_for_answers();
        send();
        for (int i = 0; i < kBurst; ++i) {
            send();
        }
        // Lone orders while the dispatcher thread is still answering the burst.
        for (int i = 0; i < 4; ++i) {
            std::this_thread::sleep_for(std::chrono::microseconds(10));
            send();
        }
    }
    wait_for_answers();
    pipeline.stop();

    EXPECT_GT(pipeline.rounds_answered_inline(), 0u);
    EXPECT_GT(pipeline.rounds_handed_off(), 0u);
    ASSERT_EQ(caller.reports.size(), static_cast<std::size_t>(sent));
    for (std::size_t i = 0; i < caller.reports.size(); ++i) {
        EXPECT_EQ(caller.reports[i].client_order_id.view(), "a-" + std::to_string(i));
        EXPECT_NE(caller.reports[i].exec, exchange::ExecType::Rejected)
            << exchange::code_name(caller.reports[i].code);
        if (i > 0) {
            EXPECT_GT(caller.reports[i].seq, caller.reports[i - 1].seq);
        }
    }
}

}  // namespace
}  // namespace cpx::gateway
