#pragma once
// A server with a PostgreSQL database of its own, so that it journals, projects and keeps
// the audit record, with a regulator's account and the Audit service's stub: the
// fixture of the tests of the Audit service (proofs, order histories, the regulators'
// streams).

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "cpx/audit/sha256.hpp"
#include "cpx/v1/audit.grpc.pb.h"
#include "gateway_fixture.hpp"
#include "test_database.hpp"

namespace cpx::gateway::test {

// A 32-byte hash as the API sends it (raw `bytes`), or none when it has another length.
inline std::optional<audit::Digest> digest_of(const std::string& bytes) {
    audit::Digest d{};
    if (bytes.size() != d.size()) {
        return std::nullopt;
    }
    std::copy(bytes.begin(), bytes.end(), d.begin());
    return d;
}

class GatewayWithRecord : public GatewayFixture {
  protected:
    // A test's own settings on top of the database, which a subclass keeps by calling
    // this first.
    void configure(ServerConfig& config) override { config.database_url = db_.url(); }

    void SetUp() override {
        GatewayFixture::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        audit_ = cpx::v1::Audit::NewStub(channel_);
        regulator_ = create_account(cpx::v1::ROLE_REGULATOR, "regulator");
        ASSERT_NE(regulator_.id, 0u);
    }

    // The server stops, and lets go of the database, before the database is dropped.
    void TearDown() override {
        GatewayFixture::TearDown();
        server_.reset();
    }

    // A second buyer with the usual deposit, for tests of who may see what.
    Party funded_buyer(const std::string& name) {
        Party party = create_account(cpx::v1::ROLE_BUYER, name);
        EXPECT_NE(party.id, 0u);
        EXPECT_TRUE(deposit(party, kBuyerDeposit).ok());
        return party;
    }

    cpx::test::TestDatabase db_;
    std::unique_ptr<cpx::v1::Audit::Stub> audit_;
    Party regulator_;
};

}  // namespace cpx::gateway::test
