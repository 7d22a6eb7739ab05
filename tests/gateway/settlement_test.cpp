// Settlement through the API, over real gRPC on loopback: the obligations a trade
// creates, listed for each side and hidden from others; the provider's confirmation, the
// buyer's dispute and the operator's resolution either way; settlement runs after the
// dispute period (which the server's configuration makes short here), their limit, and
// the balances they leave; collateral; and the refusal of every bad input with its
// status and reason.

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway_fixture.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

// A token instrument whose delivery window ended long ago: its obligations are due one
// dispute period after their trade (or confirmation), so that a test sees them settle.
inline constexpr std::uint32_t kPast = 3;
inline constexpr std::int64_t kPastWindowStart = 1'577'836'800'000'000'000;  // 2020-01-01
inline constexpr std::int64_t kPastWindowEnd = kPastWindowStart + 10 * kHourNs;
inline constexpr std::string_view kPastHub = "GUIAN";

// The rules the server runs with in these tests, set through its configuration keys.
inline constexpr std::int64_t kDisputePeriodNs = 2'000'000'000;  // 2 s
inline constexpr std::uint32_t kFeeBps = 100;                    // 1%
inline constexpr std::uint32_t kPenaltyBps = 2'000;              // 20%

inline constexpr std::int64_t kCollateral = 50'000;

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class GatewaySettlement : public GatewayFixture {
  protected:
    void configure(ServerConfig& config) override {
        // Through the keys an operator sets, so that they are tested to reach the exchange.
        const std::string fee = "--settlement_fee_bps=" + std::to_string(kFeeBps);
        const std::string penalty = "--settlement_penalty_bps=" + std::to_string(kPenaltyBps);
        const std::string period = "--dispute_period_ns=" + std::to_string(kDisputePeriodNs);
        const char* argv[] = {"cpxd", fee.c_str(), penalty.c_str(), period.c_str()};
        config.pipeline.exchange.settlement = load_config(4, argv).pipeline.exchange.settlement;
    }

    void SetUp() override {
        GatewayFixture::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        cpx::v1::Instrument past = token_instrument(kPast);
        past.set_symbol("GUIAN-TOKENS-2020");
        past.set_hub(std::string(kPastHub));
        past.set_window_start_ns(kPastWindowStart);
        past.set_window_end_ns(kPastWindowEnd);
        ASSERT_TRUE(add_instrument(past).ok());
        cpx::v1::RegisterCapacityRequest r = token_registration(provider_.id, 1'000);
        r.set_hub(std::string(kPastHub));
        r.set_window_start_ns(kPastWindowStart);
        r.set_window_end_ns(kPastWindowEnd);
        ASSERT_TRUE(register_capacity_as(operator_, r).ok());
    }

    // The provider sells and the buyer buys `quantity` at `price`: one trade, one
    // obligation, whose id (the trade id) is returned.
    std::uint64_t trade(std::uint32_t instrument, std::int64_t price, std::int64_t quantity,
                        const Party& seller, const Party& taker) {
        const auto ask = sell(seller, instrument, price, quantity);
        EXPECT_TRUE(ask.ok()) << ask.status.error_message();
        const auto bid = buy(taker, instrument, price, quantity);
        EXPECT_TRUE(bid.ok()) << bid.status.error_message();
        EXPECT_EQ(bid.response.status(), cpx::v1::ORDER_STATUS_FILLED);
        if (bid.response.fills_size() != 1) {
            ADD_FAILURE() << "expected one fill, got " << bid.response.fills_size();
            return 0;
        }
        return bid.response.fills(0).trade_id();
    }
    std::uint64_t trade(std::uint32_t instrument, std::int64_t price, std::int64_t quantity) {
        return trade(instrument, price, quantity, provider_, buyer_);
    }

    // The obligation as the operator lists it, or one with id 0 when it is not listed.
    cpx::v1::Obligation obligation(std::uint64_t id) {
        const auto listed = list_obligations(operator_);
        EXPECT_TRUE(listed.ok()) << listed.status.error_message();
        for (const cpx::v1::Obligation& o : listed.response.obligations()) {
            if (o.obligation_id() == id) {
                return o;
            }
        }
        return cpx::v1::Obligation{};
    }

    // Sleeps until the sequencer's clock (the wall clock) is past every due time given.
    static void wait_past(std::int64_t due_ns) {
        while (wall_clock_ns() <= due_ns + 20'000'000) {
            std::this_thread::sleep_for(20ms);
        }
    }

    Answer<cpx::v1::CreditDepositResponse> credit_collateral(const Party& provider,
                                                             std::int64_t amount) {
        return credit_collateral_as(operator_, provider.id, amount, next_id("collateral-"));
    }

    static std::int64_t fee_of(std::int64_t fen) { return fen * kFeeBps / 10'000; }
    static std::int64_t penalty_of(std::int64_t fen) { return fen * kPenaltyBps / 10'000; }
};

// --- Listing ------------------------------------------------------------------------

TEST_F(GatewaySettlement, ATradeCreatesOneObligationListedForEachSide) {
    const std::int64_t before = wall_clock_ns();
    const auto ask = sell(provider_, kTokens, 500, 10);
    ASSERT_TRUE(ask.ok()) << ask.status.error_message();
    const auto bid = buy(buyer_, kTokens, 500, 4);
    ASSERT_TRUE(bid.ok()) << bid.status.error_message();
    ASSERT_EQ(bid.response.fills_size(), 1);
    const std::uint64_t id = bid.response.fills(0).trade_id();

    for (const Party* who : {&buyer_, &provider_, &operator_}) {
        const auto listed = list_obligations(*who);
        ASSERT_TRUE(listed.ok()) << listed.status.error_message();
        ASSERT_EQ(listed.response.obligations_size(), 1) << who->id;
        const cpx::v1::Obligation& o = listed.response.obligations(0);
        EXPECT_EQ(o.obligation_id(), id);
        EXPECT_EQ(o.instrument_id(), kTokens);
        EXPECT_EQ(o.state(), cpx::v1::OBLIGATION_STATE_OPEN);
        EXPECT_EQ(o.buyer_account_id(), buyer_.id);
        EXPECT_EQ(o.provider_account_id(), provider_.id);
        EXPECT_EQ(o.buy_order_id(), bid.response.order_id());
        EXPECT_EQ(o.sell_order_id(), ask.response.order_id());
        EXPECT_EQ(o.price_fen(), 500);
        EXPECT_EQ(o.quantity(), 4);
        EXPECT_EQ(o.delivered_quantity(), 0);
        EXPECT_EQ(o.amount_fen(), 2'000);
        EXPECT_GE(o.traded_ns(), before);
        EXPECT_EQ(o.window_end_ns(), kWindowEnd);
        EXPECT_EQ(o.delivered_ns(), 0);
        EXPECT_EQ(o.due_ns(), kWindowEnd + kDisputePeriodNs);
        EXPECT_GT(o.created_seq(), 0u);
    }
    // The money waits in the buyer's escrow, and the provider's sale is unsettled.
    const auto buyer_money = balances(buyer_);
    ASSERT_TRUE(buyer_money.ok());
    EXPECT_EQ(buyer_money.response.unsettled_fen(), 2'000);
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit - 2'000);
    const auto provider_money = balances(provider_);
    ASSERT_TRUE(provider_money.ok());
    EXPECT_EQ(provider_money.response.unsettled_fen(), 2'000);
    EXPECT_EQ(provider_money.response.balance_fen(), 0);
}

TEST_F(GatewaySettlement, EachAccountSeesItsOwnObligationsOnly) {
    const Party other_buyer = create_account(cpx::v1::ROLE_BUYER, "other-buyer");
    const Party other_provider = create_account(cpx::v1::ROLE_PROVIDER, "other-provider");
    const Party regulator = create_account(cpx::v1::ROLE_REGULATOR, "regulator");
    ASSERT_TRUE(deposit(other_buyer, 1'000'000).ok());
    ASSERT_TRUE(register_tokens(other_provider, 100).ok());
    const std::uint64_t mine = trade(kTokens, 500, 4);
    const std::uint64_t theirs = trade(kTokens, 600, 2, other_provider, other_buyer);
    ASSERT_NE(mine, 0u);
    ASSERT_NE(theirs, 0u);

    const auto ids = [](const Answer<cpx::v1::ListObligationsResponse>& answer) {
        std::vector<std::uint64_t> out;
        for (const cpx::v1::Obligation& o : answer.response.obligations()) {
            out.push_back(o.obligation_id());
        }
        return out;
    };
    using Ids = std::vector<std::uint64_t>;
    EXPECT_EQ(ids(list_obligations(buyer_)), Ids{mine});
    EXPECT_EQ(ids(list_obligations(buyer_, buyer_.id)), Ids{mine});
    EXPECT_EQ(ids(list_obligations(provider_)), Ids{mine});
    EXPECT_EQ(ids(list_obligations(other_buyer)), Ids{theirs});
    EXPECT_EQ(ids(list_obligations(other_provider)), Ids{theirs});
    // Operators and regulators see every account's, or the one they name.
    EXPECT_EQ(ids(list_obligations(operator_)), (Ids{mine, theirs}));
    EXPECT_EQ(ids(list_obligations(regulator)), (Ids{mine, theirs}));
    EXPECT_EQ(ids(list_obligations(operator_, other_provider.id)), Ids{theirs});
    EXPECT_EQ(ids(list_obligations(regulator, buyer_.id)), Ids{mine});
    // Naming another account is refused to buyers and providers, trading partner or not.
    EXPECT_TRUE(refused(list_obligations(buyer_, provider_.id), grpc::StatusCode::PERMISSION_DENIED,
                        "NOT_OWN_ACCOUNT"));
    EXPECT_TRUE(refused(list_obligations(provider_, other_buyer.id),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_ACCOUNT"));
    EXPECT_TRUE(
        refused(list_obligations(operator_, 999), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCOUNT"));
}

TEST_F(GatewaySettlement, ListingFiltersByState) {
    const std::uint64_t open = trade(kTokens, 500, 4);
    const std::uint64_t delivered = trade(kTokens, 500, 2);
    const std::uint64_t disputed = trade(kTokens, 500, 6);
    ASSERT_TRUE(confirm_delivery(provider_, delivered, 2).ok());
    ASSERT_TRUE(dispute_delivery(buyer_, disputed, "never started").ok());
    const auto only = [&](cpx::v1::ObligationState state) {
        const auto listed = list_obligations(operator_, 0, state);
        EXPECT_TRUE(listed.ok()) << listed.status.error_message();
        std::vector<std::uint64_t> out;
        for (const cpx::v1::Obligation& o : listed.response.obligations()) {
            EXPECT_EQ(o.state(), state);
            out.push_back(o.obligation_id());
        }
        return out;
    };
    using Ids = std::vector<std::uint64_t>;
    EXPECT_EQ(only(cpx::v1::OBLIGATION_STATE_OPEN), Ids{open});
    EXPECT_EQ(only(cpx::v1::OBLIGATION_STATE_DELIVERED), Ids{delivered});
    EXPECT_EQ(only(cpx::v1::OBLIGATION_STATE_DISPUTED), Ids{disputed});
    EXPECT_EQ(list_obligations(operator_).response.obligations_size(), 3);
    // Final obligations are not kept by the exchange (PostgreSQL has them).
    EXPECT_TRUE(refused(list_obligations(operator_, 0, cpx::v1::OBLIGATION_STATE_SETTLED),
                        grpc::StatusCode::FAILED_PRECONDITION, "OBLIGATION_NOT_OPEN"));
    EXPECT_TRUE(refused(list_obligations(operator_, 0, static_cast<cpx::v1::ObligationState>(6)),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_STATE_FILTER"));
    EXPECT_TRUE(refused(list_obligations(buyer_, 0, static_cast<cpx::v1::ObligationState>(-1)),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_STATE_FILTER"));
}

// --- Confirmation ---------------------------------------------------------------------

TEST_F(GatewaySettlement, TheProviderConfirmsWhatItDelivered) {
    const std::uint64_t id = trade(kTokens, 500, 4);
    ASSERT_NE(id, 0u);
    const Party other_provider = create_account(cpx::v1::ROLE_PROVIDER, "other-provider");

    // Another provider's obligation is unknown to it, and a buyer does not confirm.
    EXPECT_TRUE(refused(confirm_delivery(other_provider, id, 4), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_OBLIGATION"));
    EXPECT_TRUE(refused(confirm_delivery(buyer_, id, 4), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(confirm_delivery(operator_, id, 4), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    // The delivered quantity is 1 to the obligation's quantity.
    for (const std::int64_t bad : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{5},
                                   std::numeric_limits<std::int64_t>::max()}) {
        EXPECT_TRUE(refused(confirm_delivery(provider_, id, bad),
                            grpc::StatusCode::INVALID_ARGUMENT, "INVALID_DELIVERY"))
            << bad;
    }
    EXPECT_TRUE(refused(confirm_delivery(provider_, 0, 4), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_OBLIGATION_ID"));
    EXPECT_TRUE(refused(confirm_delivery(provider_, id + 1'000, 4), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_OBLIGATION"));
    EXPECT_EQ(obligation(id).state(), cpx::v1::OBLIGATION_STATE_OPEN);

    const std::int64_t before = wall_clock_ns();
    const auto confirmed = confirm_delivery(provider_, id, 3);
    ASSERT_TRUE(confirmed.ok()) << confirmed.status.error_message();
    const cpx::v1::Obligation& o = confirmed.response;
    EXPECT_EQ(o.obligation_id(), id);
    EXPECT_EQ(o.state(), cpx::v1::OBLIGATION_STATE_DELIVERED);
    EXPECT_EQ(o.delivered_quantity(), 3);
    EXPECT_GE(o.delivered_ns(), before);
    // The window ends after the confirmation: the dispute period follows the window.
    EXPECT_EQ(o.due_ns(), kWindowEnd + kDisputePeriodNs);
    EXPECT_EQ(obligation(id).state(), cpx::v1::OBLIGATION_STATE_DELIVERED);
    // Once.
    EXPECT_TRUE(refused(confirm_delivery(provider_, id, 4), grpc::StatusCode::FAILED_PRECONDITION,
                        "OBLIGATION_NOT_OPEN"));
    // Nothing moved yet.
    const auto provider_money = balances(provider_);
    ASSERT_TRUE(provider_money.ok());
    EXPECT_EQ(provider_money.response.balance_fen(), 0);
    EXPECT_EQ(provider_money.response.unsettled_fen(), 2'000);
}

// --- Disputes -------------------------------------------------------------------------

TEST_F(GatewaySettlement, TheBuyerDisputesWithANote) {
    const std::uint64_t id = trade(kTokens, 500, 4);
    ASSERT_NE(id, 0u);
    const Party other_buyer = create_account(cpx::v1::ROLE_BUYER, "other-buyer");
    EXPECT_TRUE(refused(dispute_delivery(other_buyer, id, "not mine"), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_OBLIGATION"));
    EXPECT_TRUE(refused(dispute_delivery(provider_, id, "self"),
                        grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    // A note is at most 256 printable ASCII characters.
    EXPECT_TRUE(refused(dispute_delivery(buyer_, id, std::string(257, 'x')),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_NOTE"));
    EXPECT_TRUE(refused(dispute_delivery(buyer_, id, "two\nlines"),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_NOTE"));
    EXPECT_TRUE(refused(dispute_delivery(buyer_, id, "\xE5\x8D\x8A"),  // UTF-8, not ASCII
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_NOTE"));
    EXPECT_TRUE(refused(dispute_delivery(buyer_, 0, "late"), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_OBLIGATION_ID"));
    EXPECT_EQ(obligation(id).state(), cpx::v1::OBLIGATION_STATE_OPEN);

    const auto disputed = dispute_delivery(buyer_, id, std::string(256, '~'));
    ASSERT_TRUE(disputed.ok()) << disputed.status.error_message();
    EXPECT_EQ(disputed.response.obligation_id(), id);
    EXPECT_EQ(disputed.response.state(), cpx::v1::OBLIGATION_STATE_DISPUTED);
    EXPECT_EQ(obligation(id).state(), cpx::v1::OBLIGATION_STATE_DISPUTED);
    // Once; and a disputed obligation cannot be confirmed.
    EXPECT_TRUE(refused(dispute_delivery(buyer_, id), grpc::StatusCode::FAILED_PRECONDITION,
                        "OBLIGATION_NOT_OPEN"));
    EXPECT_TRUE(refused(confirm_delivery(provider_, id, 4), grpc::StatusCode::FAILED_PRECONDITION,
                        "OBLIGATION_NOT_OPEN"));
    // An empty note is a note.
    const std::uint64_t second = trade(kTokens, 500, 2);
    EXPECT_TRUE(dispute_delivery(buyer_, second).ok());
}

TEST_F(GatewaySettlement, AnUpheldDisputeRefundsTheBuyerWithAPenalty) {
    ASSERT_TRUE(credit_collateral(provider_, kCollateral).ok());
    const std::uint64_t id = trade(kTokens, 500, 4);  // 2 000 fen in escrow
    ASSERT_NE(id, 0u);
    ASSERT_TRUE(confirm_delivery(provider_, id, 4).ok());
    ASSERT_TRUE(dispute_delivery(buyer_, id, "nothing ran").ok());

    // Only an operator resolves, and only with an explicit decision and a valid note.
    EXPECT_TRUE(refused(resolve_dispute_as(buyer_, id, cpx::v1::DISPUTE_DECISION_UPHOLD),
                        grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(resolve_dispute_as(provider_, id, cpx::v1::DISPUTE_DECISION_REJECT),
                        grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(resolve_dispute_as(operator_, id, cpx::v1::DISPUTE_DECISION_UNSPECIFIED),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_DECISION"));
    EXPECT_TRUE(refused(resolve_dispute_as(operator_, id, static_cast<cpx::v1::DisputeDecision>(3)),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_DECISION"));
    EXPECT_TRUE(refused(
        resolve_dispute_as(operator_, id, cpx::v1::DISPUTE_DECISION_UPHOLD, std::string(300, 'n')),
        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_NOTE"));
    EXPECT_TRUE(refused(resolve_dispute_as(operator_, 0, cpx::v1::DISPUTE_DECISION_UPHOLD),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_OBLIGATION_ID"));
    EXPECT_TRUE(refused(resolve_dispute_as(operator_, id + 1'000, cpx::v1::DISPUTE_DECISION_UPHOLD),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_OBLIGATION"));
    EXPECT_EQ(obligation(id).state(), cpx::v1::OBLIGATION_STATE_DISPUTED);

    const auto resolved =
        resolve_dispute_as(operator_, id, cpx::v1::DISPUTE_DECISION_UPHOLD, "metering agrees");
    ASSERT_TRUE(resolved.ok()) << resolved.status.error_message();
    EXPECT_EQ(resolved.response.obligation().obligation_id(), id);
    EXPECT_EQ(resolved.response.obligation().state(), cpx::v1::OBLIGATION_STATE_FAILED);
    EXPECT_EQ(resolved.response.paid_fen(), 0);
    EXPECT_EQ(resolved.response.fee_fen(), 0);
    EXPECT_EQ(resolved.response.refunded_fen(), 2'000);
    EXPECT_EQ(resolved.response.penalty_fen(), penalty_of(2'000));

    // Final: gone from the listing, unknown to a second resolution.
    EXPECT_EQ(obligation(id).obligation_id(), 0u);
    EXPECT_TRUE(refused(resolve_dispute_as(operator_, id, cpx::v1::DISPUTE_DECISION_REJECT),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_OBLIGATION"));

    const auto buyer_money = balances(buyer_);
    ASSERT_TRUE(buyer_money.ok());
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit + penalty_of(2'000));
    EXPECT_EQ(buyer_money.response.unsettled_fen(), 0);
    const auto provider_money = balances(provider_);
    ASSERT_TRUE(provider_money.ok());
    EXPECT_EQ(provider_money.response.balance_fen(), 0);
    EXPECT_EQ(provider_money.response.unsettled_fen(), 0);
    EXPECT_EQ(provider_money.response.collateral_fen(), kCollateral - penalty_of(2'000));
}

TEST_F(GatewaySettlement, ARejectedDisputeSettlesWhatWasDelivered) {
    ASSERT_TRUE(credit_collateral(provider_, kCollateral).ok());
    const std::uint64_t id = trade(kTokens, 500, 4);  // 2 000 fen in escrow
    ASSERT_NE(id, 0u);
    // Only a disputed obligation is resolved.
    EXPECT_TRUE(refused(resolve_dispute_as(operator_, id, cpx::v1::DISPUTE_DECISION_REJECT),
                        grpc::StatusCode::FAILED_PRECONDITION, "OBLIGATION_NOT_OPEN"));
    ASSERT_TRUE(confirm_delivery(provider_, id, 3).ok());  // 1 500 fen delivered
    ASSERT_TRUE(dispute_delivery(buyer_, id, "one unit short, and slow").ok());

    const auto resolved =
        resolve_dispute_as(operator_, id, cpx::v1::DISPUTE_DECISION_REJECT, "slow is not short");
    ASSERT_TRUE(resolved.ok()) << resolved.status.error_message();
    const cpx::v1::Obligation& o = resolved.response.obligation();
    EXPECT_EQ(o.obligation_id(), id);
    EXPECT_EQ(o.state(), cpx::v1::OBLIGATION_STATE_SETTLED);
    EXPECT_EQ(o.delivered_quantity(), 3);
    // The delivered part pays the provider less the fee; the undelivered unit goes back
    // to the buyer with its penalty.
    EXPECT_EQ(resolved.response.fee_fen(), fee_of(1'500));
    EXPECT_EQ(resolved.response.paid_fen(), 1'500 - fee_of(1'500));
    EXPECT_EQ(resolved.response.refunded_fen(), 500);
    EXPECT_EQ(resolved.response.penalty_fen(), penalty_of(500));

    const auto provider_money = balances(provider_);
    ASSERT_TRUE(provider_money.ok());
    EXPECT_EQ(provider_money.response.balance_fen(), 1'500 - fee_of(1'500));
    EXPECT_EQ(provider_money.response.available_fen(), 1'500 - fee_of(1'500));
    EXPECT_EQ(provider_money.response.unsettled_fen(), 0);
    EXPECT_EQ(provider_money.response.collateral_fen(), kCollateral - penalty_of(500));
    const auto buyer_money = balances(buyer_);
    ASSERT_TRUE(buyer_money.ok());
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit - 1'500 + penalty_of(500));
    EXPECT_EQ(buyer_money.response.unsettled_fen(), 0);
    EXPECT_TRUE(list_obligations(operator_).response.obligations().empty());
}

// --- Settlement runs ------------------------------------------------------------------

TEST_F(GatewaySettlement, ASettlementRunAfterTheDisputePeriodPaysAndFails) {
    ASSERT_TRUE(credit_collateral(provider_, kCollateral).ok());
    const std::uint64_t delivered = trade(kPast, 500, 4);  // 2 000 fen, confirmed in full
    const std::uint64_t never = trade(kPast, 500, 2);      // 1 000 fen, never confirmed
    const std::uint64_t late = trade(kPast, 500, 6);       // 3 000 fen, confirmed too late
    const std::uint64_t future = trade(kTokens, 500, 1);   // its window ends in 2030
    ASSERT_TRUE(delivered != 0 && never != 0 && late != 0 && future != 0);
    const auto confirmed = confirm_delivery(provider_, delivered, 4);
    ASSERT_TRUE(confirmed.ok()) << confirmed.status.error_message();
    // The window is over: the buyer has a dispute period from the confirmation.
    EXPECT_EQ(confirmed.response.due_ns(), confirmed.response.delivered_ns() + kDisputePeriodNs);
    EXPECT_EQ(obligation(never).due_ns(), obligation(never).traded_ns() + kDisputePeriodNs);

    // Nothing is due yet.
    const auto early = run_settlement_as(operator_);
    ASSERT_TRUE(early.ok()) << early.status.error_message();
    EXPECT_EQ(early.response.settled(), 0u);
    EXPECT_EQ(early.response.failed(), 0u);
    EXPECT_FALSE(early.response.more_due());
    EXPECT_EQ(list_obligations(operator_).response.obligations_size(), 4);

    wait_past(std::max(
        {confirmed.response.due_ns(), obligation(never).due_ns(), obligation(late).due_ns()}));
    // Past its due time an obligation can be neither confirmed nor disputed.
    EXPECT_TRUE(refused(confirm_delivery(provider_, late, 6), grpc::StatusCode::FAILED_PRECONDITION,
                        "DISPUTE_PERIOD_OVER"));
    EXPECT_TRUE(refused(dispute_delivery(buyer_, delivered, "too late"),
                        grpc::StatusCode::FAILED_PRECONDITION, "DISPUTE_PERIOD_OVER"));
    // Buyers and providers do not run settlement.
    EXPECT_TRUE(refused(run_settlement_as(buyer_), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(run_settlement_as(provider_), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));

    // Two at a time: the confirmed one settles, the first unconfirmed one fails.
    const auto first = run_settlement_as(operator_, 2);
    ASSERT_TRUE(first.ok()) << first.status.error_message();
    EXPECT_EQ(first.response.settled(), 1u);
    EXPECT_EQ(first.response.failed(), 1u);
    EXPECT_TRUE(first.response.more_due());
    EXPECT_EQ(first.response.fee_fen(), fee_of(2'000));
    EXPECT_EQ(first.response.paid_fen(), 2'000 - fee_of(2'000));
    EXPECT_EQ(first.response.refunded_fen(), 1'000);
    EXPECT_EQ(first.response.penalty_fen(), penalty_of(1'000));

    const auto second = run_settlement_as(operator_);
    ASSERT_TRUE(second.ok()) << second.status.error_message();
    EXPECT_EQ(second.response.settled(), 0u);
    EXPECT_EQ(second.response.failed(), 1u);
    EXPECT_FALSE(second.response.more_due());
    EXPECT_EQ(second.response.paid_fen(), 0);
    EXPECT_EQ(second.response.refunded_fen(), 3'000);
    EXPECT_EQ(second.response.penalty_fen(), penalty_of(3'000));

    // Running it again settles nothing twice.
    const auto again = run_settlement_as(operator_);
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_EQ(again.response.settled(), 0u);
    EXPECT_EQ(again.response.failed(), 0u);
    EXPECT_EQ(again.response.paid_fen(), 0);
    EXPECT_EQ(again.response.fee_fen(), 0);
    EXPECT_EQ(again.response.refunded_fen(), 0);
    EXPECT_EQ(again.response.penalty_fen(), 0);
    EXPECT_FALSE(again.response.more_due());

    // Only the 2030 obligation is left.
    const auto left = list_obligations(operator_);
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left.response.obligations_size(), 1);
    EXPECT_EQ(left.response.obligations(0).obligation_id(), future);

    // The provider was paid for what it delivered, less the fee; its escrowed sales are
    // settled but for the 2030 one; penalties came out of its collateral.
    const std::int64_t penalties = penalty_of(1'000) + penalty_of(3'000);
    const auto provider_money = balances(provider_);
    ASSERT_TRUE(provider_money.ok());
    EXPECT_EQ(provider_money.response.balance_fen(), 2'000 - fee_of(2'000));
    EXPECT_EQ(provider_money.response.unsettled_fen(), 500);
    EXPECT_EQ(provider_money.response.collateral_fen(), kCollateral - penalties);
    // The buyer paid for what was delivered; its escrow holds the 2030 trade only.
    const auto buyer_money = balances(buyer_);
    ASSERT_TRUE(buyer_money.ok());
    EXPECT_EQ(buyer_money.response.unsettled_fen(), 500);
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit - 2'000 - 500 + penalties);
}

TEST_F(GatewaySettlement, APenaltyIsCappedByTheProvidersCollateral) {
    ASSERT_TRUE(credit_collateral(provider_, 50).ok());
    const std::uint64_t never = trade(kPast, 500, 4);  // 2 000 fen: a penalty of 400
    ASSERT_NE(never, 0u);
    wait_past(obligation(never).due_ns());
    const auto run = run_settlement_as(operator_);
    ASSERT_TRUE(run.ok()) << run.status.error_message();
    EXPECT_EQ(run.response.failed(), 1u);
    EXPECT_EQ(run.response.refunded_fen(), 2'000);
    EXPECT_EQ(run.response.penalty_fen(), 50);
    const auto provider_money = balances(provider_);
    ASSERT_TRUE(provider_money.ok());
    EXPECT_EQ(provider_money.response.collateral_fen(), 0);
    const auto buyer_money = balances(buyer_);
    ASSERT_TRUE(buyer_money.ok());
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit + 50);
    EXPECT_EQ(buyer_money.response.unsettled_fen(), 0);
}

// --- Collateral -----------------------------------------------------------------------

TEST_F(GatewaySettlement, CollateralIsCreditedOnceToAProvider) {
    const auto credited = credit_collateral_as(operator_, provider_.id, 10'000, "col-1");
    ASSERT_TRUE(credited.ok()) << credited.status.error_message();
    EXPECT_EQ(credited.response.account_id(), provider_.id);
    EXPECT_EQ(credited.response.collateral_fen(), 10'000);
    EXPECT_EQ(credited.response.balance_fen(), 0);  // collateral is not buying power
    EXPECT_FALSE(credited.response.duplicate());
    const auto again = credit_collateral_as(operator_, provider_.id, 10'000, "col-1");
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_TRUE(again.response.duplicate());
    EXPECT_EQ(again.response.collateral_fen(), 10'000);
    EXPECT_TRUE(refused(credit_collateral_as(operator_, provider_.id, 20'000, "col-1"),
                        grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_DEPOSIT_ID"));
    // Deposit ids are shared with deposits: the same id as a deposit is another credit.
    EXPECT_TRUE(refused(deposit_as(operator_, provider_.id, 10'000, "col-1"),
                        grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_DEPOSIT_ID"));
    EXPECT_TRUE(refused(credit_collateral_as(operator_, provider_.id, 0, "col-2"),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_AMOUNT"));
    EXPECT_TRUE(refused(credit_collateral_as(operator_, 999, 100, "col-3"),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCOUNT"));
    // Only providers hold collateral.
    EXPECT_TRUE(refused(credit_collateral_as(operator_, buyer_.id, 100, "col-4"),
                        grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));

    const auto money = balances(provider_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.collateral_fen(), 10'000);
    EXPECT_EQ(money.response.balance_fen(), 0);
    EXPECT_EQ(balances(buyer_).response.collateral_fen(), 0);
}

// --- Configuration ----------------------------------------------------------------------

TEST(GatewaySettlementConfig, SettlementKeysSetTheExchangesRulesAndRefuseNonsense) {
    const char* none[] = {"cpxd"};
    const ServerConfig defaults = load_config(1, none);
    EXPECT_EQ(defaults.pipeline.exchange.settlement.fee_bps, exchange::SettlementRules{}.fee_bps);
    const char* argv[] = {"cpxd", "--settlement_fee_bps=25", "--settlement_penalty_bps", "10000",
                          "--dispute-period-ns=0"};
    const ServerConfig c = load_config(5, argv);
    EXPECT_EQ(c.pipeline.exchange.settlement.fee_bps, 25u);
    EXPECT_EQ(c.pipeline.exchange.settlement.penalty_bps, 10'000u);
    EXPECT_EQ(c.pipeline.exchange.settlement.dispute_period_ns, 0);
    for (const char* bad : {"--settlement_fee_bps=10001", "--settlement_penalty_bps=-1",
                            "--dispute_period_ns=-5", "--dispute_period_ns=1h"}) {
        const char* args[] = {"cpxd", bad};
        EXPECT_THROW(load_config(2, args), std::invalid_argument) << bad;
    }
    EXPECT_NE(config_help().find("dispute_period_ns"), std::string::npos);
}

}  // namespace
}  // namespace cpx::gateway::test
