#pragma once
// Snapshots of the exchange in PostgreSQL (db/migrations/0003_snapshots.sql): the
// state after a journalled sequence number, in parts of at most 16 MB, with its state
// hash. Recovery loads the newest one and replays only the journal after it. A snapshot
// is derived data (the journal rebuilds everything), so the store keeps only the newest
// few, and the newest one at or before the ledger projector's progress
// (projector_progress, db/migrations/0004_settlement.sql), which the projector restarts
// from.

#include <cstdint>
#include <optional>
#include <string>

namespace cpx::journal {

struct StoredSnapshot {
    std::uint64_t seq = 0;
    std::uint64_t state_hash = 0;
    std::string bytes;
};

class PgSnapshotStore {
  public:
    explicit PgSnapshotStore(std::string database_url, std::uint32_t keep = 2);

    // Writes a snapshot of the state after `seq` (which must be in the journal) in one
    // transaction, then deletes all but the newest `keep` and the newest at or before the
    // projector's progress. Throws std::runtime_error.
    void write(std::uint64_t seq, std::uint64_t state_hash, const std::string& bytes);

    // The newest complete snapshot at or before `seq_max`, or none. Throws
    // std::runtime_error when the database cannot be read.
    std::optional<StoredSnapshot> load_latest(std::uint64_t seq_max) const;

  private:
    std::string database_url_;
    std::uint32_t keep_;
};

}  // namespace cpx::journal
