#pragma once
// The gRPC services of cpxd (API in proto/cpx/v1), on gRPC's callback API. Handlers run
// on gRPC's threads: they authenticate, translate and submit requests to the pipeline,
// and return at once; the dispatcher thread answers later through the Caller
// interface.

#include <cstdint>
#include <memory>
#include <string>

#include "cpx/gateway/metrics.hpp"
#include "cpx/gateway/pipeline.hpp"
#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "cpx/v1/audit.grpc.pb.h"
#include "cpx/v1/market_data.grpc.pb.h"
#include "cpx/v1/orders.grpc.pb.h"
#include "cpx/v1/settlement.grpc.pb.h"
#include "cpx/v1/voucher.grpc.pb.h"

namespace cpx::gateway {

struct GatewayOptions {
    // Heartbeat interval of an order-entry stream whose logon names none, and the range
    // a logon may ask for. A stream that sends nothing for three intervals is ended.
    std::uint32_t heartbeat_interval_ms_default = 5'000;
    std::uint32_t heartbeat_interval_ms_min = 100;
    std::uint32_t heartbeat_interval_ms_max = 60'000;
    // Messages waiting to be written per order-entry stream; a stream whose client reads
    // so slowly that they fill is ended (its reports stay available for a resume).
    std::size_t session_write_slots = 256;
    // Messages waiting per market-data stream; when they fill, messages are dropped and
    // the client sees a gap in sequence numbers.
    std::size_t market_write_slots = 256;
    // Commands per stream message.
    std::uint32_t batch_commands_max = 1'000;
    // Audit calls the exchange has authenticated and the audit worker has not yet
    // answered (a power of two); when they fill, a call is refused with
    // RESOURCE_EXHAUSTED AUDIT_QUEUE_FULL rather than held on the dispatcher thread.
    std::size_t audit_queue_capacity = 64;
    // Messages waiting per regulator stream (Audit.DropCopy, Audit.Alerts); a stream
    // whose client reads so slowly that a batch does not fit is ended with
    // RESOURCE_EXHAUSTED SLOW_CONSUMER, because the projector does not wait for it.
    std::size_t regulator_stream_slots = 65'536;
};

struct GatewayContext {
    Pipeline& pipeline;
    GatewayOptions options;
    GatewayMetrics& metrics;
};

class OrderEntryService final : public cpx::v1::OrderEntry::CallbackService {
  public:
    explicit OrderEntryService(GatewayContext& context) : context_(context) {}
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
    GatewayContext& context_;
};

class MarketDataService final : public cpx::v1::MarketData::CallbackService {
  public:
    explicit MarketDataService(GatewayContext& context) : context_(context) {}
    grpc::ServerWriteReactor<cpx::v1::DepthUpdate>* StreamDepth(
        grpc::CallbackServerContext* context, const cpx::v1::DepthRequest* request) override;
    grpc::ServerWriteReactor<cpx::v1::TradeTick>* StreamTrades(
        grpc::CallbackServerContext* context, const cpx::v1::TradesRequest* request) override;

  private:
    GatewayContext& context_;
};

class AccountQueryService final : public cpx::v1::AccountQuery::CallbackService {
  public:
    explicit AccountQueryService(GatewayContext& context) : context_(context) {}
    grpc::ServerUnaryReactor* ListInstruments(grpc::CallbackServerContext* context,
                                              const cpx::v1::ListInstrumentsRequest* request,
                                              cpx::v1::ListInstrumentsResponse* response) override;
    grpc::ServerUnaryReactor* GetOpenOrders(grpc::CallbackServerContext* context,
                                            const cpx::v1::AccountRequest* request,
                                            cpx::v1::OpenOrdersResponse* response) override;
    grpc::ServerUnaryReactor* GetFills(grpc::CallbackServerContext* context,
                                       const cpx::v1::AccountRequest* request,
                                       cpx::v1::FillsResponse* response) override;
    grpc::ServerUnaryReactor* GetBalances(grpc::CallbackServerContext* context,
                                          const cpx::v1::AccountRequest* request,
                                          cpx::v1::BalancesResponse* response) override;

  private:
    GatewayContext& context_;
};

class AdminService final : public cpx::v1::Admin::CallbackService {
  public:
    explicit AdminService(GatewayContext& context) : context_(context) {}
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
    grpc::ServerUnaryReactor* CreditCollateral(grpc::CallbackServerContext* context,
                                               const cpx::v1::CreditDepositRequest* request,
                                               cpx::v1::CreditDepositResponse* response) override;

  private:
    GatewayContext& context_;
};

// Delivery obligations and their settlement (cpx/exchange/settlement.hpp). Inputs the
// exchange would refuse whatever its state (an obligation id of 0, a delivered quantity
// below 1, a note too long or not printable, an unknown decision or state filter) are
// refused here with INVALID_ARGUMENT, before they reach the sequencer or the journal.
class SettlementService final : public cpx::v1::Settlement::CallbackService {
  public:
    explicit SettlementService(GatewayContext& context) : context_(context) {}
    grpc::ServerUnaryReactor* ConfirmDelivery(grpc::CallbackServerContext* context,
                                              const cpx::v1::ConfirmDeliveryRequest* request,
                                              cpx::v1::Obligation* response) override;
    grpc::ServerUnaryReactor* DisputeDelivery(grpc::CallbackServerContext* context,
                                              const cpx::v1::DisputeDeliveryRequest* request,
                                              cpx::v1::Obligation* response) override;
    grpc::ServerUnaryReactor* ResolveDispute(grpc::CallbackServerContext* context,
                                             const cpx::v1::ResolveDisputeRequest* request,
                                             cpx::v1::ResolveDisputeResponse* response) override;
    grpc::ServerUnaryReactor* RunSettlement(grpc::CallbackServerContext* context,
                                            const cpx::v1::RunSettlementRequest* request,
                                            cpx::v1::SettlementRunResponse* response) override;
    grpc::ServerUnaryReactor* ListObligations(grpc::CallbackServerContext* context,
                                              const cpx::v1::ListObligationsRequest* request,
                                              cpx::v1::ListObligationsResponse* response) override;

