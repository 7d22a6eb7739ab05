// Settlement under random activity: a random market trades while providers confirm
// (in full or in part), buyers dispute, the operator resolves disputes, funds collateral
// and runs settlement in slices, grants, revokes and funds vouchers of three programs
// (one too poor for its grants, one capped, one for providers that forbids both sides
// claiming), and time passes windows and dispute periods. After every step the ledger
// balances, each buyer's escrow is exactly its open obligations, each provider's
// unsettled sales are exactly its own, every trade is open, settled or failed exactly
// once, and every program has paid exactly what left its budget, never past a voucher's
// face value, a cap or the pool.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "random_market.hpp"
#include "stress.hpp"

namespace cpx::exchange::test {
namespace {

constexpr std::uint64_t kExternal = ledger::account_id(0, ledger::purpose::external_deposits);

class SettlementActor {
  public:
    SettlementActor(TestExchange& x, RandomMarket& market, std::uint64_t seed)
        : x_(x), market_(market), rng_(seed) {}

    // The issuer and its programs: after the market's setup.
    void setup_vouchers() {
        issuer_ = x_.create_account(Role::Issuer, "issuer");
        ASSERT_EQ(x_.deposit(issuer_.id, 10'000'000), Code::None);
        issuer_money_ = 10'000'000;
        VoucherProgramSpec poor;
        poor.issuer = issuer_.id;
        poor.name = "poor";
        poor.budget_fen = 20'000;
        poor.share_bps = 3'000;
        poor.valid_from_ns = 0;
        poor.valid_until_ns = kWindowEnd + 3'650 * 24 * kHour;
        VoucherProgramSpec capped = poor;
        capped.name = "capped";
        capped.budget_fen = 2'000'000;
        capped.share_bps = 5'000;
        capped.cap_per_beneficiary_fen = 30'000;
        capped.pool_cap_fen = 100'000;
        capped.hubs = {kTokenHub};
        VoucherProgramSpec supply = poor;
        supply.name = "supply";
        supply.budget_fen = 1'000'000;
        supply.side = VoucherSide::Provider;
        supply.allow_both_sides = false;
        supply.mode = VoucherMode::Rebate;
        for (const VoucherProgramSpec& spec : {poor, capped, supply}) {
            Payload p;
            p.program = spec;
            ASSERT_EQ(x_.admin(RequestType::CreateVoucherProgram, p), Code::None);
        }
    }

