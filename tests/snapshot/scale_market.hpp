#pragma once

// A large exchange built quickly, for the scale test and the measurement program: two
// token instruments, `accounts` buyers and providers, and `orders` resting orders that
// do not cross (bids below 1000, asks above), one in ten GTD, each with its own client
// id, then `extra_ids` IOC orders that rest nowhere but fill the client-id window.

#include <cstdint>
#include <string>

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {

class ScaleMarket {
  public:
    ScaleMarket(Exchange& exchange, std::uint32_t accounts) : x_(exchange) {
        operator_key_ = key_of(1);
        x_.bootstrap_operator("operator", operator_key_);
        for (InstrumentId id : {InstrumentId{1}, InstrumentId{2}}) {
            Payload p;
            p.instrument = token_spec(id);
            p.instrument.hub = matching::FixedText<16>::from("HUB-" + std::to_string(id));
            admin(RequestType::AddInstrument, p, 0);
        }
        for (std::uint32_t i = 0; i < accounts; ++i) {
            const bool buyer = i % 2 == 0;
            Payload a;
            a.account.name = "trader-" + std::to_string(i);
            a.account.role = buyer ? Role::Buyer : Role::Provider;
            admin(RequestType::CreateAccount, a, 0);
            const AccountId id = a.account.id;
            Payload k;
            k.new_key_hash = key_of(1000 + id);
            admin(RequestType::CreateApiKey, k, id);
            if (buyer) {
                Payload d;
                d.amount_fen = std::int64_t{1} << 50;
                d.deposit_id = "dep-" + std::to_string(id);
                admin(RequestType::CreditDeposit, d, id);
            } else {
                for (InstrumentId instrument : {InstrumentId{1}, InstrumentId{2}}) {
                    Payload c;
                    c.capacity.kind = InstrumentKind::TokenBundle;
                    c.capacity.hub = "HUB-" + std::to_string(instrument);
                    c.capacity.window_start_ns = kWindowStart;
                    c.capacity.window_end_ns = kWindowEnd;
                    c.capacity.token_bundles = std::int64_t{1} << 40;
                    admin(RequestType::RegisterCapacity, c, id);
                }
            }
            traders_.push_back(Party{id, key_of(1000 + id)});
        }
    }

    // Resting, non-crossing orders.
    void rest(std::uint64_t orders) {
        for (std::uint64_t n = 0; n < orders; ++n) {
            const Party& party = traders_[n % traders_.size()];
            const bool buyer = (n % traders_.size()) % 2 == 0;
            Request r = TestExchange::new_order(
                party, buyer ? Side::Buy : Side::Sell, static_cast<InstrumentId>(1 + n % 2),
                buyer ? 900 + static_cast<Price>(n % 97) : 1'001 + static_cast<Price>(n % 89),
                1 + static_cast<Quantity>(n % 7), "o" + std::to_string(next_id_++));
            if (n % 10 == 3) {
                r.tif = matching::TimeInForce::GTD;
                r.expiry_ns = now + kHour + static_cast<Timestamp>(n);
            }
            send(r);
        }
    }

    // IOC orders that cannot trade: remembered ids, no resting order.
    void fill_ids(std::uint64_t count) {
        for (std::uint64_t n = 0; n < count; ++n) {
            const Party& party = traders_[0];  // a buyer
            Request r = TestExchange::buy(party, 500, 1, "i" + std::to_string(next_id_++),
                                          static_cast<InstrumentId>(1 + n % 2));
            r.tif = matching::TimeInForce::IOC;
            send(r);
        }
    }

    void send(Request r) {
        now += 1'000;
        r.ts_ns = now;
        x_.apply(r);
    }

    const std::vector<Party>& traders() const { return traders_; }
    Timestamp now = kStartNs;

  private:
    void admin(RequestType type, Payload& p, AccountId account) {
        Request r;
        r.type = type;
        r.key_hash = operator_key_;
        r.account = account;
        r.payload = &p;
        send(r);
    }

    Exchange& x_;
    KeyHash operator_key_{};
    std::vector<Party> traders_;
    std::uint64_t next_id_ = 1;
};

}  // namespace cpx::exchange::test
