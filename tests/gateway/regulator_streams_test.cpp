// The regulators' real-time streams (Audit.DropCopy and Audit.Alerts) over real gRPC on
// loopback, against a server with a database of its own: every trade made after the
// subscription arrives on the drop copy with the audit log's position, leaf hash and
// chain head for it, and its leaf hash is the one a regulator computes from the trade's
// canonical record; a wash trade's alert arrives on the alerts stream with the trade;
// and only regulators and operators may subscribe.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/audit/merkle.hpp"
#include "cpx/audit/records.hpp"
#include "cpx/audit/sha256.hpp"
#include "cpx/store/database.hpp"
#include "record_fixture.hpp"
#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

// The projector polls the journal every 20 ms; a loaded machine may take far longer.
constexpr std::chrono::milliseconds kProjectionTimeout{30'000};

using DropCopy = StreamCollector<cpx::v1::DropCopyMessage>;
using Alerts = StreamCollector<cpx::v1::AlertMessage>;

// The trade's audit_log row.
struct LogRow {
    std::uint64_t position = 0;
    std::string leaf_hash;
    std::string head;
};

std::optional<LogRow> trade_row(const std::string& url, std::uint64_t trade_id) {
    const auto connection = store::connect(url);
    pqxx::read_transaction tx(*connection);
    const pqxx::result r =
        tx.exec("SELECT position, leaf_hash, head FROM audit_log WHERE kind = 3 AND ref = " +
                std::to_string(trade_id));
    if (r.size() != 1) {
        return std::nullopt;
    }
    return LogRow{r[0][0].as<std::uint64_t>(), pqxx::binarystring(r[0][1]).str(),
                  pqxx::binarystring(r[0][2]).str()};
}

// The trade's canonical record, rebuilt from the drop copy's fields alone.
std::string record_of(const cpx::v1::DropCopyMessage& m) {
    audit::CanonicalWriter w;
    audit::encode_record(
        audit::TradeRecord{m.trade_id(), m.instrument_id(), m.buyer_account_id(),
                           m.provider_account_id(), m.buy_order_id(), m.sell_order_id(), m.price(),
                           m.quantity(), m.amount_fen(), m.traded_ns(), m.window_end_ns(), m.seq()},
        w);
    return std::string(w.data());
}

class RegulatorStreams : public GatewayWithRecord {
  protected:
    void configure(ServerConfig& config) override {
        GatewayWithRecord::configure(config);
        config.audit_checkpoint_interval_ms = 0;
    }

    std::unique_ptr<DropCopy> subscribe_drop_copy(const std::string& key) {
        return std::make_unique<DropCopy>([this, key](grpc::ClientContext* context) {
            if (!key.empty()) {
                context->AddMetadata("x-api-key", key);
            }
            return audit_->DropCopy(context, cpx::v1::DropCopyRequest());
        });
    }
    std::unique_ptr<Alerts> subscribe_alerts(const std::string& key) {
        return std::make_unique<Alerts>([this, key](grpc::ClientContext* context) {
            if (!key.empty()) {
                context->AddMetadata("x-api-key", key);
            }
            return audit_->Alerts(context, cpx::v1::AlertsRequest());
        });
    }

    // Waits until `count` regulator streams are subscribed: what commits from then on
    // reaches them.
    bool wait_subscribed(std::size_t count) {
        const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
        while (server_->regulator_streams() < count) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    // `seller` sells and `taker` buys `quantity` at `price` of the token instrument: one
    // trade; its id (0 and a failed expectation when it did not trade).
    std::uint64_t trade(const Party& seller, const Party& taker, std::int64_t price,
                        std::int64_t quantity) {
        const auto ask = sell(seller, kTokens, price, quantity);
        EXPECT_TRUE(ask.ok()) << ask.status.error_message();
        const auto bid = buy(taker, kTokens, price, quantity);
        EXPECT_TRUE(bid.ok()) << bid.status.error_message();
        if (bid.response.fills_size() != 1) {
            ADD_FAILURE() << "expected one fill, got " << bid.response.fills_size();
            return 0;
        }
        return bid.response.fills(0).trade_id();
    }

    // An account of the owner group `group`.
    Party member_of(cpx::v1::Role role, const std::string& name, const std::string& group) {
        cpx::v1::Account spec;
        spec.set_name(name);
        spec.set_role(role);
        spec.set_owner_group(group);
        const auto account = create_account_as(operator_, spec);
        EXPECT_TRUE(account.ok()) << account.status.error_message();
        const auto key = create_api_key_as(operator_, account.response.account_id());
        EXPECT_TRUE(key.ok()) << key.status.error_message();
        return Party{account.response.account_id(), key.response.api_key()};
    }
};

TEST_F(RegulatorStreams, EveryTradeArrivesWithItsAuditPlaceAndTheWashTradeItsAlert) {
    const Party wash_buyer = member_of(cpx::v1::ROLE_BUYER, "wash-buyer", "wash-group");
    const Party wash_provider = member_of(cpx::v1::ROLE_PROVIDER, "wash-provider", "wash-group");
    ASSERT_TRUE(deposit(wash_buyer, kBuyerDeposit).ok());
    ASSERT_TRUE(register_tokens(wash_provider, 1'000).ok());

    const std::unique_ptr<DropCopy> drop_copy = subscribe_drop_copy(regulator_.key);
    // An operator may subscribe too.
    const std::unique_ptr<Alerts> alerts = subscribe_alerts(operator_.key);
    ASSERT_TRUE(wait_subscribed(2));

    std::vector<std::uint64_t> trades;
    trades.push_back(trade(provider_, buyer_, 40, 3));
    trades.push_back(trade(provider_, buyer_, 42, 5));
    const std::uint64_t wash = trade(wash_provider, wash_buyer, 41, 2);
    trades.push_back(wash);
    trades.push_back(trade(provider_, buyer_, 43, 1));
    for (const std::uint64_t id : trades) {
        ASSERT_NE(id, 0u);
    }

    ASSERT_TRUE(drop_copy->wait_count(trades.size(), kProjectionTimeout))
        << drop_copy->messages().size() << " of " << trades.size() << " trades arrived";
    const std::vector<cpx::v1::DropCopyMessage> copies = drop_copy->messages();
    ASSERT_EQ(copies.size(), trades.size());
    for (std::size_t i = 0; i < copies.size(); ++i) {
        const cpx::v1::DropCopyMessage& m = copies[i];
        // In the order the trades were made, which is the audit log's.
        EXPECT_EQ(m.trade_id(), trades[i]);
        if (i > 0) {
            EXPECT_GT(m.position(), copies[i - 1].position());
            EXPECT_GT(m.seq(), copies[i - 1].seq());
        }
        EXPECT_EQ(m.instrument_id(), kTokens);
        EXPECT_EQ(m.amount_fen(), m.price() * m.quantity());
        const std::optional<LogRow> row = trade_row(db_.url(), m.trade_id());
        ASSERT_TRUE(row.has_value()) << "trade " << m.trade_id() << " is not in audit_log";
        EXPECT_EQ(m.position(), row->position);
        EXPECT_EQ(m.leaf_hash(), row->leaf_hash);
        EXPECT_EQ(m.chain_head(), row->head);
        // What a regulator checks on its own: the leaf hash is the record's.
        EXPECT_EQ(digest_of(m.leaf_hash()), audit::leaf_hash(record_of(m)));
    }
    EXPECT_EQ(copies[2].buyer_account_id(), wash_buyer.id);
    EXPECT_EQ(copies[2].provider_account_id(), wash_provider.id);
    EXPECT_EQ(copies[1].price(), 42);
    EXPECT_EQ(copies[1].quantity(), 5);

    const auto washed = [wash](const std::vector<cpx::v1::AlertMessage>& messages) {
        return std::any_of(messages.begin(), messages.end(), [wash](const auto& a) {
            return a.rule() == "wash_trade" && std::find(a.trade_ids().begin(), a.trade_ids().end(),
                                                         wash) != a.trade_ids().end();
        });
    };
    ASSERT_TRUE(alerts->wait_until(washed, kProjectionTimeout));
    const std::vector<cpx::v1::AlertMessage> raised = alerts->messages();
    ASSERT_EQ(raised.size(), 1u);
    const cpx::v1::AlertMessage& alert = raised.front();
    EXPECT_EQ(alert.seq(), copies[2].seq());
    EXPECT_EQ(alert.instrument_id(), kTokens);
    ASSERT_EQ(alert.order_ids_size(), 2);
    EXPECT_EQ(alert.order_ids(0), copies[2].buy_order_id());
    EXPECT_EQ(alert.order_ids(1), copies[2].sell_order_id());
    EXPECT_FALSE(alert.detail().empty());
    // The alert is the row surveillance_alerts holds.
    const auto connection = store::connect(db_.url());
    pqxx::read_transaction tx(*connection);
    const pqxx::row stored =
        tx.exec1("SELECT idx, ts_ns, account, detail FROM surveillance_alerts WHERE seq = " +
                 std::to_string(alert.seq()));
    EXPECT_EQ(stored[0].as<std::uint32_t>(), alert.idx());
    EXPECT_EQ(stored[1].as<std::int64_t>(), alert.ts_ns());
    EXPECT_EQ(stored[2].as<std::uint64_t>(), alert.account_id());
    EXPECT_EQ(stored[3].as<std::string>(), alert.detail());
}

TEST_F(RegulatorStreams, StartAtTheSubscriptionAndEndCleanlyAtShutdown) {
    const std::uint64_t before = trade(provider_, buyer_, 40, 1);
    ASSERT_NE(before, 0u);
    // Wait until the earlier trade is committed, so that it cannot reach the stream.
    const auto deadline = std::chrono::steady_clock::now() + kProjectionTimeout;
    while (!trade_row(db_.url(), before) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(trade_row(db_.url(), before).has_value());

    const std::unique_ptr<DropCopy> drop_copy = subscribe_drop_copy(regulator_.key);
    ASSERT_TRUE(wait_subscribed(1));
    const std::uint64_t after = trade(provider_, buyer_, 41, 1);
    ASSERT_TRUE(drop_copy->wait_count(1, kProjectionTimeout));
    EXPECT_EQ(drop_copy->messages().front().trade_id(), after);

    server_->shutdown();
    const std::optional<grpc::Status> ended = drop_copy->wait_finished();
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAVAILABLE) << ended->error_message();
    EXPECT_EQ(error_reason(*ended), "SHUTTING_DOWN");
    EXPECT_EQ(drop_copy->messages().size(), 1u);
}

TEST_F(RegulatorStreams, AreRefusedToOtherAccountsAndWithoutAKey) {
    for (const Party* who : {&buyer_, &provider_}) {
        const std::unique_ptr<DropCopy> drop_copy = subscribe_drop_copy(who->key);
        const std::optional<grpc::Status> ended = drop_copy->wait_finished();
        ASSERT_TRUE(ended.has_value());
        EXPECT_EQ(ended->error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << ended->error_message();
        EXPECT_EQ(error_reason(*ended), "NOT_A_REGULATOR");
        const std::unique_ptr<Alerts> alerts = subscribe_alerts(who->key);
        const std::optional<grpc::Status> alerts_ended = alerts->wait_finished();
        ASSERT_TRUE(alerts_ended.has_value());
        EXPECT_EQ(alerts_ended->error_code(), grpc::StatusCode::PERMISSION_DENIED);
    }
    const std::unique_ptr<DropCopy> anonymous = subscribe_drop_copy("");
    const std::optional<grpc::Status> ended = anonymous->wait_finished();
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAUTHENTICATED) << ended->error_message();
    const std::unique_ptr<Alerts> unknown = subscribe_alerts("no-such-key");
    const std::optional<grpc::Status> unknown_ended = unknown->wait_finished();
    ASSERT_TRUE(unknown_ended.has_value());
    EXPECT_EQ(unknown_ended->error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(server_->regulator_streams(), 0u);
}

// A stream's queue holds one message here, so a batch of two trades does not fit.
class RegulatorStreamsOfOneSlot : public RegulatorStreams {
  protected:
    void configure(ServerConfig& config) override {
        RegulatorStreams::configure(config);
        config.gateway.regulator_stream_slots = 1;
    }
};

TEST_F(RegulatorStreamsOfOneSlot, EndAStreamThatABatchDoesNotFitRatherThanWait) {
    const std::unique_ptr<DropCopy> drop_copy = subscribe_drop_copy(regulator_.key);
    ASSERT_TRUE(wait_subscribed(1));
    // One bid takes two asks: two trades of one request, so of one batch.
    ASSERT_TRUE(sell(provider_, kTokens, 40, 1).ok());
    ASSERT_TRUE(sell(provider_, kTokens, 41, 1).ok());
    const auto bid = buy(buyer_, kTokens, 41, 2);
    ASSERT_TRUE(bid.ok()) << bid.status.error_message();
    ASSERT_EQ(bid.response.fills_size(), 2);

    const std::optional<grpc::Status> ended = drop_copy->wait_finished(kProjectionTimeout);
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << ended->error_message();
    EXPECT_EQ(error_reason(*ended), "SLOW_CONSUMER");
    EXPECT_TRUE(drop_copy->messages().empty());
    // The stream is gone from the hub once gRPC is done with it.
    const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
    while (server_->regulator_streams() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(server_->regulator_streams(), 0u);
}

// A server that keeps no database has no projection to stream.
class RegulatorStreamsWithoutDatabase : public GatewayFixture {};

TEST_F(RegulatorStreamsWithoutDatabase, AreUnavailable) {
    const std::unique_ptr<cpx::v1::Audit::Stub> audit = cpx::v1::Audit::NewStub(channel_);
    const Party regulator = create_account(cpx::v1::ROLE_REGULATOR, "regulator");
    DropCopy drop_copy([&audit, &regulator](grpc::ClientContext* context) {
        context->AddMetadata("x-api-key", regulator.key);
        return audit->DropCopy(context, cpx::v1::DropCopyRequest());
    });
    const std::optional<grpc::Status> ended = drop_copy.wait_finished();
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAVAILABLE) << ended->error_message();
    EXPECT_EQ(error_reason(*ended), "NO_DATABASE");
}

}  // namespace
}  // namespace cpx::gateway::test
