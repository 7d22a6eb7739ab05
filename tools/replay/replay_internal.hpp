#pragma once

// Declarations shared by the files that make up the replay: the replay is one class,
// Replayer, whose member functions are spread over replayer.cpp (the engine, the copy
// of the book and the single-message rows), resync.cpp (the level-window re-sync) and
// executions.cpp (runs of executions and the checking of their fills). This header is
// internal to cpx_lobster; lobster.hpp stays the public one, and its opening comment
// explains the design.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cpx/matching/engine.hpp"
#include "lobster.hpp"

// The names live in a named namespace rather than an anonymous one because several
// translation units define the members of the same classes.
namespace cpx::replay::detail {

using matching::Command;
using matching::CommandType;
using matching::Engine;
using matching::EngineConfig;
using matching::Event;
using matching::EventSink;
using matching::EventType;
using matching::InstrumentId;
using matching::InstrumentSpec;
using matching::LevelView;
using matching::OrderView;
using matching::Reason;
using matching::Side;
using matching::TimeInForce;
using matching::TradingState;

inline constexpr InstrumentId kInstrument = 1;
inline constexpr Price kNoFloor = std::numeric_limits<Price>::min();
inline constexpr Price kNoCeiling = std::numeric_limits<Price>::max();

inline Side side_of(std::int8_t direction) {
    return direction > 0 ? Side::Buy : Side::Sell;
}

inline bool is_synthetic(OrderId id) {
    return id >= kSyntheticIdBase && id < kAggressorIdBase;
}

// Whether a better than b on that side.
inline bool better(Side side, Price a, Price b) {
    return side == Side::Buy ? a > b : a < b;
}

struct FileLevel {
    Price price;
    Quantity size;
};

// The occupied levels of a book row, per side, best first.
struct SideLevels {
    std::vector<FileLevel> bids;
    std::vector<FileLevel> asks;

    std::vector<FileLevel>& of(Side side) { return side == Side::Buy ? bids : asks; }
    const std::vector<FileLevel>& of(Side side) const { return side == Side::Buy ? bids : asks; }

    Quantity size_at(Side side, Price price) const {
        for (const FileLevel& level : of(side)) {
            if (level.price == price) {
                return level.size;
            }
        }
        return 0;
    }
};

inline void read_row(const std::int64_t* row, std::size_t levels, SideLevels& out) {
    out.bids.clear();
    out.asks.clear();
    for (std::size_t i = 0; i < levels; ++i) {
        if (row[4 * i] != kDummyAskPrice) {
            out.asks.push_back({row[4 * i], row[4 * i + 1]});
        }
        if (row[4 * i + 2] != kDummyBidPrice) {
            out.bids.push_back({row[4 * i + 2], row[4 * i + 3]});
        }
    }
}

// The part of the price axis a row shows: bids at or above bid_floor and asks at or
// below ask_ceiling. With fewer than L occupied levels the whole side is shown.
struct Window {
    Price bid_floor = kNoFloor;
    Price ask_ceiling = kNoCeiling;
};

inline Window window_of(const SideLevels& levels, std::size_t depth) {
    Window w;
    if (levels.bids.size() >= depth) {
        w.bid_floor = levels.bids[depth - 1].price;
    }
    if (levels.asks.size() >= depth) {
        w.ask_ceiling = levels.asks[depth - 1].price;
    }
    return w;
}

// How many file levels of row come into view compared with the window before.
inline std::size_t levels_coming_into_view(const SideLevels& row, const Window& before,
                                           const Window& now) {
    std::size_t count = 0;
    for (const FileLevel& level : row.bids) {
        count += level.price >= now.bid_floor && level.price < before.bid_floor ? 1 : 0;
    }
    for (const FileLevel& level : row.asks) {
        count += level.price <= now.ask_ceiling && level.price > before.ask_ceiling ? 1 : 0;
    }
    return count;
}

struct Plan {
    InstrumentSpec spec;
    std::uint32_t capacity = 0;
};

// The first pass over both files; plan.cpp explains the bounds it computes.
Plan make_plan(const std::vector<Message>& messages, const OrderbookFile& file, std::size_t depth);

// What the rest of the message file says about order ids. The replay looks ahead only
// when a level comes into view, to decide which orders make up the volume the file
// shows there; rows inside the window never use it.
class Lookahead {
  public:
    struct Reference {
        std::size_t row;
        Quantity size;
        MessageType type;
    };

    explicit Lookahead(const std::vector<Message>& messages);

    // Whether a message at row `from` or later names the order.
    bool named_from(OrderId id, std::size_t from) const;

    // The order's size as the rows from `from` on account for it, when they end with
    // its delete; lookahead.cpp says more.
    Quantity accounted_size(OrderId id, std::size_t from, Quantity leaves) const;

    // Ids that no type 1 row adds, named at (side, price) from row `from` on, in
    // ascending id order, with the shares those rows name.
    std::vector<std::pair<OrderId, Quantity>> unseen_from(Side side, Price price,
                                                          std::size_t from) const;

