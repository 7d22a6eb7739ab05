#pragma once
// The dispatcher thread's work: it takes the exchange's output in order and hands each
// record to whoever waits for it: the unary call or stream named by a token, every
// order-entry stream of the account a report belongs to, and the market-data
// subscribers. It batches: what a round of records produced for a stream leaves as one
// message when the round ends.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpx/exchange/outbound.hpp"
#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/doorbell.hpp"
#include "cpx/gateway/market_data.hpp"
#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/ops/metrics.hpp"

namespace cpx::gateway {

// A request from a gRPC thread to the dispatcher thread.
struct DispatcherControl {
    enum class Kind : std::uint8_t { Subscribe = 1, Unsubscribe = 2, CloseAll = 3 };
    Kind kind = Kind::Subscribe;
    MarketSubscriber* subscriber = nullptr;
};

class Dispatcher {
  public:
    using Control = DispatcherControl;

    explicit Dispatcher(std::size_t control_capacity);

    // Any thread. Waits for room: control messages are rare and must not be lost.
    void post(const Control& control);
    // Rung when there is work for the dispatcher thread; it sleeps on it when idle.
    Doorbell& bell() { return *bell_; }
    // When the dispatcher's work runs on the sequencer thread, both ring one bell.
    void share_bell(Doorbell* bell) { bell_ = bell; }
    bool controls_pending() const { return controls_.size_approx() != 0; }

    // Dispatcher thread only.
    void handle(const exchange::Outbound* records, std::size_t count);
    void end_round();
    void run_controls();
    void on_timer(std::int64_t now_ns);
    void register_session(SessionStream* stream);
    void unregister_session(SessionStream* stream);
    // Closes every market-data stream and asks every session to end (shutdown).
    void close_all();
    // Counts trades for /metrics. Before the pipeline starts.
    void count_trades(ops::Counter* counter) { trades_ = counter; }
    // Marks a stream to be flushed at the end of the round.
    void touch(SessionStream* stream);

    std::size_t sessions() const { return sessions_count_; }
    const MarketDataHub& market() const { return market_; }
    std::uint64_t reports_delivered() const { return reports_delivered_; }

  private:
    void dispatch_report(const exchange::Outbound& header, const exchange::Outbound* fills,
                         std::size_t fill_count);

    matching::MpscQueue<Control> controls_;
    Doorbell own_bell_;
    Doorbell* bell_ = &own_bell_;
    MarketDataHub market_;
    std::unordered_map<exchange::AccountId, std::vector<SessionStream*>> sessions_;
    std::size_t sessions_count_ = 0;
    std::vector<SessionStream*> touched_;
    // A report whose fills are still arriving.
    exchange::Outbound pending_header_;
    std::vector<exchange::Outbound> pending_fills_;
    bool pending_ = false;
    std::uint64_t reports_delivered_ = 0;
    ops::Counter* trades_ = nullptr;
};

}  // namespace cpx::gateway
