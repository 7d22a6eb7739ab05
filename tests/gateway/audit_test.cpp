// The audit log's proofs through the API, over real gRPC on loopback, against a server
// with a database of its own and an audit key that signs a checkpoint after every
// projected batch. What a client gets is checked the way a client would check it, with
// cpx_audit and the public key from the key's ".pub" file only: the checkpoint's
// signature, the record's leaf hash, the inclusion path to the signed root, and the
// consistency of an earlier checkpoint with a later one. And who may ask about what, and
// the refusal of every bad input with its status and reason.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/audit/sha256.hpp"
#include "cpx/store/database.hpp"
#include "record_fixture.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

// The projector polls the journal every 20 ms and signs after every batch here; a
// record is covered well within this on a loaded machine.
constexpr std::chrono::milliseconds kProjectionTimeout{30'000};

std::uint64_t u64_at(const std::string& bytes, std::size_t offset) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        value = (value << 8) | static_cast<unsigned char>(bytes.at(offset + i));
    }
    return value;
}

std::int64_t i64_at(const std::string& bytes, std::size_t offset) {
    return static_cast<std::int64_t>(u64_at(bytes, offset));
}

std::vector<audit::Digest> path_of(const google::protobuf::RepeatedPtrField<std::string>& path) {
    std::vector<audit::Digest> out;
    for (const std::string& node : path) {
        const std::optional<audit::Digest> d = digest_of(node);
        EXPECT_TRUE(d.has_value()) << "a path node of " << node.size() << " bytes";
        out.push_back(d.value_or(audit::Digest{}));
    }
    return out;
}

audit::Checkpoint checkpoint_of(const cpx::v1::Checkpoint& in) {
    audit::Checkpoint c;
    c.tree_size = in.tree_size();
    c.ts_ns = in.ts_ns();
    c.root = digest_of(in.root()).value_or(audit::Digest{});
    EXPECT_EQ(in.root().size(), c.root.size());
    EXPECT_EQ(in.signature().size(), c.signature.size());
    std::copy_n(in.signature().begin(), std::min(in.signature().size(), c.signature.size()),
                c.signature.begin());
    return c;
}

// What a client checks of an inclusion proof, given the exchange's public key: the
// checkpoint's signature, the leaf hash of the record bytes, and the path to the root.
::testing::AssertionResult verifies(const cpx::v1::InclusionProof& proof,
                                    const audit::PublicKey& key) {
    const audit::Checkpoint checkpoint = checkpoint_of(proof.checkpoint());
    if (!audit::verify_checkpoint(checkpoint, key)) {
        return ::testing::AssertionFailure() << "the checkpoint's signature does not verify";
    }
    const audit::Digest leaf = audit::leaf_hash(proof.record());
    if (digest_of(proof.leaf_hash()) != leaf) {
        return ::testing::AssertionFailure() << "leaf_hash is not the record's";
    }
    const std::vector<audit::Digest> path = path_of(proof.path());
    if (!audit::verify_inclusion(proof.position(), checkpoint.tree_size, leaf, path,
                                 checkpoint.root)) {
        return ::testing::AssertionFailure()
               << "the path of position " << proof.position() << " does not lead to the root of "
               << checkpoint.tree_size << " records";
    }
    return ::testing::AssertionSuccess();
}

// A trade a test made: its id and the time it was made.
struct Traded {
    std::uint64_t id = 0;
    std::int64_t ts_ns = 0;
};

class GatewayAudit : public GatewayWithRecord {
  protected:
    GatewayAudit()
        : key_dir_(std::filesystem::temp_directory_path() /
                   ("cpx_audit_test_" + std::to_string(::getpid()) + "_" + db_.name())) {
        std::filesystem::create_directories(key_dir_);
    }

    ~GatewayAudit() override {
        std::error_code ignored;
        std::filesystem::remove_all(key_dir_, ignored);
    }

    // Whether the server has an audit key; without one the log is written and never
    // signed.
    virtual bool signs() const { return true; }

    void configure(ServerConfig& config) override {
        GatewayWithRecord::configure(config);
        if (signs()) {
            config.audit_key_file = (key_dir_ / "audit.key").string();
        }
        config.audit_checkpoint_interval_ms = 0;
    }

    void SetUp() override {
        GatewayWithRecord::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        second_buyer_ = funded_buyer("second-buyer");
    }

