#pragma once

// The "empty" exchange: cpx.v1.OrderEntry, cpx.v1.Admin and AccountQuery.ListInstruments
// implemented with gRPC's callback API and no exchange logic at all. It answers every
// command at once with an execution report of realistic size, so a load generator
// driving it measures what gRPC alone costs on this machine: the ceiling that cpxd's
// figures are reported against. It checks nothing (not even the API key) because
// anything it checked would be work cpxd does and the ceiling should not.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "cpx/v1/orders.grpc.pb.h"

namespace cpx::load {

// What the raw server received, so that a test can compare it with what the client
// says it sent.
struct RawStats {
    std::atomic<std::uint64_t> unary_calls{0};
    std::atomic<std::uint64_t> stream_messages{0};  // client messages on Trade streams
    std::atomic<std::uint64_t> new_orders{0};       // through either path
    std::atomic<std::uint64_t> cancels{0};          // through either path
    std::atomic<std::uint64_t> streams_opened{0};
    std::atomic<std::uint64_t> streams_closed{0};
};

class RawOrderEntryService final : public cpx::v1::OrderEntry::CallbackService {
  public:
    explicit RawOrderEntryService(RawStats& stats) : stats_(stats) {}

    grpc::ServerUnaryReactor* PlaceOrder(grpc::CallbackServerContext* context,
                                         const cpx::v1::NewOrder* request,
                                         cpx::v1::ExecutionReport* response) override;
    grpc::ServerUnaryReactor* CancelOrder(grpc::CallbackServerContext* context,
                                          const cpx::v1::CancelRequest* request,
                                          cpx::v1::ExecutionReport* response) override;
    grpc::ServerUnaryReactor* ReplaceOrder(grpc::CallbackServerContext* context,
                                           const cpx::v1::ReplaceRequest* request,
                                           cpx::v1::ExecutionReport* response) override;
    grpc::ServerUnaryReactor* MassCancel(grpc::CallbackServerContext* context,
                                         const cpx::v1::MassCancelRequest* request,
                                         cpx::v1::MassCancelReport* response) override;
    grpc::ServerBidiReactor<cpx::v1::ClientMessage, cpx::v1::ServerMessage>* Trade(
        grpc::CallbackServerContext* context) override;

  private:
    RawStats& stats_;
};

// Accepts every setup call and answers with plausible ids, so cpx-load's setup also
// runs against the raw server.
class RawAdminService final : public cpx::v1::Admin::CallbackService {
  public:
    grpc::ServerUnaryReactor* AddInstrument(grpc::CallbackServerContext* context,
                                            const cpx::v1::AddInstrumentRequest* request,
                                            cpx::v1::Instrument* response) override;
    grpc::ServerUnaryReactor* SetTradingState(grpc::CallbackServerContext* context,
                                              const cpx::v1::SetTradingStateRequest* request,
                                              cpx::v1::Instrument* response) override;
    grpc::ServerUnaryReactor* CreateAccount(grpc::CallbackServerContext* context,
                                            const cpx::v1::CreateAccountRequest* request,
                                            cpx::v1::Account* response) override;
    grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
                                           const cpx::v1::CreateApiKeyRequest* request,
                                           cpx::v1::CreateApiKeyResponse* response) override;
    grpc::ServerUnaryReactor* CreditDeposit(grpc::CallbackServerContext* context,
                                            const cpx::v1::CreditDepositRequest* request,
                                            cpx::v1::CreditDepositResponse* response) override;
    grpc::ServerUnaryReactor* SetAcceleratorTable(
        grpc::CallbackServerContext* context, const cpx::v1::SetAcceleratorTableRequest* request,
        cpx::v1::AcceleratorTable* response) override;
    grpc::ServerUnaryReactor* RegisterCapacity(
        grpc::CallbackServerContext* context, const cpx::v1::RegisterCapacityRequest* request,
        cpx::v1::RegisterCapacityResponse* response) override;

  private:
    std::atomic<std::uint32_t> next_account_id_{1};
};

// ListInstruments only (it answers that no instrument exists, so the load generator
// adds its own); the other queries stay unimplemented.
class RawAccountQueryService final : public cpx::v1::AccountQuery::CallbackService {
  public:
    grpc::ServerUnaryReactor* ListInstruments(grpc::CallbackServerContext* context,
                                              const cpx::v1::ListInstrumentsRequest* request,
                                              cpx::v1::ListInstrumentsResponse* response) override;
};

// The three services in one gRPC server.
class RawServer {
  public:
    RawServer() = default;
    RawServer(const RawServer&) = delete;
    RawServer& operator=(const RawServer&) = delete;
    ~RawServer();

    // Listens on address ("127.0.0.1:0" picks a free port). Returns false with a
    // message in error() when the server cannot start.
    bool start(const std::string& address);
    // The port actually bound (useful with port 0), 0 before start.
    int port() const { return port_; }
    const std::string& error() const { return error_; }
    const RawStats& stats() const { return stats_; }
    // Ends every call still open and stops; also done by the destructor.
    void shutdown();

  private:
    RawStats stats_;
    RawOrderEntryService order_entry_{stats_};
    RawAdminService admin_;
    RawAccountQueryService account_query_;
    std::unique_ptr<grpc::Server> server_;
    int port_ = 0;
    std::string error_;
};

}  // namespace cpx::load
