#pragma once
// Keyset pagination: a table read in key order, chunk_rows rows per query, so that the
// verifier holds one chunk of each table at a time however large the table is.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <pqxx/pqxx>

namespace cpx::verifier::detail {

// Before every key: the keys are bigint, and a tampered row may carry any value, even
// one the table's CHECK constraints (dropped by the same insider) would have refused.
inline constexpr std::int64_t kBeforeAll = std::numeric_limits<std::int64_t>::min();

class Pager {
  public:
    // `sql` selects the rows whose first column (the key) is greater than $1, ordered by
    // it, at most $2 of them.
    Pager(pqxx::transaction_base& tx, std::string sql, std::size_t chunk_rows);

    // The next row, or nullptr at the end. The pointer stays valid until pop().
    const pqxx::row* peek();
    // Moves past the row peek() returned.
    void pop();

  private:
    pqxx::transaction_base& tx_;
    std::string sql_;
    std::size_t chunk_rows_;
    std::int64_t after_ = kBeforeAll;
    pqxx::result chunk_;
    pqxx::result::size_type index_ = 0;
    bool last_chunk_ = false;
    std::optional<pqxx::row> current_;
};

}  // namespace cpx::verifier::detail
