// Settlement: every trade becomes a delivery obligation; a confirmed obligation settles
// after its dispute period (escrow to the provider less the fee), an unconfirmed or
// upheld one fails (refund plus a penalty from collateral), and every step is refused
// when the caller, the state or the time does not allow it.

#include <map>
#include <string>
#include <vector>

#include "settlement_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeSettlement : public SettlementTest {
  protected:
    ExchangeSettlement() {
        x.register_tokens(pat, 1'000);
        x.register_tokens(quinn, 1'000);
    }
};

TEST_F(ExchangeSettlement, ATradeCreatesAnObligationBothSidesCanSee) {
    const Obligation o = trade(250, 4, pat, alice);
    EXPECT_EQ(o.state, ObligationState::Open);
    EXPECT_EQ(o.buyer, alice.id);
    EXPECT_EQ(o.provider, pat.id);
    EXPECT_EQ(o.instrument, kTokens);
    EXPECT_EQ(o.price, 250);
    EXPECT_EQ(o.quantity, 4);
    EXPECT_EQ(o.amount_fen, 1'000);
    EXPECT_EQ(o.window_end_ns, kWindowEnd);
    EXPECT_EQ(o.due_ns, kWindowEnd + x.exchange.settlement_rules().dispute_period_ns);
    EXPECT_EQ(x.balances(alice).unsettled_fen, 1'000);
    EXPECT_EQ(x.balances(pat).unsettled_fen, 1'000);

    EXPECT_EQ(list(alice).size(), 1u);
    EXPECT_EQ(list(pat).size(), 1u);
    EXPECT_EQ(list(x.op).size(), 1u);
    EXPECT_EQ(list(x.op, bob.id).size(), 0u);
    EXPECT_EQ(list(bob).size(), 0u);
    EXPECT_EQ(list(quinn).size(), 0u);
    list(bob, alice.id, 0, Code::NotOwnAccount);
    list(x.op, 999, 0, Code::UnknownAccount);
    EXPECT_EQ(list(x.op, 0, static_cast<std::uint8_t>(ObligationState::Open)).size(), 1u);
    EXPECT_EQ(list(x.op, 0, static_cast<std::uint8_t>(ObligationState::Delivered)).size(), 0u);
    list(x.op, 0, static_cast<std::uint8_t>(ObligationState::Settled), Code::ObligationNotOpen);
}

TEST_F(ExchangeSettlement, AConfirmedObligationSettlesAfterItsDisputePeriodOnce) {
    const Obligation o = trade(250, 4, pat, alice);
    ASSERT_EQ(confirm(pat, o.id, 4), Code::None);
    // Not due yet: nothing settles.
    SettlementRunResult early = run();
    EXPECT_EQ(early.settled + early.failed, 0u);
    EXPECT_EQ(list(x.op).size(), 1u);

    pass_due();
    const SettlementRunResult done = run();
    EXPECT_EQ(done.settled, 1u);
    EXPECT_EQ(done.failed, 0u);
    const Price fee = 1'000 * x.exchange.settlement_rules().fee_bps / 10'000;
    EXPECT_EQ(done.amounts.fee_fen, fee);
    EXPECT_EQ(done.amounts.paid_fen, 1'000 - fee);
    EXPECT_EQ(done.amounts.refunded_fen, 0);
    EXPECT_EQ(done.amounts.penalty_fen, 0);
    EXPECT_FALSE(done.more_due);

    EXPECT_EQ(x.balances(pat).balance_fen, 1'000 - fee);
    EXPECT_EQ(x.balances(pat).unsettled_fen, 0);
    EXPECT_EQ(x.balances(alice).unsettled_fen, 0);
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000 - 1'000);
    EXPECT_EQ(fees(), fee);
    EXPECT_TRUE(list(x.op).empty());

    // A second run settles nothing twice.
    const SettlementRunResult again = run();
    EXPECT_EQ(again.settled + again.failed, 0u);
    EXPECT_EQ(x.balances(pat).balance_fen, 1'000 - fee);
    EXPECT_EQ(fees(), fee);
    expect_balanced();
}

TEST_F(ExchangeSettlement, AnUnconfirmedObligationFailsWithRefundAndPenaltyFromCollateral) {
    ASSERT_EQ(credit_collateral(pat, 50'000, "col-1"), Code::None);
    EXPECT_EQ(x.balances(pat).collateral_fen, 50'000);
    const Obligation o = trade(1'000, 10, pat, alice);
    pass_due();
    const SettlementRunResult r = run();
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.amounts.refunded_fen, 10'000);
    const Price penalty = 10'000 * x.exchange.settlement_rules().penalty_bps / 10'000;
    EXPECT_EQ(r.amounts.penalty_fen, penalty);
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000 + penalty);
    EXPECT_EQ(x.balances(alice).unsettled_fen, 0);
    EXPECT_EQ(x.balances(pat).collateral_fen, 50'000 - penalty);
    EXPECT_EQ(x.balances(pat).balance_fen, 0);
    EXPECT_EQ(x.balances(pat).unsettled_fen, 0);
    EXPECT_EQ(confirm(pat, o.id, 10), Code::UnknownObligation);  // gone: final
    expect_balanced();
}

TEST_F(ExchangeSettlement, APenaltyIsCappedByWhatTheCollateralHolds) {
    ASSERT_EQ(credit_collateral(pat, 300, "col-1"), Code::None);
    trade(1'000, 10, pat, alice);
    pass_due();
    const SettlementRunResult r = run();
    EXPECT_EQ(r.amounts.penalty_fen, 300);
    EXPECT_EQ(x.balances(pat).collateral_fen, 0);
    // Without collateral the buyer is still refunded in full.
    trade(1'000, 1, quinn, bob);
    x.now = kWindowEnd + 3 * x.exchange.settlement_rules().dispute_period_ns;
    const SettlementRunResult q = run();
    EXPECT_EQ(q.failed, 1u);
    EXPECT_EQ(q.amounts.refunded_fen, 1'000);
    EXPECT_EQ(q.amounts.penalty_fen, 0);
    EXPECT_EQ(x.balances(bob).balance_fen, 1'000'000);
    expect_balanced();
}

TEST_F(ExchangeSettlement, APartialDeliveryPaysForWhatWasDeliveredAndRefundsTheRest) {
    ASSERT_EQ(credit_collateral(pat, 100'000, "col-1"), Code::None);
    const Obligation o = trade(100, 10, pat, alice);
    ASSERT_EQ(confirm(pat, o.id, 6), Code::None);
    pass_due();
    const SettlementRunResult r = run();
    EXPECT_EQ(r.settled, 1u);
    const Price fee = 600 * x.exchange.settlement_rules().fee_bps / 10'000;
    EXPECT_EQ(r.amounts.paid_fen, 600 - fee);
    EXPECT_EQ(r.amounts.fee_fen, fee);
    EXPECT_EQ(r.amounts.refunded_fen, 400);
    EXPECT_EQ(r.amounts.penalty_fen, 400 * x.exchange.settlement_rules().penalty_bps / 10'000);
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000 - 600 + r.amounts.penalty_fen);
    expect_balanced();
}

TEST_F(ExchangeSettlement, ADisputedObligationWaitsForTheOperator) {
    ASSERT_EQ(credit_collateral(pat, 100'000, "col-1"), Code::None);
    const Obligation upheld = trade(100, 10, pat, alice);
    const Obligation rejected = trade(100, 5, pat, alice);
    ASSERT_EQ(confirm(pat, upheld.id, 10), Code::None);
    ASSERT_EQ(confirm(pat, rejected.id, 5), Code::None);
    ASSERT_EQ(dispute(alice, upheld.id), Code::None);
    ASSERT_EQ(dispute(alice, rejected.id, ""), Code::None);
    EXPECT_EQ(dispute(alice, upheld.id), Code::ObligationNotOpen);

    pass_due();
    const SettlementRunResult r = run();
    EXPECT_EQ(r.settled + r.failed, 0u);  // disputes are the operator's
    EXPECT_EQ(list(x.op, 0, static_cast<std::uint8_t>(ObligationState::Disputed)).size(), 2u);

    SettlementRunResult u;
    ASSERT_EQ(resolve(upheld.id, true, &u), Code::None);
    EXPECT_EQ(u.failed, 1u);
    EXPECT_EQ(u.amounts.refunded_fen, 1'000);
    EXPECT_EQ(u.amounts.penalty_fen, 1'000 * x.exchange.settlement_rules().penalty_bps / 10'000);
    SettlementRunResult k;
    ASSERT_EQ(resolve(rejected.id, false, &k), Code::None);
    EXPECT_EQ(k.settled, 1u);
    EXPECT_EQ(k.amounts.paid_fen + k.amounts.fee_fen, 500);
    EXPECT_EQ(resolve(rejected.id, false), Code::UnknownObligation);
    EXPECT_TRUE(list(x.op).empty());
    expect_balanced();
}

TEST_F(ExchangeSettlement, ADisputeRejectedBeforeAnyConfirmationStillFails) {
    const Obligation o = trade(100, 2, pat, alice);
    ASSERT_EQ(dispute(alice, o.id), Code::None);
    SettlementRunResult r;
    ASSERT_EQ(resolve(o.id, false, &r), Code::None);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.amounts.refunded_fen, 200);
    EXPECT_EQ(r.amounts.paid_fen, 0);
}

TEST_F(ExchangeSettlement, EachStepIsRefusedToTheWrongCallerStateOrTime) {
    const Obligation o = trade(100, 10, pat, alice);
    // Only its own provider confirms; others are told it does not exist.
    EXPECT_EQ(confirm(quinn, o.id, 10), Code::UnknownObligation);
    EXPECT_EQ(confirm(alice, o.id, 10), Code::RoleNotAllowed);
    EXPECT_EQ(confirm(x.op, o.id, 10), Code::RoleNotAllowed);
    EXPECT_EQ(confirm(pat, o.id + 1000, 10), Code::UnknownObligation);
    EXPECT_EQ(confirm(pat, 0, 10), Code::UnknownObligation);
    EXPECT_EQ(confirm(pat, o.id, 0), Code::InvalidDelivery);
    EXPECT_EQ(confirm(pat, o.id, 11), Code::InvalidDelivery);
    EXPECT_EQ(confirm(pat, o.id, -1), Code::InvalidDelivery);
    // Only its own buyer disputes.
    EXPECT_EQ(dispute(bob, o.id), Code::UnknownObligation);
    EXPECT_EQ(dispute(pat, o.id), Code::RoleNotAllowed);
    EXPECT_EQ(dispute(alice, o.id, std::string(257, 'x')), Code::InvalidNote);
    EXPECT_EQ(dispute(alice, o.id, "bad\nnote"), Code::InvalidNote);
    // Only operators resolve and run settlement.
    EXPECT_EQ(resolve(o.id, true), Code::ObligationNotOpen);
    run(0, &alice, Code::RoleNotAllowed);
    run(0, &pat, Code::RoleNotAllowed);
    // A provider's collateral only.
    EXPECT_EQ(credit_collateral(alice, 100, "col-a"), Code::RoleNotAllowed);
    EXPECT_EQ(credit_collateral(pat, 0, "col-b"), Code::InvalidAmount);

    ASSERT_EQ(confirm(pat, o.id, 10), Code::None);
    EXPECT_EQ(confirm(pat, o.id, 10), Code::ObligationNotOpen);
    pass_due();
    // At the due time the dispute period is over: too late to dispute.
    EXPECT_EQ(dispute(alice, o.id), Code::DisputePeriodOver);
    EXPECT_EQ(run().settled, 1u);
    // Nothing of it changed money on the refusals.
    expect_balanced();
}

TEST_F(ExchangeSettlement, ALateConfirmationGivesTheBuyerAWholeDisputePeriod) {
    const Obligation o = trade(100, 1, pat, alice);
    const Timestamp period = x.exchange.settlement_rules().dispute_period_ns;
    x.now = kWindowEnd + period / 2;
    ASSERT_EQ(confirm(pat, o.id, 1), Code::None);
    x.now = kWindowEnd + period;  // the original due time
    EXPECT_EQ(run().settled, 0u);
    EXPECT_EQ(dispute(alice, o.id), Code::None);
}

TEST_F(ExchangeSettlement, ARunStopsAtItsLimitAndSaysMoreIsDue) {
    for (int i = 0; i < 3; ++i) {
        const Obligation o = trade(100, 1, pat, alice);
        ASSERT_EQ(confirm(pat, o.id, 1), Code::None);
    }
    pass_due();
    const SettlementRunResult first = run(2);
    EXPECT_EQ(first.settled, 2u);
    EXPECT_TRUE(first.more_due);
    const SettlementRunResult second = run(2);
    EXPECT_EQ(second.settled, 1u);
    EXPECT_FALSE(second.more_due);
}

TEST_F(ExchangeSettlement, CollateralDepositsAreIdempotentAndApartFromCash) {
    ASSERT_EQ(credit_collateral(pat, 500, "c-1"), Code::None);
    ASSERT_EQ(credit_collateral(pat, 500, "c-1"), Code::None);  // a retry
    EXPECT_EQ(x.balances(pat).collateral_fen, 500);
    EXPECT_EQ(x.balances(pat).balance_fen, 0);
    // The same id as a cash deposit is another deposit: refused.
    EXPECT_EQ(x.deposit(pat.id, 500, "c-1"), Code::DuplicateDepositId);
}

class Observed final : public ObligationSink, public ledger::TransferSink {
  public:
    void on_obligation(const ObligationEvent& e) override { events.push_back(e); }
    void on_transfer(const ledger::Transfer& t) override { transfers.push_back(t); }
    std::vector<ObligationEvent> events;
    std::vector<ledger::Transfer> transfers;
};

TEST_F(ExchangeSettlement, ObserversSeeEveryStepWithTheMoneyItMoved) {
    Observed seen;
    x.exchange.set_observers(&seen, &seen);
    const Obligation o = trade(100, 3, pat, alice);
    ASSERT_EQ(confirm(pat, o.id, 3), Code::None);
    pass_due();
    run();
    ASSERT_EQ(seen.events.size(), 3u);
    EXPECT_EQ(seen.events[0].kind, ObligationEventKind::Created);
    EXPECT_EQ(seen.events[1].kind, ObligationEventKind::Delivered);
    EXPECT_EQ(seen.events[1].obligation.delivered_quantity, 3);
    EXPECT_EQ(seen.events[2].kind, ObligationEventKind::Settled);
    EXPECT_EQ(seen.events[2].amounts.paid_fen + seen.events[2].amounts.fee_fen, 300);
    EXPECT_EQ(seen.events[2].seq, x.exchange.request_seq());
    // The settlement's transfers carry the number of obligations netted and the run's seq.
    std::size_t settlement_transfers = 0;
    for (const ledger::Transfer& t : seen.transfers) {
        if (t.code == ledger::code::settle_to_provider || t.code == ledger::code::fee) {
            EXPECT_EQ(t.user_data, 1u);
            EXPECT_EQ(t.seq, x.exchange.request_seq());
            ++settlement_transfers;
        }
    }
    EXPECT_EQ(settlement_transfers, 1u + (seen.events[2].amounts.fee_fen > 0 ? 1u : 0u));
    x.exchange.set_observers(nullptr, nullptr);
}

TEST_F(ExchangeSettlement, ASnapshotKeepsOpenObligationsAndTheSameFuture) {
    ASSERT_EQ(credit_collateral(pat, 10'000, "col-1"), Code::None);
    const Obligation a = trade(100, 3, pat, alice);
    const Obligation b = trade(120, 2, quinn, bob);
    trade(90, 1, pat, bob);
    ASSERT_EQ(confirm(pat, a.id, 2), Code::None);
    ASSERT_EQ(dispute(bob, b.id), Code::None);

    std::string bytes;
    x.exchange.save_snapshot(bytes);
    RecordingSink sink;
    Exchange copy(small_config(), sink);
    std::string error;
    ASSERT_TRUE(copy.load_snapshot(bytes, error)) << error;
    EXPECT_EQ(copy.state_hash(), x.exchange.state_hash());
    ASSERT_EQ(copy.open_obligations().size(), 3u);

    // The same settlement run on both gives the same result and state.
    pass_due();
    Payload p1;
    Request r = settlement_request(RequestType::RunSettlement, x.op, p1);
    r.ts_ns = x.now;
    x.exchange.apply(r);
    Payload p2;
    r.payload = &p2;
    copy.apply(r);
    EXPECT_EQ(p1.settlement.settled, 1u);
    EXPECT_EQ(p1.settlement.failed, 1u);
    EXPECT_EQ(p2.settlement.settled, p1.settlement.settled);
    EXPECT_EQ(p2.settlement.failed, p1.settlement.failed);
    EXPECT_EQ(p2.settlement.amounts.paid_fen, p1.settlement.amounts.paid_fen);
    EXPECT_EQ(p2.settlement.amounts.penalty_fen, p1.settlement.amounts.penalty_fen);
    EXPECT_EQ(copy.state_hash(), x.exchange.state_hash());
}

TEST_F(ExchangeSettlement, ARunNetsTheMoneyOfEachPairIntoOneTransferPerKind) {
    ASSERT_EQ(credit_collateral(pat, 150, "col-1"), Code::None);
    Observed seen;
    x.exchange.set_observers(&seen, &seen);
    for (int i = 0; i < 3; ++i) {
        const Obligation o = trade(1'000, 2, pat, alice);
        ASSERT_EQ(confirm(pat, o.id, 1), Code::None);  // half of each delivered
    }
    trade(500, 1, quinn, alice);  // never confirmed
    pass_due();
    seen.transfers.clear();
    seen.events.clear();
    const SettlementRunResult r = run();
    EXPECT_EQ(r.settled, 3u);
    EXPECT_EQ(r.failed, 1u);
    // pat: 3 x 1,000 paid (less fees) and 3 x 1,000 refunded with penalties of 100 each,
    // capped by its collateral of 150; quinn: 500 refunded, no collateral.
    Price paid = 0, fee = 0, refunded = 0, penalty = 0;
    for (const ObligationEvent& e : seen.events) {
        paid += e.amounts.paid_fen;
        fee += e.amounts.fee_fen;
        refunded += e.amounts.refunded_fen;
        penalty += e.amounts.penalty_fen;
    }
    EXPECT_EQ(penalty, 150);
    EXPECT_EQ(refunded, 3'500);
    EXPECT_EQ(paid + fee, 3'000);
    std::map<std::uint32_t, std::vector<ledger::Transfer>> by_code;
    for (const ledger::Transfer& t : seen.transfers) {
        by_code[t.code].push_back(t);
    }
    ASSERT_EQ(by_code[ledger::code::settle_to_provider].size(), 1u);
    EXPECT_EQ(by_code[ledger::code::settle_to_provider][0].amount, paid);
    EXPECT_EQ(by_code[ledger::code::settle_to_provider][0].user_data, 3u);
    ASSERT_EQ(by_code[ledger::code::refund].size(), 2u);  // one per pair
    EXPECT_EQ(by_code[ledger::code::refund][0].amount + by_code[ledger::code::refund][1].amount,
              3'500);
    ASSERT_EQ(by_code[ledger::code::penalty].size(), 1u);
    EXPECT_EQ(by_code[ledger::code::penalty][0].amount, 150);
    EXPECT_EQ(x.balances(pat).collateral_fen, 0);
    expect_balanced();
    x.exchange.set_observers(nullptr, nullptr);
}

TEST(ExchangeSettlementLimits, AnOrderThatCouldOverflowTheObligationTableIsRefused) {
    ExchangeConfig config = small_config();
    config.obligations_max = 4;
    TestExchange x(config);
    x.add_default_instruments();
    const Party alice = x.buyer("alice", 1'000'000);
    const Party pat = x.provider("pat");
    x.register_tokens(pat, 1'000);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 1, "s1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 1, "s2")).code(), Code::None);
    // Two resting and one incoming: room for three obligations is needed, four exist.
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 2, "b1")).code(), Code::None);
    EXPECT_EQ(x.exchange.open_obligations().size(), 2u);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 1, "s3")).code(), Code::None);
    // 2 obligations + 1 resting + 1 incoming = 4: still room.
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 1, "b2")).code(), Code::None);
    EXPECT_EQ(x.send(TestExchange::sell(pat, 100, 1, "s4")).code(), Code::None);
    // 3 obligations + 1 resting + 1 incoming = 5 > 4.
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 1, "b3")).code(), Code::ObligationLimitReached);
}

}  // namespace
}  // namespace cpx::exchange::test
