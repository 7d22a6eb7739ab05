#pragma once

#include <bit>
#include <cassert>
#include <cstdint>
#include <vector>

namespace cpx::matching::detail {

// A hierarchical bitset over the ticks of a price ladder: bit i is set when the level
// at tick i holds at least one order. Each layer summarises 64 bits of the layer below
// in one bit, so the next occupied level above or below any tick is found in a few
// word operations whatever the depth of the book (4 layers cover 2^22 ticks). This is
// what keeps the cost of a message independent of the number of resting orders.
class LevelBitset {
  public:
    explicit LevelBitset(std::int64_t size_bits) : size_bits_(size_bits) {
        assert(size_bits > 0);
        std::int64_t bits = size_bits;
        do {
            const std::int64_t words = (bits + 63) / 64;
            layers_.emplace_back(static_cast<std::size_t>(words), 0);
            bits = words;
        } while (bits > 1);
    }

    std::int64_t size() const { return size_bits_; }

    bool test(std::int64_t i) const { return (word(0, i >> 6) >> (i & 63)) & 1u; }

    void set(std::int64_t i) {
        for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
            std::uint64_t& w = word(layer, i >> 6);
            const bool was_empty = w == 0;
            w |= std::uint64_t{1} << (i & 63);
            if (!was_empty) {
                return;
            }
            i >>= 6;
        }
    }

    void clear(std::int64_t i) {
        for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
            std::uint64_t& w = word(layer, i >> 6);
            w &= ~(std::uint64_t{1} << (i & 63));
            if (w != 0) {
                return;
            }
            i >>= 6;
        }
    }

    // The lowest set bit at or above i, or -1.
    std::int64_t find_next(std::int64_t i) const {
        if (i < 0) {
            i = 0;
        }
        if (i >= size_bits_) {
            return -1;
        }
        return find_next_in(0, i);
    }

    // The highest set bit at or below i, or -1.
    std::int64_t find_prev(std::int64_t i) const {
        if (i < 0) {
            return -1;
        }
        if (i >= size_bits_) {
            i = size_bits_ - 1;
        }
        return find_prev_in(0, i);
    }

  private:
    std::uint64_t& word(std::size_t layer, std::int64_t w) {
        return layers_[layer][static_cast<std::size_t>(w)];
    }
    std::uint64_t word(std::size_t layer, std::int64_t w) const {
        return layers_[layer][static_cast<std::size_t>(w)];
    }
    std::int64_t words_in(std::size_t layer) const {
        return static_cast<std::int64_t>(layers_[layer].size());
    }

    std::int64_t find_next_in(std::size_t layer, std::int64_t i) const {
        const std::int64_t w = i >> 6;
        if (w >= words_in(layer)) {
            return -1;
        }
        const std::uint64_t masked = word(layer, w) & (~std::uint64_t{0} << (i & 63));
        if (masked != 0) {
            return (w << 6) + std::countr_zero(masked);
        }
        if (layer + 1 == layers_.size()) {
            return -1;
        }
        const std::int64_t above = find_next_in(layer + 1, w + 1);
        if (above < 0) {
            return -1;
        }
        return (above << 6) + std::countr_zero(word(layer, above));
    }

    std::int64_t find_prev_in(std::size_t layer, std::int64_t i) const {
        const std::int64_t w = i >> 6;
        const int bit = static_cast<int>(i & 63);
        const std::uint64_t mask =
            bit == 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (bit + 1)) - 1;
        const std::uint64_t masked = word(layer, w) & mask;
        if (masked != 0) {
            return (w << 6) + 63 - std::countl_zero(masked);
        }
        if (w == 0 || layer + 1 == layers_.size()) {
            return -1;
        }
        const std::int64_t below = find_prev_in(layer + 1, w - 1);
        if (below < 0) {
            return -1;
        }
        return (below << 6) + 63 - std::countl_zero(word(layer, below));
    }

    std::int64_t size_bits_;
    std::vector<std::vector<std::uint64_t>> layers_;
};

}  // namespace cpx::matching::detail
