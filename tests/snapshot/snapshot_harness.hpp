#pragma once

// The differential harness of the snapshot tests. A Twin drives two exchanges with the
// same requests: `reference`, which has seen every request since it was built (what a
// full journal replay gives), and `restored`, which is replaced now and then by a new
// Exchange loaded from a snapshot of itself (what recovery from a snapshot gives). Every
// request goes to both; every Outbound the two deliver must be the same bytes, and so
// must the outputs of administration and queries. A randomized SnapshotMarket sends the
// requests.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "exchange_fixture.hpp"
#include "random_market.hpp"

namespace cpx::exchange::test {

// The small tables of the differential tests: small enough that the order pool fills,
// the client-id window evicts, report logs forget and the session limit is reached.
inline ExchangeConfig twin_config() {
    ExchangeConfig c;
    c.order_capacity = 160;
    c.client_id_window = 300;
    c.report_retention = 100;
    c.sessions_max = 4;
    c.accounts_max = 24;
    c.orders_per_second_max_default = 2'000;
    return c;
}

struct Node {
    explicit Node(const ExchangeConfig& config)
        : exchange(std::make_unique<Exchange>(config, sink)) {}
    RecordingSink sink;
    std::unique_ptr<Exchange> exchange;
};

inline bool same_record(const Outbound& a, const Outbound& b) {
    return std::memcmp(&a, &b, sizeof(Outbound)) == 0;
}

// Compares what the exchange wrote into a request's payload.
inline void expect_same_payload_outputs(const Payload& a, const Payload& b) {
    EXPECT_EQ(a.account.id, b.account.id);
    ASSERT_EQ(a.instruments.size(), b.instruments.size());
    for (std::size_t i = 0; i < a.instruments.size(); ++i) {
        EXPECT_EQ(a.instruments[i].spec.id, b.instruments[i].spec.id);
        EXPECT_EQ(a.instruments[i].state, b.instruments[i].state);
        EXPECT_EQ(a.instruments[i].reference_price, b.instruments[i].reference_price);
    }
    ASSERT_EQ(a.orders.size(), b.orders.size());
    for (std::size_t i = 0; i < a.orders.size(); ++i) {
        const OpenOrderView& x = a.orders[i];
        const OpenOrderView& y = b.orders[i];
        EXPECT_EQ(x.order_id, y.order_id);
        EXPECT_EQ(x.client_order_id.bytes, y.client_order_id.bytes);
        EXPECT_EQ(x.instrument, y.instrument);
        EXPECT_EQ(x.side, y.side);
        EXPECT_EQ(x.price, y.price);
        EXPECT_EQ(x.quantity, y.quantity);
        EXPECT_EQ(x.leaves, y.leaves);
        EXPECT_EQ(x.filled, y.filled);
        EXPECT_EQ(x.ts_ns, y.ts_ns);
    }
    ASSERT_EQ(a.fills.size(), b.fills.size());
    for (std::size_t i = 0; i < a.fills.size(); ++i) {
        EXPECT_EQ(a.fills[i].trade_id, b.fills[i].trade_id);
        EXPECT_EQ(a.fills[i].order_id, b.fills[i].order_id);
        EXPECT_EQ(a.fills[i].price, b.fills[i].price);
        EXPECT_EQ(a.fills[i].quantity, b.fills[i].quantity);
        EXPECT_EQ(a.fills[i].ts_ns, b.fills[i].ts_ns);
    }
    EXPECT_EQ(a.balance.account, b.balance.account);
    EXPECT_EQ(a.balance.balance_fen, b.balance.balance_fen);
    EXPECT_EQ(a.balance.reserved_fen, b.balance.reserved_fen);
    EXPECT_EQ(a.balance.unsettled_fen, b.balance.unsettled_fen);
    ASSERT_EQ(a.balance.capacity.size(), b.balance.capacity.size());
    for (std::size_t i = 0; i < a.balance.capacity.size(); ++i) {
        EXPECT_EQ(a.balance.capacity[i].hub, b.balance.capacity[i].hub);
        EXPECT_EQ(a.balance.capacity[i].registered, b.balance.capacity[i].registered);
        EXPECT_EQ(a.balance.capacity[i].offered, b.balance.capacity[i].offered);
        EXPECT_EQ(a.balance.capacity[i].sold, b.balance.capacity[i].sold);
    }
    EXPECT_EQ(a.table_version, b.table_version);
    EXPECT_EQ(a.registered_units, b.registered_units);
    EXPECT_EQ(a.total_units, b.total_units);
    EXPECT_EQ(a.duplicate, b.duplicate);
    EXPECT_EQ(a.balance.collateral_fen, b.balance.collateral_fen);
    ASSERT_EQ(a.obligations.size(), b.obligations.size());
    for (std::size_t i = 0; i < a.obligations.size(); ++i) {
        EXPECT_EQ(std::memcmp(&a.obligations[i], &b.obligations[i], sizeof(Obligation)), 0)
            << "obligation " << a.obligations[i].id;
    }
    EXPECT_EQ(a.settlement.settled, b.settlement.settled);
    EXPECT_EQ(a.settlement.failed, b.settlement.failed);
    EXPECT_EQ(a.settlement.amounts.paid_fen, b.settlement.amounts.paid_fen);
    EXPECT_EQ(a.settlement.amounts.fee_fen, b.settlement.amounts.fee_fen);
    EXPECT_EQ(a.settlement.amounts.refunded_fen, b.settlement.amounts.refunded_fen);
    EXPECT_EQ(a.settlement.amounts.penalty_fen, b.settlement.amounts.penalty_fen);
    EXPECT_EQ(a.settlement.more_due, b.settlement.more_due);
}

// What a run produced, to check that the random market reaches the paths that matter.
struct Coverage {
    std::size_t fills = 0;
    std::size_t auction_trades = 0;
    std::size_t expired = 0;
    std::size_t rate_limited = 0;
    std::size_t duplicates = 0;
    std::size_t pool_full = 0;  // engine pool or exchange record table
    std::size_t session_limit = 0;
    std::size_t resumed = 0;  // reports replayed to a new session
    std::size_t mass_cancels = 0;
    std::size_t halt_or_close_cancels = 0;
    std::size_t state_changes = 0;
    std::size_t insufficient = 0;
    std::size_t obligations_closed = 0;  // settled or failed (counted by the market)

