// Nothing cpxd acknowledges is lost, and nothing trades twice, when the process dies
// without warning. The test runs the real cpxd binary on a fresh PostgreSQL database,
// drives it with buyers and providers over gRPC on loopback, kills it with SIGKILL at a
// random moment several times, restarts it on the same database, and checks every
// acknowledgement the clients received against the rebuilt exchange: each acknowledged
// order is still known by its client order id with the same order id, each
// acknowledged trade is still there with its price and quantity, no trade id appears
// twice, and the buyer's money adds up. The restart itself checks the rebuilt state
// against the state hashes the journal recorded. In the end, the ledger projector
// (killed with cpxd every round) has written a ledger that balances and an obligation
// for every acknowledged trade.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>

#include "child_process.hpp"
#include "cpx/store/database.hpp"
#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "cpx/v1/orders.grpc.pb.h"
#include "test_database.hpp"

namespace cpx::recovery::test {
namespace {

using namespace std::chrono_literals;
using cpx::test::Child;
using cpx::test::json_number;

constexpr std::uint32_t kInstrument = 1;
constexpr std::int64_t kWindowStart = 1'893'456'000'000'000'000;  // 2030
constexpr std::int64_t kWindowEnd = kWindowStart + 10 * 3'600'000'000'000;
constexpr std::int64_t kDeposit = 1'000'000'000'000;
constexpr std::int64_t kBundles = 100'000'000;
constexpr char kOperatorKey[] = "cpx_recovery_test_operator_key";

double test_scale() {
    const char* text = std::getenv("CPX_TEST_SCALE");
    const double scale = text == nullptr ? 1.0 : std::atof(text);
    return scale > 0 && scale <= 1 ? scale : 1.0;
}

std::unique_ptr<grpc::ClientContext> context_with(const std::string& key,
                                                  std::chrono::milliseconds timeout = 10s) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-api-key", key);
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
}

// One cpxd process on the test's database.
class Cpxd {
  public:
    explicit Cpxd(const std::string& database_url)
        : child_({CPXD_PATH, "--listen=127.0.0.1:0", "--ops_port=0",
                  std::string("--operator_key=") + kOperatorKey, "--order_capacity=65536",
                  "--client_id_window=262144", "--report_retention=262144",
                  "--database_url=" + database_url, "--checkpoint_every=5000",
                  // Most restarts replay a little: they snapshot, and the next one loads
                  // that snapshot and replays only what came after it.
                  "--snapshot_after_replay=2000"}) {}

    // Waits until it serves; false (the log tells why) when it does not.
    bool wait_started() {
        if (!child_.started() || !child_.wait_for_line("\"event\":\"cpxd_started\"", 120s)) {
            return false;
        }
        const std::string text = child_.stderr_text();
        port_ = json_number(text.substr(text.find("\"event\":\"cpxd_started\"")), "grpc_port");
        channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                       grpc::InsecureChannelCredentials());
        return port_ > 0;
    }
    std::shared_ptr<grpc::Channel> channel() const { return channel_; }
    void kill() {
        ::kill(child_.pid(), SIGKILL);
        child_.wait_exit(30s);
    }
    // SIGTERM; true when it exits 0.
    bool stop() {
        ::kill(child_.pid(), SIGTERM);
        const auto status = child_.wait_exit(60s);
        return status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
    }
    const std::string& log() const { return child_.stderr_text(); }

  private:
    Child child_;
    std::int64_t port_ = 0;
    std::shared_ptr<grpc::Channel> channel_;
};

struct Party {
    std::uint32_t id = 0;
    std::string key;
};

// What a client was told: the first answer to each client order id, and each trade.
struct Acknowledged {
    std::mutex mutex;
    std::map<std::string, cpx::v1::ExecutionReport> orders;  // by client order id
    std::map<std::uint64_t, cpx::v1::Fill> trades;           // by trade id
    std::vector<std::string> answered;  // client order ids, in the order answered
    std::set<std::string> in_doubt;     // sent, no answer before the kill
};

cpx::v1::NewOrder order_of(const std::string& client_order_id, cpx::v1::Side side,
                           std::int64_t price, std::int64_t quantity) {
    cpx::v1::NewOrder o;
    o.set_client_order_id(client_order_id);
    o.set_instrument_id(kInstrument);
    o.set_side(side);
    o.set_order_type(cpx::v1::ORDER_TYPE_LIMIT);
    o.set_time_in_force(cpx::v1::TIME_IN_FORCE_GTC);
    o.set_price_fen(price);
    o.set_quantity(quantity);
    return o;
}

