// Order-entry sessions: a Logon names a stream, can replay what the client missed, and
// a stream that ends may take its own orders with it.

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeSessions : public ExchangeTest {
  protected:
    ExchangeSessions() {
        alice = x.buyer("alice", 1'000'000);
        pat = x.provider("pat");
        x.register_tokens(pat, 1'000);
    }
    Party alice, pat;
};

TEST_F(ExchangeSessions, LogonAnswersWithASessionAndTheAccountsLastSeq) {
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 1, "b1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 1, "b2")).code(), Code::None);
    const Result first = x.logon(alice);
    EXPECT_EQ(first.answer.kind, OutKind::Reply);
    EXPECT_EQ(first.code(), Code::None);
    EXPECT_EQ(first.answer.account, alice.id);
    EXPECT_NE(first.answer.session, 0u);
    EXPECT_EQ(first.answer.seq, 2u);
    EXPECT_EQ(first.out.size(), 1u);  // nothing to replay

    const Result second = x.logon(alice);
    EXPECT_NE(second.answer.session, first.answer.session);
    const Result fresh = x.logon(pat);
    EXPECT_EQ(fresh.answer.seq, 0u);
}

TEST_F(ExchangeSessions, CommandsOnASessionActForItsAccount) {
    const SessionId session = x.logon(alice).answer.session;
    const Result r =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 100, 3, "b1"), session));
    EXPECT_EQ(r.code(), Code::None);
    EXPECT_EQ(r.answer.account, alice.id);
    EXPECT_EQ(x.open_orders(alice).size(), 1u);
    EXPECT_EQ(x.balances(alice).reserved_fen, 300);
}

TEST_F(ExchangeSessions, LogonResumeReplaysExactlyTheReportsAfterThatSeq) {
    const Result b1 = x.send(TestExchange::buy(alice, 100, 10, "b1"));            // seq 1
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 4, "s1")).code(), Code::None);  // alice seq 2
    ASSERT_EQ(x.send(TestExchange::cancel(alice, b1.answer.order_id, "c1")).code(),
              from_engine(Reason::CancelledByUser));                              // seq 3
    ASSERT_EQ(x.send(TestExchange::buy(alice, 90, 1, "b2")).code(), Code::None);  // seq 4
    const std::vector<Outbound> live = x.reports_of(alice.id);
    ASSERT_EQ(live.size(), 4u);
    const std::uint64_t hash = x.exchange.state_hash();

    const Result logon = x.logon(alice, false, 1);
    ASSERT_EQ(logon.code(), Code::None);
    EXPECT_EQ(logon.answer.seq, 4u);
    ASSERT_EQ(logon.out.size(), 1u + 3u + 1u);  // the answer, 3 reports, 1 fill
    EXPECT_EQ(logon.out[0].kind, OutKind::Reply);
    std::size_t report = 1;
    for (std::size_t i = 1; i < logon.out.size(); ++i) {
        const Outbound& o = logon.out[i];
        EXPECT_TRUE(o.targeted);
        EXPECT_FALSE(o.duplicate);
        EXPECT_EQ(o.session, logon.answer.session);
        EXPECT_EQ(o.account, alice.id);
        if (o.kind == OutKind::Fill) {
            EXPECT_EQ(o.seq, 2u);
            EXPECT_EQ(o.quantity, 4);
            continue;
        }
        ASSERT_LT(report, live.size());
        EXPECT_EQ(o.seq, live[report].seq);
        EXPECT_EQ(o.exec, live[report].exec);
        EXPECT_EQ(o.order_id, live[report].order_id);
        EXPECT_EQ(o.status, live[report].status);
        ++report;
    }
    EXPECT_EQ(report, live.size());
    // A replay is a copy: no new numbers, no change of state.
    EXPECT_EQ(x.exchange.account(alice.id)->report_seq, 4u);
    EXPECT_EQ(x.exchange.state_hash(), hash);
    expect_gapless_seq(x, alice.id);

    // Caught up, or asking for nothing: no replay.
    EXPECT_EQ(x.logon(alice, false, 4).out.size(), 1u);
    EXPECT_EQ(x.logon(alice, false, 0).out.size(), 1u);
    EXPECT_EQ(x.logon(alice, false, 99).out.size(), 1u);
}

