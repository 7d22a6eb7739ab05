#include "connection.hpp"

#include <algorithm>
#include <utility>

#include "channel.hpp"
#include "status_text.hpp"

namespace cpx::load {

namespace {

using cpx::v1::ClientMessage;
using cpx::v1::ExecutionReport;
using cpx::v1::ServerMessage;

// How long the queue thread waits for a completion before it looks at the clock: the
// end of the run and heartbeats need no finer resolution.
constexpr std::chrono::milliseconds kPollInterval{10};

void fill_new_order(const Workload& workload, const Command& command, std::uint32_t instrument_id,
                    cpx::v1::NewOrder& order) {
    workload.client_order_id(command.seq, *order.mutable_client_order_id());
    order.set_instrument_id(instrument_id);
    order.set_side(command.side);
    order.set_order_type(cpx::v1::ORDER_TYPE_LIMIT);
    order.set_time_in_force(cpx::v1::TIME_IN_FORCE_GTC);
    order.set_price_fen(command.price_fen);
    order.set_quantity(command.quantity);
}

void fill_cancel(const Workload& workload, const Command& command, std::uint32_t instrument_id,
                 cpx::v1::CancelRequest& cancel) {
    workload.client_order_id(command.seq, *cancel.mutable_client_order_id());
    cancel.set_instrument_id(instrument_id);
    cancel.set_order_id(command.target_order_id);
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    return a > std::numeric_limits<std::int64_t>::max() - b
               ? std::numeric_limits<std::int64_t>::max()
               : a + b;
}

}  // namespace

std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Each read parses into a message on an arena that the next read resets: a message of a
// hundred reports would otherwise allocate and free each report and its strings, and
// the generator shares the machine with the server it measures.
constexpr std::size_t kReadArenaBytes = 256 * 1024;

google::protobuf::ArenaOptions read_arena_options(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kReadArenaBytes;
    return options;
}

struct Connection::Session {
    Session(std::uint32_t index, const SessionSpec& spec, const Market& market)
        : api_key(spec.account.api_key),
          workload(spec.prefix, market, spec.account.side, spec.seed),
          read_arena_block(new char[kReadArenaBytes]),
          read_arena(read_arena_options(read_arena_block.get())),
          tag_start{TagKind::StreamStart, index},
          tag_read{TagKind::StreamRead, index},
          tag_write{TagKind::StreamWrite, index},
          tag_writes_done{TagKind::StreamWritesDone, index},
          tag_finish{TagKind::StreamFinish, index} {}

    std::string api_key;
    Workload workload;
    InFlight inflight;            // sent or waiting in the outbox, not yet answered
    std::deque<Outgoing> outbox;  // generated while a write was in flight

    // The context outlives the stream, which lives in the call it owns.
    std::optional<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientAsyncReaderWriter<ClientMessage, ServerMessage>> stream;
    ClientMessage write_message;
    std::unique_ptr<char[]> read_arena_block;
    google::protobuf::Arena read_arena;
    ServerMessage* read_message = nullptr;  // on read_arena
    grpc::Status finish_status;

    Tag tag_start;
    Tag tag_read;
    Tag tag_write;
    Tag tag_writes_done;
    Tag tag_finish;

    bool opened = false;
    bool logged_on = false;
    bool ready_marked = false;
    bool writing = false;  // a Write or WritesDone is in flight
    bool write_failed = false;
    bool writes_done_sent = false;
    bool read_closed = false;
    bool finish_called = false;
    bool finished = false;
    std::int64_t last_write_ns = 0;
    std::int64_t heartbeat_ns = 0;  // the server's heartbeat interval, 0 for none
};

struct Connection::UnaryCall {
    explicit UnaryCall(std::uint32_t index) : tag{TagKind::Unary, index} {}

    Tag tag;
    std::uint32_t session = 0;
    std::uint64_t seq = 0;
    PendingCommand pending;
    // Engaged while the call is in flight; a context serves one call only.
    std::optional<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientAsyncResponseReader<ExecutionReport>> reader;
    cpx::v1::NewOrder new_order;
    cpx::v1::CancelRequest cancel;
    ExecutionReport report;
    grpc::Status status;
};

Connection::Connection(ConnectionConfig config, const Market& market, const RunClock& clock,
                       std::vector<SessionSpec> sessions)
    : config_(std::move(config)),
      instrument_id_(market.instrument_id),
      clock_(clock),
      channel_(make_channel(config_.target, config_.index)),
      stub_(cpx::v1::OrderEntry::NewStub(channel_)) {
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        sessions_.push_back(
            std::make_unique<Session>(static_cast<std::uint32_t>(i), sessions[i], market));
    }
}

