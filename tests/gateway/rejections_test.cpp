// Every class of refusal reaches a gRPC client with the status code the API names, an
// ErrorInfo carrying the stable reason and the "cpx-reason" trailer; on the stream the
// same refusal is a REJECTED report with the reason and the code. Nothing is changed
// by a refused command.

#include <climits>

#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

constexpr std::int64_t kMax = INT64_MAX;
constexpr std::int64_t kMin = INT64_MIN;

class GatewayRejections : public GatewayFixture {};

TEST_F(GatewayRejections, UnknownInstrumentIsNotFound) {
    EXPECT_TRUE(
        refused(buy(buyer_, 777, 100, 1), grpc::StatusCode::NOT_FOUND, "UNKNOWN_INSTRUMENT"));
    EXPECT_TRUE(
        refused(mass_cancel(buyer_, 777), grpc::StatusCode::NOT_FOUND, "UNKNOWN_INSTRUMENT"));
    // An order named with the wrong instrument is not found either.
    const auto placed = buy(buyer_, kTokens, 100, 1);
    ASSERT_TRUE(placed.ok());
    cpx::v1::CancelRequest wrong = cancel_of(next_id(), placed.response.order_id());
    wrong.set_instrument_id(kCompute);
    EXPECT_TRUE(refused(cancel(buyer_, wrong), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
    EXPECT_TRUE(refused(cancel(buyer_, cancel_of(next_id(), 987'654)), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ORDER"));
    EXPECT_TRUE(refused(replace(buyer_, replace_of(next_id(), 987'654, 100, 1)),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
}

TEST_F(GatewayRejections, BadPriceTickLotAndQuantityAreInvalidArgument) {
    const auto invalid = [&](std::uint32_t instrument, std::int64_t price, std::int64_t quantity,
                             std::string_view reason) {
        return refused(buy(buyer_, instrument, price, quantity), grpc::StatusCode::INVALID_ARGUMENT,
                       reason);
    };
    EXPECT_TRUE(invalid(kCompute, 0, 2, "INVALID_PRICE"));
    EXPECT_TRUE(invalid(kCompute, -5, 2, "INVALID_PRICE"));
    EXPECT_TRUE(invalid(kCompute, 1'003, 2, "PRICE_NOT_TICK_MULTIPLE"));
    EXPECT_TRUE(invalid(kCompute, 1'000, 3, "QUANTITY_NOT_LOT_MULTIPLE"));
    EXPECT_TRUE(invalid(kCompute, 1'000, 0, "INVALID_QUANTITY"));
    EXPECT_TRUE(invalid(kCompute, 1'000, -2, "INVALID_QUANTITY"));
    EXPECT_TRUE(invalid(kCompute, 1'000, 1'002, "QUANTITY_ABOVE_MAXIMUM"));
    EXPECT_TRUE(invalid(kTokens, 100'001, 1, "PRICE_OUT_OF_RANGE"));

    cpx::v1::Instrument big_minimum = token_instrument(3);
    big_minimum.set_quantity_min(5);
    ASSERT_TRUE(add_instrument(big_minimum).ok());
    EXPECT_TRUE(invalid(3, 100, 2, "QUANTITY_BELOW_MINIMUM"));

    cpx::v1::NewOrder expired = limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, 1);
    expired.set_time_in_force(cpx::v1::TIME_IN_FORCE_GTD);
    expired.set_expiry_ns(1);
    EXPECT_TRUE(
        refused(place(buyer_, expired), grpc::StatusCode::INVALID_ARGUMENT, "EXPIRY_IN_PAST"));
    cpx::v1::NewOrder resting_market = limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 0, 1);
    resting_market.set_order_type(cpx::v1::ORDER_TYPE_MARKET);
    resting_market.set_time_in_force(cpx::v1::TIME_IN_FORCE_GTC);
    EXPECT_TRUE(refused(place(buyer_, resting_market), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_TIME_IN_FORCE"));
    cpx::v1::NewOrder post_ioc = limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, 1);
    post_ioc.set_post_only(true);
    post_ioc.set_time_in_force(cpx::v1::TIME_IN_FORCE_IOC);
    EXPECT_TRUE(
        refused(place(buyer_, post_ioc), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_FLAGS"));
    cpx::v1::NewOrder min_above = limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, 1);
    min_above.set_min_quantity(2);
    EXPECT_TRUE(refused(place(buyer_, min_above), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_MIN_QUANTITY"));

    // Nothing rests and nothing is held.
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 0);
    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.reserved_fen(), 0);
}

TEST_F(GatewayRejections, PriceOutsideBandHaltedAndClosedAreFailedPrecondition) {
    EXPECT_TRUE(refused(buy(buyer_, kCompute, 1'500, 2), grpc::StatusCode::FAILED_PRECONDITION,
                        "PRICE_OUTSIDE_BAND"));
    EXPECT_TRUE(refused(sell(provider_, kCompute, 700, 2), grpc::StatusCode::FAILED_PRECONDITION,
                        "PRICE_OUTSIDE_BAND"));

    const auto resting = buy(buyer_, kTokens, 100, 1);
    ASSERT_TRUE(resting.ok());
    ASSERT_TRUE(set_state(kTokens, cpx::v1::STATE_ACTION_HALT).ok());
    EXPECT_TRUE(refused(buy(buyer_, kTokens, 100, 1), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSTRUMENT_HALTED"));
    EXPECT_TRUE(refused(replace(buyer_, replace_of(next_id(), resting.response.order_id(), 101, 1)),
                        grpc::StatusCode::FAILED_PRECONDITION, "INSTRUMENT_HALTED"));
    // A halt still lets an order be cancelled.
    EXPECT_TRUE(cancel(buyer_, cancel_of(next_id(), resting.response.order_id())).ok());

    ASSERT_TRUE(set_state(kTokens, cpx::v1::STATE_ACTION_CLOSE).ok());
    EXPECT_TRUE(refused(buy(buyer_, kTokens, 100, 1), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSTRUMENT_CLOSED"));

    ASSERT_TRUE(sell(provider_, kCompute, 1'000, 2).ok());
    cpx::v1::NewOrder post_only = limit(next_id(), kCompute, cpx::v1::SIDE_BUY, 1'000, 2);
    post_only.set_post_only(true);
    EXPECT_TRUE(refused(place(buyer_, post_only), grpc::StatusCode::FAILED_PRECONDITION,
                        "POST_ONLY_WOULD_TRADE"));
}

TEST_F(GatewayRejections, InsufficientFundsIsFailedPrecondition) {
    const Party poor = create_account(cpx::v1::ROLE_BUYER, "poor");
    ASSERT_TRUE(deposit(poor, 1'000).ok());
    EXPECT_TRUE(refused(buy(poor, kTokens, 100, 11), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSUFFICIENT_FUNDS"));
    const auto all_in = buy(poor, kTokens, 100, 10);
    ASSERT_TRUE(all_in.ok()) << all_in.status.error_message();
    // What rests holds the money.
    EXPECT_TRUE(refused(buy(poor, kTokens, 1, 1), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSUFFICIENT_FUNDS"));
    EXPECT_TRUE(refused(replace(poor, replace_of(next_id(), all_in.response.order_id(), 101, 10)),
                        grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"));
    // A refused replace leaves the order as it was.
    const auto open = open_orders(poor);
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open.response.orders_size(), 1);
    EXPECT_EQ(open.response.orders(0).price_fen(), 100);
    EXPECT_EQ(open.response.orders(0).leaves_quantity(), 10);
}

TEST_F(GatewayRejections, InsufficientCapacityIsFailedPrecondition) {
    EXPECT_TRUE(refused(sell(provider_, kTokens, 100, kProviderTokenBundles + 1),
                        grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_CAPACITY"));
    const auto all_compute = sell(provider_, kCompute, 1'000, kProviderComputeUnits);
    ASSERT_TRUE(all_compute.ok()) << all_compute.status.error_message();
    EXPECT_TRUE(refused(sell(provider_, kCompute, 1'000, 2), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSUFFICIENT_CAPACITY"));
    EXPECT_TRUE(refused(
        replace(provider_, replace_of(next_id(), all_compute.response.order_id(), 1'000, 100)),
        grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_CAPACITY"));

    const Party unregistered = create_account(cpx::v1::ROLE_PROVIDER, "unregistered");
    EXPECT_TRUE(refused(sell(unregistered, kTokens, 100, 1), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSUFFICIENT_CAPACITY"));
}

TEST_F(GatewayRejections, ClientOrderIdLongerThan32BytesIsInvalidArgument) {
    const std::string longest(32, 'x');
    EXPECT_TRUE(place(buyer_, limit(longest, kTokens, cpx::v1::SIDE_BUY, 100, 1)).ok());
    const std::string too_long(33, 'y');
    EXPECT_TRUE(refused(place(buyer_, limit(too_long, kTokens, cpx::v1::SIDE_BUY, 100, 1)),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLIENT_ORDER_ID"));
    EXPECT_TRUE(
        refused(place(buyer_, limit(std::string(10'000, 'z'), kTokens, cpx::v1::SIDE_BUY, 100, 1)),
                grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLIENT_ORDER_ID"));
    EXPECT_TRUE(refused(cancel(buyer_, cancel_of(next_id(), 0, too_long)),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLIENT_ORDER_ID"));
    EXPECT_TRUE(refused(cancel(buyer_, cancel_of(too_long, 1)), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_CLIENT_ORDER_ID"));

    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(session.send_batch({command(limit(too_long, kTokens, cpx::v1::SIDE_BUY, 100, 1)),
                                    command(limit("after", kTokens, cpx::v1::SIDE_BUY, 100, 1))}));
    const auto reports = session.wait_reports(2);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_TRUE(
        rejected(reports[0], grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLIENT_ORDER_ID"));
    // The refusal names the command by the first 32 bytes of its id.
    EXPECT_EQ(reports[0].client_order_id(), too_long.substr(0, 32));
    EXPECT_EQ(reports[1].exec_type(), cpx::v1::EXEC_TYPE_NEW);

    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 2);
}

TEST_F(GatewayRejections, ClientOrderIdWithNonPrintableBytesIsInvalidArgument) {
    using namespace std::string_literals;
    // A NUL inside the id must not cut it short into another, valid id ("ab").
    ASSERT_TRUE(place(buyer_, limit("ab", kTokens, cpx::v1::SIDE_BUY, 100, 1)).ok());
    const std::vector<std::string> bad = {""s,      "\x01id"s,      "with space"s,
                                          "tab\t"s, "del\x7f"s,     "ab\0cd"s,
                                          "\0"s,    "caf\xc3\xa9"s, "ab\0"s};
    for (const std::string& id : bad) {
        SCOPED_TRACE("client_order_id of " + std::to_string(id.size()) + " bytes: " + id);
        EXPECT_TRUE(refused(place(buyer_, limit(id, kTokens, cpx::v1::SIDE_BUY, 100, 1)),
                            grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLIENT_ORDER_ID"));
    }

    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    std::vector<cpx::v1::OrderCommand> batch;
    for (const std::string& id : bad) {
        batch.push_back(command(limit(id, kTokens, cpx::v1::SIDE_BUY, 100, 1)));
    }
    ASSERT_TRUE(session.send_batch(batch));
    const auto reports = session.wait_reports(bad.size());
    ASSERT_EQ(reports.size(), bad.size());
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EXPECT_TRUE(
            rejected(reports[i], grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLIENT_ORDER_ID"))
            << "id " << i;
        EXPECT_FALSE(reports[i].duplicate()) << "id " << i;
    }
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 1);
}

TEST_F(GatewayRejections, RateLimitIsResourceExhausted) {
    const Party hasty = create_account(cpx::v1::ROLE_BUYER, "hasty", 1);
    ASSERT_TRUE(deposit(hasty, 100'000).ok());
    // The bucket holds one second of the account's rate: one order.
    ASSERT_TRUE(buy(hasty, kTokens, 100, 1).ok());
    EXPECT_TRUE(
        refused(buy(hasty, kTokens, 100, 1), grpc::StatusCode::RESOURCE_EXHAUSTED, "RATE_LIMITED"));
    EXPECT_TRUE(
        refused(mass_cancel(hasty, 0), grpc::StatusCode::RESOURCE_EXHAUSTED, "RATE_LIMITED"));
    // Other accounts are not slowed down.
    EXPECT_TRUE(buy(buyer_, kTokens, 100, 1).ok());
    EXPECT_TRUE(buy(buyer_, kTokens, 100, 1).ok());
}

TEST_F(GatewayRejections, OverflowingPricesAndQuantitiesAreAnswered) {
    const auto invalid = [&](const cpx::v1::NewOrder& order, std::string_view reason) {
        return refused(place(buyer_, order), grpc::StatusCode::INVALID_ARGUMENT, reason);
    };
    EXPECT_TRUE(
        invalid(limit(next_id(), kTokens, cpx::v1::SIDE_BUY, kMax, 1), "PRICE_OUT_OF_RANGE"));
    EXPECT_TRUE(
        invalid(limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, kMax), "QUANTITY_ABOVE_MAXIMUM"));
    EXPECT_TRUE(invalid(limit(next_id(), kTokens, cpx::v1::SIDE_BUY, kMax, kMax),
                        "QUANTITY_ABOVE_MAXIMUM"));
    EXPECT_TRUE(invalid(limit(next_id(), kTokens, cpx::v1::SIDE_BUY, kMin, 1), "INVALID_PRICE"));
    EXPECT_TRUE(
        invalid(limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, kMin), "INVALID_QUANTITY"));
    // The largest multiples of the compute instrument's tick (5) and lot (2).
    EXPECT_TRUE(refused(sell(provider_, kCompute, kMax - kMax % 5, 2),
                        grpc::StatusCode::INVALID_ARGUMENT, "PRICE_OUT_OF_RANGE"));
    EXPECT_TRUE(refused(sell(provider_, kCompute, 1'000, kMax - 1),
                        grpc::StatusCode::INVALID_ARGUMENT, "QUANTITY_ABOVE_MAXIMUM"));
    cpx::v1::NewOrder min_quantity = limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, 1);
    min_quantity.set_min_quantity(kMax);
    EXPECT_TRUE(invalid(min_quantity, "INVALID_MIN_QUANTITY"));

    // Market orders whose protection limit is the largest price: answered, whatever the
    // book (here one ask).
    ASSERT_TRUE(sell(provider_, kCompute, 1'000, 2).ok());
    for (const cpx::v1::Side side : {cpx::v1::SIDE_BUY, cpx::v1::SIDE_SELL}) {
        cpx::v1::NewOrder market = limit(next_id(), kCompute, side, kMax - kMax % 5, 2);
        market.set_order_type(cpx::v1::ORDER_TYPE_MARKET);
        market.set_time_in_force(cpx::v1::TIME_IN_FORCE_IOC);
        const auto answer = place(side == cpx::v1::SIDE_BUY ? buyer_ : provider_, market);
        EXPECT_NE(answer.status.error_code(), grpc::StatusCode::INTERNAL);
        EXPECT_NE(answer.status.error_code(), grpc::StatusCode::UNAVAILABLE);
    }
    cpx::v1::NewOrder far_expiry = limit(next_id(), kTokens, cpx::v1::SIDE_BUY, 100, 1);
    far_expiry.set_time_in_force(cpx::v1::TIME_IN_FORCE_GTD);
    far_expiry.set_expiry_ns(kMax);
    const auto gtd = place(buyer_, far_expiry);
    ASSERT_TRUE(gtd.ok()) << gtd.status.error_message();

    // Replaces whose new notional overflows 63 bits.
    EXPECT_TRUE(refused(replace(buyer_, replace_of(next_id(), gtd.response.order_id(), kMax, kMax)),
                        grpc::StatusCode::INVALID_ARGUMENT, "OVERFLOW"));
    EXPECT_TRUE(refused(replace(buyer_, replace_of(next_id(), gtd.response.order_id(), 100, kMax)),
                        grpc::StatusCode::INVALID_ARGUMENT, "OVERFLOW"));
    const auto ask = sell(provider_, kCompute, 1'000, 2);
    ASSERT_TRUE(ask.ok());
    EXPECT_TRUE(
        refused(replace(provider_, replace_of(next_id(), ask.response.order_id(), 1'000, kMax)),
                grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_CAPACITY"));
    const auto odd = replace(provider_, replace_of(next_id(), ask.response.order_id(), kMax, 2));
    EXPECT_EQ(odd.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

    // Instruments whose ranges would overflow are refused too.
    cpx::v1::Instrument huge = token_instrument(20);
    huge.set_price_max_fen(kMax);
    EXPECT_TRUE(
        refused(add_instrument(huge), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_INSTRUMENT"));
    cpx::v1::Instrument huge_tick = token_instrument(21);
    huge_tick.set_tick_size_fen(kMax);
    EXPECT_TRUE(refused(add_instrument(huge_tick), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_INSTRUMENT"));

    expect_market_still_trades();
}

TEST_F(GatewayRejections, RefusalsOnTheStreamCarryReasonAndStatusCode) {
    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(session.send_batch({
        command(limit("r-1", 777, cpx::v1::SIDE_BUY, 100, 1)),
        command(limit("r-2", kCompute, cpx::v1::SIDE_BUY, 1'003, 2)),
        command(limit("r-3", kCompute, cpx::v1::SIDE_BUY, 1'500, 2)),
        command(limit("r-4", kTokens, cpx::v1::SIDE_BUY, 100'000, 1'000)),
        command(limit("r-5", kTokens, cpx::v1::SIDE_SELL, 100, 1)),
        command(cancel_of("r-6", 424'242)),
    }));
    const auto reports = session.wait_reports(6);
    ASSERT_EQ(reports.size(), 6u);
    EXPECT_TRUE(rejected(reports[0], grpc::StatusCode::NOT_FOUND, "UNKNOWN_INSTRUMENT"));
    EXPECT_TRUE(
        rejected(reports[1], grpc::StatusCode::INVALID_ARGUMENT, "PRICE_NOT_TICK_MULTIPLE"));
    EXPECT_TRUE(rejected(reports[2], grpc::StatusCode::FAILED_PRECONDITION, "PRICE_OUTSIDE_BAND"));
    EXPECT_TRUE(rejected(reports[3], grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"));
    EXPECT_TRUE(rejected(reports[4], grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(rejected(reports[5], grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EXPECT_EQ(reports[i].client_order_id(), "r-" + std::to_string(i + 1));
        EXPECT_EQ(reports[i].session_seq(), i + 1);
    }
    // The stream stays open after refusals.
    ASSERT_TRUE(session.send_batch({command(limit("r-7", kTokens, cpx::v1::SIDE_BUY, 100, 1))}));
    const auto after = session.wait_reports(7);
    ASSERT_EQ(after.size(), 7u);
    EXPECT_EQ(after[6].exec_type(), cpx::v1::EXEC_TYPE_NEW);
}

}  // namespace
}  // namespace cpx::gateway::test
