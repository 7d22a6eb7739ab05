// Tests of cpx_audit's checkpoints (signed tree heads): the exact signed bytes, signing
// and verifying, tampered fields, and the stored form.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "cpx/audit/checkpoint.hpp"
#include "hex.hpp"

namespace cpx::audit {
namespace {

using testing::array_of_hex;
using testing::digest_of_hex;
using testing::hex_of;

// The RFC 8032 TEST 1 key, and the RFC 6962 reference tree's root at size 8.
constexpr const char* kSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kRoot8Hex =
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
constexpr std::int64_t kTsNs = 1700000000123456789;

// Computed with Python (struct, and the `cryptography` package's Ed25519) from the format
// in docs/AUDIT_FORMATS.md, not with this code; printed there for other implementers.
constexpr const char* kMessageHex =
    "6370782d636865636b706f696e742d76310a"                              // "cpx-checkpoint-v1\n"
    "0000000000000008"                                                  // tree_size 8
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"  // root
    "17979cfe3d85cd15";                                                 // ts_ns
constexpr const char* kSignatureHex =
    "1c1601678340f2de1d0d4537dda843f7b9d1018a52fe073f88614933390c1445"
    "5aa1b05b1a40c6c725d781e9768eabb3bd5935d3fd6c54875cb0397f0db6f806";

SigningKey test_key() {
    return SigningKey::from_seed(array_of_hex<kSeedBytes>(kSeedHex));
}

TEST(Checkpoint, SignedBytesAreExact) {
    const std::string message = checkpoint_message(8, digest_of_hex(kRoot8Hex), kTsNs);
    EXPECT_EQ(message.size(), kCheckpointMessageBytes);
    EXPECT_EQ(message.size(), 66u);
    EXPECT_EQ(hex_of(message), kMessageHex);
    // Negative times are two's complement.
    EXPECT_EQ(hex_of(checkpoint_message(0, Digest{}, -1).substr(58)), "ffffffffffffffff");
}

TEST(Checkpoint, KnownSignature) {
    const Checkpoint checkpoint = sign_checkpoint(test_key(), 8, digest_of_hex(kRoot8Hex), kTsNs);
    EXPECT_EQ(checkpoint.tree_size, 8u);
    EXPECT_EQ(checkpoint.root, digest_of_hex(kRoot8Hex));
    EXPECT_EQ(checkpoint.ts_ns, kTsNs);
    EXPECT_EQ(checkpoint.signature, array_of_hex<kSignatureBytes>(kSignatureHex));
    EXPECT_TRUE(verify_checkpoint(checkpoint, test_key().public_key()));
}

TEST(Checkpoint, TamperedFieldsFail) {
    const SigningKey key = SigningKey::generate();
    const Checkpoint good = sign_checkpoint(key, 1234, sha256("root"), kTsNs);
    ASSERT_TRUE(verify_checkpoint(good, key.public_key()));

    for (const std::uint64_t size :
         {std::uint64_t{0}, std::uint64_t{1233}, std::uint64_t{1235}, std::uint64_t{1234} << 32,
          std::numeric_limits<std::uint64_t>::max()}) {
        Checkpoint tampered = good;
        tampered.tree_size = size;
        EXPECT_FALSE(verify_checkpoint(tampered, key.public_key())) << "tree_size " << size;
    }
    for (unsigned bit = 0; bit < 256; ++bit) {
        Checkpoint tampered = good;
        tampered.root[bit / 8] =
            static_cast<std::uint8_t>(tampered.root[bit / 8] ^ (1u << (bit % 8)));
        EXPECT_FALSE(verify_checkpoint(tampered, key.public_key())) << "root bit " << bit;
    }
    for (const std::int64_t ts : {kTsNs - 1, kTsNs + 1, -kTsNs, std::int64_t{0}}) {
        Checkpoint tampered = good;
        tampered.ts_ns = ts;
        EXPECT_FALSE(verify_checkpoint(tampered, key.public_key())) << "ts_ns " << ts;
    }
    for (unsigned bit = 0; bit < 512; ++bit) {
        Checkpoint tampered = good;
        tampered.signature[bit / 8] =
            static_cast<std::uint8_t>(tampered.signature[bit / 8] ^ (1u << (bit % 8)));
        EXPECT_FALSE(verify_checkpoint(tampered, key.public_key())) << "signature bit " << bit;
    }
    // Another key, and a signature over the same fields by another key.
    const SigningKey other = SigningKey::generate();
    EXPECT_FALSE(verify_checkpoint(good, other.public_key()));
    Checkpoint resigned = good;
    resigned.signature = sign_checkpoint(other, 1234, sha256("root"), kTsNs).signature;
    EXPECT_FALSE(verify_checkpoint(resigned, key.public_key()));
    // A signature of the same fields without the prefix is not a checkpoint signature.
    Checkpoint unprefixed = good;
    unprefixed.signature =
        key.sign(checkpoint_message(1234, sha256("root"), kTsNs).substr(kCheckpointPrefix.size()));
    EXPECT_FALSE(verify_checkpoint(unprefixed, key.public_key()));
}

TEST(Checkpoint, EncodeDecodeRoundTrip) {
    const Checkpoint checkpoint = sign_checkpoint(test_key(), 8, digest_of_hex(kRoot8Hex), kTsNs);
    const std::string bytes = encode_checkpoint(checkpoint);
    EXPECT_EQ(bytes.size(), kCheckpointBytes);
    EXPECT_EQ(bytes.size(), 130u);
    EXPECT_EQ(hex_of(bytes), std::string(kMessageHex) + kSignatureHex);
    Checkpoint decoded;
    ASSERT_TRUE(decode_checkpoint(bytes, decoded));
    EXPECT_EQ(decoded, checkpoint);
    EXPECT_TRUE(verify_checkpoint(decoded, test_key().public_key()));

    Checkpoint negative = checkpoint;
    negative.ts_ns = std::numeric_limits<std::int64_t>::min();
    negative.tree_size = std::numeric_limits<std::uint64_t>::max();
    ASSERT_TRUE(decode_checkpoint(encode_checkpoint(negative), decoded));
    EXPECT_EQ(decoded, negative);
}

TEST(Checkpoint, DecodeRefusesOtherBytes) {
    const Checkpoint checkpoint = sign_checkpoint(test_key(), 8, digest_of_hex(kRoot8Hex), kTsNs);
    const std::string bytes = encode_checkpoint(checkpoint);
    const Checkpoint sentinel;
    std::string other_version = bytes;
    other_version[16] = '2';  // "cpx-checkpoint-v2\n"
    for (const std::string& bad :
         {std::string(), bytes.substr(0, bytes.size() - 1), bytes + std::string(1, '\0'),
          other_version, "X" + bytes.substr(1)}) {
        Checkpoint decoded = sentinel;
        EXPECT_FALSE(decode_checkpoint(bad, decoded)) << bad.size();
        EXPECT_EQ(decoded, sentinel);
    }
}

}  // namespace
}  // namespace cpx::audit
