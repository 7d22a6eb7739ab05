#include "table_records.hpp"

namespace cpx::verifier::detail {

namespace {

std::int64_t i64(const pqxx::field& field) {
    return field.as<std::int64_t>();
}

// A bigint's 64 bits, as the records encode ids and user_data.
std::uint64_t u64(const pqxx::field& field) {
    return static_cast<std::uint64_t>(field.as<std::int64_t>());
}

// A smallint's low bits, as the records encode flags, codes and kinds: the schema keeps
// the honest values within the width, so a value outside it is a changed row, and its
// record then differs from the recorded one.
template <typename Narrow>
Narrow narrow(const pqxx::field& field) {
    return static_cast<Narrow>(field.as<int>());
}

}  // namespace

audit::TransferRecord read_transfer(const pqxx::row& row) {
    audit::TransferRecord t;
    t.id = u64(row[0]);
    t.debit_account_id = u64(row[1]);
    t.credit_account_id = u64(row[2]);
    t.amount = i64(row[3]);
    t.pending_id = row[4].is_null() ? 0 : u64(row[4]);
    t.flags = narrow<std::uint8_t>(row[5]);
    t.code = narrow<std::uint16_t>(row[6]);
    t.seq = u64(row[7]);
    t.ts_ns = i64(row[8]);
    t.user_data = u64(row[9]);
    return t;
}

TableRecord journal_record(const pqxx::row& row) {
    const pqxx::binarystring body(row[3]);
    audit::JournalRecord j;
    j.seq = u64(row[0]);
    j.ts_ns = i64(row[1]);
    j.kind = narrow<std::uint16_t>(row[2]);
    j.body = std::string_view(body.get(), body.size());
    audit::CanonicalWriter writer;
    audit::encode_record(j, writer);
    return TableRecord{j.seq, j.seq, j.ts_ns, writer.take()};
}

TableRecord transfer_record(const audit::TransferRecord& transfer) {
    audit::CanonicalWriter writer;
    audit::encode_record(transfer, writer);
    return TableRecord{transfer.id, transfer.seq, 0, writer.take()};
}

TableRecord trade_record(const pqxx::row& row) {
    audit::TradeRecord t;
    t.id = u64(row[0]);
    t.instrument = u64(row[1]);
    t.buyer = u64(row[2]);
    t.provider = u64(row[3]);
    t.buy_order = u64(row[4]);
    t.sell_order = u64(row[5]);
    t.price = i64(row[6]);
    t.quantity = i64(row[7]);
    t.amount_fen = i64(row[8]);
    t.traded_ns = i64(row[9]);
    t.window_end_ns = i64(row[10]);
    t.created_seq = u64(row[11]);
    audit::CanonicalWriter writer;
    audit::encode_record(t, writer);
    return TableRecord{t.id, t.created_seq, 0, writer.take()};
}

}  // namespace cpx::verifier::detail
