#pragma once
// A unary call that carries a Payload: queries, administration and settlement. The
// handler fills the payload's inputs (or refuses the call before submitting it), then
// start() authenticates the caller by its API key and submits the request to the
// sequencer; the dispatcher answers through on_reply, which turns a refusal into its
// gRPC status and reason and an acceptance into the response the handler's Answer
// builds from the payload's outputs. Private to cpx_gateway's sources.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "cpx/exchange/payload.hpp"
#include "cpx/exchange/request.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/services.hpp"

namespace cpx::gateway {

template <typename Response>
class PayloadCall final : public grpc::ServerUnaryReactor, public Caller {
  public:
    using Answer = std::function<void(const exchange::Payload&, Response&)>;

    PayloadCall(GatewayContext& gateway, grpc::CallbackServerContext* context, Response* response,
                Answer answer)
        : gateway_(gateway), context_(context), response_(response), answer_(std::move(answer)) {}

    exchange::Payload& payload() { return payload_; }

    void start(exchange::Request& request) {
        const std::optional<exchange::KeyHash> key = caller_key_hash(*context_);
        if (!key) {
            gateway_.metrics.unauthenticated.add();
            fail(error_status(exchange::Code::Unauthenticated, "missing x-api-key"),
                 "UNAUTHENTICATED");
            return;
        }
        request.key_hash = *key;
        request.token = token_of(this);
        request.payload = &payload_;
        if (!gateway_.pipeline.try_submit(request)) {
            gateway_.metrics.queue_full.add();
            fail(queue_full(), "QUEUE_FULL");
        }
    }

    void fail(const grpc::Status& status, std::string_view reason) {
        context_->AddTrailingMetadata("cpx-reason", std::string(reason));
        Finish(status);
    }

    void on_reply(const exchange::Outbound& reply) override {
        if (reply.code != exchange::Code::None) {
            fail(error_status(reply.code, ""), exchange::code_name(reply.code));
            return;
        }
        answer_(payload_, *response_);
        Finish(grpc::Status::OK);
    }

    void on_report(const exchange::Outbound&, const exchange::Outbound*, std::size_t) override {
        Finish(grpc::Status(grpc::StatusCode::INTERNAL, "unexpected report"));
    }

    void OnDone() override { delete this; }

  private:
    GatewayContext& gateway_;
    grpc::CallbackServerContext* context_;
    Response* response_;
    Answer answer_;
    exchange::Payload payload_;
};

template <typename Response>
PayloadCall<Response>* make_call(GatewayContext& gateway, grpc::CallbackServerContext* context,
                                 Response* response,
                                 typename PayloadCall<Response>::Answer answer) {
    return new PayloadCall<Response>(gateway, context, response, std::move(answer));
}

// Refuses the call before submission, with the status and reason the exchange gives the
// same refusal (or a reason of the gateway's own, for inputs the exchange never sees).
template <typename Response>
grpc::ServerUnaryReactor* refuse(PayloadCall<Response>* call, exchange::Code code,
                                 std::string_view message) {
    call->fail(error_status(code, message), exchange::code_name(code));
    return call;
}
template <typename Response>
grpc::ServerUnaryReactor* refuse(PayloadCall<Response>* call, std::string_view reason,
                                 std::string_view message) {
    call->fail(invalid_argument(reason, message), reason);
    return call;
}

inline exchange::Request request_of(exchange::RequestType type, exchange::AccountId account = 0,
                                    exchange::InstrumentId instrument = 0) {
    exchange::Request r;
    r.type = type;
    r.account = account;
    r.instrument = instrument;
    return r;
}

}  // namespace cpx::gateway
