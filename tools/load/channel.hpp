#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace cpx::load {

// A plaintext channel to target that is its own TCP connection: gRPC would otherwise
// let channels with the same arguments share one connection, and N "connections" would
// be one. The index makes the arguments differ.
std::shared_ptr<grpc::Channel> make_channel(const std::string& target, int index);

}  // namespace cpx::load
