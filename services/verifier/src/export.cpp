#include "cpx/verifier/export.hpp"

#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include "cpx/audit/chain.hpp"
#include "cpx/audit/checkpoint.hpp"
#include "cpx/audit/merkle.hpp"
#include "cpx/audit/records.hpp"
#include "cpx/audit/sha256.hpp"
#include "cpx/verifier/verifier.hpp"

namespace cpx::verifier {

namespace {

// Rows per query while exporting.
constexpr std::int64_t kPageRows = 10'000;
// Subtrees of this level and above are stored by the projector (audit_subtrees).
constexpr std::uint32_t kStoredLevelMin = 8;

using audit::bytes_from_hex;
using audit::hex_of_bytes;

std::string bytes_of(const pqxx::field& field) {
    const pqxx::binarystring b(field);
    return b.str();
}

audit::Digest digest_of(const std::string& bytes) {
    audit::Digest d{};
    if (bytes.size() != d.size()) {
        throw std::runtime_error("a stored hash is not 32 bytes");
    }
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(d.data()));
    return d;
}

std::int64_t scalar(pqxx::transaction_base& tx, const std::string& sql) {
    const pqxx::row row = tx.exec1(sql);
    return row[0].is_null() ? -1 : row[0].as<std::int64_t>();
}

// The first journal seq in [1, last] whose time is at least ts_ns (last + 1 if none):
// the sequencer stamps times that never decrease, so a binary search over the primary
// key finds it without an index on time.
std::int64_t first_seq_at_or_after(pqxx::transaction_base& tx, std::int64_t ts_ns,
                                   std::int64_t last) {
    std::int64_t lo = 1;
    std::int64_t hi = last + 1;
    while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (scalar(tx, "SELECT ts_ns FROM journal WHERE seq = " + std::to_string(mid)) < ts_ns) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// MTH of the records [index * 2^level, (index + 1) * 2^level): stored for the large
// subtrees, else from the leaf hashes.
audit::Digest perfect_subtree(pqxx::transaction_base& tx, std::uint32_t level,
                              std::uint64_t index) {
    if (level >= kStoredLevelMin) {
        const pqxx::result r =
            tx.exec("SELECT root FROM audit_subtrees WHERE level = " + std::to_string(level) +
                    " AND idx = " + std::to_string(index));
        if (r.size() != 1) {
            throw std::runtime_error("audit_subtrees lacks the subtree " + std::to_string(level) +
                                     "/" + std::to_string(index));
        }
        return digest_of(bytes_of(r[0][0]));
    }
    const std::uint64_t first = index << level;
    const std::uint64_t count = std::uint64_t{1} << level;
    std::vector<audit::Digest> leaves;
    for (const pqxx::row& row :
         tx.exec("SELECT leaf_hash FROM audit_log WHERE position >= " + std::to_string(first) +
                 " AND position < " + std::to_string(first + count) + " ORDER BY position")) {
        leaves.push_back(digest_of(bytes_of(row[0])));
    }
    if (leaves.size() != count) {
        throw std::runtime_error("audit_log lacks records below position " +
                                 std::to_string(first + count));
    }
    return audit::root(leaves);
}

void write_header(std::ofstream& out, const char* columns) {
    out << columns << '\n';
}

std::ofstream open_for_writing(const std::filesystem::path& path) {
    std::ofstream out(path);
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
    return out;
}

}  // namespace

ExportSummary export_range(pqxx::connection_base& connection, std::int64_t from_ns,
                           std::int64_t to_ns, const std::filesystem::path& dir) {
    if (std::filesystem::exists(dir)) {
        throw std::runtime_error(dir.string() + " exists already: an export goes to a new folder");
    }
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "cpx_export");
    const std::int64_t log_size = scalar(tx, "SELECT max(position) + 1 FROM audit_log");
    if (log_size <= 0) {
        throw std::runtime_error("the audit log is empty");
    }
    const std::int64_t log_last_seq =
        scalar(tx, "SELECT seq FROM audit_log WHERE position = " + std::to_string(log_size - 1));
    const std::int64_t seq_lo = first_seq_at_or_after(tx, from_ns, log_last_seq);
    const std::int64_t seq_hi = to_ns == std::numeric_limits<std::int64_t>::max()
                                    ? log_last_seq
                                    : first_seq_at_or_after(tx, to_ns + 1, log_last_seq) - 1;
    if (seq_lo > seq_hi) {
        throw std::runtime_error("no journal row of the audit log has a time in the range");
    }
    const auto log_rows = static_cast<std::uint64_t>(log_size);
    const auto first = static_cast<std::int64_t>(first_position_of_seq(tx, seq_lo, log_rows));
    const auto end = static_cast<std::int64_t>(first_position_of_seq(tx, seq_hi + 1, log_rows));
    const pqxx::result checkpoint = tx.exec(
        "SELECT tree_size, ts_ns, root, signature FROM audit_checkpoints WHERE tree_size "
        ">= " +
        std::to_string(end) + " ORDER BY tree_size LIMIT 1");
    if (checkpoint.empty()) {
        throw std::runtime_error(
            "no signed checkpoint covers the range's end yet (audit_log position " +
            std::to_string(end - 1) + "): export again after the next checkpoint");
    }
    const std::int64_t tree_size = checkpoint[0][0].as<std::int64_t>();
    if (tree_size > log_size) {
        throw std::runtime_error("a checkpoint covers more records than the audit log holds");
    }

