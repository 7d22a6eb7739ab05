#pragma once

// One connection of the load generator: a gRPC channel (its own TCP connection), a
// completion queue and the thread that serves it. The connection carries one or more
// sessions, each an account: a Trade stream per session, or unary calls that go round
// the sessions in turn.
//
// It uses gRPC's completion-queue API rather than the callback API: the thread that
// waits on the queue handles every answer itself and sends the next command at once,
// with no hand-over to gRPC's own threads, which keeps the load generator's share of
// the two cores small. The callback API is the server's business, not the client's.
//
// Everything a session holds is guarded by the connection's mutex: the queue thread
// takes it for each completion, and the pacer of latency mode takes it to offer an
// order. Only one write is ever in flight per stream, as gRPC requires; commands
// generated meanwhile wait in the session's outbox.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cpx/v1/orders.grpc.pb.h"
#include "options.hpp"
#include "setup.hpp"
#include "tally.hpp"
#include "workload.hpp"

namespace cpx::load {

// The run's time line on steady_clock, shared by every connection. Set once, before
// the first command.
struct RunClock {
    std::atomic<std::int64_t> measure_start_ns{std::numeric_limits<std::int64_t>::max()};
    std::atomic<std::int64_t> end_ns{std::numeric_limits<std::int64_t>::max()};

    bool counted(std::int64_t t_ns) const {
        return t_ns >= measure_start_ns.load(std::memory_order_relaxed) &&
               t_ns < end_ns.load(std::memory_order_relaxed);
    }
    bool before_end(std::int64_t t_ns) const {
        return t_ns < end_ns.load(std::memory_order_relaxed);
    }
};

std::int64_t steady_now_ns();

struct SessionSpec {
    std::string prefix;  // of its client order ids
    LoadAccount account;
    std::uint64_t seed = 0;
};

struct ConnectionConfig {
    int index = 0;
    std::string target;
    Transport transport = Transport::Stream;
    bool closed_loop = true;
    // Unary: calls kept outstanding. Stream: commands in flight per session.
    std::uint32_t window = 32;
    std::uint32_t batch = 1;  // commands per stream message at most
    std::int64_t drain_timeout_ms = 5'000;
};

class Connection {
  public:
    Connection(ConnectionConfig config, const Market& market, const RunClock& clock,
               std::vector<SessionSpec> sessions);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Waits for the TCP connection; false if it is not up by the deadline.
    bool connect(std::chrono::system_clock::time_point deadline);
    // Starts the thread and, for streams, opens them and logs on.
    void start();
    // Waits until every stream has logged on or failed. Returns an error message, empty
    // when all logged on.
    std::string wait_ready(std::chrono::steady_clock::time_point deadline);
    // Closed loop: fills every window; from then on each answer brings the next command
    // until the clock's end.
    void kick_off();
    // Open loop: offers one new order (and a cancel, when one is due) on a session, as
    // scheduled at scheduled_ns.
    void offer(std::size_t session, std::int64_t scheduled_ns);
    // No more commands: the connection drains its answers, closes its streams and its
    // thread ends. With cancel_now it cancels what is outstanding instead of waiting.
    void close(bool cancel_now);
    void join();

    std::size_t session_count() const { return sessions_.size(); }
    // Read after join().
    const Tally& tally() const { return tally_; }

  private:
    enum class TagKind : std::uint8_t {
        StreamStart,
        StreamRead,
        StreamWrite,
        StreamWritesDone,
        StreamFinish,
        Unary
    };
    struct Tag {
        TagKind kind;
        std::uint32_t index;  // of the session, or of the unary call
    };
    struct Session;
    struct UnaryCall;
    // A command waiting for the stream's write slot.
    struct Outgoing {
        Command command;
        bool counted;  // offered inside the measured window
    };

    void run();
    void dispatch(const Tag& tag, bool ok, std::int64_t now_ns);
    // Returns true once everything is finished and the queue may shut down.
    bool housekeeping(std::int64_t now_ns);
    void cancel_everything();

    void open_stream(Session& s);
    void on_stream_start(Session& s, bool ok, std::int64_t now_ns);
    void start_read(Session& s);
    void on_stream_read(Session& s, bool ok, std::int64_t now_ns);
    void on_stream_write(Session& s, bool ok, std::int64_t now_ns);
    void on_stream_finish(Session& s);
    void refill(Session& s, std::int64_t now_ns);
    void enqueue(Session& s, const Command& command, std::int64_t start_ns);
    void flush(Session& s, std::int64_t now_ns);
    void start_write(Session& s, std::int64_t now_ns);
    void maybe_close_stream(Session& s);
    void maybe_finish_stream(Session& s);
    void mark_ready(Session& s, const std::string& error);
    void handle_report(Session& s, const cpx::v1::ExecutionReport& report, std::int64_t now_ns);

    void launch_unary(std::int64_t now_ns);
    void launch_unary_command(std::uint32_t session, const Command& command, std::int64_t start_ns);
    void on_unary_done(UnaryCall& call, std::int64_t now_ns);

    // Books the answer to a command: counts, latency, rejects, resting orders.
    void acknowledge(Workload& workload, std::uint64_t seq, const PendingCommand& pending,
                     const cpx::v1::ExecutionReport* report, const std::string& refusal,
                     std::int64_t now_ns);
    void count_sent(const PendingCommand& pending);
    void count_error(const std::string& kind);

    ConnectionConfig config_;
    std::uint32_t instrument_id_;
    const RunClock& clock_;
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<cpx::v1::OrderEntry::Stub> stub_;
    grpc::CompletionQueue cq_;
    std::thread thread_;

    std::mutex mutex_;
    std::vector<std::unique_ptr<Session>> sessions_;
    std::vector<std::unique_ptr<UnaryCall>> calls_;
    std::vector<UnaryCall*> idle_calls_;
    std::uint32_t calls_busy_ = 0;
    std::uint32_t next_unary_session_ = 0;
    bool kicked_off_ = false;
    bool closed_ = false;
    bool cancel_requested_ = false;
    bool cancelled_ = false;
    Tally tally_;

    std::condition_variable ready_cv_;
    std::uint32_t ready_sessions_ = 0;
    std::string ready_error_;
};

}  // namespace cpx::load