TEST_F(ExchangeSessions, LogoffWithCancelOnDisconnectCancelsOnlyThatSessionsOrders) {
    const SessionId leaving = x.logon(alice, true).answer.session;
    const SessionId staying = x.logon(alice, true).answer.session;
    const SessionId plain = x.logon(alice, false).answer.session;
    const Result on_leaving =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 100, 1, "a1"), leaving));
    const Result on_leaving_2 =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 101, 2, "a2"), leaving));
    const Result on_staying =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 102, 1, "s1"), staying));
    const Result on_plain =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 103, 1, "p1"), plain));
    const Result unary = x.send(TestExchange::buy(alice, 104, 1, "u1"));
    // A replace keeps the order with the session that entered it.
    ASSERT_EQ(
        x.send(TestExchange::replace(alice, on_leaving_2.answer.order_id, 99, 2, "r1")).code(),
        Code::None);
    ASSERT_EQ(x.open_orders(alice).size(), 5u);
    ASSERT_EQ(x.balances(alice).reserved_fen, 100 + 198 + 102 + 103 + 104);

    const Result off = x.logoff(leaving);
    EXPECT_EQ(off.answer.kind, OutKind::Reply);
    EXPECT_EQ(off.code(), Code::None);
    const std::vector<Outbound> cancelled = off.unsolicited(OutKind::Report);
    ASSERT_EQ(cancelled.size(), 2u);
    for (const Outbound& o : cancelled) {
        EXPECT_EQ(o.exec, ExecType::Cancelled);
        EXPECT_EQ(o.status, OrderStatus::Cancelled);
        EXPECT_TRUE(o.order_id == on_leaving.answer.order_id ||
                    o.order_id == on_leaving_2.answer.order_id);
    }
    const std::vector<OpenOrderView> left = x.open_orders(alice);
    ASSERT_EQ(left.size(), 3u);
    EXPECT_EQ(left[0].order_id, on_staying.answer.order_id);
    EXPECT_EQ(left[1].order_id, on_plain.answer.order_id);
    EXPECT_EQ(left[2].order_id, unary.answer.order_id);
    EXPECT_EQ(x.balances(alice).reserved_fen, 102 + 103 + 104);

    // A session without cancel-on-disconnect leaves its orders when it ends.
    EXPECT_TRUE(x.logoff(plain).unsolicited(OutKind::Report).empty());
    EXPECT_EQ(x.open_orders(alice).size(), 3u);
    expect_gapless_seq(x, alice.id);

    // The ended session names nothing any more.
    const Result after =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 100, 1, "late"), leaving));
    EXPECT_EQ(after.answer.kind, OutKind::Reply);
    EXPECT_EQ(after.code(), Code::UnknownSession);
}

TEST_F(ExchangeSessions, CancelOnDisconnectDoesNotTouchAnotherAccountsOrders) {
    const Party bob = x.buyer("bob", 1'000'000);
    const SessionId a = x.logon(alice, true).answer.session;
    const SessionId b = x.logon(bob, true).answer.session;
    ASSERT_EQ(x.send(TestExchange::on_session(TestExchange::buy(alice, 100, 1, "x"), a)).code(),
              Code::None);
    ASSERT_EQ(x.send(TestExchange::on_session(TestExchange::buy(bob, 100, 1, "x"), b)).code(),
              Code::None);
    x.logoff(a);
    EXPECT_TRUE(x.open_orders(alice).empty());
    EXPECT_EQ(x.open_orders(bob).size(), 1u);
}

TEST_F(ExchangeSessions, UnknownSessionIsRefused) {
    for (const RequestType type : {RequestType::NewOrder, RequestType::Cancel, RequestType::Replace,
                                   RequestType::MassCancel}) {
        Request r = TestExchange::buy(alice, 100, 1, "b1");
        r.type = type;
        r.order_id = 1;
        const Result result = x.send(TestExchange::on_session(r, 999));
        EXPECT_EQ(result.answer.kind, OutKind::Reply);
        EXPECT_EQ(result.code(), Code::UnknownSession);
    }
    // A logoff of a session that does not exist is acknowledged and changes nothing.
    const Result off = x.logoff(999);
    ASSERT_EQ(off.out.size(), 1u);
    EXPECT_EQ(off.answer.kind, OutKind::Reply);
    EXPECT_EQ(off.code(), Code::None);
    EXPECT_TRUE(x.reports_of(alice.id).empty());
}

TEST(ExchangeSessionLimit, LogonBeyondTheSessionLimitIsRefused) {
    ExchangeConfig config = small_config();
    config.sessions_max = 2;
    TestExchange x(config);
    const Party alice = x.buyer("alice");
    const SessionId first = x.logon(alice).answer.session;
    EXPECT_EQ(x.logon(alice).code(), Code::None);
    EXPECT_EQ(x.logon(alice).code(), Code::SessionLimitReached);
    x.logoff(first);
    EXPECT_EQ(x.logon(alice).code(), Code::None);
}

}  // namespace
}  // namespace cpx::exchange::test