    ExportSummary summary;
    summary.first_position = static_cast<std::uint64_t>(first);
    summary.tree_size = static_cast<std::uint64_t>(tree_size);
    summary.first_seq = static_cast<std::uint64_t>(seq_lo);
    summary.last_seq = static_cast<std::uint64_t>(
        scalar(tx, "SELECT seq FROM audit_log WHERE position = " + std::to_string(tree_size - 1)));

    std::filesystem::create_directories(dir);
    std::ofstream log = open_for_writing(dir / "audit_log.csv");
    std::ofstream journal = open_for_writing(dir / "journal.csv");
    std::ofstream transfers = open_for_writing(dir / "transfers.csv");
    std::ofstream trades = open_for_writing(dir / "trades.csv");
    write_header(log, "position,kind,ref,seq,leaf_hash,head");
    write_header(journal, "seq,ts_ns,kind,body");
    write_header(transfers,
                 "id,debit_account_id,credit_account_id,amount,pending_id,flags,code,seq,ts_ns,"
                 "user_data");
    write_header(trades,
                 "id,instrument,buyer,provider,buy_order,sell_order,price,quantity,amount_fen,"
                 "traded_ns,window_end_ns,created_seq");
    for (std::int64_t from = first; from < tree_size; from += kPageRows) {
        const std::string range = std::to_string(from) + " AND " +
                                  std::to_string(std::min(from + kPageRows, tree_size) - 1);
        for (const pqxx::row& r :
             tx.exec("SELECT position, kind, ref, seq, leaf_hash, head FROM audit_log WHERE "
                     "position BETWEEN " +
                     range + " ORDER BY position")) {
            log << r[0].c_str() << ',' << r[1].c_str() << ',' << r[2].c_str() << ',' << r[3].c_str()
                << ',' << hex_of_bytes(bytes_of(r[4])) << ',' << hex_of_bytes(bytes_of(r[5]))
                << '\n';
        }
        for (const pqxx::row& r : tx.exec(
                 "SELECT j.seq, j.ts_ns, j.kind, j.body FROM audit_log a JOIN journal j ON j.seq = "
                 "a.ref WHERE a.kind = 1 AND a.position BETWEEN " +
                 range + " ORDER BY a.position")) {
            journal << r[0].c_str() << ',' << r[1].c_str() << ',' << r[2].c_str() << ','
                    << hex_of_bytes(bytes_of(r[3])) << '\n';
            ++summary.journal_rows;
        }
        for (const pqxx::row& r : tx.exec(
                 "SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending_id, "
                 "t.flags, t.code, t.seq, t.ts_ns, t.user_data FROM audit_log a JOIN transfers t "
                 "ON t.id = a.ref WHERE a.kind = 2 AND a.position BETWEEN " +
                 range + " ORDER BY a.position")) {
            for (int i = 0; i < 10; ++i) {
                transfers << (i == 0 ? "" : ",") << (r[i].is_null() ? "" : r[i].c_str());
            }
            transfers << '\n';
            ++summary.transfers;
        }
        for (const pqxx::row& r :
             tx.exec("SELECT o.id, o.instrument, o.buyer, o.provider, o.buy_order, o.sell_order, "
                     "o.price, o.quantity, o.amount_fen, o.traded_ns, o.window_end_ns, "
                     "o.created_seq FROM audit_log a JOIN obligations o ON o.id = a.ref WHERE "
                     "a.kind = 3 AND a.position BETWEEN " +
                     range + " ORDER BY a.position")) {
            for (int i = 0; i < 12; ++i) {
                trades << (i == 0 ? "" : ",") << r[i].c_str();
            }
            trades << '\n';
            ++summary.trades;
        }
    }

