// A stream's ring of outgoing messages, between the thread that fills them (the
// dispatcher) and the thread that learns a write is done (gRPC's): every message is
// written once, in order, and the messages of completed writes are filled again, the
// one written last first. Here a thread of the test plays gRPC: it reads the message a
// write started with, then completes the write.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

#include "cpx/gateway/write_ring.hpp"
#include "cpx/v1/orders.pb.h"
#include "stress.hpp"

namespace cpx::gateway {
namespace {

using Batch = cpx::v1::ReportBatch;

// The writes of one ring: start_write hands the message over, the writer thread reads
// it and completes the write, as gRPC would.
struct Writes {
    std::atomic<const Batch*> started{nullptr};
    std::atomic<bool> finished{false};
    std::vector<std::uint64_t> seqs;  // the writer thread's, read after it joined
    std::set<const Batch*> objects;
};

WriteRing<Batch> make_ring(std::size_t slots, Writes& writes) {
    return WriteRing<Batch>(
        slots, [&writes](const Batch* m) { writes.started.store(m, std::memory_order_release); },
        [&writes](const grpc::Status&) { writes.finished.store(true, std::memory_order_release); });
}

std::thread writer(WriteRing<Batch>& ring, Writes& writes) {
    return std::thread([&ring, &writes] {
        while (true) {
            const Batch* m = writes.started.exchange(nullptr, std::memory_order_acquire);
            if (m != nullptr) {
                for (const cpx::v1::ExecutionReport& r : m->reports()) {
                    writes.seqs.push_back(r.session_seq());
                }
                writes.objects.insert(m);
                ring.on_write_done();
                continue;
            }
            if (writes.finished.load(std::memory_order_acquire)) {
                return;
            }
            std::this_thread::yield();
        }
    });
}

TEST(WriteRing, EveryMessageIsWrittenOnceInOrderWhileTheProducerRunsAhead) {
    constexpr std::size_t kSlots = 8;
    const auto messages = cpx::testing::scaled(50'000);
    Writes writes;
    WriteRing<Batch> ring = make_ring(kSlots, writes);
    std::thread grpc_thread = writer(ring, writes);
    std::uint64_t next = 0;
    std::uint64_t full = 0;
    while (next < messages) {
        Batch* m = ring.producing();
        if (m == nullptr) {
            ++full;  // every slot waits to be written
            std::this_thread::yield();
            continue;
        }
        // Messages of one to three reports, so that reused ones shrink and grow.
        ASSERT_EQ(m->reports_size(), 0);
        for (std::uint64_t k = 0; k <= next % 3 && next < messages; ++k) {
            m->add_reports()->set_session_seq(next++);
        }
        ring.publish();
    }
    ring.finish(grpc::Status::OK);
    grpc_thread.join();

    ASSERT_EQ(writes.seqs.size(), messages);
    for (std::uint64_t i = 0; i < messages; ++i) {
        ASSERT_EQ(writes.seqs[i], i);
    }
    EXPECT_LE(writes.objects.size(), kSlots);
    std::printf("ring full %llu times, %zu messages used\n", static_cast<unsigned long long>(full),
                writes.objects.size());
}

TEST(WriteRing, AStreamWhoseWritesKeepUpFillsOneMessageAgainAndAgain) {
    Writes writes;
    WriteRing<Batch> ring = make_ring(256, writes);
    std::thread grpc_thread = writer(ring, writes);
    for (std::uint64_t i = 0; i < 1000; ++i) {
        Batch* m = ring.producing();
        ASSERT_NE(m, nullptr);
        m->add_reports()->set_session_seq(i);
        ring.publish();
        while (ring.queued() != 0) {
            std::this_thread::yield();
        }
    }
    ring.finish(grpc::Status::OK);
    grpc_thread.join();

    ASSERT_EQ(writes.seqs.size(), 1000u);
    // The message written last is the next one filled: one message, always in the cache,
    // where cycling through the ring would have touched all 256.
    EXPECT_EQ(writes.objects.size(), 1u);
}

}  // namespace
}  // namespace cpx::gateway
