// Authentication by the x-api-key header on every authenticated service, and what each
// role may do: buyers buy, providers sell, neither reaches another account's orders or
// data, regulators read everything and change nothing, operators administer.

#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayAuth : public GatewayFixture {
  protected:
    // Every unary RPC of OrderEntry, AccountQuery, Admin and Settlement, with a request
    // that is otherwise valid, must refuse the caller as unauthenticated.
    void expect_every_call_unauthenticated(const Party& who) {
        const auto check = [&](const char* rpc, const auto& answer) {
            EXPECT_TRUE(refused(answer, grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"))
                << rpc;
        };
        check("PlaceOrder", place(who, limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, 1)));
        check("CancelOrder", cancel(who, cancel_of(next_id(), 1)));
        check("ReplaceOrder", replace(who, replace_of(next_id(), 1, 100, 1)));
        check("MassCancel", mass_cancel(who, 0));
        check("ListInstruments", list_instruments(who));
        check("GetOpenOrders", open_orders(who));
        check("GetFills", fills(who));
        check("GetBalances", balances(who));
        check("AddInstrument", add_instrument_as(who, token_instrument(30)));
        check("SetTradingState", set_state_as(who, kTokens, cpx::v1::STATE_ACTION_HALT));
        cpx::v1::Account account;
        account.set_name("intruder");
        account.set_role(cpx::v1::ROLE_OPERATOR);
        check("CreateAccount", create_account_as(who, account));
        check("CreateApiKey", create_api_key_as(who, 1));
        check("CreditDeposit", deposit_as(who, buyer_.id, 100, next_id("dep-")));
        check("SetAcceleratorTable", set_accelerator_table_as(who, {{"X", 1, false}}));
        check("RegisterCapacity", register_capacity_as(who, token_registration(provider_.id, 1)));
        check("CreditCollateral", credit_collateral_as(who, provider_.id, 100, next_id("col-")));
        check("ListObligations", list_obligations(who));
        check("ConfirmDelivery", confirm_delivery(who, 1, 1));
        check("DisputeDelivery", dispute_delivery(who, 1, "late"));
        check("ResolveDispute",
              resolve_dispute_as(who, 1, cpx::v1::DISPUTE_DECISION_UPHOLD, "upheld"));
        check("RunSettlement", run_settlement_as(who));
    }
};

TEST_F(GatewayAuth, EveryCallWithoutAKeyIsUnauthenticated) {
    expect_every_call_unauthenticated(Party{0, ""});
}

TEST_F(GatewayAuth, EveryCallWithAWrongKeyIsUnauthenticated) {
    expect_every_call_unauthenticated(Party{0, "cpx_this_key_was_never_issued"});
    // Nothing changed: the state seen by the real operator is the fixture's.
    const auto listed = list_instruments(operator_);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed.response.instruments_size(), 2);
    const auto money = balances(operator_, buyer_.id);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.balance_fen(), kBuyerDeposit);
    EXPECT_TRUE(all_open_orders(0).empty());
}

TEST_F(GatewayAuth, StreamLogonWithoutAKeyOrWithAWrongKeyIsUnauthenticated) {
    for (const std::string& key : {std::string(), std::string("cpx_wrong")}) {
        TradeSession session(*orders_, key);
        ASSERT_TRUE(session.send_logon(true));
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value()) << "key '" << key << "'";
        EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAUTHENTICATED) << "key '" << key << "'";
        EXPECT_EQ(error_reason(*status), "UNAUTHENTICATED");
        EXPECT_FALSE(session.wait_logon_ack(std::chrono::milliseconds(0)).has_value());
    }
}

TEST_F(GatewayAuth, AKeyAuthenticatesItsOwnAccountOnly) {
    const auto mine = balances(buyer_);
    ASSERT_TRUE(mine.ok());
    EXPECT_EQ(mine.response.account_id(), buyer_.id);
    const auto theirs = balances(provider_);
    ASSERT_TRUE(theirs.ok());
    EXPECT_EQ(theirs.response.account_id(), provider_.id);
    // A key one character off is another key.
    std::string almost = buyer_.key;
    almost.back() = almost.back() == 'A' ? 'B' : 'A';
    EXPECT_TRUE(refused(balances(Party{buyer_.id, almost}), grpc::StatusCode::UNAUTHENTICATED,
                        "UNAUTHENTICATED"));
}

