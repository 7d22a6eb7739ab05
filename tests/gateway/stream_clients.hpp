#pragma once

// Clients of cpxd's streams for the tests. Each reads on a thread of its own into a
// list the test waits on with a deadline, so a test can write, wait for what it
// expects, and fail (not hang) when it does not come. The call itself has a deadline
// too; destroying a client cancels its call.

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "gateway_fixture.hpp"

namespace cpx::gateway::test {

// One OrderEntry.Trade stream.
class TradeSession {
  public:
    TradeSession(cpx::v1::OrderEntry::Stub& stub, const std::string& key) {
        if (!key.empty()) {
            context_.AddMetadata("x-api-key", key);
        }
        context_.set_deadline(deadline_in(kStreamTimeout));
        stream_ = stub.Trade(&context_);
        reader_ = std::thread([this] { read_all(); });
    }
    ~TradeSession() { cancel(); }
    TradeSession(const TradeSession&) = delete;
    TradeSession& operator=(const TradeSession&) = delete;

    bool send(const cpx::v1::ClientMessage& message) {
        std::lock_guard<std::mutex> lock(write_mutex_);
        return stream_->Write(message);
    }
    bool send_logon(bool cancel_on_disconnect, std::uint32_t heartbeat_ms = 0,
                    std::uint64_t resume_after_seq = 0) {
        cpx::v1::ClientMessage m;
        cpx::v1::Logon* logon = m.mutable_logon();
        logon->set_cancel_on_disconnect(cancel_on_disconnect);
        logon->set_heartbeat_interval_ms(heartbeat_ms);
        logon->set_resume_after_seq(resume_after_seq);
        return send(m);
    }
    // Logs on and waits for the LogonAck.
    std::optional<cpx::v1::LogonAck> logon(bool cancel_on_disconnect,
                                           std::uint32_t heartbeat_ms = 0,
                                           std::uint64_t resume_after_seq = 0) {
        if (!send_logon(cancel_on_disconnect, heartbeat_ms, resume_after_seq)) {
            return std::nullopt;
        }
        return wait_logon_ack();
    }
    bool send_batch(const std::vector<cpx::v1::OrderCommand>& commands) {
        cpx::v1::ClientMessage m;
        for (const cpx::v1::OrderCommand& c : commands) {
            *m.mutable_batch()->add_commands() = c;
        }
        return send(m);
    }
    bool send_heartbeat() {
        cpx::v1::ClientMessage m;
        m.mutable_heartbeat()->set_ts_ns(1);
        return send(m);
    }

    std::optional<cpx::v1::LogonAck> wait_logon_ack(
        std::chrono::milliseconds timeout = kWaitTimeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        const auto found = [this]() -> const cpx::v1::ServerMessage* {
            for (const cpx::v1::ServerMessage& m : messages_) {
                if (m.has_logon_ack()) {
                    return &m;
                }
            }
            return nullptr;
        };
        cv_.wait_for(lock, timeout, [&] { return found() != nullptr || done_; });
        const cpx::v1::ServerMessage* m = found();
        return m == nullptr ? std::nullopt : std::optional(m->logon_ack());
    }

    // Every execution report received so far, in arrival order.
    std::vector<cpx::v1::ExecutionReport> reports() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return reports_locked();
    }
    std::vector<cpx::v1::MassCancelReport> mass_cancels() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<cpx::v1::MassCancelReport> out;
        for (const cpx::v1::ServerMessage& m : messages_) {
            if (m.has_reports()) {
                out.insert(out.end(), m.reports().mass_cancels().begin(),
                           m.reports().mass_cancels().end());
            }
        }
        return out;
    }
    std::size_t heartbeats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::size_t n = 0;
        for (const cpx::v1::ServerMessage& m : messages_) {
            if (m.has_heartbeat()) {
                ++n;
            }
        }
        return n;
    }
    // Waits until at least `count` reports have arrived (or the stream ended) and
    // returns all of them.
    std::vector<cpx::v1::ExecutionReport> wait_reports(
        std::size_t count, std::chrono::milliseconds timeout = kWaitTimeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return reports_locked().size() >= count || done_; });
        return reports_locked();
    }
    std::vector<cpx::v1::MassCancelReport> wait_mass_cancels(
        std::size_t count, std::chrono::milliseconds timeout = kWaitTimeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (true) {
            std::vector<cpx::v1::MassCancelReport> found = mass_cancels();
            if (found.size() >= count || std::chrono::steady_clock::now() >= until || finished()) {
                return found;
            }
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait_for(lock, std::chrono::milliseconds(20));
        }
    }

    bool finished() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return done_;
    }
    // The call's final status once the server has ended it, or nothing if it has not
    // by the deadline.
    std::optional<grpc::Status> wait_finished(std::chrono::milliseconds timeout = kWaitTimeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return done_; });
        return done_ ? std::optional(status_) : std::nullopt;
    }

    // The client goes away: cancels the call and waits for the reader.
    void cancel() {
        context_.TryCancel();
        if (reader_.joinable()) {
            reader_.join();
        }
    }

  private:
    void read_all() {
        cpx::v1::ServerMessage m;
        while (stream_->Read(&m)) {
            std::lock_guard<std::mutex> lock(mutex_);
            messages_.push_back(m);
            cv_.notify_all();
        }
        const grpc::Status status = stream_->Finish();
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = status;
        done_ = true;
        cv_.notify_all();
    }
    std::vector<cpx::v1::ExecutionReport> reports_locked() const {
        std::vector<cpx::v1::ExecutionReport> out;
        for (const cpx::v1::ServerMessage& m : messages_) {
            if (m.has_reports()) {
                out.insert(out.end(), m.reports().reports().begin(), m.reports().reports().end());
            }
        }
        return out;
    }

    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<cpx::v1::ClientMessage, cpx::v1::ServerMessage>>
        stream_;
    std::thread reader_;
    std::mutex write_mutex_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<cpx::v1::ServerMessage> messages_;
    grpc::Status status_;
    bool done_ = false;
};

