#include "replay_internal.hpp"

#include <algorithm>
#include <unordered_set>

// This file indexes the later message rows by order id and by price. The level-window
// re-sync consults the index to decide which orders make up a level coming into view.

namespace cpx::replay::detail {

Lookahead::Lookahead(const std::vector<Message>& messages) {
    std::unordered_set<OrderId> added;
    for (const Message& m : messages) {
        if (m.type == MessageType::Add) {
            added.insert(m.order_id);
        }
    }
    for (std::size_t k = 0; k < messages.size(); ++k) {
        const Message& m = messages[k];
        if (m.type != MessageType::PartialCancel && m.type != MessageType::Delete &&
            m.type != MessageType::Execute) {
            continue;
        }
        by_id_[m.order_id].push_back({k, m.size, m.type});
        if (!added.contains(m.order_id)) {
            never_added_[{side_of(m.direction), m.price}].push_back({k, m.order_id, m.size});
        }
    }
}

bool Lookahead::named_from(OrderId id, std::size_t from) const {
    const auto it = by_id_.find(id);
    return it != by_id_.end() && it->second.back().row >= from;
}

// The order's size as the rows from `from` on account for it, when they end with
// its delete (whose size is what was left): every later share is then named.
// Otherwise, or if the rows say more than `leaves`, the order keeps `leaves`.
Quantity Lookahead::accounted_size(OrderId id, std::size_t from, Quantity leaves) const {
    const auto it = by_id_.find(id);
    if (it == by_id_.end() || it->second.back().type != MessageType::Delete) {
        return leaves;
    }
    Quantity later = 0;
    for (const Reference& r : it->second) {
        later += r.row >= from ? r.size : 0;
    }
    return later > 0 && later < leaves ? later : leaves;
}

std::vector<std::pair<OrderId, Quantity>> Lookahead::unseen_from(Side side, Price price,
                                                                 std::size_t from) const {
    std::vector<std::pair<OrderId, Quantity>> out;
    const auto it = never_added_.find({side, price});
    if (it == never_added_.end()) {
        return out;
    }
    const auto& refs = it->second;
    auto ref = std::lower_bound(refs.begin(), refs.end(), from,
                                [](const Unseen& r, std::size_t row) { return r.row < row; });
    for (; ref != refs.end(); ++ref) {
        out.emplace_back(ref->id, ref->size);
    }
    std::sort(out.begin(), out.end());
    std::size_t kept = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (kept > 0 && out[kept - 1].first == out[i].first) {
            out[kept - 1].second += out[i].second;
        } else {
            out[kept++] = out[i];
        }
    }
    out.resize(kept);
    return out;
}

}  // namespace cpx::replay::detail
