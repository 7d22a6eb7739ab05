#pragma once
// Translation between the public API's messages (cpx.v1) and the exchange's plain
// records. Input from clients is translated as it is, never repaired: a value the
// exchange cannot accept reaches it and is refused with its reason.

#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "cpx/exchange/outbound.hpp"
#include "cpx/exchange/payload.hpp"
#include "cpx/exchange/request.hpp"
#include "cpx/v1/account.pb.h"
#include "cpx/v1/admin.pb.h"
#include "cpx/v1/common.pb.h"
#include "cpx/v1/market_data.pb.h"
#include "cpx/v1/orders.pb.h"
#include "cpx/v1/settlement.pb.h"
#include "cpx/v1/voucher.pb.h"

namespace cpx::gateway {

cpx::v1::Side to_proto(matching::Side side);
cpx::v1::TradingState to_proto(matching::TradingState state);
cpx::v1::Role to_proto(exchange::Role role);
cpx::v1::InstrumentKind to_proto(matching::InstrumentKind kind);
exchange::Role from_proto(cpx::v1::Role role);

// Fills an order command's fields; false (and a message) when the client order id
// cannot be carried (longer than 32 bytes, or holding a NUL byte): the caller answers
// INVALID_ARGUMENT.
bool to_request(const cpx::v1::NewOrder& in, exchange::Request& out, std::string& error);
bool to_request(const cpx::v1::CancelRequest& in, exchange::Request& out, std::string& error);
bool to_request(const cpx::v1::ReplaceRequest& in, exchange::Request& out, std::string& error);
bool to_request(const cpx::v1::MassCancelRequest& in, exchange::Request& out, std::string& error);

void to_proto(const exchange::Outbound& header, const exchange::Outbound* fills,
              std::size_t fill_count, cpx::v1::ExecutionReport& out);
void to_proto(const exchange::Outbound& header, cpx::v1::MassCancelReport& out);

void to_proto(const exchange::InstrumentView& in, cpx::v1::Instrument& out);
// False (and a message) when a text field is too long for the engine's fixed fields, or
// the accelerator model is not 0 to 64 printable ASCII characters. The model is not part
// of the engine's spec: AddInstrument carries it in Payload::accelerator_model.
bool from_proto(const cpx::v1::Instrument& in, matching::InstrumentSpec& out, std::string& error);
void to_proto(const exchange::AccountSpec& in, cpx::v1::Account& out);
void from_proto(const cpx::v1::Account& in, exchange::AccountSpec& out);
void to_proto(const exchange::BalanceView& in, cpx::v1::BalancesResponse& out);
cpx::v1::ObligationState to_proto(exchange::ObligationState state);
void to_proto(const exchange::Obligation& in, cpx::v1::Obligation& out);

cpx::v1::VoucherState to_proto(exchange::VoucherState state);
void to_proto(const exchange::VoucherProgramView& in, cpx::v1::VoucherProgram& out);
void to_proto(const exchange::VoucherView& in, cpx::v1::Voucher& out);
void to_proto(const exchange::VoucherReportRow& in, cpx::v1::VoucherReportRow& out);
// False (and a message) when the spec breaks a rule that holds whatever the exchange's
// state (an unknown enum value, a negative amount, a share outside 1..10000, a list or a
// text outside the bounds of cpx/exchange/vouchers.hpp, an empty validity period): the
// caller answers INVALID_ARGUMENT INVALID_VOUCHER_PROGRAM. The program id is not read.
bool from_proto(const cpx::v1::VoucherProgramSpec& in, exchange::VoucherProgramSpec& out,
                std::string& error);
// 1 to bytes_max bytes of printable ASCII: the exchange's rule for names and references.
bool printable_text(std::string_view text, std::size_t bytes_max);

// A status with its machine-readable reason: a google.rpc.ErrorInfo (domain
// "cpx.exchange") in the rich error details.
grpc::Status rich_status(grpc::StatusCode code, std::string_view reason, std::string_view message);

// The status a refusal travels with: the gRPC code of the reason, a message for people,
// google.rpc.Status details with a google.rpc.ErrorInfo (domain "cpx.exchange", reason
// = the code's name) for programs. The same reason is also set as trailing metadata
// "cpx-reason" by the callers that have a context.
grpc::Status error_status(exchange::Code code, std::string_view message);
grpc::Status invalid_argument(std::string_view reason, std::string_view message);
// The request queue is full: RESOURCE_EXHAUSTED with reason QUEUE_FULL; retry later.
grpc::Status queue_full();

}  // namespace cpx::gateway
