// Hostile and careless clients: floods from many threads, bytes that are not protobuf,
// streams that break the protocol, enum values no client should send, and a client
// that stops reading. Each gets a clear answer, and afterwards the server still serves,
// its book is intact and every acknowledged order is where it should be.

#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "generic_calls.hpp"
#include "http_get.hpp"
#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

class GatewayHostile : public GatewayFixture {};

class GatewayHostileFlood : public GatewayFixture {
  protected:
    void configure(ServerConfig& config) override {
        config.pipeline.exchange.order_capacity = 1u << 16;
        config.pipeline.exchange.client_id_window = 1u << 18;
        // A queue this short meets a flood: the unary calls it cannot take are told so.
        config.pipeline.request_queue_capacity = 8;
    }
};

TEST_F(GatewayHostileFlood, FloodOfUnaryCallsFromManyThreadsIsAnsweredClearly) {
    constexpr int kBuyers = 4;
    constexpr int kThreadsPerBuyer = 3;
    constexpr int kCallsMax = 4'000;  // per thread, whatever the speed of the machine
    std::vector<Party> buyers;
    for (int b = 0; b < kBuyers; ++b) {
        buyers.push_back(create_account(cpx::v1::ROLE_BUYER, "flood-" + std::to_string(b)));
        ASSERT_TRUE(deposit(buyers.back(), 1'000'000'000).ok());
    }
    std::vector<std::shared_ptr<grpc::Channel>> channels = {channel_, make_channel(),
                                                            make_channel()};

    struct Outcome {
        std::set<std::uint64_t> resting;  // acknowledged and not cancelled since
        std::map<std::string, int> answers;
        std::vector<std::string> unclear;
    };
    std::vector<Outcome> outcomes(kBuyers * kThreadsPerBuyer);
    const auto stop_at = std::chrono::steady_clock::now() + 1'500ms;
    std::vector<std::thread> threads;
    for (int t = 0; t < kBuyers * kThreadsPerBuyer; ++t) {
        threads.emplace_back([&, t] {
            const Party& who = buyers[static_cast<std::size_t>(t / kThreadsPerBuyer)];
            const auto stub =
                cpx::v1::OrderEntry::NewStub(channels[static_cast<std::size_t>(t) % 3]);
            const auto query =
                cpx::v1::AccountQuery::NewStub(channels[static_cast<std::size_t>(t) % 3]);
            Outcome& out = outcomes[static_cast<std::size_t>(t)];
            std::mt19937 rng(static_cast<unsigned>(t));
            const auto judge = [&](const grpc::Status& status, const std::string& reason) {
                const std::string key =
                    status.ok() ? "OK" : code_name(status.error_code()) + "/" + reason;
                ++out.answers[key];
                const bool clear =
                    status.ok() || (!reason.empty() &&
                                    (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                                     status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                                     status.error_code() == grpc::StatusCode::NOT_FOUND ||
                                     status.error_code() == grpc::StatusCode::INVALID_ARGUMENT));
                if (!clear) {
                    out.unclear.push_back(key + ": " + status.error_message());
                }
            };
            for (int i = 0; i < kCallsMax && std::chrono::steady_clock::now() < stop_at; ++i) {
                const auto context = context_with_key(who.key);
                const auto dice = rng() % 10;
                if (dice < 8 || out.resting.empty()) {
                    const auto order =
                        limit("f" + std::to_string(t) + "-" + std::to_string(i), kTokens,
                              cpx::v1::SIDE_BUY, 1 + static_cast<std::int64_t>(rng() % 5'000), 1);
                    cpx::v1::ExecutionReport report;
                    const grpc::Status status = stub->PlaceOrder(context.get(), order, &report);
                    const auto& trailers = context->GetServerTrailingMetadata();
                    const auto it = trailers.find("cpx-reason");
                    judge(status, it == trailers.end()
                                      ? std::string()
                                      : std::string(it->second.data(), it->second.size()));
                    if (status.ok() && report.status() == cpx::v1::ORDER_STATUS_NEW) {
                        out.resting.insert(report.order_id());
                    }
                } else if (dice == 8) {
                    const std::uint64_t victim = *out.resting.begin();
                    cpx::v1::ExecutionReport report;
                    const grpc::Status status = stub->CancelOrder(
                        context.get(),
                        cancel_of("x" + std::to_string(t) + "-" + std::to_string(i), victim),
                        &report);
                    const auto& trailers = context->GetServerTrailingMetadata();
                    const auto it = trailers.find("cpx-reason");
                    judge(status, it == trailers.end()
                                      ? std::string()
                                      : std::string(it->second.data(), it->second.size()));
                    if (status.ok()) {
                        out.resting.erase(victim);
                    }
                } else {
                    cpx::v1::BalancesResponse balance;
                    const grpc::Status status =
                        query->GetBalances(context.get(), account_request(0), &balance);
                    const auto& trailers = context->GetServerTrailingMetadata();
                    const auto it = trailers.find("cpx-reason");
                    judge(status, it == trailers.end()
                                      ? std::string()
                                      : std::string(it->second.data(), it->second.size()));
                }
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }

    std::map<std::string, int> answers;
    for (std::size_t t = 0; t < outcomes.size(); ++t) {
        for (const auto& [key, count] : outcomes[t].answers) {
            answers[key] += count;
        }
        for (const std::string& unclear : outcomes[t].unclear) {
            ADD_FAILURE() << "thread " << t << " got an unclear answer: " << unclear;
        }
    }
    std::string summary;
    for (const auto& [key, count] : answers) {
        summary += " " + key + "=" + std::to_string(count);
    }
    std::cout << "[ flood    ] answers:" << summary << "\n";
    EXPECT_GT(answers["OK"], 0);

    // Every acknowledged order that was not cancelled rests, and nothing else does.
    for (int b = 0; b < kBuyers; ++b) {
        std::set<std::uint64_t> expected;
        for (int k = 0; k < kThreadsPerBuyer; ++k) {
            const auto& r = outcomes[static_cast<std::size_t>(b * kThreadsPerBuyer + k)].resting;
            expected.insert(r.begin(), r.end());
        }
        const auto open = open_orders(buyers[static_cast<std::size_t>(b)]);
        ASSERT_TRUE(open.ok()) << open.status.error_message();
        std::set<std::uint64_t> found;
        for (const cpx::v1::OpenOrder& o : open.response.orders()) {
            found.insert(o.order_id());
        }
        EXPECT_EQ(found, expected) << "buyer " << b;
    }
    expect_market_still_trades();
}

TEST_F(GatewayHostile, GarbageBytesToEveryMethodAreRefusedAndTheServerKeepsServing) {
    const std::vector<std::string> methods = {
        "/cpx.v1.OrderEntry/PlaceOrder",
        "/cpx.v1.OrderEntry/CancelOrder",
        "/cpx.v1.OrderEntry/ReplaceOrder",
        "/cpx.v1.OrderEntry/MassCancel",
        "/cpx.v1.OrderEntry/Trade",
        "/cpx.v1.MarketData/StreamDepth",
        "/cpx.v1.MarketData/StreamTrades",
        "/cpx.v1.AccountQuery/ListInstruments",
        "/cpx.v1.AccountQuery/GetOpenOrders",
        "/cpx.v1.AccountQuery/GetFills",
        "/cpx.v1.AccountQuery/GetBalances",
        "/cpx.v1.Admin/AddInstrument",
        "/cpx.v1.Admin/SetTradingState",
        "/cpx.v1.Admin/CreateAccount",
        "/cpx.v1.Admin/CreateApiKey",
        "/cpx.v1.Admin/CreditDeposit",
        "/cpx.v1.Admin/SetAcceleratorTable",
        "/cpx.v1.Admin/RegisterCapacity",
        "/cpx.v1.Admin/CreditCollateral",
        "/cpx.v1.Settlement/ConfirmDelivery",
        "/cpx.v1.Settlement/DisputeDelivery",
        "/cpx.v1.Settlement/ResolveDispute",
        "/cpx.v1.Settlement/RunSettlement",
        "/cpx.v1.Settlement/ListObligations",
        "/cpx.v1.Vouchers/CreateProgram",
        "/cpx.v1.Vouchers/FundProgram",
        "/cpx.v1.Vouchers/GrantVoucher",
        "/cpx.v1.Vouchers/RevokeVoucher",
        "/cpx.v1.Vouchers/ListPrograms",
        "/cpx.v1.Vouchers/ListVouchers",
        "/cpx.v1.Vouchers/Report",
    };
    const std::vector<std::string> garbage = {
        std::string(11, '\xff'),     // a tag that is not a varint
        std::string("\x00\x00", 2),  // field number 0
        std::string("\x0a\x10"
                    "ab",
                    4),              // a length past the end
        std::string("\x0f\x01", 2),  // wire type 7
    };
    for (const std::string& method : methods) {
        for (std::size_t g = 0; g < garbage.size(); ++g) {
            const GenericAnswer answer =
                generic_unary(channel_, method, garbage[g], std::string(kOperatorKey));
            EXPECT_TRUE(answer.completed) << method << " garbage " << g;
            EXPECT_FALSE(answer.status.ok()) << method << " garbage " << g;
            EXPECT_NE(answer.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
                << method << " garbage " << g;
        }
    }
    // The same path with valid bytes works: the refusals above are the garbage's.
    const GenericAnswer valid = generic_unary(
        channel_, "/cpx.v1.OrderEntry/PlaceOrder",
        limit("generic-ok", kTokens, cpx::v1::SIDE_BUY, 100, 1).SerializeAsString(), buyer_.key);
    ASSERT_TRUE(valid.status.ok()) << valid.status.error_message();
    cpx::v1::ExecutionReport valid_report;
    ASSERT_TRUE(valid_report.ParseFromString(valid.bytes));
    EXPECT_EQ(valid_report.exec_type(), cpx::v1::EXEC_TYPE_NEW);
    // A string field that is not UTF-8 does not parse as proto3 either.
    const GenericAnswer not_utf8 = generic_unary(channel_, "/cpx.v1.OrderEntry/PlaceOrder",
                                                 std::string("\x0a\x02\xc3\x28", 4), buyer_.key);
    EXPECT_TRUE(not_utf8.completed);
    EXPECT_FALSE(not_utf8.status.ok());
    const GenericAnswer unknown =
        generic_unary(channel_, "/cpx.v1.OrderEntry/Nope", "", buyer_.key);
    EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    // A message above the server's 4 MiB limit is refused by gRPC itself.
    const auto huge =
        place(buyer_, limit(std::string(5u << 20, 'x'), kTokens, cpx::v1::SIDE_BUY, 100, 1));
    EXPECT_EQ(huge.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

    const GenericAnswer health = generic_unary(channel_, "/grpc.health.v1.Health/Check", "");
    EXPECT_TRUE(health.status.ok());
    // Only the valid order rests.
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open.response.orders_size(), 1);
    EXPECT_EQ(open.response.orders(0).order_id(), valid_report.order_id());
    EXPECT_EQ(all_open_orders(0).size(), 1u);
    const auto placed = buy(buyer_, kTokens, 100, 1);
    ASSERT_TRUE(placed.ok());
    expect_market_still_trades();
}

TEST_F(GatewayHostile, FirstStreamMessageMustBeALogon) {
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(
            session.send_batch({command(limit("early", kTokens, cpx::v1::SIDE_BUY, 100, 1))}));
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_EQ(error_reason(*status), "PROTOCOL_VIOLATION");
    }
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.send_heartbeat());
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_EQ(error_reason(*status), "PROTOCOL_VIOLATION");
    }
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.send(cpx::v1::ClientMessage()));
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_EQ(error_reason(*status), "PROTOCOL_VIOLATION");
    }
    EXPECT_TRUE(all_open_orders(0).empty());
}

TEST_F(GatewayHostile, SecondLogonAndEmptyMessagesEndTheStream) {
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.logon(true).has_value());
        ASSERT_TRUE(
            session.send_batch({command(limit("one", kTokens, cpx::v1::SIDE_BUY, 100, 1))}));
        ASSERT_EQ(session.wait_reports(1).size(), 1u);
        ASSERT_TRUE(session.send_logon(true));
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_EQ(error_reason(*status), "PROTOCOL_VIOLATION");
    }
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.logon(true).has_value());
        ASSERT_TRUE(session.send(cpx::v1::ClientMessage()));
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    }
    // Both streams asked for cancel-on-disconnect: their ending cancelled the order.
    const auto until = std::chrono::steady_clock::now() + kWaitTimeout;
    while (!all_open_orders(0).empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(all_open_orders(0).empty());
}

