#include "cpx/gateway/pipeline.hpp"

#include <chrono>
#include <thread>

namespace cpx::gateway {

namespace {

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

constexpr std::size_t kBatch = 256;

}  // namespace

void Pipeline::OutputSink::deliver(const exchange::Outbound& out) {
    if (direct_) {
        dispatcher_.handle(&out, 1);
        return;
    }
    // Output is never dropped: when the dispatcher falls behind, the sequencer waits.
    while (!queue_.try_push(out)) {
        std::this_thread::yield();
    }
}

Pipeline::Pipeline(const PipelineConfig& config, RequestObserver* observer)
    : config_(config),
      observer_(observer),
      requests_(config.request_queue_capacity),
      outbound_(config.outbound_queue_capacity),
      dispatcher_(config.control_queue_capacity),
      sink_(outbound_, dispatcher_, !config.dispatch_thread),
      exchange_(std::make_unique<exchange::Exchange>(config.exchange, sink_)) {
    if (!config.dispatch_thread) {
        dispatcher_.share_bell(&sequencer_bell_);
    }
}

Pipeline::~Pipeline() {
    stop();
}

void Pipeline::start() {
    if (running_.exchange(true)) {
        return;
    }
    stop_sequencer_.store(false);
    sequencer_done_.store(false);
    if (config_.dispatch_thread) {
        dispatcher_thread_ = std::thread([this] { run_dispatcher(); });
        sequencer_ = std::thread([this] { run_sequencer(); });
    } else {
        sequencer_ = std::thread([this] { run_combined(); });
    }
}

void Pipeline::stop() {
    if (!running_.load()) {
        return;
    }
    stop_sequencer_.store(true, std::memory_order_release);
    sequencer_bell_.ring();
    sequencer_.join();
    if (dispatcher_thread_.joinable()) {
        dispatcher_thread_.join();
    }
    running_.store(false, std::memory_order_release);
}

void Pipeline::submit(const exchange::Request& request) {
    while (!requests_.try_push(request)) {
        std::this_thread::yield();
    }
    sequencer_bell_.ring();
}

void Pipeline::submit_quietly(const exchange::Request& request) {
    while (!requests_.try_push(request)) {
        // The sequencer may be asleep with a full queue in front of it only if nobody
        // rang; ring before waiting.
        sequencer_bell_.ring();
        std::this_thread::yield();
    }
}

void Pipeline::submit_from_dispatcher(const exchange::Request& request) {
    if (!deferred_.empty() || !requests_.try_push(request)) {
        deferred_.push_back(request);
        return;
    }
    sequencer_bell_.ring();
}

void Pipeline::retry_deferred() {
    std::size_t sent = 0;
    while (sent < deferred_.size() && requests_.try_push(deferred_[sent])) {
        ++sent;
    }
    if (sent > 0) {
        deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<std::ptrdiff_t>(sent));
        sequencer_bell_.ring();
    }
}

void Pipeline::apply_batch(exchange::Request* batch, std::size_t count) {
    // One clock read per batch: every request of it is stamped with the same time,
    // which never goes back.
    last_ns_ = std::max(last_ns_, wall_clock_ns());
    for (std::size_t i = 0; i < count; ++i) {
        batch[i].ts_ns = last_ns_;
        if (observer_ != nullptr) {
            observer_->on_sequenced(batch[i]);
        }
        exchange_->apply(batch[i]);
    }
    applied_.fetch_add(count, std::memory_order_relaxed);
}

void Pipeline::apply_tick() {
    exchange::Request tick;
    tick.type = exchange::RequestType::Tick;
    apply_batch(&tick, 1);
}

