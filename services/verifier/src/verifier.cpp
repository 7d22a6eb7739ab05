#include "cpx/verifier/verifier.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "cpx/audit/chain.hpp"
#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/audit/records.hpp"
#include "ledger_recomputation.hpp"
#include "pager.hpp"
#include "problems.hpp"
#include "table_records.hpp"

namespace cpx::verifier {

namespace {

using audit::Digest;
using detail::kBeforeAll;
using detail::Pager;
using detail::TableRecord;

// The kinds of audit_record_kinds, as indexes of the verifier's per-kind state.
constexpr int kJournal = 1;
constexpr int kTransfer = 2;
constexpr int kTrade = 3;
constexpr std::size_t kKinds = 4;

bool known_kind(std::int64_t kind) {
    return kind == kJournal || kind == kTransfer || kind == kTrade;
}

const char* table_of(int kind) {
    return kind == kJournal ? "journal" : kind == kTransfer ? "transfers" : "obligations";
}

// How a problem names a row: "journal seq 12", "transfer 57", "trade 3".
std::string row_name(int kind, std::int64_t ref) {
    const char* noun = kind == kJournal    ? "journal seq "
                       : kind == kTransfer ? "transfer "
                                           : "trade ";
    return noun + std::to_string(ref);
}

std::string at(std::int64_t position) {
    return "audit_log position " + std::to_string(position);
}

// A bytea column as a digest; false when it is not 32 bytes.
bool read_digest(const pqxx::field& field, Digest& out) {
    const pqxx::binarystring bytes(field);
    if (bytes.size() != out.size()) {
        return false;
    }
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return true;
}

TableRecord build(int kind, const pqxx::row& t) {
    if (kind == kJournal) {
        return detail::journal_record(t);
    }
    if (kind == kTransfer) {
        return detail::transfer_record(detail::read_transfer(t));
    }
    return detail::trade_record(t);
}

// One table row by its key, outside the tables' ordered reading.
std::optional<TableRecord> lookup_record(pqxx::transaction_base& tx, int kind, std::int64_t id) {
    const char* key = kind == kJournal ? "seq" : "id";
    const char* columns = kind == kJournal    ? detail::kJournalColumns
                          : kind == kTransfer ? detail::kTransferColumns
                                              : detail::kTradeColumns;
    const pqxx::result rows = tx.exec_params(
        std::string("SELECT ") + columns + " FROM " + table_of(kind) + " WHERE " + key + " = $1",
        id);
    if (rows.empty()) {
        return std::nullopt;
    }
    return build(kind, rows[0]);
}

struct LogRow {
    std::int64_t position = 0;
    int kind = 0;
    std::int64_t ref = 0;
    std::int64_t seq = 0;
    bool digests_ok = false;  // leaf_hash and head are 32 bytes each
    Digest leaf{};
    Digest head{};
};

class Verifier {
  public:
    Verifier(pqxx::transaction_base& tx, const audit::PublicKey& public_key,
             const VerifyOptions& options, VerifyReport& report)
        : tx_(tx),
          public_key_(public_key),
          options_(options),
          report_(report),
          problems_(report, options.problems_max),
          ledger_(problems_),
          log_(tx,
               "SELECT position, kind, ref, seq, leaf_hash, head FROM audit_log "
               "WHERE position > $1 ORDER BY position LIMIT $2",
               options.chunk_rows),
          checkpoints_(tx,
                       "SELECT tree_size, ts_ns, root, signature FROM audit_checkpoints "
                       "WHERE tree_size > $1 ORDER BY tree_size LIMIT $2",
                       options.chunk_rows) {}

