#pragma once
// The order path of cpxd: gRPC threads submit requests to a bounded lock-free queue;
// the sequencer thread stamps each with the time, shows it to the journal, and applies
// it to the exchange; the exchange's output goes through a second bounded lock-free
// queue to the dispatcher thread, which answers callers and feeds streams. No lock and
// no allocation on this path in steady state (the exchange's own bounded tables aside).

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/request.hpp"
#include "cpx/gateway/dispatcher.hpp"
#include "cpx/gateway/doorbell.hpp"
#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/matching/spsc_queue.hpp"

namespace cpx::gateway {

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
    // rung: more answers a steady client sooner, fewer leaves the cores to others.
    int idle_spins = 32;
    // The dispatcher's work (answering calls, building stream messages, market data)
    // runs on a thread of its own, or on the sequencer's right after each batch. One
    // thread fewer means one hand-off fewer per answer, which is what a machine with few
    // cores needs; a thread of its own lets a machine with more cores apply and answer
    // at the same time.
    bool dispatch_thread = false;
};

// Sees every request in sequence, stamped, before the exchange applies it: where the
// durable journal will sit. Called on the sequencer thread.
class RequestObserver {
  public:
    virtual ~RequestObserver() = default;
    virtual void on_sequenced(const exchange::Request& request) = 0;
};

class Pipeline {
  public:
    explicit Pipeline(const PipelineConfig& config, RequestObserver* observer = nullptr);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Before start() only: the exchange belongs to the sequencer thread afterwards.
    exchange::Exchange& exchange() { return *exchange_; }
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
    // The dispatcher thread's way to submit: it must never wait for the sequencer, which
    // may itself be waiting for the dispatcher to drain its output. A request that finds
    // the queue full is kept and retried on the dispatcher's next round, in order.
    void submit_from_dispatcher(const exchange::Request& request);

    std::size_t request_queue_depth() const { return requests_.size_approx(); }
    std::size_t outbound_queue_depth() const { return outbound_.size_approx(); }
    std::uint64_t requests_applied() const { return applied_.load(std::memory_order_relaxed); }
    bool running() const { return running_.load(std::memory_order_acquire); }

  private:
    // Where the exchange's output goes: the queue to the dispatcher thread, or straight
    // to the dispatcher when it runs on the sequencer thread.
    class OutputSink final : public exchange::OutboundSink {
      public:
        OutputSink(matching::SpscQueue<exchange::Outbound>& queue, Dispatcher& dispatcher,
                   bool direct)
            : queue_(queue), dispatcher_(dispatcher), direct_(direct) {}
        void deliver(const exchange::Outbound& out) override;

      private:
        matching::SpscQueue<exchange::Outbound>& queue_;
        Dispatcher& dispatcher_;
        bool direct_;
    };

    void run_sequencer();
    void run_dispatcher();
    // The sequencer's loop when it also dispatches.
    void run_combined();
    void apply_batch(exchange::Request* batch, std::size_t count);
    void apply_tick();
    void retry_deferred();

    PipelineConfig config_;
    RequestObserver* observer_;
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
    std::vector<exchange::Request> deferred_;  // dispatcher thread only
    std::int64_t last_ns_ = 0;                 // sequencer thread only
    Doorbell sequencer_bell_;
};

}  // namespace cpx::gateway
