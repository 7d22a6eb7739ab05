#pragma once
// What cpxd counts for /metrics (Prometheus): commands in, acknowledgements, refusals
// by reason, trades, queue depths and latencies. Every update is a relaxed atomic add,
// so the order path takes no lock.

#include <array>
#include <cstdint>

#include "cpx/exchange/status.hpp"
#include "cpx/ops/metrics.hpp"

namespace cpx::journal {
class PgJournal;
}
namespace cpx::projector {
class LedgerProjector;
}

namespace cpx::gateway {

class Pipeline;

struct GatewayMetrics {
    explicit GatewayMetrics(ops::Registry& registry);
    // Registers the gauges that read the pipeline's queues at each scrape.
    void watch(ops::Registry& registry, const Pipeline& pipeline);
    // The journal's progress: its durable sequence number, commits, failures.
    void watch(ops::Registry& registry, const journal::PgJournal& journal);
    // The ledger projector's progress, and how far it is behind the journal.
    void watch(ops::Registry& registry, const projector::LedgerProjector& projector,
               const journal::PgJournal& journal);

    void reject(exchange::Code code) {
        const auto index = static_cast<std::size_t>(code);
        rejects_by_code[index < rejects_by_code.size() ? index : 0]->add();
    }

    ops::Counter& commands_in;
    ops::Counter& acknowledgements;
    ops::Counter& queue_full;
    ops::Counter& unauthenticated;
    ops::Counter& streams_opened;
    ops::Counter& streams_closed;
    ops::Counter& trades;
    // From receipt of a unary order call to its answer, in nanoseconds.
    ops::Histogram& order_latency_ns;
    std::array<ops::Counter*, 512> rejects_by_code{};
};

}  // namespace cpx::gateway
