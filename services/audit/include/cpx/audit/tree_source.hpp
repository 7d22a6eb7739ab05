#pragma once
// Proofs over a tree too large to hold in memory. The functions of merkle.hpp take every
// leaf hash; these compute the same roots and proofs (RFC 9162 sections 2.1.3.1 and
// 2.1.4.1) from the roots of aligned perfect subtrees, which a SubtreeSource supplies
// (for the audit log, from the subtrees the writer stores and the leaf hashes below
// them, see db/migrations/0007_audit.sql). Every range the RFC's recursions split off is
// either such a perfect subtree or splits again, so a proof asks for O(log n) subtrees.

#include <cstdint>
#include <vector>

#include "cpx/audit/sha256.hpp"

namespace cpx::audit {

class SubtreeSource {
  public:
    virtual ~SubtreeSource() = default;
    // MTH of the leaves [index * 2^level, (index + 1) * 2^level), which all exist; at
    // level 0, the leaf hash of leaf `index`.
    virtual Digest perfect_subtree(std::uint32_t level, std::uint64_t index) = 0;
};

// MTH of the first `tree_size` leaves (empty_root() for 0).
Digest root(SubtreeSource& source, std::uint64_t tree_size);

// As inclusion_proof() of merkle.hpp for leaf `index` of the first `tree_size` leaves;
// requires index < tree_size.
std::vector<Digest> inclusion_proof(SubtreeSource& source, std::uint64_t index,
                                    std::uint64_t tree_size);

// As consistency_proof() of merkle.hpp between the first old_size and the first
// new_size leaves; requires old_size <= new_size (empty when old_size is 0 or equal).
std::vector<Digest> consistency_proof(SubtreeSource& source, std::uint64_t old_size,
                                      std::uint64_t new_size);

}  // namespace cpx::audit
