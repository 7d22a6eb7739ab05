#pragma once
// How a call that the exchange does not otherwise see (the Audit service's proofs and
// the regulator streams) learns who is calling: it submits the Balances query of the
// caller's own account, which any role may make and whose answer names the account and
// its role (Payload::balance). Internal to cpx_gateway.

#include <optional>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "cpx/exchange/payload.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/services.hpp"

namespace cpx::gateway {

// Why the query never reached the exchange: the call is to be finished with it.
struct IdentityRefusal {
    grpc::Status status;
    std::string_view reason;
};

// Submits the query for the call `token` names, its answer to go into `payload`. Returns
// the refusal when the call carries no key or the request queue is full.
inline std::optional<IdentityRefusal> submit_identity_query(
    GatewayContext& gateway, const grpc::CallbackServerContext& context, exchange::Token token,
    exchange::Payload& payload) {
    const std::optional<exchange::KeyHash> key = caller_key_hash(context);
    if (!key) {
        gateway.metrics.unauthenticated.add();
        return IdentityRefusal{error_status(exchange::Code::Unauthenticated, "missing x-api-key"),
                               "UNAUTHENTICATED"};
    }
    exchange::Request request;
    request.type = exchange::RequestType::Balances;
    request.account = 0;
    request.key_hash = *key;
    request.token = token;
    request.payload = &payload;
    if (!gateway.pipeline.try_submit(request)) {
        gateway.metrics.queue_full.add();
        return IdentityRefusal{queue_full(), "QUEUE_FULL"};
    }
    return std::nullopt;
}

// Operators and regulators see every record and may follow the regulator streams.
inline bool sees_everything(exchange::Role role) {
    return role == exchange::Role::Operator || role == exchange::Role::Regulator;
}

}  // namespace cpx::gateway
