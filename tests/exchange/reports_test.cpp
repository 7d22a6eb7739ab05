// Execution reports: every change to an account's orders becomes one report, numbered
// per account from 1 without gaps, whoever caused it (the account's own command, a
// counterparty's order, the clock, the operator).

#include <algorithm>

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeReports : public ExchangeTest {
  protected:
    ExchangeReports() {
        alice = x.buyer("alice", 1'000'000);
        pat = x.provider("pat");
        x.register_tokens(pat, 1'000);
    }
    Party alice, pat;
};

TEST_F(ExchangeReports, SeqNumbersRunPerAccountFromOneWithoutGaps) {
    const Party bob = x.buyer("bob", 1'000'000);
    // Answers to the account's own commands, refusals included.
    const Result b1 = x.send(TestExchange::buy(alice, 100, 10, "b1"));
    EXPECT_EQ(b1.answer.seq, 1u);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 1'000'000, "big")).answer.seq, 2u);
    const Result b2 = x.send(TestExchange::with_tif(TestExchange::buy(alice, 90, 5, "b2"),
                                                    TimeInForce::GTD, x.now + 10 * kMs));
    EXPECT_EQ(b2.answer.seq, 3u);
    EXPECT_EQ(x.send(TestExchange::buy(bob, 95, 5, "b1")).answer.seq, 1u);

    // A fill of a resting order, caused by another account: unsolicited, next number.
    const Result s1 = x.send(TestExchange::sell(pat, 100, 4, "s1"));
    ASSERT_EQ(s1.code(), Code::None);
    const std::vector<Outbound> trade = s1.unsolicited(OutKind::Report);
    ASSERT_EQ(trade.size(), 1u);
    EXPECT_EQ(trade[0].account, alice.id);
    EXPECT_EQ(trade[0].exec, ExecType::Trade);
    EXPECT_EQ(trade[0].status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(trade[0].token, 0u);
    EXPECT_EQ(trade[0].seq, 4u);
    EXPECT_EQ(trade[0].fill_count, 1u);
    EXPECT_EQ(trade[0].leaves, 6);
    EXPECT_EQ(trade[0].filled, 4);
    EXPECT_EQ(s1.answer.seq, 1u);  // the provider's own first report

    // A cancel, then the clock expiring the GTD order.
    EXPECT_EQ(x.send(TestExchange::cancel(alice, b1.answer.order_id, "c1")).answer.seq, 5u);
    x.advance(20 * kMs);
    const Result tick = x.tick();
    ASSERT_EQ(tick.unsolicited(OutKind::Report).size(), 1u);
    const Outbound expired = tick.unsolicited(OutKind::Report)[0];
    EXPECT_EQ(expired.order_id, b2.answer.order_id);
    EXPECT_EQ(expired.exec, ExecType::Expired);
    EXPECT_EQ(expired.status, OrderStatus::Expired);
    EXPECT_EQ(expired.code, from_engine(Reason::CancelledExpired));
    EXPECT_EQ(expired.seq, 6u);
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);

    // A mass cancel: one report per order, then the answer.
    ASSERT_EQ(x.send(TestExchange::buy(alice, 50, 1, "m1")).answer.seq, 7u);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 51, 1, "m2")).answer.seq, 8u);
    const Result mass = x.send(TestExchange::mass_cancel(alice, "mc"));
    EXPECT_EQ(mass.answer.seq, 11u);

    expect_gapless_seq(x, alice.id);
    expect_gapless_seq(x, bob.id);
    expect_gapless_seq(x, pat.id);
}

