#pragma once

// A GoogleTest fixture for the matching tests: an engine with instrument 1 listed, a
// way to send one command and get back exactly the events it produced, and text forms
// of events and book contents. Expected event sequences are written as text so that a
// failing test prints the whole sequence it got next to the one it wanted, field by
// field.

#include <gtest/gtest.h>

#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine_fixture.hpp"

namespace cpx::matching {

// Names instead of bytes in GoogleTest's failure messages.
inline void PrintTo(Reason reason, std::ostream* os) {
    *os << reason_name(reason);
}
inline void PrintTo(TradingState state, std::ostream* os) {
    *os << trading_state_name(state);
}

}  // namespace cpx::matching

namespace cpx::testing {

using Strings = std::vector<std::string>;

inline std::string side_name(Side side) {
    switch (side) {
        case Side::None:
            return "None";
        case Side::Buy:
            return "Buy";
        case Side::Sell:
            return "Sell";
    }
    return "Side" + std::to_string(static_cast<int>(side));
}

inline std::string command_name(std::uint8_t type) {
    switch (static_cast<CommandType>(type)) {
        case CommandType::NewOrder:
            return "NewOrder";
        case CommandType::Cancel:
            return "Cancel";
        case CommandType::Replace:
            return "Replace";
        case CommandType::MassCancel:
            return "MassCancel";
        case CommandType::Halt:
            return "Halt";
        case CommandType::Resume:
            return "Resume";
        case CommandType::StartAuction:
            return "StartAuction";
        case CommandType::FreezeAuction:
            return "FreezeAuction";
        case CommandType::Uncross:
            return "Uncross";
        case CommandType::Close:
            return "Close";
        case CommandType::SetReference:
            return "SetReference";
        case CommandType::Tick:
            return "Tick";
    }
    return "Command" + std::to_string(static_cast<int>(type));
}

// One line per event with every field its type defines (see event.hpp). The
// instrument is written only when it is not 1, the instrument most tests use.
inline std::string describe(const Event& e) {
    std::ostringstream out;
    if (e.instrument != 1) {
        out << "[" << e.instrument << "] ";
    }
    const auto order = [&out](OrderId id, AccountId account) {
        out << "#" << id << " a" << account;
    };
    switch (e.type) {
        case EventType::Accepted:
            out << "Accepted ";
            order(e.order_id, e.account);
            out << " " << side_name(e.side) << " " << e.quantity << "@" << e.price;
            break;
        case EventType::Rejected:
            out << "Rejected ";
            order(e.order_id, e.account);
            out << " " << side_name(e.side) << " " << e.quantity << "@" << e.price << " "
                << reason_name(e.reason) << " by " << command_name(e.aux);
            break;
        case EventType::Trade:
            out << "Trade buy ";
            order(e.order_id, e.account);
            out << " sell ";
            order(e.other_order_id, e.other_account);
            out << " " << e.quantity << "@" << e.price << " leaves " << e.leaves << "/"
                << e.other_leaves << " aggressor " << side_name(e.side);
            break;
        case EventType::Booked:
            out << "Booked ";
            order(e.order_id, e.account);
            out << " " << side_name(e.side) << " " << e.leaves << "@" << e.price;
            break;
        case EventType::Cancelled:
            out << "Cancelled ";
            order(e.order_id, e.account);
            out << " " << side_name(e.side) << " " << e.quantity << "@" << e.price << " "
                << reason_name(e.reason);
            break;
        case EventType::Replaced:
            out << "Replaced ";
            order(e.order_id, e.account);
            out << " " << side_name(e.side) << " " << e.quantity << "@" << e.price << " from "
                << e.other_leaves << " priority "
                << (e.aux == 1 ? "kept" : (e.aux == 0 ? "lost" : std::to_string(e.aux)));
            break;
        case EventType::LevelUpdate:
            out << "Level " << side_name(e.side) << " " << e.price << " total " << e.quantity
                << " count " << e.leaves;
            break;
        case EventType::AuctionResult:
            out << "Auction " << e.price << " volume " << e.quantity << " surplus " << e.leaves
                << " " << side_name(e.side);
            break;
        case EventType::StateChanged:
            out << "State " << trading_state_name(static_cast<TradingState>(e.aux)) << " ref "
                << e.price << " by " << command_name(static_cast<std::uint8_t>(e.other_leaves));
            break;
        default:
            out << "EventType" << static_cast<int>(e.type);
            break;
    }
    return out.str();
}

inline Strings describe(const std::vector<Event>& events) {
    Strings out;
    out.reserve(events.size());
    for (const Event& e : events) {
        out.push_back(describe(e));
    }
    return out;
}

// A copy of a command with its sequencer time set, for commands built without a
// builder (cancel, replace, mass cancel, operator commands).
inline Command timed(Command c, Timestamp ts) {
    c.ts_ns = ts;
    return c;
}

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_EQ(engine_.add_instrument(instrument_spec()), Reason::None); }

    // The spec of instrument 1. Fixtures that need other rules override it.
    virtual InstrumentSpec instrument_spec() const { return test_spec(); }

    // Applies one command and returns the events it produced, in order.
    std::vector<Event> send(const Command& c) {
        sink_.take();
        engine_.apply(c);
        return sink_.take();
    }

    Strings run(const Command& c) { return describe(send(c)); }

    // Applies commands whose events the test does not look at.
    void given(std::initializer_list<Command> commands) {
        for (const Command& c : commands) {
            engine_.apply(c);
        }
        sink_.take();
    }

    // Resting orders of one side in priority order, as "#id leaves@price".
    Strings orders(Side side, InstrumentId instrument = 1) const {
        Strings out;
        for (const OrderView& o : engine_.orders(instrument, side)) {
            std::ostringstream line;
            line << "#" << o.id << " " << o.leaves << "@" << o.price;
            out.push_back(line.str());
        }
        return out;
    }

    // Price levels of one side from the best, as "price total/count".
    Strings levels(Side side, InstrumentId instrument = 1) const {
        Strings out;
        for (const LevelView& l : engine_.depth(instrument, side, 1'000'000)) {
            std::ostringstream line;
            line << l.price << " " << l.total << "/" << l.order_count;
            out.push_back(line.str());
        }
        return out;
    }

    // Sends a command that must be refused: exactly one Rejected event that echoes the
    // command, with the reason and the command type, and nothing else changed.
    void expect_rejected(const Command& c, Reason reason) {
        const std::uint64_t hash_before = engine_.state_hash();
        const std::uint32_t resting_before = engine_.resting_orders();
        const Sequence seq_before = engine_.last_sequence();
        const std::vector<Event> events = send(c);
        ASSERT_EQ(events.size(), 1u) << ::testing::PrintToString(describe(events));
        const Event& e = events[0];
        EXPECT_EQ(e.type, EventType::Rejected) << describe(e);
        EXPECT_EQ(reason_name(e.reason), reason_name(reason));
        EXPECT_EQ(e.aux, static_cast<std::uint8_t>(c.type));
        EXPECT_EQ(e.instrument, c.instrument);
        EXPECT_EQ(e.order_id, c.order_id);
        EXPECT_EQ(e.account, c.account);
        EXPECT_EQ(e.side, c.side);
        EXPECT_EQ(e.price, c.price);
        EXPECT_EQ(e.quantity, c.quantity);
        EXPECT_EQ(e.seq, seq_before + 1);
        EXPECT_EQ(e.ts_ns, c.ts_ns);
        EXPECT_EQ(engine_.state_hash(), hash_before);
        EXPECT_EQ(engine_.resting_orders(), resting_before);
    }

    RecordingSink sink_;
    Engine engine_{EngineConfig{1024}, sink_};
};

}  // namespace cpx::testing