    void step() {
        const std::vector<Obligation> open = x_.exchange.open_obligations();
        const std::uint64_t pick = rng_.below(100);
        if (!open.empty() && pick < 40) {
            const Obligation& o = open[static_cast<std::size_t>(rng_.below(open.size()))];
            Payload p;
            p.obligation_id = o.id;
            p.delivered_quantity = rng_.chance(80) ? o.quantity : rng_.between(0, o.quantity + 1);
            // Now and then the wrong provider tries.
            send(RequestType::ConfirmDelivery,
                 rng_.chance(90) ? key_of_account(o.provider) : any_provider_key(), p);
        } else if (!open.empty() && pick < 55) {
            const Obligation& o = open[static_cast<std::size_t>(rng_.below(open.size()))];
            Payload p;
            p.obligation_id = o.id;
            p.note = "short delivery";
            send(RequestType::DisputeDelivery, key_of_account(o.buyer), p);
        } else if (!open.empty() && pick < 65) {
            const Obligation& o = open[static_cast<std::size_t>(rng_.below(open.size()))];
            Payload p;
            p.obligation_id = o.id;
            p.uphold = rng_.chance(50);
            send(RequestType::ResolveDispute, x_.op.key, p);
        } else if (pick < 80) {
            Payload p;
            p.settlement_limit = static_cast<std::uint32_t>(rng_.below(5));
            const Code code = send(RequestType::RunSettlement, x_.op.key, p);
            ASSERT_EQ(code, Code::None);
            settled_ += p.settlement.settled;
            failed_ += p.settlement.failed;
        } else if (pick < 85) {
            const Party& provider =
                market_
                    .providers()[static_cast<std::size_t>(rng_.below(market_.providers().size()))];
            Payload p;
            p.amount_fen = rng_.between(1, 20'000);
            p.deposit_id = "collateral-" + std::to_string(next_deposit_++);
            ASSERT_EQ(x_.admin(RequestType::CreditCollateral, p, provider.id), Code::None);
            collateral_ += p.amount_fen;
        } else if (pick < 88) {
            // Days pass: windows end and dispute periods run out.
            x_.advance(rng_.between(1, 3) * x_.exchange.settlement_rules().dispute_period_ns / 2);
        } else if (pick < 95) {
            // A grant: buyers' programs to buyers, the supply program to providers.
            const std::uint32_t program = static_cast<std::uint32_t>(rng_.between(1, 3));
            const std::vector<Party>& parties =
                program == 3 ? market_.providers() : market_.buyers();
            const Party& to = parties[static_cast<std::size_t>(rng_.below(parties.size()))];
            Payload p;
            p.program_id = program;
            p.voucher_face_fen = rng_.between(1, 50'000);
            p.voucher_expiry_ns = x_.now + rng_.between(1, 10) * 24 * kHour;
            p.voucher_ref = "g" + std::to_string(next_grant_++);
            const Code code = x_.admin(RequestType::GrantVoucher, p, to.id);
            ASSERT_TRUE(code == Code::None || code == Code::VoucherLimitReached) << code_name(code);
        } else if (pick < 97 && !x_.exchange.vouchers().empty()) {
            Payload p;
            p.voucher_id = 1 + rng_.below(x_.exchange.vouchers().size());
            const Code code = x_.admin(RequestType::RevokeVoucher, p);
            ASSERT_TRUE(code == Code::None || code == Code::VoucherNotActive) << code_name(code);
        } else if (pick < 98) {
            Payload p;
            p.program_id = static_cast<std::uint32_t>(rng_.between(1, 3));
            p.amount_fen = rng_.between(1, 20'000);
            p.voucher_ref = "fund-" + std::to_string(next_fund_++);
            ASSERT_EQ(x_.admin(RequestType::FundVoucherProgram, p), Code::None);
        }
    }

    const Party& issuer() const { return issuer_; }
    Price issuer_money() const { return issuer_money_; }

    // Money enters only by deposits, collateral included.
    Price collateral() const { return collateral_; }
    std::uint64_t settled() const { return settled_; }
    std::uint64_t failed() const { return failed_; }
    void count_resolution(const Payload& p) {
        settled_ += p.settlement.settled;
        failed_ += p.settlement.failed;
    }

  private:
    KeyHash key_of_account(AccountId id) const {
        for (const Party& p : market_.buyers()) {
            if (p.id == id) {
                return p.key;
            }
        }
        for (const Party& p : market_.providers()) {
            if (p.id == id) {
                return p.key;
            }
        }
        ADD_FAILURE() << "no party " << id;
        return KeyHash{};
    }
    KeyHash any_provider_key() {
        return market_.providers()[static_cast<std::size_t>(rng_.below(market_.providers().size()))]
            .key;
    }
    Code send(RequestType type, const KeyHash& key, Payload& p) {
        Request r;
        r.type = type;
        r.key_hash = key;
        r.payload = &p;
        const Code code = x_.send(r).code();
        if (type == RequestType::ResolveDispute && code == Code::None) {
            count_resolution(p);
        }
        return code;
    }

    TestExchange& x_;
    RandomMarket& market_;
    SplitMix64 rng_;
    Price collateral_ = 0;
    std::uint64_t settled_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t next_deposit_ = 1;
    std::uint64_t next_grant_ = 1;
    std::uint64_t next_fund_ = 1;
    Party issuer_;
    Price issuer_money_ = 0;
};

std::uint64_t trades_of(const TestExchange& x) {
    std::uint64_t n = 0;
    for (const Outbound& o : x.sink.records) {
        if (o.kind == OutKind::Market && o.market == MarketKind::Trade) {
            ++n;
        }
    }
    return n;
}

void check(const TestExchange& x, const RandomMarket& market, const SettlementActor& actor) {
    const ledger::Ledger& ledger = x.exchange.ledger();
    ASSERT_TRUE(ledger.totals().balanced());
    const std::vector<Obligation> open = x.exchange.open_obligations();
    std::map<AccountId, Price> escrowed;
    std::map<AccountId, Price> owed;
    for (const Obligation& o : open) {
        escrowed[o.buyer] += o.amount_fen;
        owed[o.provider] += o.amount_fen;
    }
    Price deposited = actor.collateral();
    for (std::size_t i = 0; i < market.buyers().size(); ++i) {
        const Party& b = market.buyers()[i];
        const BalanceView v = x.exchange.balance_of(b.id);
        ASSERT_EQ(v.unsettled_fen, escrowed[b.id]) << "buyer " << b.id;
        ASSERT_GE(v.available_fen, 0);
        deposited += market.deposited(i);
    }
    for (const Party& p : market.providers()) {
        const BalanceView v = x.exchange.balance_of(p.id);
        ASSERT_EQ(v.unsettled_fen, owed[p.id]) << "provider " << p.id;
        ASSERT_GE(v.collateral_fen, 0);
    }
    deposited += actor.issuer_money();
    ASSERT_EQ(ledger.account(kExternal)->debit_balance(), deposited);
    ASSERT_EQ(open.size() + actor.settled() + actor.failed(), trades_of(x));

    // Vouchers: a program has paid exactly what left its budget, which never went below
    // zero; its vouchers' redemptions sum to it; no voucher paid past its face value.
    std::map<std::uint32_t, Price> redeemed;
    for (const Voucher& v : x.exchange.vouchers()) {
        ASSERT_GE(v.redeemed_fen, 0);
        ASSERT_LE(v.redeemed_fen + v.revoked_fen, v.face_fen) << "voucher " << v.id;
        redeemed[v.program] += v.redeemed_fen;
    }
    Price funded = 0;
    for (const VoucherProgramView& p : x.exchange.voucher_programs()) {
        ASSERT_GE(p.budget_fen, 0);
        ASSERT_EQ(p.funded_fen - p.redeemed_fen, p.budget_fen) << p.spec.name;
        ASSERT_EQ(redeemed[p.spec.id], p.redeemed_fen) << p.spec.name;
        if (p.spec.pool_cap_fen > 0) {
            ASSERT_LE(p.redeemed_fen, p.spec.pool_cap_fen);
        }
        funded += p.funded_fen;
    }
    ASSERT_EQ(x.exchange.balance_of(actor.issuer().id).balance_fen, actor.issuer_money() - funded);
}

TEST(ExchangeSettlementRandom, MoneyIsConservedAndEveryTradeEndsOnce) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        TestExchange x;
        RandomMarket market(x, seed);
        market.setup();
        SettlementActor actor(x, market, seed * 7919);
        actor.setup_vouchers();
        // Trading happens a year before the delivery window; move close to it so that
        // windows end and dispute periods pass during the run.
        x.now = kWindowEnd - 2 * kHour;
        const int steps = static_cast<int>(cpx::testing::scaled(1'500));
        for (int i = 0; i < steps; ++i) {
            market.step();
            if (i % 3 == 0) {
                actor.step();
            }
            if (i % 50 == 0) {
                check(x, market, actor);
                if (::testing::Test::HasFatalFailure()) {
                    return;
                }
            }
        }
        check(x, market, actor);
        EXPECT_GT(actor.settled() + actor.failed(), 0u);
        Price paid = 0;
        for (const VoucherProgramView& p : x.exchange.voucher_programs()) {
            paid += p.redeemed_fen;
        }
        EXPECT_GT(paid, 0);
    }
}

}  // namespace
}  // namespace cpx::exchange::test
