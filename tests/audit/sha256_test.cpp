// Tests of cpx_audit's SHA-256: the FIPS 180-4 examples, the incremental interface against
// the one-shot one, and the hex form of digests.

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "cpx/audit/sha256.hpp"
#include "hex.hpp"

namespace cpx::audit {
namespace {

using testing::digest_of_hex;

// FIPS 180-4 (via the NIST example documents for SHA-256): the empty message, "abc"
// (one block), the 448-bit message (two blocks once padded) and one million 'a'.
TEST(Sha256, FipsVectors) {
    EXPECT_EQ(to_hex(sha256("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(to_hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(to_hex(sha256(std::string(1000000, 'a'))),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalMatchesOneShotAtEverySplit) {
    std::string message;
    for (int i = 0; i < 200; ++i) {
        message.push_back(static_cast<char>(i * 7 + 3));
    }
    const Digest expected = sha256(message);
    Sha256 hasher;
    for (std::size_t split = 0; split <= message.size(); ++split) {
        hasher.update(std::string_view(message).substr(0, split));
        hasher.update(std::string_view(message).substr(split));
        // finish() leaves the hasher ready for the next message.
        EXPECT_EQ(hasher.finish(), expected) << "split at " << split;
    }
}

TEST(Sha256, PartsHashTheirConcatenation) {
    EXPECT_EQ(sha256({"a", "", "bc"}), sha256("abc"));
    EXPECT_EQ(sha256({}), sha256(""));
    const std::string with_zero("x\0y", 3);
    EXPECT_EQ(sha256({"x", std::string_view("\0", 1), "y"}), sha256(with_zero));
}

TEST(Sha256, MovedHasherKeepsItsState) {
    Sha256 first;
    first.update("ab");
    Sha256 second(std::move(first));
    second.update("c");
    EXPECT_EQ(second.finish(), sha256("abc"));
    Sha256 third;
    third = std::move(second);
    EXPECT_EQ(third.update("abc").finish(), sha256("abc"));
}

TEST(Sha256, HexRoundTrip) {
    const Digest digest = sha256("abc");
    const std::string text = to_hex(digest);
    EXPECT_EQ(text.size(), 64u);
    Digest parsed{};
    ASSERT_TRUE(from_hex(text, parsed));
    EXPECT_EQ(parsed, digest);
    EXPECT_EQ(digest_of_hex(text), digest);

    std::string upper = text;
    for (char& c : upper) {
        if (c >= 'a' && c <= 'f') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    Digest from_upper{};
    ASSERT_TRUE(from_hex(upper, from_upper));
    EXPECT_EQ(from_upper, digest);
}

TEST(Sha256, FromHexRejectsAnythingElseAndLeavesTheDigestAlone) {
    const std::string good = to_hex(sha256("abc"));
    const Digest sentinel = sha256("sentinel");
    for (const std::string& bad : {std::string(), good.substr(1), good + "0", good + " ",
                                   " " + good, good.substr(0, 63) + "g", "0x" + good.substr(2),
                                   good.substr(0, 31) + "-" + good.substr(32)}) {
        Digest digest = sentinel;
        EXPECT_FALSE(from_hex(bad, digest)) << bad;
        EXPECT_EQ(digest, sentinel) << bad;
    }
}

}  // namespace
}  // namespace cpx::audit
