// The ring between the sequencer and the journal writer: records of every size, written
// by one thread and read by another, arrive whole, in order and exactly once, also
// when they wrap around the end of the buffer and when the writer finds it full. Run
// under ThreadSanitizer in scripts/test.sh.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>

#include "cpx/journal/record_ring.hpp"
#include "stress.hpp"

namespace cpx::journal {
namespace {

// The body of record n: its length and bytes follow from n alone, so the reader can
// check every byte without sharing anything with the writer.
std::string body_of(std::uint64_t n) {
    std::string body(static_cast<std::size_t>((n * 2654435761u) % 700), '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>((n + i * 31) & 0xFF);
    }
    return body;
}

TEST(RecordRing, RecordsCrossThreadsWholeInOrderAndOnce) {
    const std::uint64_t records = cpx::testing::scaled(200'000);
    RecordRing ring(4096);  // small, so that records wrap and the writer meets a full ring
    std::thread writer([&] {
        for (std::uint64_t n = 1; n <= records; ++n) {
            const std::string body = body_of(n);
            RecordHeader h{};
            h.seq = n;
            h.ts_ns = static_cast<std::int64_t>(n * 10);
            h.kind = static_cast<std::uint16_t>(n % 100);
            h.body_bytes = static_cast<std::uint32_t>(body.size());
            while (!ring.try_write(h, body)) {
                std::this_thread::yield();
            }
        }
    });
    RecordHeader h{};
    std::string body;
    std::uint64_t next = 1;
    while (next <= records) {
        if (!ring.try_read(h, body)) {
            std::this_thread::yield();
            continue;
        }
        ASSERT_EQ(h.seq, next);
        ASSERT_EQ(h.ts_ns, static_cast<std::int64_t>(next * 10));
        ASSERT_EQ(h.kind, next % 100);
        ASSERT_EQ(body, body_of(next));
        ++next;
    }
    writer.join();
    EXPECT_TRUE(ring.empty());
}

TEST(RecordRing, AFullRingRefusesARecordAndTakesItOnceRead) {
    RecordRing ring(4096);
    RecordHeader h{};
    const std::string body(1000, 'x');
    h.body_bytes = 1000;
    int written = 0;
    while (ring.try_write(h, body)) {
        ++h.seq;
        ++written;
    }
    EXPECT_EQ(written, 4096 / (1000 + static_cast<int>(sizeof(RecordHeader))));
    std::string out;
    RecordHeader read{};
    ASSERT_TRUE(ring.try_read(read, out));
    EXPECT_EQ(read.seq, 0u);
    EXPECT_TRUE(ring.try_write(h, body));
}

}  // namespace
}  // namespace cpx::journal