Connection::~Connection() {
    if (thread_.joinable()) {
        close(true);
        join();
    } else {
        // Nothing was ever started on the queue; it only needs shutting down.
        cq_.Shutdown();
        void* tag = nullptr;
        bool ok = false;
        while (cq_.Next(&tag, &ok)) {
        }
    }
}

bool Connection::connect(std::chrono::system_clock::time_point deadline) {
    return channel_->WaitForConnected(deadline);
}

void Connection::start() {
    std::lock_guard lock(mutex_);
    if (config_.transport == Transport::Stream) {
        for (const auto& session : sessions_) {
            open_stream(*session);
        }
    }
    thread_ = std::thread(&Connection::run, this);
}

std::string Connection::wait_ready(std::chrono::steady_clock::time_point deadline) {
    if (config_.transport != Transport::Stream) {
        return {};
    }
    std::unique_lock lock(mutex_);
    const bool all = ready_cv_.wait_until(lock, deadline,
                                          [this] { return ready_sessions_ == sessions_.size(); });
    if (!all) {
        return "timed out waiting for LogonAck on connection " + std::to_string(config_.index);
    }
    return ready_error_;
}

void Connection::kick_off() {
    std::lock_guard lock(mutex_);
    kicked_off_ = true;
    if (!config_.closed_loop) {
        return;
    }
    const std::int64_t now_ns = steady_now_ns();
    if (config_.transport == Transport::Unary) {
        for (std::uint32_t i = 0; i < config_.window; ++i) {
            launch_unary(now_ns);
        }
        return;
    }
    for (const auto& session : sessions_) {
        refill(*session, now_ns);
    }
}

void Connection::offer(std::size_t session_index, std::int64_t scheduled_ns) {
    std::lock_guard lock(mutex_);
    if (closed_) {
        return;
    }
    const std::int64_t now_ns = steady_now_ns();
    Session& s = *sessions_[session_index];
    const Command order = s.workload.next_order();
    const std::optional<Command> cancel = s.workload.due_cancel();
    if (config_.transport == Transport::Unary) {
        const auto index = static_cast<std::uint32_t>(session_index);
        launch_unary_command(index, order, scheduled_ns);
        if (cancel) {
            launch_unary_command(index, *cancel, scheduled_ns);
        }
        return;
    }
    enqueue(s, order, scheduled_ns);
    if (cancel) {
        enqueue(s, *cancel, scheduled_ns);
    }
    flush(s, now_ns);
}

void Connection::close(bool cancel_now) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (cancel_now) {
        cancel_requested_ = true;
    }
}

void Connection::join() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Connection::run() {
    bool shut_down = false;
    for (;;) {
        void* tag = nullptr;
        bool ok = false;
        const grpc::CompletionQueue::NextStatus status =
            cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + kPollInterval);
        if (status == grpc::CompletionQueue::SHUTDOWN) {
            return;
        }
        std::lock_guard lock(mutex_);
        const std::int64_t now_ns = steady_now_ns();
        if (status == grpc::CompletionQueue::GOT_EVENT) {
            dispatch(*static_cast<const Tag*>(tag), ok, now_ns);
        }
        if (!shut_down && housekeeping(now_ns)) {
            cq_.Shutdown();
            shut_down = true;
        }
    }
}

void Connection::dispatch(const Tag& tag, bool ok, std::int64_t now_ns) {
    if (tag.kind == TagKind::Unary) {
        on_unary_done(*calls_[tag.index], now_ns);
        return;
    }
    Session& s = *sessions_[tag.index];
    switch (tag.kind) {
        case TagKind::StreamStart:
            on_stream_start(s, ok, now_ns);
            return;
        case TagKind::StreamRead:
            on_stream_read(s, ok, now_ns);
            return;
        case TagKind::StreamWrite:
            on_stream_write(s, ok, now_ns);
            return;
        case TagKind::StreamWritesDone:
            s.writing = false;
            maybe_finish_stream(s);
            return;
        case TagKind::StreamFinish:
            on_stream_finish(s);
            return;
        case TagKind::Unary:
            return;
    }
}