    void count(const Outbound& o) {
        const auto engine_code = [&](matching::Reason r) { return o.code == from_engine(r); };
        const auto one = [](bool yes) -> std::size_t { return yes ? 1u : 0u; };
        fills += one(o.kind == OutKind::Fill && !o.targeted);
        auction_trades +=
            one(o.kind == OutKind::Market && o.market == MarketKind::Trade && o.side == Side::None);
        expired += one(o.kind == OutKind::Report && o.exec == ExecType::Expired);
        rate_limited += one(o.code == Code::RateLimited);
        duplicates += one(o.duplicate);
        pool_full += one(engine_code(matching::Reason::OrderCapacityExhausted) ||
                         o.code == Code::OrderLimitReached);
        session_limit += one(o.code == Code::SessionLimitReached);
        resumed += one(o.targeted && !o.duplicate && o.kind != OutKind::Reply);
        mass_cancels += one(o.kind == OutKind::MassCancelDone && o.quantity > 0);
        halt_or_close_cancels += one(engine_code(matching::Reason::CancelledHalt) ||
                                     engine_code(matching::Reason::CancelledMarketClosed));
        state_changes += one(o.kind == OutKind::Market && o.market == MarketKind::State);
        insufficient +=
            one(o.code == Code::InsufficientFunds || o.code == Code::InsufficientCapacity);
    }
    void add(const Coverage& c) {
        fills += c.fills;
        auction_trades += c.auction_trades;
        expired += c.expired;
        rate_limited += c.rate_limited;
        duplicates += c.duplicates;
        pool_full += c.pool_full;
        session_limit += c.session_limit;
        resumed += c.resumed;
        mass_cancels += c.mass_cancels;
        halt_or_close_cancels += c.halt_or_close_cancels;
        state_changes += c.state_changes;
        insufficient += c.insufficient;
        obligations_closed += c.obligations_closed;
    }
};

inline std::ostream& operator<<(std::ostream& os, const Coverage& c) {
    return os << "fills " << c.fills << ", auction trades " << c.auction_trades << ", expired "
              << c.expired << ", rate limited " << c.rate_limited << ", duplicates " << c.duplicates
              << ", pool full " << c.pool_full << ", session limit " << c.session_limit
              << ", resumed " << c.resumed << ", mass cancels " << c.mass_cancels
              << ", halt/close cancels " << c.halt_or_close_cancels << ", state changes "
              << c.state_changes << ", insufficient " << c.insufficient << ", obligations closed "
              << c.obligations_closed;
}

class Twin {
  public:
    explicit Twin(const ExchangeConfig& config = twin_config())
        : config_(config), reference_(config), restored_(std::make_unique<Node>(config)) {}

