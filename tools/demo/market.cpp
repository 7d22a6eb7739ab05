#include "market.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace cpx::demo {

using matching::AccountId;
using matching::Command;
using matching::CommandType;
using matching::InstrumentId;
using matching::OrderType;
using matching::OrderView;
using matching::Price;
using matching::Quantity;
using matching::Reason;
using matching::SelfTradePrevention;
using matching::Side;
using matching::TimeInForce;
using matching::TradingState;

namespace {

constexpr std::size_t kAllLevels = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kFinishedKept = 32;

// The pool must hold every order that can rest at once; a step sends at most one order.
matching::EngineConfig engine_config(std::uint64_t steps) {
    matching::EngineConfig config;
    config.order_capacity =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(steps, kMaxSteps) + 64);
    return config;
}

Command operator_command(CommandType type, InstrumentId instrument) {
    Command c;
    c.type = type;
    c.instrument = instrument;
    return c;
}

Side random_side(Prng& rng) {
    return rng.percent(50) ? Side::Buy : Side::Sell;
}

}  // namespace

Market::Market(const Catalog& catalog, std::uint64_t seed, std::uint64_t steps)
    : catalog_(catalog),
      rng_(seed),
      steps_(steps),
      schedule_(make_schedule(catalog, steps)),
      engine_(engine_config(steps), collector_),
      now_(kSessionOpen) {
    for (const Listing& listing : catalog_.listings) {
        const Reason r = engine_.add_instrument(listing.spec);
        if (r != Reason::None) {
            throw std::logic_error("the catalog lists an invalid instrument " +
                                   std::string(listing.spec.symbol.view()) + ": " +
                                   std::string(matching::reason_name(r)));
        }
    }
}