class GatewayRoles : public GatewayFixture {
  protected:
    void expect_no_admin(const Party& who) {
        const auto check = [&](const char* rpc, const auto& answer) {
            EXPECT_TRUE(refused(answer, grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"))
                << rpc;
        };
        check("AddInstrument", add_instrument_as(who, token_instrument(31)));
        check("SetTradingState", set_state_as(who, kTokens, cpx::v1::STATE_ACTION_HALT));
        cpx::v1::Account account;
        account.set_name("accomplice");
        account.set_role(cpx::v1::ROLE_BUYER);
        check("CreateAccount", create_account_as(who, account));
        check("CreateApiKey", create_api_key_as(who, buyer_.id));
        check("CreditDeposit", deposit_as(who, buyer_.id, 1'000'000, next_id("dep-")));
        check("SetAcceleratorTable", set_accelerator_table_as(who, {{"X", 1, false}}));
        check("RegisterCapacity", register_capacity_as(who, token_registration(provider_.id, 1)));
        check("CreditCollateral",
              credit_collateral_as(who, provider_.id, 1'000'000, next_id("col-")));
        check("ResolveDispute", resolve_dispute_as(who, 1, cpx::v1::DISPUTE_DECISION_REJECT));
        check("RunSettlement", run_settlement_as(who));
    }
};

TEST_F(GatewayRoles, BuyerCannotSellAndProviderCannotBuy) {
    EXPECT_TRUE(refused(sell(buyer_, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(buy(provider_, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    // Also on an instrument that does not exist: the role is judged first.
    EXPECT_TRUE(refused(sell(buyer_, 777, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));

    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(
        session.send_batch({command(limit("no-sell", kTokens, cpx::v1::SIDE_SELL, 100, 1))}));
    const auto reports = session.wait_reports(1);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(rejected(reports[0], grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(all_open_orders(0).empty());
}

TEST_F(GatewayRoles, BuyerCannotTouchAnotherAccountsOrders) {
    const Party rival = create_account(cpx::v1::ROLE_BUYER, "rival");
    ASSERT_TRUE(deposit(rival, 100'000).ok());
    const auto theirs = place(rival, limit("rival-1", kTokens, cpx::v1::SIDE_BUY, 200, 5));
    ASSERT_TRUE(theirs.ok());
    const std::uint64_t id = theirs.response.order_id();

    EXPECT_TRUE(refused(cancel(buyer_, cancel_of(next_id(), id)), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ORDER"));
    EXPECT_TRUE(refused(cancel(buyer_, cancel_of(next_id(), 0, "rival-1")),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
    EXPECT_TRUE(refused(replace(buyer_, replace_of(next_id(), id, 201, 5)),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
    const auto swept = mass_cancel(buyer_, 0);
    ASSERT_TRUE(swept.ok());
    EXPECT_EQ(swept.response.cancelled_count(), 0u);

    // Its data is closed to the buyer too.
    EXPECT_TRUE(refused(open_orders(buyer_, rival.id), grpc::StatusCode::PERMISSION_DENIED,
                        "NOT_OWN_ACCOUNT"));
    EXPECT_TRUE(
        refused(fills(buyer_, rival.id), grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_ACCOUNT"));
    EXPECT_TRUE(refused(balances(buyer_, rival.id), grpc::StatusCode::PERMISSION_DENIED,
                        "NOT_OWN_ACCOUNT"));
    EXPECT_TRUE(refused(open_orders(provider_, rival.id), grpc::StatusCode::PERMISSION_DENIED,
                        "NOT_OWN_ACCOUNT"));

    // The order is untouched.
    const auto still = open_orders(rival);
    ASSERT_TRUE(still.ok());
    ASSERT_EQ(still.response.orders_size(), 1);
    EXPECT_EQ(still.response.orders(0).order_id(), id);
    EXPECT_EQ(still.response.orders(0).price_fen(), 200);
    EXPECT_EQ(still.response.orders(0).leaves_quantity(), 5);
}

TEST_F(GatewayRoles, BuyersAndProvidersCannotAdminister) {
    expect_no_admin(buyer_);
    expect_no_admin(provider_);
}

TEST_F(GatewayRoles, RegulatorReadsEveryAccountAndChangesNothing) {
    ASSERT_TRUE(sell(provider_, kTokens, 500, 10).ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 500, 4).ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 400, 1).ok());
    const Party regulator = create_account(cpx::v1::ROLE_REGULATOR, "regulator");

    const auto buyer_money = balances(regulator, buyer_.id);
    ASSERT_TRUE(buyer_money.ok()) << buyer_money.status.error_message();
    EXPECT_EQ(buyer_money.response.account_id(), buyer_.id);
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit - 2'000);
    const auto buyer_orders = open_orders(regulator, buyer_.id);
    ASSERT_TRUE(buyer_orders.ok());
    EXPECT_EQ(buyer_orders.response.orders_size(), 1);
    const auto provider_orders = open_orders(regulator, provider_.id);
    ASSERT_TRUE(provider_orders.ok());
    EXPECT_EQ(provider_orders.response.orders_size(), 1);
    const auto provider_fills = fills(regulator, provider_.id);
    ASSERT_TRUE(provider_fills.ok());
    EXPECT_EQ(provider_fills.response.fills_size(), 1);
    const auto own = balances(regulator);
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(own.response.account_id(), regulator.id);
    EXPECT_EQ(own.response.role(), cpx::v1::ROLE_REGULATOR);
    EXPECT_TRUE(refused(balances(regulator, 999), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCOUNT"));

    expect_no_admin(regulator);
    EXPECT_TRUE(refused(buy(regulator, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(mass_cancel(regulator, 0), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    TradeSession session(*orders_, regulator.key);
    ASSERT_TRUE(session.send_logon(false));
    const auto status = session.wait_finished();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(error_reason(*status), "ROLE_NOT_ALLOWED");
}

TEST_F(GatewayRoles, OperatorsAdministerButDoNotTrade) {
    const Party second = create_account(cpx::v1::ROLE_OPERATOR, "second-operator");
    ASSERT_NE(second.id, 0u);
    const auto added = add_instrument_as(second, token_instrument(40));
    ASSERT_TRUE(added.ok()) << added.status.error_message();
    const auto halted = set_state_as(second, 40, cpx::v1::STATE_ACTION_HALT);
    ASSERT_TRUE(halted.ok()) << halted.status.error_message();
    // An operator reads any account.
    EXPECT_TRUE(balances(second, buyer_.id).ok());
    EXPECT_TRUE(open_orders(second, provider_.id).ok());

    EXPECT_TRUE(refused(buy(operator_, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(sell(second, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    TradeSession session(*orders_, operator_.key);
    ASSERT_TRUE(session.send_logon(false));
    const auto status = session.wait_finished();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace cpx::gateway::test