bool Connection::housekeeping(std::int64_t now_ns) {
    const std::int64_t drain_deadline_ns = saturating_add(
        clock_.end_ns.load(std::memory_order_relaxed), config_.drain_timeout_ms * 1'000'000);
    if (!cancelled_ && (cancel_requested_ || (closed_ && now_ns >= drain_deadline_ns))) {
        cancel_everything();
    }
    for (const auto& session : sessions_) {
        Session& s = *session;
        // A stream with nothing to say still speaks within the server's heartbeat
        // interval, or the server would take the client for dead.
        if (s.logged_on && s.heartbeat_ns > 0 && !s.writing && !s.write_failed &&
            !s.writes_done_sent && !s.read_closed && s.outbox.empty() &&
            now_ns - s.last_write_ns >= s.heartbeat_ns / 2) {
            s.write_message.mutable_heartbeat()->set_ts_ns(now_ns);
            start_write(s, now_ns);
        }
    }
    if (!closed_) {
        return false;
    }
    bool finished = calls_busy_ == 0;
    for (const auto& session : sessions_) {
        maybe_close_stream(*session);
        finished = finished && (!session->opened || session->finished);
    }
    return finished;
}

void Connection::cancel_everything() {
    cancelled_ = true;
    for (const auto& call : calls_) {
        if (call->context) {
            call->context->TryCancel();
        }
    }
    for (const auto& session : sessions_) {
        if (session->opened && !session->finished) {
            session->context->TryCancel();
        }
    }
}

void Connection::open_stream(Session& s) {
    s.context.emplace();
    s.context->AddMetadata("x-api-key", s.api_key);
    s.stream = stub_->PrepareAsyncTrade(&*s.context, &cq_);
    s.opened = true;
    s.stream->StartCall(&s.tag_start);
}

void Connection::on_stream_start(Session& s, bool ok, std::int64_t now_ns) {
    if (!ok) {
        s.read_closed = true;
        maybe_finish_stream(s);
        return;
    }
    // Cancel on disconnect, so that a run that dies leaves no resting orders behind.
    s.write_message.mutable_logon()->set_cancel_on_disconnect(true);
    start_write(s, now_ns);
    start_read(s);
}

void Connection::start_read(Session& s) {
    s.read_arena.Reset();
    s.read_message = google::protobuf::Arena::CreateMessage<ServerMessage>(&s.read_arena);
    s.stream->Read(s.read_message, &s.tag_read);
}

void Connection::on_stream_read(Session& s, bool ok, std::int64_t now_ns) {
    if (!ok) {
        s.read_closed = true;
        maybe_finish_stream(s);
        return;
    }
    switch (s.read_message->message_case()) {
        case ServerMessage::kLogonAck:
            s.logged_on = true;
            s.heartbeat_ns =
                std::int64_t{s.read_message->logon_ack().heartbeat_interval_ms()} * 1'000'000;
            mark_ready(s, {});
            refill(s, now_ns);
            break;
        case ServerMessage::kReports:
            for (const ExecutionReport& report : s.read_message->reports().reports()) {
                handle_report(s, report, now_ns);
            }
            refill(s, now_ns);
            maybe_close_stream(s);
            break;
        default:
            break;
    }
    start_read(s);
}

void Connection::on_stream_write(Session& s, bool ok, std::int64_t now_ns) {
    s.writing = false;
    if (!ok) {
        // The stream is broken; the pending read fails too and Finish tells why.
        s.write_failed = true;
        maybe_finish_stream(s);
        return;
    }
    flush(s, now_ns);
    maybe_close_stream(s);
    maybe_finish_stream(s);
}

void Connection::on_stream_finish(Session& s) {
    s.finished = true;
    if (!s.finish_status.ok() && !cancelled_) {
        // A stream that ends after the client's half-close with every command answered
        // lost nothing, whatever status the server chose to end it with.
        if (s.writes_done_sent && s.inflight.size() == 0) {
            ++tally_.close_statuses[describe_status(s.finish_status)];
        } else {
            count_error("stream " + describe_status(s.finish_status));
        }
    }
    tally_.lost_commands += s.inflight.size();
    s.inflight.clear();
    s.outbox.clear();
    mark_ready(s, "stream ended before its LogonAck: " + describe_status(s.finish_status));
}