TEST_F(ExchangeReports, FillsFollowTheirReportWithItsSeq) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 2, "s1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 101, 2, "s2")).code(), Code::None);
    const Result r = x.send(TestExchange::buy(alice, 101, 4, "b1"));
    ASSERT_EQ(r.answer.fill_count, 2u);
    ASSERT_EQ(r.fills.size(), 2u);
    std::uint64_t trade_id = 0;
    for (const Outbound& f : r.fills) {
        EXPECT_EQ(f.kind, OutKind::Fill);
        EXPECT_EQ(f.seq, r.answer.seq);
        EXPECT_EQ(f.account, alice.id);
        EXPECT_EQ(f.order_id, r.answer.order_id);
        EXPECT_TRUE(f.aggressor);
        EXPECT_GT(f.trade_id, trade_id);
        trade_id = f.trade_id;
    }
    EXPECT_EQ(r.answer.status, OrderStatus::Filled);
    EXPECT_EQ(r.answer.leaves, 0);
    EXPECT_EQ(r.answer.filled, 4);
    // The provider's fills are not aggressors and share the trade ids.
    const std::vector<FillView> sold = x.fills(pat);
    ASSERT_EQ(sold.size(), 2u);
    EXPECT_FALSE(sold[0].aggressor);
    EXPECT_EQ(sold[0].trade_id, r.fills[0].trade_id);
    EXPECT_EQ(sold[1].trade_id, r.fills[1].trade_id);
}

TEST_F(ExchangeReports, IocRemainderAnswerIsCancelledAndCarriesItsFills) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 4, "s1")).code(), Code::None);
    const Result r =
        x.send(TestExchange::with_tif(TestExchange::buy(alice, 100, 10, "ioc"), TimeInForce::IOC));
    EXPECT_EQ(r.answer.kind, OutKind::Report);
    EXPECT_EQ(r.answer.exec, ExecType::New);
    EXPECT_EQ(r.answer.status, OrderStatus::Cancelled);
    EXPECT_EQ(r.code(), from_engine(Reason::CancelledImmediateRemainder));
    EXPECT_EQ(code_name(r.code()), "CANCELLED_IMMEDIATE_REMAINDER");
    EXPECT_EQ(status_of(r.code()), StatusCode::Ok);
    EXPECT_EQ(r.answer.filled, 4);
    EXPECT_EQ(r.answer.leaves, 0);
    ASSERT_EQ(r.fills.size(), 1u);
    EXPECT_EQ(r.fills[0].quantity, 4);
    EXPECT_EQ(r.fills[0].price, 100);
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000 - 400);
    EXPECT_EQ(x.exchange.live_orders(), 0u);
}

TEST_F(ExchangeReports, FillOrKillThatCannotFillHoldsNothing) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 4, "s1")).code(), Code::None);
    const Result r =
        x.send(TestExchange::with_tif(TestExchange::buy(alice, 100, 10, "fok"), TimeInForce::FOK));
    EXPECT_EQ(r.answer.status, OrderStatus::Cancelled);
    EXPECT_EQ(r.code(), from_engine(Reason::CancelledFillOrKill));
    EXPECT_TRUE(r.fills.empty());
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000);
}

TEST_F(ExchangeReports, MassCancelAnswersWithTheCountAndReportsEachOrder) {
    std::vector<OrderId> ids;
    for (int i = 0; i < 3; ++i) {
        const Result r = x.send(TestExchange::buy(alice, 100 + i, 1, "t" + std::to_string(i)));
        ASSERT_EQ(r.code(), Code::None);
        ids.push_back(r.answer.order_id);
    }
    const Result other =
        x.send(TestExchange::buy(alice, 100, 1, "c0", kCompute));  // another instrument
    ASSERT_EQ(other.code(), Code::None);

    const Result mass = x.send(TestExchange::mass_cancel(alice, "mc1", kTokens));
    EXPECT_EQ(mass.answer.kind, OutKind::MassCancelDone);
    EXPECT_EQ(mass.answer.exec, ExecType::Cancelled);
    EXPECT_EQ(mass.answer.code, Code::None);
    EXPECT_EQ(mass.answer.quantity, 3);
    EXPECT_EQ(mass.answer.instrument, kTokens);
    EXPECT_EQ(mass.answer.client_order_id.view(), "mc1");
    const std::vector<Outbound> each = mass.unsolicited(OutKind::Report);
    ASSERT_EQ(each.size(), 3u);
    for (const Outbound& o : each) {
        EXPECT_EQ(o.exec, ExecType::Cancelled);
        EXPECT_EQ(o.status, OrderStatus::Cancelled);
        EXPECT_EQ(o.code, from_engine(Reason::CancelledMassCancel));
        EXPECT_LT(o.seq, mass.answer.seq);
        EXPECT_NE(std::find(ids.begin(), ids.end(), o.order_id), ids.end());
    }
    EXPECT_EQ(x.open_orders(alice).size(), 1u);
    EXPECT_EQ(x.balances(alice).reserved_fen, 100);

    // Every instrument, then nothing left to cancel.
    const Result all = x.send(TestExchange::mass_cancel(alice, "mc2"));
    EXPECT_EQ(all.answer.quantity, 1);
    EXPECT_EQ(all.answer.instrument, 0u);
    const Result none = x.send(TestExchange::mass_cancel(alice, "mc3"));
    EXPECT_EQ(none.answer.quantity, 0);
    EXPECT_EQ(none.answer.code, Code::None);
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    expect_gapless_seq(x, alice.id);
}

