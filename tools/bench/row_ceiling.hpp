// The ceiling of this PostgreSQL for the rows a trade needs: the rows the projector has
// just written, copied again into bare tables that keep the real tables' columns and
// indexes and nothing else (no trigger, no CHECK, no foreign key), over one or more
// sessions at once. What cpx's projection costs beyond that is cpx's own; what the
// ceiling itself costs is the rows and the indexes the record needs, on this machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cpx::bench {

// How the sessions share the rows of a batch.
enum class CeilingSplit {
    // Each session takes whole tables: the tables are dealt, costliest first (rows times
    // one more than its indexes), to the session with the least so far. Every index then
    // grows from one session only, in key order, as the projector's sessions write.
    Tables,
    // Each session takes an equal, contiguous share of every table's rows, so two
    // sessions insert into the same indexes at once.
    Rows,
};

// One measurement: `tables` (names of real tables) written over `sessions` sessions in
// `batches` durable transactions each.
struct CeilingRun {
    std::vector<std::string> tables;
    std::uint32_t sessions = 1;
    CeilingSplit split = CeilingSplit::Tables;
};

struct CeilingResult {
    double seconds = 0;
    std::uint64_t rows = 0;
};

// The rows of some tables, read once with binary COPY and held in memory.
class RowCeiling {
  public:
    // Reads every row of `tables` from the database at `url`.
    RowCeiling(std::string url, const std::vector<std::string>& tables);

    std::uint64_t rows(const std::string& table) const;

    // Creates the bare tables in a schema of their own, copies the rows of `run.tables`
    // into them, `batches` transactions per session (each session takes an equal share
    // of every table's rows of each batch, in order), and drops the schema again. The
    // time is from the first COPY to the last COMMIT.
    CeilingResult measure(const CeilingRun& run, std::uint64_t batches) const;

  private:
    struct Table {
        std::string name;
        std::string data;                   // the binary COPY stream without header and trailer
        std::vector<std::uint64_t> starts;  // where each row begins in `data`, and its end
    };

    const Table& table(const std::string& name) const;

    std::string url_;
    std::vector<Table> tables_;
};

}  // namespace cpx::bench
