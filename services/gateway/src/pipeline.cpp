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

void Pipeline::QueueSink::deliver(const exchange::Outbound& out) {
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
      sink_(outbound_),
      exchange_(std::make_unique<exchange::Exchange>(config.exchange, sink_)),
      dispatcher_(config.control_queue_capacity) {}

Pipeline::~Pipeline() {
    stop();
}

void Pipeline::start() {
    if (running_.exchange(true)) {
        return;
    }
    stop_sequencer_.store(false);
    sequencer_done_.store(false);
    dispatcher_thread_ = std::thread([this] { run_dispatcher(); });
    sequencer_ = std::thread([this] { run_sequencer(); });
}

void Pipeline::stop() {
    if (!running_.load()) {
        return;
    }
    stop_sequencer_.store(true, std::memory_order_release);
    sequencer_.join();
    dispatcher_thread_.join();
    running_.store(false, std::memory_order_release);
}

void Pipeline::submit(const exchange::Request& request) {
    while (!requests_.try_push(request)) {
        std::this_thread::yield();
    }
}

void Pipeline::submit_from_dispatcher(const exchange::Request& request) {
    if (!deferred_.empty() || !requests_.try_push(request)) {
        deferred_.push_back(request);
    }
}

void Pipeline::run_sequencer() {
    exchange::Request batch[kBatch];
    std::int64_t last_ns = 0;
    std::int64_t last_tick_steady_ns = steady_ns();
    int idle_spins = 0;
    while (true) {
        const std::size_t n = requests_.pop_batch(batch, kBatch);
        if (n == 0) {
            if (stop_sequencer_.load(std::memory_order_acquire) && requests_.size_approx() == 0) {
                break;
            }
            const std::int64_t now_steady = steady_ns();
            if (now_steady - last_tick_steady_ns >= config_.tick_interval_ns) {
                last_tick_steady_ns = now_steady;
                exchange::Request tick;
                tick.type = exchange::RequestType::Tick;
                last_ns = std::max(last_ns, wall_clock_ns());
                tick.ts_ns = last_ns;
                if (observer_ != nullptr) {
                    observer_->on_sequenced(tick);
                }
                exchange_->apply(tick);
            }
            // Spin briefly for latency, then yield the core: this machine has two.
            if (++idle_spins > 64) {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            } else {
                std::this_thread::yield();
            }
            continue;
        }
        idle_spins = 0;
        // One clock read per batch: every request of it is stamped with the same time,
        // which never goes back.
        last_ns = std::max(last_ns, wall_clock_ns());
        for (std::size_t i = 0; i < n; ++i) {
            batch[i].ts_ns = last_ns;
            if (observer_ != nullptr) {
                observer_->on_sequenced(batch[i]);
            }
            exchange_->apply(batch[i]);
        }
        applied_.fetch_add(n, std::memory_order_relaxed);
    }
    sequencer_done_.store(true, std::memory_order_release);
}

void Pipeline::run_dispatcher() {
    exchange::Outbound batch[kBatch];
    std::int64_t last_timer_ns = steady_ns();
    int idle_spins = 0;
    while (true) {
        while (!deferred_.empty() && requests_.try_push(deferred_.front())) {
            deferred_.erase(deferred_.begin());
        }
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
        const std::int64_t now = steady_ns();
        if (now - last_timer_ns >= config_.timer_interval_ns) {
            last_timer_ns = now;
            dispatcher_.on_timer(now);
            dispatcher_.end_round();
        }
        if (total == 0) {
            if (sequencer_done_.load(std::memory_order_acquire) && outbound_.size_approx() == 0 &&
                deferred_.empty()) {
                break;
            }
            if (++idle_spins > 64) {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            } else {
                std::this_thread::yield();
            }
        }
    }
}

}  // namespace cpx::gateway