class KillRecovery : public ::testing::Test {
  protected:
    // Lists the instrument and admits a funded buyer and a provider with capacity.
    void set_up_market(const std::shared_ptr<grpc::Channel>& channel) {
        auto admin = cpx::v1::Admin::NewStub(channel);
        cpx::v1::AddInstrumentRequest add;
        cpx::v1::Instrument& i = *add.mutable_instrument();
        i.set_instrument_id(kInstrument);
        i.set_symbol("HOHHOT-TOKENS-2030");
        i.set_kind(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
        i.set_hub("HOHHOT");
        i.set_unit("1M-tokens");
        i.set_window_start_ns(kWindowStart);
        i.set_window_end_ns(kWindowEnd);
        i.set_tick_size_fen(1);
        i.set_lot_size(1);
        i.set_quantity_min(1);
        i.set_quantity_max(1'000'000);
        i.set_price_min_fen(1);
        i.set_price_max_fen(100'000);
        i.set_market_protection_ticks(100);
        i.set_state(cpx::v1::TRADING_STATE_CONTINUOUS);
        cpx::v1::Instrument listed;
        ASSERT_TRUE(admin->AddInstrument(context_with(kOperatorKey).get(), add, &listed).ok());
        buyer_ = admit(*admin, cpx::v1::ROLE_BUYER, "buyer");
        provider_ = admit(*admin, cpx::v1::ROLE_PROVIDER, "provider");
        cpx::v1::CreditDepositRequest deposit;
        deposit.set_account_id(buyer_.id);
        deposit.set_amount_fen(kDeposit);
        deposit.set_deposit_id("kill-test-deposit");
        cpx::v1::CreditDepositResponse deposited;
        ASSERT_TRUE(
            admin->CreditDeposit(context_with(kOperatorKey).get(), deposit, &deposited).ok());
        cpx::v1::RegisterCapacityRequest capacity;
        capacity.set_account_id(provider_.id);
        capacity.set_kind(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
        capacity.set_hub("HOHHOT");
        capacity.set_window_start_ns(kWindowStart);
        capacity.set_window_end_ns(kWindowEnd);
        capacity.set_token_bundles(kBundles);
        cpx::v1::RegisterCapacityResponse registered;
        const grpc::Status s =
            admin->RegisterCapacity(context_with(kOperatorKey).get(), capacity, &registered);
        ASSERT_TRUE(s.ok()) << s.error_message();
    }

    Party admit(cpx::v1::Admin::Stub& admin, cpx::v1::Role role, const std::string& name) {
        cpx::v1::CreateAccountRequest create;
        create.mutable_account()->set_name(name);
        create.mutable_account()->set_role(role);
        cpx::v1::Account account;
        EXPECT_TRUE(admin.CreateAccount(context_with(kOperatorKey).get(), create, &account).ok());
        cpx::v1::CreateApiKeyRequest key_request;
        key_request.set_account_id(account.account_id());
        cpx::v1::CreateApiKeyResponse key;
        EXPECT_TRUE(admin.CreateApiKey(context_with(kOperatorKey).get(), key_request, &key).ok());
        return Party{account.account_id(), key.api_key()};
    }

    // One trader: places orders one after another until told to stop, and keeps what
    // it was told. Prices overlap so that orders rest, cross and trade.
    void trade(const std::shared_ptr<grpc::Channel>& channel, const Party& who, bool buyer,
               const std::string& prefix, std::atomic<bool>& stop) {
        auto orders = cpx::v1::OrderEntry::NewStub(channel);
        std::mt19937_64 random(std::hash<std::string>{}(prefix));
        for (std::uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            const std::string id = prefix + "-" + std::to_string(n);
            const std::int64_t price = buyer ? 95 + static_cast<std::int64_t>(random() % 10)
                                             : 97 + static_cast<std::int64_t>(random() % 10);
            const auto order = order_of(id, buyer ? cpx::v1::SIDE_BUY : cpx::v1::SIDE_SELL, price,
                                        1 + static_cast<std::int64_t>(random() % 5));
            cpx::v1::ExecutionReport report;
            const grpc::Status s =
                orders->PlaceOrder(context_with(who.key, 5s).get(), order, &report);
            std::lock_guard lock(acked_.mutex);
            if (!s.ok()) {
                // Killed under it: the order may or may not have become durable.
                acked_.in_doubt.insert(id);
                sent_[id] = order;
                return;
            }
            acked_.orders.emplace(id, report);
            acked_.answered.push_back(id);
            sent_[id] = order;
            // A trade shows in the answer of the order that took liquidity.
            for (const cpx::v1::Fill& f : report.fills()) {
                acked_.trades.emplace(f.trade_id(), f);
            }
        }
    }

    // Every acknowledgement so far, checked against a restarted cpxd.
    void verify(const std::shared_ptr<grpc::Channel>& channel) {
        auto orders = cpx::v1::OrderEntry::NewStub(channel);
        auto queries = cpx::v1::AccountQuery::NewStub(channel);
        // Each acknowledged order is known by its client order id: sending it again
        // returns the first answer, with the same order id. A sample keeps the sanitizer
        // build quick; the orders acknowledged last before a kill, the likeliest to be
        // lost, are all in it.
        std::vector<std::string> sample;
        for (const auto& [id, report] : acked_.orders) {
            if (std::hash<std::string>{}(id) % 8 == 0 || recent_.count(id) != 0) {
                sample.push_back(id);
            }
        }
        for (const std::string& id : sample) {
            const cpx::v1::ExecutionReport& first = acked_.orders.at(id);
            const Party& who = sent_.at(id).side() == cpx::v1::SIDE_BUY ? buyer_ : provider_;
            cpx::v1::ExecutionReport again;
            const grpc::Status s =
                orders->PlaceOrder(context_with(who.key).get(), sent_.at(id), &again);
            ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
            EXPECT_TRUE(again.duplicate()) << id << " was acknowledged and then forgotten";
            EXPECT_EQ(again.order_id(), first.order_id()) << id;
            EXPECT_EQ(again.exec_type(), first.exec_type()) << id;
            EXPECT_EQ(again.filled_quantity(), first.filled_quantity()) << id;
            ++verified_orders_;
        }
        // Each acknowledged trade is there once, with its price and quantity.
        cpx::v1::AccountRequest request;
        request.set_account_id(buyer_.id);
        cpx::v1::FillsResponse fills;
        const grpc::Status s = queries->GetFills(context_with(buyer_.key).get(), request, &fills);
        ASSERT_TRUE(s.ok()) << s.error_message();
        std::map<std::uint64_t, cpx::v1::AccountFill> by_trade;
        std::int64_t cost = 0;
        for (const cpx::v1::AccountFill& f : fills.fills()) {
            EXPECT_TRUE(by_trade.emplace(f.trade_id(), f).second)
                << "trade " << f.trade_id() << " happened twice";
            cost += f.price_fen() * f.quantity();
        }
        for (const auto& [trade_id, fill] : acked_.trades) {
            const auto it = by_trade.find(trade_id);
            ASSERT_NE(it, by_trade.end()) << "acknowledged trade " << trade_id << " is lost";
            EXPECT_EQ(it->second.price_fen(), fill.price_fen()) << trade_id;
            EXPECT_EQ(it->second.quantity(), fill.quantity()) << trade_id;
        }
        // The buyer paid for exactly the trades it has.
        cpx::v1::BalancesResponse balances;
        ASSERT_TRUE(queries->GetBalances(context_with(buyer_.key).get(), request, &balances).ok());
        EXPECT_EQ(balances.balance_fen() + balances.unsettled_fen(), kDeposit)
            << "cost of fills " << cost;
        EXPECT_EQ(balances.unsettled_fen(), cost);
        verified_trades_ = acked_.trades.size();
    }

    // The ledger projector, killed with cpxd each round, caught up with the journal in
    // the end: PostgreSQL's ledger balances and holds every acknowledged trade once.
    void verify_projection() {
        const auto connection = cpx::store::connect(database_.url());
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (true) {
            pqxx::read_transaction tx(*connection);
            const pqxx::row row = tx.exec1(
                "SELECT (SELECT seq FROM projector_progress), (SELECT max(seq) FROM journal)");
            if (row[0].as<std::int64_t>() == row[1].as<std::int64_t>()) {
                break;
            }
            ASSERT_LT(std::chrono::steady_clock::now(), deadline)
                << "the projector is at seq " << row[0].c_str() << " of " << row[1].c_str();
            std::this_thread::sleep_for(20ms);
        }
        pqxx::read_transaction tx(*connection);
        EXPECT_TRUE(tx.exec1("SELECT debits_posted = credits_posted AND debits_pending = "
                             "credits_pending FROM ledger_totals")[0]
                        .as<bool>());
        EXPECT_EQ(tx.exec("SELECT 1 FROM ledger_balance_check").size(), 0u);
        std::map<std::uint64_t, std::pair<std::int64_t, std::int64_t>> stored;
        for (const pqxx::row& r : tx.exec("SELECT id, price, quantity FROM obligations")) {
            stored[r[0].as<std::uint64_t>()] = {r[1].as<std::int64_t>(), r[2].as<std::int64_t>()};
        }
        for (const auto& [id, fill] : acked_.trades) {
            const auto it = stored.find(id);
            ASSERT_NE(it, stored.end()) << "trade " << id << " has no obligation in PostgreSQL";
            EXPECT_EQ(it->second.first, fill.price_fen()) << id;
            EXPECT_EQ(it->second.second, fill.quantity()) << id;
        }
    }

    cpx::test::TestDatabase database_;
    Party buyer_;
    Party provider_;
    Acknowledged acked_;
    std::map<std::string, cpx::v1::NewOrder> sent_;
    std::set<std::string> recent_;
    std::size_t verified_orders_ = 0;
    std::size_t verified_trades_ = 0;
};

TEST_F(KillRecovery, AcknowledgedOrdersAndTradesSurviveSigkillAndNothingTradesTwice) {
    const int kills = test_scale() >= 1 ? 5 : 3;
    std::mt19937 random(20261130);
    for (int round = 0; round <= kills; ++round) {
        Cpxd cpxd(database_.url());
        ASSERT_TRUE(cpxd.wait_started()) << cpxd.log();
        if (round == 0) {
            set_up_market(cpxd.channel());
            ASSERT_FALSE(HasFatalFailure());
        } else {
            verify(cpxd.channel());
            ASSERT_FALSE(HasFatalFailure()) << cpxd.log();
            // In-doubt orders are retried with the same client order id, as a client
            // does after a failure: each is then applied exactly once.
            auto orders = cpx::v1::OrderEntry::NewStub(cpxd.channel());
            for (const std::string& id : acked_.in_doubt) {
                const Party& who = sent_.at(id).side() == cpx::v1::SIDE_BUY ? buyer_ : provider_;
                cpx::v1::ExecutionReport report;
                const grpc::Status s =
                    orders->PlaceOrder(context_with(who.key).get(), sent_.at(id), &report);
                ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
                acked_.orders.emplace(id, report);
                for (const cpx::v1::Fill& f : report.fills()) {
                    acked_.trades.emplace(f.trade_id(), f);
                }
            }
            acked_.in_doubt.clear();
        }
        if (round == kills) {
            // A clean stop writes a last checkpoint; the restart after it checks the
            // whole state against it.
            ASSERT_TRUE(cpxd.stop()) << cpxd.log();
            Cpxd again(database_.url());
            ASSERT_TRUE(again.wait_started()) << again.log();
            verify(again.channel());
            // It loaded the snapshot the clean stop wrote, and replayed nothing.
            const std::string recovered =
                again.log().substr(again.log().find("\"event\":\"journal_recovered\""));
            EXPECT_GT(json_number(recovered, "snapshot_seq"), 0) << recovered;
            EXPECT_EQ(json_number(recovered, "replayed"), 0) << recovered;
            verify_projection();
            ASSERT_TRUE(again.stop()) << again.log();
            break;
        }
        const std::size_t before = acked_.orders.size();
        std::atomic<bool> stop{false};
        std::vector<std::thread> traders;
        for (int t = 0; t < 4; ++t) {
            const bool buyer = t % 2 == 0;
            traders.emplace_back([&, t, buyer] {
                trade(cpxd.channel(), buyer ? buyer_ : provider_, buyer,
                      "r" + std::to_string(round) + "t" + std::to_string(t), stop);
            });
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 900));
        cpxd.kill();
        stop.store(true);
        for (std::thread& t : traders) {
            t.join();
        }
        // The last answers before the kill are checked in full next round.
        recent_.clear();
        const std::size_t last = std::min<std::size_t>(acked_.answered.size(), 200);
        recent_.insert(acked_.answered.end() - static_cast<std::ptrdiff_t>(last),
                       acked_.answered.end());
        EXPECT_GT(acked_.orders.size(), before) << "no order was acknowledged this round";
    }
    EXPECT_GT(verified_orders_, 0u);
    EXPECT_GT(verified_trades_, 0u);
}

TEST(JournalLock, ASecondCpxdOnTheSameDatabaseRefusesToStart) {
    cpx::test::TestDatabase database;
    Cpxd first(database.url());
    ASSERT_TRUE(first.wait_started()) << first.log();
    // Two writers would give different requests the same sequence numbers.
    Child second({CPXD_PATH, "--listen=127.0.0.1:0", "--ops_port=0",
                  std::string("--operator_key=") + kOperatorKey,
                  "--database_url=" + database.url()});
    const auto status = second.wait_exit(60s);
    ASSERT_TRUE(status.has_value()) << "the second cpxd kept running";
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 1);
    EXPECT_NE(second.stderr_text().find("another cpxd is writing"), std::string::npos)
        << second.stderr_text();
    // The lock goes with the process: after the first is killed, a new one starts.
    first.kill();
    Cpxd third(database.url());
    ASSERT_TRUE(third.wait_started()) << third.log();
    EXPECT_TRUE(third.stop()) << third.log();
}

}  // namespace
}  // namespace cpx::recovery::test
