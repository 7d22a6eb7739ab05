#pragma once
// The regulators' real-time streams (Audit.DropCopy and Audit.Alerts): the ledger
// projector hands the hub what each batch committed, on its writer thread, and the hub
// hands it to every subscribed stream. The projector must never wait for a subscriber,
// so a stream only copies the batch into its own bounded queue there, and a stream whose
// queue is full is ended (RESOURCE_EXHAUSTED SLOW_CONSUMER) rather than waited for.

#include <cstddef>
#include <mutex>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

namespace cpx::projector {
struct CommittedBatch;
}

namespace cpx::gateway {

// A subscribed stream, as the hub sees it. Both calls come with the hub's lock held, so
// a subscriber must not call back into the hub from them.
class RegulatorSubscriber {
  public:
    // The projector's writer thread: queues what the stream carries of the batch.
    virtual void offer(const projector::CommittedBatch& batch) = 0;
    // Ends the stream with this status and machine-readable reason.
    virtual void end(const grpc::Status& status, std::string_view reason) = 0;

  protected:
    ~RegulatorSubscriber() = default;
};

class RegulatorHub {
  public:
    // False once the hub is closed: the stream then ends itself.
    bool add(RegulatorSubscriber* subscriber);
    // After remove() returns, the hub no longer calls the subscriber.
    void remove(RegulatorSubscriber* subscriber);
    // The projector's writer thread, right after a batch committed.
    void publish(const projector::CommittedBatch& batch);
    // Ends every stream (UNAVAILABLE SHUTTING_DOWN) and refuses later subscriptions; for
    // the server's shutdown, before gRPC waits for its calls.
    void close();
    std::size_t subscribers() const;

  private:
    mutable std::mutex mutex_;
    std::vector<RegulatorSubscriber*> subscribers_;
    bool closed_ = false;
};

}  // namespace cpx::gateway
