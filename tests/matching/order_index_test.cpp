// The order index (id to pool slot) against std::unordered_map. The index's home slot
// is not a fully mixing hash: consecutive ids land three slots apart, and only ids with
// a non-zero upper half have that half hashed in. So the shapes of ids a sequencer or a
// gateway might hand out are each driven through both containers under the churn of
// real flow (new ids arriving, random live ones leaving, at full capacity), and every
// answer must agree, including lookups of ids that have left.

#include <gtest/gtest.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpx/matching/detail/order_index.hpp"
#include "cpx/tools/splitmix64.hpp"
#include "stress.hpp"

namespace {

using cpx::matching::OrderId;
using cpx::matching::detail::OrderIndex;

enum class IdShape {
    Consecutive,      // the sequencer's: 1, 2, 3, ...
    SessionPrefixed,  // a session number in the upper half, a counter in the lower
    Random,           // any non-zero 64-bit value
};

OrderId make_id(IdShape shape, std::uint64_t n, cpx::tools::SplitMix64& rng) {
    switch (shape) {
        case IdShape::Consecutive:
            return n + 1;
        case IdShape::SessionPrefixed:
            return ((n % 7 + 1) << 32) | (n / 7 + 1);
        case IdShape::Random:
            break;
    }
    OrderId id = 0;
    while (id == 0) {
        id = rng.next();
    }
    return id;
}

// Runs `operations` steps on an index sized for `capacity` orders: each step inserts a
// new id while there is room, erases a random live id when the index is full or one
// time in three, and looks up one live id and one id that has left.
void churn_against_a_map(IdShape shape, std::uint32_t capacity, std::uint64_t operations,
                         std::uint64_t seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    cpx::tools::SplitMix64 rng(seed);
    OrderIndex index(capacity);
    std::unordered_map<OrderId, std::uint32_t> model;
    std::vector<OrderId> live;
    std::vector<OrderId> gone;
    std::uint64_t issued = 0;

    for (std::uint64_t step = 0; step < operations; ++step) {
        const bool full = live.size() == capacity;
        if (!full) {
            OrderId id = make_id(shape, issued++, rng);
            while (model.count(id) != 0) {
                id = make_id(shape, issued++, rng);
            }
            const auto slot = static_cast<std::uint32_t>(rng.below(capacity));
            index.insert(id, slot);
            model.emplace(id, slot);
            live.push_back(id);
        }
        if (!live.empty() && (full || rng.below(3) == 0)) {
            const std::size_t at = rng.below(live.size());
            const OrderId id = live[at];
            live[at] = live.back();
            live.pop_back();
            index.erase(id);
            model.erase(id);
            gone.push_back(id);
        }
        if (!live.empty()) {
            const OrderId id = live[rng.below(live.size())];
            ASSERT_EQ(index.find(id), model.at(id)) << "live id " << id << " at step " << step;
        }
        if (!gone.empty()) {
            const OrderId id = gone[rng.below(gone.size())];
            const auto it = model.find(id);
            const std::uint32_t expected = it == model.end() ? OrderIndex::kMissing : it->second;
            ASSERT_EQ(index.find(id), expected) << "departed id " << id << " at step " << step;
        }
    }
    // Every id still live is found, with its own slot.
    for (const OrderId id : live) {
        ASSERT_EQ(index.find(id), model.at(id)) << "live id " << id << " at the end";
    }
}

TEST(OrderIndex, ConsecutiveIdsAgreeWithAMapUnderChurnAtFullCapacity) {
    churn_against_a_map(IdShape::Consecutive, 4096, cpx::testing::scaled(400'000), 1);
}

TEST(OrderIndex, IdsWithAnUpperHalfAgreeWithAMapUnderChurnAtFullCapacity) {
    churn_against_a_map(IdShape::SessionPrefixed, 4096, cpx::testing::scaled(400'000), 2);
}

TEST(OrderIndex, RandomIdsAgreeWithAMapUnderChurnAtFullCapacity) {
    churn_against_a_map(IdShape::Random, 4096, cpx::testing::scaled(400'000), 3);
}

TEST(OrderIndex, IdsThatDifferOnlyInTheUpperHalfAreKeptApart) {
    OrderIndex index(64);
    for (std::uint32_t session = 0; session < 32; ++session) {
        index.insert((std::uint64_t{session} << 32) | 5, session);
    }
    for (std::uint32_t session = 0; session < 32; ++session) {
        EXPECT_EQ(index.find((std::uint64_t{session} << 32) | 5), session);
    }
    index.erase((std::uint64_t{7} << 32) | 5);
    EXPECT_EQ(index.find((std::uint64_t{7} << 32) | 5), OrderIndex::kMissing);
    for (std::uint32_t session = 0; session < 32; ++session) {
        if (session != 7) {
            EXPECT_EQ(index.find((std::uint64_t{session} << 32) | 5), session);
        }
    }
}

}  // namespace
