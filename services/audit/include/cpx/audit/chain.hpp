#pragma once
// The hash chain of the audit record, and the canonical encoding of its records.
//
// The chain links every record to all the records before it:
//
//   h_0 = 32 zero bytes
//   h_i = SHA-256(h_{i-1} || record_i)        for i = 1, 2, 3, ...
//
// where record_i is the record's canonical byte string, built by the caller with
// CanonicalWriter. Changing, dropping, inserting or reordering any record changes every
// head from that record on, so a verifier that holds one trusted head h_n (from a signed
// checkpoint) can check all n records by recomputing the chain.
//
// The canonical encoding is deliberately primitive, so that an outsider can re-implement
// it in any language from docs/AUDIT.md: integers are fixed-width big-endian (two's
// complement for i64), byte strings are a u32 big-endian length followed by the bytes,
// digests are their 32 bytes. A record's schema fixes the order and the width of its
// fields, so each record has exactly one encoding and no two records share one.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "cpx/audit/sha256.hpp"

namespace cpx::audit {

// h_0: the head of an empty chain.
inline constexpr Digest kChainGenesis{};

// One link: SHA-256(previous || record).
Digest chain_next(const Digest& previous, std::string_view record);

class HashChain {
  public:
    // An empty chain: head() is kChainGenesis, count() is 0.
    HashChain() = default;

    // Resumes a chain whose head after `count` records is `head` (read back from the
    // database at a restart). An empty chain's head must be the genesis.
    HashChain(const Digest& head, std::uint64_t count);

    // Links `record` to the chain and returns the new head.
    Digest append(std::string_view record);

    const Digest& head() const { return head_; }
    std::uint64_t count() const { return count_; }

  private:
    Digest head_ = kChainGenesis;
    std::uint64_t count_ = 0;
};

// Builds a record's canonical byte string field by field.
class CanonicalWriter {
  public:
    CanonicalWriter& u8(std::uint8_t value);
    CanonicalWriter& u16(std::uint16_t value);
    CanonicalWriter& u32(std::uint32_t value);
    CanonicalWriter& u64(std::uint64_t value);
    // Two's complement, big-endian: the 8 bytes of u64(static_cast<std::uint64_t>(value)).
    CanonicalWriter& i64(std::int64_t value);
    // A byte string of any length (below 4 GiB): u32 length, then the bytes.
    CanonicalWriter& bytes(std::string_view value);
    // A digest: its 32 bytes, without a length (the width is fixed by the schema).
    CanonicalWriter& digest(const Digest& value);

    const std::string& data() const { return data_; }
    std::string take() { return std::move(data_); }
    void clear() { data_.clear(); }

  private:
    void put_big_endian(std::uint64_t value, int width_bytes);

    std::string data_;
};

}  // namespace cpx::audit
