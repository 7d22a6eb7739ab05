#include "status_text.hpp"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace cpx::load {

std::string_view status_code_name(grpc::StatusCode code) {
    switch (code) {
        case grpc::OK:
            return "OK";
        case grpc::CANCELLED:
            return "CANCELLED";
        case grpc::UNKNOWN:
            return "UNKNOWN";
        case grpc::INVALID_ARGUMENT:
            return "INVALID_ARGUMENT";
        case grpc::DEADLINE_EXCEEDED:
            return "DEADLINE_EXCEEDED";
        case grpc::NOT_FOUND:
            return "NOT_FOUND";
        case grpc::ALREADY_EXISTS:
            return "ALREADY_EXISTS";
        case grpc::PERMISSION_DENIED:
            return "PERMISSION_DENIED";
        case grpc::UNAUTHENTICATED:
            return "UNAUTHENTICATED";
        case grpc::RESOURCE_EXHAUSTED:
            return "RESOURCE_EXHAUSTED";
        case grpc::FAILED_PRECONDITION:
            return "FAILED_PRECONDITION";
        case grpc::ABORTED:
            return "ABORTED";
        case grpc::OUT_OF_RANGE:
            return "OUT_OF_RANGE";
        case grpc::UNIMPLEMENTED:
            return "UNIMPLEMENTED";
        case grpc::INTERNAL:
            return "INTERNAL";
        case grpc::UNAVAILABLE:
            return "UNAVAILABLE";
        case grpc::DATA_LOSS:
            return "DATA_LOSS";
        default:
            return "STATUS_CODE_UNKNOWN";
    }
}

std::string describe_status(const grpc::Status& status) {
    std::string text(status_code_name(status.error_code()));
    if (!status.error_message().empty()) {
        text += ": " + status.error_message();
    }
    return text;
}

std::string refusal_reason(const grpc::Status& status) {
    if (!status.error_details().empty()) {
        google::rpc::Status details;
        if (details.ParseFromString(status.error_details())) {
            for (const google::protobuf::Any& detail : details.details()) {
                google::rpc::ErrorInfo info;
                if (detail.Is<google::rpc::ErrorInfo>() && detail.UnpackTo(&info) &&
                    !info.reason().empty()) {
                    return info.reason();
                }
            }
        }
    }
    return std::string(status_code_name(status.error_code()));
}

bool is_refusal(grpc::StatusCode code) {
    switch (code) {
        case grpc::INVALID_ARGUMENT:
        case grpc::NOT_FOUND:
        case grpc::ALREADY_EXISTS:
        case grpc::PERMISSION_DENIED:
        case grpc::RESOURCE_EXHAUSTED:
        case grpc::FAILED_PRECONDITION:
        case grpc::ABORTED:
        case grpc::OUT_OF_RANGE:
            return true;
        default:
            return false;
    }
}

}  // namespace cpx::load
