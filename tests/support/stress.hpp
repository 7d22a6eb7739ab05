#pragma once

// Shared helpers for the queue stress tests: the CPX_TEST_SCALE knob, a deadline, and
// a mixing function to derive checkable payloads from sequence numbers.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>

namespace cpx::testing {

// CPX_TEST_SCALE shrinks (or grows) the stress tests' item counts, so that the much
// slower sanitizer builds can run the same tests in reasonable time.
inline double test_scale() {
    const char* text = std::getenv("CPX_TEST_SCALE");
    if (text == nullptr) {
        return 1.0;
    }
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || !(value > 0.0)) {
        return 1.0;
    }
    return std::clamp(value, 0.01, 10.0);
}

inline std::uint64_t scaled(std::uint64_t base) {
    const double count = static_cast<double>(base) * test_scale();
    return std::max<std::uint64_t>(1000, static_cast<std::uint64_t>(count));
}

// A stress test that has not finished by then has lost items or deadlocked; it fails
// instead of hanging the test run.
constexpr std::chrono::seconds kStressDeadline{120};

inline std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

}  // namespace cpx::testing
