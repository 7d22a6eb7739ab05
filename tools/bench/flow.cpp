#include "flow.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <optional>
#include <queue>

#include "cpx/matching/engine.hpp"
#include "cpx/matching/event.hpp"
#include "cpx/tools/splitmix64.hpp"

namespace cpx::bench {

namespace {

using matching::AccountId;
using matching::Command;
using matching::CommandType;
using matching::Engine;
using matching::EngineConfig;
using matching::Event;
using matching::EventType;
using matching::OrderId;
using matching::Price;
using matching::Quantity;
using matching::Side;
using matching::Timestamp;

// The mid price where every flow starts, in fen (1,000.00 CNY per unit).
constexpr Price kMidStart = 100'000;
// The mid never wanders further than this from where it started; beyond it, moves turn
// back, so a long flow stays inside the price band.
constexpr Price kMidWanderMax = 3'000;
constexpr AccountId kAccounts = 4'096;
// Sequencer time of the first command (2026-01-01T00:00:00Z) and the gap between two.
constexpr Timestamp kStartNs = 1'767'225'600'000'000'000;
constexpr Timestamp kGapNs = 200;

constexpr std::uint32_t kIocPercent = 15;
// Of the passive orders, which are 85% of the new orders, this share is modified
// once, so that about a fifth of all new orders are.
constexpr std::uint32_t kReplacePercent = 24;
// A modification that reduces the quantity in place rather than moving the price.
constexpr std::uint32_t kShrinkPercent = 40;

using Rng = cpx::tools::SplitMix64;

std::uint64_t isqrt(std::uint64_t x) {
    std::uint64_t root = 0;
    std::uint64_t bit = std::uint64_t{1} << 62;
    while (bit > x) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (x >= root + bit) {
            x -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

// Values 1..max with probability proportional to x^(-halves/2), sampled from a table of
// integer cumulative weights. Exponents are multiples of one half so that the weights
// need only an integer square root: x^(k + 1/2) = x^k * sqrt(x), with sqrt(x) taken of
// x * 2^32 to keep 16 bits of fraction.
class PowerLaw {
  public:
    PowerLaw(std::uint32_t max, unsigned halves) {
        // Up to 2^17 values the smallest weight of the steepest law (exponent 2) is still
        // 2^12, so rounding does not bend the tail, and the total stays far below 2^63.
        assert(max >= 1 && max <= (1u << 17) && halves >= 1 && halves <= 4);
        cumulative_.reserve(max);
        std::uint64_t total = 0;
        for (std::uint64_t x = 1; x <= max; ++x) {
            std::uint64_t denominator = halves % 2 == 1 ? isqrt(x << 32) : std::uint64_t{1} << 16;
            for (unsigned i = 0; i < halves / 2; ++i) {
                denominator *= x;
            }
            total += (std::uint64_t{1} << 62) / denominator;
            cumulative_.push_back(total);
        }
    }

    std::uint32_t sample(Rng& rng) const {
        const std::uint64_t u = rng.below(cumulative_.back());
        const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
        return static_cast<std::uint32_t>(it - cumulative_.begin()) + 1;
    }

  private:
    std::vector<std::uint64_t> cumulative_;
};

// How the mid moves in each regime, per step of the flow (one step, one message).
struct Shape {
    std::uint32_t move_one_in;    // chance of a move per step is 1/move_one_in; 0: never
    std::uint32_t step_max;       // a move is 1..step_max ticks (power law, exponent 2)
    std::uint32_t reach_max;      // a taker's limit is 1..reach_max ticks past the mid
    std::uint32_t trend_steps;    // a trend turns after this many steps; 0: no trend
    std::uint32_t trend_percent;  // chance that a move goes with the trend
};

Shape shape_of(Regime regime) {
    switch (regime) {
        case Regime::StaticDeep:
            return {0, 1, 4, 0, 50};
        case Regime::Trending:
            return {64, 2, 8, 100'000, 60};
        case Regime::Volatile:
            return {8, 16, 32, 0, 50};
        case Regime::FlashCrash:
            return {64, 2, 8, 100'000, 60};
    }
    std::abort();
}

// The flash crash: it starts when this share of the new orders has been sent, the mid
// then falls one tick every kCrashStepsPerTick steps for kCrashTicks ticks, then climbs
// back kRecoveryTicks ticks at one tick every kRecoveryStepsPerTick steps.
constexpr std::uint32_t kCrashStartPercent = 40;
constexpr std::int64_t kCrashTicks = 2'000;
constexpr std::uint64_t kCrashStepsPerTick = 10;
constexpr std::int64_t kRecoveryTicks = 1'800;
constexpr std::uint64_t kRecoveryStepsPerTick = 111;
// During the fall, takers are more frequent, mostly sellers, bigger, and reach further.
constexpr std::uint32_t kCrashIocPercent = 40;
constexpr std::uint32_t kCrashSellPercent = 90;
constexpr Quantity kCrashSizeFactor = 10;
constexpr std::uint32_t kCrashReachMax = 200;
// One taker in kSweepOneIn during the fall is a panic sale: a hundred times the usual
// size with a limit kSweepReach ticks under the mid, which sweeps every bid in between.
constexpr std::uint64_t kSweepOneIn = 20;
constexpr Quantity kSweepSizeFactor = 100;
constexpr Price kSweepReach = 500;
// During the recovery, buyers take more than sellers.
constexpr std::uint32_t kRecoveryIocPercent = 20;
constexpr std::uint32_t kRecoveryBuyPercent = 70;

enum class Phase : std::uint8_t { Normal, Crash, Recovery };

class Mid {
  public:
    Mid(Regime regime, const PowerLaw& steps)
        : regime_(regime), shape_(shape_of(regime)), steps_(steps) {}

    Price price() const { return mid_; }
    Phase phase() const { return phase_; }

    void start_crash(std::uint64_t step) {
        if (regime_ == Regime::FlashCrash && !crashed_) {
            crashed_ = true;
            phase_ = Phase::Crash;
            crash_start_ = step;
            crash_top_ = mid_;
        }
    }

    void advance(Rng& rng, std::uint64_t step) {
        if (phase_ == Phase::Crash) {
            const std::uint64_t elapsed = step - crash_start_;
            if (elapsed % kCrashStepsPerTick == 0) {
                --mid_;
            }
            if (crash_top_ - mid_ >= kCrashTicks) {
                phase_ = Phase::Recovery;
                recovery_start_ = step;
                crash_bottom_ = mid_;
            }
            return;
        }
        if (phase_ == Phase::Recovery) {
            if ((step - recovery_start_) % kRecoveryStepsPerTick == 0) {
                ++mid_;
            }
            if (mid_ - crash_bottom_ >= kRecoveryTicks) {
                phase_ = Phase::Normal;
            }
            return;
        }
        if (shape_.trend_steps != 0 && step % shape_.trend_steps == 0) {
            trend_up_ = !trend_up_;
        }
        if (shape_.move_one_in == 0 || rng.below(shape_.move_one_in) != 0) {
            return;
        }
        bool up = shape_.trend_steps != 0 ? (rng.percent(shape_.trend_percent) == trend_up_)
                                          : rng.percent(50);
        if (mid_ - kMidStart > kMidWanderMax) {
            up = false;
        } else if (kMidStart - mid_ > kMidWanderMax) {
            up = true;
        }
        const Price ticks = steps_.sample(rng);
        mid_ += up ? ticks : -ticks;
    }

  private:
    Regime regime_;
    Shape shape_;
    const PowerLaw& steps_;
    Price mid_ = kMidStart;
    Phase phase_ = Phase::Normal;
    bool trend_up_ = false;
    bool crashed_ = false;
    std::uint64_t crash_start_ = 0;
    std::uint64_t recovery_start_ = 0;
    Price crash_top_ = 0;
    Price crash_bottom_ = 0;
};

// A resting order sits on the mid's side of the spread: bids at or below the mid, asks
// at or above mid + 1, distance ticks away from the touch.
Price passive_price(Side side, Price mid, Price distance) {
    return side == Side::Buy ? mid - distance : mid + 1 + distance;
}

// A taker's limit price, reach ticks into the other side.
Price taker_price(Side side, Price mid, Price reach) {
    return side == Side::Buy ? mid + reach : mid + 1 - reach;
}

class ShadowSink final : public matching::EventSink {
  public:
    void publish(const Event* events, std::size_t count) override {
        events_ += count;
        for (std::size_t i = 0; i < count; ++i) {
            trades_ += events[i].type == EventType::Trade ? 1 : 0;
            rejects_ += events[i].type == EventType::Rejected ? 1 : 0;
        }
    }
    void reset() {
        events_ = 0;
        trades_ = 0;
        rejects_ = 0;
    }
    std::uint64_t events_ = 0;
    std::uint64_t trades_ = 0;
    std::uint64_t rejects_ = 0;
};

enum class ActionKind : std::uint8_t { Cancel, Replace };

struct Action {
    std::uint64_t due;
    OrderId id;
    ActionKind kind;
};

// Earliest due first; among actions due together, the older order first, so the flow
// does not depend on the heap's internal order.
struct Later {
    bool operator()(const Action& a, const Action& b) const {
        return a.due != b.due ? a.due > b.due : a.id > b.id;
    }
};

}  // namespace

std::string_view regime_name(Regime regime) {
    switch (regime) {
        case Regime::StaticDeep:
            return "static_deep";
        case Regime::Trending:
            return "trending";
        case Regime::Volatile:
            return "volatile";
        case Regime::FlashCrash:
            return "flash_crash";
    }
    return "unknown";
}

matching::InstrumentSpec flow_instrument() {
    matching::InstrumentSpec s;
    s.id = 1;
    s.symbol = matching::FixedText<32>::from("HHHT-H100-PH-BENCH");
    s.kind = matching::InstrumentKind::ComputeCapacity;
    s.hub = matching::FixedText<16>::from("HOHHOT");
    s.unit = matching::FixedText<16>::from("P*h");
    s.tick_size = 1;
    s.lot_size = 1;
    s.quantity_min = 1;
    s.quantity_max = 1'000'000;
    s.price_min = 1;
    s.price_max = 200'000;
    s.band_bps = 2'000;
    s.reference_price = kMidStart;
    s.market_protection_ticks = 1'000;
    s.initial_state = matching::TradingState::Continuous;
    return s;
}

matching::Command with_id_offset(const matching::Command& command, std::uint64_t lap) {
    matching::Command out = command;
    if (out.order_id != 0) {
        out.order_id += lap << 32;
    }
    return out;
}

Flow generate_flow(const FlowParams& params) {
    Flow flow;
    flow.params = params;
    flow.spec = flow_instrument();

    ShadowSink sink;
    Engine shadow(EngineConfig{params.engine_capacity}, sink);
    if (shadow.add_instrument(flow.spec) != matching::Reason::None) {
        std::abort();
    }

    Rng rng(params.seed * 0x2545F4914F6CDD1Dull + static_cast<std::uint64_t>(params.regime));
    const PowerLaw placement(2'000, 3);    // distance from the touch + 1, exponent 1.5
    const PowerLaw lifetime(1u << 17, 2);  // messages until the cancel, exponent 1
    const PowerLaw quantity(100, 4);       // lots, exponent 2
    const PowerLaw mid_steps(shape_of(params.regime).step_max, 4);
    const PowerLaw reach(shape_of(params.regime).reach_max, 4);
    const PowerLaw crash_reach(kCrashReachMax, 3);
    Mid mid(params.regime, mid_steps);

    Timestamp ts = kStartNs;
    OrderId next_id = 1;
    const auto send = [&](Command c, std::vector<Command>& out) {
        c.instrument = flow.spec.id;
        c.ts_ns = ts;
        ts += kGapNs;
        const std::uint64_t events_before = sink.events_;
        shadow.apply(c);
        out.push_back(c);
        flow.max_events_per_command =
            std::max(flow.max_events_per_command, sink.events_ - events_before);
    };
    const auto new_order = [&](Side side, Price price, Quantity qty, matching::TimeInForce tif) {
        Command c;
        c.type = CommandType::NewOrder;
        c.order_id = next_id++;
        c.account = static_cast<AccountId>(1 + rng.below(kAccounts));
        c.side = side;
        c.order_type = matching::OrderType::Limit;
        c.tif = tif;
        c.stp = matching::SelfTradePrevention::CancelIncoming;
        c.price = price;
        c.quantity = qty;
        return c;
    };

    // A maker's price: distance ticks from the touch around the mid, but never through
    // the best opposite order, which may be a stale one the mid has moved past. Makers
    // rest; only takers trade, as in a real book, where nearly every order posted is
    // cancelled and few are filled.
    const auto maker_price = [&](Side side, Price distance) {
        const Price price = passive_price(side, mid.price(), distance);
        const std::optional<Price> best = shadow.best_price(flow.spec.id, matching::opposite(side));
        if (!best) {
            return price;
        }
        return side == Side::Buy ? std::min(price, *best - 1) : std::max(price, *best + 1);
    };

    flow.setup.reserve(params.prefill_orders);
    for (std::uint32_t k = 0; k < params.prefill_orders; ++k) {
        const Side side = k % 2 == 0 ? Side::Buy : Side::Sell;
        const auto distance = static_cast<Price>(1 + rng.below(params.prefill_levels));
        send(new_order(side, passive_price(side, mid.price(), distance), quantity.sample(rng),
                       matching::TimeInForce::GTC),
             flow.setup);
    }
    sink.reset();
    flow.max_events_per_command = 0;

    // Each new order comes with its cancel, about half as many modifications, and a
    // little room for the drain at the end.
    flow.commands.reserve(std::size_t{params.new_orders} * 21 / 10 + 1'000);
    std::priority_queue<Action, std::vector<Action>, Later> pending;
    flow.mid_low = mid.price();
    flow.mid_high = mid.price();
    const std::uint64_t crash_at = std::uint64_t{params.new_orders} * kCrashStartPercent / 100;

    for (std::uint64_t step = 0; flow.new_orders < params.new_orders || !pending.empty(); ++step) {
        if (flow.new_orders == crash_at) {
            mid.start_crash(step);
        }
        mid.advance(rng, step);
        const Price m = mid.price();
        flow.mid_low = std::min(flow.mid_low, m);
        flow.mid_high = std::max(flow.mid_high, m);

        const bool all_sent = flow.new_orders == params.new_orders;
        if (!pending.empty() && (all_sent || pending.top().due <= step)) {
            const Action action = pending.top();
            pending.pop();
            const std::optional<matching::OrderView> order = shadow.find_order(action.id);
            if (!order) {
                // Filled before its owner got round to it: nothing to send.
                continue;
            }
            Command c;
            c.order_id = action.id;
            c.account = order->account;
            if (action.kind == ActionKind::Cancel) {
                c.type = CommandType::Cancel;
                ++flow.cancels;
            } else {
                c.type = CommandType::Replace;
                if (order->leaves > 1 && rng.percent(kShrinkPercent)) {
                    c.price = order->price;
                    c.quantity = 1 + static_cast<Quantity>(
                                         rng.below(static_cast<std::uint64_t>(order->leaves - 1)));
                } else {
                    // Follow the mid: a new price at a fresh distance, which loses priority.
                    c.price = maker_price(order->side, placement.sample(rng) - 1);
                    if (c.price == order->price) {
                        c.price += order->side == Side::Buy ? -1 : 1;
                    }
                    c.quantity = order->leaves;
                }
                ++flow.replaces;
            }
            send(c, flow.commands);
        } else {
            std::uint32_t ioc_percent = kIocPercent;
            std::uint32_t buy_percent = 50;
            Quantity size_factor = 1;
            const PowerLaw* reach_law = &reach;
            if (mid.phase() == Phase::Crash) {
                ioc_percent = kCrashIocPercent;
                buy_percent = 100 - kCrashSellPercent;
                size_factor = kCrashSizeFactor;
                reach_law = &crash_reach;
            } else if (mid.phase() == Phase::Recovery) {
                ioc_percent = kRecoveryIocPercent;
                buy_percent = kRecoveryBuyPercent;
            }
            if (rng.percent(ioc_percent)) {
                const Side side = rng.percent(buy_percent) ? Side::Buy : Side::Sell;
                Price reach_ticks = reach_law->sample(rng);
                if (mid.phase() == Phase::Crash && side == Side::Sell &&
                    rng.below(kSweepOneIn) == 0) {
                    size_factor = kSweepSizeFactor;
                    reach_ticks = kSweepReach;
                }
                send(new_order(side, taker_price(side, m, reach_ticks),
                               quantity.sample(rng) * size_factor, matching::TimeInForce::IOC),
                     flow.commands);
                ++flow.ioc_orders;
            } else {
                const Side side = rng.percent(50) ? Side::Buy : Side::Sell;
                const Price price = maker_price(side, placement.sample(rng) - 1);
                const Command c =
                    new_order(side, price, quantity.sample(rng), matching::TimeInForce::GTC);
                send(c, flow.commands);
                const std::uint64_t life = lifetime.sample(rng);
                if (rng.percent(kReplacePercent)) {
                    pending.push({step + 1 + rng.below(life), c.order_id, ActionKind::Replace});
                }
                if (!rng.percent(params.keep_percent)) {
                    pending.push({step + 1 + life, c.order_id, ActionKind::Cancel});
                }
            }
            ++flow.new_orders;
        }
        flow.peak_resting = std::max(flow.peak_resting, shadow.resting_orders());
    }

    flow.events = sink.events_;
    flow.trades = sink.trades_;
    flow.rejects = sink.rejects_;
    flow.final_resting = shadow.resting_orders();
    flow.final_state_hash = shadow.state_hash();
    return flow;
}

}  // namespace cpx::bench
