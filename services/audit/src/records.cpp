#include "cpx/audit/records.hpp"

namespace cpx::audit {

void encode_record(const JournalRecord& r, CanonicalWriter& out) {
    out.u8(static_cast<std::uint8_t>(RecordKind::Journal))
        .u64(r.seq)
        .i64(r.ts_ns)
        .u16(r.kind)
        .bytes(r.body);
}

void encode_record(const TransferRecord& r, CanonicalWriter& out) {
    out.u8(static_cast<std::uint8_t>(RecordKind::Transfer))
        .u64(r.id)
        .u64(r.debit_account_id)
        .u64(r.credit_account_id)
        .i64(r.amount)
        .u64(r.pending_id)
        .u8(r.flags)
        .u16(r.code)
        .u64(r.seq)
        .i64(r.ts_ns)
        .u64(r.user_data);
}

void encode_record(const TradeRecord& r, CanonicalWriter& out) {
    out.u8(static_cast<std::uint8_t>(RecordKind::Trade))
        .u64(r.id)
        .u64(r.instrument)
        .u64(r.buyer)
        .u64(r.provider)
        .u64(r.buy_order)
        .u64(r.sell_order)
        .i64(r.price)
        .i64(r.quantity)
        .i64(r.amount_fen)
        .i64(r.traded_ns)
        .i64(r.window_end_ns)
        .u64(r.created_seq);
}

}  // namespace cpx::audit
