#pragma once

// A seeded random market for the exchange's property tests: buyers and providers that
// place, cancel, replace and retry orders on both instruments, a clock that moves, and
// an operator that deposits money, halts and runs auctions. The same seed always sends
// the same requests, so a failure is reproduced by its seed alone.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {

class SplitMix64 {
  public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n).
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    // Uniform in [lo, hi].
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
    }
    bool chance(std::uint64_t percent) { return below(100) < percent; }

  private:
    std::uint64_t state_;
};

class RandomMarket {
  public:
    RandomMarket(TestExchange& x, std::uint64_t seed) : x_(x), rng_(seed) {}

    void setup(std::size_t buyers = 4, std::size_t providers = 3) {
        x_.add_default_instruments();
        for (std::size_t i = 0; i < buyers; ++i) {
            // The first buyer has tight limits of its own and the second a low rate, so
            // that those refusals happen too.
            AccountSpec limits;
            if (i == 0) {
                limits.order_quantity_max = 30;
                limits.order_notional_max_fen = 30'000;
            } else if (i == 1) {
                limits.orders_per_second_max = 200;
            }
            buyers_.push_back(x_.buyer("buyer-" + std::to_string(i), 0, limits));
            deposited_.push_back(0);
            deposit(i);
        }
        for (std::size_t i = 0; i < providers; ++i) {
            const Party p = x_.provider("provider-" + std::to_string(i));
            x_.register_tokens(p, rng_.between(2'000, 20'000));
            Code code = Code::None;
            x_.register_compute(p, "H100-SXM", static_cast<std::uint32_t>(rng_.between(32, 256)),
                                kWindowStart, kWindowEnd, &code);
            EXPECT_EQ(code, Code::None);
            providers_.push_back(p);
        }
    }

