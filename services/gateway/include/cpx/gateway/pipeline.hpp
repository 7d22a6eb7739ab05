#pragma once
// The order path of cpxd: gRPC threads submit requests to a bounded lock-free queue;
// the sequencer thread stamps each with the time, hands it to the journal, and applies
// it to the exchange; the exchange's output waits in a bounded ring until the journal
// says the request behind it is durable, then goes to the dispatcher (on the sequencer
// thread, or through a second bounded lock-free queue to a thread of its own, or either
// from one round to the next), which answers callers and feeds streams. No lock and no
// allocation on this path in steady state (the exchange's own bounded tables aside).

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/request.hpp"
#include "cpx/gateway/dispatcher.hpp"
#include "cpx/gateway/doorbell.hpp"
#include "cpx/journal/request_journal.hpp"
#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/matching/spsc_queue.hpp"

namespace cpx::gateway {

using journal::RequestJournal;

// Where the dispatcher's work (answering calls, building stream messages, market data)
// runs.
enum class DispatchMode : std::uint8_t {
    // On the sequencer thread, right after each batch: one hand-off fewer per answer.
    Sequencer = 1,
    // On a thread of its own: the sequencer applies the next batch while the dispatcher
    // answers the last one.
    Thread = 2,
    // A thread of its own, but a round the sequencer finds light (a few requests and
    // nothing else waiting) is answered on the sequencer thread when the dispatcher is
    // idle: the hand-off is saved when the load is light and latency is what counts, and
    // the two threads overlap when it is heavy and throughput is.
    Adaptive = 3,
};

struct PipelineConfig {
    exchange::ExchangeConfig exchange;
    std::size_t request_queue_capacity = std::size_t{1} << 16;   // power of two
    std::size_t outbound_queue_capacity = std::size_t{1} << 18;  // power of two
    std::size_t control_queue_capacity = std::size_t{1} << 12;   // power of two
    // Time advances at least this often when no request arrives (GTD expiry).
    std::int64_t tick_interval_ns = 10'000'000;
    // How often the dispatcher runs its timers (heartbeats).
    std::int64_t timer_interval_ns = 100'000'000;
    // Times an idle sequencer or dispatcher yields the core before it sleeps until
    // rung: more may answer a steady client sooner on a machine with cores to spare.
    // On two cores none is best: the yields took CPU from gRPC's threads and the
    // client, and every mode measured better without them (docs/BENCHMARKS.md).
    int idle_spins = 0;
    DispatchMode dispatch = DispatchMode::Adaptive;
    // Adaptive: the largest round (requests taken from the queue at once, with none left
    // behind them) that the sequencer answers itself.
    std::size_t dispatch_inline_max = 16;
    // Output records that may wait for the journal at once (power of two). When it is
    // full the sequencer waits for the journal.
    std::size_t held_capacity = std::size_t{1} << 18;
    // A checkpoint (the state hash, for recovery to compare) every this many journalled
    // requests, and at stop.
    std::uint64_t checkpoint_every = 1'000'000;
    // How long stop() waits for the journal to make the last requests durable before it
    // drops their answers (the callers then see their calls end without an answer).
    std::int64_t stop_durable_wait_ns = 10'000'000'000;
};

class Pipeline {
  public:
    // With a journal, every answer waits until the request behind it is durable; the
    // journal must call wake_sequencer() whenever its durable_seq() advances.
    explicit Pipeline(const PipelineConfig& config, RequestJournal* journal = nullptr);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Before start() only: the exchange belongs to the sequencer thread afterwards.
    exchange::Exchange& exchange() { return *exchange_; }
    // Before start() only: applies a request read back from the journal. Its market
    // output rebuilds the dispatcher's books; its answers had their callers before the
    // restart and are dropped.
    void replay(const exchange::Request& request);
    // Before start() only: replaces the exchange with a fresh one (recovery discards one
    // that a snapshot failed to load into).
    void reset_exchange();
    // Before start() only: rebuilds the market-data books from the exchange's books, for
    // an exchange loaded from a snapshot (whose earlier events the dispatcher never saw).
    void rebuild_market_data();
    // Before start() only: stamps, journals and applies a request of the server's own
    // (the bootstrap of an empty exchange; the logoff of streams a restart ended). Its
    // answers have no caller.
    void apply_before_start(exchange::Request request);
    Dispatcher& dispatcher() { return dispatcher_; }

    void start();
    // Applies every request already submitted, delivers all output, then stops both
    // threads.
    void stop();

    // Any thread. False when the queue is full: the caller answers RESOURCE_EXHAUSTED.
    bool try_submit(const exchange::Request& request) {
        if (!requests_.try_push(request)) {
            return false;
        }
        sequencer_bell_.ring();
        return true;
    }

    // Any thread but the dispatcher's. Waits for room; for requests that must not be
    // refused (a logoff).
    void submit(const exchange::Request& request);
    // As submit, without waking the sequencer: for a batch of requests, followed by one
    // wake_sequencer().
    void submit_quietly(const exchange::Request& request);
    void wake_sequencer() { sequencer_bell_.ring(); }
    // The dispatcher's way to submit, on whichever thread its work runs: it must never
    // wait for the sequencer, which
    // may itself be waiting for the dispatcher to drain its output. A request that finds
    // the queue full is kept and retried on the dispatcher's next round, in order.
    void submit_from_dispatcher(const exchange::Request& request);