    std::ofstream anchor = open_for_writing(dir / "anchor.csv");
    write_header(anchor, "name,value");
    anchor << "first_position," << first << '\n';
    const std::string head_before =
        first == 0 ? std::string(audit::as_bytes(audit::kChainGenesis))
                   : bytes_of(tx.exec1("SELECT head FROM audit_log WHERE position = " +
                                       std::to_string(first - 1))[0]);
    anchor << "head_before," << hex_of_bytes(head_before) << '\n';
    // The perfect subtrees of the records before the export, largest first: one for each
    // set bit of first_position.
    std::uint64_t start = 0;
    for (int level = 63; level >= 0; --level) {
        const std::uint64_t size = std::uint64_t{1} << level;
        if ((summary.first_position & size) != 0) {
            const audit::Digest peak =
                perfect_subtree(tx, static_cast<std::uint32_t>(level), start >> level);
            anchor << "peak," << hex_of_bytes(audit::as_bytes(peak)) << '\n';
            start += size;
        }
    }
    anchor << "tree_size," << tree_size << '\n'
           << "ts_ns," << checkpoint[0][1].c_str() << '\n'
           << "root," << hex_of_bytes(bytes_of(checkpoint[0][2])) << '\n'
           << "signature," << hex_of_bytes(bytes_of(checkpoint[0][3])) << '\n';
    for (std::ofstream* out : {&log, &journal, &transfers, &trades, &anchor}) {
        out->flush();
        if (!*out) {
            throw std::runtime_error("cannot write the export to " + dir.string());
        }
    }
    return summary;
}

namespace {

// A CSV file of numbers and hex: no quoting, no commas inside fields.
class CsvReader {
  public:
    CsvReader(const std::filesystem::path& path, std::size_t columns,
              std::vector<std::string>& problems)
        : in_(path), name_(path.filename().string()), columns_(columns), problems_(problems) {
        std::string header;
        if (!in_ || !std::getline(in_, header)) {
            problems_.push_back(name_ + " cannot be read");
            ok_ = false;
        }
    }

    // The next row's fields, or false at the end (or after a malformed row, reported).
    bool next(std::vector<std::string>& fields) {
        std::string line;
        if (!ok_ || !std::getline(in_, line)) {
            return false;
        }
        ++line_;
        fields.clear();
        std::size_t begin = 0;
        while (true) {
            const std::size_t comma = line.find(',', begin);
            fields.push_back(line.substr(begin, comma - begin));
            if (comma == std::string::npos) {
                break;
            }
            begin = comma + 1;
        }
        if (fields.size() != columns_) {
            problems_.push_back(name_ + " line " + std::to_string(line_ + 1) + " has " +
                                std::to_string(fields.size()) + " fields, not " +
                                std::to_string(columns_));
            ok_ = false;
            return false;
        }
        return true;
    }

