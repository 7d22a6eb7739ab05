#pragma once
// The regulator's verifier of the tamper-evident record (docs/AUDIT.md, "Tamper
// evidence"): it recomputes, from the tables alone, everything the audit log claims, and
// names the first row where the record and the log part.
//
// verify_record() reads, inside ONE read-only REPEATABLE READ transaction (so that it
// sees one consistent state of a database the projector may be writing meanwhile):
//
//   1. audit_log in position order, merged with the tables its rows name: journal (seq
//      ascending, up to the last journal seq the log or projector_progress covers),
//      transfers (id ascending) and obligations (id ascending). For every log row it
//      rebuilds the record from the table row (cpx/audit/records.hpp), and checks
//        * the positions run 0, 1, 2, ... without a gap;
//        * the row is in the log's order: by journal seq, within a seq the journal entry,
//          then its transfers, then its trades, each kind by increasing id;
//        * the row it names exists, and its leaf hash (SHA-256(0x00 || record)) is the
//          log's leaf_hash: else the row was changed after it was recorded;
//        * the log's head is chain_next(the log's previous head, record): else the log's
//          chain was rewritten;
//      and every row of those tables (within the journal's bound) is in the log.
//   2. audit_checkpoints in tree_size order: the Merkle root (RFC 9162) of the leaf
//      hashes recomputed from the tables, at each checkpoint's tree_size, is the
//      checkpoint's root; its signature verifies under the public key the CALLER gives
//      (never a key read from the database, which an insider could replace); its ts_ns
//      is the journal time of its last record. A checkpoint beyond the log is a problem.
//      An insider who rewrites a row and recomputes its leaf hash and every later head
//      passes step 1, and fails here: the signed root covers the original leaf.
//   3. every ledger account's four totals recomputed from all transfers (the rules of
//      ledger_apply_transfers(), db/migrations/0002_ledger.sql) against ledger_accounts.
//
// Each problem is one sentence that names the row (its audit_log position, its table and
// id), first found first. Memory stays bounded whatever the record's size: the tables
// are read by keyset pagination in chunks, the Merkle root by an O(log n) accumulator;
// only the open pending transfers and the ledger accounts are held.
//
// The connecting role needs SELECT on the tables above and nothing else (the role
// cpx_regulator of db/migrations/0007_audit.sql has it).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/audit/records.hpp"
#include "cpx/audit/sha256.hpp"
#include "cpx/audit/signing.hpp"

namespace cpx::verifier {

struct VerifyOptions {
    // Rows per query of each table: bounds the memory a chunk takes.
    std::size_t chunk_rows = 10'000;
    // The report keeps the first problems_max problems and counts the rest.
    std::size_t problems_max = 100;
};

struct VerifyReport {
    // audit_log rows read, and of which kind.
    std::uint64_t records = 0;
    std::uint64_t journal_records = 0;
    std::uint64_t transfer_records = 0;
    std::uint64_t trade_records = 0;
    // The last journal seq whose records the log must hold (see step 1).
    std::uint64_t journal_seq = 0;
    // Checkpoints read, and the tree_size of the last one within the log (0: none).
    std::uint64_t checkpoints = 0;
    std::uint64_t last_checkpoint_size = 0;
    // Records no checkpoint covers yet: not a problem (the next checkpoint will), but
    // nothing signed vouches for them today.
    std::uint64_t records_after_last_checkpoint = 0;
    // ledger_accounts rows compared, and transfers applied to the recomputation.
    std::uint64_t accounts = 0;
    std::uint64_t transfers = 0;
    // The Merkle root of the leaf hashes recomputed from the tables, and the chain head
    // after the last record. When ok(), they are the log's own, and a regulator may
    // compare them with a checkpoint published elsewhere.
    audit::Digest root{};
    audit::Digest head{};
    // The problems, first found first; problems_omitted counts those past problems_max.
    std::vector<std::string> problems;
    std::uint64_t problems_omitted = 0;

    bool ok() const { return problems.empty() && problems_omitted == 0; }
};

// Verifies the record in the database `connection` is connected to, trusting nothing in
// it but what `public_key` (the exchange's audit key, obtained out of band) signed.
// Problems of the record are in the report; errors of the database (it cannot be read,
// a table is missing, the connection fails) throw pqxx's exceptions.
VerifyReport verify_record(pqxx::connection_base& connection, const audit::PublicKey& public_key,
                           const VerifyOptions& options = {});

// The canonical record (cpx/audit/records.hpp) of the table row that an audit_log row of
// `kind` and `ref` names, rebuilt as verify_record() rebuilds it: the bytes whose leaf
// hash and chain link the log holds. Empty when the table has no such row. For tools
// that show a record or prove one's inclusion from a checkpoint.
std::optional<std::string> table_record(pqxx::transaction_base& tx, audit::RecordKind kind,
                                        std::int64_t ref);

// The first audit_log position in [0, log_size) whose journal seq is at least `seq`
// (log_size if none). audit_log has no index but its primary key (0007 says why), and
// a record's seq never decreases with its position, so this is a binary search over the
// key: O(log n) point reads.
std::uint64_t first_position_of_seq(pqxx::transaction_base& tx, std::int64_t seq,
                                    std::uint64_t log_size);

// Where the log holds the record (kind, ref), or nothing when its table has no such row
// or the log does not hold it: among the records of the journal seq its row names.
std::optional<std::uint64_t> logged_position(pqxx::transaction_base& tx, audit::RecordKind kind,
                                             std::int64_t ref);

}  // namespace cpx::verifier
