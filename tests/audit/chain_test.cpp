// Tests of cpx_audit's hash chain and canonical record encoding: known answers computed
// outside this code base, and that any change to the sequence of records (a record
// altered, dropped, inserted or moved) changes every head from its position on.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cpx/audit/chain.hpp"
#include "hex.hpp"

namespace cpx::audit {
namespace {

using testing::hex_of;
using testing::unhex;

// The heads after each record: heads[i] is h_{i+1}.
std::vector<Digest> heads_of(const std::vector<std::string>& records) {
    HashChain chain;
    std::vector<Digest> heads;
    for (const std::string& record : records) {
        heads.push_back(chain.append(record));
    }
    return heads;
}

// Records of several shapes and lengths, all distinct, built as callers will build them.
std::vector<std::string> sample_records() {
    std::vector<std::string> records;
    for (std::uint64_t i = 0; i < 16; ++i) {
        CanonicalWriter writer;
        writer.u8(static_cast<std::uint8_t>(i % 3))
            .u64(i * 1000003)
            .i64(-static_cast<std::int64_t>(i))
            .bytes(std::string(i % 5, static_cast<char>('a' + i)));
        records.push_back(writer.take());
    }
    records.push_back("");  // an empty record is a record too
    return records;
}

// Every head from `position` on differs from the original's at the same index, every head
// before it is the same, and so is the final head.
void expect_diverges_from(const std::vector<Digest>& original, const std::vector<Digest>& changed,
                          std::size_t position, const std::string& what) {
    SCOPED_TRACE(what + " at " + std::to_string(position));
    for (std::size_t i = 0; i < position && i < changed.size(); ++i) {
        EXPECT_EQ(changed[i], original[i]) << "head " << i;
    }
    for (std::size_t i = position; i < original.size() && i < changed.size(); ++i) {
        EXPECT_NE(changed[i], original[i]) << "head " << i;
    }
    const Digest original_final = original.empty() ? kChainGenesis : original.back();
    const Digest changed_final = changed.empty() ? kChainGenesis : changed.back();
    EXPECT_NE(changed_final, original_final);
}

TEST(CanonicalWriter, FixedWidthBigEndian) {
    CanonicalWriter writer;
    writer.u8(0xAB).u16(0x0102).u32(0x03040506).u64(0x0708090A0B0C0D0Eull);
    EXPECT_EQ(hex_of(writer.data()), "ab0102030405060708090a0b0c0d0e");
    writer.clear();
    writer.i64(-1).i64(std::numeric_limits<std::int64_t>::min()).i64(1);
    EXPECT_EQ(hex_of(writer.data()),
              "ffffffffffffffff"
              "8000000000000000"
              "0000000000000001");
}

TEST(CanonicalWriter, BytesAreLengthPrefixed) {
    CanonicalWriter writer;
    writer.bytes("").bytes("cpx").bytes(std::string(300, '\x7F'));
    EXPECT_EQ(writer.data().size(), 4u + 4u + 3u + 4u + 300u);
    EXPECT_EQ(hex_of(writer.data().substr(0, 15)), "00000000000000036370780000012c");
    // The length prefix keeps field boundaries: ("ab", "c") and ("a", "bc") differ.
    CanonicalWriter ab_c;
    ab_c.bytes("ab").bytes("c");
    CanonicalWriter a_bc;
    a_bc.bytes("a").bytes("bc");
    EXPECT_NE(ab_c.data(), a_bc.data());
}

TEST(CanonicalWriter, DigestIsItsBytes) {
    const Digest digest = sha256("abc");
    CanonicalWriter writer;
    writer.digest(digest);
    EXPECT_EQ(hex_of(writer.data()), to_hex(digest));
    EXPECT_EQ(writer.take().size(), 32u);
}

// The known answers below were computed with Python's hashlib and struct modules from the
// definition in docs/AUDIT_FORMATS.md, not with this code; the same vectors are
// printed there for other implementers.
TEST(HashChain, KnownAnswer) {
    CanonicalWriter first;
    first.u8(1).u64(42).i64(-1).bytes("cpx");
    EXPECT_EQ(hex_of(first.data()), "01000000000000002affffffffffffffff00000003637078");
    CanonicalWriter second;
    second.bytes("").u16(0x0102).u32(7);
    EXPECT_EQ(hex_of(second.data()), "00000000010200000007");

    HashChain chain;
    EXPECT_EQ(chain.head(), Digest{});
    EXPECT_EQ(chain.count(), 0u);
    EXPECT_EQ(to_hex(chain.append(first.data())),
              "eefe8ea91455026c0fa29512d96ffa2074c0d4d29ead415c60e48d68c204663d");
    EXPECT_EQ(to_hex(chain.append(second.data())),
              "a8f571caf948f20625fbb6985e91fc4d2a81edc7e433ddf60248de335835f43d");
    EXPECT_EQ(chain.count(), 2u);
}

TEST(HashChain, LinkIsSha256OfPreviousHeadAndRecord) {
    const Digest previous = sha256("previous");
    const std::string record = unhex("00ff10");
    EXPECT_EQ(chain_next(previous, record), sha256(std::string(as_bytes(previous)) + record));
    EXPECT_EQ(chain_next(kChainGenesis, ""), sha256(std::string(32, '\0')));
}

TEST(HashChain, SameRecordsSameHead) {
    const std::vector<std::string> records = sample_records();
    EXPECT_EQ(heads_of(records), heads_of(records));
    // A chain resumed from a stored head continues exactly as an uninterrupted one.
    for (std::size_t stop = 0; stop <= records.size(); ++stop) {
        HashChain first;
        for (std::size_t i = 0; i < stop; ++i) {
            first.append(records[i]);
        }
        HashChain resumed(first.head(), first.count());
        for (std::size_t i = stop; i < records.size(); ++i) {
            resumed.append(records[i]);
        }
        EXPECT_EQ(resumed.head(), heads_of(records).back());
        EXPECT_EQ(resumed.count(), records.size());
    }
}

TEST(HashChain, ChangedRecordChangesEveryHeadFromItOn) {
    const std::vector<std::string> records = sample_records();
    const std::vector<Digest> original = heads_of(records);
    for (std::size_t p = 0; p < records.size(); ++p) {
        std::vector<std::string> changed = records;
        if (changed[p].empty()) {
            changed[p] = "x";
        } else {
            changed[p].back() = static_cast<char>(changed[p].back() ^ 0x01);
        }
        expect_diverges_from(original, heads_of(changed), p, "flipped bit");

        changed = records;
        changed[p].push_back('\0');
        expect_diverges_from(original, heads_of(changed), p, "appended byte");
    }
}

TEST(HashChain, DroppedRecordChangesEveryHeadFromItOn) {
    const std::vector<std::string> records = sample_records();
    const std::vector<Digest> original = heads_of(records);
    for (std::size_t p = 0; p < records.size(); ++p) {
        std::vector<std::string> changed = records;
        changed.erase(changed.begin() + static_cast<std::ptrdiff_t>(p));
        expect_diverges_from(original, heads_of(changed), p, "dropped");
    }
}

TEST(HashChain, InsertedRecordChangesEveryHeadFromItOn) {
    const std::vector<std::string> records = sample_records();
    const std::vector<Digest> original = heads_of(records);
    for (std::size_t p = 0; p <= records.size(); ++p) {
        std::vector<std::string> changed = records;
        changed.insert(changed.begin() + static_cast<std::ptrdiff_t>(p), "inserted");
        expect_diverges_from(original, heads_of(changed), p, "inserted");
        // Even a second copy of a record, right after the first: the heads diverge from
        // the copy on.
        if (p < records.size()) {
            changed = records;
            changed.insert(changed.begin() + static_cast<std::ptrdiff_t>(p + 1), records[p]);
            expect_diverges_from(original, heads_of(changed), p + 1, "repeated");
        }
    }
}

TEST(HashChain, SwappedRecordsChangeEveryHeadFromTheFirstOn) {
    const std::vector<std::string> records = sample_records();
    const std::vector<Digest> original = heads_of(records);
    for (std::size_t p = 0; p < records.size(); ++p) {
        for (std::size_t q = p + 1; q < records.size(); ++q) {
            std::vector<std::string> changed = records;
            std::swap(changed[p], changed[q]);
            expect_diverges_from(original, heads_of(changed), p,
                                 "swapped with " + std::to_string(q));
        }
    }
}

}  // namespace
}  // namespace cpx::audit
