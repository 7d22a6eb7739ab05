#pragma once
// An audited market for the verifier's tests: an exchange journalled into a fresh
// PostgreSQL database (tests/projector's JournalledExchange) and projected with an audit
// key in three batches, each followed by a signed checkpoint; and the tools of an
// insider who can switch the database's triggers off and rewrite any row.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "cpx/audit/chain.hpp"
#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/audit/signing.hpp"
#include "cpx/verifier/verifier.hpp"
#include "projector_fixture.hpp"

namespace cpx::verifier::test {

using projector::test::JournalledExchange;
using projector::test::Party;

inline audit::Seed seed_of(std::uint8_t tag) {
    audit::Seed seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) {
        seed[i] = static_cast<std::uint8_t>(tag + 3 * i);
    }
    return seed;
}

// "\x..." for a bytea parameter of a statement.
inline std::string bytea_hex(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\\x";
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
    }
    return out;
}

class AuditedMarket : public ::testing::Test {
  protected:
    void SetUp() override {
        JournalledExchange x(db.url(), projector::test::test_config());
        projector::ProjectorConfig config = projector::test::projector_config(db.url());
        config.audit_key = key;
        config.audit_checkpoint_interval_ns = 0;
        projector::LedgerProjector projector(config);

        // Batch 1: the market opens, its accounts are funded.
        x.add_tokens();
        const Party alice = x.buyer("alice", 50'000'000);
        const Party bob = x.buyer("bob", 50'000'000);
        const Party pat = x.provider("pat", 1'000'000);
        const Party quinn = x.provider("quinn", 1'000'000, 2'000'000);
        x.flush();
        projector.project_available();

        // Batch 2: trades, cancels, and two buy orders still resting at its end, whose
        // holds are therefore pending transfers in PostgreSQL.
        for (int i = 0; i < 30; ++i) {
            x.now += 1'000;
            const exchange::Price price = 1'000 + i % 5;
            x.sell(i % 2 == 0 ? pat : quinn, price, 1 + i % 4);
            x.buy(i % 3 == 0 ? alice : bob, price + 2, 1 + (i + 1) % 4);
            if (i % 7 == 0) {
                x.cancel(alice, x.buy(alice, 900, 2));
            }
        }
        resting_ = x.buy(alice, 950, 3);
        x.buy(bob, 960, 2);
        x.flush();
        projector.project_available();

        // Batch 3: one resting order cancelled (a void), the other filled (a post),
        // deliveries confirmed, settlement run, and another deposit.
        x.now += 1'000;
        x.cancel(alice, resting_);
        x.sell(pat, 960, 2);
        int confirmed = 0;
        for (const exchange::Obligation& o : x.exchange.open_obligations()) {
            if (confirmed++ % 2 == 0) {
                x.confirm(o.provider == pat.id ? pat : quinn, o.id, o.quantity);
            }
        }
        x.pass_due();
        x.run_settlement();
        x.deposit(bob, 1'000'000);
        x.flush();
        projector.project_available();
        projector::test::expect_agrees(projector);
        journal_seq_ = x.last_seq();
    }

    VerifyReport verify(const audit::PublicKey& public_key, const VerifyOptions& options = {}) {
        const auto connection = store::connect(db.url());
        return verify_record(*connection, public_key, options);
    }
    VerifyReport verify() { return verify(key->public_key()); }

    std::int64_t scalar(const std::string& sql) const {
        return projector::test::scalar(db.url(), sql);
    }

    // One value as text.
    std::string text(const std::string& sql) const {
        const auto connection = store::connect(db.url());
        pqxx::read_transaction tx(*connection);
        return tx.exec1(sql)[0].as<std::string>();
    }

    // The audit_log position of a record.
    std::int64_t position_of(audit::RecordKind kind, std::int64_t ref) const {
        return scalar("SELECT position FROM audit_log WHERE kind = " +
                      std::to_string(static_cast<int>(kind)) + " AND ref = " + std::to_string(ref));
    }

    // Runs `sql` as the insider: the test database's superuser with every trigger off
    // (session_replication_role = replica), which the append-only tables cannot stop.
    void as_insider(const std::string& sql) const {
        const auto connection = store::connect(db.url());
        pqxx::work tx(*connection);
        tx.exec0("SET LOCAL session_replication_role = replica");
        tx.exec0(sql);
        tx.commit();
    }

    // The insider who knows the algorithm: recomputes the leaf hash of every record from
    // `position` on (from the tables as they are now) and the chain heads after it, so
    // that the log agrees with the rewritten tables. Only the signed checkpoints, which
    // need the exchange's key, are left as they were.
    void recompute_log_from(std::int64_t position, bool heads = true) const {
        const auto connection = store::connect(db.url());
        pqxx::work tx(*connection);
        tx.exec0("SET LOCAL session_replication_role = replica");
        audit::Digest previous = audit::kChainGenesis;
        if (position > 0) {
            const pqxx::binarystring head(
                tx.exec_params1("SELECT head FROM audit_log WHERE position = $1", position - 1)[0]);
            std::copy(head.begin(), head.end(), previous.begin());
        }
        const pqxx::result rows = tx.exec_params(
            "SELECT position, kind, ref FROM audit_log WHERE position >= $1 ORDER BY position",
            position);
        for (const pqxx::row& row : rows) {
            const auto kind = static_cast<audit::RecordKind>(row[1].as<int>());
            const std::optional<std::string> record =
                table_record(tx, kind, row[2].as<std::int64_t>());
            ASSERT_TRUE(record.has_value());
            const audit::Digest leaf = audit::leaf_hash(*record);
            previous = audit::chain_next(previous, *record);
            if (heads) {
                tx.exec_params0(
                    "UPDATE audit_log SET leaf_hash = $1::bytea, head = $2::bytea "
                    "WHERE position = $3",
                    bytea_hex(audit::as_bytes(leaf)), bytea_hex(audit::as_bytes(previous)),
                    row[0].as<std::int64_t>());
            } else {
                tx.exec_params0("UPDATE audit_log SET leaf_hash = $1::bytea WHERE position = $2",
                                bytea_hex(audit::as_bytes(leaf)), row[0].as<std::int64_t>());
                break;
            }
        }
        tx.commit();
    }

    cpx::test::TestDatabase db;
    std::shared_ptr<const audit::SigningKey> key =
        std::make_shared<const audit::SigningKey>(audit::SigningKey::from_seed(seed_of(7)));
    std::uint64_t journal_seq_ = 0;

  private:
    exchange::OrderId resting_ = 0;
};

// Whether some problem of the report contains every one of `parts`.
inline bool has_problem(const VerifyReport& report, std::initializer_list<std::string> parts) {
    for (const std::string& problem : report.problems) {
        bool all = true;
        for (const std::string& part : parts) {
            all = all && problem.find(part) != std::string::npos;
        }
        if (all) {
            return true;
        }
    }
    return false;
}

// The report's problems, one a line, for a failing assertion's message.
inline std::string problems_of(const VerifyReport& report) {
    std::string text;
    for (const std::string& problem : report.problems) {
        text += "\n  " + problem;
    }
    return text.empty() ? "\n  (no problems)" : text;
}

}  // namespace cpx::verifier::test
