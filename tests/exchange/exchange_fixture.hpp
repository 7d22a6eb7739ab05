#pragma once

// A harness around one Exchange for the exchange's tests: a sink that records every
// Outbound (as records and as raw bytes), an operator bootstrapped with a key, and
// helpers that build requests the way the gateway will, so that a test reads as the
// sequence of things its accounts do. Every helper returns what the exchange answered;
// none of them hides a refusal.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cpx/exchange/exchange.hpp"

namespace cpx::exchange::test {

using matching::InstrumentKind;
using matching::InstrumentSpec;
using matching::OrderType;
using matching::Reason;
using matching::TimeInForce;
using matching::TradingState;

inline constexpr InstrumentId kTokens = 1;   // a token-bundle instrument
inline constexpr InstrumentId kCompute = 2;  // a compute-capacity instrument

inline constexpr Timestamp kStartNs = 1'700'000'000'000'000'000;  // the first request's time
inline constexpr Timestamp kMs = 1'000'000;
inline constexpr Timestamp kSecond = 1'000'000'000;
inline constexpr Timestamp kHour = 3'600 * kSecond;
// Both instruments deliver in the same ten hours, a year after the tests' clock starts.
inline constexpr Timestamp kWindowStart = 1'731'536'000'000'000'000;
inline constexpr Timestamp kWindowEnd = kWindowStart + 10 * kHour;
inline const std::string kTokenHub = "HOHHOT";
inline const std::string kComputeHub = "WUHU";

// 32 bytes that differ for every n: stands in for SHA-256 of an API key.
inline KeyHash key_of(std::uint32_t n) {
    KeyHash key{};
    for (std::size_t i = 0; i < key.size(); ++i) {
        key[i] = static_cast<std::uint8_t>(0x5Au + i);
    }
    for (std::size_t i = 0; i < 4; ++i) {
        key[i] = static_cast<std::uint8_t>(n >> (8 * i));
    }
    return key;
}

inline ClientOrderId cid(const std::string& text) {
    return ClientOrderId::from(text);
}

inline InstrumentSpec token_spec(InstrumentId id = kTokens) {
    InstrumentSpec s;
    s.id = id;
    s.symbol = matching::FixedText<32>::from("HOHHOT-QWEN-1M");
    s.kind = InstrumentKind::TokenBundle;
    s.hub = matching::FixedText<16>::from(kTokenHub);
    s.unit = matching::FixedText<16>::from("1M-tokens");
    s.window_start_ns = kWindowStart;
    s.window_end_ns = kWindowEnd;
    s.tick_size = 1;
    s.lot_size = 1;
    s.quantity_min = 1;
    s.quantity_max = 1'000'000;
    s.price_min = 1;
    s.price_max = 100'000;
    s.market_protection_ticks = 100;
    return s;
}

inline InstrumentSpec compute_spec(InstrumentId id = kCompute) {
    InstrumentSpec s = token_spec(id);
    s.symbol = matching::FixedText<32>::from("WUHU-PH-W1");
    s.kind = InstrumentKind::ComputeCapacity;
    s.hub = matching::FixedText<16>::from(kComputeHub);
    s.unit = matching::FixedText<16>::from("P*h");
    return s;
}

// Every record the exchange delivered, in order, and the same as raw bytes.
class RecordingSink final : public OutboundSink {
  public:
    void deliver(const Outbound& out) override {
        records.push_back(out);
        unsigned char bytes[sizeof(Outbound)];
        std::memcpy(bytes, &out, sizeof(Outbound));
        raw.insert(raw.end(), bytes, bytes + sizeof(Outbound));
    }
    std::vector<Outbound> records;
    std::vector<unsigned char> raw;
};

// What one request produced: every record, and the one that answers the caller (by
// token) with the fills that follow it.
struct Result {
    std::vector<Outbound> out;
    Outbound answer;
    std::vector<Outbound> fills;
    bool answered = false;

    Code code() const { return answer.code; }
    // The records of one kind (Report for instance) that are not the answer.
    std::vector<Outbound> unsolicited(OutKind kind) const {
        std::vector<Outbound> found;
        for (const Outbound& o : out) {
            if (o.kind == kind && (o.token == 0 || o.token != answer.token)) {
                found.push_back(o);
            }
        }
        return found;
    }
};

struct Party {
    AccountId id = 0;
    KeyHash key{};
};

inline ExchangeConfig small_config() {
    // Small tables: the defaults size an exchange for production (hundreds of MB).
    ExchangeConfig c;
    c.order_capacity = 4096;
    c.client_id_window = 1u << 14;
    c.report_retention = 1u << 14;
    return c;
}

class TestExchange {
  public:
    explicit TestExchange(const ExchangeConfig& config = small_config()) : exchange(config, sink) {
        op.key = key_of(1);
        op.id = exchange.bootstrap_operator("operator", op.key);
    }

    // --- Time ----------------------------------------------------------------------
    void advance(Timestamp ns) { now += ns; }
    Result tick() {
        Request r;
        r.type = RequestType::Tick;
        return send(r);
    }

