// The state hash depends on the content of the books in priority order, and on nothing
// else (pool slots, capacity, history, order in which instruments were listed); and
// the engine is deterministic: the same commands give the same events byte for byte.

#include <set>

#include "engine_test.hpp"

namespace cpx::testing {
namespace {

// An engine with instruments listed, driven by a list of commands.
struct Session {
    explicit Session(std::uint32_t capacity = 1024, std::vector<InstrumentId> ids = {1})
        : engine({capacity}, sink) {
        for (const InstrumentId id : ids) {
            EXPECT_EQ(engine.add_instrument(test_spec(id)), Reason::None);
        }
    }
    Session& apply(std::initializer_list<Command> commands) {
        for (const Command& c : commands) {
            engine.apply(c);
        }
        return *this;
    }
    std::uint64_t hash() const { return engine.state_hash(); }

    RecordingSink sink;
    Engine engine;
};

TEST(StateHash, SameRestingOrdersHashTheSameWhateverTheHistoryAndSlots) {
    Session direct;
    direct.apply({sell(1, 100, 10).account(7), buy(2, 99, 5).account(8)});

    // Orders 9 and 10 take the first slots, so 1 and 2 land in other slots, and the
    // events and sequence numbers differ as well.
    Session detour;
    detour.apply({sell(9, 150, 1).account(7), sell(10, 151, 1).account(7), cancel(9, 7),
                  sell(1, 100, 10).account(7), buy(2, 99, 5).account(8), cancel(10, 7)});

    EXPECT_NE(direct.engine.last_sequence(), detour.engine.last_sequence());
    EXPECT_EQ(direct.hash(), detour.hash());
    EXPECT_EQ(direct.engine.instrument_hash(1), detour.engine.instrument_hash(1));
}

TEST(StateHash, PlacingAndCancellingOrdersReturnsToTheSameHash) {
    Session run;
    const std::uint64_t empty = run.hash();
    run.apply({sell(1, 100, 10).account(7), buy(2, 99, 5).account(8)});
    EXPECT_NE(run.hash(), empty);
    run.apply({cancel(1, 7), cancel(2, 8)});
    EXPECT_EQ(run.hash(), empty);
}

TEST(StateHash, SameOrdersInADifferentPriorityHashDifferently) {
    Session first;
    first.apply({buy(1, 100, 10).account(7), buy(2, 100, 10).account(7)});
    Session second;
    second.apply({buy(2, 100, 10).account(7), buy(1, 100, 10).account(7)});
    EXPECT_NE(first.hash(), second.hash());
}

TEST(StateHash, ReplaceThatLosesPriorityHashesLikeTheReorderedBook) {
    Session replaced;
    replaced.apply(
        {buy(1, 100, 10).account(7), buy(2, 100, 10).account(8), replace(1, 100, 15, 7)});
    Session placed;
    placed.apply({buy(2, 100, 10).account(8), buy(1, 100, 15).account(7)});
    EXPECT_EQ(replaced.hash(), placed.hash());
}

TEST(StateHash, PartlyFilledOrderHashesLikeAFreshOrderOfItsOpenQuantity) {
    Session traded;
    traded.apply({sell(1, 100, 10).account(7), buy(2, 100, 4).account(8)});
    Session fresh;
    fresh.apply({operator_command(CommandType::SetReference, 1, 100), sell(1, 100, 6).account(7)});
    EXPECT_EQ(traded.hash(), fresh.hash());
}

TEST(StateHash, EveryHashedFieldChangesTheHash) {
    const auto hash_of = [](std::initializer_list<Command> commands) {
        Session run;
        run.apply(commands);
        return run.hash();
    };
    const std::vector<std::uint64_t> hashes = {
        hash_of({sell(1, 100, 10).account(7)}),
        hash_of({sell(2, 100, 10).account(7)}),                  // id
        hash_of({sell(1, 100, 10).account(8)}),                  // account
        hash_of({sell(1, 101, 10).account(7)}),                  // price
        hash_of({sell(1, 100, 11).account(7)}),                  // open quantity
        hash_of({sell(1, 100, 10).account(7).min_quantity(5)}),  // minimum quantity
        hash_of({sell(1, 100, 10).account(7).gtd(1'000)}),       // expiry
        hash_of({sell(1, 100, 10).account(7).all_or_none()}),    // flags
        hash_of({buy(1, 100, 10).account(7)}),                   // side
        hash_of({sell(1, 100, 10).account(7), operator_command(CommandType::Halt)}),  // state
        hash_of({sell(1, 100, 10).account(7),
                 operator_command(CommandType::SetReference, 1, 50)}),  // reference
    };
    const std::set<std::uint64_t> distinct(hashes.begin(), hashes.end());
    EXPECT_EQ(distinct.size(), hashes.size());
}

TEST(StateHash, HashDoesNotDependOnCapacityOrTheOrderInstrumentsWereListed) {
    Session small(16, {2, 1});
    Session large(4096, {1, 2});
    for (Session* session : {&small, &large}) {
        session->apply({sell(1, 100, 10).account(7), buy(2, 50, 3).account(8).instrument(2)});
    }
    EXPECT_EQ(small.hash(), large.hash());
    EXPECT_EQ(small.engine.instrument_hash(2), large.engine.instrument_hash(2));
    EXPECT_NE(small.engine.instrument_hash(1), small.engine.instrument_hash(2));
}

TEST(StateHash, SameOrdersInAnotherInstrumentHashDifferently) {
    Session one(16, {1, 2});
    one.apply({sell(1, 100, 10).account(7)});
    Session two(16, {1, 2});
    two.apply({sell(1, 100, 10).account(7).instrument(2)});
    EXPECT_NE(one.hash(), two.hash());
}

// A session touching every kind of command and most engine paths.
std::vector<Command> busy_session() {
    using Stp = SelfTradePrevention;
    std::vector<Command> commands = {
        sell(1, 100, 10).account(7).at(10),
        sell(2, 101, 5).account(8).gtd(500).at(20),
        buy(3, 99, 8).account(9).at(30),
        buy(16, 97, 8).account(12).at(35),
        buy(4, 101, 12).account(9).at(40),
        sell(5, 98, 3).account(9).stp(Stp::CancelBoth).at(50),
        sell(6, 102, 20).account(7).all_or_none().at(60),
        buy(7, 0, 6).account(8).market().at(70),
        buy(8, 103, 30).account(10).tif(TimeInForce::FOK).at(80),
        buy(9, 102, 25).account(10).min_quantity(20).at(90),
        timed(replace(16, 97, 4, 12), 100),
        timed(replace(16, 98, 6, 12), 110),
        buy(10, 0, 5).account(7).at(120),  // rejected
        tick(600),
        sell(11, 105, 7).account(1).instrument(2).at(610),
        buy(12, 104, 2).account(2).instrument(2).post_only().at(620),
        timed(mass_cancel(9), 630),
        timed(operator_command(CommandType::StartAuction), 640),
        buy(13, 103, 10).account(3).at(650),
        sell(14, 100, 6).account(4).at(660),
        timed(operator_command(CommandType::FreezeAuction), 670),
        timed(cancel(13, 3), 680),  // rejected in the no-cancel phase
        timed(operator_command(CommandType::Uncross), 690),
        timed(operator_command(CommandType::Halt, 2, 1), 700),
        timed(operator_command(CommandType::Resume, 2), 710),
        timed(operator_command(CommandType::SetReference, 1, 100), 720),
        sell(15, 103, 4).account(4).tif(TimeInForce::IOC).at(730),
        timed(operator_command(CommandType::Close), 740),
    };
    return commands;
}

TEST(Determinism, SameCommandsGiveByteIdenticalEventsAndTheSameHash) {
    Session first(64, {1, 2});
    Session second(64, {2, 1});
    for (const Command& c : busy_session()) {
        first.engine.apply(c);
        second.engine.apply(c);
    }
    ASSERT_EQ(first.sink.all.size(), second.sink.all.size());
    for (std::size_t i = 0; i < first.sink.all.size(); ++i) {
        EXPECT_TRUE(same_bytes(first.sink.all[i], second.sink.all[i]))
            << i << ": " << describe(first.sink.all[i]) << " vs " << describe(second.sink.all[i]);
    }
    EXPECT_EQ(first.hash(), second.hash());

    // The session must really exercise the engine for this to mean anything.
    std::set<EventType> types;
    for (const Event& e : first.sink.all) {
        types.insert(e.type);
    }
    EXPECT_EQ(types.size(), 9u);
}

TEST(Determinism, ReplayingTheSessionReproducesTheHashAfterEveryCommand) {
    Session recorded(64, {1, 2});
    std::vector<std::uint64_t> hashes;
    for (const Command& c : busy_session()) {
        recorded.engine.apply(c);
        hashes.push_back(recorded.hash());
    }
    Session replayed(64, {1, 2});
    const std::vector<Command> session = busy_session();
    for (std::size_t i = 0; i < session.size(); ++i) {
        replayed.engine.apply(session[i]);
        EXPECT_EQ(replayed.hash(), hashes[i]) << "after command " << i;
    }
    // The hash moved during the session: it is not a constant.
    EXPECT_GT(std::set<std::uint64_t>(hashes.begin(), hashes.end()).size(), 10u);
}

}  // namespace
}  // namespace cpx::testing
