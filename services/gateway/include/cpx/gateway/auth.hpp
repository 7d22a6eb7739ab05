#pragma once
// API keys. A client sends its key in the metadata header "x-api-key"; the gateway
// hashes it (SHA-256) on the gRPC thread and the exchange looks the hash up, so a key
// is never stored, journalled or logged.

#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "cpx/exchange/request.hpp"

namespace cpx::gateway {

inline constexpr std::string_view kApiKeyHeader = "x-api-key";

exchange::KeyHash hash_api_key(std::string_view key);

// The hash of the call's key, or nothing when the call carries none.
std::optional<exchange::KeyHash> caller_key_hash(const grpc::CallbackServerContext& context);

// A new key: "cpx_" and 43 characters of base64url over 256 random bits from the
// operating system.
std::string generate_api_key();

}  // namespace cpx::gateway
