// Settlement: the provider's confirmation, the buyer's dispute, the operator's resolution
// and settlement run, and the obligations each account may read. Each is a Payload call
// answered in sequence with the orders, like administration; the lifecycle and the money
// are the exchange's (cpx/exchange/settlement.hpp).

#include <algorithm>
#include <string>
#include <string_view>

#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/services.hpp"
#include "payload_call.hpp"

namespace cpx::gateway {

namespace {

using exchange::Code;
using exchange::Payload;
using exchange::RequestType;

// The exchange's rule for notes: at most 256 bytes of printable ASCII, empty allowed.
constexpr std::size_t kNoteBytesMax = 256;

bool valid_note(const std::string& note) {
    return note.size() <= kNoteBytesMax &&
           std::all_of(note.begin(), note.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

constexpr std::string_view kInvalidObligationId = "INVALID_OBLIGATION_ID";

void answer_obligation(const Payload& p, cpx::v1::Obligation& out) {
    if (!p.obligations.empty()) {
        to_proto(p.obligations.front(), out);
    }
}

}  // namespace

grpc::ServerUnaryReactor* SettlementService::ConfirmDelivery(
    grpc::CallbackServerContext* context, const cpx::v1::ConfirmDeliveryRequest* request,
    cpx::v1::Obligation* response) {
    auto* call = make_call<cpx::v1::Obligation>(context_, context, response, answer_obligation);
    if (request->obligation_id() == 0) {
        return refuse(call, kInvalidObligationId, "obligation_id is required");
    }
    if (request->delivered_quantity() <= 0) {
        return refuse(call, Code::InvalidDelivery, "delivered_quantity must be at least 1");
    }
    call->payload().obligation_id = request->obligation_id();
    call->payload().delivered_quantity = request->delivered_quantity();
    exchange::Request r = request_of(RequestType::ConfirmDelivery);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* SettlementService::DisputeDelivery(
    grpc::CallbackServerContext* context, const cpx::v1::DisputeDeliveryRequest* request,
    cpx::v1::Obligation* response) {
    auto* call = make_call<cpx::v1::Obligation>(context_, context, response, answer_obligation);
    if (request->obligation_id() == 0) {
        return refuse(call, kInvalidObligationId, "obligation_id is required");
    }
    if (!valid_note(request->note())) {
        return refuse(call, Code::InvalidNote, "note: at most 256 printable ASCII characters");
    }
    call->payload().obligation_id = request->obligation_id();
    call->payload().note = request->note();
    exchange::Request r = request_of(RequestType::DisputeDelivery);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* SettlementService::ResolveDispute(
    grpc::CallbackServerContext* context, const cpx::v1::ResolveDisputeRequest* request,
    cpx::v1::ResolveDisputeResponse* response) {
    auto* call = make_call<cpx::v1::ResolveDisputeResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::ResolveDisputeResponse& out) {
            if (!p.obligations.empty()) {
                to_proto(p.obligations.front(), *out.mutable_obligation());
            }
            out.set_paid_fen(p.settlement.amounts.paid_fen);
            out.set_fee_fen(p.settlement.amounts.fee_fen);
            out.set_refunded_fen(p.settlement.amounts.refunded_fen);
            out.set_penalty_fen(p.settlement.amounts.penalty_fen);
        });
    if (request->obligation_id() == 0) {
        return refuse(call, kInvalidObligationId, "obligation_id is required");
    }
    // A decision that moves money is never taken by default.
    if (request->decision() != cpx::v1::DISPUTE_DECISION_UPHOLD &&
        request->decision() != cpx::v1::DISPUTE_DECISION_REJECT) {
        return refuse(call, "INVALID_DECISION",
                      "decision must be DISPUTE_DECISION_UPHOLD or DISPUTE_DECISION_REJECT");
    }
    if (!valid_note(request->note())) {
        return refuse(call, Code::InvalidNote, "note: at most 256 printable ASCII characters");
    }
    call->payload().obligation_id = request->obligation_id();
    call->payload().uphold = request->decision() == cpx::v1::DISPUTE_DECISION_UPHOLD;
    call->payload().note = request->note();
    exchange::Request r = request_of(RequestType::ResolveDispute);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* SettlementService::RunSettlement(
    grpc::CallbackServerContext* context, const cpx::v1::RunSettlementRequest* request,
    cpx::v1::SettlementRunResponse* response) {
    auto* call = make_call<cpx::v1::SettlementRunResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::SettlementRunResponse& out) {
            const exchange::SettlementRunResult& s = p.settlement;
            out.set_settled(s.settled);
            out.set_failed(s.failed);
            out.set_paid_fen(s.amounts.paid_fen);
            out.set_fee_fen(s.amounts.fee_fen);
            out.set_refunded_fen(s.amounts.refunded_fen);
            out.set_penalty_fen(s.amounts.penalty_fen);
            out.set_more_due(s.more_due);
        });
    // Every limit is valid: 0 means none.
    call->payload().settlement_limit = request->limit();
    exchange::Request r = request_of(RequestType::RunSettlement);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* SettlementService::ListObligations(
    grpc::CallbackServerContext* context, const cpx::v1::ListObligationsRequest* request,
    cpx::v1::ListObligationsResponse* response) {
    auto* call = make_call<cpx::v1::ListObligationsResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::ListObligationsResponse& out) {
            for (const exchange::Obligation& o : p.obligations) {
                to_proto(o, *out.add_obligations());
            }
        });
    if (request->state() < cpx::v1::OBLIGATION_STATE_UNSPECIFIED ||
        request->state() > cpx::v1::OBLIGATION_STATE_FAILED) {
        return refuse(call, "INVALID_STATE_FILTER", "unknown obligation state");
    }
    call->payload().state_filter = static_cast<std::uint8_t>(request->state());
    exchange::Request r = request_of(RequestType::ListObligations, request->account_id());
    call->start(r);
    return call;
}

}  // namespace cpx::gateway
