// Operator commands: instruments and their trading phases, accounts, keys, deposits and
// providers' collateral, the accelerator table and providers' capacity.

#include <iostream>
#include <map>

#include "client.hpp"

namespace cpx::cli {

namespace {

const std::map<std::string, cpx::v1::StateAction>& state_actions() {
    static const std::map<std::string, cpx::v1::StateAction> actions = {
        {"halt", cpx::v1::STATE_ACTION_HALT},
        {"halt-and-cancel", cpx::v1::STATE_ACTION_HALT_AND_CANCEL},
        {"resume", cpx::v1::STATE_ACTION_RESUME},
        {"start-auction", cpx::v1::STATE_ACTION_START_AUCTION},
        {"freeze-auction", cpx::v1::STATE_ACTION_FREEZE_AUCTION},
        {"end-auction", cpx::v1::STATE_ACTION_END_AUCTION},
        {"close", cpx::v1::STATE_ACTION_CLOSE},
        {"set-reference", cpx::v1::STATE_ACTION_SET_REFERENCE},
    };
    return actions;
}

cpx::v1::InstrumentKind parse_kind(const std::string& text) {
    if (text == "compute") {
        return cpx::v1::INSTRUMENT_KIND_COMPUTE;
    }
    if (text == "token") {
        return cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE;
    }
    throw UsageError("--kind must be compute or token");
}

int add_instrument(Client& client, const Args& a) {
    a.reject_unknown({"id", "symbol", "kind", "hub", "unit", "window-start", "window-end", "tick",
                      "lot", "quantity-min", "quantity-max", "price-min", "price-max", "band-bps",
                      "reference", "protection-ticks", "state", "accelerator-model"});
    cpx::v1::AddInstrumentRequest request;
    cpx::v1::Instrument* i = request.mutable_instrument();
    i->set_instrument_id(static_cast<std::uint32_t>(a.integer("id")));
    i->set_symbol(a.text("symbol"));
    i->set_kind(parse_kind(a.text_or("kind", "compute")));
    i->set_hub(a.text("hub"));
    i->set_unit(
        a.text_or("unit", i->kind() == cpx::v1::INSTRUMENT_KIND_COMPUTE ? "P*h" : "1M-tokens"));
    i->set_window_start_ns(a.time_ns("window-start"));
    i->set_window_end_ns(a.time_ns("window-end"));
    i->set_tick_size_fen(a.has("tick") ? a.fen("tick") : 1);
    i->set_lot_size(a.integer_or("lot", 1));
    i->set_quantity_min(a.integer_or("quantity-min", 1));
    i->set_quantity_max(a.integer_or("quantity-max", 10'000));
    i->set_price_min_fen(a.has("price-min") ? a.fen("price-min") : 1);
    i->set_price_max_fen(a.has("price-max") ? a.fen("price-max") : 1'000'000);
    i->set_band_bps(static_cast<std::uint32_t>(a.integer_or("band-bps", 0)));
    i->set_reference_price_fen(a.has("reference") ? a.fen("reference") : 0);
    i->set_market_protection_ticks(
        static_cast<std::uint32_t>(a.integer_or("protection-ticks", 100)));
    const std::string state = a.text_or("state", "continuous");
    const std::map<std::string, cpx::v1::TradingState> states = {
        {"continuous", cpx::v1::TRADING_STATE_CONTINUOUS},
        {"auction", cpx::v1::TRADING_STATE_CALL_AUCTION},
        {"closed", cpx::v1::TRADING_STATE_CLOSED},
        {"halted", cpx::v1::TRADING_STATE_HALTED}};
    if (states.count(state) == 0) {
        throw UsageError("--state must be continuous, auction, closed or halted");
    }
    i->set_state(states.at(state));
    i->set_accelerator_model(a.text_or("accelerator-model", ""));
    cpx::v1::Instrument reply;
    const grpc::Status status =
        client.admin().AddInstrument(client.context().get(), request, &reply);
    return answer(
        client.global(), status, reply,
        "listed instrument " + std::to_string(reply.instrument_id()) + " " + reply.symbol());
}

int set_state(Client& client, const Args& a) {
    a.reject_unknown({"instrument", "reference"});
    cpx::v1::SetTradingStateRequest request;
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer("instrument")));
    request.set_action(state_actions().at(a.command()));
    if (a.command() == "set-reference") {
        request.set_reference_price_fen(a.fen("reference"));
    }
    cpx::v1::Instrument reply;
    const grpc::Status status =
        client.admin().SetTradingState(client.context().get(), request, &reply);
    static const char* kStates[] = {"closed", "call auction", "auction no-cancel", "continuous",
                                    "halted"};
    return answer(client.global(), status, reply,
                  "instrument " + std::to_string(reply.instrument_id()) + " is now " +
                      kStates[std::min<int>(std::max<int>(reply.state(), 0), 4)] + ", reference " +
                      yuan(reply.reference_price_fen()));
}

int create_account(Client& client, const Args& a) {
    a.reject_unknown(
        {"name", "role", "owner-group", "quantity-max", "notional-max", "orders-per-second"});
    const std::map<std::string, cpx::v1::Role> roles = {{"provider", cpx::v1::ROLE_PROVIDER},
                                                        {"buyer", cpx::v1::ROLE_BUYER},
                                                        {"operator", cpx::v1::ROLE_OPERATOR},
                                                        {"regulator", cpx::v1::ROLE_REGULATOR},
                                                        {"issuer", cpx::v1::ROLE_ISSUER}};
    const std::string role = a.text("role");
    if (roles.count(role) == 0) {
        throw UsageError("--role must be provider, buyer, operator, regulator or issuer");
    }
    cpx::v1::CreateAccountRequest request;
    cpx::v1::Account* account = request.mutable_account();
    account->set_name(a.text("name"));
    account->set_role(roles.at(role));
    account->set_owner_group(a.text_or("owner-group", ""));
    account->set_order_quantity_max(a.integer_or("quantity-max", 0));
    account->set_order_notional_max_fen(a.has("notional-max") ? a.fen("notional-max") : 0);
    account->set_orders_per_second_max(
        static_cast<std::uint32_t>(a.integer_or("orders-per-second", 0)));
    cpx::v1::Account reply;
    const grpc::Status status =
        client.admin().CreateAccount(client.context().get(), request, &reply);
    return answer(client.global(), status, reply,
                  "created account " + std::to_string(reply.account_id()) + " (" + role + ")");
}

int create_key(Client& client, const Args& a) {
    a.reject_unknown({"account"});
    cpx::v1::CreateApiKeyRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer("account")));
    cpx::v1::CreateApiKeyResponse reply;
    const grpc::Status status =
        client.admin().CreateApiKey(client.context().get(), request, &reply);
    return answer(client.global(), status, reply,
                  "API key for account " + std::to_string(reply.account_id()) +
                      " (shown once; the exchange keeps only its hash):\n" + reply.api_key());
}