  private:
    GatewayContext& context_;
};

// Compute voucher programs, their grants and what they paid (cpx/exchange/vouchers.hpp).
// Inputs the exchange would refuse whatever its state (an id of 0, an unknown enum value,
// a negative amount, a list or a text longer than the contract's bounds) are refused
// here with INVALID_ARGUMENT, before they reach the sequencer or the journal; who may
// see and change what is the exchange's decision.
class VoucherService final : public cpx::v1::Vouchers::CallbackService {
  public:
    explicit VoucherService(GatewayContext& context) : context_(context) {}
    grpc::ServerUnaryReactor* CreateProgram(grpc::CallbackServerContext* context,
                                            const cpx::v1::CreateProgramRequest* request,
                                            cpx::v1::VoucherProgram* response) override;
    grpc::ServerUnaryReactor* FundProgram(grpc::CallbackServerContext* context,
                                          const cpx::v1::FundProgramRequest* request,
                                          cpx::v1::VoucherProgram* response) override;
    grpc::ServerUnaryReactor* GrantVoucher(grpc::CallbackServerContext* context,
                                           const cpx::v1::GrantVoucherRequest* request,
                                           cpx::v1::GrantVoucherResponse* response) override;
    grpc::ServerUnaryReactor* RevokeVoucher(grpc::CallbackServerContext* context,
                                            const cpx::v1::RevokeVoucherRequest* request,
                                            cpx::v1::Voucher* response) override;
    grpc::ServerUnaryReactor* ListPrograms(grpc::CallbackServerContext* context,
                                           const cpx::v1::ListProgramsRequest* request,
                                           cpx::v1::ListProgramsResponse* response) override;
    grpc::ServerUnaryReactor* ListVouchers(grpc::CallbackServerContext* context,
                                           const cpx::v1::ListVouchersRequest* request,
                                           cpx::v1::ListVouchersResponse* response) override;
    grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* context,
                                     const cpx::v1::VoucherReportRequest* request,
                                     cpx::v1::VoucherReportResponse* response) override;

  private:
    GatewayContext& context_;
};

// The audit log's proofs (proto/cpx/v1/audit.proto, cpx/proofs/proofs.hpp). A call is
// authenticated in sequence like every other, by a Balances query of the caller's own
// account, whose answer names the caller's account and role; the dispatcher then hands
// the call to the audit worker, a thread of its own with its own connection to
// PostgreSQL, which reads the proof in a read-only transaction and answers. The
// dispatcher never waits for the database: when the worker's bounded queue is full the
// call is refused with RESOURCE_EXHAUSTED. Without a database_url there is no worker and
// every authenticated call is answered UNAVAILABLE.
//
// The regulators' streams (DropCopy, Alerts) are fed by the hub (regulator_hub.hpp) with
// what the ledger projector commits; without a hub (no projector) a regulator's
// subscription is answered UNAVAILABLE.
class AuditWorker;
class RegulatorHub;

class AuditService final : public cpx::v1::Audit::CallbackService {
  public:
    AuditService(GatewayContext& context, const std::string& database_url,
                 RegulatorHub* hub = nullptr);
    ~AuditService() override;
    AuditService(const AuditService&) = delete;
    AuditService& operator=(const AuditService&) = delete;

    // Answers every call already handed to the worker, then stops it; later calls are
    // answered UNAVAILABLE. For the server's shutdown, after gRPC took its last call.
    void stop();

    grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                            const cpx::v1::GetCheckpointRequest* request,
                                            cpx::v1::Checkpoint* response) override;
    grpc::ServerUnaryReactor* ProveInclusion(grpc::CallbackServerContext* context,
                                             const cpx::v1::ProveInclusionRequest* request,
                                             cpx::v1::InclusionProof* response) override;
    grpc::ServerUnaryReactor* ProveConsistency(grpc::CallbackServerContext* context,
                                               const cpx::v1::ProveConsistencyRequest* request,
                                               cpx::v1::ConsistencyProof* response) override;
    grpc::ServerWriteReactor<cpx::v1::DropCopyMessage>* DropCopy(
        grpc::CallbackServerContext* context, const cpx::v1::DropCopyRequest* request) override;
    grpc::ServerWriteReactor<cpx::v1::AlertMessage>* Alerts(
        grpc::CallbackServerContext* context, const cpx::v1::AlertsRequest* request) override;
    grpc::ServerUnaryReactor* OrderHistory(grpc::CallbackServerContext* context,
                                           const cpx::v1::OrderHistoryRequest* request,
                                           cpx::v1::OrderHistoryResponse* response) override;

  private:
    GatewayContext& context_;
    RegulatorHub* hub_;
    std::unique_ptr<AuditWorker> worker_;
};

}  // namespace cpx::gateway
