// Who may do what: buyers only buy, providers only sell, operators administer, and
// every account reads its own data unless it is an operator or a regulator.

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeRoles : public ExchangeTest {
  protected:
    ExchangeRoles() {
        alice = x.buyer("alice", 1'000'000);
        bob = x.buyer("bob", 1'000'000);
        pat = x.provider("pat");
        x.register_tokens(pat, 1'000);
        regulator = x.create_account(Role::Regulator, "csrc");
        second_operator = x.create_account(Role::Operator, "ops-2");
    }
    Party alice, bob, pat, regulator, second_operator;
};

TEST_F(ExchangeRoles, BuyerCannotSell) {
    const Result r = x.send(TestExchange::sell(alice, 100, 1, "s1"));
    EXPECT_EQ(r.answer.exec, ExecType::Rejected);
    EXPECT_EQ(r.code(), Code::RoleNotAllowed);
    EXPECT_TRUE(x.open_orders(alice).empty());
    EXPECT_EQ(x.exchange.engine().resting_orders(), 0u);
}

TEST_F(ExchangeRoles, ProviderCannotBuy) {
    x.deposit(pat.id, 1'000'000);
    const Result r = x.send(TestExchange::buy(pat, 100, 1, "b1"));
    EXPECT_EQ(r.answer.exec, ExecType::Rejected);
    EXPECT_EQ(r.code(), Code::RoleNotAllowed);
    EXPECT_TRUE(x.open_orders(pat).empty());
    EXPECT_EQ(x.exchange.engine().resting_orders(), 0u);
}

TEST_F(ExchangeRoles, RoleIsCheckedEvenForAnUnknownInstrument) {
    const Result r = x.send(TestExchange::sell(alice, 100, 1, "s1", 99));
    EXPECT_EQ(r.code(), Code::RoleNotAllowed);
}

TEST_F(ExchangeRoles, OperatorAndRegulatorCannotPlaceOrders) {
    x.deposit(x.op.id, 1'000'000);
    x.deposit(regulator.id, 1'000'000);
    for (const Party& p : {x.op, regulator, second_operator}) {
        for (const Side side : {Side::Buy, Side::Sell}) {
            const Result r = x.send(
                TestExchange::new_order(p, side, kTokens, 100, 1, "o-" + std::to_string(p.id)));
            EXPECT_EQ(r.code(), Code::RoleNotAllowed) << "account " << p.id;
        }
        EXPECT_EQ(x.send(TestExchange::mass_cancel(p, "mc")).code(), Code::RoleNotAllowed);
    }
    EXPECT_EQ(x.exchange.engine().resting_orders(), 0u);
}

TEST_F(ExchangeRoles, OperatorAndRegulatorCannotLogOn) {
    EXPECT_EQ(x.logon(x.op).code(), Code::RoleNotAllowed);
    EXPECT_EQ(x.logon(regulator).code(), Code::RoleNotAllowed);
    EXPECT_EQ(x.logon(alice).code(), Code::None);
    EXPECT_EQ(x.logon(pat).code(), Code::None);
}

TEST_F(ExchangeRoles, AdminRequestsByNonOperatorsAreRoleNotAllowed) {
    const RequestType admin_types[] = {
        RequestType::AddInstrument,    RequestType::SetTradingState,
        RequestType::CreateAccount,    RequestType::CreateApiKey,
        RequestType::CreditDeposit,    RequestType::SetAcceleratorTable,
        RequestType::RegisterCapacity,
    };
    for (const Party& caller : {alice, pat, regulator}) {
        for (const RequestType type : admin_types) {
            // A payload that an operator's request would pass with.
            Payload p;
            p.instrument = token_spec(7);
            p.account.name = "mallory";
            p.account.role = Role::Buyer;
            p.new_key_hash = key_of(777);
            p.amount_fen = 1'000'000;
            p.deposit_id = "steal";
            p.models = {{"H100-SXM", 2'000, false}};
            p.capacity.kind = InstrumentKind::TokenBundle;
            p.capacity.hub = kTokenHub;
            p.capacity.window_start_ns = kWindowStart;
            p.capacity.window_end_ns = kWindowEnd;
            p.capacity.token_bundles = 10;
            Request r = x.admin_request(type, p);
            r.key_hash = caller.key;
            r.account = caller.id;
            r.instrument = kTokens;
            r.action = StateAction::Halt;
            const Result result = x.send(r);
            EXPECT_EQ(result.answer.kind, OutKind::Reply);
            EXPECT_EQ(result.code(), Code::RoleNotAllowed)
                << "caller " << caller.id << " type " << static_cast<int>(type);
        }
    }
    // Nothing of it happened.
    Payload list;
    ASSERT_EQ(x.query(RequestType::ListInstruments, alice.key, 0, list), Code::None);
    EXPECT_EQ(list.instruments.size(), 2u);
    EXPECT_EQ(*x.exchange.engine().state(kTokens), TradingState::Continuous);
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000);
    EXPECT_EQ(x.balances(pat).capacity.at(0).registered, 1'000);
    EXPECT_EQ(x.exchange.account(7), nullptr);  // no account was created
    // The same requests by the second operator pass.
    Payload deposit;
    deposit.amount_fen = 5;
    deposit.deposit_id = "ok";
    Request r = x.admin_request(RequestType::CreditDeposit, deposit);
    r.key_hash = second_operator.key;
    r.account = alice.id;
    EXPECT_EQ(x.send(r).code(), Code::None);
}

TEST_F(ExchangeRoles, UnknownKeyIsUnauthenticated) {
    const KeyHash stranger = key_of(424242);
    Party ghost{alice.id, stranger};

    const Result order = x.send(TestExchange::buy(ghost, 100, 1, "g1"));
    EXPECT_EQ(order.answer.kind, OutKind::Reply);
    EXPECT_EQ(order.code(), Code::Unauthenticated);
    EXPECT_EQ(x.send(TestExchange::cancel(ghost, 1, "g2")).code(), Code::Unauthenticated);
    EXPECT_EQ(x.send(TestExchange::mass_cancel(ghost, "g3")).code(), Code::Unauthenticated);
    EXPECT_EQ(x.logon(ghost).code(), Code::Unauthenticated);
    Payload p;
    EXPECT_EQ(x.query(RequestType::Balances, stranger, alice.id, p), Code::Unauthenticated);
    EXPECT_EQ(x.query(RequestType::ListInstruments, stranger, 0, p), Code::Unauthenticated);
    Payload d;
    d.amount_fen = 1;
    d.deposit_id = "g";
    Request admin = x.admin_request(RequestType::CreditDeposit, d);
    admin.key_hash = stranger;
    admin.account = alice.id;
    EXPECT_EQ(x.send(admin).code(), Code::Unauthenticated);
    // Nothing reached any account's report stream.
    EXPECT_TRUE(x.reports_of(alice.id).empty());
    EXPECT_EQ(x.balances(alice).balance_fen, 1'000'000);
}

TEST_F(ExchangeRoles, BuyerReadingAnotherAccountGetsNotOwnAccount) {
    ASSERT_EQ(x.send(TestExchange::buy(bob, 100, 5, "b1")).code(), Code::None);
    for (const RequestType type :
         {RequestType::Balances, RequestType::OpenOrders, RequestType::Fills}) {
        Payload p;
        EXPECT_EQ(x.query(type, alice.key, bob.id, p), Code::NotOwnAccount);
        EXPECT_TRUE(p.orders.empty());
        EXPECT_TRUE(p.fills.empty());
        EXPECT_EQ(p.balance.balance_fen, 0);
        Payload q;
        EXPECT_EQ(x.query(type, pat.key, bob.id, q), Code::NotOwnAccount);
        // An account may name itself.
        Payload own;
        EXPECT_EQ(x.query(type, alice.key, alice.id, own), Code::None);
    }
}

TEST_F(ExchangeRoles, RegulatorAndOperatorReadAnyAccount) {
    ASSERT_EQ(x.send(TestExchange::sell(pat, 100, 3, "s1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::buy(bob, 100, 5, "b1")).code(), Code::None);
    for (const Party& reader : {regulator, x.op}) {
        Payload orders;
        ASSERT_EQ(x.query(RequestType::OpenOrders, reader.key, bob.id, orders), Code::None);
        ASSERT_EQ(orders.orders.size(), 1u);
        EXPECT_EQ(orders.orders[0].leaves, 2);
        Payload fills;
        ASSERT_EQ(x.query(RequestType::Fills, reader.key, pat.id, fills), Code::None);
        ASSERT_EQ(fills.fills.size(), 1u);
        EXPECT_EQ(fills.fills[0].quantity, 3);
        Payload balance;
        ASSERT_EQ(x.query(RequestType::Balances, reader.key, bob.id, balance), Code::None);
        EXPECT_EQ(balance.balance.account, bob.id);
        EXPECT_EQ(balance.balance.balance_fen, 1'000'000 - 300);
        EXPECT_EQ(balance.balance.reserved_fen, 200);
        Payload unknown;
        EXPECT_EQ(x.query(RequestType::Balances, reader.key, 9'999, unknown), Code::UnknownAccount);
    }
}

}  // namespace
}  // namespace cpx::exchange::test
