// Determinism: the exchange's output and state depend only on its requests, so a
// journal replayed into a new exchange rebuilds both byte for byte.

#include <cstring>
#include <type_traits>

#include "random_market.hpp"
#include "stress.hpp"

namespace cpx::exchange::test {
namespace {

// Byte-identical output needs records whose every byte is a field: padding would carry
// whatever the stack held and differ between two runs of the same requests.
static_assert(std::has_unique_object_representations_v<Outbound>);

std::uint64_t commands() {
    return cpx::testing::scaled(3'000);
}

void run(TestExchange& x, std::uint64_t seed, std::uint64_t count) {
    RandomMarket market(x, seed);
    market.setup();
    for (std::uint64_t i = 0; i < count; ++i) {
        market.step();
    }
}

TEST(ExchangeDeterminism, SameRequestsGiveTheSameBytesAndTheSameStateHash) {
    for (const std::uint64_t seed : {1ull, 2ull, 3ull}) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        TestExchange a;
        TestExchange b;
        run(a, seed, commands());
        run(b, seed, commands());
        ASSERT_GT(a.sink.records.size(), 1'000u);
        ASSERT_EQ(a.sink.raw.size(), b.sink.raw.size());
        EXPECT_EQ(std::memcmp(a.sink.raw.data(), b.sink.raw.data(), a.sink.raw.size()), 0);
        EXPECT_EQ(a.exchange.state_hash(), b.exchange.state_hash());
        EXPECT_EQ(a.exchange.engine().state_hash(), b.exchange.engine().state_hash());
    }
}

TEST(ExchangeDeterminism, DifferentRequestsGiveADifferentStateHash) {
    TestExchange a;
    TestExchange b;
    run(a, 1, commands());
    run(b, 2, commands());
    EXPECT_NE(a.exchange.state_hash(), b.exchange.state_hash());

    // One more order on one side of two identical runs is enough.
    TestExchange c;
    TestExchange d;
    run(c, 7, 500);
    run(d, 7, 500);
    ASSERT_EQ(c.exchange.state_hash(), d.exchange.state_hash());
    const Party buyer = c.buyer("late");
    d.buyer("late");
    c.deposit(buyer.id, 1'000, "late-deposit");
    d.deposit(buyer.id, 1'000, "late-deposit");
    ASSERT_EQ(c.exchange.state_hash(), d.exchange.state_hash());
    ASSERT_EQ(c.send(TestExchange::buy(buyer, 1, 1, "one-more")).code(), Code::None);
    EXPECT_NE(c.exchange.state_hash(), d.exchange.state_hash());
}

TEST(ExchangeDeterminism, StateHashCoversMoneyNotOnlyBooks) {
    TestExchange a;
    TestExchange b;
    a.add_default_instruments();
    b.add_default_instruments();
    const Party alice = a.buyer("alice");
    b.buyer("alice");
    a.deposit(alice.id, 100, "d1");
    b.deposit(alice.id, 101, "d1");
    EXPECT_EQ(a.exchange.engine().state_hash(), b.exchange.engine().state_hash());
    EXPECT_NE(a.exchange.state_hash(), b.exchange.state_hash());
}

}  // namespace
}  // namespace cpx::exchange::test
