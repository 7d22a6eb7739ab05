#include "cpx/audit/tree_source.hpp"

#include <bit>
#include <cassert>

#include "cpx/audit/merkle.hpp"

namespace cpx::audit {

namespace {

// k of RFC 9162 section 2.1.1: the largest power of two smaller than n, for n >= 2.
std::uint64_t split(std::uint64_t n) {
    assert(n >= 2);
    return std::bit_floor(n - 1);
}

// MTH of the leaves [begin, begin + n). The RFC's recursions only ever ask for ranges
// whose begin is a multiple of the power of two at or above n, so a range of a power of
// two leaves is an aligned perfect subtree.
Digest range_root(SubtreeSource& source, std::uint64_t begin, std::uint64_t n) {
    assert(n >= 1);
    if (std::has_single_bit(n)) {
        const auto level = static_cast<std::uint32_t>(std::countr_zero(n));
        assert(begin % n == 0);
        return source.perfect_subtree(level, begin >> level);
    }
    const std::uint64_t k = split(n);
    return node_hash(range_root(source, begin, k), range_root(source, begin + k, n - k));
}

// PATH(m, D[begin:begin+n]).
void append_path(SubtreeSource& source, std::uint64_t m, std::uint64_t begin, std::uint64_t n,
                 std::vector<Digest>& proof) {
    assert(m < n);
    if (n == 1) {
        return;
    }
    const std::uint64_t k = split(n);
    if (m < k) {
        append_path(source, m, begin, k, proof);
        proof.push_back(range_root(source, begin + k, n - k));
    } else {
        append_path(source, m - k, begin + k, n - k, proof);
        proof.push_back(range_root(source, begin, k));
    }
}

// SUBPROOF(m, D[begin:begin+n], b).
void append_subproof(SubtreeSource& source, std::uint64_t m, std::uint64_t begin, std::uint64_t n,
                     bool b, std::vector<Digest>& proof) {
    assert(m > 0 && m <= n);
    if (m == n) {
        if (!b) {
            proof.push_back(range_root(source, begin, n));
        }
        return;
    }
    const std::uint64_t k = split(n);
    if (m <= k) {
        append_subproof(source, m, begin, k, b, proof);
        proof.push_back(range_root(source, begin + k, n - k));
    } else {
        append_subproof(source, m - k, begin + k, n - k, false, proof);
        proof.push_back(range_root(source, begin, k));
    }
}

}  // namespace

Digest root(SubtreeSource& source, std::uint64_t tree_size) {
    return tree_size == 0 ? empty_root() : range_root(source, 0, tree_size);
}

std::vector<Digest> inclusion_proof(SubtreeSource& source, std::uint64_t index,
                                    std::uint64_t tree_size) {
    assert(index < tree_size);
    std::vector<Digest> proof;
    append_path(source, index, 0, tree_size, proof);
    return proof;
}

std::vector<Digest> consistency_proof(SubtreeSource& source, std::uint64_t old_size,
                                      std::uint64_t new_size) {
    assert(old_size <= new_size);
    std::vector<Digest> proof;
    if (old_size == 0 || old_size == new_size) {
        return proof;
    }
    append_subproof(source, old_size, 0, new_size, true, proof);
    return proof;
}

}  // namespace cpx::audit