    const Exchange& reference() const { return *reference_.exchange; }
    const Exchange& restored() const { return *restored_->exchange; }
    std::size_t restores() const { return restores_; }
    std::size_t compared_records() const { return compared_; }
    std::size_t snapshot_bytes() const { return last_snapshot_.size(); }

    // Applies a request (stamped with a token and the time) to both exchanges and
    // checks that they answered alike. Returns the reference's records; a payload's
    // outputs come back in *payload.
    std::vector<Outbound> send(Request r) {
        r.token = next_token_++;
        r.ts_ns = now;
        Payload* caller = r.payload;
        Payload for_reference;
        Payload for_restored;
        if (caller != nullptr) {
            for_reference = *caller;
            for_restored = *caller;
        }
        const std::size_t a_first = reference_.sink.records.size();
        const std::size_t b_first = restored_->sink.records.size();
        r.payload = caller != nullptr ? &for_reference : nullptr;
        reference_.exchange->apply(r);
        r.payload = caller != nullptr ? &for_restored : nullptr;
        restored_->exchange->apply(r);
        std::vector<Outbound> a(
            reference_.sink.records.begin() + static_cast<std::ptrdiff_t>(a_first),
            reference_.sink.records.end());
        const std::vector<Outbound> b(
            restored_->sink.records.begin() + static_cast<std::ptrdiff_t>(b_first),
            restored_->sink.records.end());
        // The sinks are only needed for this request.
        reference_.sink.records.clear();
        reference_.sink.raw.clear();
        restored_->sink.records.clear();
        restored_->sink.raw.clear();
        EXPECT_EQ(a.size(), b.size())
            << "request type " << static_cast<int>(r.type) << " after " << restores_ << " restores";
        for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
            if (!same_record(a[i], b[i])) {
                ADD_FAILURE() << "record " << i << " of request type " << static_cast<int>(r.type)
                              << " differs (kind " << static_cast<int>(a[i].kind) << " vs "
                              << static_cast<int>(b[i].kind) << ", seq " << a[i].seq << " vs "
                              << b[i].seq << ") after " << restores_ << " restores";
                ++mismatches_;
                break;
            }
        }
        compared_ += a.size();
        for (const Outbound& o : a) {
            coverage.count(o);
        }
        if (caller != nullptr) {
            expect_same_payload_outputs(for_reference, for_restored);
            *caller = for_reference;
        }
        if (a.size() != b.size()) {
            ++mismatches_;
        }
        return a;
    }

    // Snapshots the restored exchange and replaces it by a new one loaded from the
    // bytes. Checks that the state hash survives and that the snapshot of the new
    // exchange is the same bytes (the format is a function of the state alone).
    void snapshot_and_restore() {
        std::string bytes;
        restored_->exchange->save_snapshot(bytes);
        auto next = std::make_unique<Node>(config_);
        std::string error;
        ASSERT_TRUE(next->exchange->load_snapshot(bytes, error)) << error;
        EXPECT_EQ(next->exchange->state_hash(), restored_->exchange->state_hash());
        EXPECT_EQ(next->exchange->state_hash(), reference_.exchange->state_hash());
        std::string again;
        next->exchange->save_snapshot(again);
        EXPECT_TRUE(again == bytes) << "a restored exchange saves different bytes";
        // And the reference, which never restored, saves the same bytes too.
        std::string of_reference;
        reference_.exchange->save_snapshot(of_reference);
        EXPECT_TRUE(of_reference == bytes) << "the replayed exchange saves different bytes";
        restored_ = std::move(next);
        last_snapshot_ = std::move(bytes);
        ++restores_;
    }

