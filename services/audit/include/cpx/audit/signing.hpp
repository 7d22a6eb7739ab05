#pragma once
// Ed25519 signatures (RFC 8032, "pure" Ed25519: no pre-hash, no context) through OpenSSL
// 3's EVP interface.
//
// The exchange signs each checkpoint of the audit record with one long-lived key; anyone
// holding its 32-byte public key can check every checkpoint. Ed25519 signing is
// deterministic: the same key and message always give the same 64 bytes.
//
// The key file holds the key's 32-byte seed (RFC 8032's "private key") as 64 hex digits
// and a newline, and must be readable by its owner only: save() creates it with mode
// 0600 and refuses to overwrite an existing file (a lost signing key cannot be
// recovered); load() refuses a file that its group or others may read or write.

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "cpx/audit/sha256.hpp"

// OpenSSL's EVP_PKEY (openssl/types.h), declared here so that the header does not include
// OpenSSL.
struct evp_pkey_st;

namespace cpx::audit {

inline constexpr std::size_t kPublicKeyBytes = 32;
inline constexpr std::size_t kSignatureBytes = 64;
inline constexpr std::size_t kSeedBytes = 32;
using PublicKey = std::array<std::uint8_t, kPublicKeyBytes>;
using Signature = std::array<std::uint8_t, kSignatureBytes>;
using Seed = std::array<std::uint8_t, kSeedBytes>;

class SigningKey {
  public:
    // A new key from the operating system's random number generator (getrandom(2)).
    static SigningKey generate();

    // The key whose RFC 8032 private key (seed) is `seed`.
    static SigningKey from_seed(const Seed& seed);

    // Reads a key file. Throws std::runtime_error naming the file and the problem: it
    // cannot be opened or read, is not a regular file, is accessible to its group or
    // others, or does not hold exactly 64 hex digits (optionally followed by whitespace).
    static SigningKey load(const std::filesystem::path& path);

    // Writes the key file with mode 0600 and flushes it to disk. Throws
    // std::runtime_error if the file exists already or cannot be written.
    void save(const std::filesystem::path& path) const;

    SigningKey(const SigningKey&) = delete;
    SigningKey& operator=(const SigningKey&) = delete;
    SigningKey(SigningKey&& other) noexcept;
    SigningKey& operator=(SigningKey&& other) noexcept;
    ~SigningKey();

    const PublicKey& public_key() const { return public_key_; }

    Signature sign(std::string_view message) const;

  private:
    explicit SigningKey(evp_pkey_st* key);

    evp_pkey_st* key_;
    PublicKey public_key_{};
};

// True when `signature` is a valid Ed25519 signature of `message` under `public_key`.
// False on anything else, including a public key or signature of the wrong length.
bool verify_signature(std::span<const std::uint8_t> public_key, std::string_view message,
                      std::span<const std::uint8_t> signature);

}  // namespace cpx::audit
