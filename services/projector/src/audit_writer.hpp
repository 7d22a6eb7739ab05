#pragma once
// The audit log's writer (db/migrations/0007_audit.sql, docs/AUDIT.md): the one place that
// extends the hash chain and the Merkle tree, on the projector's writer thread, in the
// transaction of the batch whose rows it covers. Internal to cpx_projector.
//
// The log's order: for each journal seq of the batch, the journal row, then the transfers
// it caused (id order), then the trades it made (id order); a netted transfer, which is
// not written, is not in the log either. A checkpoint follows a batch when the projector
// has a key and the journal time has moved at least the interval past the last one (or
// the interval is 0).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batch.hpp"
#include "cpx/audit/chain.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/audit/signing.hpp"
#include "cpx/projector/ledger_projector.hpp"
#include "pg.hpp"

namespace cpx::projector::detail {

class AuditWriter {
  public:
    AuditWriter(std::shared_ptr<const audit::SigningKey> key, std::int64_t interval_ns)
        : key_(std::move(key)), interval_ns_(interval_ns) {}

    // Reads the log's state back from the database (its size, last head, the Merkle
    // tree's peaks, the last checkpoint) after a restart. `progress_seq` is the
    // projector's progress: the log must end exactly at it, because both are written in
    // one transaction; a database projected before the log existed is refused.
    void load(Pg& pg, std::uint64_t progress_seq);

    // Appends the batch's records to the log with one COPY, and a checkpoint when one is
    // due, inside the caller's transaction; returns whether it wrote a checkpoint. If the
    // transaction then fails, the caller must load() again before the next batch. With
    // `trades`, every trade record written is also appended there with its position, leaf
    // hash and head, in log order.
    bool write(Pg& pg, const Batch& batch, std::vector<CommittedTrade>* trades = nullptr);

    // The records in the log (its Merkle tree's size).
    std::uint64_t size() const { return tree_.count(); }

    // Subtrees of this level and above are stored (audit_subtrees).
    static constexpr std::uint32_t kStoredSubtreeLevelMin = 8;

  private:
    struct Subtree {
        std::uint32_t level = 0;
        std::uint64_t index = 0;
        audit::Digest root{};
    };

    // Returns the record's position; its leaf hash and the new head are in last_leaf_ and
    // chain_.head().
    std::uint64_t append(std::string_view record, std::uint8_t kind, std::uint64_t ref,
                         std::uint64_t seq, CopyWriter& out);
    void checkpoint(Pg& pg, std::int64_t ts_ns);

    std::shared_ptr<const audit::SigningKey> key_;
    std::int64_t interval_ns_ = 0;
    audit::HashChain chain_;
    audit::MerkleAccumulator tree_;
    std::uint64_t signed_size_ = 0;   // tree_size of the newest checkpoint
    std::int64_t signed_ts_ns_ = -1;  // its journal time (-1: none yet)
    audit::CanonicalWriter record_;
    audit::Digest last_leaf_{};      // the leaf hash of the record appended last
    std::vector<Subtree> subtrees_;  // completed by the batch being written
};

}  // namespace cpx::projector::detail
