#pragma once
// A small market for the projector's tests: three buyers, two providers (one with
// collateral), random trading among them, and a settlement that takes every open
// obligation down one of settlement.hpp's paths.

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "projector_fixture.hpp"
#include "stress.hpp"

namespace cpx::projector::test {

struct Market {
    Party alice, bob, carol;  // buyers
    Party pat, quinn;         // providers; quinn has collateral
};

inline Market open_market(JournalledExchange& x) {
    Market m;
    x.add_tokens();
    m.alice = x.buyer("alice", 50'000'000);
    m.bob = x.buyer("bob", 50'000'000);
    m.carol = x.buyer("carol", 50'000'000);
    m.pat = x.provider("pat", 1'000'000);
    m.quinn = x.provider("quinn", 1'000'000, 2'000'000);
    return m;
}

// Orders around 1,000 fen that rest, cross (whole and partial fills) and are cancelled.
inline void trade_randomly(JournalledExchange& x, const Market& m, int orders, std::uint64_t seed) {
    const Party* buyers[] = {&m.alice, &m.bob, &m.carol};
    const Party* providers[] = {&m.pat, &m.quinn};
    std::vector<std::pair<const Party*, exchange::OrderId>> resting;
    for (int i = 0; i < orders; ++i) {
        const std::uint64_t r = cpx::testing::mix(seed * 1'000'003 + static_cast<std::uint64_t>(i));
        x.now += 1'000;
        const int what = static_cast<int>(r % 10);
        const Price price = 990 + static_cast<Price>((r >> 8) % 21);
        const Quantity quantity = 1 + static_cast<Quantity>((r >> 16) % 9);
        if (what < 2 && !resting.empty()) {
            const std::size_t k = (r >> 24) % resting.size();
            x.cancel(*resting[k].first, resting[k].second);  // may have traded meanwhile
            resting.erase(resting.begin() + static_cast<std::ptrdiff_t>(k));
        } else if (what < 6) {
            const Party& b = *buyers[(r >> 32) % 3];
            resting.emplace_back(&b, x.buy(b, price, quantity));
        } else {
            const Party& p = *providers[(r >> 32) % 2];
            resting.emplace_back(&p, x.sell(p, price + 5, quantity));
        }
    }
}

// Takes every open obligation down one of the paths of settlement.hpp, then runs the
// settlement past the dispute period. Returns the ids expected settled and failed.
inline std::pair<std::set<std::uint64_t>, std::set<std::uint64_t>> settle(JournalledExchange& x,
                                                                          const Market& m) {
    std::map<AccountId, const Party*> parties = {{m.alice.id, &m.alice},
                                                 {m.bob.id, &m.bob},
                                                 {m.carol.id, &m.carol},
                                                 {m.pat.id, &m.pat},
                                                 {m.quinn.id, &m.quinn}};
    std::set<std::uint64_t> settled;
    std::set<std::uint64_t> failed;
    int i = 0;
    for (const exchange::Obligation& o : x.exchange.open_obligations()) {
        x.now += 1'000;
        const Party& provider = *parties.at(o.provider);
        const Party& buyer = *parties.at(o.buyer);
        switch (i++ % 6) {
            case 0:  // delivered in full: settles
                EXPECT_EQ(x.confirm(provider, o.id, o.quantity), Code::None);
                settled.insert(o.id);
                break;
            case 1:  // delivered in part: settles the part, refunds the rest with a penalty
                EXPECT_EQ(x.confirm(provider, o.id, std::max<Quantity>(1, o.quantity / 2)),
                          Code::None);
                settled.insert(o.id);
                break;
            case 2:  // never confirmed: fails at the run
                failed.insert(o.id);
                break;
            case 3:  // confirmed, disputed, dispute rejected: settled now
                EXPECT_EQ(x.confirm(provider, o.id, o.quantity), Code::None);
                EXPECT_EQ(x.dispute(buyer, o.id, "the GPUs were slow"), Code::None);
                EXPECT_EQ(x.resolve(o.id, false, "met the spec"), Code::None);
                settled.insert(o.id);
                break;
            case 4:  // disputed, upheld: failed now
                EXPECT_EQ(x.dispute(buyer, o.id, "nothing arrived"), Code::None);
                EXPECT_EQ(x.resolve(o.id, true, "upheld"), Code::None);
                failed.insert(o.id);
                break;
            default:  // disputed and left for the operator: stays open
                EXPECT_EQ(x.dispute(buyer, o.id, ""), Code::None);
                break;
        }
    }
    x.pass_due();
    const exchange::SettlementRunResult run = x.run_settlement();
    EXPECT_GT(run.settled + run.failed, 0u);
    return {settled, failed};
}

}  // namespace cpx::projector::test
