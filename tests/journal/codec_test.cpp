// Tests of the journal's codec: every journalled request round-trips with every field it
// carries, damaged bodies are refused without reading out of bounds, and a journal
// replayed through a second exchange rebuilds the same state and the same output.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "../exchange/random_market.hpp"
#include "cpx/journal/codec.hpp"
#include "stress.hpp"

// Every heap allocation of this program is counted, so that a test can show that
// encoding (and decoding an order) allocates nothing.
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

// GCC, once it inlines these into a `new T` ... `delete` pair, sees malloc's block go to
// free through operator delete and warns of a mismatch; the pair is matched here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop

namespace cpx::journal {
namespace {

using exchange::AccountId;
using exchange::AccountSpec;
using exchange::Code;
using exchange::ExchangeConfig;
using exchange::KeyHash;
using exchange::Outbound;
using exchange::OutKind;
using exchange::Payload;
using exchange::Request;
using exchange::RequestType;
using exchange::Role;
using exchange::StateAction;
using exchange::test::cid;
using exchange::test::key_of;
using exchange::test::SplitMix64;
using matching::InstrumentKind;
using matching::OrderType;
using matching::SelfTradePrevention;
using matching::Side;
using matching::TimeInForce;
using matching::TradingState;

// A new field in one of these structures must be journalled (codec.cpp) and compared
// below; these sizes make sure nobody forgets.
static_assert(sizeof(Request) == 208, "Request changed: journal its new field");
static_assert(sizeof(matching::InstrumentSpec) == 160, "InstrumentSpec changed: journal it");
static_assert(sizeof(AccountSpec) == 104, "AccountSpec changed: journal its new field");
static_assert(sizeof(exchange::CapacityRegistration) == 112,
              "CapacityRegistration changed: journal its new field");
static_assert(sizeof(exchange::AcceleratorModel) == 48, "AcceleratorModel changed: journal it");

constexpr RequestType kJournalled[] = {
    RequestType::NewOrder,
    RequestType::Cancel,
    RequestType::Replace,
    RequestType::MassCancel,
    RequestType::Logon,
    RequestType::Logoff,
    RequestType::AddInstrument,
    RequestType::SetTradingState,
    RequestType::CreateAccount,
    RequestType::CreateApiKey,
    RequestType::CreditDeposit,
    RequestType::SetAcceleratorTable,
    RequestType::RegisterCapacity,
    RequestType::CreditCollateral,
    RequestType::Bootstrap,
    RequestType::Tick,
    RequestType::ConfirmDelivery,
    RequestType::DisputeDelivery,
    RequestType::ResolveDispute,
    RequestType::RunSettlement,
    RequestType::CreateVoucherProgram,
    RequestType::FundVoucherProgram,
    RequestType::GrantVoucher,
    RequestType::RevokeVoucher,
};
constexpr RequestType kQueries[] = {RequestType::ListInstruments, RequestType::OpenOrders,
                                    RequestType::Fills,           RequestType::Balances,
                                    RequestType::ListObligations, RequestType::ListVoucherPrograms,
                                    RequestType::ListVouchers,    RequestType::VoucherReport};
// The settlement steps, each with a payload of its own.
constexpr RequestType kSettlementSteps[] = {
    RequestType::CreditCollateral, RequestType::ConfirmDelivery, RequestType::DisputeDelivery,
    RequestType::ResolveDispute, RequestType::RunSettlement};

template <typename E>
int raw(E e) {
    return static_cast<int>(e);
}

// --- What a round trip must give back ----------------------------------------------

std::uint8_t canon(std::uint8_t v, std::uint8_t lo, std::uint8_t hi) {
    return v >= lo && v <= hi ? v : kUndefinedEnum;
}
template <typename E>
E canon(E e, std::uint8_t lo, std::uint8_t hi) {
    return static_cast<E>(canon(static_cast<std::uint8_t>(e), lo, hi));
}

// The request as the journal gives it back: no token, undefined enums as 0xFF, and no
// key hash for an order on a stream.
Request expected_request(const Request& r) {
    Request e = r;
    e.token = 0;
    e.payload = nullptr;
    e.side = canon(r.side, 0, 2);
    e.order_type = canon(r.order_type, 1, 2);
    e.tif = canon(r.tif, 1, 4);
    e.stp = canon(r.stp, 0, 3);
    e.flags = (r.flags & ~3u) == 0 ? r.flags : kUndefinedEnum;
    e.action = canon(r.action, 0, 8);
    if (exchange::is_order_command(r.type) && r.session != 0) {
        e.key_hash = KeyHash{};
    }
    return e;
}

// The payload inputs the request's type reads, and nothing else.
Payload expected_inputs(RequestType type, const Payload& p) {
    Payload e;
    auto account_spec = [&] {
        e.account = p.account;
        e.account.id = 0;
        e.account.role = canon(p.account.role, 0, 5);
    };
    switch (type) {
        case RequestType::AddInstrument:
            e.instrument = p.instrument;
            e.instrument.kind = canon(p.instrument.kind, 1, 2);
            e.instrument.initial_state = canon(p.instrument.initial_state, 0, 4);
            e.accelerator_model = p.accelerator_model;
            break;
        case RequestType::CreateAccount:
            account_spec();
            break;
        case RequestType::CreateApiKey:
            e.new_key_hash = p.new_key_hash;
            break;
        case RequestType::CreditDeposit:
        case RequestType::CreditCollateral:
            e.amount_fen = p.amount_fen;
            e.deposit_id = p.deposit_id;
            break;
        case RequestType::SetAcceleratorTable:
            e.models = p.models;
            break;
        case RequestType::ConfirmDelivery:
            e.obligation_id = p.obligation_id;
            e.delivered_quantity = p.delivered_quantity;
            break;
        case RequestType::DisputeDelivery:
            e.obligation_id = p.obligation_id;
            e.note = p.note;
            break;
        case RequestType::ResolveDispute:
            e.obligation_id = p.obligation_id;
            e.uphold = p.uphold;
            e.note = p.note;
            break;
        case RequestType::RunSettlement:
            e.settlement_limit = p.settlement_limit;
            break;
        case RequestType::CreateVoucherProgram:
            e.program = p.program;
            e.program.id = 0;
            e.program.mode = canon(p.program.mode, 1, 2);
            e.program.side = canon(p.program.side, 1, 2);
            break;
        case RequestType::FundVoucherProgram:
            e.program_id = p.program_id;
            e.amount_fen = p.amount_fen;
            e.voucher_ref = p.voucher_ref;
            break;
        case RequestType::GrantVoucher:
            e.program_id = p.program_id;
            e.voucher_face_fen = p.voucher_face_fen;
            e.voucher_expiry_ns = p.voucher_expiry_ns;
            e.voucher_ref = p.voucher_ref;
            break;
        case RequestType::RevokeVoucher:
            e.voucher_id = p.voucher_id;
            break;
        case RequestType::RegisterCapacity:
            e.capacity = p.capacity;
            e.capacity.kind = canon(p.capacity.kind, 1, 2);
            break;
        case RequestType::Bootstrap:
            account_spec();
            e.new_key_hash = p.new_key_hash;
            break;
        default:
            break;
    }
    return e;
}

void expect_same_request(const Request& want, const Request& got) {
    EXPECT_EQ(raw(want.type), raw(got.type));
    EXPECT_EQ(raw(want.side), raw(got.side));
    EXPECT_EQ(raw(want.order_type), raw(got.order_type));
    EXPECT_EQ(raw(want.tif), raw(got.tif));
    EXPECT_EQ(want.flags, got.flags);
    EXPECT_EQ(raw(want.stp), raw(got.stp));
    EXPECT_EQ(raw(want.action), raw(got.action));
    EXPECT_EQ(want.cancel_on_disconnect, got.cancel_on_disconnect);
    EXPECT_EQ(want.client_order_id_too_long, got.client_order_id_too_long);
    EXPECT_EQ(want.instrument, got.instrument);
    EXPECT_EQ(want.account, got.account);
    EXPECT_EQ(want.token, got.token);
    EXPECT_EQ(want.ts_ns, got.ts_ns);
    EXPECT_EQ(want.received_ns, got.received_ns);
    EXPECT_EQ(want.session, got.session);
    EXPECT_EQ(want.key_hash, got.key_hash);
    EXPECT_EQ(want.order_id, got.order_id);
    EXPECT_EQ(want.price, got.price);
    EXPECT_EQ(want.quantity, got.quantity);
    EXPECT_EQ(want.min_quantity, got.min_quantity);
    EXPECT_EQ(want.expiry_ns, got.expiry_ns);
    EXPECT_EQ(want.resume_after_seq, got.resume_after_seq);
    EXPECT_EQ(want.client_order_id.bytes, got.client_order_id.bytes);
    EXPECT_EQ(want.orig_client_order_id.bytes, got.orig_client_order_id.bytes);
}

void expect_same_inputs(const Payload& want, const Payload& got) {
    const matching::InstrumentSpec& a = want.instrument;
    const matching::InstrumentSpec& b = got.instrument;
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.symbol.bytes, b.symbol.bytes);
    EXPECT_EQ(raw(a.kind), raw(b.kind));
    EXPECT_EQ(a.hub.bytes, b.hub.bytes);
    EXPECT_EQ(a.unit.bytes, b.unit.bytes);
    EXPECT_EQ(a.window_start_ns, b.window_start_ns);
    EXPECT_EQ(a.window_end_ns, b.window_end_ns);
    EXPECT_EQ(a.tick_size, b.tick_size);
    EXPECT_EQ(a.lot_size, b.lot_size);
    EXPECT_EQ(a.quantity_min, b.quantity_min);
    EXPECT_EQ(a.quantity_max, b.quantity_max);
    EXPECT_EQ(a.price_min, b.price_min);
    EXPECT_EQ(a.price_max, b.price_max);
    EXPECT_EQ(a.band_bps, b.band_bps);
    EXPECT_EQ(a.reference_price, b.reference_price);
    EXPECT_EQ(a.market_protection_ticks, b.market_protection_ticks);
    EXPECT_EQ(raw(a.initial_state), raw(b.initial_state));

    EXPECT_EQ(want.account.id, got.account.id);
    EXPECT_EQ(want.account.name, got.account.name);
    EXPECT_EQ(raw(want.account.role), raw(got.account.role));
    EXPECT_EQ(want.account.owner_group, got.account.owner_group);
    EXPECT_EQ(want.account.order_quantity_max, got.account.order_quantity_max);
    EXPECT_EQ(want.account.order_notional_max_fen, got.account.order_notional_max_fen);
    EXPECT_EQ(want.account.orders_per_second_max, got.account.orders_per_second_max);

    EXPECT_EQ(want.new_key_hash, got.new_key_hash);
    EXPECT_EQ(want.amount_fen, got.amount_fen);
    EXPECT_EQ(want.deposit_id, got.deposit_id);

    EXPECT_EQ(want.models.size(), got.models.size());
    for (std::size_t i = 0; i < want.models.size() && i < got.models.size(); ++i) {
        EXPECT_EQ(want.models[i].model, got.models[i].model);
        EXPECT_EQ(want.models[i].milli_p_per_device, got.models[i].milli_p_per_device);
        EXPECT_EQ(want.models[i].domestic, got.models[i].domestic);
    }

