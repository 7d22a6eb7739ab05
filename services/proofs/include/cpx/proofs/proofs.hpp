#pragma once
// Proofs about the audit log for the exchange's clients: the signed checkpoints, the
// inclusion proof of one record against a checkpoint, and the consistency proof between
// two checkpoints, all read from the tables the ledger projector writes
// (db/migrations/0007_audit.sql, docs/AUDIT_FORMATS.md). A client that trusts the
// exchange's public key checks everything it is given itself: the checkpoint's signature
// (audit::verify_checkpoint), that the record's bytes hash to the leaf
// (audit::leaf_hash), that the path leads from the leaf to the signed root
// (audit::verify_inclusion), and that a later checkpoint extends an earlier one
// (audit::verify_consistency). Nothing here needs to be trusted: a wrong row can only
// produce a proof that fails.
//
// Every function reads through the transaction it is given and writes nothing. The
// callers open a ReadTransaction, which PostgreSQL runs READ ONLY, in one snapshot, so
// that a permission check and the proof it guards read the same rows. A proof reads
// O(log n) rows of audit_subtrees and at most 255 leaf hashes of audit_log, never the
// whole log.
//
// Errors: what the caller asked for and the database does not hold comes back as a
// Status; a database that breaks the log's own rules (a missing subtree, a malformed
// hash, a gap in the log) throws std::runtime_error, and libpqxx's exceptions pass
// through.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/records.hpp"
#include "cpx/audit/sha256.hpp"
#include "cpx/audit/tree_source.hpp"

namespace cpx::proofs {

// The transaction the proofs run in: READ ONLY, and REPEATABLE READ so that every read
// of one request sees the same snapshot of the log.
using ReadTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// The Merkle tree of audit_log, as aligned perfect subtrees (cpx/audit/tree_source.hpp):
// level 8 and above from audit_subtrees, below that the root of the subtree's (at most
// 128) leaf hashes read from audit_log. Throws std::runtime_error when a row the log
// must have is missing or malformed.
class PgSubtreeSource final : public audit::SubtreeSource {
  public:
    explicit PgSubtreeSource(pqxx::transaction_base& tx) : tx_(tx) {}
    audit::Digest perfect_subtree(std::uint32_t level, std::uint64_t index) override;

  private:
    pqxx::transaction_base& tx_;
};

// Why a proof could not be made (Ok: it was).
enum class Status {
    Ok,
    // No checkpoint has been signed yet (the projector has no key, or has not run).
    NoCheckpoint,
    // A tree size was named that no checkpoint has.
    UnknownCheckpoint,
    // The record (kind, ref) is not in the log: no such row, or not projected yet.
    UnknownRecord,
    // The record is in the log, but no checkpoint covers it yet.
    NotCheckpointed,
    // The named checkpoint is older than the record (its tree_size <= the position).
    CheckpointBeforeRecord,
    // A consistency proof was asked from a larger tree to a smaller one.
    OldAfterNew,
};

// The newest checkpoint, or none when nothing was signed yet.
std::optional<audit::Checkpoint> newest_checkpoint(pqxx::transaction_base& tx);

// The checkpoint of exactly `tree_size` records, or none.
std::optional<audit::Checkpoint> checkpoint_at(pqxx::transaction_base& tx, std::uint64_t tree_size);

struct InclusionProof {
    // The record's leaf index in the tree: its audit_log.position.
    std::uint64_t position = 0;
    // The record's canonical encoding (docs/AUDIT_FORMATS.md, "The audit log"), built
    // from its table row now, exactly as the projector built it when it logged it.
    std::string record;
    // SHA-256(0x00 || record): the hash of `record` as given, so that a row changed since
    // it was logged gives a proof that does not verify rather than a hidden error.
    audit::Digest leaf_hash{};
    // The audit path from the leaf's sibling up (RFC 9162 section 2.1.3.1).
    std::vector<audit::Digest> path;
    // The checkpoint the path leads to.
    audit::Checkpoint checkpoint;
};

// The inclusion proof of the record (kind, ref) (ref: journal.seq, transfers.id or
// obligations.id) against the checkpoint of `tree_size` records, or, when tree_size is 0,
// against the newest checkpoint. Statuses: UnknownRecord; NoCheckpoint or
// NotCheckpointed (tree_size 0: nothing signed yet, or not since the record);
// UnknownCheckpoint or CheckpointBeforeRecord (a tree_size given).
Status prove_inclusion(pqxx::transaction_base& tx, audit::RecordKind kind, std::uint64_t ref,
                       std::uint64_t tree_size, InclusionProof& out);

struct ConsistencyProof {
    audit::Checkpoint old_checkpoint;
    audit::Checkpoint new_checkpoint;
    // RFC 9162 section 2.1.4.1 between the two trees; empty when they are the same.
    std::vector<audit::Digest> path;
};

// The consistency proof between the checkpoints of old_size and new_size records
// (new_size 0: the newest checkpoint). Statuses: OldAfterNew (checked before anything
// is read, when new_size is given, and again against the newest); NoCheckpoint;
// UnknownCheckpoint (either size is not a checkpoint's; old_size 0 never is).
Status prove_consistency(pqxx::transaction_base& tx, std::uint64_t old_size, std::uint64_t new_size,
                         ConsistencyProof& out);

// The exchange accounts a record involves, which may see its proof besides the
// operators and regulators: a trade's buyer and provider; the owners of a transfer's
// debit and credit ledger accounts (ledger_accounts.owner), without 0, the exchange's
// own accounts, which are no client's; nobody for a journal entry. Ascending, without
// repeats. None when the record's row does not exist.
std::optional<std::vector<std::uint64_t>> involved_accounts(pqxx::transaction_base& tx,
                                                            audit::RecordKind kind,
                                                            std::uint64_t ref);

}  // namespace cpx::proofs