    void run() {
        report_.journal_seq = journal_bound();
        const std::string bound = std::to_string(report_.journal_seq);
        tables_[kJournal].emplace(tx_,
                                  std::string("SELECT ") + detail::kJournalColumns +
                                      " FROM journal WHERE seq > $1 AND seq <= " + bound +
                                      " ORDER BY seq LIMIT $2",
                                  options_.chunk_rows);
        tables_[kTransfer].emplace(tx_,
                                   std::string("SELECT ") + detail::kTransferColumns +
                                       " FROM transfers WHERE id > $1 ORDER BY id LIMIT $2",
                                   options_.chunk_rows);
        tables_[kTrade].emplace(tx_,
                                std::string("SELECT ") + detail::kTradeColumns +
                                    " FROM obligations WHERE id > $1 ORDER BY id LIMIT $2",
                                options_.chunk_rows);
        // A checkpoint of no records signs nothing the log holds.
        for (const pqxx::row* c = checkpoints_.peek();
             c != nullptr && (*c)[0].as<std::int64_t>() <= 0; c = checkpoints_.peek()) {
            ++report_.checkpoints;
            problems_.add("checkpoint at tree_size " + (*c)[0].as<std::string>() +
                          " covers no records: a tree_size is at least 1");
            checkpoints_.pop();
        }

        for (const pqxx::row* row = log_.peek(); row != nullptr; log_.pop(), row = log_.peek()) {
            check_log_row(read_log_row(*row));
        }
        // A checkpoint beyond the log's end first: it says the log lost its end, which
        // explains the table rows below that the log does not hold.
        finish_checkpoints();
        // Whatever the log did not reach is not in it.
        for (int kind : {kJournal, kTransfer, kTrade}) {
            for (const pqxx::row* row = table(kind).peek(); row != nullptr;
                 row = table(kind).peek()) {
                const TableRecord record = pass_table_row(kind, *row);
                report_unlogged(kind, static_cast<std::int64_t>(record.ref), std::nullopt);
            }
        }
        report_.root = accumulator_.root();
        report_.head = previous_head_;
        report_.accounts = ledger_.compare(tx_, options_.chunk_rows);
    }

  private:
    // The last journal seq the log must cover: its own last journal record, or the
    // projector's progress when that is further (the projector writes the log in the
    // transaction that moves its progress, so a log that stops short lost its end).
    std::uint64_t journal_bound() {
        const std::int64_t logged =
            tx_.exec1("SELECT coalesce(max(ref), 0) FROM audit_log WHERE kind = 1")[0]
                .as<std::int64_t>();
        const std::int64_t progress =
            tx_.exec1("SELECT coalesce(max(seq), 0) FROM projector_progress")[0].as<std::int64_t>();
        return static_cast<std::uint64_t>(std::max<std::int64_t>({logged, progress, 0}));
    }

    LogRow read_log_row(const pqxx::row& row) const {
        LogRow r;
        r.position = row[0].as<std::int64_t>();
        r.kind = row[1].as<int>();
        r.ref = row[2].as<std::int64_t>();
        r.seq = row[3].as<std::int64_t>();
        r.digests_ok = read_digest(row[4], r.leaf) && read_digest(row[5], r.head);
        return r;
    }

