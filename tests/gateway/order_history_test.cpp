// The regulator's view of an order's life through the API (Audit.OrderHistory), over
// real gRPC on loopback, against a server with a database of its own: every report the
// exchange sent, with the command's receipt by the gateway, its sequencing (a trade's
// match) and its acknowledgement; who may read whose history; pages and time ranges;
// and the refusal of every bad input with its status and reason.

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/store/database.hpp"
#include "record_fixture.hpp"
#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

// The projector polls the journal every few milliseconds; reports reach the record well
// within this on a loaded machine.
constexpr std::chrono::milliseconds kProjectionTimeout{30'000};

std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class GatewayOrderHistory : public GatewayWithRecord {
  protected:
    void SetUp() override {
        GatewayWithRecord::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        second_buyer_ = funded_buyer("second-buyer");
    }

    Answer<cpx::v1::OrderHistoryResponse> history(const Party& who,
                                                  const cpx::v1::OrderHistoryRequest& r) {
        return call<cpx::v1::OrderHistoryResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::OrderHistoryResponse& out) {
                return audit_->OrderHistory(&c, r, &out);
            });
    }
    Answer<cpx::v1::OrderHistoryResponse> order_history(const Party& who, std::uint64_t order) {
        cpx::v1::OrderHistoryRequest r;
        r.set_order_id(order);
        return history(who, r);
    }

    // Asks until the order's history has `count` reports, each acknowledged: the
    // projector writes reports shortly after their commit, and the journal's writer
    // records a commit's time with the next one or when the journal goes quiet.
    std::vector<cpx::v1::OrderEvent> wait_for_life(std::uint64_t order, std::size_t count) {
        const auto deadline = std::chrono::steady_clock::now() + kProjectionTimeout;
        for (;;) {
            const auto answer = order_history(regulator_, order);
            if (answer.ok() && static_cast<std::size_t>(answer.response.events_size()) >= count) {
                bool acknowledged = true;
                for (const cpx::v1::OrderEvent& e : answer.response.events()) {
                    acknowledged = acknowledged && e.acknowledged_ns() != 0;
                }
                if (acknowledged) {
                    return {answer.response.events().begin(), answer.response.events().end()};
                }
            }
            if (std::chrono::steady_clock::now() > deadline) {
                ADD_FAILURE() << "order " << order << " never showed " << count
                              << " acknowledged reports: " << answer.status.error_message();
                return {answer.response.events().begin(), answer.response.events().end()};
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    Party second_buyer_;
};

TEST_F(GatewayOrderHistory, ARegulatorReadsAnOrdersLifeWithItsReceiptSequencingAndAck) {
    const std::int64_t before_ns = wall_ns();
    const auto ask = sell(provider_, kTokens, 1'000, 10);
    ASSERT_TRUE(ask.ok()) << ask.status.error_message();
    const std::uint64_t order = ask.response.order_id();
    const auto first = buy(buyer_, kTokens, 1'000, 4);
    ASSERT_TRUE(first.ok()) << first.status.error_message();
    ASSERT_EQ(first.response.fills_size(), 1);
    // The second buyer trades over a stream, whose commands the gateway stamps too.
    TradeSession session(*orders_, second_buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    cpx::v1::OrderCommand command;
    *command.mutable_new_order() = limit("stream-1", kTokens, cpx::v1::SIDE_BUY, 1'000, 3);
    ASSERT_TRUE(session.send_batch({command}));
    const std::vector<cpx::v1::ExecutionReport> streamed = session.wait_reports(1);
    ASSERT_EQ(streamed.size(), 1u);
    ASSERT_EQ(streamed[0].fills_size(), 1);
    const auto cancelled = cancel(provider_, cancel_of(next_id("x"), order));
    ASSERT_TRUE(cancelled.ok()) << cancelled.status.error_message();

    const std::vector<cpx::v1::OrderEvent> life = wait_for_life(order, 4);
    const std::int64_t after_ns = wall_ns();
    ASSERT_EQ(life.size(), 4u);
    const cpx::v1::ExecType execs[] = {cpx::v1::EXEC_TYPE_NEW, cpx::v1::EXEC_TYPE_TRADE,
                                       cpx::v1::EXEC_TYPE_TRADE, cpx::v1::EXEC_TYPE_CANCELLED};
    const std::int64_t leaves[] = {10, 6, 3, 0};
    for (std::size_t i = 0; i < life.size(); ++i) {
        const cpx::v1::OrderEvent& e = life[i];
        EXPECT_EQ(e.exec_type(), execs[i]) << i;
        EXPECT_EQ(e.leaves_quantity(), leaves[i]) << i;
        EXPECT_EQ(e.order_id(), order);
        EXPECT_EQ(e.account_id(), provider_.id);
        EXPECT_EQ(e.side(), cpx::v1::SIDE_SELL);
        EXPECT_EQ(e.price_fen(), 1'000);
        // Received by the gateway, then sequenced, then acknowledged, all within the
        // test's own clock readings.
        EXPECT_GE(e.received_ns(), before_ns) << i;
        EXPECT_LE(e.received_ns(), e.sequenced_ns()) << i;
        EXPECT_LE(e.sequenced_ns(), e.acknowledged_ns()) << i;
        EXPECT_LE(e.acknowledged_ns(), after_ns) << i;
        if (i > 0) {
            EXPECT_GT(e.seq(), life[i - 1].seq());
        }
    }
    // The answers the client got are the ones on record.
    EXPECT_EQ(life[0].session_seq(), ask.response.session_seq());
    EXPECT_EQ(life[0].client_order_id(), ask.response.client_order_id());
    EXPECT_EQ(life[3].session_seq(), cancelled.response.session_seq());
    EXPECT_EQ(life[3].reason(), cancelled.response.reason());
    // The maker's trades are the takers' fills, matched when the takers' commands were
    // sequenced: each trade report shares its request with the taker's answer.
    ASSERT_EQ(life[1].trade_ids_size(), 1);
    ASSERT_EQ(life[2].trade_ids_size(), 1);
    EXPECT_EQ(life[1].trade_ids(0), first.response.fills(0).trade_id());
    EXPECT_EQ(life[2].trade_ids(0), streamed[0].fills(0).trade_id());
    EXPECT_EQ(life[1].sequenced_ns(), first.response.fills(0).ts_ns());
    EXPECT_EQ(life[2].sequenced_ns(), streamed[0].fills(0).ts_ns());
    const std::vector<cpx::v1::OrderEvent> taker = wait_for_life(streamed[0].order_id(), 1);
    ASSERT_EQ(taker.size(), 1u);
    EXPECT_EQ(taker[0].seq(), life[2].seq());
    EXPECT_EQ(taker[0].received_ns(), life[2].received_ns());
    EXPECT_EQ(taker[0].exec_type(), cpx::v1::EXEC_TYPE_NEW);
    EXPECT_EQ(taker[0].status(), cpx::v1::ORDER_STATUS_FILLED);
    EXPECT_EQ(taker[0].client_order_id(), "stream-1");
}

TEST_F(GatewayOrderHistory, AnAccountReadsItsOwnOrdersAndNoOneElses) {
    const auto ask = sell(provider_, kTokens, 1'000, 5);
    ASSERT_TRUE(ask.ok());
    const auto bid = buy(buyer_, kTokens, 990, 5);
    ASSERT_TRUE(bid.ok());
    wait_for_life(bid.response.order_id(), 1);
    wait_for_life(ask.response.order_id(), 1);

    const auto own = order_history(buyer_, bid.response.order_id());
    ASSERT_TRUE(own.ok()) << own.status.error_message();
    ASSERT_EQ(own.response.events_size(), 1);
    EXPECT_EQ(own.response.events(0).account_id(), buyer_.id);
    // Another account's order is answered like one that does not exist.
    EXPECT_TRUE(refused(order_history(buyer_, ask.response.order_id()), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ORDER"));
    EXPECT_TRUE(
        refused(order_history(buyer_, 999'999), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ORDER"));
    cpx::v1::OrderHistoryRequest others;
    others.set_account_id(provider_.id);
    EXPECT_TRUE(
        refused(history(buyer_, others), grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_ACCOUNT"));
    // Without an account, the caller's own reports.
    const auto mine = history(buyer_, cpx::v1::OrderHistoryRequest{});
    ASSERT_TRUE(mine.ok()) << mine.status.error_message();
    ASSERT_GE(mine.response.events_size(), 1);
    for (const cpx::v1::OrderEvent& e : mine.response.events()) {
        EXPECT_EQ(e.account_id(), buyer_.id);
    }
    // The operator and the regulator read anyone's.
    for (const Party* reader : {&operator_, &regulator_}) {
        const auto theirs = history(*reader, others);
        ASSERT_TRUE(theirs.ok()) << theirs.status.error_message();
        ASSERT_GE(theirs.response.events_size(), 1);
        EXPECT_EQ(theirs.response.events(0).order_id(), ask.response.order_id());
        EXPECT_TRUE(order_history(*reader, bid.response.order_id()).ok());
    }
}

// A cancel may name any order id, even one not made yet; its refusal is the canceller's
// report, and it opens no window on the order that later gets that id.
TEST_F(GatewayOrderHistory, ACancelOfAnotherAccountsOrderIdShowsTheCancellerNothingOfIt) {
    const auto first = sell(provider_, kTokens, 1'000, 5);
    ASSERT_TRUE(first.ok());
    const std::uint64_t coming = first.response.order_id() + 1;
    const auto early = cancel(second_buyer_, cancel_of(next_id("x"), coming));
    EXPECT_FALSE(early.ok());
    const auto bid = buy(buyer_, kTokens, 990, 2);
    ASSERT_TRUE(bid.ok());
    ASSERT_EQ(bid.response.order_id(), coming);
    wait_for_life(coming, 2);

    const auto own = order_history(buyer_, coming);
    ASSERT_TRUE(own.ok()) << own.status.error_message();
    ASSERT_EQ(own.response.events_size(), 1);
    EXPECT_EQ(own.response.events(0).account_id(), buyer_.id);
    EXPECT_EQ(own.response.events(0).exec_type(), cpx::v1::EXEC_TYPE_NEW);
    const auto canceller = order_history(second_buyer_, coming);
    ASSERT_TRUE(canceller.ok()) << canceller.status.error_message();
    ASSERT_EQ(canceller.response.events_size(), 1);
    EXPECT_EQ(canceller.response.events(0).account_id(), second_buyer_.id);
    EXPECT_EQ(canceller.response.events(0).exec_type(), cpx::v1::EXEC_TYPE_REJECTED);
    // The regulator sees both, in the order they happened.
    const auto both = order_history(regulator_, coming);
    ASSERT_TRUE(both.ok());
    ASSERT_EQ(both.response.events_size(), 2);
    EXPECT_EQ(both.response.events(0).account_id(), second_buyer_.id);
    EXPECT_EQ(both.response.events(1).account_id(), buyer_.id);
}

// A maker's fill is caused by the taker's command: when the taker's command reached the
// gateway is the regulator's to see, not the maker's.
TEST_F(GatewayOrderHistory, AMakerDoesNotSeeWhenTheTakersCommandArrived) {
    const auto ask = sell(provider_, kTokens, 1'000, 5);
    ASSERT_TRUE(ask.ok());
    ASSERT_TRUE(buy(buyer_, kTokens, 1'000, 2).ok());
    const std::vector<cpx::v1::OrderEvent> seen = wait_for_life(ask.response.order_id(), 2);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_NE(seen[1].received_ns(), 0);  // the regulator's view
    const auto maker = order_history(provider_, ask.response.order_id());
    ASSERT_TRUE(maker.ok());
    ASSERT_EQ(maker.response.events_size(), 2);
    EXPECT_EQ(maker.response.events(0).received_ns(), seen[0].received_ns());  // its own
    EXPECT_EQ(maker.response.events(1).exec_type(), cpx::v1::EXEC_TYPE_TRADE);
    EXPECT_EQ(maker.response.events(1).received_ns(), 0);
    EXPECT_EQ(maker.response.events(1).sequenced_ns(), seen[1].sequenced_ns());
}

TEST_F(GatewayOrderHistory, PagesAndTimeRangesShowEachReportOnce) {
    std::vector<std::uint64_t> orders;
    for (int i = 0; i < 25; ++i) {
        const auto bid = buy(buyer_, kTokens, 900 + i, 1);
        ASSERT_TRUE(bid.ok()) << bid.status.error_message();
        orders.push_back(bid.response.order_id());
    }
    wait_for_life(orders.back(), 1);

    cpx::v1::OrderHistoryRequest all;
    all.set_account_id(buyer_.id);
    const auto whole = history(regulator_, all);
    ASSERT_TRUE(whole.ok()) << whole.status.error_message();
    ASSERT_EQ(whole.response.events_size(), 25);
    EXPECT_FALSE(whole.response.more());

    std::vector<std::uint64_t> paged;
    cpx::v1::OrderHistoryRequest page = all;
    page.set_limit(7);
    int pages = 0;
    for (;;) {
        const auto answer = history(regulator_, page);
        ASSERT_TRUE(answer.ok()) << answer.status.error_message();
        ++pages;
        for (const cpx::v1::OrderEvent& e : answer.response.events()) {
            paged.push_back(e.order_id());
        }
        if (!answer.response.more()) {
            break;
        }
        ASSERT_EQ(answer.response.events_size(), 7);
        const cpx::v1::OrderEvent& last = answer.response.events(6);
        page.set_after_seq(last.seq());
        page.set_after_idx(last.idx());
        ASSERT_LT(pages, 10);
    }
    EXPECT_EQ(pages, 4);
    EXPECT_EQ(paged, orders);

    // [from, to): the reports sequenced from the 10th order's time to before the 20th's.
    cpx::v1::OrderHistoryRequest range = all;
    range.set_from_ns(whole.response.events(9).sequenced_ns());
    range.set_to_ns(whole.response.events(19).sequenced_ns());
    const auto ranged = history(regulator_, range);
    ASSERT_TRUE(ranged.ok()) << ranged.status.error_message();
    std::vector<std::uint64_t> want;
    for (const cpx::v1::OrderEvent& e : whole.response.events()) {
        if (e.sequenced_ns() >= range.from_ns() && e.sequenced_ns() < range.to_ns()) {
            want.push_back(e.order_id());
        }
    }
    std::vector<std::uint64_t> got;
    for (const cpx::v1::OrderEvent& e : ranged.response.events()) {
        got.push_back(e.order_id());
    }
    EXPECT_EQ(got, want);
    EXPECT_GE(got.size(), 1u);
}

TEST_F(GatewayOrderHistory, MalformedRequestsAreInvalidArguments) {
    cpx::v1::OrderHistoryRequest r;
    r.set_order_id(1);
    r.set_account_id(2);
    EXPECT_TRUE(refused(history(regulator_, r), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_HISTORY_FILTER"));
    r = cpx::v1::OrderHistoryRequest{};
    r.set_order_id(1);
    r.set_from_ns(5);
    EXPECT_TRUE(refused(history(regulator_, r), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_HISTORY_FILTER"));
    r = cpx::v1::OrderHistoryRequest{};
    r.set_from_ns(-1);
    EXPECT_TRUE(
        refused(history(regulator_, r), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_TIME_RANGE"));
    r.set_from_ns(100);
    r.set_to_ns(100);
    EXPECT_TRUE(
        refused(history(regulator_, r), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_TIME_RANGE"));
    r = cpx::v1::OrderHistoryRequest{};
    r.set_limit(1'001);
    EXPECT_TRUE(
        refused(history(regulator_, r), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_LIMIT"));
    // Ids past PostgreSQL's bigint match nothing, and paging past them shows nothing.
    EXPECT_TRUE(refused(order_history(regulator_, ~std::uint64_t{0}), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ORDER"));
    r = cpx::v1::OrderHistoryRequest{};
    r.set_account_id(~std::uint64_t{0});
    r.set_after_seq(~std::uint64_t{0});
    r.set_after_idx(~std::uint32_t{0});
    const auto nothing = history(regulator_, r);
    ASSERT_TRUE(nothing.ok()) << nothing.status.error_message();
    EXPECT_EQ(nothing.response.events_size(), 0);
    EXPECT_FALSE(nothing.response.more());
    // No key, or an unknown one.
    EXPECT_TRUE(refused(history(Party{}, cpx::v1::OrderHistoryRequest{}),
                        grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
    EXPECT_TRUE(refused(history(Party{0, "not-a-key"}, cpx::v1::OrderHistoryRequest{}),
                        grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
}

// The worker reads as cpx_regulator, not as the user it connects as (a superuser here):
// what that role may not read, the service cannot either.
TEST_F(GatewayOrderHistory, TheAuditServiceReadsTheRecordAsTheRegulatorsRole) {
    const auto bid = buy(buyer_, kTokens, 990, 1);
    ASSERT_TRUE(bid.ok());
    wait_for_life(bid.response.order_id(), 1);
    const auto grant = [&](const std::string& sql) {
        const auto connection = store::connect(db_.url());
        pqxx::nontransaction(*connection).exec0(sql);
    };
    grant("REVOKE SELECT ON execution_reports FROM cpx_regulator");
    EXPECT_TRUE(refused(order_history(regulator_, bid.response.order_id()),
                        grpc::StatusCode::INTERNAL, "AUDIT_READ_FAILED"));
    grant("GRANT SELECT ON execution_reports TO cpx_regulator");
    EXPECT_TRUE(order_history(regulator_, bid.response.order_id()).ok());
}

}  // namespace
}  // namespace cpx::gateway::test
