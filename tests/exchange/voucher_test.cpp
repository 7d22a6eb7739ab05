// Vouchers: an issuer's program pays its share of an eligible settled deal out of its
// budget, never past a voucher's balance, a beneficiary's cap, the pool cap or the
// budget, never for an ineligible, failed, expired or revoked case, and says why when it
// refuses; programs, grants and revocations are checked, idempotent where they must be,
// visible only to whom they concern, and survive a snapshot.

#include <optional>
#include <string>
#include <vector>

#include "settlement_fixture.hpp"
#include "voucher_specs.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeVouchers : public SettlementTest {
  protected:
    ExchangeVouchers() {
        x.exchange.set_observers(nullptr, nullptr, &events);
        issuer = x.create_account(Role::Issuer, "hohhot-big-data-bureau");
        EXPECT_EQ(x.deposit(issuer.id, 50'000'000), Code::None);
        x.register_tokens(pat, 100'000);
        x.register_tokens(quinn, 100'000);
        for (const auto& [id, model] : {std::pair{kAscend, "ASCEND-910B"}, {kH100, "H100-SXM"}}) {
            Payload p;
            p.instrument = compute_spec(id);
            p.accelerator_model = model;
            EXPECT_EQ(x.admin(RequestType::AddInstrument, p), Code::None);
        }
    }

    // A Hohhot-style program: 30% of token deals in the HOHHOT hub, 1,000,000 fen. Each
    // has a name of its own (a program's name is unique per issuer).
    VoucherProgramSpec hohhot() const {
        return hohhot_program(issuer.id, "Hohhot compute vouchers " + std::to_string(next_name_++));
    }
    std::uint32_t create(const VoucherProgramSpec& spec, Code expected = Code::None) {
        Payload p;
        p.program = spec;
        EXPECT_EQ(x.admin(RequestType::CreateVoucherProgram, p), expected);
        return p.programs.empty() ? 0 : p.programs[0].spec.id;
    }
    std::uint64_t grant(std::uint32_t program, const Party& to, Price face,
                        Code expected = Code::None, Timestamp expiry = kWindowEnd + 365 * kDay,
                        const std::string& ref = "") {
        Payload p;
        p.program_id = program;
        p.voucher_face_fen = face;
        p.voucher_expiry_ns = expiry;
        p.voucher_ref = ref.empty() ? "grant-" + std::to_string(next_ref_++) : ref;
        EXPECT_EQ(x.admin(RequestType::GrantVoucher, p, to.id), expected);
        return p.vouchers.empty() ? 0 : p.vouchers[0].voucher.id;
    }
    Code revoke(std::uint64_t voucher) {
        Payload p;
        p.voucher_id = voucher;
        return x.admin(RequestType::RevokeVoucher, p);
    }
    // Trades, confirms `delivered` and settles one deal; returns its obligation.
    Obligation settle(Price price, Quantity quantity, const Party& seller, const Party& buyer,
                      InstrumentId instrument = kTokens, std::optional<Quantity> delivered = {}) {
        const std::string n = std::to_string(next_++);
        EXPECT_EQ(x.send(TestExchange::sell(seller, price, quantity, "s" + n, instrument)).code(),
                  Code::None);
        EXPECT_EQ(x.send(TestExchange::buy(buyer, price, quantity, "b" + n, instrument)).code(),
                  Code::None);
        const Obligation o = x.exchange.open_obligations().back();
        EXPECT_EQ(confirm(seller, o.id, delivered.value_or(quantity)), Code::None);
        // Past this deal's due time (every deal's window ends at kWindowEnd). The
        // exchange's clock never goes back, so each deal trades a dispute period after
        // the one before.
        x.now = std::max(x.now, kWindowEnd) + x.exchange.settlement_rules().dispute_period_ns;
        const SettlementRunResult done = run();
        EXPECT_EQ(done.settled, 1u);
        return o;
    }
    VoucherProgramView program_of(std::uint32_t id) const {
        return x.exchange.voucher_programs().at(id - 1);
    }
    Voucher voucher(std::uint64_t id) const { return x.exchange.vouchers().at(id - 1); }
    // The last redemption event (or refusal) of a deal and side.
    std::optional<VoucherEvent> claim(std::uint64_t trade, VoucherSide side) const {
        std::optional<VoucherEvent> found;
        for (const VoucherEvent& e : events.events) {
            if ((e.kind == VoucherEventKind::Redeemed ||
                 e.kind == VoucherEventKind::RedemptionRefused) &&
                e.trade_id == trade && e.side == side) {
                found = e;
            }
        }
        return found;
    }
    void expect_refused(std::uint64_t trade, Code reason, VoucherSide side = VoucherSide::Buyer) {
        const std::optional<VoucherEvent> e = claim(trade, side);
        ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->kind, VoucherEventKind::RedemptionRefused);
        EXPECT_EQ(code_name(static_cast<Code>(e->reason)), code_name(reason));
    }
    Price paid(std::uint64_t trade, VoucherSide side = VoucherSide::Buyer) const {
        const std::optional<VoucherEvent> e = claim(trade, side);
        return e.has_value() && e->kind == VoucherEventKind::Redeemed ? e->amount_fen : 0;
    }

    RecordingVoucherSink events;
    Party issuer;
    int next_ref_ = 1;
    mutable int next_name_ = 1;
};