    void check_log_row(const LogRow& row) {
        ++report_.records;
        if (row.position != next_position_) {
            const std::string after =
                next_position_ == 0 ? " is the log's first row"
                                    : " follows position " + std::to_string(next_position_ - 1);
            problems_.add(at(row.position) + after + ": positions " +
                          std::to_string(next_position_) + " to " +
                          std::to_string(row.position - 1) + " are missing from the log");
        }
        next_position_ = row.position + 1;

        if (!known_kind(row.kind)) {
            problems_.add(at(row.position) + " has the unknown kind " + std::to_string(row.kind));
            append_leaf(row.digests_ok ? row.leaf : Digest{}, std::nullopt);
            resync(row);
            return;
        }
        (row.kind == kJournal    ? report_.journal_records
         : row.kind == kTransfer ? report_.transfer_records
                                 : report_.trade_records)++;
        check_order(row);
        if (!row.digests_ok) {
            problems_.add(at(row.position) + ": its leaf_hash or head is not 32 bytes");
        }

        const std::optional<TableRecord> record = take_table_record(row);
        if (!record) {
            problems_.add(row_name(row.kind, row.ref) + " (" + at(row.position) +
                          ") is missing from " + table_of(row.kind));
            append_leaf(row.digests_ok ? row.leaf : Digest{}, std::nullopt);
            resync(row);
            return;
        }
        if (row.kind == kJournal) {
            journal_time_ = {record->seq, record->ts_ns};
        }
        const Digest leaf = audit::leaf_hash(record->bytes);
        const Digest head = audit::chain_next(previous_head_, record->bytes);
        if (row.digests_ok) {
            if (leaf != row.leaf) {
                problems_.add(at(row.position) + ": " + row_name(row.kind, row.ref) +
                              " differs from what was recorded (its leaf hash is " +
                              audit::to_hex(leaf) + ", the log's is " + audit::to_hex(row.leaf) +
                              ")");
            } else if (head != row.head) {
                problems_.add(at(row.position) + ": the chain head differs (the log was " +
                              "rewritten): " + row_name(row.kind, row.ref) +
                              " after the log's previous head gives " + audit::to_hex(head) +
                              ", the log's head is " + audit::to_hex(row.head));
            } else if (record->seq != static_cast<std::uint64_t>(row.seq)) {
                problems_.add(at(row.position) + ": " + row_name(row.kind, row.ref) +
                              " belongs to journal seq " + std::to_string(record->seq) + " in " +
                              table_of(row.kind) + ", but the log files it under seq " +
                              std::to_string(row.seq));
            }
        }
        // The tree is the one of the records as the tables hold them: a checkpoint's root
        // vouches for the rows, not for the log's copy of their hashes.
        std::optional<std::int64_t> time;
        if (journal_time_.first == static_cast<std::uint64_t>(row.seq)) {
            time = journal_time_.second;
        }
        append_leaf(leaf, time);
        // Each link is checked from the log's own previous head, so that one changed row
        // is one problem rather than a broken chain from there on.
        previous_head_ = row.digests_ok ? row.head : head;
    }

    void resync(const LogRow& row) {
        if (row.digests_ok) {
            previous_head_ = row.head;
        }
    }

    // The log's order: by journal seq, within a seq the journal record (whose ref is the
    // seq), then the transfers, then the trades. The order of ids within a kind is
    // checked where the rows meet their tables (take_table_record).
    void check_order(const LogRow& row) {
        if (row.kind == kJournal && row.ref != row.seq) {
            problems_.add(at(row.position) + ": " + row_name(row.kind, row.ref) +
                          " is filed under journal seq " + std::to_string(row.seq));
        }
        if (has_previous_ && std::pair(row.seq, row.kind) < previous_order_) {
            problems_.add(at(row.position) + " (" + row_name(row.kind, row.ref) +
                          " of journal seq " + std::to_string(row.seq) +
                          ") is out of order: it comes after " +
                          row_name(previous_order_.second, previous_ref_) + " of journal seq " +
                          std::to_string(previous_order_.first));
        }
        has_previous_ = true;
        previous_order_ = {row.seq, row.kind};
        previous_ref_ = row.ref;
    }

    // The table row a log row names. The table is read in id order alongside the log;
    // its rows before the one named are not in the log at this place. A log row whose id
    // the table's reading has passed already is out of order (reported when it was
    // passed): its row is looked up on its own.
    std::optional<TableRecord> take_table_record(const LogRow& row) {
        if (row.ref <= passed(row.kind)) {
            if (out_of_order_.erase({row.kind, row.ref}) == 0) {
                problems_.add(at(row.position) + ": " + row_name(row.kind, row.ref) +
                              " is out of order or repeated: the log's " + table_of(row.kind) +
                              " had reached " + std::to_string(passed(row.kind)) + " before it");
            }
            return lookup(row.kind, row.ref);
        }
        for (const pqxx::row* t = table(row.kind).peek(); t != nullptr;
             t = table(row.kind).peek()) {
            const std::int64_t id = (*t)[0].as<std::int64_t>();
            if (id > row.ref) {
                break;
            }
            TableRecord record = pass_table_row(row.kind, *t);
            if (id == row.ref) {
                return record;
            }
            report_unlogged(row.kind, id, row);
        }
        return std::nullopt;
    }

