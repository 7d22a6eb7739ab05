#include "lobster.hpp"

#include <sstream>

// This file turns a replay's result into the text report that cpx-replay prints, kept
// apart from the replay so that the report's wording can change without touching it.

namespace cpx::replay {

std::string format_report(const ReplayResult& r) {
    const ReplayCounters& c = r.counters;
    std::ostringstream out;
    const auto line = [&](const char* name, std::uint64_t value) {
        out << name << ": " << value << '\n';
    };
    line("rows", c.rows);
    line("adds", c.adds);
    line("partial cancels", c.partial_cancels);
    line("deletes", c.deletes);
    line("execution rows", c.execution_rows);
    line("aggressor orders", c.aggressor_orders);
    line("fills checked", c.fills_checked);
    line("hidden executions", c.hidden_executions);
    line("crosses", c.crosses);
    line("halt messages", c.halt_messages);
    line("unknown-id references", c.unknown_id_references);
    line("synthetic orders seeded", c.synthetic_orders_seeded);
    line("re-synced levels", c.resync_levels);
    line("re-synced volume", c.resync_volume);
    line("post-only rejections", c.post_only_rejections);
    line("other rejections", c.other_rejections);
    line("order disagreements", c.order_disagreements);
    line("fill-order mismatches", c.fill_mismatches);
    line("  of which the file broke time priority", c.fill_mismatches_priority_inversion);
    line("queue repairs after fill mismatches", c.queue_repairs);
    line("book-row mismatches", c.book_row_mismatches);
    out << "feed consistent: " << (r.feed_consistent ? "yes" : "NO") << '\n';
    out << "instrument: tick " << r.tick_size << ", prices " << r.price_min << ".." << r.price_max
        << ", order capacity " << r.order_capacity << '\n';
    out << "state hash: " << r.state_hash << '\n';
    out << "elapsed: " << r.seconds << " s\n";
    const double rate = r.seconds > 0 ? static_cast<double>(c.rows) / r.seconds : 0.0;
    out << "messages per second: " << static_cast<std::uint64_t>(rate) << '\n';
    return out.str();
}

}  // namespace cpx::replay
