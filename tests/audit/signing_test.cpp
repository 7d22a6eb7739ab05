// Tests of cpx_audit's Ed25519 keys: the RFC 8032 test vectors, forged and altered
// signatures, wrong keys, malformed inputs, and the key file.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cpx/audit/signing.hpp"
#include "hex.hpp"

namespace cpx::audit {
namespace {

namespace fs = std::filesystem;
using testing::array_of_hex;
using testing::unhex;

// RFC 8032 section 7.1, TEST 1 and TEST 2 (SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE).
// Copied from the RFC's text as reproduced, identically, by several public test suites.
struct Rfc8032Vector {
    const char* secret;
    const char* public_key;
    const char* message;
    const char* signature;
};

constexpr Rfc8032Vector kTest1 = {
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
};

constexpr Rfc8032Vector kTest2 = {
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "72",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
};

// A directory of its own for each test, removed afterwards.
class TempDir {
  public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = fs::temp_directory_path() /
                ("cpx-audit-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
                 std::to_string(std::random_device{}()));
        fs::create_directories(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

void write_file(const fs::path& path, const std::string& text, fs::perms perms) {
    std::ofstream(path, std::ios::binary) << text;
    fs::permissions(path, perms);
}

// The message of `load(path)`'s exception, or "" if it loads.
std::string load_error(const fs::path& path) {
    try {
        SigningKey::load(path);
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    return "";
}

class Rfc8032 : public ::testing::TestWithParam<Rfc8032Vector> {};

TEST_P(Rfc8032, PublicKeyAndSignatureMatch) {
    const Rfc8032Vector& vector = GetParam();
    const SigningKey key = SigningKey::from_seed(array_of_hex<kSeedBytes>(vector.secret));
    EXPECT_EQ(key.public_key(), array_of_hex<kPublicKeyBytes>(vector.public_key));
    const std::string message = unhex(vector.message);
    const Signature signature = key.sign(message);
    EXPECT_EQ(signature, array_of_hex<kSignatureBytes>(vector.signature));
    EXPECT_TRUE(verify_signature(key.public_key(), message, signature));
    // Verification needs only the published public key.
    EXPECT_TRUE(verify_signature(array_of_hex<kPublicKeyBytes>(vector.public_key), message,
                                 array_of_hex<kSignatureBytes>(vector.signature)));
}

TEST_P(Rfc8032, EveryAlteredSignatureFails) {
    const Rfc8032Vector& vector = GetParam();
    const PublicKey public_key = array_of_hex<kPublicKeyBytes>(vector.public_key);
    const std::string message = unhex(vector.message);
    const Signature signature = array_of_hex<kSignatureBytes>(vector.signature);
    for (std::size_t bit = 0; bit < 8 * signature.size(); ++bit) {
        Signature forged = signature;
        forged[bit / 8] = static_cast<std::uint8_t>(forged[bit / 8] ^ (1u << (bit % 8)));
        EXPECT_FALSE(verify_signature(public_key, message, forged)) << "bit " << bit;
    }
    EXPECT_FALSE(verify_signature(public_key, message, Signature{}));
    EXPECT_FALSE(verify_signature(public_key, message + "x", signature));
    if (!message.empty()) {
        std::string altered = message;
        altered[0] = static_cast<char>(altered[0] ^ 1);
        EXPECT_FALSE(verify_signature(public_key, altered, signature));
        EXPECT_FALSE(verify_signature(public_key, "", signature));
    }
}

INSTANTIATE_TEST_SUITE_P(Section7_1, Rfc8032, ::testing::Values(kTest1, kTest2),
                         [](const auto& vector_info) {
                             return "Test" + std::to_string(vector_info.index + 1);
                         });

TEST(Ed25519, WrongKeyFails) {
    const PublicKey key1 = array_of_hex<kPublicKeyBytes>(kTest1.public_key);
    const PublicKey key2 = array_of_hex<kPublicKeyBytes>(kTest2.public_key);
    EXPECT_FALSE(verify_signature(key2, unhex(kTest1.message),
                                  array_of_hex<kSignatureBytes>(kTest1.signature)));
    EXPECT_FALSE(verify_signature(key1, unhex(kTest2.message),
                                  array_of_hex<kSignatureBytes>(kTest2.signature)));
    const SigningKey other = SigningKey::generate();
    const Signature signature = other.sign("checkpoint");
    EXPECT_TRUE(verify_signature(other.public_key(), "checkpoint", signature));
    EXPECT_FALSE(verify_signature(key1, "checkpoint", signature));
}

TEST(Ed25519, MalformedInputsFail) {
    const SigningKey key = SigningKey::generate();
    const Signature signature = key.sign("message");
    const std::vector<std::uint8_t> public_key(key.public_key().begin(), key.public_key().end());
    const std::vector<std::uint8_t> good_signature(signature.begin(), signature.end());
    const std::size_t wrong_key_lengths[] = {0, 1, 31, 33, 64};
    for (const std::size_t length : wrong_key_lengths) {
        std::vector<std::uint8_t> wrong = public_key;
        wrong.resize(length);
        EXPECT_FALSE(verify_signature(wrong, "message", good_signature)) << length;
    }
    const std::size_t wrong_signature_lengths[] = {0, 1, 32, 63, 65, 128};
    for (const std::size_t length : wrong_signature_lengths) {
        std::vector<std::uint8_t> wrong = good_signature;
        wrong.resize(length);
        EXPECT_FALSE(verify_signature(public_key, "message", wrong)) << length;
    }
    // A public key that is no point of the curve, the all-zero key, the all-ones key.
    EXPECT_FALSE(verify_signature(PublicKey{}, "message", signature));
    PublicKey ones;
    ones.fill(0xFF);
    EXPECT_FALSE(verify_signature(ones, "message", signature));
    // A signature whose S is not reduced (S + L has the top bits set): RFC 8032 section
    // 5.1.7 requires rejecting it.
    Signature unreduced = signature;
    for (std::size_t i = 32; i < 64; ++i) {
        unreduced[i] = 0xFF;
    }
    EXPECT_FALSE(verify_signature(key.public_key(), "message", unreduced));
    EXPECT_TRUE(verify_signature(public_key, "message", good_signature));
}

TEST(Ed25519, GeneratedKeysDifferAndSignDeterministically) {
    const SigningKey a = SigningKey::generate();
    const SigningKey b = SigningKey::generate();
    EXPECT_NE(a.public_key(), b.public_key());
    EXPECT_EQ(a.sign("same message"), a.sign("same message"));
    EXPECT_NE(a.sign("same message"), b.sign("same message"));
}

TEST(Ed25519, MovedKeyStillSigns) {
    SigningKey a = SigningKey::from_seed(array_of_hex<kSeedBytes>(kTest1.secret));
    SigningKey b(std::move(a));
    EXPECT_EQ(b.sign(""), array_of_hex<kSignatureBytes>(kTest1.signature));
    SigningKey c = SigningKey::generate();
    c = std::move(b);
    EXPECT_EQ(c.public_key(), array_of_hex<kPublicKeyBytes>(kTest1.public_key));
}

TEST(KeyFile, RoundTripWithMode0600) {
    const TempDir dir;
    const fs::path path = dir.path() / "audit.key";
    const SigningKey key = SigningKey::generate();
    key.save(path);

    struct stat status {};
    ASSERT_EQ(::stat(path.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0600u);
    EXPECT_TRUE(S_ISREG(status.st_mode));

    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.size(), 65u);
    EXPECT_EQ(text.back(), '\n');

    const SigningKey loaded = SigningKey::load(path);
    EXPECT_EQ(loaded.public_key(), key.public_key());
    EXPECT_EQ(loaded.sign("checkpoint"), key.sign("checkpoint"));
}

// The file holds the RFC 8032 secret key in hex, so other tools can read it.
TEST(KeyFile, HoldsTheSeedInHex) {
    const TempDir dir;
    const fs::path path = dir.path() / "audit.key";
    SigningKey::from_seed(array_of_hex<kSeedBytes>(kTest1.secret)).save(path);
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, std::string(kTest1.secret) + "\n");

    // A hand-written file (upper case, Windows line end) loads too.
    const fs::path written = dir.path() / "written.key";
    std::string upper = kTest2.secret;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    write_file(written, upper + "\r\n", fs::perms::owner_read);
    EXPECT_EQ(SigningKey::load(written).public_key(),
              array_of_hex<kPublicKeyBytes>(kTest2.public_key));
}

TEST(KeyFile, SaveNeverOverwrites) {
    const TempDir dir;
    const fs::path path = dir.path() / "audit.key";
    const SigningKey first = SigningKey::generate();
    first.save(path);
    const SigningKey second = SigningKey::generate();
    try {
        second.save(path);
        FAIL() << "overwrote a key file";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("exists already"), std::string::npos)
            << error.what();
    }
    EXPECT_EQ(SigningKey::load(path).public_key(), first.public_key());

    EXPECT_THROW(first.save(dir.path() / "missing" / "audit.key"), std::runtime_error);
}

TEST(KeyFile, LoadRefusesBadFilesClearly) {
    const TempDir dir;
    const std::string seed_hex = kTest1.secret;
    const auto expect_error = [&](const fs::path& path, const std::string& fragment) {
        const std::string error = load_error(path);
        EXPECT_NE(error.find(fragment), std::string::npos) << "error: " << error;
        EXPECT_NE(error.find(path.string()), std::string::npos) << "error: " << error;
    };

    expect_error(dir.path() / "missing.key", "cannot open");
    expect_error(dir.path(), "not a regular file");

    const fs::path readable = dir.path() / "readable.key";
    write_file(readable, seed_hex + "\n",
               fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                   fs::perms::others_read);
    expect_error(readable, "mode 0644");
    const fs::path group_writable = dir.path() / "group.key";
    write_file(group_writable, seed_hex, fs::perms::owner_read | fs::perms::group_write);
    expect_error(group_writable, "owner only");

    const fs::perms private_mode = fs::perms::owner_read | fs::perms::owner_write;
    int counter = 0;
    for (const std::string& bad :
         {std::string(), std::string("\n"), seed_hex.substr(0, 62), seed_hex + "00",
          seed_hex.substr(0, 63) + "z", "0x" + seed_hex.substr(2), " " + seed_hex,
          seed_hex + "\n" + seed_hex, std::string(4096, 'a')}) {
        const fs::path path = dir.path() / ("bad" + std::to_string(counter++) + ".key");
        write_file(path, bad, private_mode);
        const std::string error = load_error(path);
        EXPECT_NE(error.find("64 hex digits"), std::string::npos)
            << "content \"" << bad.substr(0, 80) << "\": " << error;
    }
}

}  // namespace
}  // namespace cpx::audit