  private:
    std::ifstream in_;
    std::string name_;
    std::size_t columns_;
    std::vector<std::string>& problems_;
    bool ok_ = true;
    std::size_t line_ = 0;
};

std::optional<std::int64_t> number(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::size_t used = 0;
    try {
        const long long value = std::stoll(text, &used);
        if (used != text.size()) {
            return std::nullopt;
        }
        return value;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

struct Exported {
    std::string bytes;      // the canonical record
    std::uint64_t seq = 0;  // the journal seq it belongs to
    bool used = false;
};

const char* kind_name(std::int64_t kind) {
    return kind == 1 ? "journal row" : kind == 2 ? "transfer" : kind == 3 ? "trade" : "record";
}

}  // namespace

ExportCheck verify_export(const std::filesystem::path& dir, const audit::PublicKey& public_key) {
    ExportCheck check;
    std::vector<std::string>& problems = check.problems;
    const auto bad = [&](const std::string& file, const std::string& what) {
        problems.push_back(file + ": " + what);
    };
    // (kind, ref) -> the record rebuilt from its CSV row.
    std::map<std::pair<std::int64_t, std::int64_t>, Exported> records;
    std::vector<std::string> f;
    {
        CsvReader csv(dir / "journal.csv", 4, problems);
        while (csv.next(f)) {
            const auto seq = number(f[0]);
            const auto ts = number(f[1]);
            const auto kind = number(f[2]);
            const auto body = bytes_from_hex(f[3]);
            if (!seq || !ts || !kind || !body || *kind < 0 || *kind > 0xFFFF) {
                bad("journal.csv", "a malformed row for seq " + f[0]);
                continue;
            }
            audit::CanonicalWriter w;
            audit::encode_record(audit::JournalRecord{static_cast<std::uint64_t>(*seq), *ts,
                                                      static_cast<std::uint16_t>(*kind), *body},
                                 w);
            records[{1, *seq}] = Exported{w.take(), static_cast<std::uint64_t>(*seq), false};
            ++check.summary.journal_rows;
        }
    }
    {
        CsvReader csv(dir / "transfers.csv", 10, problems);
        while (csv.next(f)) {
            std::int64_t v[10] = {};
            bool ok = true;
            for (int i = 0; i < 10; ++i) {
                const auto n = i == 4 && f[4].empty() ? std::optional<std::int64_t>(0)
                                                      : number(f[static_cast<std::size_t>(i)]);
                ok = ok && n.has_value();
                v[i] = n.value_or(0);
            }
            if (!ok) {
                bad("transfers.csv", "a malformed row for transfer " + f[0]);
                continue;
            }
            audit::TransferRecord t;
            t.id = static_cast<std::uint64_t>(v[0]);
            t.debit_account_id = static_cast<std::uint64_t>(v[1]);
            t.credit_account_id = static_cast<std::uint64_t>(v[2]);
            t.amount = v[3];
            t.pending_id = static_cast<std::uint64_t>(v[4]);
            t.flags = static_cast<std::uint8_t>(v[5]);
            t.code = static_cast<std::uint16_t>(v[6]);
            t.seq = static_cast<std::uint64_t>(v[7]);
            t.ts_ns = v[8];
            t.user_data = static_cast<std::uint64_t>(v[9]);
            audit::CanonicalWriter w;
            audit::encode_record(t, w);
            records[{2, v[0]}] = Exported{w.take(), t.seq, false};
            ++check.summary.transfers;
        }
    }
    {
        CsvReader csv(dir / "trades.csv", 12, problems);
        while (csv.next(f)) {
            std::int64_t v[12] = {};
            bool ok = true;
            for (int i = 0; i < 12; ++i) {
                const auto n = number(f[static_cast<std::size_t>(i)]);
                ok = ok && n.has_value();
                v[i] = n.value_or(0);
            }
            if (!ok) {
                bad("trades.csv", "a malformed row for trade " + f[0]);
                continue;
            }
            const audit::TradeRecord t{static_cast<std::uint64_t>(v[0]),
                                       static_cast<std::uint64_t>(v[1]),
                                       static_cast<std::uint64_t>(v[2]),
                                       static_cast<std::uint64_t>(v[3]),
                                       static_cast<std::uint64_t>(v[4]),
                                       static_cast<std::uint64_t>(v[5]),
                                       v[6],
                                       v[7],
                                       v[8],
                                       v[9],
                                       v[10],
                                       static_cast<std::uint64_t>(v[11])};
            audit::CanonicalWriter w;
            audit::encode_record(t, w);
            records[{3, v[0]}] = Exported{w.take(), t.created_seq, false};
            ++check.summary.trades;
        }
    }

    // The anchor: where the export starts, and the checkpoint that ends it.
    std::int64_t first_position = -1;
    audit::Digest head{};
    std::vector<audit::Digest> peaks;
    audit::Checkpoint signed_head;
    bool have_head = false;
    bool have_checkpoint[4] = {false, false, false, false};
    {
        CsvReader csv(dir / "anchor.csv", 2, problems);
        while (csv.next(f)) {
            const std::optional<std::string> bytes = bytes_from_hex(f[1]);
            if (f[0] == "first_position" && number(f[1])) {
                first_position = *number(f[1]);
            } else if (f[0] == "head_before" && bytes && bytes->size() == 32) {
                head = digest_of(*bytes);
                have_head = true;
            } else if (f[0] == "peak" && bytes && bytes->size() == 32) {
                peaks.push_back(digest_of(*bytes));
            } else if (f[0] == "tree_size" && number(f[1])) {
                signed_head.tree_size = static_cast<std::uint64_t>(*number(f[1]));
                have_checkpoint[0] = true;
            } else if (f[0] == "ts_ns" && number(f[1])) {
                signed_head.ts_ns = *number(f[1]);
                have_checkpoint[1] = true;
            } else if (f[0] == "root" && bytes && bytes->size() == 32) {
                signed_head.root = digest_of(*bytes);
                have_checkpoint[2] = true;
            } else if (f[0] == "signature" && bytes && bytes->size() == 64) {
                std::copy(bytes->begin(), bytes->end(),
                          reinterpret_cast<char*>(signed_head.signature.data()));
                have_checkpoint[3] = true;
            } else {
                bad("anchor.csv", "the row " + f[0] + " is unknown or malformed");
            }
        }
    }
    audit::MerkleAccumulator tree;
    const bool anchored =
        first_position >= 0 && have_head && have_checkpoint[0] && have_checkpoint[1] &&
        have_checkpoint[2] && have_checkpoint[3] &&
        audit::MerkleAccumulator::restore(static_cast<std::uint64_t>(first_position), peaks, tree);
    if (!anchored) {
        bad("anchor.csv",
            "it does not give first_position, head_before, one peak per set bit of "
            "first_position and the checkpoint (tree_size, ts_ns, root, signature)");
        return check;
    }
    check.summary.first_position = static_cast<std::uint64_t>(first_position);
    check.summary.tree_size = signed_head.tree_size;
    if (!audit::verify_checkpoint(signed_head, public_key)) {
        bad("anchor.csv", "the checkpoint's signature is not valid under the public key " +
                              audit::to_hex(public_key));
    }

    // The log, in order: each record rebuilt from its row, its leaf, the chain.
    {
        CsvReader csv(dir / "audit_log.csv", 6, problems);
        std::int64_t expected = first_position;
        while (csv.next(f)) {
            const auto position = number(f[0]);
            const auto kind = number(f[1]);
            const auto ref = number(f[2]);
            const auto seq = number(f[3]);
            const std::optional<std::string> leaf = bytes_from_hex(f[4]);
            const std::optional<std::string> stored_head = bytes_from_hex(f[5]);
            if (!position || !kind || !ref || !seq || !leaf || leaf->size() != 32 || !stored_head ||
                stored_head->size() != 32) {
                bad("audit_log.csv", "a malformed row at position " + f[0]);
                return check;
            }
            const std::string at = "audit_log.csv position " + f[0];
            if (*position != expected) {
                problems.push_back(at + ": expected position " + std::to_string(expected));
                return check;
            }
            ++expected;
            const auto it = records.find({*kind, *ref});
            if (it == records.end() || it->second.used) {
                problems.push_back(at + ": " + kind_name(*kind) + " " + f[2] +
                                   (it == records.end() ? " is not in the export's tables"
                                                        : " is in the log twice"));
                tree.append(digest_of(*leaf));
                head = digest_of(*stored_head);
                continue;
            }
            Exported& record = it->second;
            record.used = true;
            const audit::Digest recomputed = audit::leaf_hash(record.bytes);
            if (recomputed != digest_of(*leaf)) {
                problems.push_back(at + ": " + kind_name(*kind) + " " + f[2] +
                                   " differs from what was recorded (its leaf hash is " +
                                   audit::to_hex(recomputed) + ", the log's is " + f[4] + ")");
            } else if (audit::chain_next(head, record.bytes) != digest_of(*stored_head)) {
                problems.push_back(at + ": the chain head differs (the log was rewritten)");
            }
            if (record.seq != static_cast<std::uint64_t>(*seq)) {
                problems.push_back(at + ": " + kind_name(*kind) + " " + f[2] + " belongs to seq " +
                                   std::to_string(record.seq) + ", the log says " + f[3]);
            }
            head = digest_of(*stored_head);
            tree.append(recomputed);
        }
    }
    for (const auto& [key, record] : records) {
        if (!record.used) {
            problems.push_back(std::string(kind_name(key.first)) + " " +
                               std::to_string(key.second) +
                               " is in the export's tables but not in audit_log.csv");
        }
    }
    if (tree.count() != signed_head.tree_size) {
        problems.push_back("the export ends at position " + std::to_string(tree.count()) +
                           ", the checkpoint at tree_size " +
                           std::to_string(signed_head.tree_size));
    } else if (tree.root() != signed_head.root) {
        problems.push_back("the Merkle root of the exported records is " +
                           audit::to_hex(tree.root()) + ", the checkpoint signed " +
                           audit::to_hex(signed_head.root));
    }
    return check;
}

}  // namespace cpx::verifier