    std::size_t request_queue_depth() const { return requests_.size_approx(); }
    std::size_t outbound_queue_depth() const { return outbound_.size_approx(); }
    // Output records waiting for the journal (approximate from other threads).
    std::size_t held_depth() const { return sink_.held_approx(); }
    std::uint64_t requests_applied() const { return applied_.load(std::memory_order_relaxed); }
    // Rounds of requests answered on the sequencer thread, and handed to the
    // dispatcher's thread (approximate from other threads).
    std::uint64_t rounds_answered_inline() const {
        return rounds_inline_.load(std::memory_order_relaxed);
    }
    std::uint64_t rounds_handed_off() const {
        return rounds_handed_.load(std::memory_order_relaxed);
    }
    bool running() const { return running_.load(std::memory_order_acquire); }

  private:
    // Where the exchange's output goes: held until durable when there is a journal,
    // then the queue to the dispatcher thread, or straight to the dispatcher when it runs
    // on the sequencer thread. Sequencer thread only, but for held_approx().
    class OutputSink final : public exchange::OutboundSink {
      public:
        OutputSink(const PipelineConfig& config, matching::SpscQueue<exchange::Outbound>& queue,
                   Dispatcher& dispatcher, RequestJournal* journal);
        void deliver(const exchange::Outbound& out) override;

        // The journal sequence number of the request being applied: its output waits
        // until the journal is durable up to it.
        void set_tag(std::uint64_t seq) { tag_ = seq; }
        void set_replaying(bool replaying) { replaying_ = replaying; }
        // Straight to the dispatcher (this thread does its work this round), or through
        // the queue to its thread.
        void set_direct(bool direct) { direct_ = direct; }
        bool direct() const { return direct_; }
        // Sends on what is now durable. Returns how many records went.
        std::size_t release_durable();
        // True when held output waits and the journal has made the first of it durable.
        bool release_ready() const;
        bool holding() const { return held_count_ != 0; }
        std::size_t held_approx() const {
            return held_count_approx_.load(std::memory_order_relaxed);
        }
        // Drops what still waits (stop() gave up on the journal). Returns how many.
        std::size_t drop_held();

      private:
        struct Held {
            std::uint64_t seq;
            exchange::Outbound out;
        };
        void forward(const exchange::Outbound& out);

        matching::SpscQueue<exchange::Outbound>& queue_;
        Dispatcher& dispatcher_;
        RequestJournal* journal_;
        bool direct_;
        bool replaying_ = false;
        std::uint64_t tag_ = 0;
        std::vector<Held> held_;
        std::size_t held_mask_;
        std::size_t held_head_ = 0;
        std::size_t held_count_ = 0;
        std::atomic<std::size_t> held_count_approx_{0};
    };

    void run_sequencer();
    void run_dispatcher();
    // The right to do the dispatcher's work: with a thread of its own, whoever holds it
    // is the one user of the Dispatcher, of the deferred requests and of the outbound
    // queue's reading end. Taking it (acquire) sees everything its last holder did before
    // giving it back (release).
    bool try_take_dispatch();
    void take_dispatch();
    void give_dispatch();
    // Adaptive: the sequencer takes a round of n requests upon itself when it is light
    // and the dispatcher idle, answering first what the dispatcher thread has not yet
    // taken from the queue. True when it did.
    bool begin_inline_round(std::size_t n);
    void end_inline_round();
    void drain_outbound();
    // The sequencer's loop when it also dispatches.
    void run_combined();
    void apply_batch(exchange::Request* batch, std::size_t count);
    void apply_tick();
    void retry_deferred();
    void note_deferred() { deferred_pending_.store(!deferred_.empty(), std::memory_order_release); }
    // Sends on durable output; true when some went. Then the dispatcher's round ends
    // (on this thread) or its thread is woken.
    bool release_durable();
    // At stop: waits (bounded) until every held answer is durable, then checkpoints.
    void finish_journal();

    PipelineConfig config_;
    RequestJournal* journal_;
    matching::MpscQueue<exchange::Request> requests_;
    matching::SpscQueue<exchange::Outbound> outbound_;
    Dispatcher dispatcher_;
    OutputSink sink_;
    std::unique_ptr<exchange::Exchange> exchange_;
    std::thread sequencer_;
    std::thread dispatcher_thread_;
    std::atomic<bool> stop_sequencer_{false};
    std::atomic<bool> sequencer_done_{false};
    std::atomic<bool> running_{false};
    std::atomic<std::uint64_t> applied_{0};
    // Written by the sequencer only; a plain store is enough for one writer.
    std::atomic<std::uint64_t> rounds_inline_{0};
    std::atomic<std::uint64_t> rounds_handed_{0};
    std::atomic<bool> dispatch_taken_{false};
    std::vector<exchange::Outbound> drained_;  // whoever holds the right to dispatch
    std::vector<exchange::Request> deferred_;  // whoever holds the right to dispatch
    std::atomic<bool> deferred_pending_{false};
    std::int64_t last_ns_ = 0;            // sequencer thread only
    std::uint64_t since_checkpoint_ = 0;  // sequencer thread only
    Doorbell sequencer_bell_;
};

}  // namespace cpx::gateway
