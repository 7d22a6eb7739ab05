// Queries and administration: rare, variable-size requests that carry a Payload the
// exchange fills in sequence with the orders, so that what they read is consistent
// with every acknowledgement given before.

#include <memory>

#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/services.hpp"
#include "payload_call.hpp"

namespace cpx::gateway {

namespace {

using exchange::Payload;
using exchange::RequestType;

void answer_instrument(const Payload& p, cpx::v1::Instrument& out) {
    if (!p.instruments.empty()) {
        to_proto(p.instruments.front(), out);
    }
}

}  // namespace

grpc::ServerUnaryReactor* AccountQueryService::ListInstruments(
    grpc::CallbackServerContext* context, const cpx::v1::ListInstrumentsRequest*,
    cpx::v1::ListInstrumentsResponse* response) {
    auto* call = make_call<cpx::v1::ListInstrumentsResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::ListInstrumentsResponse& out) {
            for (const exchange::InstrumentView& view : p.instruments) {
                to_proto(view, *out.add_instruments());
            }
        });
    exchange::Request r = request_of(RequestType::ListInstruments);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AccountQueryService::GetOpenOrders(
    grpc::CallbackServerContext* context, const cpx::v1::AccountRequest* request,
    cpx::v1::OpenOrdersResponse* response) {
    auto* call = make_call<cpx::v1::OpenOrdersResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::OpenOrdersResponse& out) {
            for (const exchange::OpenOrderView& o : p.orders) {
                cpx::v1::OpenOrder* order = out.add_orders();
                order->set_order_id(o.order_id);
                order->set_client_order_id(o.client_order_id.view().data(),
                                           o.client_order_id.view().size());
                order->set_instrument_id(o.instrument);
                order->set_side(to_proto(o.side));
                order->set_price_fen(o.price);
                order->set_quantity(o.quantity);
                order->set_leaves_quantity(o.leaves);
                order->set_filled_quantity(o.filled);
                order->set_status(o.filled > 0 ? cpx::v1::ORDER_STATUS_PARTIALLY_FILLED
                                               : cpx::v1::ORDER_STATUS_NEW);
                order->set_ts_ns(o.ts_ns);
            }
        });
    exchange::Request r =
        request_of(RequestType::OpenOrders, request->account_id(), request->instrument_id());
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AccountQueryService::GetFills(grpc::CallbackServerContext* context,
                                                        const cpx::v1::AccountRequest* request,
                                                        cpx::v1::FillsResponse* response) {
    auto* call = make_call<cpx::v1::FillsResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::FillsResponse& out) {
            for (const exchange::FillView& f : p.fills) {
                cpx::v1::AccountFill* fill = out.add_fills();
                fill->set_trade_id(f.trade_id);
                fill->set_order_id(f.order_id);
                fill->set_client_order_id(f.client_order_id.view().data(),
                                          f.client_order_id.view().size());
                fill->set_instrument_id(f.instrument);
                fill->set_side(to_proto(f.side));
                fill->set_price_fen(f.price);
                fill->set_quantity(f.quantity);
                fill->set_aggressor(f.aggressor);
                fill->set_ts_ns(f.ts_ns);
            }
        });
    exchange::Request r =
        request_of(RequestType::Fills, request->account_id(), request->instrument_id());
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AccountQueryService::GetBalances(grpc::CallbackServerContext* context,
                                                           const cpx::v1::AccountRequest* request,
                                                           cpx::v1::BalancesResponse* response) {
    auto* call = make_call<cpx::v1::BalancesResponse>(
        context_, context, response,
        [](const Payload& p, cpx::v1::BalancesResponse& out) { to_proto(p.balance, out); });
    exchange::Request r = request_of(RequestType::Balances, request->account_id());
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AdminService::AddInstrument(grpc::CallbackServerContext* context,
                                                      const cpx::v1::AddInstrumentRequest* request,
                                                      cpx::v1::Instrument* response) {
    auto* call = make_call<cpx::v1::Instrument>(context_, context, response, answer_instrument);
    std::string error;
    if (!from_proto(request->instrument(), call->payload().instrument, error)) {
        call->fail(invalid_argument("INVALID_INSTRUMENT", error), "INVALID_INSTRUMENT");
        return call;
    }
    call->payload().accelerator_model = request->instrument().accelerator_model();
    exchange::Request r = request_of(RequestType::AddInstrument);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AdminService::SetTradingState(
    grpc::CallbackServerContext* context, const cpx::v1::SetTradingStateRequest* request,
    cpx::v1::Instrument* response) {
    auto* call = make_call<cpx::v1::Instrument>(context_, context, response, answer_instrument);
    if (request->action() <= cpx::v1::STATE_ACTION_UNSPECIFIED ||
        request->action() > cpx::v1::STATE_ACTION_SET_REFERENCE) {
        call->fail(invalid_argument("INVALID_STATE_ACTION", "unknown state action"),
                   "INVALID_STATE_ACTION");
        return call;
    }
    exchange::Request r = request_of(RequestType::SetTradingState, 0, request->instrument_id());
    r.action = static_cast<exchange::StateAction>(request->action());
    r.price = request->reference_price_fen();
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AdminService::CreateAccount(grpc::CallbackServerContext* context,
                                                      const cpx::v1::CreateAccountRequest* request,
                                                      cpx::v1::Account* response) {
    auto* call = make_call<cpx::v1::Account>(
        context_, context, response,
        [](const Payload& p, cpx::v1::Account& out) { to_proto(p.account, out); });
    from_proto(request->account(), call->payload().account);
    exchange::Request r = request_of(RequestType::CreateAccount);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AdminService::CreateApiKey(grpc::CallbackServerContext* context,
                                                     const cpx::v1::CreateApiKeyRequest* request,
                                                     cpx::v1::CreateApiKeyResponse* response) {
    // The key is made here, from the operating system's randomness; the exchange (and
    // so its journal) sees only the hash.
    auto key = std::make_shared<std::string>(generate_api_key());
    const exchange::AccountId account = request->account_id();
    auto* call = make_call<cpx::v1::CreateApiKeyResponse>(
        context_, context, response,
        [key, account](const Payload&, cpx::v1::CreateApiKeyResponse& out) {
            out.set_account_id(account);
            out.set_api_key(*key);
        });
    call->payload().new_key_hash = hash_api_key(*key);
    exchange::Request r = request_of(RequestType::CreateApiKey, account);
    call->start(r);
    return call;
}

namespace {

// CreditDeposit and CreditCollateral: the same inputs and answer, another ledger account.
grpc::ServerUnaryReactor* credit(GatewayContext& gateway, grpc::CallbackServerContext* context,
                                 RequestType type, const cpx::v1::CreditDepositRequest& request,
                                 cpx::v1::CreditDepositResponse* response) {
    auto* call = make_call<cpx::v1::CreditDepositResponse>(
        gateway, context, response, [](const Payload& p, cpx::v1::CreditDepositResponse& out) {
            out.set_account_id(p.balance.account);
            out.set_balance_fen(p.balance.balance_fen);
            out.set_duplicate(p.duplicate);
            out.set_collateral_fen(p.balance.collateral_fen);
        });
    call->payload().amount_fen = request.amount_fen();
    call->payload().deposit_id = request.deposit_id();
    exchange::Request r = request_of(type, request.account_id());
    call->start(r);
    return call;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::CreditDeposit(grpc::CallbackServerContext* context,
                                                      const cpx::v1::CreditDepositRequest* request,
                                                      cpx::v1::CreditDepositResponse* response) {
    return credit(context_, context, RequestType::CreditDeposit, *request, response);
}

grpc::ServerUnaryReactor* AdminService::CreditCollateral(
    grpc::CallbackServerContext* context, const cpx::v1::CreditDepositRequest* request,
    cpx::v1::CreditDepositResponse* response) {
    return credit(context_, context, RequestType::CreditCollateral, *request, response);
}

grpc::ServerUnaryReactor* AdminService::SetAcceleratorTable(
    grpc::CallbackServerContext* context, const cpx::v1::SetAcceleratorTableRequest* request,
    cpx::v1::AcceleratorTable* response) {
    auto* call = make_call<cpx::v1::AcceleratorTable>(
        context_, context, response, [](const Payload& p, cpx::v1::AcceleratorTable& out) {
            out.set_version(p.table_version);
            for (const exchange::AcceleratorModel& m : p.models) {
                cpx::v1::AcceleratorModel* model = out.add_models();
                model->set_model(m.model);
                model->set_milli_p_per_device(m.milli_p_per_device);
                model->set_domestic(m.domestic);
            }
        });
    for (const cpx::v1::AcceleratorModel& m : request->models()) {
        call->payload().models.push_back(
            exchange::AcceleratorModel{m.model(), m.milli_p_per_device(), m.domestic()});
    }
    exchange::Request r = request_of(RequestType::SetAcceleratorTable);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* AdminService::RegisterCapacity(
    grpc::CallbackServerContext* context, const cpx::v1::RegisterCapacityRequest* request,
    cpx::v1::RegisterCapacityResponse* response) {
    const exchange::AccountId account = request->account_id();
    auto* call = make_call<cpx::v1::RegisterCapacityResponse>(
        context_, context, response,
        [account](const Payload& p, cpx::v1::RegisterCapacityResponse& out) {
            out.set_account_id(account);
            out.set_registered_units(p.registered_units);
            out.set_total_units(p.total_units);
            out.set_table_version(p.table_version);
        });
    exchange::CapacityRegistration& reg = call->payload().capacity;
    reg.kind = request->kind() == cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE
                   ? matching::InstrumentKind::TokenBundle
                   : (request->kind() == cpx::v1::INSTRUMENT_KIND_COMPUTE
                          ? matching::InstrumentKind::ComputeCapacity
                          : static_cast<matching::InstrumentKind>(0));
    reg.hub = request->hub();
    reg.window_start_ns = request->window_start_ns();
    reg.window_end_ns = request->window_end_ns();
    reg.accelerator_model = request->accelerator_model();
    reg.device_count = request->device_count();
    reg.token_bundles = request->token_bundles();
    reg.green_power_bps = request->green_power_bps();
    exchange::Request r = request_of(RequestType::RegisterCapacity, account);
    call->start(r);
    return call;
}

}  // namespace cpx::gateway
