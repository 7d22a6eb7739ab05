#include "raw_service.hpp"

#include <chrono>
#include <deque>
#include <mutex>
#include <utility>

namespace cpx::load {

namespace {

using cpx::v1::ClientMessage;
using cpx::v1::ExecutionReport;
using cpx::v1::ServerMessage;

// Order and trade ids shared by every call and stream, so the numbers look like an
// exchange's rather than restarting on every stream.
std::atomic<std::uint64_t> g_next_order_id{1};
std::atomic<std::uint64_t> g_next_trade_id{1};
std::atomic<std::uint64_t> g_next_unary_seq{1};
std::atomic<std::uint64_t> g_next_session_id{1};

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

grpc::ServerUnaryReactor* finish_ok(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
}

// Every other order "trades" in full against an imaginary resting order, so the
// answers carry a fill as often as a busy market's would and the client sees both
// resting and filled orders.
void answer_new_order(const cpx::v1::NewOrder& order, std::uint64_t session_seq,
                      ExecutionReport& report) {
    const std::uint64_t order_id = g_next_order_id.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t ts_ns = wall_clock_ns();
    const bool trades = order_id % 2 == 1;
    report.set_session_seq(session_seq);
    report.set_client_order_id(order.client_order_id());
    report.set_order_id(order_id);
    report.set_instrument_id(order.instrument_id());
    report.set_side(order.side());
    report.set_exec_type(cpx::v1::EXEC_TYPE_NEW);
    report.set_price_fen(order.price_fen());
    report.set_quantity(order.quantity());
    report.set_ts_ns(ts_ns);
    if (trades) {
        report.set_status(cpx::v1::ORDER_STATUS_FILLED);
        report.set_leaves_quantity(0);
        report.set_filled_quantity(order.quantity());
        cpx::v1::Fill* fill = report.add_fills();
        fill->set_trade_id(g_next_trade_id.fetch_add(1, std::memory_order_relaxed));
        fill->set_price_fen(order.price_fen());
        fill->set_quantity(order.quantity());
        fill->set_aggressor(true);
        fill->set_ts_ns(ts_ns);
    } else {
        report.set_status(cpx::v1::ORDER_STATUS_NEW);
        report.set_leaves_quantity(order.quantity());
        report.set_filled_quantity(0);
    }
}

// A cancel always succeeds. The raw server does not remember orders, so the price and
// quantity are made up, but they are there so the report is as large as cpxd's.
void answer_cancel(const cpx::v1::CancelRequest& cancel, std::uint64_t session_seq,
                   ExecutionReport& report) {
    report.set_session_seq(session_seq);
    report.set_client_order_id(cancel.client_order_id());
    report.set_order_id(cancel.order_id());
    report.set_instrument_id(cancel.instrument_id());
    report.set_side(cpx::v1::SIDE_BUY);
    report.set_exec_type(cpx::v1::EXEC_TYPE_CANCELLED);
    report.set_status(cpx::v1::ORDER_STATUS_CANCELLED);
    report.set_price_fen(100'000);
    report.set_quantity(1);
    report.set_leaves_quantity(0);
    report.set_filled_quantity(0);
    report.set_ts_ns(wall_clock_ns());
}

void answer_replace(const cpx::v1::ReplaceRequest& replace, std::uint64_t session_seq,
                    ExecutionReport& report) {
    report.set_session_seq(session_seq);
    report.set_client_order_id(replace.client_order_id());
    report.set_order_id(replace.order_id());
    report.set_instrument_id(replace.instrument_id());
    report.set_side(cpx::v1::SIDE_BUY);
    report.set_exec_type(cpx::v1::EXEC_TYPE_REPLACED);
    report.set_status(cpx::v1::ORDER_STATUS_NEW);
    report.set_price_fen(replace.price_fen());
    report.set_quantity(replace.quantity());
    report.set_leaves_quantity(replace.quantity());
    report.set_ts_ns(wall_clock_ns());
}

// One Trade stream. The callback API allows one write in flight per stream, and a
// client may send its next batch before the report of the previous one has been
// written, so answers wait in a queue; OnWriteDone starts the next. OnReadDone and
// OnWriteDone can run at the same time on different threads, hence the mutex.
class TradeReactor final : public grpc::ServerBidiReactor<ClientMessage, ServerMessage> {
  public:
    explicit TradeReactor(RawStats& stats) : stats_(stats) {
        stats_.streams_opened.fetch_add(1, std::memory_order_relaxed);
        StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
        if (!ok) {
            // The client half-closed or the call ended: answer what is queued, then
            // finish.
            std::lock_guard lock(mutex_);
            reads_done_ = true;
            finish_if_idle();
            return;
        }
        stats_.stream_messages.fetch_add(1, std::memory_order_relaxed);
        ServerMessage answer;
        const bool answers = build_answer(answer);
        {
            std::lock_guard lock(mutex_);
            if (answers && !write_failed_) {
                pending_.push_back(std::move(answer));
                if (!writing_) {
                    writing_ = true;
                    StartWrite(&pending_.front());
                }
            }
        }
        StartRead(&request_);
    }

    void OnWriteDone(bool ok) override {
        std::lock_guard lock(mutex_);
        // The message written stays at the front until now because StartWrite keeps a
        // pointer to it; a deque keeps the other elements in place as it grows.
        pending_.pop_front();
        if (!ok) {
            write_failed_ = true;
            pending_.clear();
        }
        if (!pending_.empty()) {
            StartWrite(&pending_.front());
            return;
        }
        writing_ = false;
        finish_if_idle();
    }

    void OnDone() override {
        stats_.streams_closed.fetch_add(1, std::memory_order_relaxed);
        delete this;
    }

  private:
    // Fills answer for request_; false when the message needs none (a heartbeat).
    bool build_answer(ServerMessage& answer) {
        switch (request_.message_case()) {
            case ClientMessage::kLogon: {
                cpx::v1::LogonAck* ack = answer.mutable_logon_ack();
                ack->set_account_id(1);
                ack->set_session_id(g_next_session_id.fetch_add(1, std::memory_order_relaxed));
                ack->set_last_seq(0);
                ack->set_heartbeat_interval_ms(30'000);
                return true;
            }
            case ClientMessage::kBatch: {
                cpx::v1::ReportBatch* reports = answer.mutable_reports();
                for (const cpx::v1::OrderCommand& command : request_.batch().commands()) {
                    add_report(command, *reports);
                }
                return true;
            }
            default:
                return false;
        }
    }

    void add_report(const cpx::v1::OrderCommand& command, cpx::v1::ReportBatch& reports) {
        switch (command.command_case()) {
            case cpx::v1::OrderCommand::kNewOrder:
                stats_.new_orders.fetch_add(1, std::memory_order_relaxed);
                answer_new_order(command.new_order(), next_seq_++, *reports.add_reports());
                return;
            case cpx::v1::OrderCommand::kCancel:
                stats_.cancels.fetch_add(1, std::memory_order_relaxed);
                answer_cancel(command.cancel(), next_seq_++, *reports.add_reports());
                return;
            case cpx::v1::OrderCommand::kReplace:
                answer_replace(command.replace(), next_seq_++, *reports.add_reports());
                return;
            case cpx::v1::OrderCommand::kMassCancel: {
                cpx::v1::MassCancelReport* report = reports.add_mass_cancels();
                report->set_session_seq(next_seq_++);
                report->set_client_order_id(command.mass_cancel().client_order_id());
                report->set_instrument_id(command.mass_cancel().instrument_id());
                return;
            }
            default: {
                // An empty command still gets its one answer, as a rejection.
                ExecutionReport* report = reports.add_reports();
                report->set_session_seq(next_seq_++);
                report->set_exec_type(cpx::v1::EXEC_TYPE_REJECTED);
                report->set_status(cpx::v1::ORDER_STATUS_REJECTED);
                report->set_reason("EMPTY_COMMAND");
                report->set_status_code(static_cast<std::int32_t>(grpc::INVALID_ARGUMENT));
                return;
            }
        }
    }

    // Called with mutex_ held. Finish may come only once, after the last read and
    // write, and nothing may be started after it.
    void finish_if_idle() {
        if (reads_done_ && !writing_ && !finished_) {
            finished_ = true;
            Finish(grpc::Status::OK);
        }
    }

    RawStats& stats_;
    // Only the reading side touches request_ and next_seq_: one read is in flight at a
    // time and the next starts after the previous one has been answered.
    ClientMessage request_;
    std::uint64_t next_seq_ = 1;
    std::mutex mutex_;
    std::deque<ServerMessage> pending_;
    bool writing_ = false;
    bool reads_done_ = false;
    bool write_failed_ = false;
    bool finished_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* RawOrderEntryService::PlaceOrder(grpc::CallbackServerContext* context,
                                                           const cpx::v1::NewOrder* request,
                                                           ExecutionReport* response) {
    stats_.unary_calls.fetch_add(1, std::memory_order_relaxed);
    stats_.new_orders.fetch_add(1, std::memory_order_relaxed);
    answer_new_order(*request, g_next_unary_seq.fetch_add(1, std::memory_order_relaxed), *response);
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawOrderEntryService::CancelOrder(grpc::CallbackServerContext* context,
                                                            const cpx::v1::CancelRequest* request,
                                                            ExecutionReport* response) {
    stats_.unary_calls.fetch_add(1, std::memory_order_relaxed);
    stats_.cancels.fetch_add(1, std::memory_order_relaxed);
    answer_cancel(*request, g_next_unary_seq.fetch_add(1, std::memory_order_relaxed), *response);
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawOrderEntryService::ReplaceOrder(grpc::CallbackServerContext* context,
                                                             const cpx::v1::ReplaceRequest* request,
                                                             ExecutionReport* response) {
    stats_.unary_calls.fetch_add(1, std::memory_order_relaxed);
    answer_replace(*request, g_next_unary_seq.fetch_add(1, std::memory_order_relaxed), *response);
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawOrderEntryService::MassCancel(
    grpc::CallbackServerContext* context, const cpx::v1::MassCancelRequest* request,
    cpx::v1::MassCancelReport* response) {
    stats_.unary_calls.fetch_add(1, std::memory_order_relaxed);
    response->set_session_seq(g_next_unary_seq.fetch_add(1, std::memory_order_relaxed));
    response->set_client_order_id(request->client_order_id());
    response->set_instrument_id(request->instrument_id());
    return finish_ok(context);
}

grpc::ServerBidiReactor<ClientMessage, ServerMessage>* RawOrderEntryService::Trade(
    grpc::CallbackServerContext* /*context*/) {
    return new TradeReactor(stats_);
}

grpc::ServerUnaryReactor* RawAdminService::AddInstrument(
    grpc::CallbackServerContext* context, const cpx::v1::AddInstrumentRequest* request,
    cpx::v1::Instrument* response) {
    *response = request->instrument();
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAdminService::SetTradingState(
    grpc::CallbackServerContext* context, const cpx::v1::SetTradingStateRequest* request,
    cpx::v1::Instrument* response) {
    response->set_instrument_id(request->instrument_id());
    response->set_state(cpx::v1::TRADING_STATE_CONTINUOUS);
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAdminService::CreateAccount(
    grpc::CallbackServerContext* context, const cpx::v1::CreateAccountRequest* request,
    cpx::v1::Account* response) {
    *response = request->account();
    response->set_account_id(next_account_id_.fetch_add(1, std::memory_order_relaxed));
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAdminService::CreateApiKey(grpc::CallbackServerContext* context,
                                                        const cpx::v1::CreateApiKeyRequest* request,
                                                        cpx::v1::CreateApiKeyResponse* response) {
    response->set_account_id(request->account_id());
    response->set_api_key("raw-key-" + std::to_string(request->account_id()));
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAdminService::CreditDeposit(
    grpc::CallbackServerContext* context, const cpx::v1::CreditDepositRequest* request,
    cpx::v1::CreditDepositResponse* response) {
    response->set_account_id(request->account_id());
    response->set_balance_fen(request->amount_fen());
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAdminService::SetAcceleratorTable(
    grpc::CallbackServerContext* context, const cpx::v1::SetAcceleratorTableRequest* request,
    cpx::v1::AcceleratorTable* response) {
    response->set_version(1);
    *response->mutable_models() = request->models();
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAdminService::RegisterCapacity(
    grpc::CallbackServerContext* context, const cpx::v1::RegisterCapacityRequest* request,
    cpx::v1::RegisterCapacityResponse* response) {
    response->set_account_id(request->account_id());
    response->set_registered_units(request->token_bundles());
    response->set_total_units(request->token_bundles());
    response->set_table_version(1);
    return finish_ok(context);
}

grpc::ServerUnaryReactor* RawAccountQueryService::ListInstruments(
    grpc::CallbackServerContext* context, const cpx::v1::ListInstrumentsRequest* /*request*/,
    cpx::v1::ListInstrumentsResponse* /*response*/) {
    return finish_ok(context);
}

RawServer::~RawServer() {
    shutdown();
}

bool RawServer::start(const std::string& address) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
    // gRPC sets SO_REUSEPORT by default, which would let a forgotten server on the same
    // port silently take half of the connections; refuse to share the port instead.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(64 << 20);
    builder.RegisterService(&order_entry_);
    builder.RegisterService(&admin_);
    builder.RegisterService(&account_query_);
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
        server_.reset();
        port_ = 0;
        error_ = "cannot listen on " + address;
        return false;
    }
    return true;
}

void RawServer::shutdown() {
    if (server_) {
        // Calls still open after a moment (a client that never closes its stream) are
        // cancelled rather than waited for.
        server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        server_->Wait();
        server_.reset();
    }
}

}  // namespace cpx::load
