// Tests of cpx_audit's RFC 9162 / RFC 6962 Merkle tree:
//
//   * the Certificate Transparency project's reference vectors: the eight leaves, the root
//     for every size 1..8, and the inclusion and consistency proofs of its test suites,
//     with the tampered variants those suites check;
//   * an independent, straightforward recursive implementation of the RFC's definitions
//     (MTH, PATH, SUBPROOF over the leaves themselves) compared with the library for every
//     tree of up to 64 leaves;
//   * every inclusion and consistency proof of those trees verifies, and none does once a
//     bit of it (or of the root or leaf) is flipped, it is truncated or extended, or the
//     index or sizes are moved;
//   * MerkleAccumulator gives root() for every size up to a few thousand.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "cpx/audit/merkle.hpp"
#include "hex.hpp"

namespace cpx::audit {
namespace {

using testing::digest_of_hex;
using testing::unhex;

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

// ---- The RFC 6962 reference tree ----------------------------------------------------------

// The leaves, the roots for sizes 1..8 and the proofs below are the Certificate
// Transparency project's test data: google/certificate-transparency
// cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs)
// and transparency-dev/merkle proof/verify_test.go (leaves, roots, inclusionProofs,
// consistencyProofs), which agree. Both number leaves from 1 in their path tables; the
// indexes here are 0-based.
constexpr const char* kLeafHex[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

constexpr const char* kRootHex[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

constexpr const char* kEmptyRootHex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// transparency-dev/merkle's "sha256SomeHash": an arbitrary hash that is no node of the tree.
constexpr const char* kSomeHashHex =
    "abacaba000000000000000000000000000000000000000000060061e00123456";

struct InclusionVector {
    std::uint64_t index;
    std::uint64_t size;
    std::vector<const char*> proof;
};

const std::vector<InclusionVector> kInclusionVectors = {
    {0, 1, {}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct ConsistencyVector {
    std::uint64_t old_size;
    std::uint64_t new_size;
    std::vector<const char*> proof;
};

const std::vector<ConsistencyVector> kConsistencyVectors = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    // Only in transparency-dev/merkle.
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<Digest> digests_of_hex(const std::vector<const char*>& hexes) {
    std::vector<Digest> digests;
    for (const char* hex : hexes) {
        digests.push_back(digest_of_hex(hex));
    }
    return digests;
}

std::vector<Digest> reference_tree_leaf_hashes() {
    std::vector<Digest> hashes;
    for (const char* hex : kLeafHex) {
        hashes.push_back(leaf_hash(unhex(hex)));
    }
    return hashes;
}

std::vector<Digest> with(std::vector<Digest> proof, std::size_t position, const Digest& extra) {
    proof.insert(proof.begin() + static_cast<std::ptrdiff_t>(position), extra);
    return proof;
}

std::vector<Digest> without(std::vector<Digest> proof, std::size_t position) {
    proof.erase(proof.begin() + static_cast<std::ptrdiff_t>(position));
    return proof;
}

Digest flipped(Digest digest, unsigned bit) {
    digest[bit / 8] = static_cast<std::uint8_t>(digest[bit / 8] ^ (1u << (bit % 8)));
    return digest;
}

// ---- An independent reference implementation ----------------------------------------------

// RFC 9162 section 2.1.1, transcribed as literally as possible: it works on the leaves
// themselves, builds each hash input as a string, and shares nothing with the library
// but the SHA-256 function (tested against FIPS 180-4 in sha256_test.cpp).

std::string reference_bytes(const Digest& digest) {
    return std::string(as_bytes(digest));
}

// The largest power of two smaller than n (n >= 2), without overflow for any uint64.
std::uint64_t reference_split(std::uint64_t n) {
    std::uint64_t k = 1;
    while (k <= (n - 1) / 2) {
        k *= 2;
    }
    return k;
}

using Leaves = std::vector<std::string>;

Digest reference_mth(const Leaves& d, std::size_t begin, std::size_t end) {
    const std::size_t n = end - begin;
    if (n == 0) {
        return sha256("");
    }
    if (n == 1) {
        return sha256(std::string(1, '\x00') + d[begin]);
    }
    const std::size_t k = reference_split(n);
    return sha256(std::string(1, '\x01') + reference_bytes(reference_mth(d, begin, begin + k)) +
                  reference_bytes(reference_mth(d, begin + k, end)));
}

// PATH(m, D[begin:end]), RFC 9162 section 2.1.3.1.
std::vector<Digest> reference_path(std::size_t m, const Leaves& d, std::size_t begin,
                                   std::size_t end) {
    const std::size_t n = end - begin;
    if (n == 1) {
        return {};
    }
    const std::size_t k = reference_split(n);
    std::vector<Digest> path;
    if (m < k) {
        path = reference_path(m, d, begin, begin + k);
        path.push_back(reference_mth(d, begin + k, end));
    } else {
        path = reference_path(m - k, d, begin + k, end);
        path.push_back(reference_mth(d, begin, begin + k));
    }
    return path;
}

// SUBPROOF(m, D[begin:end], b), RFC 9162 section 2.1.4.1.
std::vector<Digest> reference_subproof(std::size_t m, const Leaves& d, std::size_t begin,
                                       std::size_t end, bool b) {
    const std::size_t n = end - begin;
    if (m == n) {
        if (b) {
            return {};
        }
        return {reference_mth(d, begin, end)};
    }
    const std::size_t k = reference_split(n);
    std::vector<Digest> proof;
    if (m <= k) {
        proof = reference_subproof(m, d, begin, begin + k, b);
        proof.push_back(reference_mth(d, begin + k, end));
    } else {
        proof = reference_subproof(m - k, d, begin + k, end, false);
        proof.push_back(reference_mth(d, begin, begin + k));
    }
    return proof;
}

// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m < n; empty otherwise.
std::vector<Digest> reference_consistency(std::size_t m, const Leaves& d) {
    if (m == 0 || m == d.size()) {
        return {};
    }
    return reference_subproof(m, d, 0, d.size(), true);
}

Leaves numbered_leaves(std::size_t count) {
    Leaves leaves;
    for (std::size_t i = 0; i < count; ++i) {
        leaves.push_back("leaf " + std::to_string(i));
    }
    return leaves;
}

std::vector<Digest> leaf_hashes_of(const Leaves& leaves) {
    std::vector<Digest> hashes;
    for (const std::string& leaf : leaves) {
        hashes.push_back(leaf_hash(leaf));
    }
    return hashes;
}

// ---- What a proof can also prove -------------------------------------------------------

// A proof binds the index and the sizes only through the shape of the computation it
// drives: which side each sibling is on. Where two (index, size) pairs give a leaf the same
// shape, one proof verifies for both (the checkpoint's signature is what binds the size);
// where the shapes differ, verification must fail. These compute the shapes from the RFC's
// recursive definitions, independently of the library's bit arithmetic.

// For leaf `index` of a tree of `size`, whether each sibling (from the leaf up) is on the
// left; nullopt when there is no such leaf.
std::optional<std::vector<bool>> inclusion_shape(std::uint64_t index, std::uint64_t size) {
    if (index >= size) {
        return std::nullopt;
    }
    std::vector<bool> left_sibling_from_root;
    while (size > 1) {
        const std::uint64_t k = reference_split(size);
        if (index < k) {
            left_sibling_from_root.push_back(false);
            size = k;
        } else {
            left_sibling_from_root.push_back(true);
            index -= k;
            size -= k;
        }
    }
    return std::vector<bool>(left_sibling_from_root.rbegin(), left_sibling_from_root.rend());
}

struct ConsistencyShape {
    // The proof leaves out the old root (the old tree is a complete subtree of the new).
    bool starts_with_old_root = false;
    // For each proof element from the bottom up: whether it is a left subtree shared by
    // both trees (true) or a right subtree only the new tree has (false).
    std::vector<bool> shared;
    bool operator==(const ConsistencyShape&) const = default;
};

// The shape of SUBPROOF for 0 < m < n; nullopt for the cases with nothing to prove.
std::optional<ConsistencyShape> consistency_shape(std::uint64_t m, std::uint64_t n) {
    if (m == 0 || m >= n) {
        return std::nullopt;
    }
    ConsistencyShape shape;
    shape.starts_with_old_root = true;
    std::vector<bool> shared_from_root;
    while (m != n) {
        const std::uint64_t k = reference_split(n);
        if (m <= k) {
            shared_from_root.push_back(false);
            n = k;
        } else {
            shared_from_root.push_back(true);
            m -= k;
            n -= k;
            shape.starts_with_old_root = false;
        }
    }
    shape.shared.assign(shared_from_root.rbegin(), shared_from_root.rend());
    return shape;
}

// Every bit of a digest in small trees; a few spread ones in larger trees (each check of
// a flipped bit costs a full verification).
std::vector<unsigned> bits_to_flip(std::uint64_t tree_size, std::uint64_t salt) {
    if (tree_size <= 16) {
        std::vector<unsigned> all;
        for (unsigned bit = 0; bit < 256; ++bit) {
            all.push_back(bit);
        }
        return all;
    }
    return {0u, 255u, static_cast<unsigned>((salt * 37 + 11) % 256),
            static_cast<unsigned>((salt * 101 + 200) % 256)};
}

// ---- The reference vectors ----------------------------------------------------------------

TEST(MerkleRfc6962, EmptyTreeAndLeafHashes) {
    EXPECT_EQ(to_hex(empty_root()), kEmptyRootHex);
    EXPECT_EQ(to_hex(root({})), kEmptyRootHex);
    EXPECT_EQ(to_hex(MerkleAccumulator().root()), kEmptyRootHex);
    // A one-leaf tree's root is its leaf hash, SHA-256(0x00 || leaf).
    EXPECT_EQ(to_hex(leaf_hash("")), kRootHex[0]);
    EXPECT_EQ(leaf_hash("abc"), sha256(std::string("\x00"
                                                   "abc",
                                                   4)));
    EXPECT_EQ(node_hash(sha256("l"), sha256("r")),
              sha256("\x01" + reference_bytes(sha256("l")) + reference_bytes(sha256("r"))));
}

TEST(MerkleRfc6962, RootForEverySize) {
    const std::vector<Digest> leaves = reference_tree_leaf_hashes();
    MerkleAccumulator accumulator;
    for (std::size_t n = 1; n <= leaves.size(); ++n) {
        SCOPED_TRACE("size " + std::to_string(n));
        EXPECT_EQ(to_hex(root(std::span(leaves).first(n))), kRootHex[n - 1]);
        accumulator.append(leaves[n - 1]);
        EXPECT_EQ(to_hex(accumulator.root()), kRootHex[n - 1]);
        EXPECT_EQ(accumulator.count(), n);
    }
}

TEST(MerkleRfc6962, InclusionProofs) {
    const std::vector<Digest> leaves = reference_tree_leaf_hashes();
    const Digest some_hash = digest_of_hex(kSomeHashHex);
    const Digest empty_tree = digest_of_hex(kEmptyRootHex);
    for (const InclusionVector& vector : kInclusionVectors) {
        SCOPED_TRACE("leaf " + std::to_string(vector.index) + " of " + std::to_string(vector.size));
        const std::vector<Digest> expected = digests_of_hex(vector.proof);
        const std::span<const Digest> tree = std::span(leaves).first(vector.size);
        const Digest tree_root = digest_of_hex(kRootHex[vector.size - 1]);
        const Digest leaf = leaves[vector.index];
        const std::uint64_t i = vector.index;
        const std::uint64_t n = vector.size;

        EXPECT_EQ(inclusion_proof(tree, i), expected);
        EXPECT_TRUE(verify_inclusion(i, n, leaf, expected, tree_root));

        if (expected.empty()) {
            continue;  // the suites check the tampered variants of non-trivial paths only
        }
        // The tampered variants of transparency-dev/merkle's corruptInclusionProof.
        EXPECT_FALSE(verify_inclusion(i - 1, n, leaf, expected, tree_root)) << "index - 1";
        EXPECT_FALSE(verify_inclusion(i + 1, n, leaf, expected, tree_root)) << "index + 1";
        EXPECT_FALSE(verify_inclusion(i ^ 2, n, leaf, expected, tree_root)) << "index ^ 2";
        EXPECT_FALSE(verify_inclusion(i, n * 2, leaf, expected, tree_root)) << "size * 2";
        EXPECT_FALSE(verify_inclusion(i, n / 2, leaf, expected, tree_root)) << "size / 2";
        EXPECT_FALSE(verify_inclusion(i, n, leaf_hash("WrongLeaf"), expected, tree_root));
        EXPECT_FALSE(verify_inclusion(i, n, leaf, expected, empty_tree)) << "empty root";
        EXPECT_FALSE(verify_inclusion(i, n, leaf, expected, some_hash)) << "random root";
        EXPECT_FALSE(
            verify_inclusion(i, n, leaf, with(expected, expected.size(), Digest{}), tree_root))
            << "trailing garbage";
        EXPECT_FALSE(
            verify_inclusion(i, n, leaf, with(expected, expected.size(), tree_root), tree_root))
            << "trailing root";
        EXPECT_FALSE(verify_inclusion(i, n, leaf, with(expected, 0, Digest{}), tree_root))
            << "preceding garbage";
        EXPECT_FALSE(verify_inclusion(i, n, leaf, with(expected, 0, tree_root), tree_root))
            << "preceding root";
        for (std::size_t j = 0; j < expected.size(); ++j) {
            std::vector<Digest> modified = expected;
            modified[j][0] ^= 8;
            EXPECT_FALSE(verify_inclusion(i, n, leaf, modified, tree_root)) << "proof[" << j << "]";
        }
        EXPECT_FALSE(
            verify_inclusion(i, n, leaf, without(expected, expected.size() - 1), tree_root))
            << "removed component";
        if (expected.size() > 1) {
            EXPECT_FALSE(verify_inclusion(i, n, leaf, with(expected, 1, some_hash), tree_root))
                << "inserted component";
        }
    }
}

TEST(MerkleRfc6962, ConsistencyProofs) {
    const std::vector<Digest> leaves = reference_tree_leaf_hashes();
    for (const ConsistencyVector& vector : kConsistencyVectors) {
        const std::uint64_t m = vector.old_size;
        const std::uint64_t n = vector.new_size;
        SCOPED_TRACE("sizes " + std::to_string(m) + " and " + std::to_string(n));
        const std::vector<Digest> expected = digests_of_hex(vector.proof);
        const Digest root1 = digest_of_hex(kRootHex[m - 1]);
        const Digest root2 = digest_of_hex(kRootHex[n - 1]);

        EXPECT_EQ(consistency_proof(std::span(leaves).first(n), m), expected);
        EXPECT_TRUE(verify_consistency(m, n, root1, root2, expected));

        if (expected.empty()) {
            continue;
        }
        // The tampered variants of transparency-dev/merkle's corruptConsistencyProof.
        const Digest wrong_root = sha256("WrongRoot");
        EXPECT_FALSE(verify_consistency(m - 1, n, root1, root2, expected)) << "size1 - 1";
        EXPECT_FALSE(verify_consistency(m + 1, n, root1, root2, expected)) << "size1 + 1";
        EXPECT_FALSE(verify_consistency(m ^ 2, n, root1, root2, expected)) << "size1 ^ 2";
        EXPECT_FALSE(verify_consistency(m, n * 2, root1, root2, expected)) << "size2 * 2";
        EXPECT_FALSE(verify_consistency(m, n / 2, root1, root2, expected)) << "size2 / 2";
        EXPECT_FALSE(verify_consistency(m, n, wrong_root, root2, expected)) << "wrong root1";
        EXPECT_FALSE(verify_consistency(m, n, root1, wrong_root, expected)) << "wrong root2";
        EXPECT_FALSE(verify_consistency(m, n, root2, root1, expected)) << "swapped roots";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, {})) << "empty proof";
        const std::size_t end = expected.size();
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, end, Digest{})))
            << "trailing garbage";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, end, root1)))
            << "trailing root1";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, end, root2)))
            << "trailing root2";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, 0, Digest{})))
            << "preceding garbage";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, 0, root1)))
            << "preceding root1";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, 0, root2)))
            << "preceding root2";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(expected, 0, expected[0])))
            << "preceding proof[0]";
        EXPECT_FALSE(verify_consistency(m, n, root1, root2, without(expected, end - 1)))
            << "truncated proof";
        for (std::size_t j = 0; j < expected.size(); ++j) {
            std::vector<Digest> modified = expected;
            modified[j][0] ^= 16;
            EXPECT_FALSE(verify_consistency(m, n, root1, root2, modified)) << "proof[" << j << "]";
        }
    }
}