void Connection::refill(Session& s, std::int64_t now_ns) {
    if (config_.closed_loop && kicked_off_ && !closed_ && s.logged_on && !s.write_failed &&
        !s.writes_done_sent) {
        while (s.inflight.size() < config_.window && clock_.before_end(now_ns)) {
            enqueue(s, s.workload.next(), now_ns);
        }
    }
    flush(s, now_ns);
}

void Connection::enqueue(Session& s, const Command& command, std::int64_t start_ns) {
    PendingCommand pending;
    pending.kind = command.kind;
    pending.start_ns = start_ns;
    pending.counted = clock_.counted(start_ns);
    pending.target_seq = command.target_seq;
    s.inflight.add(command.seq, pending);
    s.outbox.push_back({command, pending.counted});
    count_sent(pending);
}

void Connection::flush(Session& s, std::int64_t now_ns) {
    if (s.writing || !s.logged_on || s.write_failed || s.writes_done_sent || s.outbox.empty()) {
        return;
    }
    cpx::v1::CommandBatch* batch = s.write_message.mutable_batch();
    // Clearing keeps the command objects for reuse, so a steady flow allocates nothing.
    batch->clear_commands();
    const std::size_t n = std::min<std::size_t>(s.outbox.size(), config_.batch);
    // A message counts when its first command does, so that with one command per
    // message the counts of messages and commands agree exactly.
    const bool counted = s.outbox.front().counted;
    for (std::size_t i = 0; i < n; ++i) {
        const Command& command = s.outbox.front().command;
        cpx::v1::OrderCommand* out = batch->add_commands();
        if (command.kind == CommandKind::NewOrder) {
            fill_new_order(s.workload, command, instrument_id_, *out->mutable_new_order());
        } else {
            fill_cancel(s.workload, command, instrument_id_, *out->mutable_cancel());
        }
        s.outbox.pop_front();
    }
    if (counted) {
        ++tally_.messages_sent;
    }
    start_write(s, now_ns);
}

void Connection::start_write(Session& s, std::int64_t now_ns) {
    s.writing = true;
    s.last_write_ns = now_ns;
    s.stream->Write(s.write_message, &s.tag_write);
}

void Connection::maybe_close_stream(Session& s) {
    if (closed_ && s.logged_on && !s.read_closed && !s.write_failed && !s.writing &&
        !s.writes_done_sent && s.inflight.size() == 0 && s.outbox.empty()) {
        s.writes_done_sent = true;
        s.writing = true;
        s.stream->WritesDone(&s.tag_writes_done);
    }
}

void Connection::maybe_finish_stream(Session& s) {
    // Finish waits for the write in flight: its completion, failed or not, must come
    // back before the call is torn down.
    if (s.read_closed && !s.writing && !s.finish_called) {
        s.finish_called = true;
        s.stream->Finish(&s.finish_status, &s.tag_finish);
    }
}

void Connection::mark_ready(Session& s, const std::string& error) {
    if (s.ready_marked) {
        return;
    }
    s.ready_marked = true;
    ++ready_sessions_;
    if (!error.empty() && ready_error_.empty()) {
        ready_error_ = error;
    }
    ready_cv_.notify_all();
}

void Connection::handle_report(Session& s, const ExecutionReport& report, std::int64_t now_ns) {
    const cpx::v1::ExecType exec_type = report.exec_type();
    const std::optional<std::uint64_t> seq = s.workload.parse_seq(report.client_order_id());
    std::optional<PendingCommand> pending;
    if (seq) {
        pending = s.inflight.take(*seq, exec_type == cpx::v1::EXEC_TYPE_CANCELLED);
    }
    if (!pending) {
        if (exec_type == cpx::v1::EXEC_TYPE_TRADE || exec_type == cpx::v1::EXEC_TYPE_CANCELLED ||
            exec_type == cpx::v1::EXEC_TYPE_EXPIRED) {
            ++tally_.unsolicited_reports;
            const cpx::v1::OrderStatus status = report.status();
            if (status == cpx::v1::ORDER_STATUS_FILLED ||
                status == cpx::v1::ORDER_STATUS_CANCELLED ||
                status == cpx::v1::ORDER_STATUS_EXPIRED) {
                s.workload.on_order_gone(report.order_id());
            }
        } else {
            ++tally_.unmatched_reports;
        }
        return;
    }
    acknowledge(s.workload, *seq, *pending, &report, {}, now_ns);
}

