#pragma once
// One order-entry stream (OrderEntry.Trade). Its gRPC side reads client messages and
// submits their commands; its dispatcher side gathers the account's reports into
// messages and writes them. It ends by logging off through the exchange, so that
// cancel-on-disconnect happens in sequence and nothing names the stream after it is
// gone.

#include <atomic>
#include <cstdint>

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <memory>

#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/gateway/write_ring.hpp"

namespace cpx::gateway {

class TradeStream final
    : public grpc::ServerBidiReactor<cpx::v1::ClientMessage, cpx::v1::ServerMessage>,
      public SessionStream {
  public:
    TradeStream(GatewayContext& gateway, grpc::CallbackServerContext* context);

    // gRPC threads.
    void OnReadDone(bool ok) override;
    void OnWriteDone(bool ok) override;
    void OnDone() override;

    // Dispatcher thread.
    void on_reply(const exchange::Outbound& reply) override;
    void on_report(const exchange::Outbound& header, const exchange::Outbound* fills,
                   std::size_t fill_count) override;
    exchange::AccountId account() const override { return account_; }
    void flush() override;
    void on_timer(std::int64_t now_ns) override;

  private:
    enum class Phase : std::uint8_t { AwaitingLogon, LoggingOn, Active };

    // OnReadDone's work; true when the next read should start.
    bool handle_read(bool ok);
    void on_logon(const cpx::v1::Logon& logon);
    void on_batch(const cpx::v1::CommandBatch& batch);
    // Logs off, then finishes with this status; the first call wins. The dispatcher
    // thread says so, because it must not wait for room in the request queue.
    void begin_close(const grpc::Status& status, bool on_dispatcher = false);
    // Submits the logoff, once.
    void send_logoff(bool on_dispatcher);
    static std::int64_t now_ns();

    GatewayContext& gateway_;
    grpc::CallbackServerContext* context_;
    // Client messages are parsed into an arena that is emptied before each read: a batch
    // of commands costs no malloc per command, and the arena's first block, allocated
    // once, holds a typical batch whole.
    void start_read();
    std::unique_ptr<char[]> arena_block_;
    google::protobuf::Arena arena_;
    cpx::v1::ClientMessage* in_ = nullptr;
    WriteRing<cpx::v1::ServerMessage> ring_;
    std::atomic<Phase> phase_{Phase::AwaitingLogon};
    std::atomic<bool> close_claimed_{false};  // the first begin_close takes it
    std::atomic<bool> closing_{false};        // set once close_status_ is written
    // OnReadDones running: the logon's answer may start the next read before the
    // logon's own OnReadDone has returned.
    std::atomic<int> reads_running_{0};
    std::atomic<bool> logoff_sent_{false};
    std::atomic<std::int64_t> last_read_ns_;
    std::atomic<exchange::SessionId> session_{0};
    grpc::Status close_status_;  // written once, by whoever claims the close
    // Dispatcher thread only.
    exchange::AccountId account_ = 0;
    std::uint32_t heartbeat_interval_ms_ = 0;
    std::int64_t last_write_ns_ = 0;
    bool registered_ = false;
};

}  // namespace cpx::gateway
