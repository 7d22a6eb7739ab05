#pragma once
// Exports of the tamper-evident record for a time range, as CSV files that carry their
// hashes, and their verification offline (docs/AUDIT.md, "Exports"): a regulator who
// holds an export and the exchange's public key checks it without any database.
//
// export_range() writes into a new folder:
//   journal.csv    seq,ts_ns,kind,body            (body in hex)
//   transfers.csv  id,debit_account_id,credit_account_id,amount,pending_id,flags,code,
//                  seq,ts_ns,user_data            (pending_id empty for NULL)
//   trades.csv     id,instrument,buyer,provider,buy_order,sell_order,price,quantity,
//                  amount_fen,traded_ns,window_end_ns,created_seq
//   audit_log.csv  position,kind,ref,seq,leaf_hash,head
//   anchor.csv     name,value: first_position, head_before (the chain's head before the
//                  first record), one peak row per perfect subtree of the records before
//                  it (largest first), and the signed checkpoint that ends the export
//                  (tree_size, ts_ns, root, signature)
// The records are those of the journal rows whose time is in [from_ns, to_ns], with the
// transfers and trades they caused, extended to the first signed checkpoint at or after
// their end, so that the export ends where a signature vouches for it.
//
// verify_export() rebuilds each record from its CSV row, checks its leaf hash and the
// chain from head_before, checks that every row is in the log once and the log's
// positions run from first_position to the checkpoint's tree_size, then folds the
// recomputed leaves onto the peaks and compares the Merkle root with the checkpoint's,
// whose signature it checks under the given key. The peaks and head_before come from
// the exporter, but the root binds the peaks: no other peaks give the signed root.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/audit/signing.hpp"

namespace cpx::verifier {

struct ExportSummary {
    std::uint64_t first_seq = 0;  // the journal rows exported
    std::uint64_t last_seq = 0;
    std::uint64_t first_position = 0;  // the audit_log positions exported
    std::uint64_t tree_size = 0;       // one past the last: the checkpoint's tree_size
    std::uint64_t journal_rows = 0;
    std::uint64_t transfers = 0;
    std::uint64_t trades = 0;
};

// Throws std::runtime_error when the range holds no journal row, when no checkpoint
// covers its end yet, or when `dir` exists; pqxx's exceptions when reading fails.
ExportSummary export_range(pqxx::connection_base& connection, std::int64_t from_ns,
                           std::int64_t to_ns, const std::filesystem::path& dir);

struct ExportCheck {
    ExportSummary summary;
    std::vector<std::string> problems;  // first found first
    bool ok() const { return problems.empty(); }
};

// Reads the export in `dir`; a file that cannot be read or parsed is a problem too.
ExportCheck verify_export(const std::filesystem::path& dir, const audit::PublicKey& public_key);

}  // namespace cpx::verifier