// One server-streaming call (StreamDepth or StreamTrades), read on a thread.
template <typename Message>
class StreamCollector {
  public:
    using Start = std::function<std::unique_ptr<grpc::ClientReader<Message>>(grpc::ClientContext*)>;

    explicit StreamCollector(const Start& start) {
        context_.set_deadline(deadline_in(kStreamTimeout));
        reader_ = start(&context_);
        thread_ = std::thread([this] { read_all(); });
    }
    ~StreamCollector() {
        context_.TryCancel();
        thread_.join();
    }
    StreamCollector(const StreamCollector&) = delete;
    StreamCollector& operator=(const StreamCollector&) = delete;

    std::vector<Message> messages() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return messages_;
    }
    // Waits until `done(messages)` holds or the stream ends; returns whether it held.
    bool wait_until(const std::function<bool(const std::vector<Message>&)>& done,
                    std::chrono::milliseconds timeout = kWaitTimeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return done(messages_) || finished_; }) &&
               done(messages_);
    }
    bool wait_count(std::size_t count, std::chrono::milliseconds timeout = kWaitTimeout) {
        return wait_until([count](const std::vector<Message>& m) { return m.size() >= count; },
                          timeout);
    }
    std::optional<grpc::Status> wait_finished(std::chrono::milliseconds timeout = kWaitTimeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return finished_; });
        return finished_ ? std::optional(status_) : std::nullopt;
    }

  private:
    void read_all() {
        Message m;
        while (reader_->Read(&m)) {
            std::lock_guard<std::mutex> lock(mutex_);
            messages_.push_back(m);
            cv_.notify_all();
        }
        const grpc::Status status = reader_->Finish();
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = status;
        finished_ = true;
        cv_.notify_all();
    }

    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReader<Message>> reader_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Message> messages_;
    grpc::Status status_;
    bool finished_ = false;
};

inline std::unique_ptr<StreamCollector<cpx::v1::DepthUpdate>> subscribe_depth(
    cpx::v1::MarketData::Stub& stub, std::uint32_t instrument) {
    cpx::v1::DepthRequest request;
    request.set_instrument_id(instrument);
    return std::make_unique<StreamCollector<cpx::v1::DepthUpdate>>(
        [&stub, request](grpc::ClientContext* context) {
            return stub.StreamDepth(context, request);
        });
}

inline std::unique_ptr<StreamCollector<cpx::v1::TradeTick>> subscribe_trades(
    cpx::v1::MarketData::Stub& stub, std::uint32_t instrument) {
    cpx::v1::TradesRequest request;
    request.set_instrument_id(instrument);
    return std::make_unique<StreamCollector<cpx::v1::TradeTick>>(
        [&stub, request](grpc::ClientContext* context) {
            return stub.StreamTrades(context, request);
        });
}

// The book a depth stream describes, after checking that its messages chain: a
// snapshot first, then deltas whose prev_seq is the seq before them.
inline ::testing::AssertionResult replay_depth(const std::vector<cpx::v1::DepthUpdate>& updates,
                                               Depth& depth) {
    if (updates.empty() || !updates.front().snapshot()) {
        return ::testing::AssertionFailure() << "the stream does not start with a snapshot";
    }
    std::uint64_t last = 0;
    for (std::size_t i = 0; i < updates.size(); ++i) {
        const cpx::v1::DepthUpdate& u = updates[i];
        if (i > 0) {
            if (u.snapshot()) {
                return ::testing::AssertionFailure() << "a second snapshot at message " << i;
            }
            if (u.prev_seq() != last || u.seq() <= u.prev_seq()) {
                return ::testing::AssertionFailure()
                       << "message " << i << " has prev_seq " << u.prev_seq() << " seq " << u.seq()
                       << " after seq " << last;
            }
        }
        last = u.seq();
        apply_depth(depth, u);
    }
    return ::testing::AssertionSuccess();
}

}  // namespace cpx::gateway::test