    // The exchange's public key, as cpxd published it beside the key file.
    audit::PublicKey public_key() const {
        std::ifstream in(key_dir_ / "audit.key.pub");
        std::string hex;
        in >> hex;
        audit::Digest key{};
        EXPECT_TRUE(audit::from_hex(hex, key)) << "audit.key.pub holds '" << hex << "'";
        return key;
    }

    // The provider sells and `taker` buys `quantity` at `price` of the token instrument:
    // one trade.
    Traded trade(const Party& taker, std::int64_t price, std::int64_t quantity) {
        const auto ask = sell(provider_, kTokens, price, quantity);
        EXPECT_TRUE(ask.ok()) << ask.status.error_message();
        const auto bid = buy(taker, kTokens, price, quantity);
        EXPECT_TRUE(bid.ok()) << bid.status.error_message();
        if (bid.response.fills_size() != 1) {
            ADD_FAILURE() << "expected one fill, got " << bid.response.fills_size();
            return Traded{};
        }
        return Traded{bid.response.fills(0).trade_id(), bid.response.fills(0).ts_ns()};
    }

    Answer<cpx::v1::Checkpoint> get_checkpoint(const Party& who, std::uint64_t tree_size = 0) {
        cpx::v1::GetCheckpointRequest r;
        r.set_tree_size(tree_size);
        return call<cpx::v1::Checkpoint>(who.key,
                                         [&](grpc::ClientContext& c, cpx::v1::Checkpoint& out) {
                                             return audit_->GetCheckpoint(&c, r, &out);
                                         });
    }
    Answer<cpx::v1::InclusionProof> prove(const Party& who, cpx::v1::AuditRecordKind kind,
                                          std::uint64_t ref, std::uint64_t tree_size = 0) {
        cpx::v1::ProveInclusionRequest r;
        r.set_kind(kind);
        r.set_ref(ref);
        r.set_tree_size(tree_size);
        return call<cpx::v1::InclusionProof>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::InclusionProof& out) {
                return audit_->ProveInclusion(&c, r, &out);
            });
    }
    Answer<cpx::v1::ConsistencyProof> prove_consistency(const Party& who, std::uint64_t old_size,
                                                        std::uint64_t new_size = 0) {
        cpx::v1::ProveConsistencyRequest r;
        r.set_old_size(old_size);
        r.set_new_size(new_size);
        return call<cpx::v1::ConsistencyProof>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ConsistencyProof& out) {
                return audit_->ProveConsistency(&c, r, &out);
            });
    }

    // Waits as a client would until a checkpoint covers what happened at `ts_ns` (the
    // newest checkpoint's time has reached it), then asks for the record's proof. Two
    // requests may share a time, so a checkpoint of that time may still end just before
    // the record; the record is then refused as one not yet covered (NOT_FOUND) or, for
    // a caller who may not see everything, as one not shown to involve it
    // (PERMISSION_DENIED), and the call is repeated. Returns the last answer.
    Answer<cpx::v1::InclusionProof> prove_when_covered(const Party& who,
                                                       cpx::v1::AuditRecordKind kind,
                                                       std::uint64_t ref, std::int64_t ts_ns) {
        const auto deadline = std::chrono::steady_clock::now() + kProjectionTimeout;
        for (;;) {
            const auto newest = get_checkpoint(who);
            if (newest.ok() && newest.response.ts_ns() >= ts_ns) {
                break;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                ADD_FAILURE() << "no checkpoint came after " << ts_ns;
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
        for (;;) {
            Answer<cpx::v1::InclusionProof> answer = prove(who, kind, ref);
            const grpc::StatusCode code = answer.status.error_code();
            if ((code != grpc::StatusCode::NOT_FOUND &&
                 code != grpc::StatusCode::PERMISSION_DENIED) ||
                std::chrono::steady_clock::now() > deadline) {
                return answer;
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    Answer<cpx::v1::InclusionProof> prove_when_covered(const Party& who, const Traded& traded) {
        return prove_when_covered(who, cpx::v1::AUDIT_RECORD_KIND_TRADE, traded.id, traded.ts_ns);
    }

    // Polls GetCheckpoint until the newest checkpoint holds more than `tree_size`
    // records; returns it (a failed expectation when none comes).
    cpx::v1::Checkpoint checkpoint_after(std::uint64_t tree_size) {
        const auto deadline = std::chrono::steady_clock::now() + kProjectionTimeout;
        for (;;) {
            const auto answer = get_checkpoint(buyer_);
            if (answer.ok() && answer.response.tree_size() > tree_size) {
                return answer.response;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                ADD_FAILURE() << "no checkpoint of more than " << tree_size
                              << " records came: " << code_name(answer.status.error_code()) << " "
                              << answer.status.error_message();
                return answer.response;
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    // The id of a transfer that moved money of `owner`, read from the ledger the
    // projector wrote (the API names trades, not transfers).
    std::uint64_t a_transfer_of(const Party& owner) {
        const auto connection = store::connect(db_.url());
        pqxx::read_transaction tx(*connection);
        const pqxx::result rows = tx.exec(
            "SELECT t.id FROM transfers t JOIN ledger_accounts a ON a.id = t.credit_account_id "
            "WHERE a.owner = " +
            std::to_string(owner.id) + " ORDER BY t.id LIMIT 1");
        if (rows.empty()) {
            ADD_FAILURE() << "no transfer credits account " << owner.id;
            return 0;
        }
        return rows[0][0].as<std::uint64_t>();
    }

    std::filesystem::path key_dir_;
    Party second_buyer_;
};

TEST_F(GatewayAudit, ABuyersTradeProofVerifiesAgainstTheSignedCheckpoint) {
    trade(second_buyer_, 40, 3);
    const Traded traded = trade(buyer_, 42, 5);
    ASSERT_NE(traded.id, 0u);

    const auto proof = prove_when_covered(buyer_, traded);
    ASSERT_TRUE(proof.ok()) << proof.status.error_message();
    EXPECT_EQ(proof.response.kind(), cpx::v1::AUDIT_RECORD_KIND_TRADE);
    EXPECT_EQ(proof.response.ref(), traded.id);
    EXPECT_LT(proof.response.position(), proof.response.checkpoint().tree_size());
    EXPECT_TRUE(verifies(proof.response, public_key()));

    // The record is the trade (docs/AUDIT_FORMATS.md: kind, id, instrument, buyer,
    // provider, buy order, sell order, price, quantity, ...: 97 bytes).
    const std::string& record = proof.response.record();
    ASSERT_EQ(record.size(), 97u);
    EXPECT_EQ(record[0], 3);
    EXPECT_EQ(u64_at(record, 1), traded.id);
    EXPECT_EQ(u64_at(record, 9), kTokens);
    EXPECT_EQ(u64_at(record, 17), buyer_.id);
    EXPECT_EQ(u64_at(record, 25), provider_.id);
    EXPECT_EQ(i64_at(record, 49), 42);
    EXPECT_EQ(i64_at(record, 57), 5);
    EXPECT_EQ(i64_at(record, 65), 42 * 5);

    // The checkpoint is the one GetCheckpoint gives for its size, and the provider, the
    // trade's other side, gets a proof of the same record.
    const auto same = get_checkpoint(provider_, proof.response.checkpoint().tree_size());
    ASSERT_TRUE(same.ok()) << same.status.error_message();
    EXPECT_EQ(same.response.SerializeAsString(), proof.response.checkpoint().SerializeAsString());
    const auto providers = prove(provider_, cpx::v1::AUDIT_RECORD_KIND_TRADE, traded.id,
                                 proof.response.checkpoint().tree_size());
    ASSERT_TRUE(providers.ok()) << providers.status.error_message();
    EXPECT_EQ(providers.response.SerializeAsString(), proof.response.SerializeAsString());
}

TEST_F(GatewayAudit, ATransferProofVerifiesForTheAccountWhoseMoneyItMoved) {
    const Traded traded = trade(buyer_, 50, 2);
    ASSERT_TRUE(prove_when_covered(buyer_, traded).ok());
    // The buyer's deposit: from the exchange's external account to the buyer's.
    const std::uint64_t transfer_id = a_transfer_of(buyer_);
    ASSERT_NE(transfer_id, 0u);

    const auto proof = prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRANSFER, transfer_id);
    ASSERT_TRUE(proof.ok()) << proof.status.error_message();
    EXPECT_TRUE(verifies(proof.response, public_key()));
    const std::string& record = proof.response.record();
    ASSERT_EQ(record.size(), 68u);
    EXPECT_EQ(record[0], 2);
    EXPECT_EQ(u64_at(record, 1), transfer_id);
    EXPECT_EQ(i64_at(record, 25), kBuyerDeposit);

    // The provider's money did not move in it.
    EXPECT_TRUE(refused(prove(provider_, cpx::v1::AUDIT_RECORD_KIND_TRANSFER, transfer_id),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD"));
}

TEST_F(GatewayAudit, ALaterCheckpointIsConsistentWithAnEarlierOne) {
    const Traded first_trade = trade(buyer_, 30, 1);
    ASSERT_TRUE(prove_when_covered(buyer_, first_trade).ok());
    const cpx::v1::Checkpoint early = checkpoint_after(0);
    const Traded later_trade = trade(buyer_, 31, 1);
    ASSERT_TRUE(prove_when_covered(buyer_, later_trade).ok());
    const cpx::v1::Checkpoint late = checkpoint_after(early.tree_size());
    ASSERT_GT(late.tree_size(), early.tree_size());

    const auto proof = prove_consistency(buyer_, early.tree_size());
    ASSERT_TRUE(proof.ok()) << proof.status.error_message();
    EXPECT_EQ(proof.response.old_checkpoint().SerializeAsString(), early.SerializeAsString());
    const audit::Checkpoint older = checkpoint_of(proof.response.old_checkpoint());
    const audit::Checkpoint newer = checkpoint_of(proof.response.new_checkpoint());
    EXPECT_GE(newer.tree_size, late.tree_size());
    EXPECT_TRUE(audit::verify_checkpoint(older, public_key()));
    EXPECT_TRUE(audit::verify_checkpoint(newer, public_key()));
    EXPECT_TRUE(audit::verify_consistency(older.tree_size, newer.tree_size, older.root, newer.root,
                                          path_of(proof.response.path())));

    // Between two named checkpoints too; a checkpoint with itself needs no path.
    const auto named = prove_consistency(provider_, early.tree_size(), late.tree_size());
    ASSERT_TRUE(named.ok()) << named.status.error_message();
    EXPECT_EQ(named.response.new_checkpoint().SerializeAsString(), late.SerializeAsString());
    EXPECT_TRUE(audit::verify_consistency(early.tree_size(), late.tree_size(),
                                          checkpoint_of(early).root, checkpoint_of(late).root,
                                          path_of(named.response.path())));
    const auto itself = prove_consistency(buyer_, late.tree_size(), late.tree_size());
    ASSERT_TRUE(itself.ok()) << itself.status.error_message();
    EXPECT_EQ(itself.response.path_size(), 0);

    // The later trade is not in the early checkpoint's tree.
    EXPECT_TRUE(
        refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRADE, later_trade.id, early.tree_size()),
                grpc::StatusCode::INVALID_ARGUMENT, "CHECKPOINT_BEFORE_RECORD"));
}

// Above 256 records the proofs read the roots of the stored subtrees (audit_subtrees)
// rather than leaf hashes: proofs into and across them verify too.
TEST_F(GatewayAudit, ProofsAcrossTheStoredSubtreesOfALargerLogVerify) {
    const Traded first = trade(buyer_, 10, 1);
    ASSERT_TRUE(prove_when_covered(buyer_, first).ok());
    const cpx::v1::Checkpoint early = checkpoint_after(0);
    ASSERT_LT(early.tree_size(), 256u);
    Traded last;
    std::uint64_t covered = early.tree_size();
    for (int round = 0; round < 40 && covered <= 600; ++round) {
        for (int i = 0; i < 20; ++i) {
            last = trade(i % 2 == 0 ? buyer_ : second_buyer_, 10 + i, 1);
        }
        const auto newest = get_checkpoint(buyer_);
        ASSERT_TRUE(newest.ok()) << newest.status.error_message();
        covered = newest.response.tree_size();
    }
    ASSERT_GT(covered, 600u);
    const auto proof =
        prove_when_covered(regulator_, cpx::v1::AUDIT_RECORD_KIND_TRADE, last.id, last.ts_ns);
    ASSERT_TRUE(proof.ok()) << proof.status.error_message();
    EXPECT_GT(proof.response.position(), 512u);
    const audit::PublicKey key = public_key();
    EXPECT_TRUE(verifies(proof.response, key));

    const std::uint64_t size = proof.response.checkpoint().tree_size();
    const auto journal = prove(regulator_, cpx::v1::AUDIT_RECORD_KIND_JOURNAL, 1, size);
    ASSERT_TRUE(journal.ok()) << journal.status.error_message();
    EXPECT_TRUE(verifies(journal.response, key));
    const auto first_proof = prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRADE, first.id, size);
    ASSERT_TRUE(first_proof.ok()) << first_proof.status.error_message();
    EXPECT_TRUE(verifies(first_proof.response, key));

    const auto consistency = prove_consistency(second_buyer_, early.tree_size(), size);
    ASSERT_TRUE(consistency.ok()) << consistency.status.error_message();
    EXPECT_TRUE(audit::verify_consistency(early.tree_size(), size, checkpoint_of(early).root,
                                          checkpoint_of(proof.response.checkpoint()).root,
                                          path_of(consistency.response.path())));

    const auto connection = store::connect(db_.url());
    pqxx::read_transaction tx(*connection);
    EXPECT_GE(tx.exec1("SELECT count(*) FROM audit_subtrees WHERE level >= 9")[0].as<int>(), 1);
}

TEST_F(GatewayAudit, ATamperedPathRecordOrRootFailsVerification) {
    // Enough records that the path has several nodes.
    for (int i = 0; i < 4; ++i) {
        trade(second_buyer_, 20 + i, 1);
    }
    const Traded traded = trade(buyer_, 44, 2);
    const auto proof = prove_when_covered(buyer_, traded);
    ASSERT_TRUE(proof.ok()) << proof.status.error_message();
    ASSERT_TRUE(verifies(proof.response, public_key()));
    ASSERT_GE(proof.response.path_size(), 2);

    for (int node = 0; node < proof.response.path_size(); ++node) {
        cpx::v1::InclusionProof tampered = proof.response;
        (*tampered.mutable_path(node))[7] ^= 0x01;
        EXPECT_FALSE(verifies(tampered, public_key())) << "path node " << node;
    }
    cpx::v1::InclusionProof other_price = proof.response;
    (*other_price.mutable_record())[56] ^= 0x01;  // the price's last byte
    other_price.set_leaf_hash(std::string(audit::as_bytes(audit::leaf_hash(other_price.record()))));
    EXPECT_FALSE(verifies(other_price, public_key()));
    cpx::v1::InclusionProof other_position = proof.response;
    other_position.set_position(proof.response.position() ^ 1);
    EXPECT_FALSE(verifies(other_position, public_key()));
    // A root of someone else's making is not signed.
    cpx::v1::InclusionProof other_root = proof.response;
    (*other_root.mutable_checkpoint()->mutable_root())[0] ^= 0x01;
    EXPECT_FALSE(verifies(other_root, public_key()));
}

TEST_F(GatewayAudit, ABuyerMayNotProveAnotherBuyersTradeNorAJournalEntryWhetherOrNotItExists) {
    const Traded others = trade(second_buyer_, 45, 1);
    const Traded own = trade(buyer_, 46, 1);
    ASSERT_TRUE(prove_when_covered(buyer_, own).ok());
    ASSERT_TRUE(prove_when_covered(second_buyer_, others).ok());

    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRADE, others.id),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD"));
    // A trade that does not exist answers the same, so that ids reveal nothing.
    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRADE, 999'999),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD"));
    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRANSFER, 999'999),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD"));
    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_JOURNAL, 1),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD"));
    EXPECT_TRUE(refused(prove(provider_, cpx::v1::AUDIT_RECORD_KIND_JOURNAL, 1),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD"));
}

TEST_F(GatewayAudit, ARegulatorAndAnOperatorMayProveAnyRecordIncludingAJournalEntry) {
    const Traded traded = trade(buyer_, 47, 3);
    ASSERT_TRUE(prove_when_covered(buyer_, traded).ok());
    const std::uint64_t transfer_id = a_transfer_of(second_buyer_);
    const audit::PublicKey key = public_key();

    for (const Party* who : {&regulator_, &operator_}) {
        const auto journal = prove(*who, cpx::v1::AUDIT_RECORD_KIND_JOURNAL, 1);
        ASSERT_TRUE(journal.ok()) << journal.status.error_message();
        EXPECT_TRUE(verifies(journal.response, key));
        // The first record of the log: journal seq 1, the bootstrap.
        EXPECT_EQ(journal.response.position(), 0u);
        ASSERT_GE(journal.response.record().size(), 23u);
        EXPECT_EQ(journal.response.record()[0], 1);
        EXPECT_EQ(u64_at(journal.response.record(), 1), 1u);

        const auto trade_proof = prove(*who, cpx::v1::AUDIT_RECORD_KIND_TRADE, traded.id);
        ASSERT_TRUE(trade_proof.ok()) << trade_proof.status.error_message();
        EXPECT_TRUE(verifies(trade_proof.response, key));
        const auto transfer_proof = prove(*who, cpx::v1::AUDIT_RECORD_KIND_TRANSFER, transfer_id);
        ASSERT_TRUE(transfer_proof.ok()) << transfer_proof.status.error_message();
        EXPECT_TRUE(verifies(transfer_proof.response, key));
    }
}

TEST_F(GatewayAudit, AnUnknownRecordIsNotFoundForThoseWhoMaySeeEverything) {
    EXPECT_TRUE(refused(prove(regulator_, cpx::v1::AUDIT_RECORD_KIND_TRADE, 999'999),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_RECORD"));
    EXPECT_TRUE(refused(prove(operator_, cpx::v1::AUDIT_RECORD_KIND_JOURNAL, 999'999),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_RECORD"));
    EXPECT_TRUE(refused(prove(regulator_, cpx::v1::AUDIT_RECORD_KIND_TRANSFER, 999'999),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_RECORD"));
}

TEST_F(GatewayAudit, MalformedRequestsAreInvalidArguments) {
    const cpx::v1::Checkpoint newest = checkpoint_after(0);
    const std::uint64_t size = newest.tree_size();

    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_UNSPECIFIED, 1),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_RECORD_KIND"));
    EXPECT_TRUE(refused(prove(buyer_, static_cast<cpx::v1::AuditRecordKind>(9), 1),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_RECORD_KIND"));
    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRADE, 0),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_RECORD_REF"));
    EXPECT_TRUE(
        refused(prove(regulator_, cpx::v1::AUDIT_RECORD_KIND_JOURNAL, 1, size + 1'000'000'000),
                grpc::StatusCode::INVALID_ARGUMENT, "NOT_A_CHECKPOINT"));
    EXPECT_TRUE(refused(get_checkpoint(buyer_, size + 1'000'000'000),
                        grpc::StatusCode::INVALID_ARGUMENT, "NOT_A_CHECKPOINT"));
    EXPECT_TRUE(refused(prove_consistency(buyer_, size, size + 1'000'000'000),
                        grpc::StatusCode::INVALID_ARGUMENT, "NOT_A_CHECKPOINT"));
    EXPECT_TRUE(refused(prove_consistency(buyer_, size + 1'000'000'000, 0),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_TREE_SIZES"));
    EXPECT_TRUE(refused(prove_consistency(buyer_, size, size - 1),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_TREE_SIZES"));
    EXPECT_TRUE(refused(prove_consistency(buyer_, 0, size), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_TREE_SIZES"));
}

TEST_F(GatewayAudit, ACallWithoutAKeyOrWithAnUnknownKeyIsUnauthenticated) {
    const Party nobody{0, ""};
    EXPECT_TRUE(
        refused(get_checkpoint(nobody), grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
    EXPECT_TRUE(refused(prove(nobody, cpx::v1::AUDIT_RECORD_KIND_TRADE, 1),
                        grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
    EXPECT_TRUE(refused(prove_consistency(nobody, 1), grpc::StatusCode::UNAUTHENTICATED,
                        "UNAUTHENTICATED"));
    const Party stranger{0, "cpx_not_a_key_anyone_has"};
    EXPECT_TRUE(
        refused(get_checkpoint(stranger), grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
}

// A server without an audit key writes the log and signs nothing: a record is in the
// log, but no checkpoint ever covers it.
class GatewayAuditUnsigned : public GatewayAudit {
  protected:
    bool signs() const override { return false; }
};

TEST_F(GatewayAuditUnsigned, ALoggedRecordIsNotFoundUntilACheckpointCoversIt) {
    const Traded traded = trade(buyer_, 48, 1);
    // The regulator sees UNKNOWN_RECORD until the projector has logged the trade.
    const auto deadline = std::chrono::steady_clock::now() + kProjectionTimeout;
    Answer<cpx::v1::InclusionProof> answer;
    do {
        std::this_thread::sleep_for(20ms);
        answer = prove(regulator_, cpx::v1::AUDIT_RECORD_KIND_TRADE, traded.id);
    } while (error_reason(answer.status) == "UNKNOWN_RECORD" &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_TRUE(refused(answer, grpc::StatusCode::NOT_FOUND, "RECORD_NOT_CHECKPOINTED"));
    EXPECT_TRUE(refused(prove(buyer_, cpx::v1::AUDIT_RECORD_KIND_TRADE, traded.id),
                        grpc::StatusCode::NOT_FOUND, "RECORD_NOT_CHECKPOINTED"));
    EXPECT_TRUE(refused(get_checkpoint(buyer_), grpc::StatusCode::NOT_FOUND, "NO_CHECKPOINT"));
    EXPECT_TRUE(
        refused(prove_consistency(regulator_, 1), grpc::StatusCode::NOT_FOUND, "NO_CHECKPOINT"));
}

// The fixture's server has no database: there is no audit log to prove anything from, nor
// a record of orders to read.
class GatewayAuditWithoutDatabase : public GatewayFixture {};

TEST_F(GatewayAuditWithoutDatabase, EveryAuthenticatedCallIsUnavailable) {
    const auto stub = cpx::v1::Audit::NewStub(channel_);
    cpx::v1::GetCheckpointRequest r;
    const auto answer = call<cpx::v1::Checkpoint>(
        buyer_.key, [&](grpc::ClientContext& c, cpx::v1::Checkpoint& out) {
            return stub->GetCheckpoint(&c, r, &out);
        });
    EXPECT_TRUE(refused(answer, grpc::StatusCode::UNAVAILABLE, "NO_DATABASE"));
    const auto anonymous =
        call<cpx::v1::Checkpoint>("", [&](grpc::ClientContext& c, cpx::v1::Checkpoint& out) {
            return stub->GetCheckpoint(&c, r, &out);
        });
    EXPECT_TRUE(refused(anonymous, grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
    // Nor an order's life to read.
    const auto history = call<cpx::v1::OrderHistoryResponse>(
        buyer_.key, [&](grpc::ClientContext& c, cpx::v1::OrderHistoryResponse& out) {
            return stub->OrderHistory(&c, cpx::v1::OrderHistoryRequest(), &out);
        });
    EXPECT_TRUE(refused(history, grpc::StatusCode::UNAVAILABLE, "NO_DATABASE"));
}

TEST(GatewayAuditConfig, AuditAndSurveillanceKeysSetTheirValuesAndRefuseNonsense) {
    const char* none[] = {"cpxd"};
    const ServerConfig defaults = load_config(1, none);
    EXPECT_TRUE(defaults.audit_key_file.empty());
    EXPECT_EQ(defaults.audit_checkpoint_interval_ms, 1'000);
    EXPECT_EQ(defaults.surveillance_spoof_quantity_min, 500);
    const char* argv[] = {"cpxd",
                          "--audit_key_file=/tmp/k",
                          "--audit_checkpoint_interval_ms=0",
                          "--surveillance_spoof_quantity_min=50",
                          "--surveillance_spoof_window_ms=2000",
                          "--surveillance_band_rejects_min=5",
                          "--surveillance_band_window_ms=1000"};
    const ServerConfig c = load_config(7, argv);
    EXPECT_EQ(c.audit_key_file, "/tmp/k");
    EXPECT_EQ(c.audit_checkpoint_interval_ms, 0);
    EXPECT_EQ(c.surveillance_spoof_quantity_min, 50);
    EXPECT_EQ(c.surveillance_spoof_window_ms, 2'000);
    EXPECT_EQ(c.surveillance_band_rejects_min, 5u);
    EXPECT_EQ(c.surveillance_band_window_ms, 1'000);
    for (const char* bad :
         {"--audit_checkpoint_interval_ms=-1", "--surveillance_spoof_quantity_min=0",
          "--surveillance_spoof_window_ms=0", "--surveillance_band_rejects_min=0",
          "--surveillance_band_window_ms=86400001", "--surveillance_band_window_ms=1m"}) {
        const char* args[] = {"cpxd", bad};
        EXPECT_THROW(load_config(2, args), std::invalid_argument) << bad;
    }
}

}  // namespace
}  // namespace cpx::gateway::test