    // Moves the table's reading past its next row `t`, which it returns as a record.
    // Every transfer passes here exactly once, in id order: the ledger's recomputation
    // takes them here.
    TableRecord pass_table_row(int kind, const pqxx::row& t) {
        TableRecord record;
        if (kind == kTransfer) {
            const audit::TransferRecord transfer = detail::read_transfer(t);
            ++report_.transfers;
            ledger_.apply(transfer);
            record = detail::transfer_record(transfer);
        } else {
            record = build(kind, t);
        }
        passed(kind) = static_cast<std::int64_t>(record.ref);
        table(kind).pop();
        return record;
    }

    // A table row the log does not hold where the reading met it (before the log row
    // `met_at`, or after the log's end): elsewhere in the log (out of order), or nowhere.
    void report_unlogged(int kind, std::int64_t id, std::optional<LogRow> met_at) {
        const pqxx::result found = tx_.exec_params(
            "SELECT position FROM audit_log WHERE kind = $1 AND ref = $2 ORDER BY position "
            "LIMIT 1",
            kind, id);
        if (found.empty()) {
            problems_.add(row_name(kind, id) + " is in " + table_of(kind) +
                          " but not in the audit log");
            return;
        }
        const std::int64_t elsewhere = found[0][0].as<std::int64_t>();
        if (met_at && elsewhere > met_at->position) {
            out_of_order_.insert({kind, id});
            problems_.add(at(met_at->position) + ": the log is out of order: it holds " +
                          row_name(kind, met_at->ref) + " before " + row_name(kind, id) + " (" +
                          at(elsewhere) + ")");
        }
    }

    std::optional<TableRecord> lookup(int kind, std::int64_t id) {
        return lookup_record(tx_, kind, id);
    }

    Pager& table(int kind) { return *tables_[static_cast<std::size_t>(kind)]; }
    std::int64_t& passed(int kind) { return passed_[static_cast<std::size_t>(kind)]; }

    // Adds a leaf to the recomputed tree and checks the checkpoints of the tree's new
    // size. `journal_ts` is the journal time of the record's seq, when known.
    void append_leaf(const Digest& leaf, std::optional<std::int64_t> journal_ts) {
        accumulator_.append(leaf);
        const std::uint64_t size = accumulator_.count();
        for (const pqxx::row* c = checkpoints_.peek();
             c != nullptr && static_cast<std::uint64_t>((*c)[0].as<std::int64_t>()) <= size;
             checkpoints_.pop(), c = checkpoints_.peek()) {
            check_checkpoint(*c, journal_ts);
        }
    }

    void check_checkpoint(const pqxx::row& c, std::optional<std::int64_t> journal_ts) {
        ++report_.checkpoints;
        audit::Checkpoint checkpoint;
        checkpoint.tree_size = static_cast<std::uint64_t>(c[0].as<std::int64_t>());
        checkpoint.ts_ns = c[1].as<std::int64_t>();
        const std::string name = "checkpoint at tree_size " + std::to_string(checkpoint.tree_size);
        report_.last_checkpoint_size = checkpoint.tree_size;
        const pqxx::binarystring signature(c[3]);
        if (!read_digest(c[2], checkpoint.root) ||
            signature.size() != checkpoint.signature.size()) {
            problems_.add(name + ": its root is not 32 bytes or its signature not 64");
            return;
        }
        std::copy(signature.begin(), signature.end(), checkpoint.signature.begin());
        if (!audit::verify_checkpoint(checkpoint, public_key_)) {
            problems_.add(name + ": its signature does not verify under the given public key " +
                          "(another key signed it, or its tree_size, root or time were changed)");
        }
        const Digest root = accumulator_.root();
        if (root != checkpoint.root) {
            if (root_mismatches_++ == 0) {
                problems_.add(name + ": the Merkle root of audit_log positions 0 to " +
                              std::to_string(checkpoint.tree_size - 1) +
                              " recomputed from the tables is " + audit::to_hex(root) +
                              ", the checkpoint's is " + audit::to_hex(checkpoint.root) +
                              ": a record among positions " + std::to_string(last_good_size_) +
                              " to " + std::to_string(checkpoint.tree_size - 1) +
                              " was changed, added or removed after it was signed");
            }
        } else {
            last_good_size_ = checkpoint.tree_size;
        }
        if (journal_ts && *journal_ts != checkpoint.ts_ns) {
            problems_.add(name + ": its time " + std::to_string(checkpoint.ts_ns) +
                          " is not the journal time " + std::to_string(*journal_ts) +
                          " of its last record (" +
                          at(static_cast<std::int64_t>(checkpoint.tree_size) - 1) + ")");
        }
    }

