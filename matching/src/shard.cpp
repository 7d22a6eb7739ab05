#include "cpx/matching/shard.hpp"

#include <array>
#include <cassert>

namespace cpx::matching {

namespace {

// Waiting strategy of the engine thread: spin briefly (new work usually arrives within
// microseconds under load), then yield the core, since this machine class has few.
void pause_briefly(unsigned& idle_rounds) {
    if (++idle_rounds < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        std::this_thread::yield();
    }
}

}  // namespace

Shard::Shard(const ShardConfig& config, CommandObserver* observer)
    : commands_(config.command_queue_capacity),
      events_(config.event_queue_capacity),
      sink_(events_),
      engine_(config.engine, sink_),
      observer_(observer) {}

Shard::~Shard() {
    if (thread_.joinable()) {
        stop();
    }
}

Reason Shard::add_instrument(const InstrumentSpec& spec) {
    assert(!thread_.joinable());
    return engine_.add_instrument(spec);
}

void Shard::start() {
    assert(!thread_.joinable());
    stop_requested_.store(false, std::memory_order_relaxed);
    running_.store(true, std::memory_order_release);
    thread_ = std::thread([this] { run(); });
}

void Shard::stop() {
    stop_requested_.store(true, std::memory_order_release);
    if (thread_.joinable()) {
        thread_.join();
    }
    running_.store(false, std::memory_order_release);
}

void Shard::QueueSink::publish(const Event* events, std::size_t count) {
    unsigned idle_rounds = 0;
    while (count > 0) {
        const std::size_t pushed = queue_.try_push_batch(events, count);
        events += pushed;
        count -= pushed;
        if (pushed == 0) {
            pause_briefly(idle_rounds);
        }
    }
}

void Shard::run() {
    std::array<Command, 64> batch;
    unsigned idle_rounds = 0;
    for (;;) {
        // Read the stop flag before polling: a command submitted before stop() was
        // called is then certain to be seen by the poll that follows.
        const bool stopping = stop_requested_.load(std::memory_order_acquire);
        const std::size_t n = commands_.pop_batch(batch.data(), batch.size());
        if (n == 0) {
            if (stopping && commands_.size_approx() == 0) {
                return;
            }
            pause_briefly(idle_rounds);
            continue;
        }
        idle_rounds = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (observer_ != nullptr) {
                observer_->on_sequenced(batch[i]);
            }
            engine_.apply(batch[i]);
        }
    }
}

}  // namespace cpx::matching