TEST_F(ExchangeVouchers, ASettledEligibleDealPaysTheProgramShareBackToTheBuyer) {
    const std::uint32_t program = create(hohhot());
    ASSERT_EQ(program, 1u);
    const std::uint64_t v = grant(program, alice, 100'000);
    EXPECT_EQ(x.balances(alice).voucher_fen, 100'000);
    const Price alice_before = x.available(alice);

    const Obligation o = settle(250, 40, pat, alice);  // 10,000 fen
    EXPECT_EQ(paid(o.id), 3'000);
    EXPECT_EQ(x.available(alice), alice_before - 10'000 + 3'000);
    // The provider is paid the full price less the exchange's fee, as without a voucher.
    EXPECT_EQ(x.available(pat), 10'000 - 50);
    EXPECT_EQ(voucher(v).redeemed_fen, 3'000);
    EXPECT_EQ(x.balances(alice).voucher_fen, 97'000);
    const VoucherProgramView view = program_of(program);
    EXPECT_EQ(view.funded_fen, 1'000'000);
    EXPECT_EQ(view.redeemed_fen, 3'000);
    EXPECT_EQ(view.budget_fen, 997'000);
    EXPECT_EQ(view.redemptions, 1u);

    // The payment is one ledger transfer from the budget, naming the trade.
    const VoucherEvent e = *claim(o.id, VoucherSide::Buyer);
    EXPECT_EQ(e.voucher, v);
    EXPECT_EQ(e.share_fen, 3'000);
    EXPECT_EQ(e.reason, 0);
    EXPECT_NE(e.transfer_id, 0u);
    EXPECT_EQ(
        x.exchange.ledger().account(Exchange::voucher_budget_account(program))->credit_balance(),
        997'000);
    EXPECT_TRUE(x.exchange.ledger().totals().balanced());
    // The issuer paid the budget out of its own money.
    EXPECT_EQ(x.available(issuer), 50'000'000 - 1'000'000);
}

TEST_F(ExchangeVouchers, APaymentIsCutByTheBalanceTheCapThePoolAndTheBudget) {
    // Balance: a 1,000 fen voucher pays 1,000 of a 3,000 share, then is used up.
    const std::uint32_t small = create(hohhot());
    grant(small, alice, 1'000);
    const Obligation first = settle(250, 40, pat, alice);
    EXPECT_EQ(paid(first.id), 1'000);
    EXPECT_EQ(claim(first.id, VoucherSide::Buyer)->reason,
              static_cast<std::uint16_t>(Code::VoucherUsedUp));
    const Obligation second = settle(250, 40, pat, alice);
    expect_refused(second.id, Code::VoucherUsedUp);

    // Beneficiary cap per period: 4,000 fen in 30 days; the next period's deals count
    // anew. (These deals trade a day apart, inside one period.)
    VoucherProgramSpec capped = hohhot();
    capped.cap_per_beneficiary_fen = 4'000;
    capped.cap_period_ns = 30 * kDay;
    const std::uint32_t cap_program = create(capped);
    grant(cap_program, bob, 100'000);
    const Obligation b1 = settle(250, 40, pat, bob);
    const Obligation b2 = settle(250, 40, pat, bob);
    EXPECT_EQ(paid(b1.id), 3'000);
    EXPECT_EQ(paid(b2.id), 1'000);
    const Obligation b3 = settle(250, 40, pat, bob);
    expect_refused(b3.id, Code::BeneficiaryCapReached);
    x.now += 30 * kDay;
    const Obligation b4 = settle(250, 40, pat, bob);
    EXPECT_EQ(paid(b4.id), 3'000);
}

TEST_F(ExchangeVouchers, ThePoolCapAndTheBudgetStopPaymentsAcrossBeneficiaries) {
    VoucherProgramSpec pool = hohhot();
    pool.pool_cap_fen = 5'000;
    const std::uint32_t pooled = create(pool);
    grant(pooled, alice, 100'000);
    grant(pooled, bob, 100'000);
    const Obligation a = settle(250, 40, pat, alice);
    const Obligation b = settle(250, 40, pat, bob);
    EXPECT_EQ(paid(a.id), 3'000);
    EXPECT_EQ(paid(b.id), 2'000);
    EXPECT_EQ(claim(b.id, VoucherSide::Buyer)->reason,
              static_cast<std::uint16_t>(Code::PoolCapReached));
    expect_refused(settle(250, 40, pat, alice).id, Code::PoolCapReached);

    // A budget of 4,000 granted 200,000 of face value: it pays until it is empty, and
    // never below zero.
    VoucherProgramSpec lean = hohhot();
    lean.budget_fen = 4'000;
    const Party carol = x.buyer("carol", 1'000'000);
    const Party dan = x.buyer("dan", 1'000'000);
    const std::uint32_t lean_id = create(lean);
    grant(lean_id, carol, 100'000);
    grant(lean_id, dan, 100'000);
    const Obligation c = settle(250, 40, pat, carol);
    const Obligation d = settle(250, 40, pat, dan);
    EXPECT_EQ(paid(c.id), 3'000);
    EXPECT_EQ(paid(d.id), 1'000);
    expect_refused(settle(250, 40, pat, carol).id, Code::BudgetExhausted);
    EXPECT_EQ(program_of(lean_id).budget_fen, 0);
    EXPECT_EQ(program_of(lean_id).redeemed_fen, 4'000);

    // Funding the program again lets it pay again.
    Payload fund;
    fund.program_id = lean_id;
    fund.amount_fen = 10'000;
    fund.voucher_ref = "budget-decision-2";
    EXPECT_EQ(x.admin(RequestType::FundVoucherProgram, fund), Code::None);
    EXPECT_EQ(fund.programs.at(0).budget_fen, 10'000);
    // The operator's retry of the same funding moves nothing; another amount is refused.
    Payload retry = fund;
    retry.programs.clear();
    EXPECT_EQ(x.admin(RequestType::FundVoucherProgram, retry), Code::None);
    EXPECT_TRUE(retry.duplicate);
    EXPECT_EQ(retry.programs.at(0).budget_fen, 10'000);
    retry.amount_fen = 20'000;
    EXPECT_EQ(x.admin(RequestType::FundVoucherProgram, retry), Code::DuplicateVoucherRef);
    EXPECT_EQ(paid(settle(250, 40, pat, dan).id), 3'000);
}

TEST_F(ExchangeVouchers, AnIneligibleDealSettlesWithoutTheVoucherAndSaysWhy) {
    const Party affiliated_buyer = x.buyer("sister-co", 1'000'000, [] {
        AccountSpec spec;
        spec.owner_group = "group-pat";
        return spec;
    }());
    const Party affiliated_provider = x.provider("pat-cloud", [] {
        AccountSpec spec;
        spec.owner_group = "group-pat";
        return spec;
    }());
    x.register_tokens(affiliated_provider, 1'000);
    x.register_compute(pat, "ASCEND-910B", 10);
    x.register_compute(quinn, "H100-SXM", 10);

    struct Case {
        const char* name;
        VoucherProgramSpec spec;
        const Party* buyer;
        const Party* seller;
        InstrumentId instrument;
        Code reason;
    };
    const auto [compute_only, other_hub, h800_only, domestic, approved, not_yet] =
        ineligible_variants(hohhot(), quinn.id);
    // A fresh buyer per case (nullptr), so that no earlier case's voucher competes.
    const Party* a = nullptr;
    const std::vector<Case> cases = {
        {"kind", compute_only, a, &pat, kTokens, Code::KindNotEligible},
        {"hub", other_hub, a, &pat, kTokens, Code::HubNotEligible},
        {"model", h800_only, a, &quinn, kH100, Code::AcceleratorNotEligible},
        {"domestic", domestic, a, &quinn, kH100, Code::NotDomesticChip},
        {"supplier", approved, a, &pat, kTokens, Code::ProviderNotApproved},
        {"affiliated", hohhot(), &affiliated_buyer, &affiliated_provider, kTokens,
         Code::AffiliatedParties},
        {"period", not_yet, a, &pat, kTokens, Code::OutsideProgramPeriod},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const Party buyer =
            c.buyer != nullptr ? *c.buyer : x.buyer(std::string("buyer-") + c.name, 1'000'000);
        const std::uint32_t id = create(c.spec);
        const std::uint64_t v = grant(id, buyer, 100'000);
        const Price before = x.available(buyer);
        const Obligation o = settle(250, 4, *c.seller, buyer, c.instrument);
        expect_refused(o.id, c.reason);
        EXPECT_EQ(x.available(buyer), before - 1'000);
        EXPECT_EQ(voucher(v).redeemed_fen, 0);
    }
    // The same rules pass where they should: a domestic chip, an approved supplier.
    const std::uint32_t dom = create(domestic);
    grant(dom, bob, 100'000);
    EXPECT_EQ(paid(settle(250, 4, pat, bob, kAscend).id), 300);
    VoucherProgramSpec allowed = hohhot();
    allowed.allow_affiliated = true;
    const std::uint32_t allow_id = create(allowed);
    grant(allow_id, affiliated_buyer, 100'000);
    EXPECT_EQ(paid(settle(250, 4, affiliated_provider, affiliated_buyer).id), 300);
}

TEST_F(ExchangeVouchers, ExpiredRevokedAndFailedCasesPayNothing) {
    const std::uint32_t program = create(hohhot());
    // Expires before the deal settles (settlement comes a dispute period after the window).
    const std::uint64_t short_lived = grant(program, alice, 100'000, Code::None, kWindowEnd);
    expect_refused(settle(250, 4, pat, alice).id, Code::VoucherExpired);
    EXPECT_EQ(voucher(short_lived).redeemed_fen, 0);

    const std::uint64_t revoked = grant(program, bob, 100'000);
    EXPECT_EQ(revoke(revoked), Code::None);
    EXPECT_EQ(voucher(revoked).revoked_fen, 100'000);
    EXPECT_EQ(revoke(revoked), Code::VoucherNotActive);
    expect_refused(settle(250, 4, pat, bob).id, Code::VoucherNotActive);
    EXPECT_EQ(program_of(program).revoked_fen, 100'000);

    // A failed delivery is refunded; no voucher pays for it.
    const Party carol = x.buyer("carol", 1'000'000);
    grant(program, carol, 100'000);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 250, 4, "fail-s")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::buy(carol, 250, 4, "fail-b")).code(), Code::None);
    const Obligation never = x.exchange.open_obligations().back();
    x.now = std::max(x.now, kWindowEnd) + x.exchange.settlement_rules().dispute_period_ns;
    EXPECT_EQ(run().failed, 1u);
    EXPECT_FALSE(claim(never.id, VoucherSide::Buyer).has_value());
    EXPECT_EQ(x.available(carol), 1'000'000);
}

TEST_F(ExchangeVouchers, ARebatePaysOnlyForAWhollyDeliveredDeal) {
    VoucherProgramSpec langfang = hohhot();
    langfang.mode = VoucherMode::Rebate;
    langfang.share_bps = 5'000;
    const std::uint32_t program = create(langfang);
    grant(program, alice, 100'000);
    expect_refused(settle(250, 4, pat, alice, kTokens, 3).id, Code::NotFullyDelivered);
    EXPECT_EQ(paid(settle(250, 4, pat, alice).id), 500);

    // A discount pays on what was delivered.
    const std::uint32_t discount = create(hohhot());
    grant(discount, bob, 100'000);
    EXPECT_EQ(paid(settle(250, 4, pat, bob, kTokens, 3).id), 225);
}

TEST_F(ExchangeVouchers, BothSidesMayClaimOneDealOnlyWhereBothProgramsAllowIt) {
    VoucherProgramSpec supply = hohhot();
    supply.side = VoucherSide::Provider;
    supply.share_bps = 1'000;
    const std::uint32_t buyers = create(hohhot());
    const std::uint32_t providers = create(supply);
    grant(buyers, alice, 100'000);
    grant(providers, pat, 100'000);
    // A provider cannot hold a buyer's voucher.
    grant(buyers, quinn, 100'000, Code::InvalidVoucher);
    const Obligation both = settle(250, 40, pat, alice);
    EXPECT_EQ(paid(both.id, VoucherSide::Buyer), 3'000);
    EXPECT_EQ(paid(both.id, VoucherSide::Provider), 1'000);
    EXPECT_EQ(x.available(pat), 10'000 - 50 + 1'000);

    // Qingyang: supplier and buyer cannot both claim one deal.
    VoucherProgramSpec one_side = supply;
    one_side.name += " (one side only)";
    one_side.allow_both_sides = false;
    const std::uint32_t strict = create(one_side);
    grant(strict, quinn, 100'000);
    const Obligation d = settle(250, 40, quinn, alice);
    EXPECT_EQ(paid(d.id, VoucherSide::Buyer), 3'000);
    expect_refused(d.id, Code::BothSidesClaimed, VoucherSide::Provider);
}

TEST_F(ExchangeVouchers, OneVoucherPaysPerDealTheOneThatExpiresFirst) {
    const std::uint32_t program = create(hohhot());
    const std::uint64_t later = grant(program, alice, 100'000, Code::None, kWindowEnd + 60 * kDay);
    const std::uint64_t sooner = grant(program, alice, 100'000, Code::None, kWindowEnd + 10 * kDay);
    const Obligation o = settle(250, 40, pat, alice);
    EXPECT_EQ(claim(o.id, VoucherSide::Buyer)->voucher, sooner);
    EXPECT_EQ(voucher(sooner).redeemed_fen, 3'000);
    EXPECT_EQ(voucher(later).redeemed_fen, 0);
}

TEST_F(ExchangeVouchers, ProgramsAndGrantsAreCheckedAndGrantsAreIdempotent) {
    VoucherProgramSpec bad = hohhot();
    bad.share_bps = 0;
    create(bad, Code::InvalidVoucherProgram);
    bad = hohhot();
    bad.valid_until_ns = bad.valid_from_ns;
    create(bad, Code::InvalidVoucherProgram);
    bad = hohhot();
    bad.approved_providers = {alice.id};  // not a provider
    create(bad, Code::InvalidVoucherProgram);
    bad = hohhot();
    bad.issuer = alice.id;  // not an issuer
    create(bad, Code::InvalidVoucherProgram);
    bad = hohhot();
    bad.budget_fen = 60'000'000;  // more than the issuer has
    create(bad, Code::InsufficientFunds);
    bad = hohhot();
    bad.hubs = std::vector<std::string>(kVoucherListMax + 1, "HUB");
    create(bad, Code::InvalidVoucherProgram);
    EXPECT_TRUE(x.exchange.voucher_programs().empty());

    // Only an operator administers vouchers.
    Payload by_issuer;
    by_issuer.program = hohhot();
    Request r = x.admin_request(RequestType::CreateVoucherProgram, by_issuer);
    r.key_hash = issuer.key;
    EXPECT_EQ(x.send(r).code(), Code::RoleNotAllowed);

    const VoucherProgramSpec spec = hohhot();
    const std::uint32_t program = create(spec);
    // The same program again (an operator's retry) is the same program; another program
    // under the same name is refused.
    EXPECT_EQ(create(spec), program);
    VoucherProgramSpec other_rules = spec;
    other_rules.share_bps = 2'000;
    create(other_rules, Code::DuplicateVoucherRef);
    EXPECT_EQ(x.exchange.voucher_programs().size(), 1u);
    EXPECT_EQ(x.available(issuer), 50'000'000 - 1'000'000);
    grant(99, alice, 1'000, Code::UnknownVoucherProgram);
    grant(program, alice, 0, Code::InvalidVoucher);
    grant(program, alice, 1'000, Code::InvalidVoucher, x.now);  // already expired
    const std::uint64_t v = grant(program, alice, 1'000, Code::None, kWindowEnd, "bj-2026-001");
    // The same grant again answers with the same voucher; a different one is refused.
    Payload again;
    again.program_id = program;
    again.voucher_face_fen = 1'000;
    again.voucher_expiry_ns = kWindowEnd;
    again.voucher_ref = "bj-2026-001";
    EXPECT_EQ(x.admin(RequestType::GrantVoucher, again, alice.id), Code::None);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.vouchers.at(0).voucher.id, v);
    again.voucher_face_fen = 2'000;
    EXPECT_EQ(x.admin(RequestType::GrantVoucher, again, alice.id), Code::DuplicateVoucherRef);
    EXPECT_EQ(x.exchange.vouchers().size(), 1u);
    EXPECT_EQ(revoke(77), Code::UnknownVoucher);
}

TEST_F(ExchangeVouchers, IssuersAndBeneficiariesSeeOnlyWhatConcernsThem) {
    const Party other_issuer = x.create_account(Role::Issuer, "langfang-bureau");
    ASSERT_EQ(x.deposit(other_issuer.id, 1'000'000), Code::None);
    const std::uint32_t mine = create(hohhot());
    VoucherProgramSpec theirs_spec = hohhot();
    theirs_spec.issuer = other_issuer.id;
    const std::uint32_t theirs = create(theirs_spec);
    grant(mine, alice, 100'000);
    grant(theirs, bob, 100'000);
    settle(250, 40, pat, alice);

    const auto programs_of = [&](const Party& who, std::uint32_t id, Code expected = Code::None) {
        Payload p;
        p.program_id = id;
        EXPECT_EQ(x.query(RequestType::ListVoucherPrograms, who.key, 0, p), expected);
        return p.programs.size();
    };
    const auto vouchers_of = [&](const Party& who, AccountId account, Code expected = Code::None) {
        Payload p;
        EXPECT_EQ(x.query(RequestType::ListVouchers, who.key, account, p), expected);
        return p.vouchers.size();
    };
    EXPECT_EQ(programs_of(x.op, 0), 2u);
    EXPECT_EQ(programs_of(issuer, 0), 1u);
    programs_of(issuer, theirs, Code::UnknownVoucherProgram);
    EXPECT_EQ(programs_of(alice, 0), 1u);
    EXPECT_EQ(programs_of(pat, 0), 0u);
    EXPECT_EQ(vouchers_of(x.op, 0), 2u);
    EXPECT_EQ(vouchers_of(issuer, 0), 1u);
    EXPECT_EQ(vouchers_of(alice, 0), 1u);
    vouchers_of(alice, bob.id, Code::NotOwnAccount);

    // Reports: issuers and regulators, grouped by beneficiary, provider or period.
    const Party regulator = x.create_account(Role::Regulator, "regulator");
    for (const VoucherGroup group :
         {VoucherGroup::Beneficiary, VoucherGroup::Provider, VoucherGroup::Period}) {
        Payload p;
        p.voucher_group = group;
        ASSERT_EQ(x.query(RequestType::VoucherReport, issuer.key, 0, p), Code::None);
        ASSERT_EQ(p.voucher_report.size(), 1u);
        EXPECT_EQ(p.voucher_report[0].program, mine);
        EXPECT_EQ(p.voucher_report[0].redeemed_fen, 3'000);
        EXPECT_EQ(p.voucher_report[0].redemptions, 1u);
        Payload all;
        all.voucher_group = group;
        ASSERT_EQ(x.query(RequestType::VoucherReport, regulator.key, 0, all), Code::None);
        EXPECT_EQ(all.voucher_report.size(), 1u);
    }
    Payload by_provider;
    by_provider.voucher_group = VoucherGroup::Provider;
    ASSERT_EQ(x.query(RequestType::VoucherReport, issuer.key, 0, by_provider), Code::None);
    EXPECT_EQ(by_provider.voucher_report[0].key, pat.id);
    Payload denied;
    EXPECT_EQ(x.query(RequestType::VoucherReport, alice.key, 0, denied), Code::RoleNotAllowed);
}

TEST_F(ExchangeVouchers, ASnapshotCarriesProgramsVouchersAndTalliesExactly) {
    // Both deals below trade in the same cap period.
    x.now = kWindowEnd + kHour;
    VoucherProgramSpec capped = hohhot();
    capped.cap_per_beneficiary_fen = 5'000;
    capped.cap_period_ns = 30 * kDay;
    capped.approved_providers = {quinn.id, pat.id};
    const std::uint32_t program = create(capped);
    grant(program, alice, 100'000);
    const std::uint64_t gone = grant(program, bob, 100'000);
    ASSERT_EQ(revoke(gone), Code::None);
    settle(250, 40, pat, alice);

    std::string bytes;
    x.exchange.save_snapshot(bytes);
    RecordingSink sink;
    Exchange restored(small_config(), sink);
    std::string error;
    ASSERT_TRUE(restored.load_snapshot(bytes, error)) << error;
    EXPECT_EQ(restored.state_hash(), x.exchange.state_hash());
    std::string again;
    restored.save_snapshot(again);
    EXPECT_EQ(again, bytes);

    // The same next deal pays the same in both: the cap remembers the first deal.
    RecordingVoucherSink restored_events;
    restored.set_observers(nullptr, nullptr, &restored_events);
    const Timestamp t = x.now;
    const Obligation o = settle(250, 40, pat, alice);
    EXPECT_EQ(paid(o.id), 2'000);
    const auto replay = [&](const Request& r) {
        Request copy = r;
        restored.apply(copy);
    };
    Request sell = TestExchange::sell(pat, 250, 40, "rs");
    sell.ts_ns = t;
    replay(sell);
    Request buy = TestExchange::buy(alice, 250, 40, "rb");
    buy.ts_ns = t;
    replay(buy);
    Payload confirm_payload;
    confirm_payload.obligation_id = o.id;
    confirm_payload.delivered_quantity = 40;
    Request confirm_request =
        settlement_request(RequestType::ConfirmDelivery, pat, confirm_payload);
    confirm_request.ts_ns = t;
    replay(confirm_request);
    Payload run_payload;
    Request run_request = settlement_request(RequestType::RunSettlement, x.op, run_payload);
    run_request.ts_ns = std::max(t, kWindowEnd) + x.exchange.settlement_rules().dispute_period_ns;
    replay(run_request);
    ASSERT_EQ(restored_events.of(VoucherEventKind::Redeemed).size(), 1u);
    EXPECT_EQ(restored_events.of(VoucherEventKind::Redeemed)[0].amount_fen, 2'000);
}

TEST_F(ExchangeVouchers, ASnapshotFromAnExchangeWithOtherVoucherLimitsIsRefused) {
    const std::uint32_t program = create(hohhot());
    grant(program, alice, 100'000);
    settle(250, 40, pat, alice);
    std::string bytes;
    x.exchange.save_snapshot(bytes);
    // The budget accounts are sized by voucher_programs_max: a snapshot fits only an
    // exchange with the same voucher limits.
    RecordingSink sink;
    ExchangeConfig other = small_config();
    other.voucher_programs_max = 7;
    Exchange restored(other, sink);
    std::string error;
    EXPECT_FALSE(restored.load_snapshot(bytes, error));
    EXPECT_NE(error.find("voucher limits"), std::string::npos) << error;
}

}  // namespace
}  // namespace cpx::exchange::test