    bool failed() const { return mismatches_ > 0 || ::testing::Test::HasFailure(); }

    Timestamp now = kStartNs;
    Coverage coverage;

  private:
    ExchangeConfig config_;
    Node reference_;
    std::unique_ptr<Node> restored_;
    Token next_token_ = 1;
    std::size_t restores_ = 0;
    std::size_t compared_ = 0;
    std::size_t mismatches_ = 0;
    std::string last_snapshot_;
};

// A seeded random market that exercises every part of the exchange's state: several
// instruments (one with an id past the engine's direct table, a tick of 5 and a price
// band), auctions, halts and closes, GTD orders that expire on Ticks, IOC, FOK, market,
// post-only, all-or-none and minimum-quantity orders, replaces, cancels by id and by
// client id, mass cancels, sessions with and without cancel-on-disconnect and resumed
// logons, retried client ids, a rate-limited buyer, deposits (retried too), capacity
// registrations, a new accelerator table, accounts and instruments added on the way,
// and queries. The same seed sends the same requests.
class SnapshotMarket {
  public:
    static constexpr InstrumentId kBanded = 5000;  // beyond the engine's direct id table

    SnapshotMarket(Twin& twin, std::uint64_t seed) : t_(twin), rng_(seed) {}

    void bootstrap() {
        op_.key = key_of(1);
        Payload p;
        p.account.name = "operator";
        p.new_key_hash = op_.key;
        Request r;
        r.type = RequestType::Bootstrap;
        r.payload = &p;
        t_.send(r);
        op_.id = 1;
    }

    void setup() {
        add_instrument(token_spec());
        InstrumentSpec compute = compute_spec();
        compute.initial_state = TradingState::CallAuction;
        add_instrument(compute);
        InstrumentSpec banded = token_spec(kBanded);
        banded.symbol = matching::FixedText<32>::from("HOHHOT-BANDED");
        banded.tick_size = 5;
        banded.lot_size = 2;
        banded.quantity_min = 2;
        banded.quantity_max = 1'000;
        banded.price_min = 5;
        banded.price_max = 5'000;
        banded.band_bps = 500;
        banded.reference_price = 1'000;
        add_instrument(banded);
        for (int i = 0; i < 4; ++i) {
            AccountSpec limits;
            if (i == 0) {
                limits.orders_per_second_max = 40;  // often rate limited
            } else if (i == 1) {
                limits.order_quantity_max = 30;
                limits.order_notional_max_fen = 40'000;
            }
            buyers_.push_back(create_account(Role::Buyer, "buyer-" + std::to_string(i), limits));
            deposit(buyers_.back(), "");
        }
        for (int i = 0; i < 3; ++i) {
            providers_.push_back(
                create_account(Role::Provider, "provider-" + std::to_string(i), {}));
            register_capacity(providers_.back());
        }
        regulator_ = create_account(Role::Regulator, "regulator", {});
    }

