// Unary order entry: one command, one answer.

#include <string>

#include "clocks.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/services.hpp"
#include "trade_stream.hpp"

namespace cpx::gateway {

namespace {

using exchange::Outbound;

// A unary order call waiting for its answer. gRPC's callback API gives each call its
// own reactor object; this one lives until the call is finished.
template <typename Response>
class UnaryOrderCall final : public grpc::ServerUnaryReactor, public Caller {
  public:
    UnaryOrderCall(GatewayContext& gateway, grpc::CallbackServerContext* context,
                   Response* response)
        : gateway_(gateway),
          context_(context),
          response_(response),
          received_ns_(steady_ns()),
          received_wall_ns_(wall_clock_ns()) {}

    // Authenticates, submits, or answers at once when it cannot.
    void start(exchange::Request& request, bool translated, const std::string& error) {
        gateway_.metrics.commands_in.add();
        if (!translated) {
            finish_with(invalid_argument("INVALID_CLIENT_ORDER_ID", error),
                        "INVALID_CLIENT_ORDER_ID");
            return;
        }
        const std::optional<exchange::KeyHash> key = caller_key_hash(*context_);
        if (!key) {
            gateway_.metrics.unauthenticated.add();
            finish_with(error_status(exchange::Code::Unauthenticated, "missing x-api-key"),
                        "UNAUTHENTICATED");
            return;
        }
        request.key_hash = *key;
        request.token = token_of(this);
        request.received_ns = received_wall_ns_;
        if (!gateway_.pipeline.try_submit(request)) {
            gateway_.metrics.queue_full.add();
            finish_with(queue_full(), "QUEUE_FULL");
        }
    }

    void on_reply(const Outbound& reply) override {
        gateway_.metrics.reject(reply.code);
        finish_with(error_status(reply.code, ""), exchange::code_name(reply.code));
    }

    void on_report(const Outbound& header, const Outbound* fills, std::size_t fill_count) override {
        context_->AddTrailingMetadata("cpx-session-seq", std::to_string(header.seq));
        gateway_.metrics.order_latency_ns.observe(steady_ns() - received_ns_);
        if (header.exec == exchange::ExecType::Rejected) {
            gateway_.metrics.reject(header.code);
            finish_with(
                error_status(header.code, std::string(exchange::code_name(header.code)) +
                                              " (client_order_id " +
                                              std::string(header.client_order_id.view()) + ")"),
                exchange::code_name(header.code));
            return;
        }
        gateway_.metrics.acknowledgements.add();
        if constexpr (std::is_same_v<Response, cpx::v1::MassCancelReport>) {
            (void)fills;
            (void)fill_count;
            to_proto(header, *response_);
        } else {
            to_proto(header, fills, fill_count, *response_);
        }
        Finish(grpc::Status::OK);
    }

    void OnDone() override { delete this; }

  private:
    void finish_with(const grpc::Status& status, std::string_view reason) {
        context_->AddTrailingMetadata("cpx-reason", std::string(reason));
        Finish(status);
    }

    GatewayContext& gateway_;
    grpc::CallbackServerContext* context_;
    Response* response_;
    std::int64_t received_ns_;       // steady clock: the latency metric
    std::int64_t received_wall_ns_;  // wall clock: journalled with the command
};

template <typename Request, typename Response>
grpc::ServerUnaryReactor* start_order_call(GatewayContext& gateway,
                                           grpc::CallbackServerContext* context, const Request& in,
                                           Response* response) {
    auto* call = new UnaryOrderCall<Response>(gateway, context, response);
    exchange::Request request;
    std::string error;
    const bool translated = to_request(in, request, error);
    call->start(request, translated, error);
    return call;
}

}  // namespace

grpc::ServerUnaryReactor* OrderEntryService::PlaceOrder(grpc::CallbackServerContext* context,
                                                        const cpx::v1::NewOrder* request,
                                                        cpx::v1::ExecutionReport* response) {
    return start_order_call(context_, context, *request, response);
}

grpc::ServerUnaryReactor* OrderEntryService::CancelOrder(grpc::CallbackServerContext* context,
                                                         const cpx::v1::CancelRequest* request,
                                                         cpx::v1::ExecutionReport* response) {
    return start_order_call(context_, context, *request, response);
}

grpc::ServerUnaryReactor* OrderEntryService::ReplaceOrder(grpc::CallbackServerContext* context,
                                                          const cpx::v1::ReplaceRequest* request,
                                                          cpx::v1::ExecutionReport* response) {
    return start_order_call(context_, context, *request, response);
}

grpc::ServerUnaryReactor* OrderEntryService::MassCancel(grpc::CallbackServerContext* context,
                                                        const cpx::v1::MassCancelRequest* request,
                                                        cpx::v1::MassCancelReport* response) {
    return start_order_call(context_, context, *request, response);
}

grpc::ServerBidiReactor<cpx::v1::ClientMessage, cpx::v1::ServerMessage>* OrderEntryService::Trade(
    grpc::CallbackServerContext* context) {
    context_.metrics.streams_opened.add();
    return new TradeStream(context_, context);
}

}  // namespace cpx::gateway
