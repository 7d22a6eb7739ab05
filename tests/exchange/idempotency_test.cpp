// A repeated client order id is answered with the first answer and changes nothing:
// what makes it safe for a client to retry a command whose answer it did not see.

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeIdempotency : public ExchangeTest {
  protected:
    ExchangeIdempotency() {
        alice = x.buyer("alice", 1'000'000);
        pat = x.provider("pat");
        x.register_tokens(pat, 1'000);
    }
    Party alice, pat;
};

TEST_F(ExchangeIdempotency, RepeatedNewOrderIdReturnsTheFirstAnswerAndNoSecondOrder) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 4, "s1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 101, 3, "s2")).code(), Code::None);
    const Result first = x.send(TestExchange::buy(alice, 105, 10, "b1"));
    ASSERT_EQ(first.code(), Code::None);
    ASSERT_EQ(first.fills.size(), 2u);
    const std::uint64_t seq_before = x.exchange.account(alice.id)->report_seq;
    const std::uint64_t hash_before = x.exchange.state_hash();
    const BalanceView balance_before = x.balances(alice);

    const Result again = x.send(TestExchange::buy(alice, 105, 10, "b1"));
    ASSERT_TRUE(again.answered);
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_TRUE(again.answer.targeted);
    EXPECT_EQ(again.answer.token, x.next_token - 1);
    EXPECT_EQ(again.answer.order_id, first.answer.order_id);
    EXPECT_EQ(again.answer.seq, first.answer.seq);
    EXPECT_EQ(again.answer.exec, first.answer.exec);
    EXPECT_EQ(again.answer.status, first.answer.status);
    EXPECT_EQ(again.answer.leaves, first.answer.leaves);
    EXPECT_EQ(again.answer.filled, first.answer.filled);
    ASSERT_EQ(again.fills.size(), first.fills.size());
    for (std::size_t i = 0; i < first.fills.size(); ++i) {
        EXPECT_EQ(again.fills[i].trade_id, first.fills[i].trade_id);
        EXPECT_EQ(again.fills[i].price, first.fills[i].price);
        EXPECT_EQ(again.fills[i].quantity, first.fills[i].quantity);
        EXPECT_TRUE(again.fills[i].duplicate);
        EXPECT_TRUE(again.fills[i].targeted);
    }
    // The copy is the whole output: no trade, no market data, no new report number.
    EXPECT_EQ(again.out.size(), 1u + first.fills.size());
    EXPECT_EQ(x.exchange.account(alice.id)->report_seq, seq_before);
    EXPECT_EQ(x.exchange.state_hash(), hash_before);
    EXPECT_EQ(x.balances(alice).reserved_fen, balance_before.reserved_fen);
    EXPECT_EQ(x.balances(alice).balance_fen, balance_before.balance_fen);
    EXPECT_EQ(x.open_orders(alice).size(), 1u);
    expect_gapless_seq(x, alice.id);
}