// transparency-dev/merkle's TestVerifyInclusion and TestVerifyInclusionSingleEntry.
TEST(MerkleRfc9162, DegenerateInclusionInputs) {
    const Digest some_hash = digest_of_hex(kSomeHashHex);
    const Digest empty_tree = digest_of_hex(kEmptyRootHex);
    const std::uint64_t probes[][2] = {{0, 0}, {0, 1}, {1, 0}, {2, 1}};
    for (const auto& probe : probes) {
        EXPECT_FALSE(verify_inclusion(probe[0], probe[1], some_hash, {}, Digest{}));
        EXPECT_FALSE(verify_inclusion(probe[0], probe[1], Digest{}, {}, empty_tree));
        EXPECT_FALSE(verify_inclusion(probe[0], probe[1], some_hash, {}, empty_tree));
    }
    // In a one-leaf tree the root is the leaf hash and the proof is empty.
    const Digest hash = leaf_hash("data");
    EXPECT_TRUE(verify_inclusion(0, 1, hash, {}, hash));
    EXPECT_FALSE(verify_inclusion(0, 1, hash, {}, Digest{}));
    EXPECT_FALSE(verify_inclusion(0, 1, Digest{}, {}, hash));
    EXPECT_FALSE(verify_inclusion(0, 1, hash, std::vector<Digest>{hash}, hash));
}