void Pipeline::run_sequencer() {
    exchange::Request batch[kBatch];
    std::int64_t last_tick_ns = steady_ns();
    int idle_spins = 0;
    while (true) {
        const std::size_t n = requests_.pop_batch(batch, kBatch);
        if (n > 0) {
            idle_spins = 0;
            apply_batch(batch, n);
            // One wake of the dispatcher per batch, after all of its output is queued.
            dispatcher_.bell().ring();
            continue;
        }
        if (stop_sequencer_.load(std::memory_order_acquire) && requests_.size_approx() == 0) {
            break;
        }
        if (steady_ns() - last_tick_ns >= config_.tick_interval_ns) {
            last_tick_ns = steady_ns();
            apply_tick();
            dispatcher_.bell().ring();
        }
        // Spin briefly for latency, then sleep until a producer rings or the next tick
        // is due.
        if (++idle_spins > config_.idle_spins) {
            sequencer_bell_.wait(config_.tick_interval_ns - (steady_ns() - last_tick_ns), [this] {
                return requests_.size_approx() != 0 ||
                       stop_sequencer_.load(std::memory_order_acquire);
            });
            idle_spins = 0;
        } else {
            std::this_thread::yield();
        }
    }
    sequencer_done_.store(true, std::memory_order_release);
    dispatcher_.bell().ring();
}

void Pipeline::run_dispatcher() {
    exchange::Outbound batch[kBatch];
    std::int64_t last_timer_ns = steady_ns();
    int idle_spins = 0;
    while (true) {
        retry_deferred();
        dispatcher_.run_controls();
        std::size_t total = 0;
        // Drain what is there, then end the round: messages leave in batches under load
        // and one by one when it is light.
        while (true) {
            const std::size_t n = outbound_.pop_batch(batch, kBatch);
            if (n == 0) {
                break;
            }
            dispatcher_.handle(batch, n);
            total += n;
            if (total >= 16 * kBatch) {
                break;
            }
        }
        if (total > 0) {
            dispatcher_.end_round();
            idle_spins = 0;
        }
        if (steady_ns() - last_timer_ns >= config_.timer_interval_ns) {
            last_timer_ns = steady_ns();
            dispatcher_.on_timer(last_timer_ns);
            dispatcher_.end_round();
        }
        if (total > 0) {
            continue;
        }
        if (sequencer_done_.load(std::memory_order_acquire) && outbound_.size_approx() == 0 &&
            deferred_.empty()) {
            break;
        }
        if (++idle_spins > config_.idle_spins) {
            dispatcher_.bell().wait(config_.timer_interval_ns - (steady_ns() - last_timer_ns),
                                    [this] {
                                        return outbound_.size_approx() != 0 || !deferred_.empty() ||
                                               dispatcher_.controls_pending() ||
                                               sequencer_done_.load(std::memory_order_acquire);
                                    });
            idle_spins = 0;
        } else {
            std::this_thread::yield();
        }
    }
}

void Pipeline::run_combined() {
    exchange::Request batch[kBatch];
    std::int64_t last_tick_ns = steady_ns();
    std::int64_t last_timer_ns = last_tick_ns;
    int idle_spins = 0;
    while (true) {
        retry_deferred();
        dispatcher_.run_controls();
        const std::size_t n = requests_.pop_batch(batch, kBatch);
        if (n > 0) {
            apply_batch(batch, n);
            dispatcher_.end_round();
            idle_spins = 0;
        }
        const std::int64_t now = steady_ns();
        if (now - last_tick_ns >= config_.tick_interval_ns) {
            last_tick_ns = now;
            apply_tick();
            dispatcher_.end_round();
        }
        if (now - last_timer_ns >= config_.timer_interval_ns) {
            last_timer_ns = now;
            dispatcher_.on_timer(now);
            dispatcher_.end_round();
        }
        if (n > 0) {
            continue;
        }
        if (stop_sequencer_.load(std::memory_order_acquire) && requests_.size_approx() == 0 &&
            deferred_.empty()) {
            break;
        }
        if (++idle_spins > config_.idle_spins) {
            sequencer_bell_.wait(config_.tick_interval_ns - (steady_ns() - last_tick_ns), [this] {
                return requests_.size_approx() != 0 || !deferred_.empty() ||
                       dispatcher_.controls_pending() ||
                       stop_sequencer_.load(std::memory_order_acquire);
            });
            idle_spins = 0;
        } else {
            std::this_thread::yield();
        }
    }
    sequencer_done_.store(true, std::memory_order_release);
}

}  // namespace cpx::gateway
