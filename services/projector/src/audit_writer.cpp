#include "audit_writer.hpp"

#include <stdexcept>
#include <string_view>
#include <vector>

#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/records.hpp"

namespace cpx::projector::detail {

namespace {

// A bytea parameter in its text form.
std::string hex_literal(std::string_view bytes) {
    return "\\x" + audit::hex_of_bytes(bytes);
}

// A bytea column in text form ("\x" and hex digits) holding a digest.
audit::Digest digest_of(std::string_view text, const char* what) {
    audit::Digest digest{};
    if (text.size() != 66 || text.substr(0, 2) != "\\x" ||
        !audit::from_hex(text.substr(2), digest)) {
        throw std::runtime_error(std::string("projector: audit_log has a malformed ") + what);
    }
    return digest;
}

}  // namespace

void AuditWriter::load(Pg& pg, std::uint64_t progress_seq) {
    chain_ = audit::HashChain();
    tree_ = audit::MerkleAccumulator();
    signed_size_ = 0;
    signed_ts_ns_ = -1;
    PgResult last =
        pg.query("SELECT position, seq, head FROM audit_log ORDER BY position DESC LIMIT 1");
    if (last.rows() == 0) {
        if (progress_seq > 0) {
            throw std::runtime_error(
                "projector: this database was projected (to seq " + std::to_string(progress_seq) +
                ") before it had an audit log (migration 0007); its record cannot be made "
                "tamper-evident after the fact: start a new database");
        }
        return;
    }
    const auto size = static_cast<std::uint64_t>(last.i64(0, 0)) + 1;
    if (static_cast<std::uint64_t>(last.i64(0, 1)) != progress_seq) {
        throw std::runtime_error("projector: audit_log ends at seq " +
                                 std::string(last.text(0, 1)) + ", its progress is seq " +
                                 std::to_string(progress_seq));
    }
    const audit::Digest head = digest_of(last.text(0, 2), "head");
    // The tree resumes from its peaks, one perfect subtree per set bit of its size,
    // largest first: a stored root for the large ones, the leaf hashes for the small
    // ones. A restart reads O(log n) rows, not the whole log.
    std::vector<audit::Digest> peaks;
    std::uint64_t start = 0;
    for (int level = 63; level >= 0; --level) {
        const std::uint64_t leaves = std::uint64_t{1} << level;
        if ((size & leaves) == 0) {
            continue;
        }
        const auto index = start >> level;
        if (static_cast<std::uint32_t>(level) >= kStoredSubtreeLevelMin) {
            PgResult r =
                pg.query("SELECT root FROM audit_subtrees WHERE level = " + std::to_string(level) +
                         " AND idx = " + std::to_string(index));
            if (r.rows() != 1) {
                throw std::runtime_error("projector: audit_subtrees lacks the subtree " +
                                         std::to_string(level) + "/" + std::to_string(index));
            }
            peaks.push_back(digest_of(r.text(0, 0), "subtree root"));
        } else {
            PgResult r = pg.query("SELECT position, leaf_hash FROM audit_log WHERE position >= " +
                                  std::to_string(start) + " AND position < " +
                                  std::to_string(start + leaves) + " ORDER BY position");
            std::vector<audit::Digest> hashes;
            for (int row = 0; row < r.rows(); ++row) {
                if (static_cast<std::uint64_t>(r.i64(row, 0)) != start + hashes.size()) {
                    break;
                }
                hashes.push_back(digest_of(r.text(row, 1), "leaf hash"));
            }
            if (hashes.size() != leaves) {
                throw std::runtime_error("projector: audit_log has gaps before position " +
                                         std::to_string(start + leaves));
            }
            peaks.push_back(audit::root(hashes));
        }
        start += leaves;
    }
    if (!audit::MerkleAccumulator::restore(size, peaks, tree_)) {
        throw std::logic_error("projector: the audit log's peaks do not fit its size");
    }
    chain_ = audit::HashChain(head, size);
    PgResult signed_head =
        pg.query("SELECT tree_size, ts_ns FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
    if (signed_head.rows() == 1) {
        signed_size_ = static_cast<std::uint64_t>(signed_head.i64(0, 0));
        signed_ts_ns_ = signed_head.i64(0, 1);
    }
}

std::uint64_t AuditWriter::append(std::string_view record, std::uint8_t kind, std::uint64_t ref,
                                  std::uint64_t seq, CopyWriter& out) {
    const audit::Digest leaf = audit::leaf_hash(record);
    last_leaf_ = leaf;
    const std::uint64_t position = tree_.count();
    tree_.append(leaf, [this](std::uint32_t level, std::uint64_t index, const audit::Digest& root) {
        if (level >= kStoredSubtreeLevelMin) {
            subtrees_.push_back(Subtree{level, index, root});
        }
    });
    const audit::Digest& head = chain_.append(record);
    out.row(6);
    out.int8(static_cast<std::int64_t>(position));
    out.int2(static_cast<std::int16_t>(kind));
    out.int8(static_cast<std::int64_t>(ref));
    out.int8(static_cast<std::int64_t>(seq));
    out.bytea(audit::as_bytes(leaf));
    out.bytea(audit::as_bytes(head));
    return position;
}

bool AuditWriter::write(Pg& pg, const Batch& batch, std::vector<CommittedTrade>* trades) {
    const std::string sql =
        "COPY audit_log (position, kind, ref, seq, leaf_hash, head) FROM STDIN (FORMAT binary)";
    std::string buffer;
    buffer.reserve(std::size_t{1} << 20);
    CopyWriter out(buffer);
    pg.copy_in_begin(sql);
    out.header();
    const auto flush = [&] {
        if (buffer.size() >= (std::size_t{1} << 20)) {
            pg.copy_put(buffer);
            buffer.clear();
        }
    };
    subtrees_.clear();
    std::size_t t = 0;
    std::size_t o = 0;
    std::int64_t last_ts_ns = signed_ts_ns_;
    for (const JournalRow& j : batch.journal) {
        record_.clear();
        audit::encode_record(
            audit::JournalRecord{
                j.seq, j.ts_ns, j.kind,
                std::string_view(batch.journal_bodies).substr(j.body_offset, j.body_bytes)},
            record_);
        append(record_.data(), static_cast<std::uint8_t>(audit::RecordKind::Journal), j.seq, j.seq,
               out);
        last_ts_ns = j.ts_ns;
        // The transfers and the trades of this seq: both vectors are in id order, and ids
        // are handed out as requests are applied, so their seqs never decrease.
        for (; t < batch.transfers.size() && batch.transfers[t].seq <= j.seq; ++t) {
            const ledger::Transfer& x = batch.transfers[t];
            if (x.seq != j.seq) {
                throw std::logic_error("projector: transfer " + std::to_string(x.id) +
                                       " belongs to no journal row of its batch");
            }
            if (x.flags == kNetted) {
                continue;
            }
            record_.clear();
            audit::encode_record(
                audit::TransferRecord{x.id, x.debit_account_id, x.credit_account_id, x.amount,
                                      x.pending_id, static_cast<std::uint8_t>(x.flags),
                                      static_cast<std::uint16_t>(x.code), x.seq, x.ts_ns,
                                      x.user_data},
                record_);
            append(record_.data(), static_cast<std::uint8_t>(audit::RecordKind::Transfer), x.id,
                   x.seq, out);
            flush();
        }
        for (; o < batch.obligations.size() && batch.obligations[o].created_seq <= j.seq; ++o) {
            const exchange::Obligation& x = batch.obligations[o];
            if (x.created_seq != j.seq) {
                throw std::logic_error("projector: trade " + std::to_string(x.id) +
                                       " belongs to no journal row of its batch");
            }
            record_.clear();
            audit::encode_record(
                audit::TradeRecord{x.id, x.instrument, x.buyer, x.provider, x.buy_order,
                                   x.sell_order, x.price, x.quantity, x.amount_fen, x.traded_ns,
                                   x.window_end_ns, x.created_seq},
                record_);
            const std::uint64_t position =
                append(record_.data(), static_cast<std::uint8_t>(audit::RecordKind::Trade), x.id,
                       x.created_seq, out);
            if (trades != nullptr) {
                trades->push_back(CommittedTrade{x, position, last_leaf_, chain_.head()});
            }
            flush();
        }
        flush();
    }
    if (t != batch.transfers.size() || o != batch.obligations.size()) {
        throw std::logic_error("projector: the batch has transfers or trades after its last seq");
    }
    out.trailer();
    pg.copy_put(buffer);
    pg.copy_in_end(sql);
    if (!subtrees_.empty()) {
        const std::string subtrees_sql =
            "COPY audit_subtrees (level, idx, root) FROM STDIN (FORMAT binary)";
        buffer.clear();
        pg.copy_in_begin(subtrees_sql);
        out.header();
        for (const Subtree& s : subtrees_) {
            out.row(3);
            out.int2(static_cast<std::int16_t>(s.level));
            out.int8(static_cast<std::int64_t>(s.index));
            out.bytea(audit::as_bytes(s.root));
        }
        out.trailer();
        pg.copy_put(buffer);
        pg.copy_in_end(subtrees_sql);
        subtrees_.clear();
    }
    if (key_ == nullptr || tree_.count() == signed_size_ ||
        (interval_ns_ > 0 && signed_ts_ns_ >= 0 && last_ts_ns - signed_ts_ns_ < interval_ns_)) {
        return false;
    }
    checkpoint(pg, last_ts_ns);
    return true;
}

void AuditWriter::checkpoint(Pg& pg, std::int64_t ts_ns) {
    const audit::Checkpoint c = audit::sign_checkpoint(*key_, tree_.count(), tree_.root(), ts_ns);
    pg.exec_params(
        "INSERT INTO audit_checkpoints (tree_size, ts_ns, root, signature) "
        "VALUES ($1, $2, $3::bytea, $4::bytea)",
        {std::to_string(c.tree_size), std::to_string(c.ts_ns), hex_literal(audit::as_bytes(c.root)),
         hex_literal(std::string_view(reinterpret_cast<const char*>(c.signature.data()),
                                      c.signature.size()))});
    signed_size_ = c.tree_size;
    signed_ts_ns_ = ts_ns;
}

}  // namespace cpx::projector::detail
