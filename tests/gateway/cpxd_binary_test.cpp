// The cpxd binary as an operator runs it: spawned with flags, it logs where it listens,
// serves gRPC and its operations endpoint, and shuts down cleanly on SIGTERM. Its demo
// market (--demo), on a PostgreSQL database of its own, trades, settles, pays the Hohhot
// voucher program's share, and resumes after a restart.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "child_process.hpp"
#include "cpx/projector/ledger_projector.hpp"
#include "cpx/store/database.hpp"
#include "cpx/v1/voucher.grpc.pb.h"
#include "http_get.hpp"
#include "shell_command.hpp"
#include "stream_clients.hpp"
#include "test_database.hpp"

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

// The demo's spot window is a key like any other: a second to a day, else cpxd refuses
// to start and names it.
TEST(GatewayBinary, DemoSpotWindowIsASecondToADay) {
    const char* none[] = {"cpxd"};
    EXPECT_EQ(load_config(1, none).demo_spot_window_ns, 300'000'000'000);
    const char* argv[] = {"cpxd", "--demo_spot_window_ns=2000000000"};
    EXPECT_EQ(load_config(2, argv).demo_spot_window_ns, 2'000'000'000);
    for (const char* bad : {"--demo_spot_window_ns=0", "--demo_spot_window_ns=999999999",
                            "--demo_spot_window_ns=86400000000001", "--demo_spot_window_ns=5m"}) {
        const char* args[] = {"cpxd", bad};
        EXPECT_THROW(load_config(2, args), std::invalid_argument) << bad;
    }
    EXPECT_NE(config_help().find("demo_spot_window_ns"), std::string::npos);
}

// The projector's batching is cpxd's to set: the defaults are the projector's own, and a
// batch bound of zero or past a million requests (rows held in memory until the commit)
// stops cpxd with the key's name.
TEST(GatewayBinary, ProjectorKeysDefaultToTheProjectorsAndRefuseNonsense) {
    const char* none[] = {"cpxd"};
    const ServerConfig defaults = load_config(1, none);
    const projector::ProjectorConfig projector_defaults;
    EXPECT_EQ(defaults.projector_batch_requests_max, projector_defaults.batch_requests_max);
    EXPECT_EQ(defaults.projector_snapshot_every, projector_defaults.snapshot_every);
    EXPECT_EQ(defaults.projector_parallel_reports_min, projector_defaults.parallel_reports_min);
    const char* argv[] = {"cpxd", "--projector_batch_requests_max=1000000",
                          "--projector_snapshot_every=0", "--projector_parallel_reports_min=0"};
    const ServerConfig c = load_config(4, argv);
    EXPECT_EQ(c.projector_batch_requests_max, 1'000'000u);
    EXPECT_EQ(c.projector_snapshot_every, 0u);
    EXPECT_EQ(c.projector_parallel_reports_min, 0u);
    for (const char* bad :
         {"--projector_batch_requests_max=0", "--projector_batch_requests_max=1000001",
          "--projector_snapshot_every=-1", "--projector_parallel_reports_min=1k"}) {
        const char* args[] = {"cpxd", bad};
        try {
            load_config(2, args);
            ADD_FAILURE() << bad << " was taken";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("projector_"), std::string::npos) << e.what();
        }
    }
    for (const char* key : {"projector_batch_requests_max", "projector_snapshot_every",
                            "projector_parallel_reports_min"}) {
        EXPECT_NE(config_help().find(key), std::string::npos) << key;
    }
}

// Where calls are answered is a key too: adaptive by default, any of the three by name,
// and anything else refused by name.
TEST(GatewayBinary, DispatchIsSequencerThreadOrAdaptive) {
    const char* none[] = {"cpxd"};
    EXPECT_EQ(load_config(1, none).pipeline.dispatch, DispatchMode::Adaptive);
    EXPECT_EQ(load_config(1, none).pipeline.idle_spins, 0);
    const std::pair<const char*, DispatchMode> named[] = {
        {"--dispatch=sequencer", DispatchMode::Sequencer},
        {"--dispatch=thread", DispatchMode::Thread},
        {"--dispatch=adaptive", DispatchMode::Adaptive}};
    for (const auto& [flag, mode] : named) {
        const char* args[] = {"cpxd", flag};
        EXPECT_EQ(load_config(2, args).pipeline.dispatch, mode) << flag;
    }
    for (const char* bad : {"--dispatch=true", "--dispatch=", "--dispatch_thread=true"}) {
        const char* args[] = {"cpxd", bad};
        EXPECT_THROW(load_config(2, args), std::invalid_argument) << bad;
    }
    const char* inline_max[] = {"cpxd", "--dispatch_inline_max=64"};
    EXPECT_EQ(load_config(2, inline_max).pipeline.dispatch_inline_max, 64u);
}

// A cpxd with a demo market on a database of its own, and what it answers.
class DemoCpxd {
  public:
    static constexpr char kKey[] = "cpx_binary_demo_operator_key";

    // A six-second dispute period and a two-second spot window: the demo's Hohhot spot
    // deals settle seconds after they trade rather than minutes. The dispute period is
    // longer than the demo's five seconds between delivery rounds, so that providers
    // confirm before their obligations fall due (an obligation never confirmed fails).
    explicit DemoCpxd(const std::string& database_url, bool demo = true,
                      const std::vector<std::string>& more = {})
        : child_(arguments(database_url, demo, more)) {}

    bool wait_started() {
        if (!child_.started() || !child_.wait_for_line("\"event\":\"cpxd_started\"", 60s)) {
            return false;
        }
        const std::string text = child_.stderr_text();
        const std::int64_t port =
            json_number(text.substr(text.find("\"event\":\"cpxd_started\"")), "grpc_port");
        target_ = "127.0.0.1:" + std::to_string(port);
        channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
        return port > 0;
    }
    // Where cpxd listens for gRPC, once started.
    const std::string& target() const { return target_; }
    // Reads cpxd's log for a while: its pipe must not fill up while the test waits.
    void pause(std::chrono::milliseconds how_long) { child_.wait_for_line("\n\x01", how_long); }
    bool wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
        return child_.wait_for_line(needle, timeout);
    }
    // SIGTERM; true when it exits 0.
    bool stop() {
        ::kill(child_.pid(), SIGTERM);
        const auto status = child_.wait_exit(30s);
        return status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
    }
    const std::string& log() const { return child_.stderr_text(); }
    std::shared_ptr<grpc::Channel> channel() const { return channel_; }

    std::unique_ptr<grpc::ClientContext> context() const {
        auto context = std::make_unique<grpc::ClientContext>();
        context->AddMetadata("x-api-key", kKey);
        context->set_deadline(deadline_in(kCallTimeout));
        return context;
    }
    cpx::v1::ListProgramsResponse programs() const {
        cpx::v1::ListProgramsResponse response;
        const grpc::Status status = cpx::v1::Vouchers::NewStub(channel_)->ListPrograms(
            context().get(), cpx::v1::ListProgramsRequest(), &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return response;
    }

  private:
    static std::vector<std::string> arguments(const std::string& database_url, bool demo,
                                              const std::vector<std::string>& more) {
        std::vector<std::string> args = {CPXD_PATH,
                                         "--listen=127.0.0.1:0",
                                         "--ops_port=0",
                                         std::string("--operator_key=") + kKey,
                                         "--database_url=" + database_url,
                                         std::string("--demo=") + (demo ? "true" : "false"),
                                         "--demo_orders_per_second=200",
                                         "--dispute_period_ns=6000000000",
                                         "--demo_spot_window_ns=2000000000"};
        args.insert(args.end(), more.begin(), more.end());
        return args;
    }

    Child child_;
    std::string target_;
    std::shared_ptr<grpc::Channel> channel_;
};

// The demo as scripts/run.sh runs it, with the dispute period compressed further: on a
// fresh exchange it lists the market, admits the Hohhot Big Data Bureau after the eight
// traders, creates its program and grants each buyer a voucher; within a minute the
// Hohhot provider has confirmed spot deliveries, the operator has settled them, and the
// program has paid 30% of each settled Hohhot compute deal out of its budget, to the fen.
// A restart on the same database resumes the market with its issuer, and settles on.
TEST(GatewayBinary, DemoSettlesAndTheHohhotVoucherPaysThirtyPercent) {
    cpx::test::TestDatabase database;
    DemoCpxd cpxd(database.url());
    ASSERT_TRUE(cpxd.wait_started()) << cpxd.log();
    ASSERT_TRUE(cpxd.wait_for_line("\"event\":\"demo_voucher_program\"", 30s)) << cpxd.log();

    // Bounded: the first spot deals settle about fifteen seconds after the start (their
    // delivery is confirmed in the first round, five seconds in, and due six seconds
    // later).
    cpx::v1::VoucherProgram program;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (true) {
        const cpx::v1::ListProgramsResponse listed = cpxd.programs();
        ASSERT_EQ(listed.programs_size(), 1) << cpxd.log();
        program = listed.programs(0);
        if (program.redeemed_fen() > 0) {
            break;
        }
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "the voucher paid nothing within a minute\n"
            << cpxd.log();
        cpxd.pause(250ms);
    }
    const cpx::v1::VoucherProgramSpec& spec = program.spec();
    EXPECT_EQ(spec.issuer_account_id(), 10u);
    EXPECT_EQ(spec.share_bps(), 3'000u);
    EXPECT_EQ(spec.mode(), cpx::v1::VOUCHER_MODE_DISCOUNT);
    EXPECT_EQ(spec.side(), cpx::v1::VOUCHER_SIDE_BUYER);
    ASSERT_EQ(spec.hubs_size(), 1);
    EXPECT_EQ(spec.hubs(0), "HOHHOT");
    ASSERT_EQ(spec.kinds_size(), 1);
    EXPECT_EQ(spec.kinds(0), cpx::v1::INSTRUMENT_KIND_COMPUTE);
    EXPECT_EQ(program.funded_fen(), 5'000'000'000);
    EXPECT_EQ(program.vouchers(), 3u);
    EXPECT_EQ(program.granted_fen(), 3 * 20'000'000);
    EXPECT_GT(program.redemptions(), 0u);
    // The budget paid the vouchers and nothing else.
    EXPECT_EQ(program.funded_fen() - program.budget_fen(), program.redeemed_fen());
    // The demo logs each settlement run that closed something (right after the run).
    EXPECT_TRUE(cpxd.wait_for_line("\"event\":\"demo_settlement\"", 10s)) << cpxd.log();

    // One voucher a buyer (accounts 7 to 9), by the reference the demo gave it.
    cpx::v1::ListVouchersResponse vouchers;
    ASSERT_TRUE(cpx::v1::Vouchers::NewStub(cpxd.channel())
                    ->ListVouchers(cpxd.context().get(), cpx::v1::ListVouchersRequest(), &vouchers)
                    .ok());
    const int year =
        static_cast<int>(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(
                                                         std::chrono::system_clock::now()))
                             .year());
    std::set<std::uint32_t> beneficiaries;
    for (const cpx::v1::Voucher& v : vouchers.vouchers()) {
        beneficiaries.insert(v.beneficiary_account_id());
        EXPECT_EQ(v.face_fen(), 20'000'000);
        EXPECT_EQ(v.grant_ref(), "hohhot-" + std::to_string(year) + "-" +
                                     std::to_string(v.beneficiary_account_id()));
    }
    EXPECT_EQ(beneficiaries, (std::set<std::uint32_t>{7, 8, 9}));

    // PostgreSQL, once the projector has written some: each redemption is 30% of a
    // settled Hohhot compute deal's delivered value, rounded down, paid to its buyer;
    // every settled Hohhot compute deal was paid once; the budget's ledger account lost
    // exactly what was redeemed.
    const auto connection = cpx::store::connect(database.url());
    while (true) {
        pqxx::read_transaction tx(*connection);
        if (tx.exec1("SELECT count(*) FROM voucher_events WHERE kind = 5")[0].as<std::int64_t>() >
            0) {
            break;
        }
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no redemption in PostgreSQL";
        tx.commit();
        cpxd.pause(250ms);
    }
    {
        pqxx::read_transaction tx(*connection);
        // Hohhot compute: the two Hohhot day products and the spot product.
        const std::set<std::int64_t> hohhot_compute = {1, 2, 7};
        std::int64_t redeemed = 0;
        for (const pqxx::row& r :
             tx.exec("SELECT e.trade_id, e.beneficiary, e.amount_fen, e.share_fen, o.instrument, "
                     "o.buyer, o.price, d.delivered_quantity FROM voucher_events e "
                     "JOIN obligations o ON o.id = e.trade_id "
                     "JOIN obligation_events d ON d.obligation_id = o.id AND d.kind = 6 "
                     "WHERE e.kind = 5")) {
            const std::int64_t trade = r[0].as<std::int64_t>();
            EXPECT_EQ(hohhot_compute.count(r[4].as<std::int64_t>()), 1u) << trade;
            EXPECT_EQ(r[1].as<std::int64_t>(), r[5].as<std::int64_t>()) << trade;
            const std::int64_t share = r[6].as<std::int64_t>() * r[7].as<std::int64_t>() * 3 / 10;
            EXPECT_EQ(r[3].as<std::int64_t>(), share) << trade;
            EXPECT_EQ(r[2].as<std::int64_t>(), share) << trade;
            redeemed += r[2].as<std::int64_t>();
        }
        EXPECT_GT(redeemed, 0);
        EXPECT_EQ(tx.exec1("SELECT count(*) FROM obligation_events d "
                           "JOIN obligations o ON o.id = d.obligation_id "
                           "WHERE d.kind = 6 AND o.instrument IN (1, 2, 7) AND NOT EXISTS "
                           "(SELECT 1 FROM voucher_events e WHERE e.kind = 5 "
                           "AND e.trade_id = o.id)")[0]
                      .as<std::int64_t>(),
                  0);
        const pqxx::row status = tx.exec1(
            "SELECT funded_fen, budget_left_fen, redeemed_fen FROM voucher_program_status");
        EXPECT_EQ(status[2].as<std::int64_t>(), redeemed);
        EXPECT_EQ(status[0].as<std::int64_t>() - status[1].as<std::int64_t>(), redeemed);
    }
    const std::int64_t redeemed_before = cpxd.programs().programs(0).redeemed_fen();
    ASSERT_TRUE(cpxd.stop()) << cpxd.log();

    // The restart resumes the market: the same ten accounts (the issuer last), new keys,
    // and the voucher goes on paying.
    DemoCpxd again(database.url());
    const auto resumed_by = std::chrono::steady_clock::now() + 60s;
    ASSERT_TRUE(again.wait_started()) << again.log();
    ASSERT_TRUE(again.wait_for_line("\"account_id\":10,\"role\":\"issuer\"", 30s)) << again.log();
    EXPECT_EQ(again.log().find("demo_not_resumed"), std::string::npos) << again.log();
    while (again.programs().programs(0).redeemed_fen() <= redeemed_before) {
        ASSERT_LT(std::chrono::steady_clock::now(), resumed_by)
            << "the resumed demo paid nothing more\n"
            << again.log();
        again.pause(250ms);
    }
    EXPECT_TRUE(again.stop()) << again.log();
}

// A market an older demo listed (without the Hohhot spot product) is reported, not
// traded, and cpxd serves on.
TEST(GatewayBinary, DemoLeavesAMarketOfAnOlderDemoAlone) {
    cpx::test::TestDatabase database;
    {
        DemoCpxd first(database.url(), false);
        ASSERT_TRUE(first.wait_started()) << first.log();
        const auto admin = cpx::v1::Admin::NewStub(first.channel());
        std::uint32_t id = 1;
        for (const char* symbol : {"HHHT-D1-OFFPEAK", "HHHT-D1-PEAK", "GUIAN-D1", "QINGYANG-D1",
                                   "WUHU-D1-PEAK", "IM-TOKEN-70B"}) {
            cpx::v1::AddInstrumentRequest request;
            *request.mutable_instrument() = token_instrument(id++);
            request.mutable_instrument()->set_symbol(symbol);
            cpx::v1::Instrument reply;
            const grpc::Status added = admin->AddInstrument(first.context().get(), request, &reply);
            ASSERT_TRUE(added.ok()) << added.error_message();
        }
        ASSERT_TRUE(first.stop()) << first.log();
    }
    DemoCpxd second(database.url());
    ASSERT_TRUE(second.wait_started()) << second.log();
    ASSERT_TRUE(second.wait_for_line("\"event\":\"demo_not_resumed\"", 30s)) << second.log();
    EXPECT_EQ(second.log().find("demo_account"), std::string::npos) << second.log();
    // It still answers.
    cpx::v1::ListInstrumentsResponse listed;
    ASSERT_TRUE(
        cpx::v1::AccountQuery::NewStub(second.channel())
            ->ListInstruments(second.context().get(), cpx::v1::ListInstrumentsRequest(), &listed)
            .ok());
    EXPECT_EQ(listed.instruments_size(), 6);
    EXPECT_TRUE(second.stop()) << second.log();
}

// The README's regulator: cpxd runs the demo with an audit key; `cpx history` shows a
// traded order's life with its receipt, sequencing and acknowledgement times; `cpx
// audit verify`, with nothing but read access to the database and the public key cpxd
// published, verifies the whole record (every journal entry, trade and transfer, every
// signed checkpoint, every balance) and refuses it under any other key.
TEST(GatewayBinary, ARegulatorVerifiesTheDemosRecordWithThePublishedKey) {
    cpx::test::TestDatabase database;
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("cpx-audit-demo-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string key_file = (dir / "audit.key").string();
    {
        DemoCpxd cpxd(database.url(), true,
                      {"--audit_key_file=" + key_file, "--audit_checkpoint_interval_ms=500"});
        ASSERT_TRUE(cpxd.wait_started()) << cpxd.log();
        ASSERT_TRUE(cpxd.wait_for_line("\"event\":\"audit_key\"", 10s)) << cpxd.log();
        // Trades and several checkpoints, within a bounded wait.
        const auto connection = cpx::store::connect(database.url());
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (true) {
            pqxx::read_transaction tx(*connection);
            if (tx.exec1("SELECT count(*) FROM obligations")[0].as<std::int64_t>() >= 20 &&
                tx.exec1("SELECT count(*) FROM audit_checkpoints")[0].as<std::int64_t>() >= 3) {
                break;
            }
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << cpxd.log();
            tx.commit();
            cpxd.pause(250ms);
        }
        // A demo buyer's order that traded, as the operator's `cpx history` shows it.
        std::uint64_t order = 0;
        {
            pqxx::read_transaction tx(*connection);
            order = tx.exec1("SELECT buy_order FROM obligations ORDER BY id LIMIT 1")[0]
                        .as<std::uint64_t>();
        }
        const cpx::test::ShellRun history = cpx::test::run_shell(
            std::string("CPX_API_KEY=") + DemoCpxd::kKey + " '" + CPX_CLI_PATH + "' --target " +
            cpxd.target() + " --json history --order " + std::to_string(order));
        EXPECT_EQ(history.status, 0) << history.output;
        const auto has = [&](const std::string& text) {
            return history.output.find(text) != std::string::npos;
        };
        EXPECT_TRUE(has("\"order_id\":\"" + std::to_string(order) + "\"")) << history.output;
        EXPECT_TRUE(has("\"exec_type\":\"EXEC_TYPE_NEW\"")) << history.output;
        EXPECT_TRUE(has("\"received_ns\":\"1")) << history.output;  // stamped, in this century
        EXPECT_FALSE(has("\"acknowledged_ns\":\"0\"")) << history.output;
        EXPECT_TRUE(has("\"trade_ids\":[\"")) << history.output;
        ASSERT_TRUE(cpxd.stop()) << cpxd.log();
    }
    const auto run = [](const std::string& arguments) {
        const cpx::test::ShellRun r =
            cpx::test::run_shell(std::string("'") + CPX_CLI_PATH + "' " + arguments);
        return std::pair(r.status, r.output);
    };
    const auto [status, output] = run("audit verify --database '" + database.url() +
                                      "' --public-key-file '" + key_file + ".pub'");
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find("VERIFIED"), std::string::npos) << output;
    const auto [other_status, other_output] = run("audit verify --database '" + database.url() +
                                                  "' --public-key " + std::string(64, 'a'));
    EXPECT_EQ(other_status, 1) << other_output;
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cpx::gateway::test
