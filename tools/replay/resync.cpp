#include "replay_internal.hpp"

#include <algorithm>
#include <cstdint>

// This file re-syncs the levels that come into the file's window. It is kept apart
// because a level-L file leaves out events deeper than L levels, so a level coming
// into view is the one place where the replay has to infer what it did not see.

namespace cpx::replay::detail {

// Re-syncs one level that has just come into view to the file's total. `alive_from`
// is the first row whose messages the engine has not seen yet.
//
// Our real orders at the level were last seen while it was in view; since then the
// file may have left out their cancels and partial cancels. One that a later row
// names is certainly still there, at the size the later rows account for when they
// end with its delete. One that no later row names was either cancelled out of view
// or rests untouched to the end; it is never executed, so its volume is moved to
// the back of the queue as synthetic volume: left in place it would stand ahead of
// orders the file does fill. The rest of the file's total is synthetic volume, put
// where the unseen ids that later rows name at this price belong: NASDAQ numbers
// orders in arrival order, so an unseen id sits behind every known order with a
// smaller id. What no later row names goes to the back.
void Replayer::resync_level(Side side, Price price, Quantity target, std::size_t alive_from,
                            Timestamp ts, std::size_t row) {
    const Quantity before = our_total(side, price);
    std::vector<Segment> known;
    Quantity known_total = 0;
    for (const OrderId id : queue_at(side, price)) {
        if (is_synthetic(id) || !lookahead_.named_from(id, alive_from)) {
            continue;
        }
        const Quantity size = lookahead_.accounted_size(id, alive_from, leaves_of(id));
        known.push_back({id, size});
        known_total += size;
    }
    // The file's total is the authority: known orders beyond it are trimmed, the
    // newest first.
    Quantity unseen = target - known_total;
    for (auto it = known.rbegin(); unseen < 0 && it != known.rend(); ++it) {
        const Quantity cut = std::min(it->size, -unseen);
        it->size -= cut;
        unseen += cut;
    }
    std::erase_if(known, [](const Segment& s) { return s.size == 0; });

    std::vector<Quantity> gaps(known.size() + 1, 0);
    for (const auto& [id, size] : lookahead_.unseen_from(side, price, alive_from)) {
        if (unseen == 0) {
            break;
        }
        std::size_t gap = 0;
        while (gap < known.size() && known[gap].id < id) {
            ++gap;
        }
        const Quantity share = std::min(size, unseen);
        gaps[gap] += share;
        unseen -= share;
    }
    gaps.back() += unseen;

    std::vector<Segment> wanted;
    for (std::size_t i = 0; i <= known.size(); ++i) {
        if (gaps[i] > 0) {
            wanted.push_back({0, gaps[i]});
        }
        if (i < known.size()) {
            wanted.push_back(known[i]);
        }
    }
    if (compose(side, price, wanted, ts, row)) {
        ++result_.counters.resync_levels;
        result_.counters.resync_volume +=
            static_cast<std::uint64_t>(target > before ? target - before : before - target);
    }
}

// Makes the queue at a level equal to `wanted`, keeping as much of the current
// queue in place as it can: orders only shrink or leave, and whatever cannot stay
// in place is cancelled and added again at the back, in the wanted order. Returns
// whether anything changed.
bool Replayer::compose(Side side, Price price, const std::vector<Segment>& wanted, Timestamp ts,
                       std::size_t row) {
    bool changed = false;
    std::vector<OrderId> current;
    for (const OrderId id : queue_at(side, price)) {
        const bool stays =
            is_synthetic(id) || std::any_of(wanted.begin(), wanted.end(),
                                            [id](const Segment& s) { return s.id == id; });
        if (stays) {
            current.push_back(id);
        } else {
            cancel(id, ts, row);
            changed = true;
        }
    }
    std::size_t c = 0;
    std::size_t w = 0;
    while (c < current.size() && w < wanted.size()) {
        const Segment& want = wanted[w];
        if (want.id != 0) {
            if (current[c] != want.id) {
                if (!is_synthetic(current[c])) {
                    break;  // The wanted order is missing here: rebuild from this point.
                }
                // Surplus synthetic volume ahead of a wanted order.
                cancel(current[c++], ts, row);
                changed = true;
                continue;
            }
            const Quantity leaves = leaves_of(want.id);
            if (leaves < want.size) {
                break;  // An order cannot grow in place.
            }
            if (leaves > want.size) {
                shrink(*engine_.find_order(want.id), leaves - want.size, ts, row);
                changed = true;
            }
            ++c;
            ++w;
            continue;
        }
        std::size_t end = c;
        Quantity have = 0;
        while (end < current.size() && is_synthetic(current[end]) && have < want.size) {
            have += leaves_of(current[end++]);
        }
        if (have < want.size && (end < current.size() || w + 1 < wanted.size())) {
            break;  // Not enough volume here: rebuild the queue from this point.
        }
        if (have > want.size) {
            shrink(*engine_.find_order(current[end - 1]), have - want.size, ts, row);
            changed = true;
        } else if (have < want.size) {
            add_synthetic(side, price, want.size - have, ts, row);
            changed = true;
        }
        c = end;
        ++w;
    }
    for (; c < current.size(); ++c) {
        cancel(current[c], ts, row);
        changed = true;
    }
    for (; w < wanted.size(); ++w) {
        if (wanted[w].id == 0) {
            add_synthetic(side, price, wanted[w].size, ts, row);
        } else {
            add_resting(wanted[w].id, side, price, wanted[w].size, ts, row);
        }
        changed = true;
    }
    return changed;
}

// Re-syncs every price that enters the window between `before` and `now` (row
// `row` of the file). `executed` (for run_side) holds the shares the current run has
// taken at each price up to this row, which the engine has not traded yet.
void Replayer::sync_window(std::size_t row, std::size_t alive_from, const Window& before,
                           const Window& now, const SideLevels& shown, Side run_side,
                           const std::map<Price, Quantity>* executed, Timestamp ts) {
    for (const Side side : {Side::Buy, Side::Sell}) {
        const bool buy = side == Side::Buy;
        if (buy ? now.bid_floor >= before.bid_floor : now.ask_ceiling <= before.ask_ceiling) {
            continue;
        }
        const auto entering = [&](Price price) {
            return buy ? price >= now.bid_floor && price < before.bid_floor
                       : price <= now.ask_ceiling && price > before.ask_ceiling;
        };
        std::vector<Price> prices;
        const auto& ours = mirror(side);
        auto it = buy ? ours.lower_bound(now.bid_floor) : ours.upper_bound(before.ask_ceiling);
        for (; it != ours.end() && entering(it->first); ++it) {
            prices.push_back(it->first);
        }
        for (const FileLevel& level : shown.of(side)) {
            if (entering(level.price)) {
                prices.push_back(level.price);
            }
        }
        std::sort(prices.begin(), prices.end());
        prices.erase(std::unique(prices.begin(), prices.end()), prices.end());
        for (const Price price : prices) {
            Quantity target = shown.size_at(side, price);
            if (executed != nullptr && side == run_side) {
                const auto done = executed->find(price);
                target += done == executed->end() ? 0 : done->second;
            }
            resync_level(side, price, target, alive_from, ts, row);
        }
    }
}

}  // namespace cpx::replay::detail