    // --- Any request -----------------------------------------------------------------
    // Stamps the request with a fresh token and the current time, applies it, and
    // picks out its answer.
    Result send(Request r) {
        r.token = next_token++;
        r.ts_ns = now;
        const std::size_t first = sink.records.size();
        exchange.apply(r);
        Result result;
        result.out.assign(sink.records.begin() + static_cast<std::ptrdiff_t>(first),
                          sink.records.end());
        for (std::size_t i = 0; i < result.out.size(); ++i) {
            const Outbound& o = result.out[i];
            if (o.token == r.token && o.kind != OutKind::Fill && o.kind != OutKind::Market) {
                result.answer = o;
                result.answered = true;
                for (std::size_t k = 1; k <= o.fill_count && i + k < result.out.size(); ++k) {
                    result.fills.push_back(result.out[i + k]);
                }
                break;
            }
        }
        return result;
    }

    // --- Administration --------------------------------------------------------------
    Request admin_request(RequestType type, Payload& payload) const {
        Request r;
        r.type = type;
        r.key_hash = op.key;
        r.payload = &payload;
        return r;
    }
    Code admin(RequestType type, Payload& payload, AccountId account = 0) {
        Request r = admin_request(type, payload);
        r.account = account;
        return send(r).code();
    }

    Party create_account(Role role, const std::string& name, AccountSpec spec = {}) {
        Payload p;
        spec.name = name;
        spec.role = role;
        p.account = spec;
        EXPECT_EQ(admin(RequestType::CreateAccount, p), Code::None) << name;
        Party party;
        party.id = p.account.id;
        party.key = key_of(1000 + party.id);
        Payload k;
        k.new_key_hash = party.key;
        EXPECT_EQ(admin(RequestType::CreateApiKey, k, party.id), Code::None) << name;
        return party;
    }
    Party buyer(const std::string& name = "buyer", Price deposit_fen = 0, AccountSpec spec = {}) {
        const Party party = create_account(Role::Buyer, name, spec);
        if (deposit_fen > 0) {
            EXPECT_EQ(deposit(party.id, deposit_fen), Code::None);
        }
        return party;
    }
    Party provider(const std::string& name = "provider", AccountSpec spec = {}) {
        return create_account(Role::Provider, name, spec);
    }

    Code deposit(AccountId account, Price amount_fen, const std::string& deposit_id = "") {
        Payload p;
        p.amount_fen = amount_fen;
        p.deposit_id = deposit_id.empty() ? "dep-" + std::to_string(next_deposit++) : deposit_id;
        return admin(RequestType::CreditDeposit, p, account);
    }

    Code add_instrument(const InstrumentSpec& spec) {
        Payload p;
        p.instrument = spec;
        return admin(RequestType::AddInstrument, p);
    }
    void add_default_instruments() {
        EXPECT_EQ(add_instrument(token_spec()), Code::None);
        EXPECT_EQ(add_instrument(compute_spec()), Code::None);
    }

    Code set_state(InstrumentId instrument, StateAction action, Price price = 0) {
        Payload p;
        Request r = admin_request(RequestType::SetTradingState, p);
        r.instrument = instrument;
        r.action = action;
        r.price = price;
        return send(r).code();
    }

    // Registers token bundles for the token instrument's hub and window; returns the
    // units registered (0 when refused).
    Quantity register_tokens(const Party& provider, Quantity bundles) {
        Payload p;
        p.capacity.kind = InstrumentKind::TokenBundle;
        p.capacity.hub = kTokenHub;
        p.capacity.window_start_ns = kWindowStart;
        p.capacity.window_end_ns = kWindowEnd;
        p.capacity.token_bundles = bundles;
        const Code code = admin(RequestType::RegisterCapacity, p, provider.id);
        EXPECT_EQ(code, Code::None);
        return p.registered_units;
    }
    // Registers devices for the compute instrument's hub; the window is the
    // instrument's unless given.
    Payload register_compute(const Party& provider, const std::string& model, std::uint32_t devices,
                             Timestamp start = kWindowStart, Timestamp end = kWindowEnd,
                             Code* code = nullptr) {
        Payload p;
        p.capacity.kind = InstrumentKind::ComputeCapacity;
        p.capacity.hub = kComputeHub;
        p.capacity.window_start_ns = start;
        p.capacity.window_end_ns = end;
        p.capacity.accelerator_model = model;
        p.capacity.device_count = devices;
        const Code c = admin(RequestType::RegisterCapacity, p, provider.id);
        if (code != nullptr) {
            *code = c;
        }
        return p;
    }

