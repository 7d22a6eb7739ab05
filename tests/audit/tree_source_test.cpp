// Proofs from stored subtrees (cpx/audit/tree_source.hpp) against the in-memory proofs of
// merkle.hpp, which are themselves checked against the Certificate Transparency vectors:
// every tree size up to 70, every leaf and every old size, with a source that counts how
// many subtrees a proof asks for; and the subtrees MerkleAccumulator hands its writer.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cpx/audit/merkle.hpp"
#include "cpx/audit/tree_source.hpp"

namespace cpx::audit {
namespace {

std::vector<Digest> leaves(std::uint64_t n) {
    std::vector<Digest> out;
    for (std::uint64_t i = 0; i < n; ++i) {
        out.push_back(leaf_hash("leaf " + std::to_string(i)));
    }
    return out;
}

// Answers from the leaves themselves, and counts the questions.
class MemorySource final : public SubtreeSource {
  public:
    explicit MemorySource(std::vector<Digest> leaf_hashes) : leaves_(std::move(leaf_hashes)) {}
    Digest perfect_subtree(std::uint32_t level, std::uint64_t index) override {
        ++asked;
        const std::uint64_t size = std::uint64_t{1} << level;
        EXPECT_LE((index + 1) * size, leaves_.size()) << "asked past the tree";
        return audit::root(std::span(leaves_).subspan(index * size, size));
    }
    int asked = 0;

  private:
    std::vector<Digest> leaves_;
};

TEST(TreeSource, RootsAndProofsEqualTheInMemoryOnesForEveryTreeUpTo70Leaves) {
    const std::vector<Digest> all = leaves(70);
    MemorySource source(all);
    for (std::uint64_t n = 0; n <= all.size(); ++n) {
        const std::span<const Digest> tree = std::span(all).first(n);
        ASSERT_EQ(root(source, n), audit::root(tree)) << n;
        for (std::uint64_t m = 0; m < n; ++m) {
            ASSERT_EQ(inclusion_proof(source, m, n), audit::inclusion_proof(tree, m))
                << m << "/" << n;
        }
        for (std::uint64_t m = 0; m <= n; ++m) {
            ASSERT_EQ(consistency_proof(source, m, n), audit::consistency_proof(tree, m))
                << m << " to " << n;
        }
    }
}

TEST(TreeSource, AProofAsksForOneSubtreePerLevelOfTheTreeAtMost) {
    const std::vector<Digest> all = leaves(1'000);
    MemorySource source(all);
    for (const std::uint64_t m : {0u, 1u, 499u, 511u, 512u, 998u, 999u}) {
        source.asked = 0;
        const std::vector<Digest> proof = inclusion_proof(source, m, 1'000);
        EXPECT_TRUE(verify_inclusion(m, 1'000, all[m], proof, audit::root(all)));
        // A sibling that is not a perfect subtree is made of one per set bit of its size.
        EXPECT_LE(source.asked, 2 * std::bit_width(std::uint64_t{1'000})) << m;
    }
}

TEST(TreeSource, TheAccumulatorHandsOverEveryPerfectSubtreeItCompletes) {
    const std::vector<Digest> all = leaves(300);
    MerkleAccumulator tree;
    std::map<std::pair<std::uint32_t, std::uint64_t>, Digest> subtrees;
    for (const Digest& leaf : all) {
        tree.append(leaf, [&](std::uint32_t level, std::uint64_t index, const Digest& root) {
            EXPECT_TRUE(subtrees.emplace(std::pair(level, index), root).second)
                << "subtree " << level << "/" << index << " handed over twice";
        });
    }
    // Level L has floor(300 / 2^L) complete subtrees, each with its true root.
    std::size_t expected = 0;
    for (std::uint32_t level = 1; (std::uint64_t{1} << level) <= all.size(); ++level) {
        const std::uint64_t size = std::uint64_t{1} << level;
        for (std::uint64_t index = 0; (index + 1) * size <= all.size(); ++index) {
            ++expected;
            const auto it = subtrees.find({level, index});
            ASSERT_NE(it, subtrees.end()) << level << "/" << index;
            EXPECT_EQ(it->second, audit::root(std::span(all).subspan(index * size, size)));
        }
    }
    EXPECT_EQ(subtrees.size(), expected);
    EXPECT_EQ(tree.root(), audit::root(all));
}

}  // namespace
}  // namespace cpx::audit
