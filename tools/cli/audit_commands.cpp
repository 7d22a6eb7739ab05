// `cpx audit verify`: recomputes the tamper-evident record from the tables of a cpx
// database (services/verifier), or checks an export offline, under the public key given
// on the command line, never one read from the database; `cpx audit export` writes the
// records of a time range as CSV with their hashes (cpx/verifier/export.hpp).

#include "audit_commands.hpp"

#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include <pqxx/pqxx>

#include "cpx/audit/sha256.hpp"
#include "cpx/verifier/export.hpp"
#include "cpx/verifier/verifier.hpp"

namespace cpx::cli {

namespace {

// The key as 64 hex digits, from --public-key or the file --public-key-file names
// (surrounding whitespace allowed, as in the key files cpx writes).
audit::PublicKey public_key(const Args& a) {
    if (a.has("public-key") == a.has("public-key-file")) {
        throw UsageError(
            "give the exchange's audit key by exactly one of --public-key HEX "
            "and --public-key-file PATH");
    }
    std::string text;
    std::string source;
    if (a.has("public-key")) {
        text = a.text("public-key");
        source = "--public-key";
    } else {
        const std::string path = a.text("public-key-file");
        std::ifstream file(path);
        if (!file) {
            throw UsageError("--public-key-file: cannot read " + path);
        }
        std::ostringstream contents;
        contents << file.rdbuf();
        text = contents.str();
        source = path;
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
    audit::PublicKey key{};
    if (!audit::from_hex(text, key)) {
        throw UsageError(source + ": not an Ed25519 public key of 64 hex digits");
    }
    return key;
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[(c >> 4) & 0xF];
            out += kHex[c & 0xF];
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void print_json(const verifier::VerifyReport& r) {
    std::cout << "{\"ok\":" << (r.ok() ? "true" : "false") << ",\"records\":" << r.records
              << ",\"journal_records\":" << r.journal_records
              << ",\"transfer_records\":" << r.transfer_records
              << ",\"trade_records\":" << r.trade_records << ",\"journal_seq\":" << r.journal_seq
              << ",\"checkpoints\":" << r.checkpoints
              << ",\"last_checkpoint_size\":" << r.last_checkpoint_size
              << ",\"records_after_last_checkpoint\":" << r.records_after_last_checkpoint
              << ",\"accounts\":" << r.accounts << ",\"transfers\":" << r.transfers
              << ",\"root\":\"" << audit::to_hex(r.root) << "\",\"head\":\""
              << audit::to_hex(r.head) << "\",\"problems\":[";
    for (std::size_t i = 0; i < r.problems.size(); ++i) {
        std::cout << (i == 0 ? "" : ",") << json_string(r.problems[i]);
    }
    std::cout << "],\"problems_omitted\":" << r.problems_omitted << "}\n";
}

void print_text(const verifier::VerifyReport& r, const audit::PublicKey& key) {
    std::cout << "records          " << r.records << " (journal " << r.journal_records
              << ", transfers " << r.transfer_records << ", trades " << r.trade_records
              << "), up to journal seq " << r.journal_seq << "\n"
              << "checkpoints      " << r.checkpoints;
    if (r.last_checkpoint_size > 0) {
        std::cout << ", the last at tree_size " << r.last_checkpoint_size;
    }
    if (r.records_after_last_checkpoint == 0) {
        std::cout << "; every record is signed\n";
    } else if (r.last_checkpoint_size == 0) {
        std::cout << "; no record is signed yet\n";
    } else {
        std::cout << "; " << r.records_after_last_checkpoint
                  << " records after the last, not signed yet\n";
    }
    std::cout << "ledger accounts  " << r.accounts << " (from " << r.transfers << " transfers)\n"
              << "merkle root      " << audit::to_hex(r.root) << "\n"
              << "chain head       " << audit::to_hex(r.head) << "\n"
              << "public key       " << audit::to_hex(key) << "\n";
    if (r.ok()) {
        std::cout << "VERIFIED: every record, checkpoint and balance agrees with the tables\n";
        return;
    }
    std::cout << "NOT VERIFIED: " << r.problems.size() + r.problems_omitted << " problems\n";
    for (const std::string& problem : r.problems) {
        std::cout << "  " << problem << "\n";
    }
    if (r.problems_omitted > 0) {
        std::cout << "  ... and " << r.problems_omitted << " more\n";
    }
}

// `cpx audit verify --export DIR`: an export checked offline, without a database.
int verify_export(const Global& global, const Args& a) {
    const audit::PublicKey key = public_key(a);
    const verifier::ExportCheck check = verifier::verify_export(a.text("export"), key);
    const verifier::ExportSummary& s = check.summary;
    if (global.json) {
        std::cout << "{\"ok\":" << (check.ok() ? "true" : "false")
                  << ",\"first_position\":" << s.first_position << ",\"tree_size\":" << s.tree_size
                  << ",\"journal_rows\":" << s.journal_rows << ",\"transfers\":" << s.transfers
                  << ",\"trades\":" << s.trades << ",\"problems\":[";
        for (std::size_t i = 0; i < check.problems.size(); ++i) {
            std::cout << (i == 0 ? "" : ",") << json_string(check.problems[i]);
        }
        std::cout << "]}\n";
    } else {
        std::cout << "export           positions " << s.first_position << " to "
                  << (s.tree_size == 0 ? 0 : s.tree_size - 1) << " (journal " << s.journal_rows
                  << ", transfers " << s.transfers << ", trades " << s.trades << ")\n"
                  << "public key       " << audit::to_hex(key) << "\n";
        if (check.ok()) {
            std::cout << "VERIFIED: every exported record is in the signed checkpoint at "
                         "tree_size "
                      << s.tree_size << "\n";
        } else {
            std::cout << "NOT VERIFIED: " << check.problems.size() << " problems\n";
            for (const std::string& problem : check.problems) {
                std::cout << "  " << problem << "\n";
            }
        }
    }
    return check.ok() ? 0 : 1;
}

// `cpx audit export`: the records of a time range, as CSV with their hashes.
int export_range(const Global& global, const Args& a) {
    a.reject_unknown({"database", "from", "to", "out"});
    const std::string url = a.text("database");
    const std::int64_t from_ns = a.time_ns("from");
    const std::int64_t to_ns =
        a.has("to") ? a.time_ns("to") : std::numeric_limits<std::int64_t>::max();
    const std::string out = a.text("out");
    if (to_ns < from_ns) {
        throw UsageError("--to is before --from");
    }
    verifier::ExportSummary s;
    try {
        pqxx::connection connection(url);
        s = verifier::export_range(connection, from_ns, to_ns, out);
    } catch (const std::exception& e) {
        std::cerr << "cpx: cannot export: " << e.what() << "\n";
        return 1;
    }
    if (global.json) {
        std::cout << "{\"first_seq\":" << s.first_seq << ",\"last_seq\":" << s.last_seq
                  << ",\"first_position\":" << s.first_position << ",\"tree_size\":" << s.tree_size
                  << ",\"journal_rows\":" << s.journal_rows << ",\"transfers\":" << s.transfers
                  << ",\"trades\":" << s.trades << "}\n";
    } else {
        std::cout << "exported journal seq " << s.first_seq << " to " << s.last_seq
                  << " (audit_log positions " << s.first_position << " to " << s.tree_size - 1
                  << ": " << s.journal_rows << " journal rows, " << s.transfers << " transfers, "
                  << s.trades << " trades) to " << out << "\n";
    }
    return 0;
}

int verify(const Global& global, const Args& a) {
    a.reject_unknown({"database", "export", "public-key", "public-key-file"});
    if (a.has("export")) {
        if (a.has("database")) {
            throw UsageError("give --database or --export, not both");
        }
        return verify_export(global, a);
    }
    const std::string url = a.text("database");
    const audit::PublicKey key = public_key(a);
    verifier::VerifyReport report;
    try {
        pqxx::connection connection(url);
        report = verifier::verify_record(connection, key);
    } catch (const std::exception& e) {
        // The record could not be read, so it is not verified: a failure, not a usage
        // error (the libpq message does not repeat the URL's password).
        std::cerr << "cpx: cannot verify the record: " << e.what() << "\n";
        return 1;
    }
    if (global.json) {
        print_json(report);
    } else {
        print_text(report, key);
    }
    return report.ok() ? 0 : 1;
}

}  // namespace

bool is_audit_command(const std::string& c) {
    return c == "audit" || c.rfind("audit ", 0) == 0;
}

int run_audit_command(const Global& global, const Args& a) {
    if (a.command() == "audit verify") {
        return verify(global, a);
    }
    if (a.command() == "audit export") {
        return export_range(global, a);
    }
    throw UsageError("audit needs a subcommand: verify or export");
}

}  // namespace cpx::cli
