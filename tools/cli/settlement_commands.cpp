// Settlement commands: the obligations trades created, the provider's confirmation, the
// buyer's dispute, the operator's resolution and settlement run.

#include <iostream>
#include <map>

#include "client.hpp"

namespace cpx::cli {

namespace {

const char* state_name(cpx::v1::ObligationState state) {
    switch (state) {
        case cpx::v1::OBLIGATION_STATE_OPEN:
            return "open";
        case cpx::v1::OBLIGATION_STATE_DELIVERED:
            return "delivered";
        case cpx::v1::OBLIGATION_STATE_DISPUTED:
            return "disputed";
        case cpx::v1::OBLIGATION_STATE_SETTLED:
            return "settled";
        case cpx::v1::OBLIGATION_STATE_FAILED:
            return "failed";
        default:
            return "-";
    }
}

std::uint64_t obligation_id(const Args& a) {
    const std::int64_t id = a.integer("obligation");
    if (id <= 0) {
        throw UsageError("--obligation must be a positive obligation id (its trade id)");
    }
    return static_cast<std::uint64_t>(id);
}

std::string describe(const cpx::v1::Obligation& o) {
    std::string text = "obligation " + std::to_string(o.obligation_id()) + ": " +
                       state_name(o.state()) + ", " + std::to_string(o.quantity()) + " @ " +
                       yuan(o.price_fen()) + " on instrument " + std::to_string(o.instrument_id());
    if (o.delivered_ns() != 0) {
        text += ", delivered " + std::to_string(o.delivered_quantity());
    }
    if (o.state() != cpx::v1::OBLIGATION_STATE_SETTLED &&
        o.state() != cpx::v1::OBLIGATION_STATE_FAILED) {
        text += ", due " + time_text(o.due_ns());
    }
    return text;
}

std::string moved(std::int64_t paid, std::int64_t fee, std::int64_t refunded,
                  std::int64_t penalty) {
    return "paid " + yuan(paid) + " CNY (fee " + yuan(fee) + "), refunded " + yuan(refunded) +
           " CNY, penalty " + yuan(penalty) + " CNY";
}

int obligations(Client& client, const Args& a) {
    a.reject_unknown({"account", "state"});
    const std::map<std::string, cpx::v1::ObligationState> states = {
        {"open", cpx::v1::OBLIGATION_STATE_OPEN},
        {"delivered", cpx::v1::OBLIGATION_STATE_DELIVERED},
        {"disputed", cpx::v1::OBLIGATION_STATE_DISPUTED}};
    cpx::v1::ListObligationsRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer_or("account", 0)));
    if (a.has("state")) {
        const std::string state = a.text("state");
        if (states.count(state) == 0) {
            throw UsageError("--state must be open, delivered or disputed");
        }
        request.set_state(states.at(state));
    }
    cpx::v1::ListObligationsResponse response;
    const grpc::Status status =
        client.settlement().ListObligations(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    Table table({"obligation", "instrument", "state", "buyer", "provider", "price", "quantity",
                 "delivered", "amount CNY", "due"});
    for (const auto& o : response.obligations()) {
        table.add({std::to_string(o.obligation_id()), std::to_string(o.instrument_id()),
                   state_name(o.state()), std::to_string(o.buyer_account_id()),
                   std::to_string(o.provider_account_id()), yuan(o.price_fen()),
                   std::to_string(o.quantity()), std::to_string(o.delivered_quantity()),
                   yuan(o.amount_fen()), time_text(o.due_ns())});
    }
    table.print();
    return 0;
}

int print_obligation(const Global& global, const grpc::Status& status,
                     const cpx::v1::Obligation& o) {
    if (!status.ok()) {
        return print_error(global, status);
    }
    if (global.json) {
        print_json(o);
    } else {
        std::cout << describe(o) << "\n";
    }
    return 0;
}

int confirm_delivery(Client& client, const Args& a) {
    a.reject_unknown({"obligation", "quantity"});
    cpx::v1::ConfirmDeliveryRequest request;
    request.set_obligation_id(obligation_id(a));
    request.set_delivered_quantity(a.integer("quantity"));
    cpx::v1::Obligation reply;
    const grpc::Status status =
        client.settlement().ConfirmDelivery(client.context().get(), request, &reply);
    return print_obligation(client.global(), status, reply);
}

int dispute(Client& client, const Args& a) {
    a.reject_unknown({"obligation", "note"});
    cpx::v1::DisputeDeliveryRequest request;
    request.set_obligation_id(obligation_id(a));
    request.set_note(a.text_or("note", ""));
    cpx::v1::Obligation reply;
    const grpc::Status status =
        client.settlement().DisputeDelivery(client.context().get(), request, &reply);
    return print_obligation(client.global(), status, reply);
}

int resolve_dispute(Client& client, const Args& a) {
    a.reject_unknown({"obligation", "uphold", "reject", "note"});
    const bool uphold = a.flag("uphold");
    const bool reject = a.flag("reject");
    if (uphold == reject) {
        throw UsageError(
            "resolve-dispute needs --uphold (the obligation fails: refund and penalty) or "
            "--reject (it settles for what was delivered)");
    }
    cpx::v1::ResolveDisputeRequest request;
    request.set_obligation_id(obligation_id(a));
    request.set_decision(uphold ? cpx::v1::DISPUTE_DECISION_UPHOLD
                                : cpx::v1::DISPUTE_DECISION_REJECT);
    request.set_note(a.text_or("note", ""));
    cpx::v1::ResolveDisputeResponse reply;
    const grpc::Status status =
        client.settlement().ResolveDispute(client.context().get(), request, &reply);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(reply);
    } else {
        std::cout << describe(reply.obligation()) << "\n  "
                  << moved(reply.paid_fen(), reply.fee_fen(), reply.refunded_fen(),
                           reply.penalty_fen())
                  << "\n";
    }
    return 0;
}

int settle(Client& client, const Args& a) {
    a.reject_unknown({"limit"});
    const std::int64_t limit = a.integer_or("limit", 0);
    if (limit < 0 || limit > 0xFFFFFFFF) {
        throw UsageError("--limit must be 0 (no limit) to 4294967295");
    }
    cpx::v1::RunSettlementRequest request;
    request.set_limit(static_cast<std::uint32_t>(limit));
    cpx::v1::SettlementRunResponse reply;
    const grpc::Status status =
        client.settlement().RunSettlement(client.context().get(), request, &reply);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(reply);
    } else {
        std::cout << "settled " << reply.settled() << ", failed " << reply.failed() << "; "
                  << moved(reply.paid_fen(), reply.fee_fen(), reply.refunded_fen(),
                           reply.penalty_fen())
                  << (reply.more_due() ? "\nmore are due: run settle again" : "") << "\n";
    }
    return 0;
}

}  // namespace

bool is_settlement_command(const std::string& c) {
    return c == "obligations" || c == "confirm-delivery" || c == "dispute" ||
           c == "resolve-dispute" || c == "settle";
}

int run_settlement_command(Client& client, const Args& a) {
    const std::string& c = a.command();
    if (c == "obligations")
        return obligations(client, a);
    if (c == "confirm-delivery")
        return confirm_delivery(client, a);
    if (c == "dispute")
        return dispute(client, a);
    if (c == "resolve-dispute")
        return resolve_dispute(client, a);
    return settle(client, a);
}

}  // namespace cpx::cli