    void step() {
        x_.advance(rng_.between(0, 200'000));
        // Halts and auctions end sooner than they start, so that most commands meet
        // continuous trading.
        if (rng_.chance(5)) {
            const InstrumentId instrument = rng_.chance(50) ? kTokens : kCompute;
            if (*x_.exchange.engine().state(instrument) != TradingState::Continuous) {
                change_phase(instrument);
                return;
            }
        }
        const std::uint64_t pick = rng_.below(100);
        if (pick < 40) {
            new_order(false);
        } else if (pick < 55) {
            cancel(false);
        } else if (pick < 60) {
            cancel(true);
        } else if (pick < 72) {
            replace();
        } else if (pick < 75) {
            const std::uint64_t which = rng_.below(3);
            const InstrumentId instrument = which == 0 ? 0 : (which == 1 ? kTokens : kCompute);
            Request r = TestExchange::mass_cancel(any_party(), next_id(), instrument);
            send(r);
        } else if (pick < 83) {
            resend();
        } else if (pick < 89) {
            x_.advance(rng_.between(0, 5 * kMs));
            x_.tick();
        } else if (pick < 91) {
            deposit(static_cast<std::size_t>(rng_.below(buyers_.size())));
        } else if (pick < 92) {
            change_phase(rng_.chance(50) ? kTokens : kCompute);
        } else {
            new_order(true);
        }
    }

    const std::vector<Party>& buyers() const { return buyers_; }
    const std::vector<Party>& providers() const { return providers_; }
    Price deposited(std::size_t buyer) const { return deposited_[buyer]; }
    std::uint64_t duplicates() const { return duplicates_; }

  private:
    struct Placed {
        Party party;
        OrderId id = 0;
        std::string client_id;
    };

    std::string next_id() { return "id-" + std::to_string(next_client_id_++); }

    Party any_party() {
        const std::size_t n = buyers_.size() + providers_.size();
        const std::size_t i = static_cast<std::size_t>(rng_.below(n));
        return i < buyers_.size() ? buyers_[i] : providers_[i - buyers_.size()];
    }

    void deposit(std::size_t buyer) {
        const Price amount = rng_.between(50'000, 2'000'000);
        ASSERT_EQ(x_.deposit(buyers_[buyer].id, amount), Code::None);
        deposited_[buyer] += amount;
    }

    Result send(const Request& r) {
        Result result = x_.send(r);
        if (sent_.size() < 4'096) {
            sent_.push_back(r);
        }
        return result;
    }

    void new_order(bool unusual) {
        const bool is_buyer = rng_.chance(50);
        const Party party =
            is_buyer ? buyers_[static_cast<std::size_t>(rng_.below(buyers_.size()))]
                     : providers_[static_cast<std::size_t>(rng_.below(providers_.size()))];
        const InstrumentId instrument = rng_.chance(50) ? kTokens : kCompute;
        const Price price = rng_.between(970, 1'030);
        const Quantity quantity = rng_.between(1, 40);
        const std::string id = next_id();
        Request r = TestExchange::new_order(party, is_buyer ? Side::Buy : Side::Sell, instrument,
                                            price, quantity, id);
        // Now and then an account tries the other side: refused for its role.
        if (rng_.chance(2)) {
            r.side = matching::opposite(r.side);
        }
        const std::uint64_t tif = rng_.below(10);
        if (tif < 2) {
            r.tif = TimeInForce::GTD;
            r.expiry_ns = x_.now + rng_.between(1, 20 * kMs);
        } else if (tif < 3) {
            r.tif = TimeInForce::IOC;
        }
        if (unusual) {
            switch (rng_.below(7)) {
                case 0:
                    r = TestExchange::market(r);
                    r.price = rng_.chance(50) ? 0 : price;
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
                    r.min_quantity = rng_.between(1, quantity);
                    break;
                case 5:
                    r.price = rng_.chance(50) ? 0 : 200'000;  // refused by the engine
                    break;
                default:
                    r.quantity = rng_.between(200, 5'000);  // often beyond what is held
                    break;
            }
        }
        const Result result = send(r);
        if (result.answer.kind == OutKind::Report && result.answer.exec != ExecType::Rejected &&
            result.answer.leaves > 0) {
            placed_.push_back(Placed{party, result.answer.order_id, id});
        }
    }

    const Placed* any_placed() {
        if (placed_.empty()) {
            return nullptr;
        }
        // Mostly recent orders, which are more likely still open.
        const std::size_t n = placed_.size();
        const std::size_t back = static_cast<std::size_t>(rng_.below(std::min<std::size_t>(n, 16)));
        return &placed_[n - 1 - back];
    }

    void cancel(bool by_client_id) {
        const Placed* p = any_placed();
        if (p == nullptr) {
            return;
        }
        send(by_client_id ? TestExchange::cancel_by_client_id(p->party, p->client_id, next_id())
                          : TestExchange::cancel(p->party, p->id, next_id()));
    }

    void replace() {
        const Placed* p = any_placed();
        if (p == nullptr) {
            return;
        }
        send(TestExchange::replace(p->party, p->id, rng_.between(960, 1'040), rng_.between(1, 60),
                                   next_id()));
    }

    void resend() {
        if (sent_.empty()) {
            return;
        }
        const Request r = sent_[static_cast<std::size_t>(rng_.below(sent_.size()))];
        // Orders due to expire leave at any command; let them go first, so that the hash
        // below sees only what the retry itself does.
        x_.tick();
        const std::uint64_t hash = x_.exchange.state_hash();
        const Result result = x_.send(r);
        if (result.answer.duplicate) {
            ++duplicates_;
            // A retry is answered from memory: nothing changes.
            EXPECT_EQ(x_.exchange.state_hash(), hash);
            EXPECT_TRUE(result.answer.targeted);
        }
    }

    void change_phase(InstrumentId instrument) {
        const TradingState state = *x_.exchange.engine().state(instrument);
        switch (state) {
            case TradingState::Continuous:
                x_.set_state(instrument, rng_.chance(50)   ? StateAction::StartAuction
                                         : rng_.chance(50) ? StateAction::Halt
                                                           : StateAction::HaltAndCancel);
                break;
            case TradingState::CallAuction:
                x_.set_state(instrument, rng_.chance(50) ? StateAction::EndAuction
                                                         : StateAction::FreezeAuction);
                break;
            case TradingState::AuctionNoCancel:
                x_.set_state(instrument, StateAction::EndAuction);
                break;
            case TradingState::Halted:
            case TradingState::Closed:
                x_.set_state(instrument, StateAction::Resume);
                break;
        }
    }

    TestExchange& x_;
    SplitMix64 rng_;
    std::vector<Party> buyers_;
    std::vector<Price> deposited_;
    std::vector<Party> providers_;
    std::vector<Placed> placed_;
    std::vector<Request> sent_;
    std::uint64_t next_client_id_ = 1;
    std::uint64_t duplicates_ = 0;
};

}  // namespace cpx::exchange::test
