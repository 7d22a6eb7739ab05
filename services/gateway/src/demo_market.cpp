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
#include "cpx/v1/settlement.grpc.pb.h"
#include "cpx/v1/voucher.grpc.pb.h"

namespace cpx::gateway {

namespace {

constexpr std::int64_t kNsPerHour = 3'600'000'000'000;
constexpr std::int64_t kNsPerDay = 24 * kNsPerHour;

// The Hohhot spot product, which the first provider (Hohhot Green Compute) sells.
constexpr std::uint32_t kSpotInstrument = 7;
// Its capacity comes in small top-ups, so that it keeps trading at a modest pace for
// hours rather than selling a large registration out in minutes: a top-up registers
// enough H100s (989 thousandths of a P each in the exchange's default accelerator table)
// for this many P·h of the window, whenever less than that is left unsold.
constexpr std::int64_t kSpotTopUpUnits = 40;
constexpr std::int64_t kH100MilliP = 989;

// Delivery and settlement come in rounds this far apart, each bounded: at most this many
// confirmations, and one settlement run of at most this many obligations (a run that
// stops at its limit continues the next round).
constexpr std::chrono::seconds kRoundEvery{5};
constexpr std::size_t kConfirmationsPerRound = 500;
constexpr std::uint32_t kSettlementLimit = 10'000;

// The Hohhot Big Data Bureau's voucher program: Hohhot budgets 50 million CNY of compute
// vouchers a year; each demo buyer holds one of 200,000 CNY, which pays 30% of the
// compute it is delivered in the Hohhot hub.
constexpr const char* kIssuerName = "Hohhot Big Data Bureau";
constexpr std::int64_t kProgramBudgetFen = 5'000'000'000;
constexpr std::uint32_t kProgramShareBps = 3'000;
constexpr std::int64_t kVoucherFaceFen = 20'000'000;
// The account ids the demo's accounts get on a fresh exchange (the operator is 1): five
// providers, three buyers, then the issuer.
constexpr std::uint32_t kFirstTrader = 2;
constexpr std::uint32_t kLastProvider = 6;
constexpr std::uint32_t kLastTrader = 9;
constexpr std::uint32_t kIssuer = 10;

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

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A context with an API key and a deadline: the demo's calls must never hang its thread
// (cpxd may be shutting down).
std::unique_ptr<grpc::ClientContext> context_for(const std::string& key,
                                                 std::chrono::seconds timeout) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-api-key", key);
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
}

std::string_view role_name(cpx::v1::Role role) {
    switch (role) {
        case cpx::v1::ROLE_PROVIDER:
            return "provider";
        case cpx::v1::ROLE_BUYER:
            return "buyer";
        case cpx::v1::ROLE_ISSUER:
            return "issuer";
        default:
            return "other";
    }
}

}  // namespace

struct DemoMarket::State {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<cpx::v1::Admin::Stub> admin;
    std::unique_ptr<cpx::v1::OrderEntry::Stub> orders;
    std::unique_ptr<cpx::v1::AccountQuery::Stub> queries;
    std::unique_ptr<cpx::v1::Settlement::Stub> settlement;
    std::unique_ptr<cpx::v1::Vouchers::Stub> vouchers;
    std::vector<DemoInstrument> instruments;
    std::vector<Trader> traders;
    std::uint32_t program_id = 0;  // the Hohhot voucher program
    std::int64_t redeemed_logged_fen = -1;
    std::vector<std::pair<std::size_t, std::uint64_t>> resting;  // trader, order id
    std::mt19937_64 rng{20261129};
    std::uint64_t next_client_id = 1;
};

DemoMarket::DemoMarket(std::string target, std::string operator_key,
                       std::uint32_t orders_per_second, std::int64_t spot_window_ns)
    : target_(std::move(target)),
      operator_key_(std::move(operator_key)),
      orders_per_second_(orders_per_second),
      spot_window_ns_(spot_window_ns) {}

DemoMarket::~DemoMarket() {
    stop();
}

