#pragma once

#include <cstdint>
#include <vector>

namespace cpx::tools {

// SplitMix64 (Steele, Lea and Flood, 2014), the one generator of the simulations,
// benchmarks and randomized tests. They carry their own instead of <random>'s
// distributions because the standard leaves those algorithms to each library: with this
// one a seed gives the same sequence with any compiler and standard library, so a
// failing seed replays anywhere. Only integers come out of it.
class SplitMix64 {
  public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

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

    // True with probability p / 100, and p / 1000.
    bool percent(std::uint64_t p) { return below(100) < p; }
    bool per_mille(std::uint64_t p) { return below(1000) < p; }

    template <typename T>
    const T& pick(const std::vector<T>& items) {
        return items[below(items.size())];
    }

  private:
    std::uint64_t state_;
};

}  // namespace cpx::tools
