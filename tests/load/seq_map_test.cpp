#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "cpx/tools/splitmix64.hpp"
#include "load/seq_map.hpp"

namespace {

using cpx::load::SeqMap;

// Random inserts, finds and erases, mostly of a sliding window of consecutive numbers as
// the load generator's commands are, checked against std::unordered_map after every
// step; the window widens so that the table grows several times.
TEST(LoadSeqMap, AgreesWithAStandardMapThroughGrowthAndErasure) {
    SeqMap<std::uint64_t> map;
    std::unordered_map<std::uint64_t, std::uint64_t> model;
    cpx::tools::SplitMix64 random(20261201);
    std::uint64_t next = 1;
    std::size_t size_max = 0;
    for (int step = 0; step < 200'000; ++step) {
        const std::uint64_t span = 16 + static_cast<std::uint64_t>(step) / 20;
        const std::uint64_t roll = random.next() % 10;
        if (roll < 5) {
            const std::uint64_t key = next++;
            const std::uint64_t value = random.next();
            ASSERT_EQ(map.insert(key, value), model.emplace(key, value).second);
        } else if (roll < 6) {
            // A key already present keeps its value.
            const std::uint64_t key = next - 1 - random.next() % std::min(next - 1, span);
            if (key != 0) {
                ASSERT_EQ(map.insert(key, 7), model.emplace(key, 7).second);
            }
        } else {
            const std::uint64_t key = next - random.next() % std::min(next, span + 4);
            if (key == 0) {
                continue;
            }
            const auto it = model.find(key);
            const std::uint64_t* found = map.find(key);
            ASSERT_EQ(found != nullptr, it != model.end()) << "key " << key;
            if (found != nullptr) {
                ASSERT_EQ(*found, it->second);
            }
            if (roll < 9) {
                ASSERT_EQ(map.erase(key), model.erase(key) == 1);
            }
        }
        ASSERT_EQ(map.size(), model.size());
        size_max = std::max(size_max, model.size());
    }
    // The table (1,024 slots at first, doubling when half full) grew several times, and
    // every key the model holds is found.
    EXPECT_GT(size_max, 4096u);
    for (const auto& [key, value] : model) {
        const std::uint64_t* found = map.find(key);
        ASSERT_NE(found, nullptr);
        EXPECT_EQ(*found, value);
    }
    map.clear();
    EXPECT_EQ(map.size(), 0u);
    EXPECT_EQ(map.find(1), nullptr);
}

}  // namespace