void DemoMarket::start() {
    state_ = std::make_unique<State>();
    State& s = *state_;
    // A provider's open obligations pile up until its windows begin (a day's worth of
    // token bundles is a long list): the answers may be larger than gRPC's default 4 MB.
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(-1);
    s.channel = grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), arguments);
    s.admin = cpx::v1::Admin::NewStub(s.channel);
    s.orders = cpx::v1::OrderEntry::NewStub(s.channel);
    s.queries = cpx::v1::AccountQuery::NewStub(s.channel);
    s.settlement = cpx::v1::Settlement::NewStub(s.channel);
    s.vouchers = cpx::v1::Vouchers::NewStub(s.channel);

    // Delivery windows start at the next whole day (UTC), so that they lie ahead; the
    // spot product's is the interval under way, so that it is delivered at once.
    const std::int64_t now = now_ns();
    const std::int64_t today = now / kNsPerDay * kNsPerDay;
    const std::int64_t day = today + kNsPerDay;
    const std::int64_t spot = now / spot_window_ns_ * spot_window_ns_;
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
        {kSpotInstrument, "HHHT-SPOT", cpx::v1::INSTRUMENT_KIND_COMPUTE, "HOHHOT", spot,
         spot + spot_window_ns_, 1'500},
    };
    const auto operator_call = [&](auto&& call, const std::string& what) {
        grpc::ClientContext context;
        context.AddMetadata("x-api-key", operator_key_);
        check(call(context), what);
    };
    // A durable exchange keeps the demo market across restarts: resume it instead of
    // listing it again.
    {
        cpx::v1::ListInstrumentsResponse listed;
        operator_call(
            [&](grpc::ClientContext& c) {
                return s.queries->ListInstruments(&c, cpx::v1::ListInstrumentsRequest(), &listed);
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
                   field("role", role_name(role)), field("api_key", t.key)});
        return t;
    };

    // Providers register what they can deliver in each window of their hub (the spot
    // product's capacity comes in top-ups: top_up_spot()), and put up collateral, out of
    // which the penalty for what they fail to deliver is paid.
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
        cpx::v1::CreditDepositRequest collateral;
        collateral.set_account_id(t.account);
        collateral.set_amount_fen(100'000'000);  // 1 million CNY
        collateral.set_deposit_id(std::string("demo-collateral-") + p.name);
        cpx::v1::CreditDepositResponse credited;
        operator_call(
            [&](grpc::ClientContext& c) {
                return s.admin->CreditCollateral(&c, collateral, &credited);
            },
            std::string("collateral of ") + p.name);
        s.traders.push_back(t);
    }
    // The Hohhot provider sells the spot product too.
    s.traders.front().instruments.push_back(kSpotInstrument);
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
        t.instruments = {1, 2, 3, 4, 5, 6, kSpotInstrument};
        s.traders.push_back(t);
    }
    // The city's big-data bureau funds a year of vouchers for compute delivered in its
    // hub, and grants one to each buyer. It is admitted after the traders, so that their
    // ids stay those older demo markets had.
    const Trader issuer = admit(kIssuerName, cpx::v1::ROLE_ISSUER);
    {
        cpx::v1::CreditDepositRequest deposit;
        deposit.set_account_id(issuer.account);
        deposit.set_amount_fen(kProgramBudgetFen);
        deposit.set_deposit_id(std::string("demo-") + kIssuerName);
        cpx::v1::CreditDepositResponse credited;
        operator_call(
            [&](grpc::ClientContext& c) { return s.admin->CreditDeposit(&c, deposit, &credited); },
            "deposit of the issuer");
    }
    const int year =
        static_cast<int>(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(
                                                         std::chrono::system_clock::now()))
                             .year());
    // A year of deals from the start of today (UTC), which covers every demo window.
    const std::int64_t valid_until = today + 365 * kNsPerDay;
    cpx::v1::CreateProgramRequest create;
    cpx::v1::VoucherProgramSpec* spec = create.mutable_program();
    spec->set_issuer_account_id(issuer.account);
    spec->set_name("Hohhot compute vouchers " + std::to_string(year));
    spec->set_budget_fen(kProgramBudgetFen);
    spec->set_share_bps(kProgramShareBps);
    spec->set_mode(cpx::v1::VOUCHER_MODE_DISCOUNT);
    spec->set_side(cpx::v1::VOUCHER_SIDE_BUYER);
    spec->add_kinds(cpx::v1::INSTRUMENT_KIND_COMPUTE);
    spec->add_hubs("HOHHOT");
    spec->set_valid_from_ns(today);
    spec->set_valid_until_ns(valid_until);
    cpx::v1::VoucherProgram program;
    operator_call(
        [&](grpc::ClientContext& c) { return s.vouchers->CreateProgram(&c, create, &program); },
        "the Hohhot voucher program");
    s.program_id = program.spec().program_id();
    log_event(
        "info", "demo_voucher_program",
        {field("program_id", std::int64_t{s.program_id}), field("name", spec->name()),
         field("issuer_account_id", std::int64_t{issuer.account}),
         field("budget_fen", program.budget_fen()),
         field("share_bps", std::int64_t{kProgramShareBps}),
         field("hubs", std::string_view("HOHHOT")), field("kinds", std::string_view("compute")),
         field("valid_from_ns", today), field("valid_until_ns", valid_until)});
    for (const Trader& t : s.traders) {
        if (t.provider) {
            continue;
        }
        cpx::v1::GrantVoucherRequest grant;
        grant.set_program_id(s.program_id);
        grant.set_beneficiary_account_id(t.account);
        grant.set_face_fen(kVoucherFaceFen);
        grant.set_expiry_ns(valid_until);
        grant.set_grant_ref("hohhot-" + std::to_string(year) + "-" + std::to_string(t.account));
        cpx::v1::GrantVoucherResponse granted;
        operator_call(
            [&](grpc::ClientContext& c) { return s.vouchers->GrantVoucher(&c, grant, &granted); },
            "a voucher for account " + std::to_string(t.account));
        log_event("info", "demo_voucher",
                  {field("voucher_id", static_cast<std::int64_t>(granted.voucher().voucher_id())),
                   field("program_id", std::int64_t{s.program_id}),
                   field("account_id", std::int64_t{t.account}), field("face_fen", kVoucherFaceFen),
                   field("expiry_ns", valid_until), field("grant_ref", grant.grant_ref())});
    }
    top_up_spot();
    thread_ = std::thread([this] { run(); });
}

