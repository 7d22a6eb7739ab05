#pragma once
// What every command of `cpx` needs: the channel to cpxd, its stubs, a context carrying
// the API key and a deadline, and the printing of answers as tables or JSON.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "args.hpp"
#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "cpx/v1/audit.grpc.pb.h"
#include "cpx/v1/market_data.grpc.pb.h"
#include "cpx/v1/orders.grpc.pb.h"
#include "cpx/v1/settlement.grpc.pb.h"
#include "cpx/v1/voucher.grpc.pb.h"

namespace cpx::cli {

class Client {
  public:
    explicit Client(const Global& global);

    std::unique_ptr<grpc::ClientContext> context(bool with_deadline = true) const;
    const Global& global() const { return global_; }

    cpx::v1::OrderEntry::Stub& orders() { return *orders_; }
    cpx::v1::MarketData::Stub& market() { return *market_; }
    cpx::v1::AccountQuery::Stub& account() { return *account_; }
    cpx::v1::Admin::Stub& admin() { return *admin_; }
    cpx::v1::Settlement::Stub& settlement() { return *settlement_; }
    cpx::v1::Vouchers::Stub& vouchers() { return *vouchers_; }
    cpx::v1::Audit::Stub& audit() { return *audit_; }

  private:
    Global global_;
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<cpx::v1::OrderEntry::Stub> orders_;
    std::unique_ptr<cpx::v1::MarketData::Stub> market_;
    std::unique_ptr<cpx::v1::AccountQuery::Stub> account_;
    std::unique_ptr<cpx::v1::Admin::Stub> admin_;
    std::unique_ptr<cpx::v1::Settlement::Stub> settlement_;
    std::unique_ptr<cpx::v1::Vouchers::Stub> vouchers_;
    std::unique_ptr<cpx::v1::Audit::Stub> audit_;
};

// Prints a refusal (the gRPC code, the machine-readable reason and the message) and
// returns the exit status 1; in --json mode as {"error": {...}}.
int print_error(const Global& global, const grpc::Status& status);

// Prints a message as one line of JSON.
void print_json(const google::protobuf::Message& message);

// The answer of a call that changes something: the refusal (exit status 1), or the
// message as JSON in --json mode, else the one-line text (exit status 0).
int answer(const Global& global, const grpc::Status& status,
           const google::protobuf::Message& message, const std::string& text);

// A table with a header row, columns padded to their widest cell.
class Table {
  public:
    explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    void print() const;

  private:
    std::vector<std::vector<std::string>> rows_;
};

// 152000 fen -> "1520.00".
std::string yuan(std::int64_t fen);
std::string side_name(cpx::v1::Side side);
std::string time_text(std::int64_t ns);

// Each returns the process's exit status.
int run_trading_command(Client& client, const Args& args);
int run_admin_command(Client& client, const Args& args);
int run_settlement_command(Client& client, const Args& args);
int run_voucher_command(Client& client, const Args& args);
bool is_trading_command(const std::string& command);
bool is_admin_command(const std::string& command);
bool is_settlement_command(const std::string& command);
// "voucher" and "voucher SUBCOMMAND".
bool is_voucher_command(const std::string& command);

}  // namespace cpx::cli