    void finish_checkpoints() {
        const std::uint64_t size = accumulator_.count();
        for (const pqxx::row* c = checkpoints_.peek(); c != nullptr;
             checkpoints_.pop(), c = checkpoints_.peek()) {
            ++report_.checkpoints;
            problems_.add("checkpoint at tree_size " + (*c)[0].as<std::string>() +
                          " is beyond the audit log, which holds " + std::to_string(size) +
                          " records: records were removed from the log's end");
        }
        if (root_mismatches_ > 1) {
            const std::uint64_t later = root_mismatches_ - 1;
            problems_.add(std::to_string(later) +
                          (later == 1 ? " later checkpoint's root differs"
                                      : " later checkpoints' roots differ") +
                          " from the recomputed one as well (its tree includes the same records)");
        }
        report_.records_after_last_checkpoint = size - std::min(size, report_.last_checkpoint_size);
    }

    pqxx::transaction_base& tx_;
    const audit::PublicKey& public_key_;
    const VerifyOptions& options_;
    VerifyReport& report_;
    detail::Problems problems_;
    detail::LedgerRecomputation ledger_;

    Pager log_;
    Pager checkpoints_;
    // Indexed by kind (1 to 3): each table's reading, and the last id it passed.
    std::array<std::optional<Pager>, kKinds> tables_;
    // The rows the tables' reading met before their place in the log (reported then),
    // by kind and id: the log row that names one later is not a second problem.
    std::set<std::pair<int, std::int64_t>> out_of_order_;
    std::array<std::int64_t, kKinds> passed_{kBeforeAll, kBeforeAll, kBeforeAll, kBeforeAll};

    std::int64_t next_position_ = 0;
    bool has_previous_ = false;
    std::pair<std::int64_t, int> previous_order_{0, 0};
    std::int64_t previous_ref_ = 0;
    // The seq and time of the last journal record met, for the checkpoints' times.
    std::pair<std::uint64_t, std::int64_t> journal_time_{0, 0};

    audit::MerkleAccumulator accumulator_;
    Digest previous_head_ = audit::kChainGenesis;
    std::uint64_t root_mismatches_ = 0;
    std::uint64_t last_good_size_ = 0;
};

}  // namespace

std::optional<std::string> table_record(pqxx::transaction_base& tx, audit::RecordKind kind,
                                        std::int64_t ref) {
    const int k = static_cast<int>(kind);
    if (!known_kind(k)) {
        return std::nullopt;
    }
    std::optional<TableRecord> record = lookup_record(tx, k, ref);
    if (!record) {
        return std::nullopt;
    }
    return std::move(record->bytes);
}

VerifyReport verify_record(pqxx::connection_base& connection, const audit::PublicKey& public_key,
                           const VerifyOptions& options) {
    VerifyReport report;
    // One snapshot for every query: the projector may append meanwhile, and a verifier
    // that read the log at one moment and the tables at another would see rows in one
    // and not the other.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "cpx_verify_record");
    Verifier(tx, public_key, options, report).run();
    tx.commit();
    return report;
}

}  // namespace cpx::verifier
