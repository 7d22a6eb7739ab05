#include "cpx/gateway/demo_market.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cpx/gateway/log.hpp"
#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "cpx/v1/orders.grpc.pb.h"

namespace cpx::gateway {

namespace {

constexpr std::int64_t kNsPerHour = 3'600'000'000'000;

struct DemoInstrument {
    std::uint32_t id;
    const char* symbol;
    cpx::v1::InstrumentKind kind;
    const char* hub;
    std::int64_t window_start_ns;
    std::int64_t window_end_ns;
    std::int64_t reference_fen;
};

struct DemoProvider {
    const char* name;
    const char* model;  // empty for a token provider
    std::uint32_t devices;
    std::uint32_t green_bps;
};

struct Trader {
    std::uint32_t account = 0;
    std::string key;
    bool provider = false;
    std::vector<std::uint32_t> instruments;  // what it trades
};

void check(const grpc::Status& status, const std::string& what) {
    if (!status.ok()) {
        throw std::runtime_error("demo: " + what + ": " + status.error_message());
    }
}

}  // namespace

struct DemoMarket::State {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<cpx::v1::Admin::Stub> admin;
    std::unique_ptr<cpx::v1::OrderEntry::Stub> orders;
    std::vector<DemoInstrument> instruments;
    std::vector<Trader> traders;
    std::vector<std::pair<std::size_t, std::uint64_t>> resting;  // trader, order id
    std::mt19937_64 rng{20261129};
    std::uint64_t next_client_id = 1;
};

DemoMarket::DemoMarket(std::string target, std::string operator_key,
                       std::uint32_t orders_per_second)
    : target_(std::move(target)),
      operator_key_(std::move(operator_key)),
      orders_per_second_(orders_per_second) {}

DemoMarket::~DemoMarket() {
    stop();
}

void DemoMarket::start() {
    state_ = std::make_unique<State>();
    State& s = *state_;
    s.channel = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    s.admin = cpx::v1::Admin::NewStub(s.channel);
    s.orders = cpx::v1::OrderEntry::NewStub(s.channel);

    // Delivery windows start at the next whole day (UTC), so that they lie ahead.
    const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    const std::int64_t day = (now_ns / (24 * kNsPerHour) + 1) * 24 * kNsPerHour;
    s.instruments = {
        {1, "HHHT-D1-OFFPEAK", cpx::v1::INSTRUMENT_KIND_COMPUTE, "HOHHOT", day,
         day + 8 * kNsPerHour, 1'200},
        {2, "HHHT-D1-PEAK", cpx::v1::INSTRUMENT_KIND_COMPUTE, "HOHHOT", day + 8 * kNsPerHour,
         day + 20 * kNsPerHour, 1'800},
        {3, "GUIAN-D1", cpx::v1::INSTRUMENT_KIND_COMPUTE, "GUIAN", day, day + 24 * kNsPerHour,
         1'500},
        {4, "QINGYANG-D1", cpx::v1::INSTRUMENT_KIND_COMPUTE, "QINGYANG", day, day + 24 * kNsPerHour,
         1'300},
        {5, "WUHU-D1-PEAK", cpx::v1::INSTRUMENT_KIND_COMPUTE, "WUHU", day + 8 * kNsPerHour,
         day + 20 * kNsPerHour, 2'100},
        {6, "IM-TOKEN-70B", cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE, "HOHHOT", day,
         day + 30 * 24 * kNsPerHour, 200},
    };
    const auto operator_call = [&](auto&& call, const std::string& what) {
        grpc::ClientContext context;
        context.AddMetadata("x-api-key", operator_key_);
        check(call(context), what);
    };
    // A durable exchange keeps the demo market across restarts: resume it instead of
    // listing it again.
    {
        auto queries = cpx::v1::AccountQuery::NewStub(s.channel);
        cpx::v1::ListInstrumentsResponse listed;
        operator_call(
            [&](grpc::ClientContext& c) {
                return queries->ListInstruments(&c, cpx::v1::ListInstrumentsRequest(), &listed);
            },
            "list instruments");
        if (!listed.instruments().empty()) {
            resume(listed);
            return;
        }
    }
    for (const DemoInstrument& d : s.instruments) {
        cpx::v1::AddInstrumentRequest request;
        cpx::v1::Instrument* i = request.mutable_instrument();
        i->set_instrument_id(d.id);
        i->set_symbol(d.symbol);
        i->set_kind(d.kind);
        i->set_hub(d.hub);
        i->set_unit(d.kind == cpx::v1::INSTRUMENT_KIND_COMPUTE ? "P*h" : "1M-tokens");
        i->set_window_start_ns(d.window_start_ns);
        i->set_window_end_ns(d.window_end_ns);
        i->set_tick_size_fen(1);
        i->set_lot_size(1);
        i->set_quantity_min(1);
        i->set_quantity_max(10'000);
        i->set_price_min_fen(1);
        i->set_price_max_fen(100'000);
        i->set_band_bps(2'000);
        i->set_reference_price_fen(d.reference_fen);
        i->set_market_protection_ticks(200);
        i->set_state(cpx::v1::TRADING_STATE_CONTINUOUS);
        cpx::v1::Instrument reply;
        operator_call(
            [&](grpc::ClientContext& c) { return s.admin->AddInstrument(&c, request, &reply); },
            std::string("list ") + d.symbol);
    }

    const auto admit = [&](const std::string& name, cpx::v1::Role role) {
        Trader t;
        cpx::v1::CreateAccountRequest create;
        create.mutable_account()->set_name(name);
        create.mutable_account()->set_role(role);
        create.mutable_account()->set_owner_group(name);
        cpx::v1::Account account;
        operator_call(
            [&](grpc::ClientContext& c) { return s.admin->CreateAccount(&c, create, &account); },
            "admit " + name);
        t.account = account.account_id();
        cpx::v1::CreateApiKeyRequest key_request;
        key_request.set_account_id(t.account);
        cpx::v1::CreateApiKeyResponse key;
        operator_call(
            [&](grpc::ClientContext& c) { return s.admin->CreateApiKey(&c, key_request, &key); },
            "key for " + name);
        t.key = key.api_key();
        t.provider = role == cpx::v1::ROLE_PROVIDER;
        log_event("info", "demo_account",
                  {field("name", name), field("account_id", std::int64_t{t.account}),
                   field("role", std::string_view(t.provider ? "provider" : "buyer")),
                   field("api_key", t.key)});
        return t;
    };

    // Providers register what they can deliver in each window of their hub.
    const std::vector<std::pair<DemoProvider, std::vector<std::uint32_t>>> providers = {
        {{"Hohhot Green Compute", "H100-SXM", 512, 8'500}, {1, 2}},
        {{"Guian Cloud", "A100", 2'048, 4'000}, {3}},
        {{"Qingyang Ascend Center", "ASCEND-910B", 1'024, 6'000}, {4}},
        {{"Wuhu AI Park", "H800-SXM", 256, 3'000}, {5}},
        {{"Inner Mongolia Token Zone", "", 0, 8'000}, {6}},
    };
    for (const auto& [p, windows] : providers) {
        Trader t = admit(p.name, cpx::v1::ROLE_PROVIDER);
        for (const std::uint32_t id : windows) {
            const DemoInstrument& d = s.instruments[id - 1];
            cpx::v1::RegisterCapacityRequest reg;
            reg.set_account_id(t.account);
            reg.set_kind(d.kind);
            reg.set_hub(d.hub);
            reg.set_window_start_ns(d.window_start_ns);
            reg.set_window_end_ns(d.window_end_ns);
            if (d.kind == cpx::v1::INSTRUMENT_KIND_COMPUTE) {
                reg.set_accelerator_model(p.model);
                reg.set_device_count(p.devices);
            } else {
                reg.set_token_bundles(5'000'000);
            }
            reg.set_green_power_bps(p.green_bps);
            cpx::v1::RegisterCapacityResponse registered;
            operator_call(
                [&](grpc::ClientContext& c) {
                    return s.admin->RegisterCapacity(&c, reg, &registered);
                },
                std::string("capacity of ") + p.name);
            t.instruments.push_back(id);
        }
        s.traders.push_back(t);
    }
    for (const char* name : {"Zhipu-like Model Lab", "Changan Auto AI", "Shanghai Bio Research"}) {
        Trader t = admit(name, cpx::v1::ROLE_BUYER);
        cpx::v1::CreditDepositRequest deposit;
        deposit.set_account_id(t.account);
        deposit.set_amount_fen(1'000'000'000);  // 10 million CNY
        deposit.set_deposit_id(std::string("demo-") + name);
        cpx::v1::CreditDepositResponse credited;
        operator_call(
            [&](grpc::ClientContext& c) { return s.admin->CreditDeposit(&c, deposit, &credited); },
            std::string("deposit of ") + name);
        t.instruments = {1, 2, 3, 4, 5, 6};
        s.traders.push_back(t);
    }
    thread_ = std::thread([this] { run(); });
}

void DemoMarket::resume(const cpx::v1::ListInstrumentsResponse& listed) {
    State& s = *state_;
    for (DemoInstrument& d : s.instruments) {
        const auto it =
            std::find_if(listed.instruments().begin(), listed.instruments().end(),
                         [&](const cpx::v1::Instrument& i) { return i.instrument_id() == d.id; });
        if (it == listed.instruments().end() || it->symbol() != d.symbol) {
            log_event("warning", "demo_not_resumed",
                      {field("reason", std::string_view("the exchange lists other instruments "
                                                        "than the demo's: it trades no demo"))});
            return;
        }
        d.window_start_ns = it->window_start_ns();
        d.window_end_ns = it->window_end_ns();
    }
    // The demo admitted its eight accounts right after the operator (ids 2 to 9): five
    // providers, then three buyers. Their keys were shown once and are gone, so each
    // gets a new one.
    auto queries = cpx::v1::AccountQuery::NewStub(s.channel);
    const std::vector<std::vector<std::uint32_t>> provider_instruments = {
        {1, 2}, {3}, {4}, {5}, {6}};
    for (std::uint32_t account = 2; account <= 9; ++account) {
        Trader t;
        t.account = account;
        t.provider = account <= 6;
        t.instruments = t.provider ? provider_instruments[account - 2]
                                   : std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6};
        grpc::ClientContext balance_context;
        balance_context.AddMetadata("x-api-key", operator_key_);
        cpx::v1::AccountRequest request;
        request.set_account_id(account);
        cpx::v1::BalancesResponse balance;
        const grpc::Status found = queries->GetBalances(&balance_context, request, &balance);
        if (!found.ok() ||
            balance.role() != (t.provider ? cpx::v1::ROLE_PROVIDER : cpx::v1::ROLE_BUYER)) {
            log_event("warning", "demo_not_resumed",
                      {field("reason", std::string_view("the demo's accounts are not where it "
                                                        "left them: it trades no demo"))});
            s.traders.clear();
            return;
        }
        grpc::ClientContext key_context;
        key_context.AddMetadata("x-api-key", operator_key_);
        cpx::v1::CreateApiKeyRequest key_request;
        key_request.set_account_id(account);
        cpx::v1::CreateApiKeyResponse key;
        check(s.admin->CreateApiKey(&key_context, key_request, &key), "key for the demo");
        t.key = key.api_key();
        log_event("info", "demo_account",
                  {field("account_id", std::int64_t{t.account}),
                   field("role", std::string_view(t.provider ? "provider" : "buyer")),
                   field("api_key", t.key), field("resumed", std::string_view("yes"))});
        s.traders.push_back(t);
    }
    thread_ = std::thread([this] { run(); });
}

void DemoMarket::stop() {
    stop_.store(true);
    if (thread_.joinable()) {
        thread_.join();
    }
}

void DemoMarket::run() {
    State& s = *state_;
    const auto interval =
        std::chrono::nanoseconds(1'000'000'000 / std::max(1u, orders_per_second_));
    auto next = std::chrono::steady_clock::now();
    while (!stop_.load()) {
        next += interval;
        std::this_thread::sleep_until(next);
        const std::size_t who = s.rng() % s.traders.size();
        const Trader& t = s.traders[who];
        grpc::ClientContext context;
        context.AddMetadata("x-api-key", t.key);
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        cpx::v1::ExecutionReport report;
        // Now and then an old order is cancelled, as a trader revises its quotes.
        if (s.resting.size() > 200 || (!s.resting.empty() && s.rng() % 4 == 0)) {
            const std::size_t at = s.rng() % s.resting.size();
            const auto [owner, order_id] = s.resting[at];
            s.resting[at] = s.resting.back();
            s.resting.pop_back();
            grpc::ClientContext cancel_context;
            cancel_context.AddMetadata("x-api-key", s.traders[owner].key);
            cpx::v1::CancelRequest cancel;
            cancel.set_client_order_id("demo-" + std::to_string(s.next_client_id++));
            cancel.set_order_id(order_id);
            s.orders->CancelOrder(&cancel_context, cancel, &report);
            continue;
        }
        const std::uint32_t id = t.instruments[s.rng() % t.instruments.size()];
        const DemoInstrument& d = s.instruments[id - 1];
        cpx::v1::NewOrder order;
        order.set_client_order_id("demo-" + std::to_string(s.next_client_id++));
        order.set_instrument_id(id);
        order.set_side(t.provider ? cpx::v1::SIDE_SELL : cpx::v1::SIDE_BUY);
        order.set_order_type(cpx::v1::ORDER_TYPE_LIMIT);
        // Providers ask a little above the reference and buyers bid a little below;
        // the spread closes now and then and they trade.
        const std::int64_t offset = static_cast<std::int64_t>(s.rng() % 9) - 3;
        const std::int64_t step = d.reference_fen / 100;
        order.set_price_fen(t.provider ? d.reference_fen + offset * step
                                       : d.reference_fen - offset * step);
        order.set_quantity(1 + static_cast<std::int64_t>(s.rng() % 20));
        order.set_time_in_force(s.rng() % 7 == 0 ? cpx::v1::TIME_IN_FORCE_IOC
                                                 : cpx::v1::TIME_IN_FORCE_GTC);
        const grpc::Status status = s.orders->PlaceOrder(&context, order, &report);
        orders_.fetch_add(1, std::memory_order_relaxed);
        if (status.ok() && report.leaves_quantity() > 0) {
            s.resting.emplace_back(who, report.order_id());
        }
    }
}

}  // namespace cpx::gateway
