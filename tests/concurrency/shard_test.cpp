// The shard under real threads: several producers submit through the lock-free
// command queue while a consumer drains the event queue. What the engine thread
// applied is recorded by the observer, and replaying that record through a fresh
// engine must give the same events byte for byte: the threads change the order of
// arrival, never the outcome of a given order. Run under ThreadSanitizer in CI.

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "cpx/matching/shard.hpp"
#include "engine_fixture.hpp"
#include "stress.hpp"

namespace cpx::testing {
namespace {

class RecordingObserver final : public CommandObserver {
  public:
    explicit RecordingObserver(std::size_t expected) { commands.reserve(expected); }
    void on_sequenced(const Command& command) override { commands.push_back(command); }
    std::vector<Command> commands;
};

// A producer's deterministic flow: orders around a price of 1,000 fen on two
// instruments, with cancels of its own earlier orders.
Command producer_command(std::uint32_t producer, std::uint32_t i) {
    const OrderId base = (OrderId{producer} + 1) << 40;
    const std::uint64_t mix = (std::uint64_t{i} * 2654435761u) ^ producer;
    const InstrumentId instrument = 1 + static_cast<InstrumentId>(mix % 2);
    if (i % 4 == 3) {
        return cancel(base + i - 2, producer, instrument);
    }
    const Side side = (mix >> 3) % 2 == 0 ? Side::Buy : Side::Sell;
    const Price price = 995 + static_cast<Price>((mix >> 5) % 11);
    const Quantity quantity = 1 + static_cast<Quantity>((mix >> 9) % 20);
    OrderBuilder order(base + i, side, price, quantity);
    order.account(producer).instrument(instrument);
    if ((mix >> 13) % 7 == 0) {
        order.tif(TimeInForce::IOC);
    }
    return order;
}

TEST(ShardConcurrency, ProducersAndConsumerSeeEveryCommandOnceAndReplayReproducesEvents) {
    constexpr std::uint32_t kProducers = 3;
    const auto per_producer = static_cast<std::uint32_t>(40'000 * test_scale());

    ShardConfig config;
    config.engine.order_capacity = 1u << 18;
    config.command_queue_capacity = 256;  // small, so producers meet a full queue
    config.event_queue_capacity = 1024;   // small, so the engine meets back-pressure
    RecordingObserver observer(std::size_t{kProducers} * per_producer);
    Shard shard(config, &observer);
    ASSERT_EQ(shard.add_instrument(test_spec(1)), Reason::None);
    ASSERT_EQ(shard.add_instrument(test_spec(2)), Reason::None);
    shard.start();

    std::atomic<bool> producers_done{false};
    std::vector<Event> received;
    received.reserve(std::size_t{kProducers} * per_producer * 4);
    std::thread consumer([&] {
        std::vector<Event> batch(512);
        for (;;) {
            const bool finished =
                producers_done.load(std::memory_order_acquire) && !shard.running();
            const std::size_t n = shard.poll_events(batch.data(), batch.size());
            received.insert(received.end(), batch.begin(),
                            batch.begin() + static_cast<std::ptrdiff_t>(n));
            if (n == 0 && finished) {
                return;
            }
            if (n == 0) {
                std::this_thread::yield();
            }
        }
    });

    std::vector<std::thread> producers;
    for (std::uint32_t p = 0; p < kProducers; ++p) {
        producers.emplace_back([&shard, p, per_producer] {
            for (std::uint32_t i = 0; i < per_producer; ++i) {
                const Command command = producer_command(p, i);
                while (!shard.try_submit(command)) {
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& t : producers) {
        t.join();
    }
    shard.stop();
    producers_done.store(true, std::memory_order_release);
    consumer.join();

    // Every submitted command was applied exactly once.
    ASSERT_EQ(observer.commands.size(), std::size_t{kProducers} * per_producer);
    std::vector<std::uint32_t> next_index(kProducers, 0);
    for (const Command& c : observer.commands) {
        const AccountId producer = c.account;
        ASSERT_LT(producer, kProducers);
        // Each producer's own commands arrive in the order it sent them.
        const Command expected = producer_command(producer, next_index[producer]++);
        ASSERT_EQ(std::memcmp(&c, &expected, sizeof(Command)), 0);
    }

    // The events that crossed the queue are exactly those of a single-threaded replay.
    RecordingSink sink;
    Engine replay({1u << 18}, sink);
    ASSERT_EQ(replay.add_instrument(test_spec(1)), Reason::None);
    ASSERT_EQ(replay.add_instrument(test_spec(2)), Reason::None);
    for (const Command& c : observer.commands) {
        replay.apply(c);
    }
    ASSERT_EQ(received.size(), sink.all.size());
    for (std::size_t i = 0; i < received.size(); ++i) {
        ASSERT_TRUE(same_bytes(received[i], sink.all[i])) << "event " << i;
        ASSERT_EQ(received[i].seq, i + 1);
    }
    EXPECT_EQ(shard.engine().state_hash(), replay.state_hash());
    EXPECT_GT(of_type(received, EventType::Trade).size(), 0u);
}

}  // namespace
}  // namespace cpx::testing
