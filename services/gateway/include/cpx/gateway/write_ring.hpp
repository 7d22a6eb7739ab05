#pragma once
// The outgoing messages of one gRPC stream. gRPC's callback API allows one write in
// flight per stream, and the thread that produces messages (the dispatcher) is not the
// one that learns a write is done (a gRPC thread), so messages wait in a ring of
// reusable slots. Whoever holds the `writing` flag starts the next write; the flag
// passes between the two threads without a lock. Slots are protobuf messages cleared
// and refilled in place, so a stream in steady state allocates nothing.
//
// A slot is a pointer to its message. The producer takes back the messages of completed
// writes onto a stack of its own and fills the next slot from its top: the message
// written last, still in the cache and already grown to the size of this stream's
// messages. The ring's capacity bounds how far the reader may fall behind; in steady
// state only the few messages in flight are touched (cycling through the ring's whole
// span of messages cost a cache miss per field, and kept growing cold ones).
//
// One producer thread calls producing/publish/finish; gRPC calls on_write_done.

#include <atomic>
#include <cassert>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace cpx::gateway {

template <typename Message>
class WriteRing {
  public:
    // start_write(const Message*) and finish(const grpc::Status&) are the reactor's.
    // reset(Message&) empties a slot for reuse; the default, Clear(), keeps the memory of
    // repeated fields, but a message whose content sits in a oneof loses it (protobuf
    // deletes the oneof's submessage), so such a message brings its own.
    template <typename StartWrite, typename Finish>
    WriteRing(
        std::size_t slots, StartWrite start_write, Finish finish,
        std::function<void(Message&)> reset = [](Message& m) { m.Clear(); })
        : messages_(slots),
          slots_(slots, nullptr),
          start_write_(start_write),
          finish_(finish),
          reset_(std::move(reset)) {
        assert(slots > 0);
        free_.reserve(slots);
        for (std::size_t i = slots; i > 0; --i) {
            free_.push_back(&messages_[i - 1]);
        }
    }

    // The message being filled, or nullptr when every slot waits to be written (the
    // reader is too slow).
    Message* producing() {
        if (open_) {
            return slots_[produced_ % slots_.size()];
        }
        const std::size_t written = written_.load(std::memory_order_acquire);
        if (produced_ - written >= slots_.size()) {
            return nullptr;
        }
        // The slots before `written` are done (the acquire above): the gRPC thread will
        // not look at them again, so their messages come back to the stack.
        for (; reclaimed_ < written; ++reclaimed_) {
            free_.push_back(slots_[reclaimed_ % slots_.size()]);
        }
        assert(!free_.empty());
        open_ = true;
        Message* slot = free_.back();
        free_.pop_back();
        slots_[produced_ % slots_.size()] = slot;
        reset_(*slot);
        return slot;
    }
    bool has_open() const { return open_; }

    // Queues the message being filled for writing.
    void publish() {
        if (!open_) {
            return;
        }
        open_ = false;
        produced_ += 1;
        produced_shared_.store(produced_, std::memory_order_release);
        pump();
    }

    // Ends the stream once every queued message is written. Producer thread, once.
    void finish(const grpc::Status& status) {
        publish();
        status_ = status;
        finish_pending_.store(true, std::memory_order_release);
        pump();
    }

    // gRPC thread: the write started last has completed.
    void on_write_done() {
        written_.store(written_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        writing_.store(false, std::memory_order_release);
        pump();
    }

    std::size_t queued() const {
        return produced_shared_.load(std::memory_order_acquire) -
               written_.load(std::memory_order_acquire);
    }

  private:
    // Starts the next write, or the finish, if nobody else is about to. Called by both
    // threads; the exchange on `writing_` elects one.
    void pump() {
        while (true) {
            const std::size_t written = written_.load(std::memory_order_acquire);
            const bool work = written < produced_shared_.load(std::memory_order_acquire) ||
                              finish_pending_.load(std::memory_order_acquire);
            if (!work || finished_.load(std::memory_order_acquire)) {
                return;
            }
            if (writing_.exchange(true, std::memory_order_acq_rel)) {
                return;  // the holder will see our work when it lets go
            }
            // Holding the flag, no write is in flight, so `written` is stable now.
            const std::size_t next = written_.load(std::memory_order_acquire);
            if (next < produced_shared_.load(std::memory_order_acquire)) {
                start_write_(slots_[next % slots_.size()]);
                return;  // on_write_done passes the flag on
            }
            if (finish_pending_.load(std::memory_order_acquire)) {
                finished_.store(true, std::memory_order_release);
                finish_(status_);
                return;  // the flag is never released: nothing follows a finish
            }
            writing_.store(false, std::memory_order_release);
        }
    }

    std::vector<Message> messages_;
    // The message of each slot in [written, produced), which the writes read.
    std::vector<Message*> slots_;
    std::function<void(const Message*)> start_write_;
    std::function<void(const grpc::Status&)> finish_;
    std::function<void(Message&)> reset_;
    // Producer-only.
    std::vector<Message*> free_;  // messages of no slot, the one written last on top
    std::size_t reclaimed_ = 0;   // slots below this have given their message back
    std::size_t produced_ = 0;
    bool open_ = false;
    grpc::Status status_;
    // Shared.
    std::atomic<std::size_t> produced_shared_{0};
    std::atomic<std::size_t> written_{0};
    std::atomic<bool> writing_{false};
    std::atomic<bool> finish_pending_{false};
    std::atomic<bool> finished_{false};
};

}  // namespace cpx::gateway