TEST_F(ExchangeReports, MassCancelOfAnUnknownInstrumentIsRejected) {
    const Result mass = x.send(TestExchange::mass_cancel(alice, "mc", 77));
    EXPECT_EQ(mass.answer.kind, OutKind::MassCancelDone);
    EXPECT_EQ(mass.answer.exec, ExecType::Rejected);
    EXPECT_EQ(mass.code(), from_engine(Reason::UnknownInstrument));
    EXPECT_EQ(mass.answer.instrument, 77u);
}

TEST_F(ExchangeReports, CancelOfAnOrderPastItsExpiryStillReportsTheExpiry) {
    const Result gtd = x.send(TestExchange::with_tif(TestExchange::buy(alice, 100, 10, "g1"),
                                                     TimeInForce::GTD, x.now + kMs));
    ASSERT_EQ(gtd.code(), Code::None);
    x.advance(2 * kMs);
    // No Tick came before the cancel: the order has expired all the same, and the
    // account learns it from an Expired report, not only from a refused cancel.
    const Result cancel = x.send(TestExchange::cancel(alice, gtd.answer.order_id, "c1"));
    const std::vector<Outbound> expired = cancel.unsolicited(OutKind::Report);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].order_id, gtd.answer.order_id);
    EXPECT_EQ(expired[0].exec, ExecType::Expired);
    EXPECT_EQ(expired[0].code, from_engine(Reason::CancelledExpired));
    EXPECT_EQ(cancel.answer.exec, ExecType::Rejected);
    EXPECT_EQ(cancel.code(), from_engine(Reason::UnknownOrder));
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_EQ(x.exchange.live_orders(), 0u);
    expect_gapless_seq(x, alice.id);
}

TEST_F(ExchangeReports, ReplaceOfAnOrderPastItsExpiryStillReportsTheExpiry) {
    const Result gtd = x.send(TestExchange::with_tif(TestExchange::buy(alice, 100, 10, "g1"),
                                                     TimeInForce::GTD, x.now + kMs));
    ASSERT_EQ(gtd.code(), Code::None);
    x.advance(2 * kMs);
    const Result replace = x.send(TestExchange::replace(alice, gtd.answer.order_id, 99, 10, "r1"));
    const std::vector<Outbound> expired = replace.unsolicited(OutKind::Report);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].exec, ExecType::Expired);
    EXPECT_EQ(replace.code(), from_engine(Reason::UnknownOrder));
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    expect_gapless_seq(x, alice.id);
}

TEST_F(ExchangeReports, RefusalsOfOrderCommandsAreReportsInTheAccountsSequence) {
    const Result r = x.send(TestExchange::buy(alice, 100, 2'000'000, "big"));
    EXPECT_EQ(r.answer.kind, OutKind::Report);
    EXPECT_EQ(r.answer.exec, ExecType::Rejected);
    EXPECT_EQ(r.answer.status, OrderStatus::Rejected);
    EXPECT_EQ(r.answer.client_order_id.view(), "big");
    EXPECT_EQ(r.answer.quantity, 2'000'000);
    EXPECT_EQ(r.answer.seq, 1u);
}

}  // namespace
}  // namespace cpx::exchange::test
