// The canonical encodings of the audit log's records (cpx/audit/records.hpp), byte for
// byte as docs/AUDIT.md lists them: these expected bytes are written out by hand from the
// document's tables, so a change to an encoding fails here before it can change what
// the projector writes and every outside verifier computes.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "cpx/audit/merkle.hpp"
#include "cpx/audit/records.hpp"
#include "hex.hpp"

namespace cpx::audit {
namespace {

using testing::hex_of;
using testing::unhex;

std::string encoded(const auto& record) {
    CanonicalWriter w;
    encode_record(record, w);
    return w.take();
}

TEST(AuditRecords, AJournalRowIsKindSeqTimeRequestKindAndLengthPrefixedBody) {
    const std::string body = unhex("0102ff");
    const JournalRecord r{7, 1'700'000'000'000'000'000, 41, body};
    EXPECT_EQ(encoded(r), unhex("01"                // kind: journal
                                "0000000000000007"  // seq
                                "17979cfe362a0000"  // ts_ns
                                "0029"              // request kind 41
                                "00000003"
                                "0102ff"));  // body
}

TEST(AuditRecords, ATransferIsEveryColumnInOrderWithNullPendingAsZero) {
    const TransferRecord r{.id = 258,
                           .debit_account_id = 0x0000010000000002,
                           .credit_account_id = 3,
                           .amount = 1'000'000,
                           .pending_id = 0,
                           .flags = 2,
                           .code = 10,
                           .seq = 99,
                           .ts_ns = -1,
                           .user_data = 0xFFFFFFFFFFFFFFFF};
    EXPECT_EQ(encoded(r), unhex("02"                   // kind: transfer
                                "0000000000000102"     // id
                                "0000010000000002"     // debit account
                                "0000000000000003"     // credit account
                                "00000000000f4240"     // amount
                                "0000000000000000"     // pending id (NULL)
                                "02"                   // flags
                                "000a"                 // code
                                "0000000000000063"     // seq
                                "ffffffffffffffff"     // ts_ns (-1, two's complement)
                                "ffffffffffffffff"));  // user_data
}

TEST(AuditRecords, ATradeIsItsObligationsRowInColumnOrder) {
    const TradeRecord r{.id = 5,
                        .instrument = 2,
                        .buyer = 7,
                        .provider = 4,
                        .buy_order = 11,
                        .sell_order = 12,
                        .price = 1'050,
                        .quantity = 3,
                        .amount_fen = 3'150,
                        .traded_ns = 16,
                        .window_end_ns = 32,
                        .created_seq = 64};
    EXPECT_EQ(encoded(r), unhex("03"
                                "0000000000000005"
                                "0000000000000002"
                                "0000000000000007"
                                "0000000000000004"
                                "000000000000000b"
                                "000000000000000c"
                                "000000000000041a"
                                "0000000000000003"
                                "0000000000000c4e"
                                "0000000000000010"
                                "0000000000000020"
                                "0000000000000040"));
}

TEST(AuditRecords, RecordsOfDifferentKindsNeverShareAnEncodingOrALeaf) {
    // A transfer and a trade with the same numbers still differ in their first byte.
    const TransferRecord t{.id = 1, .debit_account_id = 2, .credit_account_id = 3, .amount = 4};
    const TradeRecord d{.id = 1, .instrument = 2, .buyer = 3, .provider = 4};
    EXPECT_NE(encoded(t), encoded(d));
    EXPECT_NE(leaf_hash(encoded(t)), leaf_hash(encoded(d)));
    EXPECT_EQ(encoded(t).size(), 1u + 8 * 5 + 1 + 2 + 8 * 3);
    EXPECT_EQ(encoded(d).size(), 1u + 8 * 12);
}

TEST(AuditRecords, TheEncoderAppendsSoThatAWriterCanReuseItsBuffer) {
    CanonicalWriter w;
    encode_record(JournalRecord{1, 0, 1, ""}, w);
    const std::size_t one = w.data().size();
    encode_record(JournalRecord{2, 0, 1, ""}, w);
    EXPECT_EQ(w.data().size(), 2 * one);
    EXPECT_EQ(hex_of(w.data().substr(0, 1)), "01");
}

}  // namespace
}  // namespace cpx::audit