int deposit(Client& client, const Args& a) {
    a.reject_unknown({"account", "amount", "deposit-id"});
    cpx::v1::CreditDepositRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer("account")));
    request.set_amount_fen(a.fen("amount"));
    request.set_deposit_id(a.text("deposit-id"));
    cpx::v1::CreditDepositResponse reply;
    grpc::Status status;
    if (a.command() == "credit-collateral") {
        status = client.admin().CreditCollateral(client.context().get(), request, &reply);
        return answer(client.global(), status, reply,
                      std::string(reply.duplicate() ? "already credited" : "credited") +
                          "; collateral " + yuan(reply.collateral_fen()) + " CNY");
    }
    status = client.admin().CreditDeposit(client.context().get(), request, &reply);
    return answer(client.global(), status, reply,
                  std::string(reply.duplicate() ? "already credited" : "credited") + "; balance " +
                      yuan(reply.balance_fen()) + " CNY");
}

int register_capacity(Client& client, const Args& a) {
    a.reject_unknown({"account", "kind", "hub", "window-start", "window-end", "model", "devices",
                      "bundles", "green-bps"});
    cpx::v1::RegisterCapacityRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer("account")));
    request.set_kind(parse_kind(a.text_or("kind", "compute")));
    request.set_hub(a.text("hub"));
    request.set_window_start_ns(a.time_ns("window-start"));
    request.set_window_end_ns(a.time_ns("window-end"));
    if (request.kind() == cpx::v1::INSTRUMENT_KIND_COMPUTE) {
        request.set_accelerator_model(a.text("model"));
        request.set_device_count(static_cast<std::uint32_t>(a.integer("devices")));
    } else {
        request.set_token_bundles(a.integer("bundles"));
    }
    request.set_green_power_bps(static_cast<std::uint32_t>(a.integer_or("green-bps", 0)));
    cpx::v1::RegisterCapacityResponse reply;
    const grpc::Status status =
        client.admin().RegisterCapacity(client.context().get(), request, &reply);
    return answer(client.global(), status, reply,
                  "registered " + std::to_string(reply.registered_units()) + " units (total " +
                      std::to_string(reply.total_units()) + ", accelerator table v" +
                      std::to_string(reply.table_version()) + ")");
}

int set_accelerators(Client& client, const Args& a) {
    a.reject_unknown({"models"});
    // --models H100-SXM=989,ASCEND-910B=320:domestic
    cpx::v1::SetAcceleratorTableRequest request;
    std::string list = a.text("models");
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t end = std::min(list.find(',', start), list.size());
        std::string item = list.substr(start, end - start);
        const auto eq = item.find('=');
        if (eq == std::string::npos) {
            throw UsageError("--models: expected MODEL=MILLI_P[:domestic], got '" + item + "'");
        }
        cpx::v1::AcceleratorModel* m = request.add_models();
        m->set_model(item.substr(0, eq));
        std::string value = item.substr(eq + 1);
        if (value.size() > 9 && value.compare(value.size() - 9, 9, ":domestic") == 0) {
            m->set_domestic(true);
            value = value.substr(0, value.size() - 9);
        }
        m->set_milli_p_per_device(Args("", {{"milli-p", value}}).integer("milli-p"));
        start = end + 1;
    }
    cpx::v1::AcceleratorTable reply;
    const grpc::Status status =
        client.admin().SetAcceleratorTable(client.context().get(), request, &reply);
    return answer(client.global(), status, reply,
                  "accelerator table is now version " + std::to_string(reply.version()));
}

}  // namespace

bool is_admin_command(const std::string& c) {
    return state_actions().count(c) != 0 || c == "add-instrument" || c == "create-account" ||
           c == "create-key" || c == "deposit" || c == "credit-collateral" ||
           c == "register-capacity" || c == "set-accelerators";
}

int run_admin_command(Client& client, const Args& a) {
    const std::string& c = a.command();
    if (state_actions().count(c) != 0)
        return set_state(client, a);
    if (c == "add-instrument")
        return add_instrument(client, a);
    if (c == "create-account")
        return create_account(client, a);
    if (c == "create-key")
        return create_key(client, a);
    if (c == "deposit" || c == "credit-collateral")
        return deposit(client, a);
    if (c == "register-capacity")
        return register_capacity(client, a);
    return set_accelerators(client, a);
}

}  // namespace cpx::cli