void Connection::launch_unary(std::int64_t now_ns) {
    const std::uint32_t session = next_unary_session_;
    next_unary_session_ = (next_unary_session_ + 1) % static_cast<std::uint32_t>(sessions_.size());
    launch_unary_command(session, sessions_[session]->workload.next(), now_ns);
}

void Connection::launch_unary_command(std::uint32_t session, const Command& command,
                                      std::int64_t start_ns) {
    UnaryCall* call = nullptr;
    if (idle_calls_.empty()) {
        calls_.push_back(std::make_unique<UnaryCall>(static_cast<std::uint32_t>(calls_.size())));
        call = calls_.back().get();
    } else {
        call = idle_calls_.back();
        idle_calls_.pop_back();
    }
    Session& s = *sessions_[session];
    call->session = session;
    call->seq = command.seq;
    call->pending.kind = command.kind;
    call->pending.start_ns = start_ns;
    call->pending.counted = clock_.counted(start_ns);
    call->pending.target_seq = command.target_seq;
    call->report.Clear();
    call->context.emplace();
    call->context->AddMetadata("x-api-key", s.api_key);
    if (command.kind == CommandKind::NewOrder) {
        fill_new_order(s.workload, command, instrument_id_, call->new_order);
        call->reader = stub_->PrepareAsyncPlaceOrder(&*call->context, call->new_order, &cq_);
    } else {
        fill_cancel(s.workload, command, instrument_id_, call->cancel);
        call->reader = stub_->PrepareAsyncCancelOrder(&*call->context, call->cancel, &cq_);
    }
    call->reader->StartCall();
    call->reader->Finish(&call->report, &call->status, &call->tag);
    ++calls_busy_;
    count_sent(call->pending);
    if (call->pending.counted) {
        ++tally_.messages_sent;
    }
}

void Connection::on_unary_done(UnaryCall& call, std::int64_t now_ns) {
    --calls_busy_;
    Session& s = *sessions_[call.session];
    if (call.status.ok()) {
        acknowledge(s.workload, call.seq, call.pending, &call.report, {}, now_ns);
    } else if (is_refusal(call.status.error_code())) {
        acknowledge(s.workload, call.seq, call.pending, nullptr, refusal_reason(call.status),
                    now_ns);
    } else if (cancelled_) {
        ++tally_.lost_commands;
    } else {
        count_error("unary " + describe_status(call.status));
    }
    // The reader lives in the call the context owns, so it goes first.
    call.reader.reset();
    call.context.reset();
    idle_calls_.push_back(&call);
    if (config_.closed_loop && kicked_off_ && !closed_ && clock_.before_end(now_ns)) {
        launch_unary(now_ns);
    }
}

void Connection::acknowledge(Workload& workload, std::uint64_t seq, const PendingCommand& pending,
                             const ExecutionReport* report, const std::string& refusal,
                             std::int64_t now_ns) {
    ++tally_.commands_acked_total;
    const bool is_order = pending.kind == CommandKind::NewOrder;
    if (pending.counted) {
        tally_.latency.record(now_ns - pending.start_ns);
        ++(is_order ? tally_.orders_acked : tally_.cancels_acked);
    }
    std::map<std::string, std::uint64_t>& rejects =
        is_order ? tally_.order_rejects : tally_.cancel_rejects;
    if (report == nullptr) {
        ++rejects[refusal];
        return;
    }
    if (report->exec_type() == cpx::v1::EXEC_TYPE_REJECTED) {
        ++rejects[report->reason().empty() ? std::string("REJECTED") : report->reason()];
        return;
    }
    if (is_order) {
        if (pending.counted && report->filled_quantity() > 0) {
            ++tally_.orders_traded;
        }
        workload.on_order_answer(seq, report->order_id(), report->status(), report->price_fen());
    }
}

void Connection::count_sent(const PendingCommand& pending) {
    ++tally_.commands_sent_total;
    if (pending.counted) {
        ++(pending.kind == CommandKind::NewOrder ? tally_.orders_sent : tally_.cancels_sent);
    }
}

void Connection::count_error(const std::string& kind) {
    ++tally_.errors;
    ++tally_.error_kinds[kind];
}

}  // namespace cpx::load
