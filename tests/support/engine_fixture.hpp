#pragma once

// Shared helpers for tests that drive the engine: a sink that records every event,
// and builders for commands, so a test reads as the sequence of orders it sends.

#include <cstring>
#include <vector>

#include "cpx/matching/command.hpp"
#include "cpx/matching/engine.hpp"
#include "cpx/matching/event.hpp"

namespace cpx::testing {

using namespace cpx::matching;

class RecordingSink final : public EventSink {
  public:
    void publish(const Event* events, std::size_t count) override {
        all.insert(all.end(), events, events + count);
    }
    std::vector<Event> take() {
        std::vector<Event> out;
        out.swap(all);
        return out;
    }
    std::vector<Event> all;
};

inline std::vector<Event> of_type(const std::vector<Event>& events, EventType type) {
    std::vector<Event> out;
    for (const Event& e : events) {
        if (e.type == type) {
            out.push_back(e);
        }
    }
    return out;
}

inline bool same_bytes(const Event& a, const Event& b) {
    return std::memcmp(&a, &b, sizeof(Event)) == 0;
}

// A compute instrument with one-fen ticks and unit lots unless changed.
inline InstrumentSpec test_spec(InstrumentId id = 1) {
    InstrumentSpec s;
    s.id = id;
    s.symbol = FixedText<32>::from("HOHHOT-PH-TEST");
    s.kind = InstrumentKind::ComputeCapacity;
    s.hub = FixedText<16>::from("HOHHOT");
    s.unit = FixedText<16>::from("P*h");
    s.tick_size = 1;
    s.lot_size = 1;
    s.quantity_min = 1;
    s.quantity_max = 1'000'000;
    s.price_min = 1;
    s.price_max = 100'000;
    s.band_bps = 0;
    s.reference_price = 0;
    s.market_protection_ticks = 1'000;
    s.initial_state = TradingState::Continuous;
    return s;
}

struct OrderBuilder {
    Command c;
    OrderBuilder(OrderId id, Side side, Price price, Quantity quantity) {
        c.type = CommandType::NewOrder;
        c.instrument = 1;
        c.order_id = id;
        c.side = side;
        c.price = price;
        c.quantity = quantity;
        c.order_type = OrderType::Limit;
        c.tif = TimeInForce::GTC;
    }
    OrderBuilder& account(AccountId a) {
        c.account = a;
        return *this;
    }
    OrderBuilder& instrument(InstrumentId i) {
        c.instrument = i;
        return *this;
    }
    OrderBuilder& tif(TimeInForce t) {
        c.tif = t;
        return *this;
    }
    OrderBuilder& gtd(Timestamp expiry) {
        c.tif = TimeInForce::GTD;
        c.expiry_ns = expiry;
        return *this;
    }
    OrderBuilder& market() {
        c.order_type = OrderType::Market;
        c.tif = TimeInForce::IOC;
        return *this;
    }
    OrderBuilder& post_only() {
        c.flags |= kFlagPostOnly;
        return *this;
    }
    OrderBuilder& all_or_none() {
        c.flags |= kFlagAllOrNone;
        return *this;
    }
    OrderBuilder& min_quantity(Quantity q) {
        c.min_quantity = q;
        return *this;
    }
    OrderBuilder& stp(SelfTradePrevention s) {
        c.stp = s;
        return *this;
    }
    OrderBuilder& at(Timestamp ts) {
        c.ts_ns = ts;
        return *this;
    }
    operator Command() const { return c; }  // NOLINT(google-explicit-constructor)
};

inline OrderBuilder buy(OrderId id, Price price, Quantity quantity) {
    return OrderBuilder(id, Side::Buy, price, quantity);
}
inline OrderBuilder sell(OrderId id, Price price, Quantity quantity) {
    return OrderBuilder(id, Side::Sell, price, quantity);
}

inline Command cancel(OrderId id, AccountId account = 0, InstrumentId instrument = 1) {
    Command c;
    c.type = CommandType::Cancel;
    c.order_id = id;
    c.account = account;
    c.instrument = instrument;
    return c;
}

inline Command replace(OrderId id, Price price, Quantity quantity, AccountId account = 0,
                       InstrumentId instrument = 1) {
    Command c;
    c.type = CommandType::Replace;
    c.order_id = id;
    c.price = price;
    c.quantity = quantity;
    c.account = account;
    c.instrument = instrument;
    return c;
}

inline Command mass_cancel(AccountId account, InstrumentId instrument = kAllInstruments) {
    Command c;
    c.type = CommandType::MassCancel;
    c.account = account;
    c.instrument = instrument;
    return c;
}

inline Command operator_command(CommandType type, InstrumentId instrument = 1, Price price = 0) {
    Command c;
    c.type = type;
    c.instrument = instrument;
    c.price = price;
    return c;
}

inline Command tick(Timestamp ts) {
    Command c;
    c.type = CommandType::Tick;
    c.ts_ns = ts;
    return c;
}

}  // namespace cpx::testing