    void step() {
        t_.now += rng_.chance(3) ? rng_.between(0, 2 * kSecond) : rng_.between(0, 400'000);
        const std::uint64_t pick = rng_.below(1000);
        if (pick < 330) {
            new_order(rng_.chance(20));
        } else if (pick < 430) {
            cancel(rng_.chance(30));
        } else if (pick < 520) {
            replace();
        } else if (pick < 545) {
            mass_cancel();
        } else if (pick < 610) {
            resend();
        } else if (pick < 680) {
            t_.now += rng_.between(0, 8 * kMs);
            Request r;
            r.type = RequestType::Tick;
            t_.send(r);
        } else if (pick < 700) {
            deposit(buyers_[rng_.below(buyers_.size())], rng_.chance(30) ? "dep-1" : "");
        } else if (pick < 740) {
            change_phase();
        } else if (pick < 770) {
            logon();
        } else if (pick < 795) {
            logoff();
        } else if (pick < 840) {
            query();
        } else if (pick < 870) {
            burst();
        } else if (pick < 885) {
            admin_misc();
        } else if (pick < 895) {
            bad_request();
        } else if (pick < 915) {
            settlement();
        } else {
            session_order();
        }
    }

  private:
    struct Placed {
        Party party;
        OrderId id = 0;
        std::string client_id;
        InstrumentId instrument = 0;
    };
    struct OpenSession {
        SessionId id = 0;
        Party party;
    };

    std::string next_id() { return "c" + std::to_string(next_client_id_++); }

    void add_instrument(const InstrumentSpec& spec) {
        Payload p;
        p.instrument = spec;
        t_.send(admin(RequestType::AddInstrument, p));
        instruments_.push_back(spec);
    }

    Request admin(RequestType type, Payload& p, AccountId account = 0) const {
        Request r;
        r.type = type;
        r.key_hash = op_.key;
        r.payload = &p;
        r.account = account;
        return r;
    }

    Party create_account(Role role, const std::string& name, AccountSpec spec) {
        Payload p;
        spec.name = name;
        spec.role = role;
        p.account = spec;
        t_.send(admin(RequestType::CreateAccount, p));
        Party party;
        party.id = p.account.id;
        party.key = key_of(1000 + party.id);
        Payload k;
        k.new_key_hash = party.key;
        t_.send(admin(RequestType::CreateApiKey, k, party.id));
        return party;
    }

    void deposit(const Party& party, const std::string& id) {
        Payload p;
        p.amount_fen = id.empty() ? rng_.between(50'000, 3'000'000) : 77'000;
        p.deposit_id = id.empty() ? "dep-" + std::to_string(next_deposit_++) : id;
        t_.send(admin(RequestType::CreditDeposit, p, party.id));
    }

    void register_capacity(const Party& provider) {
        for (const InstrumentSpec& spec : instruments_) {
            Payload p;
            p.capacity.kind = spec.kind;
            p.capacity.hub = std::string(spec.hub.view());
            p.capacity.window_start_ns = spec.window_start_ns;
            p.capacity.window_end_ns = spec.window_end_ns;
            if (spec.kind == InstrumentKind::ComputeCapacity) {
                p.capacity.accelerator_model = rng_.chance(80) ? "H100-SXM" : "MLU370";
                p.capacity.device_count = static_cast<std::uint32_t>(rng_.between(8, 64));
            } else {
                p.capacity.token_bundles = rng_.between(500, 5'000);
            }
            t_.send(admin(RequestType::RegisterCapacity, p, provider.id));
        }
    }

    const InstrumentSpec& any_instrument() {
        return instruments_[static_cast<std::size_t>(rng_.below(instruments_.size()))];
    }

    Party any_trader() {
        const std::size_t n = buyers_.size() + providers_.size();
        const auto i = static_cast<std::size_t>(rng_.below(n));
        return i < buyers_.size() ? buyers_[i] : providers_[i - buyers_.size()];
    }

    Request order_request(bool unusual) {
        const bool is_buyer = rng_.chance(50);
        const Party party = is_buyer ? buyers_[rng_.below(buyers_.size())]
                                     : providers_[rng_.below(providers_.size())];
        const InstrumentSpec& spec = any_instrument();
        const Price price =
            spec.id == kBanded ? 5 * rng_.between(190, 210) : rng_.between(985, 1'015);
        const Quantity quantity = spec.lot_size * rng_.between(1, 20);
        Request r = TestExchange::new_order(party, is_buyer ? Side::Buy : Side::Sell, spec.id,
                                            price, quantity, next_id());
        if (rng_.chance(2)) {
            r.side = matching::opposite(r.side);
        }
        const std::uint64_t tif = rng_.below(10);
        if (tif < 3) {
            r.tif = TimeInForce::GTD;
            r.expiry_ns = t_.now + rng_.between(1, 30 * kMs);
        } else if (tif < 4) {
            r.tif = TimeInForce::IOC;
        }
        r.stp = static_cast<matching::SelfTradePrevention>(rng_.below(4));
        if (unusual) {
            switch (rng_.below(8)) {
                case 0:
                    r = TestExchange::market(r);
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
                    r.min_quantity = spec.lot_size * rng_.between(1, quantity / spec.lot_size);
                    break;
                case 5:
                    r.price = rng_.chance(50) ? 0 : 200'000;
                    break;
                case 6:
                    r.price += 1;  // off the tick of the banded instrument
                    break;
                default:
                    r.quantity = rng_.between(200, 5'000);
                    break;
            }
        }
        return r;
    }

    void track(const Party& party, const Request& r, const std::vector<Outbound>& out) {
        for (const Outbound& o : out) {
            if (o.kind == OutKind::Report && !o.duplicate && o.account == party.id &&
                o.client_order_id.bytes == r.client_order_id.bytes &&
                o.exec != ExecType::Rejected && o.leaves > 0) {
                placed_.push_back(
                    Placed{party, o.order_id, std::string(r.client_order_id.view()), r.instrument});
                break;
            }
        }
        if (sent_.size() < 512) {
            sent_.push_back(r);
        } else {
            sent_[rng_.below(sent_.size())] = r;
        }
    }

    Party party_of_key(const KeyHash& key) const {
        for (const Party& p : buyers_) {
            if (p.key == key) {
                return p;
            }
        }
        for (const Party& p : providers_) {
            if (p.key == key) {
                return p;
            }
        }
        return Party{};
    }

    void new_order(bool unusual) {
        const Request r = order_request(unusual);
        track(party_of_key(r.key_hash), r, t_.send(r));
    }

    void session_order() {
        if (sessions_.empty()) {
            new_order(false);
            return;
        }
        const OpenSession& s = sessions_[rng_.below(sessions_.size())];
        Request r = order_request(rng_.chance(10));
        r = TestExchange::on_session(r, s.id);
        // The session's account trades on the side its role allows.
        bool is_buyer = false;
        for (const Party& p : buyers_) {
            is_buyer = is_buyer || p.id == s.party.id;
        }
        r.side = is_buyer ? Side::Buy : Side::Sell;
        track(s.party, r, t_.send(r));
    }

    const Placed* any_placed() {
        if (placed_.empty()) {
            return nullptr;
        }
        const std::size_t n = placed_.size();
        const auto back = static_cast<std::size_t>(rng_.below(std::min<std::size_t>(n, 24)));
        return &placed_[n - 1 - back];
    }

    void cancel(bool by_client_id) {
        const Placed* p = any_placed();
        if (p == nullptr) {
            return;
        }
        Request r = by_client_id
                        ? TestExchange::cancel_by_client_id(p->party, p->client_id, next_id())
                        : TestExchange::cancel(p->party, p->id, next_id());
        if (rng_.chance(20)) {
            r.instrument = p->instrument;
        }
        track(p->party, r, t_.send(r));
    }

    void replace() {
        const Placed* p = any_placed();
        if (p == nullptr) {
            return;
        }
        const bool banded = p->instrument == kBanded;
        const Price price = banded ? 5 * rng_.between(190, 210) : rng_.between(980, 1'020);
        const Quantity quantity = banded ? 2 * rng_.between(1, 20) : rng_.between(1, 40);
        const Request r = TestExchange::replace(p->party, p->id, price, quantity, next_id());
        track(p->party, r, t_.send(r));
    }

    void mass_cancel() {
        const std::uint64_t which = rng_.below(4);
        const InstrumentId instrument = which == 0 ? 0 : any_instrument().id;
        const Party party = any_trader();
        const Request r = TestExchange::mass_cancel(party, next_id(), instrument);
        track(party, r, t_.send(r));
    }

    void resend() {
        if (sent_.empty()) {
            return;
        }
        Request r = sent_[rng_.below(sent_.size())];
        if (r.session != 0 && rng_.chance(50)) {
            r = TestExchange::on_session(r, r.session);
        }
        t_.send(r);
    }

    void change_phase() {
        const InstrumentSpec& spec = any_instrument();
        const TradingState state = *t_.reference().engine().state(spec.id);
        StateAction action = StateAction::Resume;
        switch (state) {
            case TradingState::Continuous: {
                const std::uint64_t k = rng_.below(10);
                action = k < 4   ? StateAction::StartAuction
                         : k < 6 ? StateAction::Halt
                         : k < 7 ? StateAction::HaltAndCancel
                         : k < 8 ? StateAction::Close
                                 : StateAction::SetReference;
                break;
            }
            case TradingState::CallAuction:
                action = rng_.chance(40) ? StateAction::FreezeAuction : StateAction::EndAuction;
                break;
            case TradingState::AuctionNoCancel:
                action = rng_.chance(80) ? StateAction::EndAuction : StateAction::Halt;
                break;
            case TradingState::Halted:
            case TradingState::Closed:
                action = rng_.chance(90) ? StateAction::Resume : StateAction::StartAuction;
                break;
        }
        Payload p;
        Request r = admin(RequestType::SetTradingState, p);
        r.instrument = spec.id;
        r.action = action;
        r.price = spec.tick_size * rng_.between(190, 210) + (spec.id == kBanded ? 0 : 800);
        t_.send(r);
    }

    void logon() {
        const Party party = any_trader();
        Request r;
        r.type = RequestType::Logon;
        r.key_hash = rng_.chance(5) ? regulator_.key : party.key;
        r.cancel_on_disconnect = rng_.chance(60);
        const AccountState* state = t_.reference().account(party.id);
        if (rng_.chance(50) && state != nullptr && state->report_seq > 0) {
            r.resume_after_seq = static_cast<std::uint64_t>(
                rng_.between(1, static_cast<std::int64_t>(state->report_seq)));
        }
        for (const Outbound& o : t_.send(r)) {
            if (o.kind == OutKind::Reply && o.code == Code::None && o.session != 0 &&
                r.key_hash == party.key) {
                sessions_.push_back(OpenSession{o.session, party});
            }
        }
    }

    void logoff() {
        Request r;
        r.type = RequestType::Logoff;
        if (sessions_.empty() || rng_.chance(10)) {
            r.session = 999'999;  // unknown
        } else {
            const auto i = static_cast<std::size_t>(rng_.below(sessions_.size()));
            r.session = sessions_[i].id;
            sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        t_.send(r);
    }

    void query() {
        Payload p;
        Request r;
        const std::uint64_t k = rng_.below(4);
        r.type = k == 0   ? RequestType::OpenOrders
                 : k == 1 ? RequestType::Fills
                 : k == 2 ? RequestType::Balances
                          : RequestType::ListInstruments;
        const bool as_regulator = rng_.chance(30);
        const Party party = any_trader();
        r.key_hash = as_regulator ? regulator_.key : party.key;
        r.account = as_regulator ? party.id : 0;
        r.instrument = rng_.chance(30) ? any_instrument().id : 0;
        r.payload = &p;
        t_.send(r);
    }

    // The rate-limited buyer sends several orders at one instant.
    void burst() {
        const Party party = buyers_[0];
        const int n = static_cast<int>(rng_.between(5, 60));
        for (int i = 0; i < n; ++i) {
            Request r = TestExchange::buy(party, rng_.between(990, 1'005), 1, next_id(),
                                          rng_.chance(50) ? kTokens : kCompute);
            if (rng_.chance(50)) {
                r.tif = TimeInForce::IOC;
            }
            track(party, r, t_.send(r));
        }
    }

    void admin_misc() {
        const std::uint64_t k = rng_.below(5);
        if (k == 0) {
            Payload p;
            p.models = {{"H100-SXM", static_cast<std::int64_t>(rng_.between(900, 1'100)), false},
                        {"MLU370", 96, true},
                        {"NEW-" + std::to_string(rng_.below(100)), 500, true}};
            t_.send(admin(RequestType::SetAcceleratorTable, p));
        } else if (k == 1) {
            register_capacity(providers_[rng_.below(providers_.size())]);
        } else if (k == 2) {
            const bool buyer = rng_.chance(50);
            const Party party = create_account(buyer ? Role::Buyer : Role::Provider,
                                               "late-" + std::to_string(next_client_id_), {});
            if (party.id != 0) {
                if (buyer) {
                    buyers_.push_back(party);
                    deposit(party, "");
                } else {
                    providers_.push_back(party);
                    register_capacity(party);
                }
            }
        } else if (k == 3 && instruments_.size() < 6) {
            InstrumentSpec spec = token_spec(static_cast<InstrumentId>(10 + instruments_.size()));
            spec.hub = matching::FixedText<16>::from("LATE-" + std::to_string(instruments_.size()));
            spec.initial_state = rng_.chance(50) ? TradingState::Closed : TradingState::Continuous;
            add_instrument(spec);
        } else {
            Payload p;
            Request r = admin(RequestType::CreateApiKey, p, any_trader().id);
            p.new_key_hash = key_of(5000 + static_cast<std::uint32_t>(rng_.below(3)));
            t_.send(r);
        }
    }

    // A step of settlement: providers confirm (in full, in part or wrongly), buyers
    // dispute, the operator resolves, funds collateral and runs settlement in slices,
    // anybody lists obligations, and now and then days pass so that windows end and
    // dispute periods run out.
    void settlement() {
        const std::vector<Obligation> open = t_.reference().open_obligations();
        const std::uint64_t k = rng_.below(8);
        Payload p;
        Request r;
        r.payload = &p;
        if (!open.empty() && k < 3) {
            const Obligation& o = open[rng_.below(open.size())];
            p.obligation_id = rng_.chance(95) ? o.id : o.id + 100'000;
            if (k == 0) {
                r.type = RequestType::ConfirmDelivery;
                r.key_hash = rng_.chance(90) ? party_of_id(o.provider).key : any_trader().key;
                p.delivered_quantity = rng_.chance(70) ? o.quantity : rng_.between(0, o.quantity);
            } else if (k == 1) {
                r.type = RequestType::DisputeDelivery;
                r.key_hash = party_of_id(o.buyer).key;
                p.note = rng_.chance(90) ? "not delivered" : std::string(300, 'x');
            } else {
                r.type = RequestType::ResolveDispute;
                r.key_hash = op_.key;
                p.uphold = rng_.chance(50);
            }
        } else if (k < 5) {
            r.type = RequestType::RunSettlement;
            r.key_hash = rng_.chance(95) ? op_.key : any_trader().key;
            p.settlement_limit = static_cast<std::uint32_t>(rng_.below(4));
        } else if (k == 5) {
            r = admin(RequestType::CreditCollateral, p, any_trader().id);
            p.amount_fen = rng_.between(1, 5'000);
            p.deposit_id = "col-" + std::to_string(next_deposit_++);
        } else if (k == 6) {
            r.type = RequestType::ListObligations;
            const bool as_regulator = rng_.chance(40);
            const Party party = any_trader();
            r.key_hash = as_regulator ? regulator_.key : party.key;
            r.account = as_regulator ? party.id : 0;
            p.state_filter = static_cast<std::uint8_t>(rng_.below(4));
        } else {
            // Days pass; the first jump reaches the delivery windows.
            t_.now = std::max(t_.now, kWindowEnd - 3 * kHour) + rng_.between(1, 20) * kHour;
            return;
        }
        t_.send(r);
        t_.coverage.obligations_closed += p.settlement.settled + p.settlement.failed;
    }

    Party party_of_id(AccountId id) const {
        for (const Party& p : buyers_) {
            if (p.id == id) {
                return p;
            }
        }
        for (const Party& p : providers_) {
            if (p.id == id) {
                return p;
            }
        }
        return Party{};
    }

    void bad_request() {
        Request r = order_request(false);
        switch (rng_.below(4)) {
            case 0:
                r.key_hash = key_of(77'777);  // unknown key
                break;
            case 1:
                r = TestExchange::on_session(r, 424'242);  // unknown session
                break;
            case 2:
                r.client_order_id = ClientOrderId{};  // invalid client id
                break;
            default:
                r.key_hash = op_.key;  // an operator may not trade
                break;
        }
        t_.send(r);
    }

    Twin& t_;
    SplitMix64 rng_;
    Party op_;
    Party regulator_;
    std::vector<Party> buyers_;
    std::vector<Party> providers_;
    std::vector<InstrumentSpec> instruments_;
    std::vector<Placed> placed_;
    std::vector<OpenSession> sessions_;
    std::vector<Request> sent_;
    std::uint64_t next_client_id_ = 1;
    std::uint64_t next_deposit_ = 1;
};

}  // namespace cpx::exchange::test
