#include "cpx/audit/chain.hpp"

#include <cassert>
#include <limits>

namespace cpx::audit {

Digest chain_next(const Digest& previous, std::string_view record) {
    return sha256({as_bytes(previous), record});
}

HashChain::HashChain(const Digest& head, std::uint64_t count) : head_(head), count_(count) {
    assert(count > 0 || head == kChainGenesis);
}

Digest HashChain::append(std::string_view record) {
    assert(count_ < std::numeric_limits<std::uint64_t>::max());
    head_ = chain_next(head_, record);
    ++count_;
    return head_;
}

void CanonicalWriter::put_big_endian(std::uint64_t value, int width_bytes) {
    assert(width_bytes >= 1 && width_bytes <= 8);
    for (int shift_bits = 8 * (width_bytes - 1); shift_bits >= 0; shift_bits -= 8) {
        data_.push_back(static_cast<char>((value >> shift_bits) & 0xFF));
    }
}

CanonicalWriter& CanonicalWriter::u8(std::uint8_t value) {
    put_big_endian(value, 1);
    return *this;
}

CanonicalWriter& CanonicalWriter::u16(std::uint16_t value) {
    put_big_endian(value, 2);
    return *this;
}

CanonicalWriter& CanonicalWriter::u32(std::uint32_t value) {
    put_big_endian(value, 4);
    return *this;
}

CanonicalWriter& CanonicalWriter::u64(std::uint64_t value) {
    put_big_endian(value, 8);
    return *this;
}

CanonicalWriter& CanonicalWriter::i64(std::int64_t value) {
    put_big_endian(static_cast<std::uint64_t>(value), 8);
    return *this;
}

CanonicalWriter& CanonicalWriter::bytes(std::string_view value) {
    // No field of the record comes near 4 GiB; a longer one is a bug in the caller, and
    // truncating its length would make two records share an encoding.
    assert(value.size() <= std::numeric_limits<std::uint32_t>::max());
    u32(static_cast<std::uint32_t>(value.size()));
    data_.append(value);
    return *this;
}

CanonicalWriter& CanonicalWriter::digest(const Digest& value) {
    data_.append(as_bytes(value));
    return *this;
}

}  // namespace cpx::audit
