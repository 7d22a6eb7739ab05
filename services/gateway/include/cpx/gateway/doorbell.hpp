#pragma once
// How a thread of the order path waits for work without a lock and without burning a
// core: it may spin a little, then says it is going to sleep and sleeps in the kernel
// (futex) until a producer rings or a deadline passes. On a two-core machine a thread
// that only yields or naps in fixed steps either steals the CPU from the threads doing
// the work or answers late; a futex wake costs one system call, paid only when the
// consumer really sleeps.
//
// The protocol is Dekker's: the sleeper publishes `sleeping`, then looks at its queue
// once more; a producer publishes its item, then looks at `sleeping`. Both sides touch
// `sleeping` with a read-modify-write, so their two operations are ordered one after
// the other and the later one synchronizes with the earlier: either the producer sees
// the sleeper, or the sleeper sees the item. No wake is lost. (Read-modify-writes
// rather than fences, because ThreadSanitizer understands the former only.)

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>

namespace cpx::gateway {

class Doorbell {
  public:
    // Producer, after its item is in the queue.
    void ring() {
        if (sleeping_.fetch_add(0, std::memory_order_acq_rel) != 0) {
            sleeping_.store(0, std::memory_order_relaxed);
            syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&sleeping_), FUTEX_WAKE_PRIVATE, 1,
                    nullptr, nullptr, 0);
        }
    }

    // Consumer: sleeps for at most timeout_ns unless has_work(), checked after the
    // announcement, says there is something to do.
    template <typename HasWork>
    void wait(std::int64_t timeout_ns, HasWork has_work) {
        sleeping_.exchange(1, std::memory_order_acq_rel);
        if (!has_work() && timeout_ns > 0) {
            timespec timeout{};
            timeout.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
            timeout.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
            syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&sleeping_), FUTEX_WAIT_PRIVATE, 1,
                    &timeout, nullptr, 0);
        }
        sleeping_.store(0, std::memory_order_relaxed);
    }

  private:
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
    std::atomic<std::uint32_t> sleeping_{0};
};

}  // namespace cpx::gateway