void DemoMarket::resume(const cpx::v1::ListInstrumentsResponse& listed) {
    State& s = *state_;
    // A market an older demo listed lacks the spot product: it is not this demo's, and
    // is reported rather than traded.
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
    // The demo admitted its accounts right after the operator (ids 2 to 10): five
    // providers, three buyers, then the voucher issuer. Their keys were shown once and
    // are gone, so each gets a new one.
    const std::vector<std::vector<std::uint32_t>> provider_instruments = {
        {1, 2, kSpotInstrument}, {3}, {4}, {5}, {6}};
    for (std::uint32_t account = kFirstTrader; account <= kIssuer; ++account) {
        const cpx::v1::Role role = account <= kLastProvider ? cpx::v1::ROLE_PROVIDER
                                   : account <= kLastTrader ? cpx::v1::ROLE_BUYER
                                                            : cpx::v1::ROLE_ISSUER;
        cpx::v1::AccountRequest request;
        request.set_account_id(account);
        cpx::v1::BalancesResponse balance;
        const grpc::Status found = s.queries->GetBalances(
            context_for(operator_key_, std::chrono::seconds(10)).get(), request, &balance);
        if (!found.ok() || balance.role() != role) {
            log_event("warning", "demo_not_resumed",
                      {field("reason", std::string_view("the demo's accounts are not where it "
                                                        "left them: it trades no demo"))});
            s.traders.clear();
            return;
        }
        cpx::v1::CreateApiKeyRequest key_request;
        key_request.set_account_id(account);
        cpx::v1::CreateApiKeyResponse key;
        check(s.admin->CreateApiKey(context_for(operator_key_, std::chrono::seconds(10)).get(),
                                    key_request, &key),
              "key for the demo");
        log_event("info", "demo_account",
                  {field("account_id", std::int64_t{account}), field("role", role_name(role)),
                   field("api_key", key.api_key()), field("resumed", std::string_view("yes"))});
        if (role == cpx::v1::ROLE_ISSUER) {
            continue;  // it does not trade
        }
        Trader t;
        t.account = account;
        t.key = key.api_key();
        t.provider = role == cpx::v1::ROLE_PROVIDER;
        t.instruments = t.provider ? provider_instruments[account - kFirstTrader]
                                   : std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, kSpotInstrument};
        s.traders.push_back(t);
    }
    // The issuer's program, to report what it pays.
    cpx::v1::ListProgramsResponse programs;
    const grpc::Status listed_programs =
        s.vouchers->ListPrograms(context_for(operator_key_, std::chrono::seconds(10)).get(),
                                 cpx::v1::ListProgramsRequest(), &programs);
    const auto program = std::find_if(
        programs.programs().begin(), programs.programs().end(),
        [](const cpx::v1::VoucherProgram& p) { return p.spec().issuer_account_id() == kIssuer; });
    if (!listed_programs.ok() || program == programs.programs().end()) {
        log_event("warning", "demo_not_resumed",
                  {field("reason", std::string_view("the demo's voucher program is not there: "
                                                    "it trades no demo"))});
        s.traders.clear();
        return;
    }
    s.program_id = program->spec().program_id();
    log_program();
    top_up_spot();
    thread_ = std::thread([this] { run(); });
}

