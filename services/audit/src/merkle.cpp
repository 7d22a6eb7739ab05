#include "cpx/audit/merkle.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <limits>

namespace cpx::audit {

namespace {

constexpr char kLeafPrefix = '\x00';
constexpr char kNodePrefix = '\x01';

// k of RFC 9162 section 2.1.1: the largest power of two smaller than n, for n >= 2.
std::size_t split(std::size_t n) {
    assert(n >= 2);
    return std::bit_floor(n - 1);
}

// MTH over a non-empty range of leaf hashes. The recursion is as deep as the tree (at
// most 64 levels).
Digest subtree_root(std::span<const Digest> leaf_hashes) {
    assert(!leaf_hashes.empty());
    if (leaf_hashes.size() == 1) {
        return leaf_hashes[0];
    }
    const std::size_t k = split(leaf_hashes.size());
    return node_hash(subtree_root(leaf_hashes.first(k)), subtree_root(leaf_hashes.subspan(k)));
}

// PATH(m, D[n]) of RFC 9162 section 2.1.3.1, appended to `proof` from the leaf up.
void append_path(std::size_t m, std::span<const Digest> leaf_hashes, std::vector<Digest>& proof) {
    assert(m < leaf_hashes.size());
    if (leaf_hashes.size() == 1) {
        return;
    }
    const std::size_t k = split(leaf_hashes.size());
    if (m < k) {
        append_path(m, leaf_hashes.first(k), proof);
        proof.push_back(subtree_root(leaf_hashes.subspan(k)));
    } else {
        append_path(m - k, leaf_hashes.subspan(k), proof);
        proof.push_back(subtree_root(leaf_hashes.first(k)));
    }
}

// SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1, for 0 < m <= n. `b` says whether the
// subtree D[0:m] is the old tree itself, whose root the verifier already holds.
void append_subproof(std::size_t m, std::span<const Digest> leaf_hashes, bool b,
                     std::vector<Digest>& proof) {
    const std::size_t n = leaf_hashes.size();
    assert(m > 0 && m <= n);
    if (m == n) {
        if (!b) {
            proof.push_back(subtree_root(leaf_hashes));
        }
        return;
    }
    const std::size_t k = split(n);
    if (m <= k) {
        append_subproof(m, leaf_hashes.first(k), b, proof);
        proof.push_back(subtree_root(leaf_hashes.subspan(k)));
    } else {
        append_subproof(m - k, leaf_hashes.subspan(k), false, proof);
        proof.push_back(subtree_root(leaf_hashes.first(k)));
    }
}

bool lsb(std::uint64_t x) {
    return (x & 1) != 0;
}

}  // namespace

Digest leaf_hash(std::string_view leaf) {
    return sha256({std::string_view(&kLeafPrefix, 1), leaf});
}

Digest node_hash(const Digest& left, const Digest& right) {
    return sha256({std::string_view(&kNodePrefix, 1), as_bytes(left), as_bytes(right)});
}

Digest empty_root() {
    return sha256(std::string_view());
}

Digest root(std::span<const Digest> leaf_hashes) {
    if (leaf_hashes.empty()) {
        return empty_root();
    }
    return subtree_root(leaf_hashes);
}

std::vector<Digest> inclusion_proof(std::span<const Digest> leaf_hashes, std::uint64_t index) {
    assert(index < leaf_hashes.size());
    std::vector<Digest> proof;
    append_path(static_cast<std::size_t>(index), leaf_hashes, proof);
    return proof;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const Digest& leaf_hash,
                      std::span<const Digest> proof, const Digest& root) {
    // 1. If leaf_index is greater than or equal to tree_size, fail.
    if (index >= tree_size) {
        return false;
    }
    // 2. Set fn to leaf_index and sn to tree_size - 1.
    std::uint64_t fn = index;
    std::uint64_t sn = tree_size - 1;
    // 3. Set r to hash.
    Digest r = leaf_hash;
    // 4. For each value p in the inclusion_path array:
    for (const Digest& p : proof) {
        // a. If sn is 0, the proof is longer than the path: fail.
        if (sn == 0) {
            return false;
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then p is a left sibling:
        if (lsb(fn) || fn == sn) {
            r = node_hash(p, r);
            // If LSB(fn) is not set, right-shift fn and sn equally until either LSB(fn) is
            // set or fn is 0: the levels where the node has no right sibling.
            while (!lsb(fn) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            // Otherwise p is a right sibling.
            r = node_hash(r, p);
        }
        // c. Right-shift both fn and sn one time.
        fn >>= 1;
        sn >>= 1;
    }
    // 5. The path must have reached the root (sn is 0) and r must be the root.
    return sn == 0 && r == root;
}

std::vector<Digest> consistency_proof(std::span<const Digest> leaf_hashes, std::uint64_t old_size) {
    assert(old_size <= leaf_hashes.size());
    std::vector<Digest> proof;
    if (old_size == 0 || old_size == leaf_hashes.size()) {
        return proof;
    }
    append_subproof(static_cast<std::size_t>(old_size), leaf_hashes, true, proof);
    return proof;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Digest& old_root,
                        const Digest& new_root, std::span<const Digest> proof) {
    // The cases outside the RFC's 0 < first < second.
    if (old_size > new_size) {
        return false;
    }
    if (old_size == 0) {
        return proof.empty() && old_root == empty_root() && (new_size > 0 || new_root == old_root);
    }
    if (old_size == new_size) {
        return proof.empty() && old_root == new_root;
    }

    const std::uint64_t first = old_size;
    const std::uint64_t second = new_size;
    // 1. If consistency_path is an empty array, fail.
    if (proof.empty()) {
        return false;
    }
    // 2. If first is an exact power of 2, prepend first_hash to the consistency_path: the
    // old tree is then a node of the new one, and the proof leaves its root out. The
    // prepending is virtual: path(i) reads the path without copying it.
    const bool prepend = std::has_single_bit(first);
    const std::size_t path_length = proof.size() + (prepend ? 1 : 0);
    const auto path = [&](std::size_t i) -> const Digest& {
        if (prepend) {
            return i == 0 ? old_root : proof[i - 1];
        }
        return proof[i];
    };
    // 3. Set fn to first - 1 and sn to second - 1.
    std::uint64_t fn = first - 1;
    std::uint64_t sn = second - 1;
    // 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
    while (lsb(fn)) {
        fn >>= 1;
        sn >>= 1;
    }
    // 5. Set both fr and sr to the first value in the consistency_path.
    Digest fr = path(0);
    Digest sr = path(0);
    // 6. For each subsequent value c in the consistency_path:
    for (std::size_t i = 1; i < path_length; ++i) {
        const Digest& c = path(i);
        // a. If sn is 0, the proof is too long: fail.
        if (sn == 0) {
            return false;
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, c is a left sibling in both trees:
        if (lsb(fn) || fn == sn) {
            fr = node_hash(c, fr);
            sr = node_hash(c, sr);
            // If LSB(fn) is not set, right-shift fn and sn equally until either LSB(fn) is
            // set or fn is 0.
            while (!lsb(fn) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            // Otherwise c is a right sibling that only the new tree has.
            sr = node_hash(sr, c);
        }
        // c. Right-shift both fn and sn one time.
        fn >>= 1;
        sn >>= 1;
    }
    // 7. fr must be first_hash, sr second_hash, and sn 0 (the path reached the new root).
    return fr == old_root && sr == new_root && sn == 0;
}

bool MerkleAccumulator::restore(std::uint64_t count, std::span<const Digest> peaks,
                                MerkleAccumulator& out) {
    if (peaks.size() != static_cast<std::size_t>(std::popcount(count))) {
        return false;
    }
    std::copy(peaks.begin(), peaks.end(), out.peaks_.begin());
    out.peak_count_ = peaks.size();
    out.count_ = count;
    return true;
}

void MerkleAccumulator::append(const Digest& leaf_hash) {
    assert(count_ < std::numeric_limits<std::uint64_t>::max());
    append(leaf_hash, [](std::uint32_t, std::uint64_t, const Digest&) {});
    assert(peak_count_ == static_cast<std::size_t>(std::popcount(count_)));
}

Digest MerkleAccumulator::root() const {
    if (peak_count_ == 0) {
        return empty_root();
    }
    // MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])) and the leftmost peak is D[0:k], so the
    // root folds the peaks from the right.
    Digest r = peaks_[peak_count_ - 1];
    for (std::size_t i = peak_count_ - 1; i > 0; --i) {
        r = node_hash(peaks_[i - 1], r);
    }
    return r;
}

}  // namespace cpx::audit