TEST_F(ExchangeIdempotency, RepeatedIdOfARejectedOrderStaysRejected) {
    const Party poor = x.buyer("poor", 100);
    const Result first = x.send(TestExchange::buy(poor, 100, 2, "b1"));
    ASSERT_EQ(first.code(), Code::InsufficientFunds);
    // Even once the money is there, the id keeps its answer: a retry is not a new order.
    ASSERT_EQ(x.deposit(poor.id, 1'000), Code::None);
    const Result again = x.send(TestExchange::buy(poor, 100, 2, "b1"));
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_EQ(again.answer.exec, ExecType::Rejected);
    EXPECT_EQ(again.code(), Code::InsufficientFunds);
    EXPECT_EQ(again.answer.seq, first.answer.seq);
    EXPECT_TRUE(x.open_orders(poor).empty());
    EXPECT_EQ(x.balances(poor).reserved_fen, 0);
    // A new id goes through.
    EXPECT_EQ(x.send(TestExchange::buy(poor, 100, 2, "b2")).code(), Code::None);
}

TEST_F(ExchangeIdempotency, RepeatedIdOfAnEngineRejectionStaysRejected) {
    const Result first = x.send(TestExchange::buy(alice, 0, 2, "b1"));
    ASSERT_EQ(first.answer.exec, ExecType::Rejected);
    const Result again = x.send(TestExchange::buy(alice, 100, 2, "b1"));
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_EQ(again.code(), first.code());
    EXPECT_EQ(again.answer.order_id, first.answer.order_id);
    EXPECT_TRUE(x.open_orders(alice).empty());
}

TEST_F(ExchangeIdempotency, RepeatedCancelIdReturnsTheFirstAnswer) {
    const Result placed = x.send(TestExchange::buy(alice, 100, 5, "b1"));
    ASSERT_EQ(placed.code(), Code::None);
    const Result first = x.send(TestExchange::cancel(alice, placed.answer.order_id, "c1"));
    ASSERT_EQ(first.answer.exec, ExecType::Cancelled);
    const std::uint64_t seq = x.exchange.account(alice.id)->report_seq;
    const Result again = x.send(TestExchange::cancel(alice, placed.answer.order_id, "c1"));
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_EQ(again.answer.exec, ExecType::Cancelled);
    EXPECT_EQ(again.answer.order_id, placed.answer.order_id);
    EXPECT_EQ(again.answer.seq, first.answer.seq);
    EXPECT_EQ(x.exchange.account(alice.id)->report_seq, seq);
    // A new cancel id for the same order finds it gone.
    const Result late = x.send(TestExchange::cancel(alice, placed.answer.order_id, "c2"));
    EXPECT_FALSE(late.answer.duplicate);
    EXPECT_EQ(late.code(), from_engine(Reason::UnknownOrder));
}

TEST_F(ExchangeIdempotency, RepeatedIdOfAnUnknownOrderCancelStaysUnknown) {
    const Result first = x.send(TestExchange::cancel(alice, 12345, "c1"));
    ASSERT_EQ(first.code(), from_engine(Reason::UnknownOrder));
    const Result again = x.send(TestExchange::cancel(alice, 12345, "c1"));
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_EQ(again.code(), from_engine(Reason::UnknownOrder));
}

TEST_F(ExchangeIdempotency, CancelAndReplaceByOrigClientOrderId) {
    const Result placed = x.send(TestExchange::buy(alice, 100, 5, "mine"));
    ASSERT_EQ(placed.code(), Code::None);
    Request replace = TestExchange::replace(alice, 0, 90, 7, "r1");
    replace.orig_client_order_id = cid("mine");
    const Result replaced = x.send(replace);
    EXPECT_EQ(replaced.code(), Code::None);
    EXPECT_EQ(replaced.answer.exec, ExecType::Replaced);
    EXPECT_EQ(replaced.answer.order_id, placed.answer.order_id);
    EXPECT_EQ(replaced.answer.price, 90);
    EXPECT_EQ(replaced.answer.leaves, 7);
    EXPECT_EQ(x.balances(alice).reserved_fen, 630);

    const Result cancelled = x.send(TestExchange::cancel_by_client_id(alice, "mine", "c1"));
    EXPECT_EQ(cancelled.answer.exec, ExecType::Cancelled);
    EXPECT_EQ(cancelled.answer.order_id, placed.answer.order_id);
    EXPECT_EQ(cancelled.answer.client_order_id.view(), "c1");
    EXPECT_TRUE(x.open_orders(alice).empty());
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    // Another account's client id names nothing of this one.
    const Party bob = x.buyer("bob", 1'000);
    EXPECT_EQ(x.send(TestExchange::cancel_by_client_id(bob, "mine", "c1")).code(),
              from_engine(Reason::UnknownOrder));
}

TEST_F(ExchangeIdempotency, AnotherAccountsOrderIsUnknown) {
    const Result placed = x.send(TestExchange::buy(alice, 100, 5, "b1"));
    ASSERT_EQ(placed.code(), Code::None);
    const Party bob = x.buyer("bob", 1'000);
    EXPECT_EQ(x.send(TestExchange::cancel(bob, placed.answer.order_id, "c1")).code(),
              from_engine(Reason::UnknownOrder));
    EXPECT_EQ(x.open_orders(alice).size(), 1u);
}

TEST_F(ExchangeIdempotency, ClientIdsArePerAccount) {
    const Party bob = x.buyer("bob", 1'000'000);
    const Result a = x.send(TestExchange::buy(alice, 100, 5, "same"));
    const Result b = x.send(TestExchange::buy(bob, 100, 5, "same"));
    EXPECT_EQ(a.code(), Code::None);
    EXPECT_EQ(b.code(), Code::None);
    EXPECT_FALSE(b.answer.duplicate);
    EXPECT_NE(a.answer.order_id, b.answer.order_id);
}

TEST_F(ExchangeIdempotency, InvalidClientOrderIdsAreRefused) {
    for (const std::string& bad : {std::string(), std::string("has space"), std::string("tab\t")}) {
        const Result r = x.send(TestExchange::buy(alice, 100, 1, bad));
        EXPECT_EQ(r.code(), Code::InvalidClientOrderId) << "'" << bad << "'";
    }
    EXPECT_TRUE(x.open_orders(alice).empty());
    // The longest id allowed: 32 printable bytes.
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 1, std::string(32, '~'))).code(), Code::None);
}

TEST_F(ExchangeIdempotency, DuplicateAnswerIsMeantForTheSessionThatAsked) {
    const Result logon = x.logon(alice);
    const SessionId session = logon.answer.session;
    ASSERT_NE(session, 0u);
    const Result first = x.send(TestExchange::buy(alice, 100, 1, "b1"));
    ASSERT_EQ(first.code(), Code::None);
    EXPECT_EQ(first.answer.session, 0u);  // news: to every stream of the account
    const Result again =
        x.send(TestExchange::on_session(TestExchange::buy(alice, 100, 1, "b1"), session));
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_TRUE(again.answer.targeted);
    EXPECT_EQ(again.answer.session, session);
    EXPECT_EQ(again.answer.order_id, first.answer.order_id);
}

}  // namespace
}  // namespace cpx::exchange::test

namespace cpx::exchange::test {
namespace {

TEST(ExchangeIdempotencyRetention, RepeatedIdWhoseReportIsNoLongerKeptStillNamesTheFirstOrder) {
    ExchangeConfig config = small_config();
    config.report_retention = 64;  // the smallest ring: 64 records per account
    TestExchange x(config);
    x.add_default_instruments();
    const Party alice = x.buyer("alice", 1'000'000);
    const Result first = x.send(TestExchange::buy(alice, 100, 1, "first"));
    ASSERT_EQ(first.code(), Code::None);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(x.send(TestExchange::buy(alice, 1, 1, "later-" + std::to_string(i))).code(),
                  Code::None);
    }
    const Result again = x.send(TestExchange::buy(alice, 100, 1, "first"));
    EXPECT_TRUE(again.answer.duplicate);
    EXPECT_TRUE(again.answer.targeted);
    EXPECT_EQ(again.answer.order_id, first.answer.order_id);
    EXPECT_EQ(again.answer.seq, first.answer.seq);
    EXPECT_EQ(again.answer.exec, first.answer.exec);
    EXPECT_EQ(again.answer.status, first.answer.status);
    EXPECT_EQ(again.answer.client_order_id.view(), "first");
    EXPECT_EQ(x.open_orders(alice).size(), 101u);
}

}  // namespace
}  // namespace cpx::exchange::test
