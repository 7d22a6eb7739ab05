#pragma once

// Integration tests of cpxd: a real gateway Server on loopback, reached by real gRPC
// clients through the generated stubs. The fixture starts a Server with small
// capacities, lists a token-bundle and a compute instrument, and admits a funded buyer
// and a provider with registered capacity, so that a test reads as what its accounts
// do. Every client call carries a deadline: a hung server fails a test instead of
// hanging the run. Helpers return what the server answered and hide no refusal.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cpx/gateway/config.hpp"
#include "cpx/gateway/server.hpp"
#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "cpx/v1/market_data.grpc.pb.h"
#include "cpx/v1/orders.grpc.pb.h"
#include "cpx/v1/settlement.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace cpx::gateway::test {

inline constexpr std::uint32_t kTokens = 1;   // a token-bundle instrument: tick 1, lot 1
inline constexpr std::uint32_t kCompute = 2;  // a compute instrument: tick 5, lot 2, a band

inline constexpr std::int64_t kHourNs = 3'600'000'000'000;
// Delivery windows lie in 2030: ahead of any clock these tests run under.
inline constexpr std::int64_t kWindowStart = 1'893'456'000'000'000'000;
inline constexpr std::int64_t kWindowEnd = kWindowStart + 10 * kHourNs;
inline constexpr std::string_view kTokenHub = "HOHHOT";
inline constexpr std::string_view kComputeHub = "WUHU";
// The compute instrument's band: 20% around 1000 fen, so [800, 1200].
inline constexpr std::int64_t kComputeReference = 1'000;
inline constexpr std::uint32_t kComputeBandBps = 2'000;

inline constexpr std::int64_t kBuyerDeposit = 10'000'000;
inline constexpr std::int64_t kProviderTokenBundles = 10'000;
// H100-SXM is 989 milli-P a device in the default table: 10 devices for the 10-hour
// window are 98.9 P·h, of which the provider may sell the 98 whole units.
inline constexpr std::uint32_t kProviderDevices = 10;
inline constexpr std::int64_t kProviderComputeUnits = 98;

inline constexpr std::string_view kOperatorKey = "cpx_gateway_test_operator_key";