  private:
    struct Unseen {
        std::size_t row;
        OrderId id;
        Quantity size;
    };

    std::unordered_map<OrderId, std::vector<Reference>> by_id_;
    std::map<std::pair<Side, Price>, std::vector<Unseen>> never_added_;
};

// Drives the engine through the message file and checks every book row. The comments
// at the definitions say why each step works the way it does.
class Replayer final : public EventSink {
  public:
    Replayer(const std::vector<Message>& messages, const OrderbookFile& file,
             const ReplayOptions& options, std::size_t depth, const Plan& plan);

    ReplayResult run();

    // The engine's events keep our copy of the book: the queue of ids at every price
    // (market by order) and every level's total (market by price).
    void publish(const Event* events, std::size_t count) override;

  private:
    struct MirrorLevel {
        Quantity total = 0;
        std::vector<OrderId> queue;  // in time priority
    };
    using MirrorSide = std::map<Price, MirrorLevel>;

    struct Fill {
        OrderId maker;
        Price price;
        Quantity quantity;
    };

    struct ExpectedFill {
        std::size_t row;
        OrderId id;
        Price price;
        Quantity size;
        bool known;
    };

    // One piece of a level's queue as a re-sync wants it: a real order (id) or
    // synthetic volume (id 0).
    struct Segment {
        OrderId id;
        Quantity size;
    };

    static bool is_execution(MessageType type) {
        return type == MessageType::Execute || type == MessageType::ExecuteHidden;
    }

    MirrorSide& mirror(Side side) { return side == Side::Buy ? bids_ : asks_; }

    static Command command(CommandType type, Timestamp ts) {
        Command c;
        c.type = type;
        c.instrument = kInstrument;
        c.account = 0;
        c.ts_ns = ts;
        return c;
    }

    // The following are defined in replayer.cpp.
    void forget(Side side, Price price, OrderId id);
    void on_trade(const Event& e);
    void note(std::size_t row, const std::string& what);
    bool submit(const Command& c, std::size_t row);
    bool in_auction() const;
    bool add_resting(OrderId id, Side side, Price price, Quantity quantity, Timestamp ts,
                     std::size_t row);
    void add_synthetic(Side side, Price price, Quantity quantity, Timestamp ts, std::size_t row);
    void cancel(OrderId id, Timestamp ts, std::size_t row);
    void shrink(const OrderView& order, Quantity by, Timestamp ts, std::size_t row);
    std::vector<OrderId> queue_at(Side side, Price price);
    Quantity leaves_of(OrderId id) const;
    Quantity take_from(const std::vector<OrderId>& ids, Quantity quantity, Timestamp ts,
                       std::size_t row);
    Quantity our_total(Side side, Price price);
    void seed();
    void trading_action(const Message& m, std::size_t row);
    std::optional<OrderView> real_order(OrderId id) const;
    void disagree(std::size_t row, const std::string& what);
    std::vector<OrderId> synthetic_for(Side side, Price price, OrderId unseen);
    void reduce(const Message& m, bool whole, std::size_t row);
    void replay_single(std::size_t k);
    void fill_row(const std::vector<LevelView>& asks, const std::vector<LevelView>& bids);
    void finish_row(std::size_t k);
    void flush_output();
    bool feed_matches_engine() const;

    // The following are defined in resync.cpp.
    void resync_level(Side side, Price price, Quantity target, std::size_t alive_from, Timestamp ts,
                      std::size_t row);
    bool compose(Side side, Price price, const std::vector<Segment>& wanted, Timestamp ts,
                 std::size_t row);
    void sync_window(std::size_t row, std::size_t alive_from, const Window& before,
                     const Window& now, const SideLevels& shown, Side run_side,
                     const std::map<Price, Quantity>* executed, Timestamp ts);

    // The following are defined in executions.cpp.
    void replay_run(std::size_t first, std::size_t last);
    void explain_and_repair(const std::vector<ExpectedFill>& expected,
                            const std::vector<Fill>& fills,
                            const std::map<Price, std::vector<Segment>>& reachable,
                            std::size_t mismatched, std::size_t last, Timestamp ts);
    std::size_t check_fills(const std::vector<ExpectedFill>& expected,
                            const std::vector<Fill>& fills);

    const std::vector<Message>& messages_;
    const OrderbookFile& file_;
    ReplayOptions options_;
    std::size_t depth_;
    Engine engine_;
    Lookahead lookahead_;
    MirrorSide bids_;
    MirrorSide asks_;
    std::vector<Fill> fills_;         // trades of the last command, by resting order
    std::vector<Reason> rejections_;  // of the last command
    OrderId next_synthetic_ = kSyntheticIdBase;
    OrderId next_aggressor_ = kAggressorIdBase;
    Window window_;  // the window of the last row replayed
    SideLevels shown_;
    std::vector<std::int64_t> produced_;
    std::string output_;
    ReplayResult result_;
};

}  // namespace cpx::replay::detail
