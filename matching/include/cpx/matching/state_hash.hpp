#pragma once

#include <cstdint>

namespace cpx::matching {

// A 64-bit FNV-1a hash over a canonical sequence of integers. The engine feeds it the
// content of its books in priority order (never addresses, slots or capacities), so
// two books holding the same orders in the same priority hash the same whatever their
// internal layout: the fast book and the reference book are compared this way, and
// recovery by replay checks itself against a recorded hash.
class StateHasher {
  public:
    void add(std::uint64_t value) {
        for (int i = 0; i < 8; ++i) {
            hash_ ^= (value >> (8 * i)) & 0xFFu;
            hash_ *= 0x100000001B3ull;
        }
    }
    void add_signed(std::int64_t value) { add(static_cast<std::uint64_t>(value)); }
    std::uint64_t value() const { return hash_; }

  private:
    std::uint64_t hash_ = 0xCBF29CE484222325ull;
};

}  // namespace cpx::matching
