#include "cpx/gateway/metrics.hpp"

#include <string>

#include "cpx/gateway/pipeline.hpp"
#include "cpx/journal/pg_journal.hpp"
#include "cpx/projector/ledger_projector.hpp"

namespace cpx::gateway {

namespace {

std::vector<std::int64_t> latency_buckets_ns() {
    // 1-2-5 steps from 10 µs to 1 s: the range an order call's latency can take.
    std::vector<std::int64_t> bounds;
    for (std::int64_t decade = 10'000; decade <= 1'000'000'000; decade *= 10) {
        bounds.push_back(decade);
        if (decade < 1'000'000'000) {
            bounds.push_back(decade * 2);
            bounds.push_back(decade * 5);
        }
    }
    return bounds;
}

}  // namespace

GatewayMetrics::GatewayMetrics(ops::Registry& registry)
    : commands_in(registry.register_counter("cpx_commands_total",
                                            "Order commands received (unary and stream).")),
      acknowledgements(registry.register_counter(
          "cpx_acknowledgements_total", "Order commands answered with an accepted report.")),
      queue_full(registry.register_counter(
          "cpx_queue_full_total", "Unary calls refused because the request queue was full.")),
      unauthenticated(
          registry.register_counter("cpx_unauthenticated_total", "Calls without an API key.")),
      streams_opened(
          registry.register_counter("cpx_streams_opened_total", "Order-entry streams opened.")),
      streams_closed(
          registry.register_counter("cpx_streams_closed_total", "Order-entry streams closed.")),
      trades(registry.register_counter("cpx_trades_total", "Trades executed.")),
      order_latency_ns(registry.register_histogram(
          "cpx_order_latency_ns", "Unary order calls, from receipt to answer, in nanoseconds.",
          latency_buckets_ns())) {
    ops::Counter& other = registry.register_counter(
        "cpx_rejects_total", "Commands refused, by reason.", {{"reason", "OTHER"}});
    rejects_by_code.fill(&other);
    for (std::size_t value = 1; value < rejects_by_code.size(); ++value) {
        const auto code = static_cast<exchange::Code>(value);
        const std::string_view name = exchange::code_name(code);
        if (name == "UNKNOWN_REASON" || name == "UNKNOWN_CODE" ||
            exchange::status_of(code) == exchange::StatusCode::Ok) {
            continue;
        }
        rejects_by_code[value] = &registry.register_counter(
            "cpx_rejects_total", "Commands refused, by reason.", {{"reason", std::string(name)}});
    }
}

void GatewayMetrics::watch(ops::Registry& registry, const Pipeline& pipeline) {
    registry.register_callback_gauge(
        "cpx_queue_depth", "Records waiting in a queue of the order path.", {{"queue", "requests"}},
        [&pipeline] { return static_cast<std::int64_t>(pipeline.request_queue_depth()); });
    registry.register_callback_gauge(
        "cpx_queue_depth", "Records waiting in a queue of the order path.", {{"queue", "outbound"}},
        [&pipeline] { return static_cast<std::int64_t>(pipeline.outbound_queue_depth()); });
    registry.register_callback_gauge(
        "cpx_requests_applied", "Requests the exchange has applied since start.", {},
        [&pipeline] { return static_cast<std::int64_t>(pipeline.requests_applied()); });
    registry.register_callback_gauge(
        "cpx_queue_depth", "Records waiting in a queue of the order path.", {{"queue", "held"}},
        [&pipeline] { return static_cast<std::int64_t>(pipeline.held_depth()); });
    registry.register_callback_gauge(
        "cpx_dispatch_rounds", "Rounds of requests answered, by the thread that answered them.",
        {{"on", "sequencer"}},
        [&pipeline] { return static_cast<std::int64_t>(pipeline.rounds_answered_inline()); });
    registry.register_callback_gauge(
        "cpx_dispatch_rounds", "Rounds of requests answered, by the thread that answered them.",
        {{"on", "dispatcher"}},
        [&pipeline] { return static_cast<std::int64_t>(pipeline.rounds_handed_off()); });
}

void GatewayMetrics::watch(ops::Registry& registry, const journal::PgJournal& journal) {
    const auto gauge = [&](const char* name, const char* help, auto read) {
        registry.register_callback_gauge(name, help, {},
                                         [read] { return static_cast<std::int64_t>(read()); });
    };
    gauge("cpx_journal_durable_seq", "The last journal sequence number known durable.",
          [&journal] { return journal.durable_seq(); });
    gauge("cpx_journal_commits", "Group commits of the journal since start.",
          [&journal] { return journal.stats().commits.load(std::memory_order_relaxed); });
    gauge("cpx_journal_records", "Requests the journal has committed since start.",
          [&journal] { return journal.stats().records.load(std::memory_order_relaxed); });
    gauge("cpx_journal_bytes", "Bytes of COPY rows the journal has committed since start.",
          [&journal] { return journal.stats().bytes.load(std::memory_order_relaxed); });
    gauge("cpx_journal_failures", "Journal writes that failed and were retried.",
          [&journal] { return journal.stats().failures.load(std::memory_order_relaxed); });
    gauge("cpx_journal_batch_records_max", "The largest group commit, in requests.",
          [&journal] { return journal.stats().batch_records_max.load(std::memory_order_relaxed); });
    gauge("cpx_journal_connected", "1 while the journal's last write succeeded.",
          [&journal] { return journal.connected() ? 1 : 0; });
}

void GatewayMetrics::watch(ops::Registry& registry, const projector::LedgerProjector& projector,
                           const journal::PgJournal& journal) {
    const auto gauge = [&](const char* name, const char* help, auto read) {
        registry.register_callback_gauge(name, help, {},
                                         [read] { return static_cast<std::int64_t>(read()); });
    };
    gauge("cpx_projector_seq",
          "The last journal sequence number whose ledger and obligations are in PostgreSQL.",
          [&projector] { return projector.projected_seq(); });
    gauge("cpx_projector_lag_requests",
          "Durable journalled requests the ledger projector has not written yet.",
          [&projector, &journal] {
              const std::uint64_t durable = journal.durable_seq();
              const std::uint64_t projected = projector.projected_seq();
              return durable > projected ? durable - projected : 0;
          });
    gauge("cpx_projector_failures",
          "Projector batches, reads or snapshots that failed and were "
          "retried.",
          [&projector] { return projector.stats().failures.load(std::memory_order_relaxed); });
}

}  // namespace cpx::gateway
