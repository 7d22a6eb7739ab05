#pragma once

#include <cstdint>
#include <vector>

namespace cpx::demo {

// SplitMix64 (Steele, Lea and Flood, 2014). The demo carries its own generator instead of
// std::mt19937_64 with std::uniform_int_distribution because the standard leaves the
// distributions' algorithms to each library: with this one, a seed gives the same market
// byte for byte with any compiler and standard library. Only integers come out of it.
class Prng {
  public:
    explicit Prng(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        state_ += 0x9E3779B97F4A7C15ull;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // Uniform in [0, bound) for bound > 0. A draw in the incomplete last block of 2^64
    // values is drawn again, so that no result is more likely than another.
    std::uint64_t below(std::uint64_t bound) {
        const std::uint64_t reject_under = (std::uint64_t{0} - bound) % bound;
        for (;;) {
            const std::uint64_t x = next();
            if (x >= reject_under) {
                return x % bound;
            }
        }
    }

    // Uniform in [lo, hi], both included, for lo <= hi.
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
        return lo + static_cast<std::int64_t>(below(span));
    }

    // True with probability percent / 100.
    bool chance(std::uint64_t percent) { return below(100) < percent; }

    template <typename T>
    const T& pick(const std::vector<T>& items) {
        return items[below(items.size())];
    }

  private:
    std::uint64_t state_;
};

}  // namespace cpx::demo