// Generous on purpose: a loaded 2-core machine under sanitizers can be slow, and a
// call that succeeds returns long before.
inline constexpr std::chrono::milliseconds kCallTimeout{10'000};
inline constexpr std::chrono::milliseconds kWaitTimeout{10'000};
inline constexpr std::chrono::milliseconds kStreamTimeout{30'000};

inline std::chrono::system_clock::time_point deadline_in(std::chrono::milliseconds from_now) {
    return std::chrono::system_clock::now() + from_now;
}

struct Party {
    std::uint32_t id = 0;
    std::string key;
};

// What a unary call answered: its status, its response, and the "cpx-reason" trailer.
template <typename Response>
struct Answer {
    grpc::Status status;
    Response response;
    std::string cpx_reason;

    bool ok() const { return status.ok(); }
};

// The reason of the google.rpc.ErrorInfo of the "cpx.exchange" domain in a status's
// details, or "" when there is none.
inline std::string error_reason(const grpc::Status& status) {
    google::rpc::Status details;
    if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
        return "";
    }
    for (const google::protobuf::Any& any : details.details()) {
        google::rpc::ErrorInfo info;
        if (any.UnpackTo(&info) && info.domain() == "cpx.exchange") {
            return info.reason();
        }
    }
    return "";
}

inline std::string code_name(grpc::StatusCode code) {
    static const std::map<grpc::StatusCode, std::string> names = {
        {grpc::StatusCode::OK, "OK"},
        {grpc::StatusCode::CANCELLED, "CANCELLED"},
        {grpc::StatusCode::UNKNOWN, "UNKNOWN"},
        {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT"},
        {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"},
        {grpc::StatusCode::NOT_FOUND, "NOT_FOUND"},
        {grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS"},
        {grpc::StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED"},
        {grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
        {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION"},
        {grpc::StatusCode::ABORTED, "ABORTED"},
        {grpc::StatusCode::OUT_OF_RANGE, "OUT_OF_RANGE"},
        {grpc::StatusCode::UNIMPLEMENTED, "UNIMPLEMENTED"},
        {grpc::StatusCode::INTERNAL, "INTERNAL"},
        {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE"},
        {grpc::StatusCode::DATA_LOSS, "DATA_LOSS"},
        {grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"},
    };
    const auto it = names.find(code);
    return it == names.end() ? "code " + std::to_string(static_cast<int>(code)) : it->second;
}

// A refusal as the API promises it: the status code, an ErrorInfo of the domain
// "cpx.exchange" naming the reason, and the same reason as "cpx-reason" trailer.
template <typename Response>
::testing::AssertionResult refused(const Answer<Response>& answer, grpc::StatusCode code,
                                   std::string_view reason) {
    if (answer.status.error_code() != code) {
        return ::testing::AssertionFailure()
               << "status " << code_name(answer.status.error_code()) << " ("
               << answer.status.error_message() << "), expected " << code_name(code);
    }
    const std::string detail = error_reason(answer.status);
    if (detail != reason) {
        return ::testing::AssertionFailure()
               << "ErrorInfo reason '" << detail << "', expected '" << reason << "'";
    }
    if (answer.cpx_reason != reason) {
        return ::testing::AssertionFailure()
               << "cpx-reason trailer '" << answer.cpx_reason << "', expected '" << reason << "'";
    }
    return ::testing::AssertionSuccess();
}

// A refused command on the stream: a REJECTED report with the reason and the status
// code a unary call gets.
inline ::testing::AssertionResult rejected(const cpx::v1::ExecutionReport& report,
                                           grpc::StatusCode code, std::string_view reason) {
    if (report.exec_type() != cpx::v1::EXEC_TYPE_REJECTED ||
        report.status() != cpx::v1::ORDER_STATUS_REJECTED) {
        return ::testing::AssertionFailure()
               << "exec_type " << cpx::v1::ExecType_Name(report.exec_type()) << ", status "
               << cpx::v1::OrderStatus_Name(report.status()) << ", expected REJECTED";
    }
    if (report.reason() != reason || report.status_code() != static_cast<int>(code)) {
        return ::testing::AssertionFailure()
               << "reason '" << report.reason() << "' status_code " << report.status_code()
               << ", expected '" << reason << "' " << static_cast<int>(code);
    }
    return ::testing::AssertionSuccess();
}

// --- Messages -----------------------------------------------------------------------

inline cpx::v1::Instrument token_instrument(std::uint32_t id = kTokens) {
    cpx::v1::Instrument i;
    i.set_instrument_id(id);
    i.set_symbol("HOHHOT-QWEN-1M-" + std::to_string(id));
    i.set_kind(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
    i.set_hub(std::string(kTokenHub));
    i.set_unit("1M-tokens");
    i.set_window_start_ns(kWindowStart);
    i.set_window_end_ns(kWindowEnd);
    i.set_tick_size_fen(1);
    i.set_lot_size(1);
    i.set_quantity_min(1);
    i.set_quantity_max(1'000'000);
    i.set_price_min_fen(1);
    i.set_price_max_fen(100'000);
    i.set_band_bps(0);
    i.set_reference_price_fen(0);
    i.set_market_protection_ticks(100);
    i.set_state(cpx::v1::TRADING_STATE_CONTINUOUS);
    return i;
}

inline cpx::v1::Instrument compute_instrument(std::uint32_t id = kCompute) {
    cpx::v1::Instrument i;
    i.set_instrument_id(id);
    i.set_symbol("WUHU-PH-2030-" + std::to_string(id));
    i.set_kind(cpx::v1::INSTRUMENT_KIND_COMPUTE);
    i.set_hub(std::string(kComputeHub));
    i.set_unit("P*h");
    i.set_window_start_ns(kWindowStart);
    i.set_window_end_ns(kWindowEnd);
    i.set_tick_size_fen(5);
    i.set_lot_size(2);
    i.set_quantity_min(2);
    i.set_quantity_max(1'000);
    i.set_price_min_fen(5);
    i.set_price_max_fen(100'000);
    i.set_band_bps(kComputeBandBps);
    i.set_reference_price_fen(kComputeReference);
    i.set_market_protection_ticks(20);
    i.set_state(cpx::v1::TRADING_STATE_CONTINUOUS);
    return i;
}

inline cpx::v1::NewOrder limit(const std::string& client_order_id, std::uint32_t instrument,
                               cpx::v1::Side side, std::int64_t price, std::int64_t quantity) {
    cpx::v1::NewOrder o;
    o.set_client_order_id(client_order_id);
    o.set_instrument_id(instrument);
    o.set_side(side);
    o.set_order_type(cpx::v1::ORDER_TYPE_LIMIT);
    o.set_time_in_force(cpx::v1::TIME_IN_FORCE_GTC);
    o.set_price_fen(price);
    o.set_quantity(quantity);
    return o;
}

inline cpx::v1::CancelRequest cancel_of(const std::string& client_order_id, std::uint64_t order_id,
                                        const std::string& orig_client_order_id = "") {
    cpx::v1::CancelRequest c;
    c.set_client_order_id(client_order_id);
    c.set_order_id(order_id);
    c.set_orig_client_order_id(orig_client_order_id);
    return c;
}

inline cpx::v1::ReplaceRequest replace_of(const std::string& client_order_id,
                                          std::uint64_t order_id, std::int64_t price,
                                          std::int64_t quantity) {
    cpx::v1::ReplaceRequest r;
    r.set_client_order_id(client_order_id);
    r.set_order_id(order_id);
    r.set_price_fen(price);
    r.set_quantity(quantity);
    return r;
}

inline cpx::v1::OrderCommand command(const cpx::v1::NewOrder& order) {
    cpx::v1::OrderCommand c;
    *c.mutable_new_order() = order;
    return c;
}
inline cpx::v1::OrderCommand command(const cpx::v1::CancelRequest& cancel) {
    cpx::v1::OrderCommand c;
    *c.mutable_cancel() = cancel;
    return c;
}
inline cpx::v1::OrderCommand command(const cpx::v1::ReplaceRequest& replace) {
    cpx::v1::OrderCommand c;
    *c.mutable_replace() = replace;
    return c;
}
inline cpx::v1::OrderCommand command(const cpx::v1::MassCancelRequest& mass_cancel) {
    cpx::v1::OrderCommand c;
    *c.mutable_mass_cancel() = mass_cancel;
    return c;
}

// A book side as price -> (quantity, order count).
using Levels = std::map<std::int64_t, std::pair<std::int64_t, std::uint32_t>>;

struct Depth {
    Levels bids;
    Levels asks;
    bool operator==(const Depth& other) const = default;
};

inline std::string describe(const Depth& depth) {
    std::string out = "bids:";
    for (const auto& [price, level] : depth.bids) {
        out += " " + std::to_string(level.first) + "@" + std::to_string(price) + "(" +
               std::to_string(level.second) + ")";
    }
    out += " asks:";
    for (const auto& [price, level] : depth.asks) {
        out += " " + std::to_string(level.first) + "@" + std::to_string(price) + "(" +
               std::to_string(level.second) + ")";
    }
    return out;
}

// Applies a snapshot (which replaces the book) or a delta (whose levels carry absolute
// totals; 0 removes the level).
inline void apply_depth(Depth& depth, const cpx::v1::DepthUpdate& update) {
    if (update.snapshot()) {
        depth = Depth{};
    }
    for (const cpx::v1::PriceLevel& l : update.bids()) {
        if (l.quantity() == 0) {
            depth.bids.erase(l.price_fen());
        } else {
            depth.bids[l.price_fen()] = {l.quantity(), l.order_count()};
        }
    }
    for (const cpx::v1::PriceLevel& l : update.asks()) {
        if (l.quantity() == 0) {
            depth.asks.erase(l.price_fen());
        } else {
            depth.asks[l.price_fen()] = {l.quantity(), l.order_count()};
        }
    }
}

// --- The fixture ----------------------------------------------------------------------

class GatewayFixture : public ::testing::Test {
  protected:
    // Small capacities: the tests never need the production sizes, and the sanitizer
    // builds start a server per test.
    static ServerConfig small_config() {
        ServerConfig c;
        c.listen = "127.0.0.1:0";
        c.ops_port = 0;
        c.operator_key = std::string(kOperatorKey);
        c.shutdown_grace_ms = 1'000;
        c.pipeline.exchange.order_capacity = 4'096;
        c.pipeline.exchange.client_id_window = 8'192;
        c.pipeline.exchange.report_retention = 8'192;
        c.pipeline.exchange.sessions_max = 64;
        c.pipeline.exchange.accounts_max = 1'024;
        c.pipeline.request_queue_capacity = 4'096;
        c.pipeline.outbound_queue_capacity = 16'384;
        c.pipeline.control_queue_capacity = 256;
        c.gateway.heartbeat_interval_ms_min = 50;
        c.gateway.session_write_slots = 64;
        c.gateway.market_write_slots = 64;
        c.gateway.batch_commands_max = 64;
        return c;
    }

    // A test's own settings, on top of small_config().
    virtual void configure(ServerConfig& /*config*/) {}

    void SetUp() override {
        ServerConfig config = small_config();
        configure(config);
        server_ = std::make_unique<Server>(config);
        server_->start();
        channel_ = make_channel();
        ASSERT_TRUE(channel_->WaitForConnected(deadline_in(kCallTimeout)));
        orders_ = cpx::v1::OrderEntry::NewStub(channel_);
        market_ = cpx::v1::MarketData::NewStub(channel_);
        queries_ = cpx::v1::AccountQuery::NewStub(channel_);
        admin_ = cpx::v1::Admin::NewStub(channel_);
        settlement_ = cpx::v1::Settlement::NewStub(channel_);
        operator_.id = 1;
        operator_.key = std::string(kOperatorKey);

        ASSERT_TRUE(add_instrument(token_instrument()).ok());
        ASSERT_TRUE(add_instrument(compute_instrument()).ok());
        buyer_ = create_account(cpx::v1::ROLE_BUYER, "buyer");
        provider_ = create_account(cpx::v1::ROLE_PROVIDER, "provider");
        ASSERT_NE(buyer_.id, 0u);
        ASSERT_NE(provider_.id, 0u);
        ASSERT_TRUE(deposit(buyer_, kBuyerDeposit).ok());
        ASSERT_TRUE(register_tokens(provider_, kProviderTokenBundles).ok());
        ASSERT_TRUE(register_compute(provider_, "H100-SXM", kProviderDevices).ok());
    }

    void TearDown() override {
        if (server_) {
            server_->shutdown();
        }
    }

    std::string target() const { return "127.0.0.1:" + std::to_string(server_->port()); }

    std::shared_ptr<grpc::Channel> make_channel(
        const grpc::ChannelArguments& args = grpc::ChannelArguments()) const {
        return grpc::CreateCustomChannel(target(), grpc::InsecureChannelCredentials(), args);
    }

    static std::unique_ptr<grpc::ClientContext> context_with_key(
        const std::string& key, std::chrono::milliseconds timeout = kCallTimeout) {
        auto context = std::make_unique<grpc::ClientContext>();
        if (!key.empty()) {
            context->AddMetadata("x-api-key", key);
        }
        context->set_deadline(deadline_in(timeout));
        return context;
    }

    // Runs one unary call with the key (none when empty) and a deadline.
    template <typename Response, typename Call>
    static Answer<Response> call(const std::string& key, Call&& invoke) {
        const std::unique_ptr<grpc::ClientContext> context = context_with_key(key);
        Answer<Response> answer;
        answer.status = invoke(*context, answer.response);
        const auto& trailers = context->GetServerTrailingMetadata();
        const auto it = trailers.find("cpx-reason");
        if (it != trailers.end()) {
            answer.cpx_reason.assign(it->second.data(), it->second.size());
        }
        return answer;
    }

    std::string next_id(std::string_view prefix = "c") {
        return std::string(prefix) + std::to_string(++client_ids_);
    }

    // --- Order entry ---

    Answer<cpx::v1::ExecutionReport> place(const Party& who, const cpx::v1::NewOrder& order) {
        return call<cpx::v1::ExecutionReport>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ExecutionReport& r) {
                return orders_->PlaceOrder(&c, order, &r);
            });
    }
    Answer<cpx::v1::ExecutionReport> buy(const Party& who, std::uint32_t instrument,
                                         std::int64_t price, std::int64_t quantity) {
        return place(who, limit(next_id("b"), instrument, cpx::v1::SIDE_BUY, price, quantity));
    }
    Answer<cpx::v1::ExecutionReport> sell(const Party& who, std::uint32_t instrument,
                                          std::int64_t price, std::int64_t quantity) {
        return place(who, limit(next_id("s"), instrument, cpx::v1::SIDE_SELL, price, quantity));
    }
    Answer<cpx::v1::ExecutionReport> cancel(const Party& who, const cpx::v1::CancelRequest& r) {
        return call<cpx::v1::ExecutionReport>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ExecutionReport& out) {
                return orders_->CancelOrder(&c, r, &out);
            });
    }
    Answer<cpx::v1::ExecutionReport> replace(const Party& who, const cpx::v1::ReplaceRequest& r) {
        return call<cpx::v1::ExecutionReport>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ExecutionReport& out) {
                return orders_->ReplaceOrder(&c, r, &out);
            });
    }
    Answer<cpx::v1::MassCancelReport> mass_cancel(const Party& who, std::uint32_t instrument) {
        cpx::v1::MassCancelRequest r;
        r.set_client_order_id(next_id("m"));
        r.set_instrument_id(instrument);
        return call<cpx::v1::MassCancelReport>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::MassCancelReport& out) {
                return orders_->MassCancel(&c, r, &out);
            });
    }

    // --- Queries ---

    static cpx::v1::AccountRequest account_request(std::uint32_t account,
                                                   std::uint32_t instrument = 0) {
        cpx::v1::AccountRequest r;
        r.set_account_id(account);
        r.set_instrument_id(instrument);
        return r;
    }
    Answer<cpx::v1::OpenOrdersResponse> open_orders(const Party& who, std::uint32_t account = 0,
                                                    std::uint32_t instrument = 0) {
        return call<cpx::v1::OpenOrdersResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::OpenOrdersResponse& out) {
                return queries_->GetOpenOrders(&c, account_request(account, instrument), &out);
            });
    }
    Answer<cpx::v1::FillsResponse> fills(const Party& who, std::uint32_t account = 0,
                                         std::uint32_t instrument = 0) {
        return call<cpx::v1::FillsResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::FillsResponse& out) {
                return queries_->GetFills(&c, account_request(account, instrument), &out);
            });
    }
    Answer<cpx::v1::BalancesResponse> balances(const Party& who, std::uint32_t account = 0) {
        return call<cpx::v1::BalancesResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::BalancesResponse& out) {
                return queries_->GetBalances(&c, account_request(account), &out);
            });
    }
    Answer<cpx::v1::ListInstrumentsResponse> list_instruments(const Party& who) {
        return call<cpx::v1::ListInstrumentsResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ListInstrumentsResponse& out) {
                return queries_->ListInstruments(&c, cpx::v1::ListInstrumentsRequest(), &out);
            });
    }

    // The open orders of every account, read by the operator: the whole book.
    std::vector<cpx::v1::OpenOrder> all_open_orders(std::uint32_t instrument) {
        std::vector<cpx::v1::OpenOrder> all;
        for (std::uint32_t account = 2; account <= last_account_; ++account) {
            const auto answer = open_orders(operator_, account, instrument);
            EXPECT_TRUE(answer.ok()) << answer.status.error_message();
            all.insert(all.end(), answer.response.orders().begin(), answer.response.orders().end());
        }
        return all;
    }

    // The depth the open orders make: what a market-data client must rebuild.
    Depth depth_from_open_orders(std::uint32_t instrument) {
        Depth depth;
        for (const cpx::v1::OpenOrder& o : all_open_orders(instrument)) {
            auto& level = (o.side() == cpx::v1::SIDE_BUY ? depth.bids : depth.asks)[o.price_fen()];
            level.first += o.leaves_quantity();
            level.second += 1;
        }
        return depth;
    }

    // --- Administration (as the operator unless told otherwise) ---

    Answer<cpx::v1::Instrument> add_instrument(const cpx::v1::Instrument& instrument) {
        return add_instrument_as(operator_, instrument);
    }
    Answer<cpx::v1::Instrument> add_instrument_as(const Party& who,
                                                  const cpx::v1::Instrument& instrument) {
        cpx::v1::AddInstrumentRequest r;
        *r.mutable_instrument() = instrument;
        return call<cpx::v1::Instrument>(who.key,
                                         [&](grpc::ClientContext& c, cpx::v1::Instrument& out) {
                                             return admin_->AddInstrument(&c, r, &out);
                                         });
    }
    Answer<cpx::v1::Instrument> set_state(std::uint32_t instrument, cpx::v1::StateAction action,
                                          std::int64_t reference = 0) {
        return set_state_as(operator_, instrument, action, reference);
    }
    Answer<cpx::v1::Instrument> set_state_as(const Party& who, std::uint32_t instrument,
                                             cpx::v1::StateAction action,
                                             std::int64_t reference = 0) {
        cpx::v1::SetTradingStateRequest r;
        r.set_instrument_id(instrument);
        r.set_action(action);
        r.set_reference_price_fen(reference);
        return call<cpx::v1::Instrument>(who.key,
                                         [&](grpc::ClientContext& c, cpx::v1::Instrument& out) {
                                             return admin_->SetTradingState(&c, r, &out);
                                         });
    }
    Answer<cpx::v1::Account> create_account_as(const Party& who, const cpx::v1::Account& spec) {
        cpx::v1::CreateAccountRequest r;
        *r.mutable_account() = spec;
        return call<cpx::v1::Account>(who.key, [&](grpc::ClientContext& c, cpx::v1::Account& out) {
            return admin_->CreateAccount(&c, r, &out);
        });
    }
    Answer<cpx::v1::CreateApiKeyResponse> create_api_key_as(const Party& who,
                                                            std::uint32_t account) {
        cpx::v1::CreateApiKeyRequest r;
        r.set_account_id(account);
        return call<cpx::v1::CreateApiKeyResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::CreateApiKeyResponse& out) {
                return admin_->CreateApiKey(&c, r, &out);
            });
    }
    // An account of the role with an API key; id 0 (and a failed expectation) when the
    // server refuses.
    Party create_account(cpx::v1::Role role, const std::string& name,
                         std::uint32_t orders_per_second_max = 0) {
        cpx::v1::Account spec;
        spec.set_name(name);
        spec.set_role(role);
        spec.set_owner_group(name);
        spec.set_orders_per_second_max(orders_per_second_max);
        const auto account = create_account_as(operator_, spec);
        EXPECT_TRUE(account.ok()) << account.status.error_message();
        if (!account.ok()) {
            return Party{};
        }
        const auto key = create_api_key_as(operator_, account.response.account_id());
        EXPECT_TRUE(key.ok()) << key.status.error_message();
        if (!key.ok()) {
            return Party{};
        }
        last_account_ = std::max(last_account_, account.response.account_id());
        return Party{account.response.account_id(), key.response.api_key()};
    }
    Answer<cpx::v1::CreditDepositResponse> deposit_as(const Party& who, std::uint32_t account,
                                                      std::int64_t amount,
                                                      const std::string& deposit_id) {
        cpx::v1::CreditDepositRequest r;
        r.set_account_id(account);
        r.set_amount_fen(amount);
        r.set_deposit_id(deposit_id);
        return call<cpx::v1::CreditDepositResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::CreditDepositResponse& out) {
                return admin_->CreditDeposit(&c, r, &out);
            });
    }
    Answer<cpx::v1::CreditDepositResponse> deposit(const Party& to, std::int64_t amount) {
        return deposit_as(operator_, to.id, amount, next_id("deposit-"));
    }
    Answer<cpx::v1::AcceleratorTable> set_accelerator_table_as(
        const Party& who, const std::vector<std::tuple<std::string, std::int64_t, bool>>& models) {
        cpx::v1::SetAcceleratorTableRequest r;
        for (const auto& [model, milli_p, domestic] : models) {
            cpx::v1::AcceleratorModel* m = r.add_models();
            m->set_model(model);
            m->set_milli_p_per_device(milli_p);
            m->set_domestic(domestic);
        }
        return call<cpx::v1::AcceleratorTable>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::AcceleratorTable& out) {
                return admin_->SetAcceleratorTable(&c, r, &out);
            });
    }
    Answer<cpx::v1::RegisterCapacityResponse> register_capacity_as(
        const Party& who, const cpx::v1::RegisterCapacityRequest& r) {
        return call<cpx::v1::RegisterCapacityResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::RegisterCapacityResponse& out) {
                return admin_->RegisterCapacity(&c, r, &out);
            });
    }
    static cpx::v1::RegisterCapacityRequest token_registration(std::uint32_t account,
                                                               std::int64_t bundles) {
        cpx::v1::RegisterCapacityRequest r;
        r.set_account_id(account);
        r.set_kind(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
        r.set_hub(std::string(kTokenHub));
        r.set_window_start_ns(kWindowStart);
        r.set_window_end_ns(kWindowEnd);
        r.set_token_bundles(bundles);
        return r;
    }
    static cpx::v1::RegisterCapacityRequest compute_registration(std::uint32_t account,
                                                                 const std::string& model,
                                                                 std::uint32_t devices) {
        cpx::v1::RegisterCapacityRequest r;
        r.set_account_id(account);
        r.set_kind(cpx::v1::INSTRUMENT_KIND_COMPUTE);
        r.set_hub(std::string(kComputeHub));
        r.set_window_start_ns(kWindowStart);
        r.set_window_end_ns(kWindowEnd);
        r.set_accelerator_model(model);
        r.set_device_count(devices);
        r.set_green_power_bps(5'000);
        return r;
    }
    Answer<cpx::v1::RegisterCapacityResponse> register_tokens(const Party& provider,
                                                              std::int64_t bundles) {
        return register_capacity_as(operator_, token_registration(provider.id, bundles));
    }
    Answer<cpx::v1::RegisterCapacityResponse> register_compute(const Party& provider,
                                                               const std::string& model,
                                                               std::uint32_t devices) {
        return register_capacity_as(operator_, compute_registration(provider.id, model, devices));
    }

    Answer<cpx::v1::CreditDepositResponse> credit_collateral_as(const Party& who,
                                                                std::uint32_t account,
                                                                std::int64_t amount,
                                                                const std::string& deposit_id) {
        cpx::v1::CreditDepositRequest r;
        r.set_account_id(account);
        r.set_amount_fen(amount);
        r.set_deposit_id(deposit_id);
        return call<cpx::v1::CreditDepositResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::CreditDepositResponse& out) {
                return admin_->CreditCollateral(&c, r, &out);
            });
    }

    // --- Settlement ---

    Answer<cpx::v1::ListObligationsResponse> list_obligations(
        const Party& who, std::uint32_t account = 0,
        cpx::v1::ObligationState state = cpx::v1::OBLIGATION_STATE_UNSPECIFIED) {
        cpx::v1::ListObligationsRequest r;
        r.set_account_id(account);
        r.set_state(state);
        return call<cpx::v1::ListObligationsResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ListObligationsResponse& out) {
                return settlement_->ListObligations(&c, r, &out);
            });
    }
    Answer<cpx::v1::Obligation> confirm_delivery(const Party& who, std::uint64_t obligation,
                                                 std::int64_t delivered) {
        cpx::v1::ConfirmDeliveryRequest r;
        r.set_obligation_id(obligation);
        r.set_delivered_quantity(delivered);
        return call<cpx::v1::Obligation>(who.key,
                                         [&](grpc::ClientContext& c, cpx::v1::Obligation& out) {
                                             return settlement_->ConfirmDelivery(&c, r, &out);
                                         });
    }
    Answer<cpx::v1::Obligation> dispute_delivery(const Party& who, std::uint64_t obligation,
                                                 const std::string& note = "") {
        cpx::v1::DisputeDeliveryRequest r;
        r.set_obligation_id(obligation);
        r.set_note(note);
        return call<cpx::v1::Obligation>(who.key,
                                         [&](grpc::ClientContext& c, cpx::v1::Obligation& out) {
                                             return settlement_->DisputeDelivery(&c, r, &out);
                                         });
    }
    Answer<cpx::v1::ResolveDisputeResponse> resolve_dispute_as(const Party& who,
                                                               std::uint64_t obligation,
                                                               cpx::v1::DisputeDecision decision,
                                                               const std::string& note = "") {
        cpx::v1::ResolveDisputeRequest r;
        r.set_obligation_id(obligation);
        r.set_decision(decision);
        r.set_note(note);
        return call<cpx::v1::ResolveDisputeResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ResolveDisputeResponse& out) {
                return settlement_->ResolveDispute(&c, r, &out);
            });
    }
    Answer<cpx::v1::SettlementRunResponse> run_settlement_as(const Party& who,
                                                             std::uint32_t limit = 0) {
        cpx::v1::RunSettlementRequest r;
        r.set_limit(limit);
        return call<cpx::v1::SettlementRunResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::SettlementRunResponse& out) {
                return settlement_->RunSettlement(&c, r, &out);
            });
    }

    // After whatever a test did: a fresh pair of accounts still trades at the expected
    // price, so the book and the order path are intact. The instrument must have no ask
    // at or below 90 000 fen of its own.
    void expect_market_still_trades(std::uint32_t instrument = kTokens) {
        const Party seller = create_account(cpx::v1::ROLE_PROVIDER, next_id("check-seller-"));
        const Party taker = create_account(cpx::v1::ROLE_BUYER, next_id("check-buyer-"));
        ASSERT_TRUE(register_tokens(seller, 100).ok());
        ASSERT_TRUE(deposit(taker, 1'000'000).ok());
        // Far above every test's bids, so that it rests at the top of the book.
        const auto ask = sell(seller, instrument, 90'000, 3);
        ASSERT_TRUE(ask.ok()) << ask.status.error_message();
        const auto bid = place(taker, [&] {
            cpx::v1::NewOrder o =
                limit(next_id("check-"), instrument, cpx::v1::SIDE_BUY, 90'000, 3);
            o.set_time_in_force(cpx::v1::TIME_IN_FORCE_IOC);
            return o;
        }());
        ASSERT_TRUE(bid.ok()) << bid.status.error_message();
        EXPECT_EQ(bid.response.status(), cpx::v1::ORDER_STATUS_FILLED);
        ASSERT_EQ(bid.response.fills_size(), 1);
        EXPECT_EQ(bid.response.fills(0).price_fen(), 90'000);
        EXPECT_EQ(bid.response.fills(0).quantity(), 3);
    }

    std::unique_ptr<Server> server_;
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<cpx::v1::OrderEntry::Stub> orders_;
    std::unique_ptr<cpx::v1::MarketData::Stub> market_;
    std::unique_ptr<cpx::v1::AccountQuery::Stub> queries_;
    std::unique_ptr<cpx::v1::Admin::Stub> admin_;
    std::unique_ptr<cpx::v1::Settlement::Stub> settlement_;
    Party operator_;
    Party buyer_;
    Party provider_;
    std::uint32_t last_account_ = 1;
    std::atomic<std::uint64_t> client_ids_{0};
};

}  // namespace cpx::gateway::test
