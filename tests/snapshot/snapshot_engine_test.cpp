// The engine's own snapshot (Engine::save / Engine::load), without the exchange: a
// restored engine emits the same events, byte for byte, as one that applied every
// command since the start, including slot reuse order, FIFO priority, expiries and
// auctions; and an engine that is not fresh, or of another capacity, refuses a load.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cpx/matching/snapshot_io.hpp"
#include "engine_fixture.hpp"
#include "random_market.hpp"

namespace cpx::testing {
namespace {

using exchange::test::SplitMix64;

struct EngineNode {
    explicit EngineNode(std::uint32_t capacity)
        : engine(std::make_unique<Engine>(EngineConfig{capacity}, sink)) {}
    RecordingSink sink;
    std::unique_ptr<Engine> engine;
};

std::string save_engine(const Engine& engine) {
    std::string bytes;
    SnapshotWriter w(bytes);
    w.begin();
    engine.save(w);
    w.finish();
    return bytes;
}

bool load_engine(Engine& engine, std::string_view bytes, std::string& error) {
    SnapshotReader r(bytes);
    const bool ok = r.open() && engine.load(r) && r.at_end();
    error = r.error();
    return ok;
}

InstrumentSpec odd_spec() {
    // An id past the direct table, a tick that is not a power of two, lots of 3, a band.
    InstrumentSpec s = test_spec(9'000);
    s.tick_size = 3;
    s.lot_size = 3;
    s.quantity_min = 3;
    s.quantity_max = 3'000;
    s.price_min = 3;
    s.price_max = 30'000;
    s.band_bps = 1'000;
    s.reference_price = 3'000;
    return s;
}

TEST(EngineSnapshot, RestoredEngineEmitsTheSameEventsAsFullReplay) {
    constexpr std::uint32_t kCapacity = 96;
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        SplitMix64 rng(seed);
        EngineNode reference(kCapacity);
        auto restored = std::make_unique<EngineNode>(kCapacity);
        const InstrumentSpec specs[3] = {test_spec(1), test_spec(2), odd_spec()};
        for (const InstrumentSpec& s : specs) {
            ASSERT_EQ(reference.engine->add_instrument(s), Reason::None);
            ASSERT_EQ(restored->engine->add_instrument(s), Reason::None);
        }
        Timestamp now = 1'000'000;
        OrderId next_id = 1;
        for (int step = 0; step < 3'000; ++step) {
            if (rng.chance(2)) {
                const std::string bytes = save_engine(*restored->engine);
                auto next = std::make_unique<EngineNode>(kCapacity);
                std::string error;
                ASSERT_TRUE(load_engine(*next->engine, bytes, error)) << error;
                ASSERT_EQ(next->engine->state_hash(), reference.engine->state_hash());
                ASSERT_EQ(save_engine(*next->engine), bytes) << "seed " << seed;
                restored = std::move(next);
            }
            now += rng.between(0, 300);
            const InstrumentSpec& spec = specs[rng.below(3)];
            Command c;
            c.ts_ns = now;
            c.instrument = spec.id;
            c.account = static_cast<AccountId>(rng.below(4));
            const std::uint64_t pick = rng.below(100);
            if (pick < 50) {
                c.type = CommandType::NewOrder;
                c.order_id = next_id++;
                c.side = rng.chance(50) ? Side::Buy : Side::Sell;
                c.price = spec.tick_size * (spec.reference_price != 0 ? rng.between(950, 1'050)
                                                                      : rng.between(95, 105));
                c.quantity = spec.lot_size * rng.between(1, 10);
                c.tif = rng.chance(30) ? TimeInForce::GTD : TimeInForce::GTC;
                c.expiry_ns = now + rng.between(1, 3'000);
                c.stp = static_cast<SelfTradePrevention>(rng.below(4));
                const std::uint64_t k = rng.below(12);
                if (k == 0) {
                    c.tif = TimeInForce::IOC;
                } else if (k == 1) {
                    c.order_type = OrderType::Market;
                    c.tif = TimeInForce::IOC;
                } else if (k == 2) {
                    c.flags = kFlagAllOrNone;
                } else if (k == 3) {
                    c.min_quantity = spec.lot_size * rng.between(1, 3);
                } else if (k == 4) {
                    c.flags = kFlagPostOnly;
                }
            } else if (pick < 70) {
                c.type = CommandType::Cancel;
                c.order_id = next_id - 1 - rng.below(std::min<OrderId>(next_id - 1, 40) + 1);
            } else if (pick < 85) {
                c.type = CommandType::Replace;
                c.order_id = next_id - 1 - rng.below(std::min<OrderId>(next_id - 1, 40) + 1);
                c.price = spec.tick_size * (spec.reference_price != 0 ? rng.between(950, 1'050)
                                                                      : rng.between(95, 105));
                c.quantity = spec.lot_size * rng.between(1, 12);
            } else if (pick < 88) {
                c.type = CommandType::MassCancel;
                c.instrument = rng.chance(50) ? kAllInstruments : spec.id;
            } else if (pick < 93) {
                c.type = CommandType::Tick;
            } else {
                const CommandType ops[7] = {CommandType::Halt,         CommandType::Resume,
                                            CommandType::StartAuction, CommandType::FreezeAuction,
                                            CommandType::Uncross,      CommandType::Close,
                                            CommandType::SetReference};
                c.type = ops[rng.below(7)];
                c.price = c.type == CommandType::SetReference
                              ? spec.tick_size * rng.between(950, 1'050)
                              : (rng.chance(30) ? 1 : 0);
            }
            const std::size_t a_first = reference.sink.all.size();
            const std::size_t b_first = restored->sink.all.size();
            reference.engine->apply(c);
            restored->engine->apply(c);
            ASSERT_EQ(reference.sink.all.size() - a_first, restored->sink.all.size() - b_first)
                << "seed " << seed << " step " << step;
            for (std::size_t i = 0; i < reference.sink.all.size() - a_first; ++i) {
                ASSERT_TRUE(
                    same_bytes(reference.sink.all[a_first + i], restored->sink.all[b_first + i]))
                    << "seed " << seed << " step " << step << " event " << i;
            }
            reference.sink.all.clear();
            restored->sink.all.clear();
        }
    }
}

TEST(EngineSnapshot, LoadIntoAnEngineWithInstrumentsIsRefused) {
    RecordingSink sink;
    Engine source(EngineConfig{64}, sink);
    ASSERT_EQ(source.add_instrument(test_spec(1)), Reason::None);
    const std::string bytes = save_engine(source);
    Engine target(EngineConfig{64}, sink);
    ASSERT_EQ(target.add_instrument(test_spec(2)), Reason::None);
    std::string error;
    EXPECT_FALSE(load_engine(target, bytes, error));
    EXPECT_NE(error.find("not fresh"), std::string::npos) << error;
}

TEST(EngineSnapshot, LoadIntoAnEngineOfAnotherCapacityIsRefused) {
    RecordingSink sink;
    Engine source(EngineConfig{64}, sink);
    const std::string bytes = save_engine(source);
    Engine target(EngineConfig{65}, sink);
    std::string error;
    EXPECT_FALSE(load_engine(target, bytes, error));
    EXPECT_NE(error.find("capacity"), std::string::npos) << error;
}

TEST(EngineSnapshot, SlotsAreHandedOutInTheSameOrderAfterRestore) {
    // Orders placed and cancelled in a scattered order leave the free-slot stack
    // permuted; the restored engine must reuse slots in that same order, which the
    // snapshot of the two engines after the same new orders shows.
    RecordingSink sink;
    Engine a(EngineConfig{32}, sink);
    ASSERT_EQ(a.add_instrument(test_spec(1)), Reason::None);
    for (OrderId id = 1; id <= 20; ++id) {
        a.apply(OrderBuilder(id, Side::Buy, 100 + static_cast<Price>(id % 5), 1).at(1));
    }
    for (const OrderId id : std::initializer_list<OrderId>{7, 3, 15, 1, 20, 11}) {
        Command c;
        c.type = CommandType::Cancel;
        c.instrument = 1;
        c.order_id = id;
        c.ts_ns = 2;
        a.apply(c);
    }
    Engine b(EngineConfig{32}, sink);
    std::string error;
    ASSERT_TRUE(load_engine(b, save_engine(a), error)) << error;
    for (OrderId id = 21; id <= 26; ++id) {
        a.apply(OrderBuilder(id, Side::Sell, 200, 1).at(3));
        b.apply(OrderBuilder(id, Side::Sell, 200, 1).at(3));
    }
    EXPECT_EQ(save_engine(a), save_engine(b));
}

}  // namespace
}  // namespace cpx::testing