    // --- Order entry -----------------------------------------------------------------
    static Request new_order(const Party& party, Side side, InstrumentId instrument, Price price,
                             Quantity quantity, const std::string& client_id) {
        Request r;
        r.type = RequestType::NewOrder;
        r.key_hash = party.key;
        r.side = side;
        r.instrument = instrument;
        r.order_type = OrderType::Limit;
        r.tif = TimeInForce::GTC;
        r.price = price;
        r.quantity = quantity;
        r.client_order_id = cid(client_id);
        return r;
    }
    static Request buy(const Party& party, Price price, Quantity quantity,
                       const std::string& client_id, InstrumentId instrument = kTokens) {
        return new_order(party, Side::Buy, instrument, price, quantity, client_id);
    }
    static Request sell(const Party& party, Price price, Quantity quantity,
                        const std::string& client_id, InstrumentId instrument = kTokens) {
        return new_order(party, Side::Sell, instrument, price, quantity, client_id);
    }
    static Request market(Request r) {
        r.order_type = OrderType::Market;
        r.tif = TimeInForce::IOC;
        return r;
    }
    static Request with_tif(Request r, TimeInForce tif, Timestamp expiry_ns = 0) {
        r.tif = tif;
        r.expiry_ns = expiry_ns;
        return r;
    }
    static Request on_session(Request r, SessionId session) {
        r.session = session;
        r.key_hash = KeyHash{};
        return r;
    }
    static Request cancel(const Party& party, OrderId order_id, const std::string& client_id) {
        Request r;
        r.type = RequestType::Cancel;
        r.key_hash = party.key;
        r.order_id = order_id;
        r.client_order_id = cid(client_id);
        return r;
    }
    static Request cancel_by_client_id(const Party& party, const std::string& orig_client_id,
                                       const std::string& client_id) {
        Request r = cancel(party, 0, client_id);
        r.orig_client_order_id = cid(orig_client_id);
        return r;
    }
    static Request replace(const Party& party, OrderId order_id, Price price, Quantity quantity,
                           const std::string& client_id) {
        Request r;
        r.type = RequestType::Replace;
        r.key_hash = party.key;
        r.order_id = order_id;
        r.price = price;
        r.quantity = quantity;
        r.client_order_id = cid(client_id);
        return r;
    }
    static Request mass_cancel(const Party& party, const std::string& client_id,
                               InstrumentId instrument = 0) {
        Request r;
        r.type = RequestType::MassCancel;
        r.key_hash = party.key;
        r.instrument = instrument;
        r.client_order_id = cid(client_id);
        return r;
    }

    // --- Sessions --------------------------------------------------------------------
    Result logon(const Party& party, bool cancel_on_disconnect = false,
                 std::uint64_t resume_after_seq = 0) {
        Request r;
        r.type = RequestType::Logon;
        r.key_hash = party.key;
        r.cancel_on_disconnect = cancel_on_disconnect;
        r.resume_after_seq = resume_after_seq;
        return send(r);
    }
    Result logoff(SessionId session) {
        Request r;
        r.type = RequestType::Logoff;
        r.session = session;
        return send(r);
    }

    // --- Queries ---------------------------------------------------------------------
    Code query(RequestType type, const KeyHash& caller, AccountId account, Payload& out,
               InstrumentId instrument = 0) {
        Request r;
        r.type = type;
        r.key_hash = caller;
        r.account = account;
        r.instrument = instrument;
        r.payload = &out;
        return send(r).code();
    }
    // The balances of an account as its owner sees them.
    BalanceView balances(const Party& party) {
        Payload p;
        EXPECT_EQ(query(RequestType::Balances, party.key, 0, p), Code::None);
        return p.balance;
    }
    Price available(const Party& party) { return balances(party).available_fen; }
    std::vector<OpenOrderView> open_orders(const Party& party, InstrumentId instrument = 0) {
        Payload p;
        EXPECT_EQ(query(RequestType::OpenOrders, party.key, 0, p, instrument), Code::None);
        return p.orders;
    }
    std::vector<FillView> fills(const Party& party, InstrumentId instrument = 0) {
        Payload p;
        EXPECT_EQ(query(RequestType::Fills, party.key, 0, p, instrument), Code::None);
        return p.fills;
    }

    // The live reports of an account (not duplicates or replays), in delivery order.
    std::vector<Outbound> reports_of(AccountId account) const {
        std::vector<Outbound> found;
        for (const Outbound& o : sink.records) {
            if ((o.kind == OutKind::Report || o.kind == OutKind::MassCancelDone) &&
                o.account == account && !o.targeted) {
                found.push_back(o);
            }
        }
        return found;
    }

    RecordingSink sink;
    Exchange exchange;
    Party op;
    Timestamp now = kStartNs;
    Token next_token = 1;
    std::uint64_t next_deposit = 1;
};

// Checks that the live reports of an account are numbered 1, 2, 3... in delivery order.
inline void expect_gapless_seq(const TestExchange& x, AccountId account) {
    std::uint64_t expected = 1;
    for (const Outbound& o : x.reports_of(account)) {
        EXPECT_EQ(o.seq, expected) << "account " << account;
        expected = o.seq + 1;
    }
    const AccountState* state = x.exchange.account(account);
    ASSERT_NE(state, nullptr);
    EXPECT_EQ(state->report_seq, expected - 1);
}

// A test with one exchange, both instruments listed.
class ExchangeTest : public ::testing::Test {
  protected:
    ExchangeTest() { x.add_default_instruments(); }
    TestExchange x;
};

}  // namespace cpx::exchange::test