void DemoMarket::top_up_spot() {
    State& s = *state_;
    const auto seller = std::find_if(s.traders.begin(), s.traders.end(), [](const Trader& t) {
        return t.provider && std::find(t.instruments.begin(), t.instruments.end(),
                                       kSpotInstrument) != t.instruments.end();
    });
    if (seller == s.traders.end()) {
        return;
    }
    const DemoInstrument& d = s.instruments[kSpotInstrument - 1];
    cpx::v1::AccountRequest request;
    request.set_account_id(seller->account);
    cpx::v1::BalancesResponse balance;
    if (!s.queries
             ->GetBalances(context_for(seller->key, std::chrono::seconds(5)).get(), request,
                           &balance)
             .ok()) {
        return;
    }
    for (const cpx::v1::CapacityPosition& p : balance.capacity()) {
        if (p.kind() == cpx::v1::INSTRUMENT_KIND_COMPUTE && p.hub() == d.hub &&
            p.window_start_ns() == d.window_start_ns && p.window_end_ns() == d.window_end_ns &&
            p.registered() - p.offered() - p.sold() >= kSpotTopUpUnits) {
            return;
        }
    }
    // Enough devices for kSpotTopUpUnits P·h of the window, rounded up: P·h are P per
    // device x devices x hours of the window.
    const std::int64_t window_ns = d.window_end_ns - d.window_start_ns;
    const std::int64_t devices =
        (kSpotTopUpUnits * 1'000 * kNsPerHour + kH100MilliP * window_ns - 1) /
        (kH100MilliP * window_ns);
    cpx::v1::RegisterCapacityRequest reg;
    reg.set_account_id(seller->account);
    reg.set_kind(d.kind);
    reg.set_hub(d.hub);
    reg.set_window_start_ns(d.window_start_ns);
    reg.set_window_end_ns(d.window_end_ns);
    reg.set_accelerator_model("H100-SXM");
    reg.set_device_count(static_cast<std::uint32_t>(std::max<std::int64_t>(devices, 1)));
    reg.set_green_power_bps(8'500);
    cpx::v1::RegisterCapacityResponse registered;
    s.admin->RegisterCapacity(context_for(operator_key_, std::chrono::seconds(5)).get(), reg,
                              &registered);
}

void DemoMarket::settle_round() {
    State& s = *state_;
    const std::int64_t now = now_ns();
    top_up_spot();
    const auto window_started = [&](std::uint32_t id) {
        return id >= 1 && id <= s.instruments.size() &&
               s.instruments[id - 1].window_start_ns <= now;
    };
    // Each provider confirms what it delivered in windows that have begun: mostly all of
    // it, now and then nine tenths (the buyer is refunded the rest, with a penalty out of
    // the provider's collateral). An obligation already past its due time was never
    // confirmed in time (the demo was not running): it fails at settlement.
    bool due = false;
    std::size_t budget = kConfirmationsPerRound;
    std::int64_t confirmed = 0;
    std::int64_t partly = 0;
    for (const Trader& t : s.traders) {
        // A provider whose windows all lie ahead has nothing to confirm and nothing due.
        if (!t.provider ||
            std::none_of(t.instruments.begin(), t.instruments.end(), window_started)) {
            continue;
        }
        cpx::v1::ListObligationsRequest request;
        request.set_state(cpx::v1::OBLIGATION_STATE_OPEN);
        cpx::v1::ListObligationsResponse open;
        if (!s.settlement
                 ->ListObligations(context_for(t.key, std::chrono::seconds(10)).get(), request,
                                   &open)
                 .ok()) {
            continue;
        }
        for (const cpx::v1::Obligation& o : open.obligations()) {
            if (o.due_ns() <= now) {
                due = true;
                continue;
            }
            if (budget == 0 || !window_started(o.instrument_id())) {
                continue;
            }
            --budget;
            cpx::v1::ConfirmDeliveryRequest confirm;
            confirm.set_obligation_id(o.obligation_id());
            const bool part = o.quantity() >= 10 && s.rng() % 10 == 0;
            confirm.set_delivered_quantity(part ? o.quantity() - o.quantity() / 10 : o.quantity());
            cpx::v1::Obligation reply;
            if (s.settlement
                    ->ConfirmDelivery(context_for(t.key, std::chrono::seconds(5)).get(), confirm,
                                      &reply)
                    .ok()) {
                ++confirmed;
                partly += part ? 1 : 0;
            }
        }
    }
    if (confirmed > 0) {
        log_event("info", "demo_deliveries",
                  {field("confirmed", confirmed), field("partly_delivered", partly)});
    }
    // The operator runs settlement when a confirmed delivery's dispute period is over (or
    // an unconfirmed obligation is past its due time).
    if (!due) {
        cpx::v1::ListObligationsRequest request;
        request.set_state(cpx::v1::OBLIGATION_STATE_DELIVERED);
        cpx::v1::ListObligationsResponse delivered;
        if (s.settlement
                ->ListObligations(context_for(operator_key_, std::chrono::seconds(10)).get(),
                                  request, &delivered)
                .ok()) {
            due = std::any_of(delivered.obligations().begin(), delivered.obligations().end(),
                              [&](const cpx::v1::Obligation& o) { return o.due_ns() <= now; });
        }
    }
    if (!due) {
        return;
    }
    cpx::v1::RunSettlementRequest run;
    run.set_limit(kSettlementLimit);
    cpx::v1::SettlementRunResponse result;
    if (!s.settlement
             ->RunSettlement(context_for(operator_key_, std::chrono::seconds(10)).get(), run,
                             &result)
             .ok() ||
        result.settled() + result.failed() == 0) {
        return;
    }
    log_event(
        "info", "demo_settlement",
        {field("settled", static_cast<std::int64_t>(result.settled())),
         field("failed", static_cast<std::int64_t>(result.failed())),
         field("paid_fen", result.paid_fen()), field("fee_fen", result.fee_fen()),
         field("refunded_fen", result.refunded_fen()), field("penalty_fen", result.penalty_fen()),
         field("more_due", std::string_view(result.more_due() ? "yes" : "no"))});
    log_program();
}

void DemoMarket::log_program() {
    State& s = *state_;
    cpx::v1::ListProgramsRequest request;
    request.set_program_id(s.program_id);
    cpx::v1::ListProgramsResponse listed;
    if (!s.vouchers
             ->ListPrograms(context_for(operator_key_, std::chrono::seconds(5)).get(), request,
                            &listed)
             .ok() ||
        listed.programs().empty()) {
        return;
    }
    const cpx::v1::VoucherProgram& p = listed.programs(0);
    if (p.redeemed_fen() == s.redeemed_logged_fen) {
        return;
    }
    s.redeemed_logged_fen = p.redeemed_fen();
    log_event(
        "info", "demo_vouchers",
        {field("program_id", std::int64_t{s.program_id}), field("redeemed_fen", p.redeemed_fen()),
         field("redemptions", static_cast<std::int64_t>(p.redemptions())),
         field("budget_fen", p.budget_fen())});
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
    auto next_round = next + kRoundEvery;
    while (!stop_.load()) {
        next += interval;
        std::this_thread::sleep_until(next);
        if (std::chrono::steady_clock::now() >= next_round) {
            settle_round();
            next_round = std::chrono::steady_clock::now() + kRoundEvery;
            // Orders resume their pace from now rather than make up for the round's
            // time in a burst.
            next = std::max(next, std::chrono::steady_clock::now());
            continue;
        }
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
