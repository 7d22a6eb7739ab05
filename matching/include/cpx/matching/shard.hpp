#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

#include "cpx/matching/command.hpp"
#include "cpx/matching/engine.hpp"
#include "cpx/matching/event.hpp"
#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/matching/spsc_queue.hpp"

namespace cpx::matching {

struct ShardConfig {
    EngineConfig engine;
    std::size_t command_queue_capacity = std::size_t{1} << 16;  // power of two
    std::size_t event_queue_capacity = std::size_t{1} << 18;    // power of two
};

// Sees every command in the order the engine thread applies it, before it is applied:
// the place where a journal records the sequenced input for recovery by replay. Called
// on the engine thread; it must not block for long.
class CommandObserver {
  public:
    virtual ~CommandObserver() = default;
    virtual void on_sequenced(const Command& command) = 0;
};

// One shard of instruments and the single thread that owns its books (the LMAX
// pattern: one writer per book, so the books need no locks). Any thread submits
// commands through a bounded lock-free queue; the engine thread applies them in the
// order it takes them off the queue, and its events go out through a second bounded
// lock-free queue to one consumer thread. When the event queue is full the engine
// thread waits for the consumer: events are never dropped, so a consumer that stops
// polling stops the shard.
class Shard {
  public:
    explicit Shard(const ShardConfig& config, CommandObserver* observer = nullptr);
    ~Shard();
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    // Before start() only.
    Reason add_instrument(const InstrumentSpec& spec);

    void start();
    // Applies every command already submitted, then stops the engine thread. The event
    // consumer must keep polling until stop() returns.
    void stop();

    // Any thread. False when the command queue is full: the caller retries or reports
    // overload (RESOURCE_EXHAUSTED); the command was not taken.
    bool try_submit(const Command& command) { return commands_.try_push(command); }

    // The one event-consumer thread.
    std::size_t poll_events(Event* out, std::size_t max) { return events_.pop_batch(out, max); }

    bool running() const { return running_.load(std::memory_order_acquire); }
    std::size_t command_queue_depth() const { return commands_.size_approx(); }
    std::size_t event_queue_depth() const { return events_.size_approx(); }

    // After stop() only, or before start(): the engine is owned by its thread meanwhile.
    const Engine& engine() const { return engine_; }

  private:
    class QueueSink final : public EventSink {
      public:
        explicit QueueSink(SpscQueue<Event>& queue) : queue_(queue) {}
        void publish(const Event* events, std::size_t count) override;

      private:
        SpscQueue<Event>& queue_;
    };

    void run();

    MpscQueue<Command> commands_;
    SpscQueue<Event> events_;
    QueueSink sink_;
    Engine engine_;
    CommandObserver* observer_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> running_{false};
    std::thread thread_;
};

}  // namespace cpx::matching