// transparency-dev/merkle's TestVerifyConsistency. Where it accepts any root for an empty
// old tree ("don't care"), cpx requires the empty tree's root: a checkpoint of size 0
// with another root is malformed.
TEST(MerkleRfc9162, DegenerateConsistencyInputs) {
    const Digest root1 = sha256("don't care 1");
    const Digest root2 = sha256("don't care 2");
    const Digest empty_tree = digest_of_hex(kEmptyRootHex);
    const std::vector<Digest> none;
    const std::vector<Digest> one = {empty_tree};

    EXPECT_FALSE(verify_consistency(0, 0, root1, root2, none));
    EXPECT_FALSE(verify_consistency(1, 1, root1, root2, none));
    // Sizes that are always consistent.
    EXPECT_TRUE(verify_consistency(0, 0, empty_tree, empty_tree, none));
    EXPECT_TRUE(verify_consistency(0, 1, empty_tree, root2, none));
    EXPECT_TRUE(verify_consistency(1, 1, root2, root2, none));
    EXPECT_TRUE(verify_consistency(kMaxU64, kMaxU64, root2, root2, none));
    // An empty old tree has the empty tree's root (transparency-dev accepts any).
    EXPECT_FALSE(verify_consistency(0, 0, root1, root1, none));
    EXPECT_FALSE(verify_consistency(0, 1, root1, root2, none));
    // Time travel to the past.
    EXPECT_FALSE(verify_consistency(1, 0, root1, root2, none));
    EXPECT_FALSE(verify_consistency(2, 1, root1, root2, none));
    EXPECT_FALSE(verify_consistency(kMaxU64, 0, empty_tree, empty_tree, none));
    // Empty proof.
    EXPECT_FALSE(verify_consistency(1, 2, root1, root2, none));
    // Roots don't match.
    EXPECT_FALSE(verify_consistency(0, 0, empty_tree, root2, none));
    EXPECT_FALSE(verify_consistency(1, 1, empty_tree, root2, none));
    // Roots match but the proof is not empty.
    EXPECT_FALSE(verify_consistency(0, 0, empty_tree, empty_tree, one));
    EXPECT_FALSE(verify_consistency(0, 1, empty_tree, empty_tree, one));
    EXPECT_FALSE(verify_consistency(1, 1, empty_tree, empty_tree, one));
}

