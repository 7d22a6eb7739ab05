#include "trade_stream.hpp"

#include <algorithm>

#include "clocks.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/convert.hpp"

namespace cpx::gateway {

using exchange::Outbound;

namespace {

constexpr std::size_t kArenaBlockBytes = 64 * 1024;

google::protobuf::ArenaOptions arena_options(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kArenaBlockBytes;
    return options;
}

}  // namespace

TradeStream::TradeStream(GatewayContext& gateway, grpc::CallbackServerContext* context)
    : gateway_(gateway),
      context_(context),
      arena_block_(new char[kArenaBlockBytes]),
      arena_(arena_options(arena_block_.get())),
      ring_(
          gateway.options.session_write_slots,
          [this](const cpx::v1::ServerMessage* message) { StartWrite(message); },
          [this](const grpc::Status& status) { Finish(status); },
          // Reports are nearly every message: their batch and its reports are kept and
          // refilled, so a busy stream allocates nothing.
          [](cpx::v1::ServerMessage& m) {
              if (m.has_reports()) {
                  m.mutable_reports()->Clear();
              } else {
                  m.Clear();
              }
          }),
      last_read_ns_(now_ns()) {
    start_read();
}

void TradeStream::start_read() {
    // The previous message has been read whole into requests, so its memory goes back.
    arena_.Reset();
    in_ = google::protobuf::Arena::CreateMessage<cpx::v1::ClientMessage>(&arena_);
    StartRead(in_);
}

std::int64_t TradeStream::now_ns() {
    return steady_ns();
}

void TradeStream::OnReadDone(bool ok) {
    // A close decided on the dispatcher thread while this read is handled leaves the
    // logoff to this thread (see begin_close), so that it follows every command this
    // read submits: a command sequenced after the logoff would be answered to a stream
    // that may be gone by then.
    reads_running_.fetch_add(1);
    const bool read_on = !closing_.load() && handle_read(ok);
    reads_running_.fetch_sub(1);
    if (closing_.load()) {
        send_logoff(false);
        return;
    }
    if (read_on) {
        start_read();
    }
}

bool TradeStream::handle_read(bool ok) {
    if (!ok) {
        begin_close(grpc::Status(grpc::StatusCode::CANCELLED, "the client ended the stream"));
        return false;
    }
    last_read_ns_.store(now_ns(), std::memory_order_relaxed);
    const Phase phase = phase_.load(std::memory_order_acquire);
    switch (in_->message_case()) {
        case cpx::v1::ClientMessage::kLogon:
            if (phase != Phase::AwaitingLogon) {
                begin_close(invalid_argument("PROTOCOL_VIOLATION", "a stream logs on once"));
                return false;
            }
            on_logon(in_->logon());
            return false;  // the next read starts when the logon is answered
        case cpx::v1::ClientMessage::kBatch:
            if (phase != Phase::Active) {
                begin_close(
                    invalid_argument("PROTOCOL_VIOLATION", "the first message must be a logon"));
                return false;
            }
            if (static_cast<std::uint32_t>(in_->batch().commands_size()) >
                gateway_.options.batch_commands_max) {
                begin_close(invalid_argument(
                    "BATCH_TOO_LARGE", "a message carries at most " +
                                           std::to_string(gateway_.options.batch_commands_max) +
                                           " commands"));
                return false;
            }
            on_batch(in_->batch());
            break;
        case cpx::v1::ClientMessage::kHeartbeat:
            if (phase != Phase::Active) {
                begin_close(
                    invalid_argument("PROTOCOL_VIOLATION", "the first message must be a logon"));
                return false;
            }
            break;
        case cpx::v1::ClientMessage::MESSAGE_NOT_SET:
            begin_close(invalid_argument("PROTOCOL_VIOLATION", "empty client message"));
            return false;
    }
    return true;
}

void TradeStream::on_logon(const cpx::v1::Logon& logon) {
    const std::optional<exchange::KeyHash> key = caller_key_hash(*context_);
    if (!key) {
        gateway_.metrics.unauthenticated.add();
        begin_close(error_status(exchange::Code::Unauthenticated, "missing x-api-key"));
        return;
    }
    const GatewayOptions& o = gateway_.options;
    heartbeat_interval_ms_ =
        logon.heartbeat_interval_ms() == 0
            ? o.heartbeat_interval_ms_default
            : std::clamp(logon.heartbeat_interval_ms(), o.heartbeat_interval_ms_min,
                         o.heartbeat_interval_ms_max);
    exchange::Request request;
    request.type = exchange::RequestType::Logon;
    request.key_hash = *key;
    request.cancel_on_disconnect = logon.cancel_on_disconnect();
    request.resume_after_seq = logon.resume_after_seq();
    request.token = token_of(this);
    phase_.store(Phase::LoggingOn, std::memory_order_release);
    gateway_.pipeline.submit(request);
}

void TradeStream::on_batch(const cpx::v1::CommandBatch& batch) {
    const exchange::SessionId session = session_.load(std::memory_order_acquire);
    // One receipt time for the message: its commands arrived together.
    const std::int64_t received_ns = wall_clock_ns();
    for (const cpx::v1::OrderCommand& command : batch.commands()) {
        exchange::Request request;
        std::string error;
        bool translated = true;
        switch (command.command_case()) {
            case cpx::v1::OrderCommand::kNewOrder:
                translated = to_request(command.new_order(), request, error);
                break;
            case cpx::v1::OrderCommand::kCancel:
                translated = to_request(command.cancel(), request, error);
                break;
            case cpx::v1::OrderCommand::kReplace:
                translated = to_request(command.replace(), request, error);
                break;
            case cpx::v1::OrderCommand::kMassCancel:
                translated = to_request(command.mass_cancel(), request, error);
                break;
            case cpx::v1::OrderCommand::COMMAND_NOT_SET:
                // Refused by the exchange like any unusable command, in sequence.
                request.type = exchange::RequestType::NewOrder;
                request.side = matching::Side::None;
                break;
        }
        // A command that cannot be carried is still answered in sequence, as a refusal.
        request.client_order_id_too_long = !translated;
        request.session = session;
        request.token = token_of(this);
        request.received_ns = received_ns;
        // A stream is not refused for a full queue: the reading thread waits, and gRPC's
        // flow control slows the client down.
        gateway_.pipeline.submit_quietly(request);
    }
    // One add per message: the counter is shared by every reading thread.
    gateway_.metrics.commands_in.add(static_cast<std::uint64_t>(batch.commands_size()));
    gateway_.pipeline.wake_sequencer();
}

void TradeStream::begin_close(const grpc::Status& status, bool on_dispatcher) {
    if (close_claimed_.exchange(true)) {
        return;
    }
    // Read by the dispatcher thread after the logoff's reply, which the queues order
    // after this write.
    close_status_ = status;
    // Sequentially consistent with OnReadDone's flags: either this thread sees the read
    // in progress and leaves the logoff to it, or the read sees closing_ before it
    // submits anything.
    closing_.store(true);
    if (reads_running_.load() == 0) {
        send_logoff(on_dispatcher);
    }
}

void TradeStream::send_logoff(bool on_dispatcher) {
    if (logoff_sent_.exchange(true)) {
        return;
    }
    exchange::Request request;
    request.type = exchange::RequestType::Logoff;
    request.session = session_.load(std::memory_order_acquire);
    request.token = token_of(this);
    if (on_dispatcher) {
        gateway_.pipeline.submit_from_dispatcher(request);
    } else {
        gateway_.pipeline.submit(request);
    }
}

void TradeStream::on_reply(const Outbound& reply) {
    if (closing_.load(std::memory_order_acquire)) {
        // The logoff is done: nothing will name this stream again.
        if (registered_) {
            gateway_.pipeline.dispatcher().unregister_session(this);
            registered_ = false;
        }
        gateway_.metrics.streams_closed.add();
        ring_.finish(close_status_);
        return;
    }
    if (phase_.load(std::memory_order_acquire) == Phase::LoggingOn) {
        if (reply.code != exchange::Code::None) {
            begin_close(error_status(reply.code, "logon refused"), true);
            return;
        }
        account_ = reply.account;
        session_.store(reply.session, std::memory_order_release);
        gateway_.pipeline.dispatcher().register_session(this);
        registered_ = true;
        cpx::v1::ServerMessage* message = ring_.producing();
        if (message != nullptr) {
            cpx::v1::LogonAck* ack = message->mutable_logon_ack();
            ack->set_account_id(reply.account);
            ack->set_session_id(reply.session);
            ack->set_last_seq(reply.seq);
            ack->set_heartbeat_interval_ms(heartbeat_interval_ms_);
            ring_.publish();
            last_write_ns_ = now_ns();
        }
        phase_.store(Phase::Active, std::memory_order_release);
        start_read();
        return;
    }
    // A refusal the exchange could not sequence as a report; it does not happen to a
    // logged-on stream, and is not worth ending one for.
}

void TradeStream::on_report(const Outbound& header, const Outbound* fills, std::size_t fill_count) {
    if (closing_.load(std::memory_order_acquire)) {
        return;
    }
    cpx::v1::ServerMessage* message = ring_.producing();
    if (message == nullptr) {
        // The client stopped reading. Its reports stay in the exchange's log; it can
        // log on again and resume from its last sequence number.
        begin_close(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "slow consumer: resume from your last session_seq"),
                    true);
        return;
    }
    cpx::v1::ReportBatch* batch = message->mutable_reports();
    if (header.kind == exchange::OutKind::MassCancelDone) {
        to_proto(header, *batch->add_mass_cancels());
    } else {
        to_proto(header, fills, fill_count, *batch->add_reports());
    }
    if (header.exec == exchange::ExecType::Rejected) {
        gateway_.metrics.reject(header.code);
    } else if (header.token == token_of(this)) {
        gateway_.metrics.acknowledgements.add();
    }
    gateway_.pipeline.dispatcher().touch(this);
}

