#pragma once
// The gateway's two clocks. The wall clock stamps what the record keeps (the sequencer's
// time, a command's receipt), since an auditor compares it with other systems' times;
// the steady clock measures latencies, which a step of the wall clock must not distort.

#include <chrono>
#include <cstdint>

namespace cpx::gateway {

inline std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace cpx::gateway