// Sizes near 2^64 and absurdly long proofs are refused without reading past the proof.
TEST(MerkleRfc9162, HostileSizesAndLengths) {
    const Digest hash = sha256("x");
    const std::vector<Digest> long_proof(1000, hash);
    const std::vector<Digest> proof_64(64, hash);
    for (const std::uint64_t size : {kMaxU64, kMaxU64 - 1, std::uint64_t{1} << 63}) {
        for (const std::uint64_t index : {std::uint64_t{0}, size / 2, size - 1, size, kMaxU64}) {
            EXPECT_FALSE(verify_inclusion(index, size, hash, proof_64, hash));
            EXPECT_FALSE(verify_inclusion(index, size, hash, long_proof, hash));
            EXPECT_FALSE(verify_inclusion(index, size, hash, {}, hash));
        }
        for (const std::uint64_t old_size : {std::uint64_t{1}, size / 2, size - 1}) {
            EXPECT_FALSE(verify_consistency(old_size, size, hash, hash, proof_64));
            EXPECT_FALSE(verify_consistency(old_size, size, hash, hash, long_proof));
            EXPECT_FALSE(verify_consistency(old_size, size, hash, hash, {}));
        }
    }
    EXPECT_FALSE(verify_inclusion(0, 8, hash, long_proof, hash));
    EXPECT_FALSE(verify_consistency(3, 8, hash, hash, long_proof));
    EXPECT_FALSE(verify_consistency(4, 8, hash, hash, long_proof));
}

