#include "replay_internal.hpp"

#include <algorithm>
#include <unordered_map>

// This file replays runs of type 4 and 5 rows, each with one aggressor, and checks the
// engine's fills against the recorded executions. It is where the engine and the file
// can disagree about the order of fills, so the repair of such disagreements lives
// here too.

namespace cpx::replay::detail {

// Rows first..last: type 4 and 5 rows of one time and direction, one aggressor.
void Replayer::replay_run(std::size_t first, std::size_t last) {
    const Side side = side_of(messages_[first].direction);  // the resting side
    const Timestamp ts = messages_[first].ts_ns;
    std::map<Price, Quantity> executed;
    std::vector<Quantity> through(last - first + 1);
    Quantity total = 0;
    Price worst = 0;
    // Levels coming into view inside the run are re-synced before the aggressor
    // arrives, since the aggressor may trade there in a later row of the run.
    for (std::size_t j = first; j <= last; ++j) {
        const Message& m = messages_[j];
        if (m.type == MessageType::Execute) {
            ++result_.counters.execution_rows;
            executed[m.price] += m.size;
            worst = total == 0 || better(side, worst, m.price) ? m.price : worst;
            total += m.size;
        } else {
            ++result_.counters.hidden_executions;
        }
        through[j - first] = total;
        read_row(file_.row(j), depth_, shown_);
        const Window now = window_of(shown_, depth_);
        sync_window(j, first, window_, now, shown_, side, &executed, ts);
        window_ = now;
    }

    // The queues the aggressor can reach, as they stand before it arrives.
    std::map<Price, std::vector<Segment>> reachable;
    if (total > 0) {
        const auto snapshot = [&](const auto& level) {
            std::vector<Segment>& queue = reachable[level.first];
            for (const OrderId id : level.second.queue) {
                queue.push_back({id, leaves_of(id)});
            }
        };
        const MirrorSide& levels = mirror(side);
        if (side == Side::Buy) {
            for (auto it = levels.rbegin(); it != levels.rend() && it->first >= worst; ++it) {
                snapshot(*it);
            }
        } else {
            for (auto it = levels.begin(); it != levels.end() && it->first <= worst; ++it) {
                snapshot(*it);
            }
        }
    }

    std::vector<ExpectedFill> expected;
    for (std::size_t j = first; j <= last; ++j) {
        const Message& m = messages_[j];
        if (m.type != MessageType::Execute) {
            continue;
        }
        const bool known = real_order(m.order_id).has_value();
        result_.counters.unknown_id_references += known ? 0 : 1;
        expected.push_back({j, m.order_id, m.price, m.size, known});
    }
    std::vector<Fill> fills;
    if (total > 0) {
        ++result_.counters.aggressor_orders;
        Command c = command(CommandType::NewOrder, ts);
        c.order_id = next_aggressor_++;
        c.side = matching::opposite(side);
        c.price = worst;
        c.quantity = total;
        c.tif = TimeInForce::IOC;
        submit(c, first);
        fills.swap(fills_);
    }
    const std::size_t mismatched = check_fills(expected, fills);
    if (mismatched > 0) {
        explain_and_repair(expected, fills, reachable, mismatched, last, ts);
    }

    // Row j shows the book after the first through[j] shares of the run: the book
    // now, plus whatever the fills after that point took.
    const std::vector<LevelView> resting = engine_.depth(kInstrument, side, depth_);
    const std::vector<LevelView> other =
        engine_.depth(kInstrument, matching::opposite(side), depth_);
    std::vector<LevelView> merged;
    for (std::size_t j = first; j <= last; ++j) {
        std::map<Price, Quantity> back;
        Quantity position = 0;
        const Quantity done = through[j - first];
        for (const Fill& f : fills) {
            const Quantity begin = position;
            position += f.quantity;
            if (position > done) {
                back[f.price] += position - std::max(begin, done);
            }
        }
        for (const LevelView& level : resting) {
            back[level.price] += level.total;
        }
        merged.clear();
        for (const auto& [price, quantity] : back) {
            merged.push_back({price, quantity, 0});
        }
        if (side == Side::Buy) {
            std::reverse(merged.begin(), merged.end());
        }
        if (merged.size() > depth_) {
            merged.resize(depth_);
        }
        if (side == Side::Buy) {
            fill_row(other, merged);
        } else {
            fill_row(merged, other);
        }
        finish_row(j);
    }
}

// After a run whose fills disagree with the file: works out whether the file itself
// broke time priority, and puts the queues back the way the file says they are.
//
// When the engine traded the file's volume at every price of the run, the books
// agree and only the attribution to orders differs. If, at the same price, the file
// fills an order we saw arrive while an order we saw arrive before it, still
// resting, is not filled first, then the file (NASDAQ, or LOBSTER's ordering of
// one moment's messages) departed from price-time priority, and the engine cannot
// and should not reproduce it; those rows are counted as explained. In either case
// each such price's queue is then rebuilt, in its order before the run, with the
// sizes the file's fills leave, so that one disagreement is counted once rather
// than again at every later fill or cancel of the orders involved. The totals do
// not change, so every book row is still the engine's own.
void Replayer::explain_and_repair(const std::vector<ExpectedFill>& expected,
                                  const std::vector<Fill>& fills,
                                  const std::map<Price, std::vector<Segment>>& reachable,
                                  std::size_t mismatched, std::size_t last, Timestamp ts) {
    std::map<Price, Quantity> engine_volume;
    std::map<Price, Quantity> file_volume;
    std::map<Price, Quantity> file_unknown;
    std::unordered_map<OrderId, Quantity> file_filled;
    std::unordered_map<OrderId, std::size_t> first_fill_row;
    for (const Fill& f : fills) {
        engine_volume[f.price] += f.quantity;
    }
    for (const ExpectedFill& e : expected) {
        file_volume[e.price] += e.size;
        if (e.known) {
            file_filled[e.id] += e.size;
            first_fill_row.emplace(e.id, e.row);
        } else {
            file_unknown[e.price] += e.size;
        }
    }
    if (engine_volume != file_volume) {
        return;  // The book rows will show the difference; nothing to repair.
    }
    const Side side = side_of(messages_[expected.front().row].direction);

    bool inversion = false;
    for (const ExpectedFill& e : expected) {
        const auto level = reachable.find(e.price);
        if (!e.known || level == reachable.end()) {
            continue;
        }
        for (const Segment& ahead : level->second) {
            if (ahead.id == e.id) {
                break;
            }
            if (is_synthetic(ahead.id)) {
                continue;
            }
            const auto filled = first_fill_row.find(ahead.id);
            const bool filled_later = filled != first_fill_row.end() && filled->second > e.row;
            const bool untouched_and_alive =
                filled == first_fill_row.end() && lookahead_.named_from(ahead.id, last + 1);
            inversion = inversion || filled_later || untouched_and_alive;
        }
    }
    if (inversion) {
        result_.counters.fill_mismatches_priority_inversion += mismatched;
    }

    for (const auto& [price, before] : reachable) {
        if (file_volume.find(price) == file_volume.end()) {
            continue;
        }
        Quantity unknown = file_unknown[price];
        std::vector<Segment> wanted;
        for (const Segment& order : before) {
            Quantity size = order.size;
            if (is_synthetic(order.id)) {
                const Quantity taken = std::min(size, unknown);
                size -= taken;
                unknown -= taken;
            } else {
                const auto filled = file_filled.find(order.id);
                size -= filled == file_filled.end() ? 0 : std::min(size, filled->second);
            }
            if (size > 0) {
                wanted.push_back({is_synthetic(order.id) ? 0 : order.id, size});
            }
        }
        Quantity wanted_total = 0;
        for (const Segment& segment : wanted) {
            wanted_total += segment.size;
        }
        // A repair that would change the level's total (the file's fills do not fit
        // the orders we hold) is left alone: then the file and the engine disagree
        // about more than the order of fills.
        if (wanted_total == our_total(side, price) &&
            compose(side, price, wanted, ts, expected.front().row)) {
            ++result_.counters.queue_repairs;
        }
    }
}

// The engine's fills must take the recorded rows in order: a known id by a fill of
// that very order, an unknown one by synthetic volume, at the recorded price.
// Returns how many rows disagreed.
std::size_t Replayer::check_fills(const std::vector<ExpectedFill>& expected,
                                  const std::vector<Fill>& fills) {
    std::size_t mismatched = 0;
    std::size_t next = 0;
    Quantity left = fills.empty() ? 0 : fills.front().quantity;
    for (const ExpectedFill& want : expected) {
        ++result_.counters.fills_checked;
        Quantity need = want.size;
        bool ok = true;
        // Text is built by appending: GCC 12 warns falsely (-Wrestrict) on a
        // literal followed by operator+ on temporary strings in this function.
        std::string got;
        while (need > 0) {
            if (next == fills.size()) {
                ok = false;
                got += " (nothing more traded)";
                break;
            }
            const Fill& f = fills[next];
            const bool right_order = want.known ? f.maker == want.id : is_synthetic(f.maker);
            ok = ok && right_order && f.price == want.price;
            const Quantity take = std::min(need, left);
            got.append(" ").append(std::to_string(take)).append("@");
            got.append(std::to_string(f.price)).append(" from ");
            got.append(is_synthetic(f.maker) ? "synthetic " : "").append(std::to_string(f.maker));
            need -= take;
            left -= take;
            if (left == 0 && ++next < fills.size()) {
                left = fills[next].quantity;
            }
        }
        if (!ok) {
            ++mismatched;
            ++result_.counters.fill_mismatches;
            std::string what = want.known ? "execution of order " : "execution of unknown order ";
            what.append(std::to_string(want.id));
            what.append(" for ").append(std::to_string(want.size));
            what.append("@").append(std::to_string(want.price));
            what.append(" was filled by").append(got);
            note(want.row, what);
        }
    }
    return mismatched;
}

}  // namespace cpx::replay::detail
