// Compute vouchers: the operator's programs, grants and revocations, and what operators,
// regulators, issuers and beneficiaries may read of them. Each is a Payload call
// answered in sequence with the orders, like settlement; the rules, the money and who
// may see what are the exchange's (cpx/exchange/vouchers.hpp).

#include <string>
#include <string_view>

#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/services.hpp"
#include "payload_call.hpp"

namespace cpx::gateway {

namespace {

using exchange::Code;
using exchange::Payload;
using exchange::RequestType;

// Reasons of the gateway's own, for ids of 0 and enum values the exchange never sees.
constexpr std::string_view kInvalidProgramId = "INVALID_PROGRAM_ID";
constexpr std::string_view kInvalidVoucherId = "INVALID_VOUCHER_ID";
constexpr std::string_view kInvalidBeneficiary = "INVALID_BENEFICIARY";
constexpr std::string_view kInvalidGroup = "INVALID_VOUCHER_GROUP";

void answer_program(const Payload& p, cpx::v1::VoucherProgram& out) {
    if (!p.programs.empty()) {
        to_proto(p.programs.front(), out);
    }
}

void answer_voucher(const Payload& p, cpx::v1::Voucher& out) {
    if (!p.vouchers.empty()) {
        to_proto(p.vouchers.front(), out);
    }
}

}  // namespace

grpc::ServerUnaryReactor* VoucherService::CreateProgram(
    grpc::CallbackServerContext* context, const cpx::v1::CreateProgramRequest* request,
    cpx::v1::VoucherProgram* response) {
    auto* call = make_call<cpx::v1::VoucherProgram>(context_, context, response, answer_program);
    std::string error;
    if (!from_proto(request->program(), call->payload().program, error)) {
        return refuse(call, Code::InvalidVoucherProgram, error);
    }
    exchange::Request r = request_of(RequestType::CreateVoucherProgram);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* VoucherService::FundProgram(grpc::CallbackServerContext* context,
                                                      const cpx::v1::FundProgramRequest* request,
                                                      cpx::v1::VoucherProgram* response) {
    auto* call = make_call<cpx::v1::VoucherProgram>(context_, context, response, answer_program);
    if (request->program_id() == 0) {
        return refuse(call, kInvalidProgramId, "program_id is required");
    }
    if (request->amount_fen() <= 0) {
        return refuse(call, Code::InvalidAmount, "amount_fen must be at least 1");
    }
    if (!printable_text(request->fund_ref(), exchange::kVoucherRefBytesMax)) {
        return refuse(call, Code::InvalidAmount, "fund_ref: 1 to 64 printable ASCII characters");
    }
    call->payload().program_id = request->program_id();
    call->payload().amount_fen = request->amount_fen();
    call->payload().voucher_ref = request->fund_ref();
    exchange::Request r = request_of(RequestType::FundVoucherProgram);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* VoucherService::GrantVoucher(grpc::CallbackServerContext* context,
                                                       const cpx::v1::GrantVoucherRequest* request,
                                                       cpx::v1::GrantVoucherResponse* response) {
    auto* call = make_call<cpx::v1::GrantVoucherResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::GrantVoucherResponse& out) {
            answer_voucher(p, *out.mutable_voucher());
            out.set_duplicate(p.duplicate);
        });
    if (request->program_id() == 0) {
        return refuse(call, kInvalidProgramId, "program_id is required");
    }
    if (request->beneficiary_account_id() == 0) {
        return refuse(call, kInvalidBeneficiary, "beneficiary_account_id is required");
    }
    if (request->face_fen() <= 0) {
        return refuse(call, Code::InvalidVoucher, "face_fen must be at least 1");
    }
    // Whether the expiry is in the future is the exchange's to say, by its sequenced
    // clock; a time at or before the epoch never is.
    if (request->expiry_ns() <= 0) {
        return refuse(call, Code::InvalidVoucher, "expiry_ns must be in the future");
    }
    if (!printable_text(request->grant_ref(), exchange::kVoucherRefBytesMax)) {
        return refuse(call, Code::InvalidVoucher, "grant_ref: 1 to 64 printable ASCII characters");
    }
    call->payload().program_id = request->program_id();
    call->payload().voucher_face_fen = request->face_fen();
    call->payload().voucher_expiry_ns = request->expiry_ns();
    call->payload().voucher_ref = request->grant_ref();
    exchange::Request r = request_of(RequestType::GrantVoucher, request->beneficiary_account_id());
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* VoucherService::RevokeVoucher(
    grpc::CallbackServerContext* context, const cpx::v1::RevokeVoucherRequest* request,
    cpx::v1::Voucher* response) {
    auto* call = make_call<cpx::v1::Voucher>(context_, context, response, answer_voucher);
    if (request->voucher_id() == 0) {
        return refuse(call, kInvalidVoucherId, "voucher_id is required");
    }
    call->payload().voucher_id = request->voucher_id();
    exchange::Request r = request_of(RequestType::RevokeVoucher);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* VoucherService::ListPrograms(grpc::CallbackServerContext* context,
                                                       const cpx::v1::ListProgramsRequest* request,
                                                       cpx::v1::ListProgramsResponse* response) {
    auto* call = make_call<cpx::v1::ListProgramsResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::ListProgramsResponse& out) {
            for (const exchange::VoucherProgramView& program : p.programs) {
                to_proto(program, *out.add_programs());
            }
        });
    // Every id is valid: 0 means every program the caller may see.
    call->payload().program_id = request->program_id();
    exchange::Request r = request_of(RequestType::ListVoucherPrograms);
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* VoucherService::ListVouchers(grpc::CallbackServerContext* context,
                                                       const cpx::v1::ListVouchersRequest* request,
                                                       cpx::v1::ListVouchersResponse* response) {
    auto* call = make_call<cpx::v1::ListVouchersResponse>(
        context_, context, response, [](const Payload& p, cpx::v1::ListVouchersResponse& out) {
            for (const exchange::VoucherView& voucher : p.vouchers) {
                to_proto(voucher, *out.add_vouchers());
            }
        });
    // 0 in either means every program or beneficiary the caller may see.
    call->payload().program_id = request->program_id();
    exchange::Request r = request_of(RequestType::ListVouchers, request->account_id());
    call->start(r);
    return call;
}

grpc::ServerUnaryReactor* VoucherService::Report(grpc::CallbackServerContext* context,
                                                 const cpx::v1::VoucherReportRequest* request,
                                                 cpx::v1::VoucherReportResponse* response) {
    const cpx::v1::VoucherGroup group = request->group();
    auto* call = make_call<cpx::v1::VoucherReportResponse>(
        context_, context, response,
        [group](const Payload& p, cpx::v1::VoucherReportResponse& out) {
            out.set_group(group);
            for (const exchange::VoucherReportRow& row : p.voucher_report) {
                to_proto(row, *out.add_rows());
            }
        });
    switch (group) {
        case cpx::v1::VOUCHER_GROUP_BENEFICIARY:
            call->payload().voucher_group = exchange::VoucherGroup::Beneficiary;
            break;
        case cpx::v1::VOUCHER_GROUP_PROVIDER:
            call->payload().voucher_group = exchange::VoucherGroup::Provider;
            break;
        case cpx::v1::VOUCHER_GROUP_PERIOD:
            call->payload().voucher_group = exchange::VoucherGroup::Period;
            break;
        default:
            // A report groups by something named: no grouping is taken by default.
            return refuse(call, kInvalidGroup,
                          "group must be VOUCHER_GROUP_BENEFICIARY, VOUCHER_GROUP_PROVIDER or "
                          "VOUCHER_GROUP_PERIOD");
    }
    call->payload().program_id = request->program_id();
    exchange::Request r = request_of(RequestType::VoucherReport);
    call->start(r);
    return call;
}

}  // namespace cpx::gateway
