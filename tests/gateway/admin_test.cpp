// Every Admin RPC through gRPC with the operator's key: instruments and their trading
// phases, accounts and keys, deposits, the accelerator table and capacity.

#include "gateway_fixture.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayAdmin : public GatewayFixture {};

TEST_F(GatewayAdmin, AddInstrumentListsItOnce) {
    const cpx::v1::Instrument spec = token_instrument(9);
    const auto added = add_instrument(spec);
    ASSERT_TRUE(added.ok()) << added.status.error_message();
    EXPECT_EQ(added.response.SerializeAsString(), spec.SerializeAsString());
    const auto listed = list_instruments(buyer_);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed.response.instruments_size(), 3);

    EXPECT_TRUE(
        refused(add_instrument(spec), grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_INSTRUMENT"));
    cpx::v1::Instrument no_window = token_instrument(10);
    no_window.set_window_end_ns(no_window.window_start_ns());
    EXPECT_TRUE(refused(add_instrument(no_window), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_INSTRUMENT"));
    cpx::v1::Instrument no_kind = token_instrument(11);
    no_kind.set_kind(cpx::v1::INSTRUMENT_KIND_UNSPECIFIED);
    EXPECT_TRUE(
        refused(add_instrument(no_kind), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_INSTRUMENT"));
    cpx::v1::Instrument long_symbol = token_instrument(12);
    long_symbol.set_symbol(std::string(40, 'S'));
    EXPECT_TRUE(refused(add_instrument(long_symbol), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_INSTRUMENT"));
}

TEST_F(GatewayAdmin, SetTradingStateHaltsResumesAndMovesTheReference) {
    ASSERT_TRUE(buy(buyer_, kCompute, 900, 2).ok());
    const auto halted = set_state(kCompute, cpx::v1::STATE_ACTION_HALT);
    ASSERT_TRUE(halted.ok()) << halted.status.error_message();
    EXPECT_EQ(halted.response.state(), cpx::v1::TRADING_STATE_HALTED);
    EXPECT_EQ(halted.response.instrument_id(), kCompute);
    // A plain halt keeps the book.
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 1);

    const auto resumed = set_state(kCompute, cpx::v1::STATE_ACTION_RESUME);
    ASSERT_TRUE(resumed.ok()) << resumed.status.error_message();
    EXPECT_EQ(resumed.response.state(), cpx::v1::TRADING_STATE_CONTINUOUS);

    const auto moved = set_state(kCompute, cpx::v1::STATE_ACTION_SET_REFERENCE, 2'000);
    ASSERT_TRUE(moved.ok()) << moved.status.error_message();
    EXPECT_EQ(moved.response.reference_price_fen(), 2'000);
    // The band moved with it: [1600, 2400] now.
    EXPECT_TRUE(buy(buyer_, kCompute, 2'200, 2).ok());

    EXPECT_TRUE(refused(set_state(777, cpx::v1::STATE_ACTION_HALT), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_INSTRUMENT"));
    EXPECT_TRUE(refused(set_state(kCompute, cpx::v1::STATE_ACTION_UNSPECIFIED),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_STATE_ACTION"));
}

TEST_F(GatewayAdmin, HaltAndCancelEmptiesTheBook) {
    ASSERT_TRUE(buy(buyer_, kTokens, 100, 1).ok());
    ASSERT_TRUE(sell(provider_, kTokens, 200, 1).ok());
    const auto halted = set_state(kTokens, cpx::v1::STATE_ACTION_HALT_AND_CANCEL);
    ASSERT_TRUE(halted.ok()) << halted.status.error_message();
    EXPECT_EQ(halted.response.state(), cpx::v1::TRADING_STATE_HALTED);
    EXPECT_TRUE(all_open_orders(kTokens).empty());
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 0);
}

TEST_F(GatewayAdmin, AuctionPhasesUncrossIntoContinuousTrading) {
    ASSERT_TRUE(set_state(kTokens, cpx::v1::STATE_ACTION_START_AUCTION).ok());
    ASSERT_TRUE(sell(provider_, kTokens, 500, 5).ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 520, 5).ok());
    const auto frozen = set_state(kTokens, cpx::v1::STATE_ACTION_FREEZE_AUCTION);
    ASSERT_TRUE(frozen.ok()) << frozen.status.error_message();
    EXPECT_EQ(frozen.response.state(), cpx::v1::TRADING_STATE_AUCTION_NO_CANCEL);
    const auto uncrossed = set_state(kTokens, cpx::v1::STATE_ACTION_END_AUCTION);
    ASSERT_TRUE(uncrossed.ok()) << uncrossed.status.error_message();
    EXPECT_EQ(uncrossed.response.state(), cpx::v1::TRADING_STATE_CONTINUOUS);
    const auto bought = fills(buyer_);
    ASSERT_TRUE(bought.ok());
    ASSERT_EQ(bought.response.fills_size(), 1);
    EXPECT_EQ(bought.response.fills(0).quantity(), 5);

    const auto closed = set_state(kTokens, cpx::v1::STATE_ACTION_CLOSE);
    ASSERT_TRUE(closed.ok()) << closed.status.error_message();
    EXPECT_EQ(closed.response.state(), cpx::v1::TRADING_STATE_CLOSED);
}

TEST_F(GatewayAdmin, CreateAccountAndApiKeyAdmitANewTrader) {
    cpx::v1::Account spec;
    spec.set_name("new-buyer");
    spec.set_role(cpx::v1::ROLE_BUYER);
    spec.set_owner_group("group-a");
    spec.set_order_quantity_max(50);
    spec.set_order_notional_max_fen(1'000'000);
    spec.set_orders_per_second_max(20);
    const auto created = create_account_as(operator_, spec);
    ASSERT_TRUE(created.ok()) << created.status.error_message();
    EXPECT_GT(created.response.account_id(), buyer_.id);
    EXPECT_EQ(created.response.name(), "new-buyer");
    EXPECT_EQ(created.response.role(), cpx::v1::ROLE_BUYER);
    EXPECT_EQ(created.response.owner_group(), "group-a");
    EXPECT_EQ(created.response.order_quantity_max(), 50);
    EXPECT_EQ(created.response.order_notional_max_fen(), 1'000'000);
    EXPECT_EQ(created.response.orders_per_second_max(), 20u);

    const auto key = create_api_key_as(operator_, created.response.account_id());
    ASSERT_TRUE(key.ok()) << key.status.error_message();
    EXPECT_EQ(key.response.account_id(), created.response.account_id());
    EXPECT_EQ(key.response.api_key().rfind("cpx_", 0), 0u);
    EXPECT_EQ(key.response.api_key().size(), 4u + 43u);
    // The key authenticates as the new account.
    const Party fresh{created.response.account_id(), key.response.api_key()};
    const auto own = balances(fresh);
    ASSERT_TRUE(own.ok()) << own.status.error_message();
    EXPECT_EQ(own.response.account_id(), fresh.id);
    // A second key for the same account works as well, and differs.
    const auto second = create_api_key_as(operator_, fresh.id);
    ASSERT_TRUE(second.ok());
    EXPECT_NE(second.response.api_key(), key.response.api_key());
    EXPECT_TRUE(balances(Party{fresh.id, second.response.api_key()}).ok());
    // The account's own limit applies.
    EXPECT_TRUE(refused(buy(fresh, kTokens, 1, 51), grpc::StatusCode::INVALID_ARGUMENT,
                        "QUANTITY_ABOVE_ACCOUNT_LIMIT"));

    EXPECT_TRUE(
        refused(create_api_key_as(operator_, 999), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCOUNT"));
    cpx::v1::Account nameless;
    nameless.set_role(cpx::v1::ROLE_BUYER);
    EXPECT_TRUE(refused(create_account_as(operator_, nameless), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_ACCOUNT"));
}

TEST_F(GatewayAdmin, CreditDepositIsIdempotentByDepositId) {
    const auto first = deposit_as(operator_, buyer_.id, 500, "wire-1");
    ASSERT_TRUE(first.ok()) << first.status.error_message();
    EXPECT_EQ(first.response.account_id(), buyer_.id);
    EXPECT_EQ(first.response.balance_fen(), kBuyerDeposit + 500);
    EXPECT_FALSE(first.response.duplicate());

    const auto again = deposit_as(operator_, buyer_.id, 500, "wire-1");
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_TRUE(again.response.duplicate());
    EXPECT_EQ(again.response.balance_fen(), kBuyerDeposit + 500);

    EXPECT_TRUE(refused(deposit_as(operator_, buyer_.id, 600, "wire-1"),
                        grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_DEPOSIT_ID"));
    EXPECT_TRUE(refused(deposit_as(operator_, buyer_.id, 0, "wire-2"),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_AMOUNT"));
    EXPECT_TRUE(refused(deposit_as(operator_, buyer_.id, -5, "wire-3"),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_AMOUNT"));
    EXPECT_TRUE(refused(deposit_as(operator_, 999, 5, "wire-4"), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ACCOUNT"));
    EXPECT_TRUE(refused(deposit_as(operator_, buyer_.id, INT64_MAX, "wire-5"),
                        grpc::StatusCode::INVALID_ARGUMENT, "OVERFLOW"));

    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.balance_fen(), kBuyerDeposit + 500);
}

TEST_F(GatewayAdmin, AcceleratorTableConvertsRegisteredDevices) {
    const auto table =
        set_accelerator_table_as(operator_, {{"TEST-GPU", 2'000, true}, {"H100-SXM", 989, false}});
    ASSERT_TRUE(table.ok()) << table.status.error_message();
    EXPECT_EQ(table.response.version(), 2u);
    ASSERT_EQ(table.response.models_size(), 2);
    EXPECT_EQ(table.response.models(0).model(), "TEST-GPU");
    EXPECT_EQ(table.response.models(0).milli_p_per_device(), 2'000);
    EXPECT_TRUE(table.response.models(0).domestic());

    // 2 P a device x 3 devices x 10 hours.
    const auto registered = register_compute(provider_, "TEST-GPU", 3);
    ASSERT_TRUE(registered.ok()) << registered.status.error_message();
    EXPECT_EQ(registered.response.account_id(), provider_.id);
    EXPECT_EQ(registered.response.registered_units(), 60);
    EXPECT_EQ(registered.response.total_units(), kProviderComputeUnits + 60);
    EXPECT_EQ(registered.response.table_version(), 2u);

    // Models that left the table cannot be registered any more.
    EXPECT_TRUE(refused(register_compute(provider_, "A100", 1), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ACCELERATOR_MODEL"));
    EXPECT_TRUE(refused(set_accelerator_table_as(operator_, {}), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_ACCELERATOR_TABLE"));
    EXPECT_TRUE(refused(set_accelerator_table_as(operator_, {{"X", 1, false}, {"X", 2, false}}),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ACCELERATOR_TABLE"));
}

TEST_F(GatewayAdmin, RegisterCapacityAddsToTheProvidersPosition) {
    const auto more = register_tokens(provider_, 250);
    ASSERT_TRUE(more.ok()) << more.status.error_message();
    EXPECT_EQ(more.response.registered_units(), 250);
    EXPECT_EQ(more.response.total_units(), kProviderTokenBundles + 250);
    // The provider can now offer all of it.
    EXPECT_TRUE(sell(provider_, kTokens, 100, kProviderTokenBundles + 250).ok());

    EXPECT_TRUE(refused(register_tokens(buyer_, 10), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(register_tokens(provider_, 0), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_CAPACITY"));
    cpx::v1::RegisterCapacityRequest backwards = token_registration(provider_.id, 5);
    backwards.set_window_end_ns(kWindowStart - 1);
    EXPECT_TRUE(refused(register_capacity_as(operator_, backwards),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CAPACITY"));
}

}  // namespace
}  // namespace cpx::gateway::test
