// The standard services cpxd registers beside its own: gRPC health checking and server
// reflection. No generated stubs for them are installed here, so the calls go by name
// with hand-encoded protobuf bytes.

#include "generic_calls.hpp"

namespace cpx::gateway::test {
namespace {

class GatewayHealth : public GatewayFixture {};

TEST_F(GatewayHealth, HealthCheckAnswersServing) {
    // An empty HealthCheckRequest (service "": the server as a whole).
    const GenericAnswer answer = generic_unary(channel_, "/grpc.health.v1.Health/Check", "");
    ASSERT_TRUE(answer.completed);
    ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
    // HealthCheckResponse{status = SERVING}: field 1, varint, value 1.
    EXPECT_EQ(answer.bytes, std::string("\x08\x01", 2));
}

TEST_F(GatewayHealth, HealthCheckOfAnUnknownServiceIsNotFound) {
    // HealthCheckRequest{service = "no.such.Service"}: field 1, length-delimited.
    const std::string service = "no.such.Service";
    const std::string request =
        std::string(1, '\x0A') + std::string(1, static_cast<char>(service.size())) + service;
    const GenericAnswer answer = generic_unary(channel_, "/grpc.health.v1.Health/Check", request);
    ASSERT_TRUE(answer.completed);
    EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayHealth, ReflectionListsEveryService) {
    // ServerReflectionRequest{list_services = ""}: field 7, length-delimited, empty.
    const GenericStreamAnswer answer =
        generic_bidi(channel_, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                     {std::string("\x3A\x00", 2)});
    ASSERT_TRUE(answer.completed);
    ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
    ASSERT_EQ(answer.responses.size(), 1u);
    const std::string& listing = answer.responses.front();
    for (const char* service :
         {"cpx.v1.OrderEntry", "cpx.v1.MarketData", "cpx.v1.AccountQuery", "cpx.v1.Admin",
          "cpx.v1.Settlement", "cpx.v1.Vouchers", "grpc.health.v1.Health"}) {
        EXPECT_NE(listing.find(service), std::string::npos) << service;
    }
}

}  // namespace
}  // namespace cpx::gateway::test
