#include "cpx/proofs/proofs.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "cpx/audit/chain.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/verifier/verifier.hpp"

namespace cpx::proofs {

namespace {

// The log's rows live in bigint columns: a larger number names nothing.
constexpr std::uint64_t kBigintMax =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Below this level a subtree's root is computed from its leaf hashes; from it on the
// projector stores it (AuditWriter's kStoredSubtreeLevelMin, the CHECK of audit_subtrees).
constexpr std::uint32_t kStoredLevelMin = 8;

template <std::size_t N>
std::array<std::uint8_t, N> bytes_of(const pqxx::field& field, const char* what) {
    const pqxx::binarystring bytes(field);
    if (bytes.size() != N) {
        throw std::runtime_error(std::string("proofs: a malformed ") + what + " (" +
                                 std::to_string(bytes.size()) + " bytes)");
    }
    std::array<std::uint8_t, N> out{};
    std::copy_n(bytes.data(), N, out.begin());
    return out;
}

audit::Checkpoint checkpoint_of(const pqxx::row& r) {
    audit::Checkpoint c;
    c.tree_size = r[0].as<std::uint64_t>();
    c.ts_ns = r[1].as<std::int64_t>();
    c.root = bytes_of<audit::kDigestBytes>(r[2], "checkpoint root");
    c.signature = bytes_of<audit::kSignatureBytes>(r[3], "checkpoint signature");
    return c;
}

std::int64_t bigint(std::uint64_t value) {
    return static_cast<std::int64_t>(value);
}

bool known_kind(audit::RecordKind kind) {
    return kind == audit::RecordKind::Journal || kind == audit::RecordKind::Transfer ||
           kind == audit::RecordKind::Trade;
}

}  // namespace

audit::Digest PgSubtreeSource::perfect_subtree(std::uint32_t level, std::uint64_t index) {
    if (level >= 64 || index > (kBigintMax >> level)) {
        throw std::runtime_error("proofs: subtree " + std::to_string(level) + "/" +
                                 std::to_string(index) + " is beyond any log");
    }
    if (level >= kStoredLevelMin) {
        const pqxx::result rows =
            tx_.exec_params("SELECT root FROM audit_subtrees WHERE level = $1 AND idx = $2",
                            static_cast<int>(level), bigint(index));
        if (rows.empty()) {
            throw std::runtime_error("proofs: audit_subtrees lacks subtree " +
                                     std::to_string(level) + "/" + std::to_string(index));
        }
        return bytes_of<audit::kDigestBytes>(rows[0][0], "subtree root");
    }
    const std::uint64_t size = std::uint64_t{1} << level;
    const std::uint64_t first = index << level;
    const pqxx::result rows = tx_.exec_params(
        "SELECT position, leaf_hash FROM audit_log WHERE position >= $1 AND position < $2 "
        "ORDER BY position",
        bigint(first), bigint(first + size));
    if (rows.size() != size) {
        throw std::runtime_error("proofs: audit_log lacks leaves of positions " +
                                 std::to_string(first) + " to " + std::to_string(first + size - 1));
    }
    std::vector<audit::Digest> leaves;
    leaves.reserve(size);
    for (const pqxx::row& r : rows) {
        leaves.push_back(bytes_of<audit::kDigestBytes>(r[1], "leaf hash"));
    }
    return audit::root(leaves);
}

std::optional<audit::Checkpoint> newest_checkpoint(pqxx::transaction_base& tx) {
    const pqxx::result rows = tx.exec(
        "SELECT tree_size, ts_ns, root, signature FROM audit_checkpoints "
        "ORDER BY tree_size DESC LIMIT 1");
    if (rows.empty()) {
        return std::nullopt;
    }
    return checkpoint_of(rows[0]);
}

std::optional<audit::Checkpoint> checkpoint_at(pqxx::transaction_base& tx,
                                               std::uint64_t tree_size) {
    if (tree_size == 0 || tree_size > kBigintMax) {
        return std::nullopt;
    }
    const pqxx::result rows = tx.exec_params(
        "SELECT tree_size, ts_ns, root, signature FROM audit_checkpoints WHERE tree_size = $1",
        bigint(tree_size));
    if (rows.empty()) {
        return std::nullopt;
    }
    return checkpoint_of(rows[0]);
}

Status prove_inclusion(pqxx::transaction_base& tx, audit::RecordKind kind, std::uint64_t ref,
                       std::uint64_t tree_size, InclusionProof& out) {
    if (!known_kind(kind) || ref == 0 || ref > kBigintMax) {
        return Status::UnknownRecord;
    }
    const std::optional<std::uint64_t> logged =
        verifier::logged_position(tx, kind, static_cast<std::int64_t>(ref));
    if (!logged) {
        return Status::UnknownRecord;
    }
    const std::uint64_t position = *logged;
    std::optional<audit::Checkpoint> checkpoint;
    if (tree_size == 0) {
        checkpoint = newest_checkpoint(tx);
        if (!checkpoint) {
            return Status::NoCheckpoint;
        }
        if (checkpoint->tree_size <= position) {
            return Status::NotCheckpointed;
        }
    } else {
        checkpoint = checkpoint_at(tx, tree_size);
        if (!checkpoint) {
            return Status::UnknownCheckpoint;
        }
        if (checkpoint->tree_size <= position) {
            return Status::CheckpointBeforeRecord;
        }
    }
    PgSubtreeSource source(tx);
    out.position = position;
    // The record from its table row, as the writer encoded the values it wrote there: a
    // row changed since it was logged gives a proof that fails, not a hidden error.
    std::optional<std::string> record =
        verifier::table_record(tx, kind, static_cast<std::int64_t>(ref));
    if (!record) {
        throw std::runtime_error("proofs: audit_log names " + std::to_string(ref) + " of kind " +
                                 std::to_string(static_cast<int>(kind)) +
                                 ", which its table lacks");
    }
    out.record = std::move(*record);
    out.leaf_hash = audit::leaf_hash(out.record);
    out.path = audit::inclusion_proof(source, position, checkpoint->tree_size);
    out.checkpoint = *checkpoint;
    return Status::Ok;
}

Status prove_consistency(pqxx::transaction_base& tx, std::uint64_t old_size, std::uint64_t new_size,
                         ConsistencyProof& out) {
    if (new_size != 0 && old_size > new_size) {
        return Status::OldAfterNew;
    }
    std::optional<audit::Checkpoint> newer;
    if (new_size == 0) {
        newer = newest_checkpoint(tx);
        if (!newer) {
            return Status::NoCheckpoint;
        }
        if (old_size > newer->tree_size) {
            return Status::OldAfterNew;
        }
    } else {
        newer = checkpoint_at(tx, new_size);
        if (!newer) {
            return Status::UnknownCheckpoint;
        }
    }
    const std::optional<audit::Checkpoint> older = checkpoint_at(tx, old_size);
    if (!older) {
        return Status::UnknownCheckpoint;
    }
    PgSubtreeSource source(tx);
    out.old_checkpoint = *older;
    out.new_checkpoint = *newer;
    out.path = audit::consistency_proof(source, older->tree_size, newer->tree_size);
    return Status::Ok;
}

std::optional<std::vector<std::uint64_t>> involved_accounts(pqxx::transaction_base& tx,
                                                            audit::RecordKind kind,
                                                            std::uint64_t ref) {
    if (!known_kind(kind) || ref == 0 || ref > kBigintMax) {
        return std::nullopt;
    }
    pqxx::result rows;
    switch (kind) {
        case audit::RecordKind::Journal:
            rows = tx.exec_params("SELECT 0::bigint, 0::bigint FROM journal WHERE seq = $1",
                                  bigint(ref));
            break;
        case audit::RecordKind::Transfer:
            rows = tx.exec_params(
                "SELECT d.owner, c.owner FROM transfers t "
                "JOIN ledger_accounts d ON d.id = t.debit_account_id "
                "JOIN ledger_accounts c ON c.id = t.credit_account_id WHERE t.id = $1",
                bigint(ref));
            break;
        case audit::RecordKind::Trade:
            rows = tx.exec_params("SELECT buyer, provider FROM obligations WHERE id = $1",
                                  bigint(ref));
            break;
    }
    if (rows.empty()) {
        return std::nullopt;
    }
    std::vector<std::uint64_t> accounts;
    for (const int column : {0, 1}) {
        const auto account = rows[0][column].as<std::uint64_t>();
        if (account != 0) {
            accounts.push_back(account);
        }
    }
    std::sort(accounts.begin(), accounts.end());
    accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
    return accounts;
}

}  // namespace cpx::proofs
