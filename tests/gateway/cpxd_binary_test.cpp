// The cpxd binary as an operator runs it: spawned with flags, it logs where it listens,
// serves gRPC and its operations endpoint, and shuts down cleanly on SIGTERM.

#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <thread>

#include "child_process.hpp"
#include "http_get.hpp"
#include "stream_clients.hpp"

namespace cpx::gateway::test {
namespace {

using cpx::test::Child;
using cpx::test::json_number;

using namespace std::chrono_literals;

TEST(GatewayBinary, CpxdServesAndShutsDownCleanlyOnSigterm) {
    const std::string key = "cpx_binary_test_operator_key";
    // No database (an empty --database_url overrides CPX_DATABASE_URL, which the test
    // scripts set): tests/store covers cpxd with one.
    Child cpxd({CPXD_PATH, "--listen=127.0.0.1:0", "--ops_port=0", "--operator_key=" + key,
                "--order_capacity=4096", "--client_id_window=8192", "--report_retention=4096",
                "--database_url="});
    ASSERT_TRUE(cpxd.started());
    ASSERT_TRUE(cpxd.wait_for_line("\"event\":\"cpxd_started\"", kWaitTimeout))
        << cpxd.stderr_text();
    const std::string text = cpxd.stderr_text();
    const std::string started = text.substr(text.find("\"event\":\"cpxd_started\""));
    const std::int64_t grpc_port = json_number(started, "grpc_port");
    const std::int64_t ops_port = json_number(started, "ops_port");
    ASSERT_GT(grpc_port, 0) << started;
    ASSERT_GT(ops_port, 0) << started;
    // The key was given, so it is not logged.
    EXPECT_EQ(text.find(key), std::string::npos);

    const auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                             grpc::InsecureChannelCredentials());
    const auto admin = cpx::v1::Admin::NewStub(channel);
    const auto orders = cpx::v1::OrderEntry::NewStub(channel);
    const auto with_key = [](const std::string& k) {
        auto context = std::make_unique<grpc::ClientContext>();
        context->AddMetadata("x-api-key", k);
        context->set_deadline(deadline_in(kCallTimeout));
        return context;
    };
    {
        cpx::v1::AddInstrumentRequest request;
        *request.mutable_instrument() = token_instrument();
        cpx::v1::Instrument reply;
        const grpc::Status s = admin->AddInstrument(with_key(key).get(), request, &reply);
        ASSERT_TRUE(s.ok()) << s.error_message();
    }
    cpx::v1::CreateAccountRequest create;
    create.mutable_account()->set_name("binary-buyer");
    create.mutable_account()->set_role(cpx::v1::ROLE_BUYER);
    cpx::v1::Account account;
    ASSERT_TRUE(admin->CreateAccount(with_key(key).get(), create, &account).ok());
    cpx::v1::CreateApiKeyRequest key_request;
    key_request.set_account_id(account.account_id());
    cpx::v1::CreateApiKeyResponse buyer_key;
    ASSERT_TRUE(admin->CreateApiKey(with_key(key).get(), key_request, &buyer_key).ok());
    cpx::v1::CreditDepositRequest deposit;
    deposit.set_account_id(account.account_id());
    deposit.set_amount_fen(100'000);
    deposit.set_deposit_id("binary-1");
    cpx::v1::CreditDepositResponse deposited;
    ASSERT_TRUE(admin->CreditDeposit(with_key(key).get(), deposit, &deposited).ok());
    cpx::v1::ExecutionReport report;
    const grpc::Status placed =
        orders->PlaceOrder(with_key(buyer_key.api_key()).get(),
                           limit("bin-1", kTokens, cpx::v1::SIDE_BUY, 100, 5), &report);
    ASSERT_TRUE(placed.ok()) << placed.error_message();
    EXPECT_EQ(report.status(), cpx::v1::ORDER_STATUS_NEW);

    const auto port = static_cast<std::uint16_t>(ops_port);
    const auto health = http_get(port, "/healthz");
    ASSERT_TRUE(health.has_value());
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(health->body, "ok\n");
    const auto ready = http_get(port, "/readyz");
    ASSERT_TRUE(ready.has_value());
    EXPECT_EQ(ready->status, 200);
    const auto metrics = http_get(port, "/metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_EQ(metrics->status, 200);
    EXPECT_NE(metrics->body.find("cpx_commands_total"), std::string::npos);
    EXPECT_EQ(metric_value(metrics->body, "cpx_commands_total"), 1);
    EXPECT_EQ(metric_value(metrics->body, "cpx_acknowledgements_total"), 1);

    // A logged-on stream is told the exchange is going away, and its order (placed with
    // cancel-on-disconnect) is cancelled in sequence before cpxd stops.
    TradeSession session(*orders, buyer_key.api_key());
    ASSERT_TRUE(session.logon(true).has_value());
    ASSERT_TRUE(session.send_batch({command(limit("bin-2", kTokens, cpx::v1::SIDE_BUY, 101, 5))}));
    ASSERT_EQ(session.wait_reports(1).size(), 1u);

    ASSERT_EQ(::kill(cpxd.pid(), SIGTERM), 0);
    const auto ended = session.wait_finished();
    ASSERT_TRUE(ended.has_value());
    EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAVAILABLE) << ended->error_message();
    const auto status = cpxd.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "cpxd did not exit within 10 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status)) << "wait status " << *status;
    EXPECT_EQ(WEXITSTATUS(*status), 0) << cpxd.stderr_text();
    EXPECT_NE(cpxd.stderr_text().find("\"event\":\"cpxd_stopped\""), std::string::npos)
        << cpxd.stderr_text();
}

TEST(GatewayBinary, CpxdRefusesAnUnknownFlag) {
    Child cpxd({CPXD_PATH, "--listen=127.0.0.1:0", "--ops_port=0", "--no_such_key=1"});
    ASSERT_TRUE(cpxd.started());
    const auto status = cpxd.wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 1);
    EXPECT_NE(cpxd.stderr_text().find("cpxd_failed"), std::string::npos) << cpxd.stderr_text();
    EXPECT_NE(cpxd.stderr_text().find("no_such_key"), std::string::npos) << cpxd.stderr_text();
}

TEST(GatewayBinary, CpxdHelpListsTheKeys) {
    // --help writes to standard output; this child's goes to /dev/null, so only the
    // exit is checked here. The keys themselves come from config_help().
    Child cpxd({CPXD_PATH, "--help"});
    ASSERT_TRUE(cpxd.started());
    const auto status = cpxd.wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    const std::string help = config_help();
    for (const char* key :
         {"--listen", "--ops_port", "--operator_key", "--heartbeat_interval_ms"}) {
        EXPECT_NE(help.find(key), std::string::npos) << key;
    }
}

}  // namespace
}  // namespace cpx::gateway::test