void TradeStream::flush() {
    if (ring_.has_open()) {
        ring_.publish();
        last_write_ns_ = now_ns();
    }
}

void TradeStream::on_timer(std::int64_t now) {
    if (closing_.load(std::memory_order_acquire)) {
        return;
    }
    if (now < 0) {
        begin_close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the exchange is shutting down"),
                    true);
        return;
    }
    const std::int64_t interval_ns = std::int64_t{heartbeat_interval_ms_} * 1'000'000;
    if (now - last_read_ns_.load(std::memory_order_relaxed) > 3 * interval_ns) {
        begin_close(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                 "no message for three heartbeat intervals"),
                    true);
        return;
    }
    if (now - last_write_ns_ >= interval_ns) {
        cpx::v1::ServerMessage* message = ring_.producing();
        const bool empty = message != nullptr && (!message->has_reports() ||
                                                  (message->reports().reports_size() == 0 &&
                                                   message->reports().mass_cancels_size() == 0));
        if (empty) {
            message->mutable_heartbeat()->set_ts_ns(now);
            ring_.publish();
            last_write_ns_ = now;
        }
    }
}

void TradeStream::OnWriteDone(bool /*ok*/) {
    ring_.on_write_done();
}

void TradeStream::OnDone() {
    delete this;
}

}  // namespace cpx::gateway