void Market::run(const std::vector<StepObserver*>& observers) {
    for (std::uint64_t step = 0; step < steps_; ++step) {
        if (step > 0) {
            now_ += rng_.between(100, 1'900) * kNsPerMs;
        }
        const auto scheduled = schedule_.find(step);
        Intent intent = scheduled != schedule_.end() ? scripted(scheduled->second) : random_flow();
        intent.command.ts_ns = now_;
        collector_.events_.clear();
        engine_.apply(intent.command);
        const StepRecord record{step, intent.command, collector_.events_, intent.note};
        for (StepObserver* observer : observers) {
            observer->on_step(record);
        }
        remember(intent.command);
        track(collector_.events_);
        // The orders the events left resting must be the orders the engine holds: a
        // cheap check, every step, that the event stream tells the whole story.
        if (live_.size() != engine_.resting_orders()) {
            throw std::logic_error("step " + std::to_string(step) + ": the events leave " +
                                   std::to_string(live_.size()) + " orders resting, the engine " +
                                   std::to_string(engine_.resting_orders()));
        }
    }
}

std::vector<BookSnapshot> Market::books() const {
    std::vector<BookSnapshot> out;
    for (const Listing& listing : catalog_.listings) {
        const InstrumentId id = listing.spec.id;
        out.push_back(BookSnapshot{id, engine_.state(id).value_or(TradingState::Closed),
                                   engine_.reference_price(id).value_or(0),
                                   engine_.depth(id, Side::Buy, kAllLevels),
                                   engine_.depth(id, Side::Sell, kAllLevels)});
    }
    return out;
}

// Scripted scenes.

Market::Intent Market::scripted(const ScheduledScene& scheduled) {
    const InstrumentId id = scheduled.instrument;
    switch (scheduled.scene) {
        case Scene::OpenAuction:
            return {operator_command(CommandType::StartAuction, id),
                    "call auction opens: offers and bids collect, nothing trades yet"};
        case Scene::FreezeAuction:
            return {operator_command(CommandType::FreezeAuction, id),
                    "gate closure: orders still collect, cancels and replaces are refused"};
        case Scene::Uncross:
            return {operator_command(CommandType::Uncross, id), ""};
        case Scene::TrainingJob:
            return training_job();
        case Scene::TrainingJobFill:
            return training_job_fill();
        case Scene::BrokerOffer:
            return broker_offer();
        case Scene::BrokerSweep:
            return broker_sweep();
        case Scene::Halt:
            // A zero price halts without cancelling: the book waits for the resume.
            return {operator_command(CommandType::Halt, id),
                    "Ningxia grid dispatch curtails power: trading halted, resting orders kept"};
        case Scene::WithdrawOnHalt: {
            Command c = operator_command(CommandType::MassCancel, id);
            c.account = kZhongweiWest;
            return {c, "withdraws every offer while its power is curtailed"};
        }
        case Scene::Resume:
            return {operator_command(CommandType::Resume, id),
                    "curtailment lifted: continuous trading resumes"};
        case Scene::ClockTick:
            return {operator_command(CommandType::Tick, 0), ""};
    }
    return random_flow();
}

// An AI lab's training run needs its whole allocation at once. It bids all-or-none for
// more than the book offers up to its price, so the bid has to wait.
Market::Intent Market::training_job() {
    const Listing& listing = catalog_.listing(kHohhotPeak);
    const Price price = quote(listing, 2);
    const Quantity lot = listing.spec.lot_size;
    const Quantity offered = resting_total(listing, Side::Sell, price);
    Quantity quantity = lots(listing, listing.job_lots_min, listing.job_lots_max);
    quantity = std::max(quantity, (offered / lot + 50) * lot);
    quantity = std::min(quantity, listing.spec.quantity_max);
    Command c = new_order(listing, kHaidianLab, Side::Buy, price, quantity);
    c.flags = matching::kFlagAllOrNone;
    training_job_ = c.order_id;
    return {c, "needs all of it at once for one training run, so it bids all-or-none"};
}

// A provider offers at least everything bid at or above the job's price. Its offer meets
// those bids in priority order, so when it reaches the job it still has the whole job's
// quantity left, which is what an all-or-none bid needs.
Market::Intent Market::training_job_fill() {
    const Listing& listing = catalog_.listing(kHohhotPeak);
    const auto job = engine_.find_order(training_job_);
    if (!job.has_value()) {
        return provider_offer(listing, true);
    }
    const Price price = std::min(job->price, band_high(listing));
    Quantity quantity = 0;
    for (const matching::LevelView& level : engine_.depth(kHohhotPeak, Side::Buy, kAllLevels)) {
        if (level.price >= job->price) {
            quantity += level.total;
        }
    }
    quantity = std::min(quantity, listing.spec.quantity_max);
    return {new_order(listing, kHelingerPark, Side::Sell, price, quantity),
            "brings a whole hall online: one offer big enough for the waiting job"};
}

Market::Intent Market::broker_offer() {
    const Listing& listing = catalog_.listing(kWuhuPeak);
    const auto best_ask = engine_.best_price(kWuhuPeak, Side::Sell);
    broker_offer_price_ = in_band(listing, best_ask.value_or(quote(listing, 2)));
    Command c =
        new_order(listing, kJinghuaBrokers, Side::Sell, broker_offer_price_, lots(listing, 10, 50));
    c.stp = SelfTradePrevention::CancelResting;
    return {c, "offers capacity it bought earlier, at the best ask"};
}

// The broker buys every offer up to its own price. Its own offer is among them; with
// cancel-resting self-trade prevention the engine cancels that offer instead of
// printing a trade between the broker and itself.
Market::Intent Market::broker_sweep() {
    const Listing& listing = catalog_.listing(kWuhuPeak);
    Quantity quantity = resting_total(listing, Side::Sell, broker_offer_price_);
    quantity = std::clamp(quantity, listing.spec.lot_size, listing.spec.quantity_max);
    Command c = new_order(listing, kJinghuaBrokers, Side::Buy, broker_offer_price_, quantity);
    c.tif = TimeInForce::IOC;
    c.stp = SelfTradePrevention::CancelResting;
    return {c, "a client wants capacity now: it buys every offer up to that price"};
}

// Random flow.

Market::Intent Market::random_flow() {
    const Listing& listing = rng_.pick(catalog_.listings);
    const TradingState state = engine_.state(listing.spec.id).value_or(TradingState::Closed);
    if (state == TradingState::CallAuction || state == TradingState::AuctionNoCancel) {
        return auction_flow(listing);
    }
    return continuous_flow(listing);
}

// Before the uncross, providers and buyers state what they would deliver and take at
// which price; only plain limit orders are allowed in the auction.
Market::Intent Market::auction_flow(const Listing& listing) {
    const std::uint64_t roll = rng_.below(100);
    if (roll < 45) {
        return provider_offer(listing, false);
    }
    if (roll < 90) {
        return buyer_bid(listing, false);
    }
    if (roll < 96) {
        return cancel_resting(listing);
    }
    if (roll < 98) {
        return replace_resting(listing);
    }
    return mistake(listing, false);
}

// A halted instrument goes through this flow too: participants keep sending orders,
// and the engine refuses them, as it would refuse a client that has not caught up.
Market::Intent Market::continuous_flow(const Listing& listing) {
    const std::uint64_t roll = rng_.below(100);
    if (roll < 30) {
        return provider_offer(listing, true);
    }
    if (roll < 59) {
        return buyer_bid(listing, true);
    }
    if (roll < 65) {
        return market_order(listing, Side::Buy);
    }
    if (roll < 67) {
        return market_order(listing, Side::Sell);
    }
    if (roll < 70) {
        return all_or_none_job(listing);
    }
    if (roll < 72) {
        return fill_or_kill_bid(listing);
    }
    if (roll < 75) {
        return minimum_quantity_bid(listing);
    }
    if (roll < 83) {
        return cancel_resting(listing);
    }
    if (roll < 89) {
        return replace_resting(listing);
    }
    if (roll < 98) {
        return broker_flow(listing);
    }
    return mistake(listing, true);
}

Market::Intent Market::provider_offer(const Listing& listing, bool continuous) {
    const Participant& provider = pick(listing, Role::Provider);
    const Price price = quote(listing, continuous ? rng_.between(-4, 10) : rng_.between(-6, 8));
    Command c = new_order(listing, provider.account, Side::Sell, price,
                          lots(listing, listing.sell_lots_min, listing.sell_lots_max));
    // Capacity not sold within minutes goes back to the provider's own customers.
    if (continuous && rng_.percent(30)) {
        c.tif = TimeInForce::GTD;
        c.expiry_ns = now_ + rng_.between(60, 600) * kNsPerSecond;
    }
    return {c, ""};
}

Market::Intent Market::buyer_bid(const Listing& listing, bool continuous) {
    const Participant& buyer = pick(listing, Role::Buyer);
    const Price price = quote(listing, continuous ? rng_.between(-10, 4) : rng_.between(-8, 6));
    Command c = new_order(listing, buyer.account, Side::Buy, price,
                          lots(listing, listing.buy_lots_min, listing.buy_lots_max));
    if (continuous) {
        const std::uint64_t roll = rng_.below(100);
        if (roll < 20) {
            c.tif = TimeInForce::IOC;
        } else if (roll < 30) {
            c.tif = TimeInForce::GTD;
            c.expiry_ns = now_ + rng_.between(120, 600) * kNsPerSecond;
        }
    }
    return {c, ""};
}

// A buyer with an urgent inference burst, or a provider dumping idle capacity.
Market::Intent Market::market_order(const Listing& listing, Side side) {
    const bool buy = side == Side::Buy;
    const Participant& who = pick(listing, buy ? Role::Buyer : Role::Provider);
    const Quantity quantity = buy ? lots(listing, listing.buy_lots_min, listing.buy_lots_max / 2)
                                  : lots(listing, listing.sell_lots_min, listing.sell_lots_max / 2);
    Command c = new_order(listing, who.account, side, 0, quantity);
    c.order_type = OrderType::Market;
    c.tif = TimeInForce::IOC;
    // Some set their own protection limit on top of the exchange's.
    if (rng_.percent(30)) {
        c.price = quote(listing, buy ? 5 : -5);
    }
    return {c, ""};
}

Market::Intent Market::all_or_none_job(const Listing& listing) {
    const Participant& buyer = pick(listing, Role::Buyer);
    Command c = new_order(listing, buyer.account, Side::Buy, quote(listing, rng_.between(0, 6)),
                          lots(listing, listing.job_lots_min, listing.job_lots_max));
    c.flags = matching::kFlagAllOrNone;
    // Half the jobs have a start deadline: a job that cannot start in time is dropped.
    if (rng_.percent(50)) {
        c.tif = TimeInForce::GTD;
        c.expiry_ns = now_ + rng_.between(300, 900) * kNsPerSecond;
    }
    return {c, ""};
}

Market::Intent Market::fill_or_kill_bid(const Listing& listing) {
    const Participant& buyer = pick(listing, Role::Buyer);
    Command c = new_order(listing, buyer.account, Side::Buy, quote(listing, rng_.between(0, 5)),
                          lots(listing, listing.buy_lots_min, listing.buy_lots_max));
    c.tif = TimeInForce::FOK;
    return {c, ""};
}

// A batch job that can run on part of the capacity, but not on too little of it.
Market::Intent Market::minimum_quantity_bid(const Listing& listing) {
    const Participant& buyer = pick(listing, Role::Buyer);
    const std::int64_t job_lots = rng_.between(listing.job_lots_min / 2, listing.job_lots_max / 2);
    const Quantity lot = listing.spec.lot_size;
    Command c = new_order(listing, buyer.account, Side::Buy, quote(listing, rng_.between(-2, 4)),
                          job_lots * lot);
    c.min_quantity = std::max<std::int64_t>(job_lots / 2, 1) * lot;
    return {c, ""};
}

Market::Intent Market::cancel_resting(const Listing& listing) {
    OrderView order{};
    if (!pick_resting(listing, order)) {
        return provider_offer(listing, true);
    }
    Command c;
    c.type = CommandType::Cancel;
    c.instrument = listing.spec.id;
    c.order_id = order.id;
    c.account = order.account;
    return {c, ""};
}

// Most replaces chase the market (a new price loses time priority); some shrink the
// order where it stands (a smaller quantity at the same price keeps it).
Market::Intent Market::replace_resting(const Listing& listing) {
    OrderView order{};
    if (!pick_resting(listing, order)) {
        return buyer_bid(listing, true);
    }
    const Quantity lot = listing.spec.lot_size;
    Price price = order.price;
    Quantity quantity = order.leaves;
    const bool can_shrink = order.leaves > lot;
    if (can_shrink && rng_.percent(35)) {
        quantity -= lot * rng_.between(1, order.leaves / lot - 1);
    } else {
        const Price move = listing.quote_step * rng_.between(1, 4);
        price = in_band(listing, order.side == Side::Buy ? price + move : price - move);
        if (price == order.price) {
            if (!can_shrink) {
                return cancel_resting(listing);
            }
            quantity -= lot;
        }
    }
    Command c;
    c.type = CommandType::Replace;
    c.instrument = listing.spec.id;
    c.order_id = order.id;
    c.account = order.account;
    c.price = price;
    c.quantity = quantity;
    return {c, ""};
}

// The broker posts post-only quotes inside the spread, and sometimes takes the other
// side at once. It trades both sides of one instrument, so all its orders carry
// cancel-resting self-trade prevention: a new order cancels its stale opposite quote
// instead of trading with it.
Market::Intent Market::broker_flow(const Listing& listing) {
    const auto& mine = catalog_.find_participant(kJinghuaBrokers)->instruments;
    if (std::find(mine.begin(), mine.end(), listing.spec.id) == mine.end()) {
        return buyer_bid(listing, true);
    }
    const Side side = random_side(rng_);
    const InstrumentId id = listing.spec.id;
    const auto best_bid = engine_.best_price(id, Side::Buy);
    const auto best_ask = engine_.best_price(id, Side::Sell);
    const auto opposite_best = side == Side::Buy ? best_ask : best_bid;
    Command c;
    if (rng_.percent(40) && opposite_best.has_value()) {
        c = new_order(listing, kJinghuaBrokers, side, in_band(listing, *opposite_best),
                      lots(listing, listing.buy_lots_min, listing.buy_lots_max));
        c.tif = TimeInForce::IOC;
    } else {
        Price price = 0;
        if (side == Side::Buy) {
            price = best_bid.has_value() ? *best_bid + listing.quote_step : quote(listing, -2);
        } else {
            price = best_ask.has_value() ? *best_ask - listing.quote_step : quote(listing, 2);
        }
        c = new_order(listing, kJinghuaBrokers, side, in_band(listing, price),
                      lots(listing, listing.sell_lots_min, listing.sell_lots_max / 2));
        c.flags = matching::kFlagPostOnly;
    }
    c.stp = SelfTradePrevention::CancelResting;
    return {c, ""};
}

// Orders the engine must refuse: what client programs get wrong.
Market::Intent Market::mistake(const Listing& listing, bool continuous) {
    const Participant& buyer = pick(listing, Role::Buyer);
    const matching::InstrumentSpec& spec = listing.spec;
    Command c = new_order(listing, buyer.account, Side::Buy, quote(listing, 0),
                          lots(listing, listing.buy_lots_min, listing.buy_lots_max));
    if (!continuous) {
        // Immediate and all-or-none orders have no place in a call auction.
        if (rng_.percent(50)) {
            c.tif = TimeInForce::IOC;
        } else {
            c.flags = matching::kFlagAllOrNone;
        }
        return {c, ""};
    }
    switch (rng_.below(5)) {
        case 0:
            // A quantity between lots, or a price between ticks.
            if (spec.lot_size > 1) {
                c.quantity += spec.lot_size / 2;
            } else {
                c.price += spec.tick_size / 2;
            }
            break;
        case 1:
            // Yesterday's price, outside today's band.
            c.price = reference(listing) * (10'000 - static_cast<Price>(spec.band_bps) - 500) /
                      10'000 / spec.tick_size * spec.tick_size;
            break;
        case 2:
            if (!finished_.empty()) {
                // A cancel retried for an order that finished long ago.
                const FinishedOrder& old = rng_.pick(finished_);
                c = Command{};
                c.type = CommandType::Cancel;
                c.instrument = old.instrument;
                c.order_id = old.id;
                c.account = old.account;
            } else {
                c.quantity = spec.quantity_max + spec.lot_size;
            }
            break;
        case 3:
            c.quantity = spec.quantity_max + spec.lot_size;
            break;
        default:
            c.tif = TimeInForce::GTD;
            c.expiry_ns = now_ - kNsPerSecond;
            break;
    }
    return {c, ""};
}

// Helpers.

Command Market::new_order(const Listing& listing, AccountId account, Side side, Price price,
                          Quantity quantity) {
    Command c;
    c.type = CommandType::NewOrder;
    c.instrument = listing.spec.id;
    c.account = account;
    c.order_id = next_order_id_++;
    c.side = side;
    c.order_type = OrderType::Limit;
    c.tif = TimeInForce::GTC;
    c.price = price;
    c.quantity = quantity;
    return c;
}

Price Market::reference(const Listing& listing) const {
    const Price ref = engine_.reference_price(listing.spec.id).value_or(0);
    return ref > 0 ? ref : listing.spec.reference_price;
}

// The band as the engine computes it: width = reference * band_bps / 10000, truncated.
Price Market::band_low(const Listing& listing) const {
    const matching::InstrumentSpec& s = listing.spec;
    const Price ref = reference(listing);
    const Price low = ref - ref * s.band_bps / 10'000;
    return std::max(s.price_min, (low + s.tick_size - 1) / s.tick_size * s.tick_size);
}

Price Market::band_high(const Listing& listing) const {
    const matching::InstrumentSpec& s = listing.spec;
    const Price ref = reference(listing);
    const Price high = ref + ref * s.band_bps / 10'000;
    return std::min(s.price_max, high / s.tick_size * s.tick_size);
}

Price Market::in_band(const Listing& listing, Price price) const {
    return std::clamp(price, band_low(listing), band_high(listing));
}

// A price so many quote steps from the reference, kept inside the band: participants know
// the rules and do not send orders the engine would refuse, except by mistake.
Price Market::quote(const Listing& listing, std::int64_t steps_from_reference) const {
    return in_band(listing, reference(listing) + steps_from_reference * listing.quote_step);
}

Quantity Market::lots(const Listing& listing, std::int64_t lo, std::int64_t hi) {
    return rng_.between(lo, std::max(lo, hi)) * listing.spec.lot_size;
}

// The quantity resting on one side at prices as good as limit or better for a taker.
Quantity Market::resting_total(const Listing& listing, Side side, Price limit) const {
    Quantity total = 0;
    for (const matching::LevelView& level : engine_.depth(listing.spec.id, side, kAllLevels)) {
        const bool reachable = side == Side::Sell ? level.price <= limit : level.price >= limit;
        if (reachable) {
            total += level.total;
        }
    }
    return total;
}

const Participant& Market::pick(const Listing& listing, Role role) {
    const std::vector<const Participant*> active = catalog_.active_in(listing.spec.id, role);
    if (active.empty()) {
        throw std::logic_error("no participant of that role trades " +
                               std::string(listing.spec.symbol.view()));
    }
    return *rng_.pick(active);
}

// A random resting order of the instrument, leaving the scripted training job alone.
bool Market::pick_resting(const Listing& listing, OrderView& out) {
    const std::vector<matching::OrderId>& ids = live_ids(listing.spec.id, random_side(rng_));
    if (ids.empty()) {
        return false;
    }
    const matching::OrderId id = rng_.pick(ids);
    if (id == training_job_) {
        return false;
    }
    const auto order = engine_.find_order(id);
    if (!order.has_value()) {
        throw std::logic_error("order " + std::to_string(id) +
                               " rests according to the events but not in the engine");
    }
    out = *order;
    return true;
}

std::vector<matching::OrderId>& Market::live_ids(InstrumentId instrument, Side side) {
    return live_by_book_[instrument][side == Side::Buy ? 0 : 1];
}

void Market::track(std::span<const matching::Event> events) {
    for (const matching::Event& e : events) {
        switch (e.type) {
            case matching::EventType::Booked:
                track_resting(e);
                break;
            case matching::EventType::Trade:
                if (e.leaves == 0) {
                    untrack(e.order_id);
                }
                if (e.other_leaves == 0) {
                    untrack(e.other_order_id);
                }
                break;
            case matching::EventType::Cancelled:
                untrack(e.order_id);
                break;
            default:
                break;
        }
    }
}

// A replaced order that lost its priority is booked again under the same id.
void Market::track_resting(const matching::Event& booked) {
    if (live_.contains(booked.order_id)) {
        return;
    }
    std::vector<matching::OrderId>& ids = live_ids(booked.instrument, booked.side);
    live_.emplace(booked.order_id, LiveOrder{booked.instrument, booked.side, ids.size()});
    ids.push_back(booked.order_id);
}

// An order that never rested (an IOC remainder, say) is simply not there.
void Market::untrack(matching::OrderId id) {
    const auto it = live_.find(id);
    if (it == live_.end()) {
        return;
    }
    std::vector<matching::OrderId>& ids = live_ids(it->second.instrument, it->second.side);
    const std::size_t position = it->second.position;
    ids[position] = ids.back();
    live_.at(ids[position]).position = position;
    ids.pop_back();
    live_.erase(it);
}

void Market::remember(const Command& command) {
    const bool immediate = command.type == CommandType::NewOrder &&
                           (command.tif == TimeInForce::IOC || command.tif == TimeInForce::FOK);
    if (!immediate) {
        return;
    }
    if (finished_.size() == kFinishedKept) {
        finished_.erase(finished_.begin());
    }
    finished_.push_back({command.order_id, command.account, command.instrument});
}

}  // namespace cpx::demo
