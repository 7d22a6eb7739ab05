#include <string>

#include "cpx/verifier/verifier.hpp"

namespace cpx::verifier {

std::uint64_t first_position_of_seq(pqxx::transaction_base& tx, std::int64_t seq,
                                    std::uint64_t log_size) {
    std::uint64_t lo = 0;
    std::uint64_t hi = log_size;
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        const pqxx::row r = tx.exec_params1("SELECT seq FROM audit_log WHERE position = $1",
                                            static_cast<std::int64_t>(mid));
        if (r[0].as<std::int64_t>() < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

std::optional<std::uint64_t> logged_position(pqxx::transaction_base& tx, audit::RecordKind kind,
                                             std::int64_t ref) {
    const char* seq_sql = nullptr;
    switch (kind) {
        case audit::RecordKind::Journal:
            seq_sql = "SELECT seq FROM journal WHERE seq = $1";
            break;
        case audit::RecordKind::Transfer:
            seq_sql = "SELECT seq FROM transfers WHERE id = $1";
            break;
        case audit::RecordKind::Trade:
            seq_sql = "SELECT created_seq FROM obligations WHERE id = $1";
            break;
        default:
            return std::nullopt;
    }
    const pqxx::result row = tx.exec_params(seq_sql, ref);
    if (row.empty()) {
        return std::nullopt;
    }
    const auto seq = row[0][0].as<std::int64_t>();
    const auto size =
        tx.exec1("SELECT coalesce(max(position) + 1, 0) FROM audit_log")[0].as<std::uint64_t>();
    const std::uint64_t first = first_position_of_seq(tx, seq, size);
    const std::uint64_t end = first_position_of_seq(tx, seq + 1, size);
    const pqxx::result logged = tx.exec_params(
        "SELECT position FROM audit_log WHERE position >= $1 AND position < $2 AND kind = $3 "
        "AND ref = $4 ORDER BY position LIMIT 1",
        static_cast<std::int64_t>(first), static_cast<std::int64_t>(end), static_cast<int>(kind),
        ref);
    if (logged.empty()) {
        return std::nullopt;
    }
    return logged[0][0].as<std::uint64_t>();
}

}  // namespace cpx::verifier
