#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
#include "cpx/matching/command.hpp"
#include "cpx/matching/engine.hpp"
#include "cpx/matching/event.hpp"
#include "prng.hpp"
#include "schedule.hpp"

namespace cpx::demo {

// One step of a run: the command the market sent to the engine, every event it produced,
// and for a scripted scene a sentence saying why it happened.
struct StepRecord {
    std::uint64_t index = 0;
    matching::Command command;
    std::span<const matching::Event> events;
    std::string_view note;
};

// Sees every step of a run, in order: the trade tape, the statistics and the tests'
// event log are observers.
class StepObserver {
  public:
    virtual ~StepObserver() = default;
    virtual void on_step(const StepRecord& step) = 0;
};

// Every price level of one book at the end of a run.
struct BookSnapshot {
    matching::InstrumentId instrument = 0;
    matching::TradingState state = matching::TradingState::Closed;
    matching::Price reference = 0;
    std::vector<matching::LevelView> bids;  // best first
    std::vector<matching::LevelView> asks;  // best first
};

// The simulated compute market: providers, buyers and a broker of the catalog, and the
// operator's schedule, sending one command per step to a matching engine. Everything it
// does follows from the seed and from the engine's answers, and time is simulated (each
// step moves the clock 0.1 to 1.9 s on), so a seed gives the same run every time.
class Market {
  public:
    Market(const Catalog& catalog, std::uint64_t seed, std::uint64_t steps);
    Market(const Market&) = delete;
    Market& operator=(const Market&) = delete;

    void run(const std::vector<StepObserver*>& observers);

    const matching::Engine& engine() const { return engine_; }
    matching::Timestamp now() const { return now_; }
    std::vector<BookSnapshot> books() const;

  private:
    class Collector final : public matching::EventSink {
      public:
        void publish(const matching::Event* events, std::size_t count) override {
            events_.insert(events_.end(), events, events + count);
        }
        std::vector<matching::Event> events_;
    };

    struct Intent {
        matching::Command command;
        std::string_view note;
    };

    // A resting order as the event stream tells it, kept so that a random one can be
    // picked in constant time: the engine's orders() copies a whole book.
    struct LiveOrder {
        matching::InstrumentId instrument;
        matching::Side side;
        std::size_t position;  // in its book side's vector of live ids
    };

    // An immediate order never rests, so a later cancel of it is refused as unknown.
    struct FinishedOrder {
        matching::OrderId id;
        matching::AccountId account;
        matching::InstrumentId instrument;
    };

    Intent scripted(const ScheduledScene& scheduled);
    Intent training_job();
    Intent training_job_fill();
    Intent broker_offer();
    Intent broker_sweep();

    Intent random_flow();
    Intent auction_flow(const Listing& listing);
    Intent continuous_flow(const Listing& listing);
    Intent provider_offer(const Listing& listing, bool continuous);
    Intent buyer_bid(const Listing& listing, bool continuous);
    Intent market_order(const Listing& listing, matching::Side side);
    Intent all_or_none_job(const Listing& listing);
    Intent fill_or_kill_bid(const Listing& listing);
    Intent minimum_quantity_bid(const Listing& listing);
    Intent cancel_resting(const Listing& listing);
    Intent replace_resting(const Listing& listing);
    Intent broker_flow(const Listing& listing);
    Intent mistake(const Listing& listing, bool continuous);

    matching::Command new_order(const Listing& listing, matching::AccountId account,
                                matching::Side side, matching::Price price,
                                matching::Quantity quantity);
    matching::Price reference(const Listing& listing) const;
    matching::Price band_low(const Listing& listing) const;
    matching::Price band_high(const Listing& listing) const;
    matching::Price in_band(const Listing& listing, matching::Price price) const;
    matching::Price quote(const Listing& listing, std::int64_t steps_from_reference) const;
    matching::Quantity lots(const Listing& listing, std::int64_t lo, std::int64_t hi);
    matching::Quantity resting_total(const Listing& listing, matching::Side side,
                                     matching::Price limit) const;
    const Participant& pick(const Listing& listing, Role role);
    bool pick_resting(const Listing& listing, matching::OrderView& out);
    void remember(const matching::Command& command);
    void track(std::span<const matching::Event> events);
    void track_resting(const matching::Event& booked);
    void untrack(matching::OrderId id);
    std::vector<matching::OrderId>& live_ids(matching::InstrumentId instrument,
                                             matching::Side side);

    const Catalog& catalog_;
    Prng rng_;
    std::uint64_t steps_;
    Schedule schedule_;
    Collector collector_;
    matching::Engine engine_;
    matching::Timestamp now_;
    matching::OrderId next_order_id_ = 1;
    matching::OrderId training_job_ = 0;
    matching::Price broker_offer_price_ = 0;
    std::vector<FinishedOrder> finished_;
    // Looked up by id only, never iterated, so its hash order cannot reach the output.
    std::unordered_map<matching::OrderId, LiveOrder> live_;
    std::map<matching::InstrumentId, std::array<std::vector<matching::OrderId>, 2>> live_by_book_;
};

}  // namespace cpx::demo