TEST_F(GatewayHostile, BatchLargerThanTheMaximumIsInvalidArgument) {
    const auto batch = [&](std::size_t count, const std::string& prefix) {
        std::vector<cpx::v1::OrderCommand> commands;
        for (std::size_t i = 0; i < count; ++i) {
            commands.push_back(
                command(limit(prefix + std::to_string(i), kTokens, cpx::v1::SIDE_BUY, 100, 1)));
        }
        return commands;
    };
    {
        // batch_commands_max is 64 in these tests.
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.logon(false).has_value());
        ASSERT_TRUE(session.send_batch(batch(64, "fits-")));
        EXPECT_EQ(session.wait_reports(64).size(), 64u);
    }
    {
        TradeSession session(*orders_, buyer_.key);
        ASSERT_TRUE(session.logon(false).has_value());
        ASSERT_TRUE(session.send_batch(batch(65, "over-")));
        const auto status = session.wait_finished();
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_EQ(error_reason(*status), "BATCH_TOO_LARGE");
        EXPECT_TRUE(session.reports().empty());
    }
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open.response.orders_size(), 64);
}

TEST_F(GatewayHostile, EnumValuesOutOfRangeAreInvalidArgumentWithAReason) {
    const auto with = [&](const std::function<void(cpx::v1::NewOrder&)>& change) {
        cpx::v1::NewOrder o = limit(next_id("e"), kTokens, cpx::v1::SIDE_BUY, 100, 1);
        change(o);
        return o;
    };
    const std::vector<std::pair<cpx::v1::NewOrder, std::string>> cases = {
        {with([](cpx::v1::NewOrder& o) { o.set_side(static_cast<cpx::v1::Side>(7)); }),
         "INVALID_SIDE"},
        {with([](cpx::v1::NewOrder& o) { o.set_side(static_cast<cpx::v1::Side>(-1)); }),
         "INVALID_SIDE"},
        {with([](cpx::v1::NewOrder& o) { o.set_side(cpx::v1::SIDE_UNSPECIFIED); }), "INVALID_SIDE"},
        {with([](cpx::v1::NewOrder& o) { o.set_order_type(static_cast<cpx::v1::OrderType>(99)); }),
         "INVALID_ORDER_TYPE"},
        {with([](cpx::v1::NewOrder& o) { o.set_order_type(cpx::v1::ORDER_TYPE_UNSPECIFIED); }),
         "INVALID_ORDER_TYPE"},
        {with([](cpx::v1::NewOrder& o) {
             o.set_time_in_force(static_cast<cpx::v1::TimeInForce>(42));
         }),
         "INVALID_TIME_IN_FORCE"},
        {with([](cpx::v1::NewOrder& o) {
             o.set_self_trade_prevention(static_cast<cpx::v1::SelfTradePrevention>(9));
         }),
         "INVALID_COMMAND"},
    };
    for (const auto& [order, reason] : cases) {
        EXPECT_TRUE(refused(place(buyer_, order), grpc::StatusCode::INVALID_ARGUMENT, reason))
            << order.ShortDebugString();
    }

    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    std::vector<cpx::v1::OrderCommand> batch;
    for (const auto& [order, reason] : cases) {
        cpx::v1::NewOrder fresh = order;
        fresh.set_client_order_id("s" + order.client_order_id());
        batch.push_back(command(fresh));
    }
    ASSERT_TRUE(session.send_batch(batch));
    const auto reports = session.wait_reports(cases.size());
    ASSERT_EQ(reports.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_TRUE(rejected(reports[i], grpc::StatusCode::INVALID_ARGUMENT, cases[i].second)) << i;
    }

    cpx::v1::SetTradingStateRequest state;
    state.set_instrument_id(kTokens);
    state.set_action(static_cast<cpx::v1::StateAction>(99));
    EXPECT_TRUE(
        refused(call<cpx::v1::Instrument>(operator_.key,
                                          [&](grpc::ClientContext& c, cpx::v1::Instrument& out) {
                                              return admin_->SetTradingState(&c, state, &out);
                                          }),
                grpc::StatusCode::INVALID_ARGUMENT, "INVALID_STATE_ACTION"));
    cpx::v1::Account account;
    account.set_name("odd-role");
    account.set_role(static_cast<cpx::v1::Role>(99));
    EXPECT_TRUE(refused(create_account_as(operator_, account), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_ACCOUNT"));
    cpx::v1::RegisterCapacityRequest odd_kind = token_registration(provider_.id, 5);
    odd_kind.set_kind(static_cast<cpx::v1::InstrumentKind>(7));
    EXPECT_TRUE(refused(register_capacity_as(operator_, odd_kind),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CAPACITY"));
    cpx::v1::Instrument odd_state = token_instrument(50);
    odd_state.set_state(static_cast<cpx::v1::TradingState>(99));
    EXPECT_TRUE(refused(add_instrument(odd_state), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_INSTRUMENT"));

    EXPECT_TRUE(all_open_orders(0).empty());
    expect_market_still_trades();
}

TEST_F(GatewayHostile, EmptyCommandInABatchIsRefusedInSequence) {
    TradeSession session(*orders_, buyer_.key);
    ASSERT_TRUE(session.logon(false).has_value());
    ASSERT_TRUE(session.send_batch({command(limit("before", kTokens, cpx::v1::SIDE_BUY, 100, 1)),
                                    cpx::v1::OrderCommand(),
                                    command(limit("after", kTokens, cpx::v1::SIDE_BUY, 100, 1))}));
    const auto reports = session.wait_reports(3);
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_EQ(reports[0].client_order_id(), "before");
    EXPECT_EQ(reports[0].exec_type(), cpx::v1::EXEC_TYPE_NEW);
    EXPECT_EQ(reports[1].exec_type(), cpx::v1::EXEC_TYPE_REJECTED);
    EXPECT_EQ(reports[1].status_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_FALSE(reports[1].reason().empty());
    EXPECT_EQ(reports[2].client_order_id(), "after");
    EXPECT_EQ(reports[2].exec_type(), cpx::v1::EXEC_TYPE_NEW);
}

class GatewayHostileSlowConsumer : public GatewayFixture {
  protected:
    void configure(ServerConfig& config) override { config.gateway.session_write_slots = 4; }
};

TEST_F(GatewayHostileSlowConsumer, ClientThatStopsReadingIsEndedAndCanResume) {
    // A small HTTP/2 window, so that the server's writes stall soon after the client
    // stops reading.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1'024);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    const auto stub = cpx::v1::OrderEntry::NewStub(make_channel(args));
    grpc::ClientContext context;
    context.AddMetadata("x-api-key", buyer_.key);
    context.set_deadline(deadline_in(kStreamTimeout));
    const auto stream = stub->Trade(&context);
    cpx::v1::ClientMessage logon;
    logon.mutable_logon()->set_cancel_on_disconnect(false);
    ASSERT_TRUE(stream->Write(logon));
    cpx::v1::ServerMessage message;
    ASSERT_TRUE(stream->Read(&message));
    ASSERT_TRUE(message.has_logon_ack());

    // Commands keep coming while the client reads nothing; the server ends the stream
    // when its queue of messages for it is full, and the writes start failing. Each
    // batch places five orders and cancels four of them again: many reports (more than
    // gRPC's own buffers hold), few resting orders.
    int sent_batches = 0;
    for (int b = 0; b < 2'000; ++b) {
        cpx::v1::ClientMessage batch;
        for (int i = 0; i < 5; ++i) {
            *batch.mutable_batch()->add_commands() =
                command(limit("sc-" + std::to_string(b) + "-" + std::to_string(i), kTokens,
                              cpx::v1::SIDE_BUY, 1 + (b * 5 + i) % 50'000, 1));
        }
        for (int i = 1; i < 5; ++i) {
            *batch.mutable_batch()->add_commands() =
                command(cancel_of("sx-" + std::to_string(b) + "-" + std::to_string(i), 0,
                                  "sc-" + std::to_string(b) + "-" + std::to_string(i)));
        }
        if (!stream->Write(batch)) {
            break;
        }
        ++sent_batches;
    }
    std::vector<cpx::v1::ExecutionReport> received;
    while (stream->Read(&message)) {
        if (message.has_reports()) {
            received.insert(received.end(), message.reports().reports().begin(),
                            message.reports().reports().end());
        }
    }
    const grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << status.error_message() << " after " << sent_batches << " batches";
    for (std::size_t i = 0; i < received.size(); ++i) {
        ASSERT_EQ(received[i].session_seq(), i + 1);
    }

    // The stream ended once, and the server is healthy.
    const auto metrics = http_get(server_->ops_port(), "/metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_EQ(metric_value(metrics->body, "cpx_streams_opened_total"), 1);
    EXPECT_EQ(metric_value(metrics->body, "cpx_streams_closed_total"), 1);

    // Resuming from the last report read gives every other report; together they are
    // the orders that rest.
    TradeSession resumed(*orders_, buyer_.key);
    const std::uint64_t last = received.empty() ? 0 : received.back().session_seq();
    const auto ack = resumed.logon(false, 0, last);
    ASSERT_TRUE(ack.has_value());
    ASSERT_GE(ack->last_seq(), last);
    const auto rest = resumed.wait_reports(static_cast<std::size_t>(ack->last_seq() - last));
    ASSERT_EQ(rest.size(), ack->last_seq() - last);
    std::set<std::uint64_t> acknowledged;
    std::vector<cpx::v1::ExecutionReport> all = received;
    all.insert(all.end(), rest.begin(), rest.end());
    for (std::size_t i = 0; i < all.size(); ++i) {
        const cpx::v1::ExecutionReport& r = all[i];
        EXPECT_EQ(r.session_seq(), i + 1);
        if (r.exec_type() == cpx::v1::EXEC_TYPE_NEW) {
            acknowledged.insert(r.order_id());
        } else {
            EXPECT_EQ(r.exec_type(), cpx::v1::EXEC_TYPE_CANCELLED) << r.ShortDebugString();
            acknowledged.erase(r.order_id());
        }
    }
    std::set<std::uint64_t> resting;
    const auto open = open_orders(buyer_);
    ASSERT_TRUE(open.ok());
    for (const cpx::v1::OpenOrder& o : open.response.orders()) {
        resting.insert(o.order_id());
    }
    EXPECT_EQ(resting, acknowledged);
    EXPECT_GT(acknowledged.size(), 0u);
    expect_market_still_trades();
}

}  // namespace
}  // namespace cpx::gateway::test
