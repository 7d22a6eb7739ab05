// The cpxd binary as an operator runs it: spawned with flags, it logs where it listens,
// serves gRPC and its operations endpoint, and shuts down cleanly on SIGTERM.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>

#include "http_get.hpp"
#include "stream_clients.hpp"

extern char** environ;

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

// A child process with its standard error on a pipe this test reads.
class Child {
  public:
    explicit Child(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            return;
        }
        read_fd_ = fds[0];
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        std::vector<char*> argv;
        for (const std::string& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
        }
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
    }
    ~Child() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        if (read_fd_ >= 0) {
            ::close(read_fd_);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    const std::string& stderr_text() const { return text_; }

    // Reads standard error until a line contains `needle` (true) or the time is up.
    bool wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (text_.find(needle) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !read_some(left)) {
                return text_.find(needle) != std::string::npos;
            }
        }
        return true;
    }

    // Waits for the exit and returns its wait status, reading standard error meanwhile.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                while (read_some(10ms)) {
                }
                return status;
            }
            read_some(10ms);
        }
        return std::nullopt;
    }

  private:
    bool read_some(std::chrono::milliseconds timeout) {
        pollfd p{read_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            return false;
        }
        char buffer[4'096];
        const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
        if (n <= 0) {
            return false;
        }
        text_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int read_fd_ = -1;
    bool exited_ = false;
    std::string text_;
};

// The number after "key": in a JSON log line, or -1.
std::int64_t json_number(const std::string& line, const std::string& key) {
    const std::string field = "\"" + key + "\":";
    const std::size_t at = line.find(field);
    if (at == std::string::npos) {
        return -1;
    }
    const std::size_t begin = at + field.size();
    const std::size_t end = line.find_first_not_of("0123456789", begin);
    if (end == begin) {
        return -1;
    }
    return std::stoll(line.substr(begin, end - begin));
}

TEST(GatewayBinary, CpxdServesAndShutsDownCleanlyOnSigterm) {
    const std::string key = "cpx_binary_test_operator_key";
    Child cpxd({CPXD_PATH, "--listen=127.0.0.1:0", "--ops_port=0", "--operator_key=" + key,
                "--order_capacity=4096", "--client_id_window=8192", "--report_retention=4096"});
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
