#pragma once

#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

namespace cpx::load {

// "INVALID_ARGUMENT" for grpc::INVALID_ARGUMENT, and so on.
std::string_view status_code_name(grpc::StatusCode code);

// "CODE: message", for setup errors.
std::string describe_status(const grpc::Status& status);

// The machine-readable reason of a refused unary call: the ErrorInfo reason of gRPC's
// rich error model when the server sent one, otherwise the status code's name.
std::string refusal_reason(const grpc::Status& status);

// True for the codes a server gives when it refuses a command (an answer), false for
// those that mean the call itself failed (no answer: a transport, server or
// authentication problem).
bool is_refusal(grpc::StatusCode code);

}  // namespace cpx::load
