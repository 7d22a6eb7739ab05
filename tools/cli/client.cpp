#include "client.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace cpx::cli {

namespace {

std::shared_ptr<grpc::ChannelCredentials> credentials(const Global& global) {
    if (global.tls_ca_file.empty()) {
        return grpc::InsecureChannelCredentials();
    }
    std::ifstream in(global.tls_ca_file);
    if (!in) {
        throw UsageError("--tls-ca: cannot read '" + global.tls_ca_file + "'");
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem.str();
    return grpc::SslCredentials(options);
}

const char* code_name(grpc::StatusCode code) {
    switch (code) {
        case grpc::StatusCode::OK:
            return "OK";
        case grpc::StatusCode::CANCELLED:
            return "CANCELLED";
        case grpc::StatusCode::INVALID_ARGUMENT:
            return "INVALID_ARGUMENT";
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return "DEADLINE_EXCEEDED";
        case grpc::StatusCode::NOT_FOUND:
            return "NOT_FOUND";
        case grpc::StatusCode::ALREADY_EXISTS:
            return "ALREADY_EXISTS";
        case grpc::StatusCode::PERMISSION_DENIED:
            return "PERMISSION_DENIED";
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return "RESOURCE_EXHAUSTED";
        case grpc::StatusCode::FAILED_PRECONDITION:
            return "FAILED_PRECONDITION";
        case grpc::StatusCode::UNAVAILABLE:
            return "UNAVAILABLE";
        case grpc::StatusCode::UNAUTHENTICATED:
            return "UNAUTHENTICATED";
        case grpc::StatusCode::INTERNAL:
            return "INTERNAL";
        default:
            return "ERROR";
    }
}

}  // namespace

Client::Client(const Global& global)
    : global_(global),
      channel_(grpc::CreateChannel(global.target, credentials(global))),
      orders_(cpx::v1::OrderEntry::NewStub(channel_)),
      market_(cpx::v1::MarketData::NewStub(channel_)),
      account_(cpx::v1::AccountQuery::NewStub(channel_)),
      admin_(cpx::v1::Admin::NewStub(channel_)),
      settlement_(cpx::v1::Settlement::NewStub(channel_)),
      vouchers_(cpx::v1::Vouchers::NewStub(channel_)),
      audit_(cpx::v1::Audit::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> Client::context(bool with_deadline) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!global_.api_key.empty()) {
        context->AddMetadata("x-api-key", global_.api_key);
    }
    if (with_deadline) {
        context->set_deadline(std::chrono::system_clock::now() +
                              std::chrono::milliseconds(global_.timeout_ms));
    }
    return context;
}

int print_error(const Global& global, const grpc::Status& status) {
    std::string reason;
    google::rpc::Status details;
    if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
        for (const auto& any : details.details()) {
            google::rpc::ErrorInfo info;
            if (any.UnpackTo(&info)) {
                reason = info.reason();
            }
        }
    }
    if (global.json) {
        std::string message = status.error_message();
        std::string escaped;
        for (const char c : message) {
            if (c == '"' || c == '\\') {
                escaped.push_back('\\');
            }
            escaped.push_back(c);
        }
        std::printf("{\"error\":{\"code\":\"%s\",\"reason\":\"%s\",\"message\":\"%s\"}}\n",
                    code_name(status.error_code()), reason.c_str(), escaped.c_str());
    } else {
        std::fprintf(stderr, "error: %s%s%s: %s\n", code_name(status.error_code()),
                     reason.empty() ? "" : " ", reason.c_str(), status.error_message().c_str());
    }
    return 1;
}

void print_json(const google::protobuf::Message& message) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(message, &out, options);
    std::cout << out << "\n";
}

int answer(const Global& global, const grpc::Status& status,
           const google::protobuf::Message& message, const std::string& text) {
    if (!status.ok()) {
        return print_error(global, status);
    }
    if (global.json) {
        print_json(message);
    } else {
        std::cout << text << "\n";
    }
    return 0;
}

void Table::print() const {
    std::vector<std::size_t> widths;
    for (const auto& row : rows_) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    for (const auto& row : rows_) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line += std::string(widths[i] - row[i].size() + 2, ' ');
            }
        }
        std::cout << line << "\n";
    }
}

std::string yuan(std::int64_t fen) {
    const bool negative = fen < 0;
    const std::uint64_t magnitude =
        negative ? static_cast<std::uint64_t>(-(fen + 1)) + 1 : static_cast<std::uint64_t>(fen);
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%s%llu.%02llu", negative ? "-" : "",
                  static_cast<unsigned long long>(magnitude / 100),
                  static_cast<unsigned long long>(magnitude % 100));
    return buffer;
}

std::string side_name(cpx::v1::Side side) {
    return side == cpx::v1::SIDE_BUY ? "buy" : (side == cpx::v1::SIDE_SELL ? "sell" : "-");
}

std::string time_text(std::int64_t ns) {
    const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

}  // namespace cpx::cli