// ---- Every small tree --------------------------------------------------------------------

constexpr std::size_t kMaxExhaustiveSize = 64;

TEST(MerkleExhaustive, MatchesTheReferenceImplementation) {
    const Leaves all = numbered_leaves(kMaxExhaustiveSize);
    const std::vector<Digest> hashes = leaf_hashes_of(all);
    for (std::size_t n = 0; n <= kMaxExhaustiveSize; ++n) {
        SCOPED_TRACE("size " + std::to_string(n));
        const Leaves d(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
        const std::span<const Digest> tree = std::span(hashes).first(n);
        EXPECT_EQ(root(tree), reference_mth(d, 0, n));
        for (std::size_t i = 0; i < n; ++i) {
            EXPECT_EQ(inclusion_proof(tree, i), reference_path(i, d, 0, n)) << "leaf " << i;
        }
        for (std::size_t m = 0; m <= n; ++m) {
            EXPECT_EQ(consistency_proof(tree, m), reference_consistency(m, d)) << "old size " << m;
        }
    }
}

TEST(MerkleExhaustive, InclusionProofsVerifyAndTamperedOnesDoNot) {
    const std::vector<Digest> hashes = leaf_hashes_of(numbered_leaves(kMaxExhaustiveSize));
    std::uint64_t moved_and_refused = 0;
    std::uint64_t moved_and_accepted = 0;
    for (std::uint64_t n = 1; n <= kMaxExhaustiveSize; ++n) {
        const std::span<const Digest> tree = std::span(hashes).first(n);
        const Digest tree_root = root(tree);
        for (std::uint64_t i = 0; i < n; ++i) {
            SCOPED_TRACE("leaf " + std::to_string(i) + " of " + std::to_string(n));
            const Digest& leaf = hashes[i];
            const std::vector<Digest> proof = inclusion_proof(tree, i);
            ASSERT_TRUE(verify_inclusion(i, n, leaf, proof, tree_root));

            for (const unsigned bit : bits_to_flip(n, i)) {
                EXPECT_FALSE(verify_inclusion(i, n, flipped(leaf, bit), proof, tree_root));
                EXPECT_FALSE(verify_inclusion(i, n, leaf, proof, flipped(tree_root, bit)));
                for (std::size_t j = 0; j < proof.size(); ++j) {
                    std::vector<Digest> modified = proof;
                    modified[j] = flipped(modified[j], bit);
                    EXPECT_FALSE(verify_inclusion(i, n, leaf, modified, tree_root))
                        << "bit " << bit << " of proof[" << j << "]";
                }
            }

            // Truncated, extended, reordered.
            for (const Digest& extra : {Digest{}, tree_root, leaf}) {
                EXPECT_FALSE(
                    verify_inclusion(i, n, leaf, with(proof, proof.size(), extra), tree_root));
                EXPECT_FALSE(verify_inclusion(i, n, leaf, with(proof, 0, extra), tree_root));
            }
            if (!proof.empty()) {
                EXPECT_FALSE(
                    verify_inclusion(i, n, leaf, without(proof, proof.size() - 1), tree_root));
                EXPECT_FALSE(verify_inclusion(i, n, leaf, without(proof, 0), tree_root));
                EXPECT_FALSE(verify_inclusion(i, n, leaf, with(proof, 1, proof[0]), tree_root));
            }
            if (proof.size() > 1) {
                std::vector<Digest> swapped = proof;
                std::swap(swapped[0], swapped[1]);
                EXPECT_FALSE(verify_inclusion(i, n, leaf, swapped, tree_root));
            }

            // Moved index or size: refused unless the leaf's path has the same shape there.
            const std::optional<std::vector<bool>> shape = inclusion_shape(i, n);
            const std::uint64_t indexes[] = {i - 1, i + 1, i ^ 1, i ^ 2, i + n, n, kMaxU64};
            const std::uint64_t sizes[] = {n - 1, n + 1, n * 2, n / 2, 0, n + 1000, kMaxU64};
            const auto probe = [&](std::uint64_t index, std::uint64_t size) {
                const bool same_shape = inclusion_shape(index, size) == shape;
                if (index != i && size == n) {
                    // Each leaf of a tree has its own path.
                    EXPECT_FALSE(same_shape) << "index " << index;
                }
                EXPECT_EQ(verify_inclusion(index, size, leaf, proof, tree_root), same_shape)
                    << "index " << index << ", size " << size;
                (same_shape ? moved_and_accepted : moved_and_refused) += 1;
            };
            for (const std::uint64_t index : indexes) {
                probe(index, n);
                probe(index, n + 1);
            }
            for (const std::uint64_t size : sizes) {
                probe(i, size);
            }
        }
    }
    // The moves are mostly refused; some sizes share a path shape by design.
    EXPECT_GT(moved_and_refused, 10 * moved_and_accepted);
}

TEST(MerkleExhaustive, ConsistencyProofsVerifyAndTamperedOnesDoNot) {
    const std::vector<Digest> hashes = leaf_hashes_of(numbered_leaves(kMaxExhaustiveSize));
    std::vector<Digest> roots;
    for (std::size_t n = 0; n <= kMaxExhaustiveSize; ++n) {
        roots.push_back(root(std::span(hashes).first(n)));
    }
    std::uint64_t moved_and_refused = 0;
    std::uint64_t moved_and_accepted = 0;
    for (std::uint64_t n = 1; n <= kMaxExhaustiveSize; ++n) {
        const std::span<const Digest> tree = std::span(hashes).first(n);
        for (std::uint64_t m = 0; m <= n; ++m) {
            SCOPED_TRACE("sizes " + std::to_string(m) + " and " + std::to_string(n));
            const std::vector<Digest> proof = consistency_proof(tree, m);
            const Digest& root1 = roots[m];
            const Digest& root2 = roots[n];
            ASSERT_TRUE(verify_consistency(m, n, root1, root2, proof));
            if (m == 0 || m == n) {
                ASSERT_TRUE(proof.empty());
                // Nothing to prove, but the roots must still be right.
                EXPECT_FALSE(verify_consistency(m, n, flipped(root1, 0), root2, proof));
                EXPECT_FALSE(verify_consistency(m, n, root1, root2, std::vector<Digest>{root1}));
                continue;
            }
            ASSERT_FALSE(proof.empty());

            for (const unsigned bit : bits_to_flip(n, m)) {
                EXPECT_FALSE(verify_consistency(m, n, flipped(root1, bit), root2, proof));
                EXPECT_FALSE(verify_consistency(m, n, root1, flipped(root2, bit), proof));
                for (std::size_t j = 0; j < proof.size(); ++j) {
                    std::vector<Digest> modified = proof;
                    modified[j] = flipped(modified[j], bit);
                    EXPECT_FALSE(verify_consistency(m, n, root1, root2, modified))
                        << "bit " << bit << " of proof[" << j << "]";
                }
            }

            EXPECT_FALSE(verify_consistency(m, n, root2, root1, proof)) << "swapped roots";
            EXPECT_FALSE(verify_consistency(m, n, root1, root2, {})) << "empty proof";
            for (const Digest& extra : {Digest{}, root1, root2, proof[0]}) {
                EXPECT_FALSE(
                    verify_consistency(m, n, root1, root2, with(proof, proof.size(), extra)));
                EXPECT_FALSE(verify_consistency(m, n, root1, root2, with(proof, 0, extra)));
            }
            EXPECT_FALSE(verify_consistency(m, n, root1, root2, without(proof, proof.size() - 1)));
            EXPECT_FALSE(verify_consistency(m, n, root1, root2, without(proof, 0)));
            if (proof.size() > 1) {
                std::vector<Digest> swapped = proof;
                std::swap(swapped[0], swapped[1]);
                EXPECT_FALSE(verify_consistency(m, n, root1, root2, swapped));
            }

            // Moved sizes: refused unless the proof has the same shape there.
            const std::optional<ConsistencyShape> shape = consistency_shape(m, n);
            const std::uint64_t old_sizes[] = {m - 1, m + 1, m ^ 1, m ^ 2, m * 2, m / 2, 0, n};
            const std::uint64_t new_sizes[] = {n - 1, n + 1, n * 2, n / 2, n + 1000, kMaxU64};
            const auto probe = [&](std::uint64_t old_size, std::uint64_t new_size) {
                if (old_size == m && new_size == n) {
                    return;
                }
                const bool same_shape = consistency_shape(old_size, new_size) == shape;
                EXPECT_EQ(verify_consistency(old_size, new_size, root1, root2, proof), same_shape)
                    << "sizes " << old_size << " and " << new_size;
                (same_shape ? moved_and_accepted : moved_and_refused) += 1;
            };
            for (const std::uint64_t old_size : old_sizes) {
                probe(old_size, n);
                for (const std::uint64_t new_size : new_sizes) {
                    probe(old_size, new_size);
                }
            }
            for (const std::uint64_t new_size : new_sizes) {
                probe(m, new_size);
            }
        }
    }
    EXPECT_GT(moved_and_refused, 10 * moved_and_accepted);
}

// ---- The accumulator ---------------------------------------------------------------------

TEST(MerkleAccumulator, RootMatchesForEverySize) {
    constexpr std::size_t kSizes = 3000;
    std::vector<Digest> hashes;
    for (std::size_t i = 0; i < kSizes; ++i) {
        hashes.push_back(leaf_hash("leaf " + std::to_string(i)));
    }
    MerkleAccumulator accumulator;
    EXPECT_EQ(accumulator.root(), root({}));
    for (std::size_t n = 1; n <= kSizes; ++n) {
        accumulator.append(hashes[n - 1]);
        ASSERT_EQ(accumulator.root(), root(std::span(hashes).first(n))) << "size " << n;
        ASSERT_EQ(accumulator.count(), n);
        ASSERT_EQ(accumulator.peaks().size(), static_cast<std::size_t>(std::popcount(n)));
    }
}

TEST(MerkleAccumulator, RestoredAccumulatorContinues) {
    std::vector<Digest> hashes;
    for (std::size_t i = 0; i < 300; ++i) {
        hashes.push_back(leaf_hash("leaf " + std::to_string(i)));
    }
    const std::size_t stops[] = {0, 1, 2, 3, 7, 8, 100, 255, 256, 299};
    for (const std::size_t stop : stops) {
        MerkleAccumulator first;
        for (std::size_t i = 0; i < stop; ++i) {
            first.append(hashes[i]);
        }
        const std::vector<Digest> saved(first.peaks().begin(), first.peaks().end());
        MerkleAccumulator resumed;
        ASSERT_TRUE(MerkleAccumulator::restore(first.count(), saved, resumed));
        EXPECT_EQ(resumed.root(), first.root());
        for (std::size_t i = stop; i < hashes.size(); ++i) {
            resumed.append(hashes[i]);
        }
        EXPECT_EQ(resumed.root(), root(hashes)) << "stopped at " << stop;
    }
}

TEST(MerkleAccumulator, RestoreRefusesTheWrongNumberOfPeaks) {
    MerkleAccumulator accumulator;
    accumulator.append(leaf_hash("kept"));
    const Digest kept_root = accumulator.root();
    const std::vector<Digest> two = {sha256("a"), sha256("b")};
    EXPECT_FALSE(MerkleAccumulator::restore(1, two, accumulator));  // 1 has one set bit
    EXPECT_FALSE(MerkleAccumulator::restore(4, two, accumulator));  // 4 has one set bit
    EXPECT_FALSE(MerkleAccumulator::restore(0, {two.data(), 1}, accumulator));
    EXPECT_EQ(accumulator.root(), kept_root);
    EXPECT_EQ(accumulator.count(), 1u);
    ASSERT_TRUE(MerkleAccumulator::restore(3, two, accumulator));
    EXPECT_EQ(accumulator.root(), node_hash(two[0], two[1]));
}

}  // namespace
}  // namespace cpx::audit