    const exchange::CapacityRegistration& c = want.capacity;
    const exchange::CapacityRegistration& d = got.capacity;
    EXPECT_EQ(raw(c.kind), raw(d.kind));
    EXPECT_EQ(c.hub, d.hub);
    EXPECT_EQ(c.window_start_ns, d.window_start_ns);
    EXPECT_EQ(c.window_end_ns, d.window_end_ns);
    EXPECT_EQ(c.accelerator_model, d.accelerator_model);
    EXPECT_EQ(c.device_count, d.device_count);
    EXPECT_EQ(c.token_bundles, d.token_bundles);
    EXPECT_EQ(c.green_power_bps, d.green_power_bps);

    EXPECT_EQ(want.obligation_id, got.obligation_id);
    EXPECT_EQ(want.delivered_quantity, got.delivered_quantity);
    EXPECT_EQ(want.uphold, got.uphold);
    EXPECT_EQ(want.note, got.note);
    EXPECT_EQ(want.settlement_limit, got.settlement_limit);
    EXPECT_EQ(want.state_filter, got.state_filter);  // a query's input: never journalled

    EXPECT_EQ(want.accelerator_model, got.accelerator_model);
    const exchange::VoucherProgramSpec& v = want.program;
    const exchange::VoucherProgramSpec& w = got.program;
    EXPECT_EQ(v.id, w.id);
    EXPECT_EQ(v.issuer, w.issuer);
    EXPECT_EQ(v.name, w.name);
    EXPECT_EQ(v.budget_fen, w.budget_fen);
    EXPECT_EQ(v.share_bps, w.share_bps);
    EXPECT_EQ(raw(v.mode), raw(w.mode));
    EXPECT_EQ(raw(v.side), raw(w.side));
    EXPECT_EQ(v.cap_per_beneficiary_fen, w.cap_per_beneficiary_fen);
    EXPECT_EQ(v.cap_period_ns, w.cap_period_ns);
    EXPECT_EQ(v.pool_cap_fen, w.pool_cap_fen);
    EXPECT_EQ(v.kinds, w.kinds);
    EXPECT_EQ(v.hubs, w.hubs);
    EXPECT_EQ(v.accelerator_models, w.accelerator_models);
    EXPECT_EQ(v.domestic_only, w.domestic_only);
    EXPECT_EQ(v.approved_providers, w.approved_providers);
    EXPECT_EQ(v.allow_affiliated, w.allow_affiliated);
    EXPECT_EQ(v.allow_both_sides, w.allow_both_sides);
    EXPECT_EQ(v.valid_from_ns, w.valid_from_ns);
    EXPECT_EQ(v.valid_until_ns, w.valid_until_ns);
    EXPECT_EQ(want.program_id, got.program_id);
    EXPECT_EQ(want.voucher_face_fen, got.voucher_face_fen);
    EXPECT_EQ(want.voucher_expiry_ns, got.voucher_expiry_ns);
    EXPECT_EQ(want.voucher_ref, got.voucher_ref);
    EXPECT_EQ(want.voucher_id, got.voucher_id);
}

// Encodes, decodes, and checks that the request (and its payload inputs) came back.
void expect_round_trip(const Request& r) {
    std::string body;
    encode(r, body);
    Decoded d;
    std::string error;
    ASSERT_TRUE(decode(kind_of(r), r.ts_ns, body, d, error)) << error;
    expect_same_request(expected_request(r), d.request);
    if (has_payload(r.type)) {
        ASSERT_NE(d.payload, nullptr);
        ASSERT_EQ(d.request.payload, d.payload.get());
        expect_same_inputs(expected_inputs(r.type, *r.payload), *d.payload);
    } else {
        EXPECT_EQ(d.request.payload, nullptr);
    }
}

// --- Requests with every field set ---------------------------------------------------

Payload full_payload() {
    Payload p;
    matching::InstrumentSpec& s = p.instrument;
    s.id = 4242;
    s.symbol = matching::FixedText<32>::from("WUHU-H100-2027-01-01T08-PLUS-XYZ");  // 32 bytes
    s.kind = InstrumentKind::TokenBundle;
    s.hub = matching::FixedText<16>::from("HOHHOT-SOUTH");
    s.unit = matching::FixedText<16>::from("1M-tokens");
    s.window_start_ns = 1'731'536'000'000'000'000;
    s.window_end_ns = 1'731'572'000'000'000'000;
    s.tick_size = 5;
    s.lot_size = 2;
    s.quantity_min = 4;
    s.quantity_max = 2'000'000;
    s.price_min = 10;
    s.price_max = 4'000'000;
    s.band_bps = 750;
    s.reference_price = 5'000;
    s.market_protection_ticks = 33;
    s.initial_state = TradingState::CallAuction;

    p.account.id = 0;  // the exchange's output
    p.account.name = "provider-with-a-long-name";
    p.account.role = Role::Provider;
    p.account.owner_group = "group-7";
    p.account.order_quantity_max = 1'000;
    p.account.order_notional_max_fen = -1;  // refused by the exchange, but journalled
    p.account.orders_per_second_max = 4'000'000'000u;

    p.new_key_hash = key_of(77);
    p.amount_fen = 123'456'789'012;
    p.deposit_id = "bank-ref-2026-000042";
    p.models = {{"H100-SXM", 989, false}, {"ASCEND-910C", 780, true}, {"", -5, true}};

    exchange::CapacityRegistration& c = p.capacity;
    c.kind = InstrumentKind::TokenBundle;
    c.hub = "HOHHOT";
    c.window_start_ns = -1;
    c.window_end_ns = std::numeric_limits<std::int64_t>::max();
    c.accelerator_model = "H20";
    c.device_count = 0xFFFFFFFFu;
    c.token_bundles = std::numeric_limits<std::int64_t>::min();
    c.green_power_bps = 9'999;

    p.obligation_id = std::numeric_limits<std::uint64_t>::max();
    p.delivered_quantity = std::numeric_limits<std::int64_t>::min();  // refused, journalled
    p.uphold = true;
    p.note = std::string(256, '~');
    p.settlement_limit = 0xFFFFFFFFu;

    // Outputs, which the journal does not keep.
    p.instruments.push_back(exchange::InstrumentView{});
    p.table_version = 9;
    p.registered_units = 10;
    p.total_units = 11;
    p.duplicate = true;
    p.balance.balance_fen = 12;
    p.obligations.push_back(exchange::Obligation{});
    p.obligations.back().id = 13;
    p.settlement.settled = 14;
    p.settlement.more_due = true;
    return p;
}

Request full_request(RequestType type, exchange::SessionId session, Payload& payload) {
    Request r;
    r.type = type;
    r.side = Side::Sell;
    r.order_type = OrderType::Market;
    r.tif = TimeInForce::FOK;
    r.flags = matching::kFlagPostOnly | matching::kFlagAllOrNone;
    r.stp = SelfTradePrevention::CancelBoth;
    r.action = StateAction::SetReference;
    r.cancel_on_disconnect = true;
    r.client_order_id_too_long = true;
    r.instrument = 0xFFFFFFFFu;
    r.account = 77;
    r.token = 0xDEADBEEF;
    r.ts_ns = 1'700'000'000'123'456'789;
    r.received_ns = r.ts_ns - 42'000;
    r.session = session;
    r.key_hash = key_of(9);
    r.order_id = std::uint64_t{1} << 40;
    r.price = -12'345;
    r.quantity = std::int64_t{1} << 50;
    r.min_quantity = 7;
    r.expiry_ns = 1'800'000'000'000'000'000;
    r.resume_after_seq = std::numeric_limits<std::uint64_t>::max();
    r.client_order_id = cid("client-id-with-32-bytes-exactly!");
    r.orig_client_order_id = cid("orig-1");
    if (has_payload(type)) {
        payload = full_payload();
        r.payload = &payload;
    }
    return r;
}

// --- Random requests -----------------------------------------------------------------

std::uint64_t any_u64(SplitMix64& rng) {
    switch (rng.below(6)) {
        case 0:
            return 0;
        case 1:
            return rng.below(200);
        case 2:
            return rng.below(std::uint64_t{1} << 24);
        case 3:
            return rng.next();
        case 4:
            return std::numeric_limits<std::uint64_t>::max() - rng.below(3);
        default:
            return std::uint64_t{1} << rng.below(64);
    }
}
std::int64_t any_i64(SplitMix64& rng) {
    const std::uint64_t u = any_u64(rng);
    return static_cast<std::int64_t>(rng.chance(30) ? 0 - u : u);
}
std::uint32_t any_u32(SplitMix64& rng) {
    return static_cast<std::uint32_t>(any_u64(rng));
}
// Mostly a defined value, sometimes the gateway's 0xFF, sometimes any byte.
template <typename E>
E any_enum(SplitMix64& rng, std::uint8_t lo, std::uint8_t hi) {
    const std::uint64_t pick = rng.below(10);
    if (pick < 8) {
        return static_cast<E>(lo + rng.below(std::uint64_t{hi} - lo + 1));
    }
    return static_cast<E>(pick == 8 ? 0xFF : rng.below(256));
}
template <std::size_t N>
matching::FixedText<N> any_text(SplitMix64& rng) {
    matching::FixedText<N> t;
    const std::size_t n = static_cast<std::size_t>(rng.below(N + 1));
    const bool printable = rng.chance(70);
    for (std::size_t i = 0; i < n; ++i) {
        t.bytes[i] = static_cast<char>(printable ? 33 + rng.below(94) : rng.below(256));
    }
    return t;
}
std::string any_string(SplitMix64& rng) {
    std::string s(static_cast<std::size_t>(rng.below(rng.chance(90) ? 24 : 300)), '\0');
    for (char& c : s) {
        c = static_cast<char>(rng.below(256));
    }
    return s;
}
KeyHash any_key(SplitMix64& rng) {
    KeyHash k{};
    if (rng.chance(85)) {
        for (std::uint8_t& b : k) {
            b = static_cast<std::uint8_t>(rng.below(256));
        }
    }
    return k;
}

Payload random_payload(SplitMix64& rng) {
    Payload p;
    matching::InstrumentSpec& s = p.instrument;
    s.id = any_u32(rng);
    s.symbol = any_text<32>(rng);
    s.kind = any_enum<InstrumentKind>(rng, 1, 2);
    s.hub = any_text<16>(rng);
    s.unit = any_text<16>(rng);
    s.window_start_ns = any_i64(rng);
    s.window_end_ns = any_i64(rng);
    s.tick_size = any_i64(rng);
    s.lot_size = any_i64(rng);
    s.quantity_min = any_i64(rng);
    s.quantity_max = any_i64(rng);
    s.price_min = any_i64(rng);
    s.price_max = any_i64(rng);
    s.band_bps = any_u32(rng);
    s.reference_price = any_i64(rng);
    s.market_protection_ticks = any_u32(rng);
    s.initial_state = any_enum<TradingState>(rng, 0, 4);
    p.account.id = any_u32(rng);
    p.account.name = any_string(rng);
    p.account.role = any_enum<Role>(rng, 0, 5);
    p.account.owner_group = any_string(rng);
    p.account.order_quantity_max = any_i64(rng);
    p.account.order_notional_max_fen = any_i64(rng);
    p.account.orders_per_second_max = any_u32(rng);
    p.new_key_hash = any_key(rng);
    p.amount_fen = any_i64(rng);
    p.deposit_id = any_string(rng);
    const std::size_t models = static_cast<std::size_t>(rng.below(6));
    for (std::size_t i = 0; i < models; ++i) {
        p.models.push_back({any_string(rng), any_i64(rng), rng.chance(50)});
    }
    p.capacity.kind = any_enum<InstrumentKind>(rng, 1, 2);
    p.capacity.hub = any_string(rng);
    p.capacity.window_start_ns = any_i64(rng);
    p.capacity.window_end_ns = any_i64(rng);
    p.capacity.accelerator_model = any_string(rng);
    p.capacity.device_count = any_u32(rng);
    p.capacity.token_bundles = any_i64(rng);
    p.capacity.green_power_bps = any_u32(rng);
    p.obligation_id = any_u64(rng);
    p.delivered_quantity = any_i64(rng);
    p.uphold = rng.chance(50);
    p.note = any_string(rng);
    p.settlement_limit = any_u32(rng);
    p.table_version = any_u32(rng);
    p.duplicate = rng.chance(50);
    p.accelerator_model = rng.chance(50) ? any_string(rng) : std::string();
    exchange::VoucherProgramSpec& v = p.program;
    v.issuer = any_u32(rng);
    v.name = any_string(rng);
    v.budget_fen = any_i64(rng);
    v.share_bps = any_u32(rng);
    v.mode = any_enum<exchange::VoucherMode>(rng, 1, 2);
    v.side = any_enum<exchange::VoucherSide>(rng, 1, 2);
    v.cap_per_beneficiary_fen = any_i64(rng);
    v.cap_period_ns = any_i64(rng);
    v.pool_cap_fen = any_i64(rng);
    v.kinds = static_cast<std::uint8_t>(rng.below(256));
    for (std::uint64_t i = rng.below(4); i > 0; --i) {
        v.hubs.push_back(any_string(rng));
        v.accelerator_models.push_back(any_string(rng));
        v.approved_providers.push_back(any_u32(rng));
    }
    v.domestic_only = rng.chance(50);
    v.allow_affiliated = rng.chance(50);
    v.allow_both_sides = rng.chance(50);
    v.valid_from_ns = any_i64(rng);
    v.valid_until_ns = any_i64(rng);
    p.program_id = any_u32(rng);
    p.voucher_face_fen = any_i64(rng);
    p.voucher_expiry_ns = any_i64(rng);
    p.voucher_ref = any_string(rng);
    p.voucher_id = any_u64(rng);
    return p;
}

Request random_request(SplitMix64& rng, RequestType type, Payload& payload) {
    Request r;
    r.type = type;
    // Each field is set half the time, so that absent fields are exercised too.
    auto maybe = [&] { return rng.chance(50); };
    if (maybe()) {
        r.side = any_enum<Side>(rng, 0, 2);
    }
    if (maybe()) {
        r.order_type = any_enum<OrderType>(rng, 1, 2);
    }
    if (maybe()) {
        r.tif = any_enum<TimeInForce>(rng, 1, 4);
    }
    if (maybe()) {
        r.flags = rng.chance(80) ? static_cast<std::uint8_t>(rng.below(4))
                                 : static_cast<std::uint8_t>(rng.below(256));
    }
    if (maybe()) {
        r.stp = any_enum<SelfTradePrevention>(rng, 0, 3);
    }
    if (maybe()) {
        r.action = any_enum<StateAction>(rng, 0, 8);
    }
    r.cancel_on_disconnect = maybe();
    r.client_order_id_too_long = maybe();
    if (maybe()) {
        r.instrument = any_u32(rng);
    }
    if (maybe()) {
        r.account = any_u32(rng);
    }
    r.token = rng.next();
    r.ts_ns = any_i64(rng);
    if (maybe()) {
        // Never the sequencing time itself: the tests decode samples at other times,
        // and a receipt that lands on 0 is refused.
        r.received_ns = any_i64(rng);
        if (r.received_ns == r.ts_ns) {
            r.received_ns = 0;
        }
    }
    if (maybe()) {
        r.session = any_u64(rng);
    }
    if (maybe()) {
        r.key_hash = any_key(rng);
    }
    if (maybe()) {
        r.order_id = any_u64(rng);
    }
    if (maybe()) {
        r.price = any_i64(rng);
    }
    if (maybe()) {
        r.quantity = any_i64(rng);
    }
    if (maybe()) {
        r.min_quantity = any_i64(rng);
    }
    if (maybe()) {
        r.expiry_ns = any_i64(rng);
    }
    if (maybe()) {
        r.resume_after_seq = any_u64(rng);
    }
    if (maybe()) {
        r.client_order_id = any_text<32>(rng);
    }
    if (maybe()) {
        r.orig_client_order_id = any_text<32>(rng);
    }
    if (has_payload(type)) {
        payload = random_payload(rng);
        r.payload = &payload;
    }
    return r;
}

RequestType any_journalled(SplitMix64& rng) {
    return kJournalled[rng.below(std::size(kJournalled))];
}

// Valid bodies of every kind: each type with every field, on and off a stream, and
// random ones.
struct Sample {
    std::uint16_t kind = 0;
    std::string body;
};
std::vector<Sample> samples(std::size_t random_count) {
    std::vector<Sample> out;
    for (const RequestType type : kJournalled) {
        for (const exchange::SessionId session :
             {exchange::SessionId{0}, exchange::SessionId{42}}) {
            Payload p;
            const Request r = full_request(type, session, p);
            Sample s;
            s.kind = kind_of(r);
            encode(r, s.body);
            out.push_back(std::move(s));
        }
    }
    SplitMix64 rng(99);
    for (std::size_t i = 0; i < random_count; ++i) {
        Payload p;
        const Request r = random_request(rng, any_journalled(rng), p);
        Sample s;
        s.kind = kind_of(r);
        encode(r, s.body);
        out.push_back(std::move(s));
    }
    return out;
}

// --- Round trips ---------------------------------------------------------------------

TEST(JournalCodec, EveryJournalledTypeRoundTripsWithEveryField) {
    for (const RequestType type : kJournalled) {
        for (const exchange::SessionId session :
             {exchange::SessionId{0}, exchange::SessionId{42}}) {
            SCOPED_TRACE("type " + std::to_string(raw(type)) + " session " +
                         std::to_string(session));
            Payload p;
            const Request r = full_request(type, session, p);
            expect_round_trip(r);
        }
    }
}

TEST(JournalCodec, AnOrderOnAStreamDoesNotStoreItsKeyHash) {
    Payload unused;
    const Request unary = full_request(RequestType::NewOrder, 0, unused);
    Request stream = unary;
    stream.session = 42;
    std::string a;
    std::string b;
    encode(unary, a);
    encode(stream, b);
    EXPECT_EQ(a.size(), b.size() + 31);  // no hash (32 bytes), a session (1 byte)
    // The key hash of a Logon and of administration is kept whatever its session.
    Request logon = unary;
    logon.type = RequestType::Logon;
    logon.session = 42;
    Decoded d;
    std::string error;
    std::string body;
    encode(logon, body);
    ASSERT_TRUE(decode(kind_of(logon), 0, body, d, error)) << error;
    EXPECT_EQ(d.request.key_hash, key_of(9));
}

TEST(JournalCodec, TokenAndPayloadOutputsAreNotStored) {
    Payload with_outputs = full_payload();
    Payload without_outputs = full_payload();
    without_outputs.instruments.clear();
    without_outputs.table_version = 0;
    without_outputs.registered_units = 0;
    without_outputs.total_units = 0;
    without_outputs.duplicate = false;
    without_outputs.balance = exchange::BalanceView{};
    without_outputs.obligations.clear();
    without_outputs.settlement = exchange::SettlementRunResult{};
    without_outputs.account.id = 999;  // assigned by the exchange: an output
    without_outputs.state_filter = 3;  // ListObligations' input: not journalled
    for (const RequestType type : kJournalled) {
        Payload ignored;
        Request a = full_request(type, 0, ignored);
        Request b = a;
        a.payload = has_payload(type) ? &with_outputs : nullptr;
        b.payload = has_payload(type) ? &without_outputs : nullptr;
        b.token = 1;
        std::string x;
        std::string y;
        encode(a, x);
        encode(b, y);
        EXPECT_EQ(x, y) << raw(type);
    }
}

TEST(JournalCodec, DefaultRequestsRoundTrip) {
    for (const RequestType type : kJournalled) {
        Payload p;
        Request r;
        r.type = type;
        if (has_payload(type)) {
            r.payload = &p;
        }
        expect_round_trip(r);
    }
    // An administration request without a payload is stored with an empty one.
    Request r;
    r.type = RequestType::CreditDeposit;
    std::string body;
    encode(r, body);
    Decoded d;
    std::string error;
    ASSERT_TRUE(decode(kind_of(r), 0, body, d, error)) << error;
    ASSERT_NE(d.request.payload, nullptr);
    EXPECT_EQ(d.request.payload->amount_fen, 0);
}

TEST(JournalCodec, UndefinedEnumValuesAreStoredAsTheGatewaysInvalidValue) {
    Request r;
    r.type = RequestType::NewOrder;
    r.side = static_cast<Side>(3);
    r.order_type = static_cast<OrderType>(0);
    r.tif = static_cast<TimeInForce>(9);
    r.stp = static_cast<SelfTradePrevention>(0xFF);
    r.flags = 0x04;
    r.action = static_cast<StateAction>(100);
    std::string body;
    encode(r, body);
    Decoded d;
    std::string error;
    ASSERT_TRUE(decode(kind_of(r), 0, body, d, error)) << error;
    EXPECT_EQ(raw(d.request.side), 0xFF);
    EXPECT_EQ(raw(d.request.order_type), 0xFF);
    EXPECT_EQ(raw(d.request.tif), 0xFF);
    EXPECT_EQ(raw(d.request.stp), 0xFF);
    EXPECT_EQ(d.request.flags, 0xFF);
    EXPECT_EQ(raw(d.request.action), 0xFF);

    Payload p;
    p.capacity.kind = static_cast<InstrumentKind>(0);  // what the gateway passes
    Request reg;
    reg.type = RequestType::RegisterCapacity;
    reg.payload = &p;
    body.clear();
    encode(reg, body);
    ASSERT_TRUE(decode(kind_of(reg), 0, body, d, error)) << error;
    EXPECT_EQ(raw(d.payload->capacity.kind), 0xFF);
}

TEST(JournalCodec, RandomRequestsRoundTrip) {
    SplitMix64 rng(20'260'101);
    const std::uint64_t count = cpx::testing::scaled(20'000);
    Decoded d;  // reused, as a replay does
    std::string body;
    for (std::uint64_t i = 0; i < count && !::testing::Test::HasFailure(); ++i) {
        Payload p;
        const Request r = random_request(rng, any_journalled(rng), p);
        body.clear();
        encode(r, body);
        std::string error;
        ASSERT_TRUE(decode(kind_of(r), r.ts_ns, body, d, error)) << error << " at " << i;
        SCOPED_TRACE("request " + std::to_string(i));
        expect_same_request(expected_request(r), d.request);
        if (has_payload(r.type)) {
            ASSERT_EQ(d.request.payload, d.payload.get());
            expect_same_inputs(expected_inputs(r.type, p), *d.payload);
        } else {
            EXPECT_EQ(d.request.payload, nullptr);
        }
    }
}

TEST(JournalCodec, IsJournalledIsFalseForQueriesOnly) {
    for (const RequestType type : kQueries) {
        EXPECT_FALSE(is_journalled(type)) << raw(type);
        EXPECT_FALSE(has_payload(type)) << raw(type);
    }
    for (const RequestType type : kJournalled) {
        EXPECT_TRUE(is_journalled(type)) << raw(type);
    }
    // Every kind that is not a journalled type is refused, whatever the body.
    std::string body;
    Request tick;
    encode(tick, body);
    Decoded d;
    for (std::uint32_t kind = 0; kind <= 0xFFFF; ++kind) {
        bool journalled = false;
        for (const RequestType type : kJournalled) {
            journalled = journalled || static_cast<std::uint32_t>(type) == kind;
        }
        std::string error;
        const bool ok = decode(static_cast<std::uint16_t>(kind), 0, body, d, error);
        if (journalled) {
            // A Tick's body is a valid body of every type without payload.
            EXPECT_EQ(ok, error.empty()) << kind;
        } else {
            EXPECT_FALSE(ok) << kind;
            EXPECT_NE(error.find("unknown kind"), std::string::npos) << kind << ": " << error;
        }
    }
}

// --- Damaged bodies ------------------------------------------------------------------

TEST(JournalCodec, EveryTruncationIsRefused) {
    const std::vector<Sample> all = samples(300);
    Decoded d;
    for (const Sample& s : all) {
        std::string error;
        ASSERT_TRUE(decode(s.kind, 0, s.body, d, error)) << error;
        for (std::size_t n = 0; n < s.body.size(); ++n) {
            // A copy of exactly n bytes, so that the sanitizers see a read past it.
            const std::vector<char> prefix(s.body.begin(),
                                           s.body.begin() + static_cast<std::ptrdiff_t>(n));
            error.clear();
            EXPECT_FALSE(decode(s.kind, 0, std::string_view(prefix.data(), n), d, error))
                << "kind " << s.kind << " prefix " << n << " of " << s.body.size();
            EXPECT_FALSE(error.empty());
        }
    }
}

TEST(JournalCodec, TrailingBytesAreRefused) {
    Decoded d;
    for (const Sample& s : samples(100)) {
        for (const char extra : {'\0', '\x01', '\xFF'}) {
            std::string error;
            EXPECT_FALSE(decode(s.kind, 0, s.body + extra, d, error));
            EXPECT_EQ(error, "trailing bytes");
        }
    }
}

TEST(JournalCodec, UnknownVersionIsRefused) {
    Decoded d;
    for (const Sample& s : samples(20)) {
        // Version 2 is AddInstrument's alone (kAddInstrumentVersion).
        const bool add_instrument =
            s.kind == static_cast<std::uint16_t>(RequestType::AddInstrument);
        // (A version 1 AddInstrument body is read without the model, so this one's
        // model is then refused as trailing bytes.)
        for (const int version : {0, add_instrument ? 3 : 2, 3, 0x7F, 0x80, 0x83, 0xFF}) {
            std::string body = s.body;
            body[0] = static_cast<char>(version);
            std::string error;
            EXPECT_FALSE(decode(s.kind, 0, body, d, error));
            EXPECT_EQ(error, "unknown format version");
        }
    }
    std::string error;
    EXPECT_FALSE(decode(kind_of(Request{}), 0, "", d, error));
    EXPECT_FALSE(error.empty());
}

TEST(JournalCodec, AnInstrumentJournalledBeforeAcceleratorModelsStillDecodes) {
    // A version 1 AddInstrument row is today's without the model string at its end.
    Request r;
    r.type = RequestType::AddInstrument;
    Payload p;
    p.instrument.id = 5;
    p.instrument.symbol = matching::FixedText<32>::from("S");
    r.payload = &p;
    std::string body;
    encode(r, body);
    ASSERT_EQ(body[0], static_cast<char>(kAddInstrumentVersion));
    ASSERT_EQ(body.back(), '\0');  // the empty model
    std::string old = body.substr(0, body.size() - 1);
    old[0] = static_cast<char>(kFormatVersion);
    Decoded d;
    std::string error;
    ASSERT_TRUE(decode(kind_of(r), 0, old, d, error)) << error;
    EXPECT_EQ(d.payload->instrument.id, 5u);
    EXPECT_TRUE(d.payload->accelerator_model.empty());
    // A model journalled today comes back.
    p.accelerator_model = "ASCEND-910B";
    encode(r, body = {});
    ASSERT_TRUE(decode(kind_of(r), 0, body, d, error)) << error;
    EXPECT_EQ(d.payload->accelerator_model, "ASCEND-910B");
}

// Sets the byte at `at` (from the end when negative) of the body of r to each value and
// expects a refusal as an enum out of range.
void expect_enum_refused(const Request& r, std::ptrdiff_t at, std::initializer_list<int> values) {
    std::string body;
    encode(r, body);
    const std::size_t index =
        at >= 0 ? static_cast<std::size_t>(at) : body.size() - static_cast<std::size_t>(-at);
    Decoded d;
    std::string error;
    ASSERT_TRUE(decode(kind_of(r), 0, body, d, error)) << error;
    for (const int v : values) {
        std::string bad = body;
        bad[index] = static_cast<char>(v);
        error.clear();
        EXPECT_FALSE(decode(kind_of(r), 0, bad, d, error)) << "value " << v;
        EXPECT_FALSE(error.empty());
    }
}

TEST(JournalCodec, OutOfRangeEnumsAreRefused) {
    // A request with one field set: that field's byte is the body's last.
    Request r;
    r.type = RequestType::NewOrder;
    r.side = Side::Buy;
    expect_enum_refused(r, -1, {3, 4, 0x80, 0xFE});
    r = Request{};
    r.order_type = OrderType::Market;
    expect_enum_refused(r, -1, {0, 3, 0xFE});
    r = Request{};
    r.tif = TimeInForce::IOC;
    expect_enum_refused(r, -1, {0, 5, 0xFE});
    r = Request{};
    r.stp = SelfTradePrevention::None;
    expect_enum_refused(r, -1, {4, 0x7F, 0xFE});
    r = Request{};
    r.flags = matching::kFlagAllOrNone;
    expect_enum_refused(r, -1, {4, 7, 0x80, 0xFE});
    r = Request{};
    r.type = RequestType::SetTradingState;
    Payload p;
    r.payload = &p;
    r.action = StateAction::Halt;
    expect_enum_refused(r, -1, {9, 0x40, 0xFE});

    // Payload enums. CreateAccount: 01 00 | name (01 'a') | role ...
    r = Request{};
    r.type = RequestType::CreateAccount;
    p = Payload{};
    p.account.name = "a";
    p.account.role = Role::Buyer;
    r.payload = &p;
    expect_enum_refused(r, 4, {6, 0x10, 0xFE});
    r.type = RequestType::Bootstrap;
    expect_enum_refused(r, 4, {6, 0xFE});
    // AddInstrument: 02 00 | id 05 | symbol (01 'S') | kind ... | initial_state | the
    // empty accelerator model (00, last).
    r = Request{};
    r.type = RequestType::AddInstrument;
    p = Payload{};
    p.instrument.id = 5;
    p.instrument.symbol = matching::FixedText<32>::from("S");
    r.payload = &p;
    expect_enum_refused(r, 5, {0, 3, 0xFE});
    expect_enum_refused(r, -2, {5, 6, 0xFE});
    // CreateVoucherProgram: 01 00 | issuer 01 | name (01 'n') | budget 00 | share 01 |
    // mode | side ...
    r = Request{};
    r.type = RequestType::CreateVoucherProgram;
    p = Payload{};
    p.program.issuer = 1;
    p.program.name = "n";
    p.program.share_bps = 1;
    r.payload = &p;
    expect_enum_refused(r, 7, {0, 3, 0xFE});
    expect_enum_refused(r, 8, {0, 3, 0xFE});
    // RegisterCapacity: 01 00 | kind ...
    r.type = RequestType::RegisterCapacity;
    expect_enum_refused(r, 2, {0, 3, 0xFE});
    // SetAcceleratorTable: ... | domestic (last), a boolean.
    r.type = RequestType::SetAcceleratorTable;
    p.models = {{"m", 1, true}};
    expect_enum_refused(r, -1, {2, 0xFF});
}

TEST(JournalCodec, OtherMalformedBodiesAreRefused) {
    Decoded d;
    std::string error;
    const std::uint16_t new_order = static_cast<std::uint16_t>(RequestType::NewOrder);
    // An unknown field bit in the mask.
    EXPECT_FALSE(decode(new_order, 0, std::string("\x01\x80\x80\x40", 4), d, error));
    EXPECT_EQ(error, "unknown field in the mask");
    // A varint that is not in its shortest form, or overflows 64 bits.
    EXPECT_FALSE(decode(new_order, 0, std::string("\x01\x80\x00", 3), d, error));
    EXPECT_EQ(error, "varint not in its shortest form");
    std::string overflow("\x01\x04", 2);  // session follows
    overflow += std::string(9, '\xFF') + '\x02';
    EXPECT_FALSE(decode(new_order, 0, overflow, d, error));
    EXPECT_EQ(error, "varint overflows 64 bits");
    // An instrument id beyond 32 bits.
    EXPECT_FALSE(decode(new_order, 0, std::string("\x01\x02\x80\x80\x80\x80\x10", 7), d, error));
    EXPECT_EQ(error, "value overflows 32 bits");
    // A client order id longer than its 32 bytes.
    std::string long_id("\x01\x20\x21", 3);
    long_id += std::string(33, 'x');
    EXPECT_FALSE(decode(new_order, 0, long_id, d, error));
    EXPECT_EQ(error, "text longer than its field");
    // A string or a model count longer than the body.
    const std::uint16_t deposit = static_cast<std::uint16_t>(RequestType::CreditDeposit);
    EXPECT_FALSE(decode(deposit, 0,
                        std::string("\x01\x00\x02\x7F"
                                    "abc",
                                    7),
                        d, error));
    EXPECT_EQ(error, "string longer than the body");
    const std::uint16_t table = static_cast<std::uint16_t>(RequestType::SetAcceleratorTable);
    EXPECT_FALSE(decode(table, 0, std::string("\x01\x00\xFF\xFF\xFF\xFF\x0F", 7), d, error));
    EXPECT_EQ(error, "more models than the body holds");
}

TEST(JournalCodec, RandomDamageNeverCrashesAndIsDecodedOrRefused) {
    const std::vector<Sample> all = samples(500);
    SplitMix64 rng(4242);
    const std::uint64_t rounds = cpx::testing::scaled(200'000);
    Decoded d;
    Decoded again;
    std::uint64_t decoded = 0;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        const Sample& s = all[static_cast<std::size_t>(rng.below(all.size()))];
        std::string body = s.body;
        const std::uint64_t damage = rng.below(10);
        if (damage < 6) {
            const std::uint64_t flips = 1 + rng.below(4);
            for (std::uint64_t f = 0; f < flips; ++f) {
                const std::size_t at = static_cast<std::size_t>(rng.below(body.size()));
                if (rng.chance(50)) {
                    body[at] = static_cast<char>(body[at] ^ (1 << rng.below(8)));
                } else {
                    body[at] = static_cast<char>(rng.below(256));
                }
            }
        } else if (damage < 7) {
            body.insert(static_cast<std::size_t>(rng.below(body.size() + 1)), 1,
                        static_cast<char>(rng.below(256)));
        } else if (damage < 8) {
            body.erase(static_cast<std::size_t>(rng.below(body.size())), 1);
        } else {
            body.assign(static_cast<std::size_t>(rng.below(80)), '\0');
            for (char& c : body) {
                c = static_cast<char>(rng.below(256));
            }
            if (!body.empty() && rng.chance(80)) {
                body[0] = static_cast<char>(kFormatVersion);
            }
        }
        const std::uint16_t kind =
            rng.chance(95) ? s.kind : static_cast<std::uint16_t>(rng.below(0x10000));
        // An exact-size copy, so that the sanitizers catch a read past the end.
        const std::vector<char> bytes(body.begin(), body.end());
        std::string error;
        const bool ok = decode(kind, 0, std::string_view(bytes.data(), bytes.size()), d, error);
        if (!ok) {
            ASSERT_FALSE(error.empty());
            continue;
        }
        ++decoded;
        // What decodes encodes again to something that decodes to the same request.
        std::string again_body;
        encode(d.request, again_body);
        ASSERT_TRUE(decode(kind, 0, again_body, again, error)) << error;
        expect_same_request(expected_request(d.request), again.request);
        if (has_payload(d.request.type)) {
            expect_same_inputs(expected_inputs(d.request.type, *d.payload), *again.payload);
        }
        if (::testing::Test::HasFailure()) {
            FAIL() << "round " << i;
        }
    }
    std::printf("[          ] %llu of %llu damaged bodies decoded\n",
                static_cast<unsigned long long>(decoded), static_cast<unsigned long long>(rounds));
}

// --- Settlement steps ----------------------------------------------------------------

// A request of the type with nothing but its payload set, as the operator would send it
// without a key (so that the body is the version, an empty mask, then the payload).
std::string bare_body(RequestType type, Payload& p) {
    Request r;
    r.type = type;
    r.payload = &p;
    std::string body;
    encode(r, body);
    return body;
}

TEST(JournalCodec, SettlementStepsAreJournalledAndListObligationsIsNot) {
    for (const RequestType type : kSettlementSteps) {
        EXPECT_TRUE(is_journalled(type)) << raw(type);
        EXPECT_TRUE(has_payload(type)) << raw(type);
    }
    EXPECT_FALSE(is_journalled(RequestType::ListObligations));
    EXPECT_FALSE(has_payload(RequestType::ListObligations));
    EXPECT_EQ(exchange::changes_state(RequestType::ListObligations), false);
    for (const RequestType type : kSettlementSteps) {
        EXPECT_EQ(exchange::changes_state(type), is_journalled(type)) << raw(type);
    }
}

TEST(JournalCodec, SettlementStepBodiesAreTheDocumentedBytes) {
    Payload p;
    p.obligation_id = 7;
    p.delivered_quantity = 3;
    EXPECT_EQ(bare_body(RequestType::ConfirmDelivery, p), std::string("\x01\x00\x07\x06", 4));
    p = Payload{};
    p.obligation_id = 300;  // two varint bytes: AC 02
    p.note = "late";
    EXPECT_EQ(bare_body(RequestType::DisputeDelivery, p), std::string("\x01\x00\xAC\x02\x04"
                                                                      "late",
                                                                      9));
    p = Payload{};
    p.obligation_id = 7;
    p.uphold = true;
    EXPECT_EQ(bare_body(RequestType::ResolveDispute, p), std::string("\x01\x00\x07\x01\x00", 5));
    p.uphold = false;
    p.note = "ok";
    EXPECT_EQ(bare_body(RequestType::ResolveDispute, p), std::string("\x01\x00\x07\x00\x02"
                                                                     "ok",
                                                                     7));
    p = Payload{};
    p.settlement_limit = 5;
    EXPECT_EQ(bare_body(RequestType::RunSettlement, p), std::string("\x01\x00\x05", 3));
    p.settlement_limit = 0;  // no limit: still stored, as one byte
    EXPECT_EQ(bare_body(RequestType::RunSettlement, p), std::string("\x01\x00\x00", 3));
    // A collateral credit is encoded as a deposit.
    p = Payload{};
    p.amount_fen = 100;  // zigzag 200: C8 01
    p.deposit_id = "c1";
    EXPECT_EQ(bare_body(RequestType::CreditCollateral, p), std::string("\x01\x00\xC8\x01\x02"
                                                                       "c1",
                                                                       7));
    EXPECT_EQ(bare_body(RequestType::CreditCollateral, p),
              bare_body(RequestType::CreditDeposit, p));
    // Adding types kept the format version.
    EXPECT_EQ(kFormatVersion, 1);
}

TEST(JournalCodec, SettlementStepsRoundTripAsTheOperatorSendsThem) {
    const KeyHash key = key_of(5);
    const auto as_sent = [&](RequestType type, Payload& p, AccountId account = 0) {
        Request r;
        r.type = type;
        r.key_hash = key;
        r.account = account;
        r.token = 99;
        r.ts_ns = 1'893'456'000'000'000'123;
        r.payload = &p;
        return r;
    };
    Payload collateral;
    collateral.amount_fen = 5'000'000;
    collateral.deposit_id = "collateral-wire-0001";
    expect_round_trip(as_sent(RequestType::CreditCollateral, collateral, 12));
    Payload confirm;
    confirm.obligation_id = 1'234'567;
    confirm.delivered_quantity = 98;
    expect_round_trip(as_sent(RequestType::ConfirmDelivery, confirm));
    confirm.delivered_quantity = -1;  // refused by the exchange, but journalled as sent
    expect_round_trip(as_sent(RequestType::ConfirmDelivery, confirm));
    Payload dispute;
    dispute.obligation_id = 1;
    dispute.note = "only 40 of 98 P*h delivered; metering log attached";
    expect_round_trip(as_sent(RequestType::DisputeDelivery, dispute));
    dispute.note = std::string("\0\x01\xFF", 3);  // refused by the exchange, journalled
    expect_round_trip(as_sent(RequestType::DisputeDelivery, dispute));
    for (const bool uphold : {false, true}) {
        Payload resolve;
        resolve.obligation_id = std::uint64_t{1} << 40;
        resolve.uphold = uphold;
        resolve.note = uphold ? "metering confirms the shortfall" : "";
        expect_round_trip(as_sent(RequestType::ResolveDispute, resolve));
    }
    for (const std::uint32_t limit : {0u, 1u, 1'000u, 0xFFFFFFFFu}) {
        Payload run;
        run.settlement_limit = limit;
        expect_round_trip(as_sent(RequestType::RunSettlement, run));
    }
}

TEST(JournalCodec, TruncatedSettlementStepsAreRefused) {
    for (const RequestType type : kSettlementSteps) {
        for (const bool full : {false, true}) {
            SCOPED_TRACE("type " + std::to_string(raw(type)) + (full ? " full" : " default"));
            Payload p;
            Request r;
            if (full) {
                r = full_request(type, 0, p);
            } else {
                r.type = type;
                r.payload = &p;
            }
            std::string body;
            encode(r, body);
            Decoded d;
            std::string error;
            ASSERT_TRUE(decode(kind_of(r), 0, body, d, error)) << error;
            for (std::size_t n = 0; n < body.size(); ++n) {
                const std::vector<char> prefix(body.begin(),
                                               body.begin() + static_cast<std::ptrdiff_t>(n));
                error.clear();
                EXPECT_FALSE(decode(kind_of(r), 0, std::string_view(prefix.data(), n), d, error))
                    << "prefix " << n << " of " << body.size();
                EXPECT_FALSE(error.empty());
                EXPECT_EQ(d.request.payload, nullptr);
            }
        }
    }
}

TEST(JournalCodec, MalformedSettlementStepsAreRefused) {
    Decoded d;
    std::string error;
    const auto kind = [](RequestType type) { return static_cast<std::uint16_t>(type); };
    // uphold is a boolean.
    EXPECT_FALSE(decode(kind(RequestType::ResolveDispute), 0,
                        std::string("\x01\x00\x07\x02\x00", 5), d, error));
    EXPECT_EQ(error, "boolean neither 0 nor 1");
    Request resolve;
    resolve.type = RequestType::ResolveDispute;
    Payload p;
    p.obligation_id = 7;
    resolve.payload = &p;
    expect_enum_refused(resolve, -2, {2, 0x80, 0xFF});
    // A settlement limit beyond 32 bits.
    EXPECT_FALSE(decode(kind(RequestType::RunSettlement), 0,
                        std::string("\x01\x00\x80\x80\x80\x80\x10", 7), d, error));
    EXPECT_EQ(error, "value overflows 32 bits");
    // A note longer than the body, however long it claims to be.
    EXPECT_FALSE(decode(kind(RequestType::DisputeDelivery), 0,
                        std::string("\x01\x00\x07\x05"
                                    "late",
                                    8),
                        d, error));
    EXPECT_EQ(error, "string longer than the body");
    EXPECT_FALSE(decode(kind(RequestType::DisputeDelivery), 0,
                        std::string("\x01\x00\x07\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01", 14), d,
                        error));
    EXPECT_EQ(error, "string longer than the body");
    // An obligation id that overflows 64 bits, or is not in its shortest form.
    std::string overflow("\x01\x00", 2);
    overflow += std::string(9, '\xFF') + '\x02' + '\x02';
    EXPECT_FALSE(decode(kind(RequestType::ConfirmDelivery), 0, overflow, d, error));
    EXPECT_EQ(error, "varint overflows 64 bits");
    EXPECT_FALSE(decode(kind(RequestType::ConfirmDelivery), 0,
                        std::string("\x01\x00\x87\x00\x02", 5), d, error));
    EXPECT_EQ(error, "varint not in its shortest form");
    // A body with bytes after the payload.
    EXPECT_FALSE(
        decode(kind(RequestType::RunSettlement), 0, std::string("\x01\x00\x05\x00", 4), d, error));
    EXPECT_EQ(error, "trailing bytes");
}

// --- Size and speed ------------------------------------------------------------------

Request stream_order() {
    Request r;
    r.type = RequestType::NewOrder;
    r.session = 1'234;
    r.side = Side::Buy;
    r.instrument = 2;
    r.price = 100'000;  // 1000.00 CNY
    r.quantity = 10;
    r.client_order_id = cid("ord-12345");
    r.ts_ns = 1'700'000'000'000'000'000;
    r.token = 77;
    return r;
}

TEST(JournalCodec, OrdersAreSmall) {
    std::string body;
    const Request stream = stream_order();
    encode(stream, body);
    const std::size_t stream_bytes = body.size();
    Request stamped = stream;
    stamped.received_ns = stamped.ts_ns - 80'000;  // a typical wait under load
    body.clear();
    encode(stamped, body);
    const std::size_t stamped_bytes = body.size();
    Request unary = stream;
    unary.session = 0;
    unary.key_hash = key_of(1234);
    body.clear();
    encode(unary, body);
    const std::size_t unary_bytes = body.size();
    Request cancel;
    cancel.type = RequestType::Cancel;
    cancel.session = 1'234;
    cancel.order_id = 123'456'789;
    cancel.client_order_id = cid("cxl-12346");
    body.clear();
    encode(cancel, body);
    std::printf(
        "[          ] stream NewOrder %zu bytes (%zu with its receipt time), unary NewOrder "
        "%zu bytes, stream Cancel %zu bytes\n",
        stream_bytes, stamped_bytes, unary_bytes, body.size());
    EXPECT_LT(stream_bytes, 30u);
    EXPECT_LE(stamped_bytes, stream_bytes + 3);
    EXPECT_LT(unary_bytes, 60u);
    EXPECT_LT(body.size(), 30u);
}

TEST(JournalCodec, TheGatewaysReceiptTimeRidesBehindTheVersionFlag) {
    Request r = stream_order();
    r.ts_ns = 1'700'000'000'000'000'000;
    std::string bare;
    encode(r, bare);
    r.received_ns = r.ts_ns - 1'500;  // waited 1.5 us: zigzag 3000 is B8 17
    std::string body;
    encode(r, body);
    ASSERT_EQ(body.size(), bare.size() + 2);
    EXPECT_EQ(static_cast<std::uint8_t>(body[0]), kFormatVersion | kReceivedFlag);
    EXPECT_EQ(body.substr(1, 2), std::string("\xB8\x17", 2));
    EXPECT_EQ(body.substr(3), bare.substr(1));
    Decoded d;
    std::string error;
    ASSERT_TRUE(decode(kind_of(r), r.ts_ns, body, d, error)) << error;
    EXPECT_EQ(d.request.received_ns, r.ts_ns - 1'500);
    // The same bytes under another sequencing time keep the wait, not the instant.
    ASSERT_TRUE(decode(kind_of(r), r.ts_ns + 7, body, d, error)) << error;
    EXPECT_EQ(d.request.received_ns, r.ts_ns + 7 - 1'500);
    // A receipt at 0 means "not stamped", which the encoder never writes with the flag.
    EXPECT_FALSE(decode(kind_of(r), 1'500, body, d, error));
    EXPECT_EQ(error, "receipt time of 0");
    // Unstamped requests keep their bytes.
    ASSERT_TRUE(decode(kind_of(r), r.ts_ns, bare, d, error)) << error;
    EXPECT_EQ(d.request.received_ns, 0);
}

TEST(JournalCodec, EncodingAndDecodingAnOrderAllocateNothing) {
    const Request stream = stream_order();
    Request unary = stream;
    unary.session = 0;
    unary.key_hash = key_of(1);
    std::string out;
    out.reserve(256);
    Decoded d;
    std::string error;
    encode(stream, out);
    ASSERT_TRUE(decode(kind_of(stream), 0, out, d, error));
    const std::uint64_t before = g_allocations.load();
    for (int i = 0; i < 1'000; ++i) {
        out.clear();
        encode(i % 2 == 0 ? stream : unary, out);
        ASSERT_TRUE(decode(kind_of(stream), 0, out, d, error));
    }
    EXPECT_EQ(g_allocations.load(), before);
}

TEST(JournalCodec, EncodeSpeed) {
    // Prints ns per encode and decode; asserts nothing about time (shared machines).
    const std::uint64_t n = 1'000'000;
    for (const bool on_stream : {true, false}) {
        Request r = stream_order();
        if (!on_stream) {
            r.session = 0;
            r.key_hash = key_of(1);
        }
        std::string out;
        out.reserve(256);
        std::uint64_t sum = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < n; ++i) {
            out.clear();
            r.price = static_cast<matching::Price>(100'000 + (i & 1023));
            encode(r, out);
            sum += out.size();
        }
        const auto t1 = std::chrono::steady_clock::now();
        Decoded d;
        std::string error;
        for (std::uint64_t i = 0; i < n; ++i) {
            if (decode(kind_of(r), static_cast<std::int64_t>(i), out, d, error)) {
                sum += static_cast<std::uint64_t>(d.request.price);
            }
        }
        const auto t2 = std::chrono::steady_clock::now();
        const double encode_ns =
            static_cast<double>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()) /
            static_cast<double>(n);
        const double decode_ns =
            static_cast<double>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(t2 - t1).count()) /
            static_cast<double>(n);
        std::printf("[          ] %s NewOrder (%zu bytes): encode %.1f ns, decode %.1f ns (%llu)\n",
                    on_stream ? "stream" : "unary", out.size(), encode_ns, decode_ns,
                    static_cast<unsigned long long>(sum % 10));
    }
}

// --- Replay --------------------------------------------------------------------------

// Zero-token copies: a replayed request has no caller, so its answers carry token 0.
Outbound without_token(Outbound o) {
    o.token = 0;
    return o;
}

// What an administration request gave its caller in the payload.
struct PayloadOutputs {
    AccountId account_id = 0;
    std::uint32_t table_version = 0;
    matching::Quantity registered_units = 0;
    matching::Quantity total_units = 0;
    bool duplicate = false;
    matching::Price balance_fen = 0;
    std::size_t instruments = 0;
    int state = -1;
    matching::Price reference_price = 0;
    std::size_t obligations = 0;
    std::uint64_t first_obligation = 0;
    int first_obligation_state = 0;
    std::uint64_t settled = 0;
    std::uint64_t failed = 0;
    matching::Price paid_fen = 0;
    matching::Price fee_fen = 0;
    matching::Price refunded_fen = 0;
    matching::Price penalty_fen = 0;
    bool more_due = false;

    bool operator==(const PayloadOutputs&) const = default;
};
PayloadOutputs outputs_of(const Payload& p) {
    PayloadOutputs o;
    o.account_id = p.account.id;
    o.table_version = p.table_version;
    o.registered_units = p.registered_units;
    o.total_units = p.total_units;
    o.duplicate = p.duplicate;
    o.balance_fen = p.balance.balance_fen;
    o.instruments = p.instruments.size();
    if (!p.instruments.empty()) {
        o.state = raw(p.instruments.back().state);
        o.reference_price = p.instruments.back().reference_price;
    }
    o.obligations = p.obligations.size();
    if (!p.obligations.empty()) {
        o.first_obligation = p.obligations.front().id;
        o.first_obligation_state = raw(p.obligations.front().state);
    }
    o.settled = p.settlement.settled;
    o.failed = p.settlement.failed;
    o.paid_fen = p.settlement.amounts.paid_fen;
    o.fee_fen = p.settlement.amounts.fee_fen;
    o.refunded_fen = p.settlement.amounts.refunded_fen;
    o.penalty_fen = p.settlement.amounts.penalty_fen;
    o.more_due = p.settlement.more_due;
    return o;
}

struct Row {
    std::int64_t ts_ns = 0;
    std::uint16_t kind = 0;
    std::string body;
};

// An exchange whose every journalled request is encoded as it is applied, with the
// output those requests produced.
class Journalling {
  public:
    explicit Journalling(const ExchangeConfig& config) : state(config, sink) {}

    // Applies r now with a fresh token; returns its answer (code None if unanswered).
    Outbound send(Request r) {
        r.token = next_token++;
        r.ts_ns = now;
        if (r.payload != nullptr) {
            // A fresh call: the outputs of an earlier one are not this one's.
            Payload& p = *r.payload;
            p.account.id = 0;
            p.instruments.clear();
            p.orders.clear();
            p.fills.clear();
            p.balance = exchange::BalanceView{};
            p.table_version = 0;
            p.registered_units = 0;
            p.total_units = 0;
            p.duplicate = false;
            p.obligations.clear();
            p.settlement = exchange::SettlementRunResult{};
        }
        const std::size_t first = sink.records.size();
        state.apply(r);
        Outbound answer;
        answer.code = Code::None;
        for (std::size_t i = first; i < sink.records.size(); ++i) {
            const Outbound& o = sink.records[i];
            if (o.token == r.token && o.kind != OutKind::Fill && o.kind != OutKind::Market) {
                answer = o;
                break;
            }
        }
        if (is_journalled(r.type)) {
            Row row;
            row.ts_ns = r.ts_ns;
            row.kind = kind_of(r);
            encode(r, row.body);
            bytes += row.body.size();
            rows.push_back(std::move(row));
            for (std::size_t i = first; i < sink.records.size(); ++i) {
                out.push_back(without_token(sink.records[i]));
            }
            if (has_payload(r.type)) {
                payload_outputs.push_back(outputs_of(*r.payload));
            }
        }
        return answer;
    }

    exchange::test::RecordingSink sink;
    exchange::Exchange state;
    std::vector<Row> rows;
    std::vector<Outbound> out;
    std::vector<PayloadOutputs> payload_outputs;
    std::size_t bytes = 0;
    matching::Timestamp now = exchange::test::kStartNs;
    exchange::Token next_token = 1;
};

struct Party {
    AccountId id = 0;
    KeyHash key{};
    bool buyer = false;
    exchange::SessionId session = 0;
};

// A realistic day of an exchange: bootstrap, listings, accounts, deposits, capacity,
// sessions, orders that trade, cancels, replaces, retries, phase changes, ticks, and a
// few refusals of every kind (all journalled alike).
class Day {
  public:
    Day(Journalling& x, std::uint64_t seed) : x_(x), rng_(seed) {}

    static constexpr matching::InstrumentId kAuction = 3;

    void setup() {
        using namespace exchange::test;
        // The operator, then a second bootstrap that is refused.
        Payload boot;
        boot.account.name = "operator";
        boot.new_key_hash = key_of(1);
        Request b;
        b.type = RequestType::Bootstrap;
        b.payload = &boot;
        EXPECT_EQ(x_.send(b).code, Code::None);
        Payload again = boot;
        again.new_key_hash = key_of(2);
        b.payload = &again;
        EXPECT_EQ(x_.send(b).code, Code::RoleNotAllowed);
        op_ = key_of(1);

        Payload table;
        table.models = {
            {"H100-SXM", 989, false}, {"ASCEND-910B", 320, true}, {"TEST-GPU", 500, true}};
        EXPECT_EQ(admin(RequestType::SetAcceleratorTable, table), Code::None);

        Payload instrument;
        instrument.instrument = token_spec();
        EXPECT_EQ(admin(RequestType::AddInstrument, instrument), Code::None);
        instrument = Payload{};
        instrument.instrument = compute_spec();
        EXPECT_EQ(admin(RequestType::AddInstrument, instrument), Code::None);
        instrument = Payload{};
        instrument.instrument = token_spec(kAuction);
        instrument.instrument.symbol = matching::FixedText<32>::from("HOHHOT-AUCTION");
        instrument.instrument.initial_state = TradingState::CallAuction;
        instrument.instrument.band_bps = 500;
        instrument.instrument.reference_price = 1'000;
        instrument.instrument.tick_size = 2;
        instrument.instrument.price_min = 2;
        instrument.instrument.market_protection_ticks = 20;
        EXPECT_EQ(admin(RequestType::AddInstrument, instrument), Code::None);
        instrument.instrument.id = 9;
        instrument.instrument.kind = static_cast<InstrumentKind>(7);
        EXPECT_EQ(admin(RequestType::AddInstrument, instrument), Code::InvalidInstrument);

        for (int i = 0; i < 4; ++i) {
            AccountSpec spec;
            if (i == 0) {
                spec.order_quantity_max = 30;
                spec.order_notional_max_fen = 30'000;
            } else if (i == 1) {
                spec.orders_per_second_max = 200;
            }
            spec.owner_group = i < 2 ? "group-a" : "";
            parties_.push_back(create(Role::Buyer, "buyer-" + std::to_string(i), spec));
        }
        for (int i = 0; i < 3; ++i) {
            parties_.push_back(create(Role::Provider, "provider-" + std::to_string(i), {}));
        }
        create(Role::Regulator, "regulator", {});
        // A key already in use is refused.
        Payload dup_key;
        dup_key.new_key_hash = parties_[0].key;
        EXPECT_EQ(admin(RequestType::CreateApiKey, dup_key, parties_[1].id), Code::InvalidAccount);

        for (Party& p : parties_) {
            if (p.buyer) {
                deposit(p, rng_.between(200'000, 3'000'000));
            } else {
                Payload reg;
                reg.capacity.kind = InstrumentKind::TokenBundle;
                reg.capacity.hub = kTokenHub;
                reg.capacity.window_start_ns = kWindowStart;
                reg.capacity.window_end_ns = kWindowEnd;
                reg.capacity.token_bundles = rng_.between(2'000, 20'000);
                reg.capacity.green_power_bps = 8'000;
                EXPECT_EQ(admin(RequestType::RegisterCapacity, reg, p.id), Code::None);
                reg = Payload{};
                reg.capacity.kind = InstrumentKind::ComputeCapacity;
                reg.capacity.hub = kComputeHub;
                reg.capacity.window_start_ns = kWindowStart;
                reg.capacity.window_end_ns = kWindowEnd;
                reg.capacity.accelerator_model = rng_.chance(50) ? "H100-SXM" : "TEST-GPU";
                reg.capacity.device_count = static_cast<std::uint32_t>(rng_.between(32, 256));
                EXPECT_EQ(admin(RequestType::RegisterCapacity, reg, p.id), Code::None);
                // The gateway's kind for an unknown one: refused.
                reg.capacity.kind = static_cast<InstrumentKind>(0);
                EXPECT_EQ(admin(RequestType::RegisterCapacity, reg, p.id), Code::InvalidCapacity);
                credit_collateral(p, rng_.between(10'000, 500'000));
            }
        }
        // A deposit retried (a duplicate), and one whose id is reused for another amount.
        Payload dep;
        dep.amount_fen = 5'000;
        dep.deposit_id = "dep-retried";
        EXPECT_EQ(admin(RequestType::CreditDeposit, dep, parties_[2].id), Code::None);
        EXPECT_EQ(admin(RequestType::CreditDeposit, dep, parties_[2].id), Code::None);
        dep.amount_fen = 6'000;
        EXPECT_EQ(admin(RequestType::CreditDeposit, dep, parties_[2].id), Code::DuplicateDepositId);

        // The auction instrument opens.
        set_state(kAuction, StateAction::EndAuction);
        // Two accounts trade on streams, one of them cancelling on disconnect.
        logon(parties_[1], false, 0);
        logon(parties_[5], true, 0);
    }

    void step() {
        using namespace exchange::test;
        x_.now += rng_.between(0, 200'000);
        const std::uint64_t pick = rng_.below(100);
        if (pick < 40) {
            new_order(rng_.chance(15));
        } else if (pick < 52) {
            cancel();
        } else if (pick < 62) {
            replace();
        } else if (pick < 64) {
            Request r = base(RequestType::MassCancel, any_party());
            const std::uint64_t which = rng_.below(4);
            r.instrument = which == 0 ? 0 : static_cast<matching::InstrumentId>(which);
            send_order(r);
        } else if (pick < 71) {
            if (!sent_.empty()) {
                // A retry of an earlier command with the same client id.
                send_order(sent_[static_cast<std::size_t>(rng_.below(sent_.size()))]);
            }
        } else if (pick < 77) {
            x_.now += rng_.between(0, 5 * kMs);
            Request tick;
            tick.type = RequestType::Tick;
            x_.send(tick);
        } else if (pick < 79) {
            Party& p = parties_[static_cast<std::size_t>(rng_.below(4))];
            deposit(p, rng_.between(50'000, 500'000));
        } else if (pick < 82) {
            change_phase();
        } else if (pick < 85) {
            Party& p = parties_[static_cast<std::size_t>(rng_.below(parties_.size()))];
            if (p.session != 0) {
                Request off;
                off.type = RequestType::Logoff;
                off.session = p.session;
                x_.send(off);
                p.session = 0;
            } else {
                const exchange::AccountState* state = x_.state.account(p.id);
                const std::uint64_t seq = state == nullptr ? 0 : state->report_seq;
                logon(p, rng_.chance(50),
                      seq > 3 ? seq - static_cast<std::uint64_t>(rng_.below(4)) : 0);
            }
        } else if (pick < 88) {
            // Queries change nothing and are not journalled.
            Party& p = parties_[static_cast<std::size_t>(rng_.below(parties_.size()))];
            Payload q;
            Request r;
            r.type = kQueries[rng_.below(std::size(kQueries))];
            r.key_hash = p.key;
            r.payload = &q;
            x_.send(r);
        } else if (pick < 90) {
            oddity();
        } else if (pick < 93) {
            settlement_step();
        } else {
            new_order(false);
        }
    }

    void finish() {
        for (Party& p : parties_) {
            if (p.session != 0) {
                Request off;
                off.type = RequestType::Logoff;
                off.session = p.session;
                x_.send(off);
                p.session = 0;
            }
        }
        set_state(exchange::test::kTokens, StateAction::Close);
        x_.now += exchange::test::kSecond;
        Request tick;
        tick.type = RequestType::Tick;
        x_.send(tick);
        // Past every delivery window and its dispute period: what is left settles or
        // fails, a few obligations at a time, then all at once.
        x_.now = std::max(x_.now, exchange::test::kWindowEnd) +
                 x_.state.settlement_rules().dispute_period_ns + exchange::test::kSecond;
        run_settlement(3);
        run_settlement(0);
        run_settlement(0);  // nothing left: settles nothing twice
    }

  private:
    Code admin(RequestType type, Payload& payload, AccountId account = 0) {
        Request r;
        r.type = type;
        r.key_hash = op_;
        r.account = account;
        r.payload = &payload;
        return x_.send(r).code;
    }
    Party create(Role role, const std::string& name, AccountSpec spec) {
        Payload p;
        spec.name = name;
        spec.role = role;
        p.account = spec;
        EXPECT_EQ(admin(RequestType::CreateAccount, p), Code::None);
        Party party;
        party.id = p.account.id;
        party.key = exchange::test::key_of(1'000 + party.id);
        party.buyer = role == Role::Buyer;
        Payload k;
        k.new_key_hash = party.key;
        EXPECT_EQ(admin(RequestType::CreateApiKey, k, party.id), Code::None);
        return party;
    }
    void deposit(const Party& p, matching::Price amount) {
        Payload dep;
        dep.amount_fen = amount;
        dep.deposit_id = "dep-" + std::to_string(next_deposit_++);
        EXPECT_EQ(admin(RequestType::CreditDeposit, dep, p.id), Code::None);
    }
    void credit_collateral(const Party& p, matching::Price amount) {
        Payload dep;
        dep.amount_fen = amount;
        dep.deposit_id = "collateral-" + std::to_string(next_deposit_++);
        EXPECT_EQ(admin(RequestType::CreditCollateral, dep, p.id), Code::None);
    }
    void run_settlement(std::uint32_t limit) {
        Payload run;
        run.settlement_limit = limit;
        EXPECT_EQ(admin(RequestType::RunSettlement, run), Code::None);
    }
    // One step of settlement, by the party whose step it is (now and then by another,
    // or with an input the exchange refuses: journalled alike).
    void settlement_step() {
        const std::vector<exchange::Obligation> open = x_.state.open_obligations();
        const std::uint64_t what = rng_.below(6);
        if (open.empty() || what == 0) {
            run_settlement(static_cast<std::uint32_t>(rng_.below(3)));
            return;
        }
        const exchange::Obligation& o = open[static_cast<std::size_t>(rng_.below(open.size()))];
        Party* provider = owner(o.provider);
        Party* buyer = owner(o.buyer);
        if (provider == nullptr || buyer == nullptr) {
            return;
        }
        Payload p;
        p.obligation_id = rng_.chance(95) ? o.id : o.id + 1'000'000;
        Request r;
        r.payload = &p;
        switch (what) {
            case 1:
            case 2:
                r.type = RequestType::ConfirmDelivery;
                r.key_hash = rng_.chance(90) ? provider->key : buyer->key;
                p.delivered_quantity =
                    rng_.chance(90) ? rng_.between(1, o.quantity) : o.quantity + 1;
                break;
            case 3:
                r.type = RequestType::DisputeDelivery;
                r.key_hash = rng_.chance(90) ? buyer->key : provider->key;
                p.note = rng_.chance(90) ? "short delivery" : std::string(300, 'x');
                break;
            case 4:
                r.type = RequestType::ResolveDispute;
                r.key_hash = op_;
                p.uphold = rng_.chance(50);
                p.note = "resolved";
                break;
            default:
                credit_collateral(*provider, rng_.between(1'000, 100'000));
                return;
        }
        x_.send(r);
    }
    void set_state(matching::InstrumentId instrument, StateAction action,
                   matching::Price price = 0) {
        Payload p;
        Request r;
        r.type = RequestType::SetTradingState;
        r.key_hash = op_;
        r.instrument = instrument;
        r.action = action;
        r.price = price;
        r.payload = &p;
        x_.send(r);
    }
    void logon(Party& p, bool cancel_on_disconnect, std::uint64_t resume_after_seq) {
        Request r;
        r.type = RequestType::Logon;
        r.key_hash = p.key;
        r.cancel_on_disconnect = cancel_on_disconnect;
        r.resume_after_seq = resume_after_seq;
        const Outbound answer = x_.send(r);
        EXPECT_EQ(answer.code, Code::None);
        p.session = answer.session;
    }

    Party& any_party() { return parties_[static_cast<std::size_t>(rng_.below(parties_.size()))]; }

    // A command of party's, on its stream if it has one (and now and then not).
    Request base(RequestType type, const Party& party) {
        Request r;
        r.type = type;
        if (party.session != 0 && rng_.chance(80)) {
            r.session = party.session;
        } else {
            r.key_hash = party.key;
        }
        r.client_order_id = exchange::test::cid("c-" + std::to_string(next_client_id_++));
        return r;
    }
    void send_order(const Request r) {  // a copy: r may be one of sent_
        const Outbound answer = x_.send(r);
        if (sent_.size() < 512) {
            sent_.push_back(r);
        } else {
            sent_[static_cast<std::size_t>(rng_.below(sent_.size()))] = r;
        }
        if (r.type == RequestType::NewOrder && answer.kind == OutKind::Report &&
            answer.exec != exchange::ExecType::Rejected && answer.leaves > 0) {
            placed_.push_back({answer.account, answer.order_id, r.client_order_id});
        }
    }

    void new_order(bool unusual) {
        using namespace exchange::test;
        Party& party = parties_[static_cast<std::size_t>(rng_.below(7))];
        Request r = base(RequestType::NewOrder, party);
        r.side = party.buyer ? Side::Buy : Side::Sell;
        if (rng_.chance(2)) {
            r.side = matching::opposite(r.side);
        }
        const std::uint64_t which = rng_.below(10);
        r.instrument = which < 4 ? kTokens : (which < 8 ? kCompute : kAuction);
        r.price = rng_.between(970, 1'030);
        if (r.instrument == kAuction) {
            r.price &= ~matching::Price{1};
        }
        r.quantity = rng_.between(1, 40);
        const std::uint64_t tif = rng_.below(10);
        if (tif < 2) {
            r.tif = TimeInForce::GTD;
            r.expiry_ns = x_.now + rng_.between(1, 20 * kMs);
        } else if (tif < 3) {
            r.tif = TimeInForce::IOC;
        }
        if (rng_.chance(10)) {
            r.stp = static_cast<SelfTradePrevention>(rng_.below(4));
        }
        if (unusual) {
            switch (rng_.below(8)) {
                case 0:
                    r.order_type = OrderType::Market;
                    r.tif = TimeInForce::IOC;
                    r.price = rng_.chance(50) ? 0 : r.price;
                    break;
                case 1:
                    r.tif = TimeInForce::FOK;
                    break;
                case 2:
                    r.flags = matching::kFlagPostOnly;
                    break;
                case 3:
                    r.flags = matching::kFlagAllOrNone;
                    break;
                case 4:
                    r.min_quantity = rng_.between(1, r.quantity);
                    break;
                case 5:
                    r.quantity = rng_.between(200, 5'000);
                    break;
                case 6:
                    // What the gateway passes for values it does not know, and other
                    // undefined values: refused by the engine in sequence.
                    switch (rng_.below(4)) {
                        case 0:
                            r.order_type = static_cast<OrderType>(0xFF);
                            break;
                        case 1:
                            r.tif = static_cast<TimeInForce>(rng_.chance(50) ? 0xFF : 9);
                            break;
                        case 2:
                            r.stp = static_cast<SelfTradePrevention>(rng_.chance(50) ? 0xFF : 6);
                            break;
                        default:
                            r.flags = 0x0C;
                            break;
                    }
                    break;
                default:
                    // A client id too long (the gateway keeps its first 32 bytes).
                    r.client_order_id = cid("x-really-long-client-order-id-123");
                    r.client_order_id_too_long = true;
                    break;
            }
        }
        send_order(r);
    }

    struct Placed {
        AccountId account = 0;
        matching::OrderId id = 0;
        exchange::ClientOrderId client_order_id;
    };
    Party* owner(AccountId account) {
        for (Party& p : parties_) {
            if (p.id == account) {
                return &p;
            }
        }
        return nullptr;
    }
    const Placed* any_placed() {
        if (placed_.empty()) {
            return nullptr;
        }
        const std::size_t start = placed_.size() > 64 ? placed_.size() - 64 : 0;
        return &placed_[start + static_cast<std::size_t>(rng_.below(placed_.size() - start))];
    }
    void cancel() {
        const Placed* placed = any_placed();
        if (placed == nullptr) {
            return;
        }
        Party* party = rng_.chance(3) ? &any_party() : owner(placed->account);
        Request r = base(RequestType::Cancel, *party);
        if (rng_.chance(30)) {
            r.orig_client_order_id = placed->client_order_id;
        } else {
            r.order_id = placed->id;
        }
        send_order(r);
    }
    void replace() {
        const Placed* placed = any_placed();
        if (placed == nullptr) {
            return;
        }
        Request r = base(RequestType::Replace, *owner(placed->account));
        r.order_id = placed->id;
        r.price = rng_.between(970, 1'030);
        r.quantity = rng_.between(1, 40);
        if (rng_.chance(10)) {
            r.price = 0;  // quantity only
        }
        send_order(r);
    }
    void change_phase() {
        using namespace exchange::test;
        const std::uint64_t which = rng_.below(3);
        const matching::InstrumentId instrument =
            which == 0 ? kTokens : (which == 1 ? kCompute : kAuction);
        const TradingState state = *x_.state.engine().state(instrument);
        if (state != TradingState::Continuous) {
            set_state(instrument, state == TradingState::Halted ? StateAction::Resume
                                                                : StateAction::EndAuction);
            return;
        }
        const StateAction actions[] = {StateAction::Halt,          StateAction::HaltAndCancel,
                                       StateAction::StartAuction,  StateAction::SetReference,
                                       StateAction::FreezeAuction, StateAction::None};
        const StateAction action = actions[rng_.below(std::size(actions))];
        set_state(instrument, action, action == StateAction::SetReference ? 1'000 : 0);
        if (action == StateAction::StartAuction && rng_.chance(50)) {
            set_state(instrument, StateAction::FreezeAuction);
        }
    }
    // Refusals of every kind, journalled like the rest.
    void oddity() {
        using namespace exchange::test;
        switch (rng_.below(6)) {
            case 0: {
                // An order on a stream that does not exist.
                Request r = base(RequestType::NewOrder, parties_[0]);
                r.key_hash = KeyHash{};
                r.session = 999'999;
                r.side = Side::Buy;
                r.instrument = kTokens;
                r.price = 1'000;
                r.quantity = 1;
                send_order(r);
                break;
            }
            case 1: {
                // An unknown key.
                Request r = base(RequestType::NewOrder, parties_[0]);
                r.session = 0;
                r.key_hash = key_of(555);
                send_order(r);
                break;
            }
            case 2: {
                // Administration by a buyer.
                Payload p;
                Request r;
                r.type = RequestType::CreditDeposit;
                r.key_hash = parties_[0].key;
                r.account = parties_[0].id;
                p.amount_fen = 1'000'000;
                p.deposit_id = "self-service";
                r.payload = &p;
                EXPECT_EQ(x_.send(r).code, Code::RoleNotAllowed);
                break;
            }
            case 3: {
                // A new account with a limit of its own, trading at once.
                AccountSpec spec;
                spec.orders_per_second_max = 50;
                Party p = create(Role::Buyer, "late-" + std::to_string(next_client_id_), spec);
                deposit(p, 100'000);
                parties_.push_back(p);
                break;
            }
            case 4: {
                // A new accelerator table, and a registration converted with it.
                Payload table;
                table.models = {{"H100-SXM", 990, false},
                                {"TEST-GPU", 400 + rng_.between(0, 200), true}};
                EXPECT_EQ(admin(RequestType::SetAcceleratorTable, table), Code::None);
                Payload reg;
                reg.capacity.kind = InstrumentKind::ComputeCapacity;
                reg.capacity.hub = kComputeHub;
                reg.capacity.window_start_ns = kWindowStart;
                reg.capacity.window_end_ns = kWindowEnd;
                reg.capacity.accelerator_model = "TEST-GPU";
                reg.capacity.device_count = 16;
                EXPECT_EQ(admin(RequestType::RegisterCapacity, reg, parties_[4].id), Code::None);
                break;
            }
            default: {
                // A stream command that could not be carried.
                Request r;
                r.type = RequestType::NewOrder;
                r.session = parties_[1].session;
                r.key_hash = parties_[1].session == 0 ? parties_[1].key : KeyHash{};
                r.client_order_id_too_long = true;
                send_order(r);
                break;
            }
        }
    }

    Journalling& x_;
    SplitMix64 rng_;
    KeyHash op_{};
    std::vector<Party> parties_;
    std::vector<Request> sent_;
    std::vector<Placed> placed_;
    std::uint64_t next_client_id_ = 1;
    std::uint64_t next_deposit_ = 1;
};

TEST(JournalReplay, AJournalReplayedIntoANewExchangeRebuildsTheSameStateAndOutput) {
    const ExchangeConfig config = exchange::test::small_config();
    for (const std::uint64_t seed : {1ull, 2ull}) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        Journalling a(config);
        Day day(a, seed);
        day.setup();
        const std::uint64_t steps = cpx::testing::scaled(6'000);
        for (std::uint64_t i = 0; i < steps; ++i) {
            day.step();
        }
        day.finish();

        std::size_t fills = 0;
        for (const Outbound& o : a.out) {
            fills += o.kind == OutKind::Fill ? 1 : 0;
        }
        ASSERT_GT(fills, 100u) << "the day should trade";
        std::uint64_t closed = 0;
        for (const PayloadOutputs& o : a.payload_outputs) {
            closed += o.settled + o.failed;
        }
        EXPECT_GT(closed, 0u) << "the day should settle";
        // After the last run only disputes wait (for an operator).
        for (const exchange::Obligation& o : a.state.open_obligations()) {
            EXPECT_EQ(raw(o.state), raw(exchange::ObligationState::Disputed)) << o.id;
        }

        exchange::test::RecordingSink replay_sink;
        exchange::Exchange b(config, replay_sink);
        std::vector<PayloadOutputs> replay_outputs;
        Decoded d;
        for (std::size_t i = 0; i < a.rows.size(); ++i) {
            const Row& row = a.rows[i];
            std::string error;
            ASSERT_TRUE(decode(row.kind, row.ts_ns, row.body, d, error))
                << "row " << i << ": " << error;
            b.apply(d.request);
            if (d.request.payload != nullptr) {
                replay_outputs.push_back(outputs_of(*d.request.payload));
            }
        }
        std::printf("[          ] %zu rows, %zu bytes (%.1f per row), %zu outputs, %zu fills\n",
                    a.rows.size(), a.bytes,
                    static_cast<double>(a.bytes) / static_cast<double>(a.rows.size()), a.out.size(),
                    fills);

        EXPECT_EQ(a.state.state_hash(), b.state_hash());
        EXPECT_EQ(a.state.engine().state_hash(), b.engine().state_hash());
        EXPECT_EQ(a.state.live_orders(), b.live_orders());
        EXPECT_EQ(a.state.open_obligations().size(), b.open_obligations().size());
        EXPECT_EQ(a.state.ledger().state_hash(), b.ledger().state_hash());
        for (AccountId id = 1;; ++id) {
            const exchange::AccountState* x = a.state.account(id);
            const exchange::AccountState* y = b.account(id);
            ASSERT_EQ(x == nullptr, y == nullptr) << id;
            if (x == nullptr) {
                break;
            }
            EXPECT_EQ(x->spec.name, y->spec.name);
            EXPECT_EQ(raw(x->spec.role), raw(y->spec.role));
            EXPECT_EQ(a.state.balance_of(id).balance_fen, b.balance_of(id).balance_fen);
            EXPECT_EQ(a.state.balance_of(id).reserved_fen, b.balance_of(id).reserved_fen);
            EXPECT_EQ(a.state.balance_of(id).unsettled_fen, b.balance_of(id).unsettled_fen);
            EXPECT_EQ(a.state.balance_of(id).collateral_fen, b.balance_of(id).collateral_fen);
            EXPECT_EQ(x->unsettled_fen, y->unsettled_fen);
            EXPECT_EQ(x->report_seq, y->report_seq);
            EXPECT_EQ(x->live_orders, y->live_orders);
            EXPECT_EQ(x->rate_tokens_milli, y->rate_tokens_milli);
        }
        // The same output, record for record and byte for byte (tokens aside).
        ASSERT_EQ(a.out.size(), replay_sink.records.size());
        for (std::size_t i = 0; i < a.out.size(); ++i) {
            const Outbound got = without_token(replay_sink.records[i]);
            ASSERT_EQ(std::memcmp(&a.out[i], &got, sizeof(Outbound)), 0) << "record " << i;
        }
        EXPECT_TRUE(a.payload_outputs == replay_outputs);
    }
}

}  // namespace
}  // namespace cpx::journal
