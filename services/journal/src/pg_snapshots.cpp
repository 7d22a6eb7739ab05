#include "cpx/journal/pg_snapshots.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "pg_connection.hpp"

namespace cpx::journal {

namespace {

constexpr std::size_t kPartBytes = std::size_t{16} << 20;

using detail::Connection;
using detail::PgResult;
using detail::trim;

[[noreturn]] void fail(const std::string& what, const std::string& why) {
    throw std::runtime_error("snapshots: " + what + ": " + trim(why));
}

void exec_or_throw(Connection& conn, const char* sql, ExecStatusType expected) {
    if (!conn.exec(sql, expected)) {
        fail(sql, conn.error());
    }
}

}  // namespace

PgSnapshotStore::PgSnapshotStore(std::string database_url, std::uint32_t keep)
    : database_url_(std::move(database_url)), keep_(std::max<std::uint32_t>(keep, 1)) {}

void PgSnapshotStore::write(std::uint64_t seq, std::uint64_t state_hash, const std::string& bytes) {
    Connection conn(database_url_);
    if (!conn.open()) {
        fail("cannot connect", conn.error());
    }
    exec_or_throw(conn, "BEGIN", PGRES_COMMAND_OK);
    const std::size_t parts =
        std::max<std::size_t>(1, (bytes.size() + kPartBytes - 1) / kPartBytes);
    {
        const std::string seq_text = std::to_string(seq);
        const std::string hash_text = std::to_string(static_cast<std::int64_t>(state_hash));
        const std::string parts_text = std::to_string(parts);
        const std::string bytes_text = std::to_string(bytes.size());
        const char* values[4] = {seq_text.c_str(), hash_text.c_str(), parts_text.c_str(),
                                 bytes_text.c_str()};
        PgResult r(PQexecParams(conn.get(),
                                "INSERT INTO snapshots (seq, state_hash, parts, bytes) "
                                "VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING",
                                4, nullptr, values, nullptr, nullptr, 0));
        if (r.status() != PGRES_COMMAND_OK) {
            fail("cannot record snapshot " + seq_text, PQresultErrorMessage(r.result));
        }
        // A snapshot of this seq is there already: the state after a seq is one state.
        if (std::string_view(PQcmdTuples(r.result)) == "0") {
            exec_or_throw(conn, "ROLLBACK", PGRES_COMMAND_OK);
            return;
        }
    }
    for (std::size_t part = 0; part < parts; ++part) {
        const std::size_t offset = part * kPartBytes;
        const std::size_t length = std::min(kPartBytes, bytes.size() - offset);
        const std::string seq_text = std::to_string(seq);
        const std::string part_text = std::to_string(part);
        // The body travels as a binary parameter: no escaping, no text copy of it.
        const char* values[3] = {seq_text.c_str(), part_text.c_str(), bytes.data() + offset};
        const int lengths[3] = {0, 0, static_cast<int>(length)};
        const int formats[3] = {0, 0, 1};
        PgResult r(PQexecParams(conn.get(),
                                "INSERT INTO snapshot_parts (seq, part, body) VALUES ($1, $2, $3)",
                                3, nullptr, values, lengths, formats, 0));
        if (r.status() != PGRES_COMMAND_OK) {
            fail("cannot write snapshot part", PQresultErrorMessage(r.result));
        }
    }
    {
        const std::string keep_text = std::to_string(keep_);
        const char* values[1] = {keep_text.c_str()};
        // The newest snapshot at or before the ledger projector's progress stays too:
        // the projector restarts from it, and cpxd's own snapshots (at its stops and
        // starts) can be ahead of a projector that is behind.
        PgResult r(PQexecParams(conn.get(),
                                "DELETE FROM snapshots WHERE seq NOT IN "
                                "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT $1) "
                                "AND seq IS DISTINCT FROM (SELECT max(s.seq) FROM snapshots s "
                                "WHERE s.seq <= (SELECT coalesce(max(p.seq), 0) "
                                "FROM projector_progress p))",
                                1, nullptr, values, nullptr, nullptr, 0));
        if (r.status() != PGRES_COMMAND_OK) {
            fail("cannot prune snapshots", PQresultErrorMessage(r.result));
        }
    }
    exec_or_throw(conn, "COMMIT", PGRES_COMMAND_OK);
}

std::optional<StoredSnapshot> PgSnapshotStore::load_latest(std::uint64_t seq_max) const {
    Connection conn(database_url_);
    if (!conn.open()) {
        fail("cannot connect", conn.error());
    }
    StoredSnapshot snapshot;
    std::size_t parts = 0;
    std::size_t bytes = 0;
    {
        const std::string max_text = std::to_string(seq_max);
        const char* values[1] = {max_text.c_str()};
        PgResult r(PQexecParams(conn.get(),
                                "SELECT seq, state_hash, parts, bytes FROM snapshots "
                                "WHERE seq <= $1 ORDER BY seq DESC LIMIT 1",
                                1, nullptr, values, nullptr, nullptr, 0));
        if (r.status() != PGRES_TUPLES_OK) {
            fail("cannot list snapshots", PQresultErrorMessage(r.result));
        }
        if (PQntuples(r.result) == 0) {
            return std::nullopt;
        }
        snapshot.seq = std::stoull(PQgetvalue(r.result, 0, 0));
        snapshot.state_hash = static_cast<std::uint64_t>(std::stoll(PQgetvalue(r.result, 0, 1)));
        parts = std::stoull(PQgetvalue(r.result, 0, 2));
        bytes = std::stoull(PQgetvalue(r.result, 0, 3));
    }
    snapshot.bytes.reserve(bytes);
    for (std::size_t part = 0; part < parts; ++part) {
        const std::string seq_text = std::to_string(snapshot.seq);
        const std::string part_text = std::to_string(part);
        const char* values[2] = {seq_text.c_str(), part_text.c_str()};
        // Binary result: the bytes as stored, without bytea's hex text.
        PgResult r(PQexecParams(conn.get(),
                                "SELECT body FROM snapshot_parts WHERE seq = $1 AND part = $2", 2,
                                nullptr, values, nullptr, nullptr, 1));
        if (r.status() != PGRES_TUPLES_OK || PQntuples(r.result) != 1) {
            fail("snapshot " + seq_text + " lacks part " + part_text,
                 PQresultErrorMessage(r.result));
        }
        snapshot.bytes.append(PQgetvalue(r.result, 0, 0),
                              static_cast<std::size_t>(PQgetlength(r.result, 0, 0)));
    }
    if (snapshot.bytes.size() != bytes) {
        fail("snapshot " + std::to_string(snapshot.seq), "its parts do not add up to its size");
    }
    return snapshot;
}

}  // namespace cpx::journal
