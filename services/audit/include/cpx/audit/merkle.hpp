#pragma once
// The Merkle tree of the audit record, exactly as RFC 9162 (Certificate Transparency
// version 2.0, section 2.1) and RFC 6962 define it, with SHA-256:
//
//   MTH({})       = SHA-256()                                   the empty tree
//   MTH({d0})     = SHA-256(0x00 || d0)                         a leaf
//   MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) for n > 1, where k is
//                   the largest power of two smaller than n
//
// The distinct leaf and node prefixes keep a leaf from passing for a node. Functions here
// take leaf hashes (SHA-256(0x00 || leaf), see leaf_hash), not leaves, so that the
// writer hashes each record once. Proofs are the RFC's: an inclusion proof (audit path)
// lists the sibling hashes from the leaf up to the root; a consistency proof shows that a
// tree of old_size leaves is a prefix of a tree of new_size leaves. The verifiers follow
// RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step, and reject every malformed input
// (index >= size, old_size > new_size, a proof too short or too long) with false; they
// never read outside the proof.
//
// MerkleAccumulator computes the same root incrementally with O(log n) state, for the
// writer that appends millions of leaves between checkpoints.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "cpx/audit/sha256.hpp"

namespace cpx::audit {

// SHA-256(0x00 || leaf).
Digest leaf_hash(std::string_view leaf);

// SHA-256(0x01 || left || right).
Digest node_hash(const Digest& left, const Digest& right);

// The root of the empty tree: SHA-256 of the empty string.
Digest empty_root();

// MTH over the leaf hashes (leaf_hashes[i] is the hash of leaf i).
Digest root(std::span<const Digest> leaf_hashes);

// The inclusion proof of leaf `index` in the tree of all `leaf_hashes` (RFC 9162
// section 2.1.3.1), ordered from the leaf's sibling up. Requires index < size.
std::vector<Digest> inclusion_proof(std::span<const Digest> leaf_hashes, std::uint64_t index);

// RFC 9162 section 2.1.3.2: true when `proof` shows that the leaf whose hash is
// `leaf_hash` is leaf `index` of a tree of `tree_size` leaves whose root is `root`.
//
// Like every Merkle audit path, a proof binds the tree size only through the shape of the
// path: where two sizes give the leaf the same path, one proof serves both. The size is
// authenticated by the signed checkpoint that carries it with the root.
bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const Digest& leaf_hash,
                      std::span<const Digest> proof, const Digest& root);

// The consistency proof between the tree of the first `old_size` leaf hashes and the tree
// of all of them (RFC 9162 section 2.1.4.1). Requires old_size <= size. The proof is empty
// when old_size is 0 or equal to the size: there is nothing to prove.
std::vector<Digest> consistency_proof(std::span<const Digest> leaf_hashes, std::uint64_t old_size);

// RFC 9162 section 2.1.4.2 for 0 < old_size < new_size. The cases the RFC leaves to the
// caller: old_size == new_size is consistent when the proof is empty and the roots are
// equal; old_size == 0 is consistent when the proof is empty and old_root is the empty
// tree's root (and, if new_size is 0 too, new_root as well). old_size > new_size is false.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Digest& old_root,
                        const Digest& new_root, std::span<const Digest> proof);

// The root of a growing tree, from the roots of its perfect subtrees (a "compact range"):
// a tree of n leaves is a sequence of perfect subtrees, one for each set bit of n, largest
// (leftmost) first. Appending a leaf merges the equal-sized subtrees at the right end, as
// a binary counter carries; the root folds the subtrees from the right. At most 64
// subtrees, so it never allocates.
class MerkleAccumulator {
  public:
    MerkleAccumulator() = default;

    // Resumes from count() and peaks() saved earlier. Returns false (and leaves `out`
    // unchanged) unless there is exactly one peak per set bit of `count`.
    static bool restore(std::uint64_t count, std::span<const Digest> peaks, MerkleAccumulator& out);

    void append(const Digest& leaf_hash);

    // As append(), and hands every perfect subtree that the leaf completes, smallest
    // first, to on_subtree(level, index, root): the subtree of leaves
    // [index * 2^level, (index + 1) * 2^level), level >= 1. A writer stores some of them
    // so that proofs over a large tree never read all of its leaves (tree_source.hpp).
    template <typename OnSubtree>
    void append(const Digest& leaf_hash, OnSubtree&& on_subtree);

    // MTH of the leaves appended so far (empty_root() when none).
    Digest root() const;

    std::uint64_t count() const { return count_; }

    // The perfect subtrees' roots, leftmost (largest) first.
    std::span<const Digest> peaks() const { return {peaks_.data(), peak_count_}; }

  private:
    std::array<Digest, 64> peaks_{};
    std::size_t peak_count_ = 0;
    std::uint64_t count_ = 0;
};

template <typename OnSubtree>
void MerkleAccumulator::append(const Digest& leaf_hash, OnSubtree&& on_subtree) {
    // Each trailing one bit of count_ is a perfect subtree as large as the one being
    // built: merge them, as a binary counter carries.
    const std::uint64_t position = count_;
    Digest node = leaf_hash;
    std::uint32_t level = 0;
    for (std::uint64_t n = count_; (n & 1) != 0; n >>= 1) {
        --peak_count_;
        node = node_hash(peaks_[peak_count_], node);
        ++level;
        on_subtree(level, position >> level, node);
    }
    peaks_[peak_count_] = node;
    ++peak_count_;
    ++count_;
}

}  // namespace cpx::audit
