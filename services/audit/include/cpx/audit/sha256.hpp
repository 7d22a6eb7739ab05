#pragma once
// SHA-256 (FIPS 180-4) through OpenSSL 3's EVP interface, and the hex form of a digest.
//
// Every hash of the audit record (the hash chain, the Merkle tree, the checkpoints) is
// SHA-256, so that an outsider can check the record with nothing but a standard library.
// OpenSSL's types stay out of this header: callers of cpx_audit do not need its headers.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL's EVP_MD_CTX (openssl/types.h), declared here so that the header does not
// include OpenSSL.
struct evp_md_ctx_st;

namespace cpx::audit {

inline constexpr std::size_t kDigestBytes = 32;
using Digest = std::array<std::uint8_t, kDigestBytes>;

// The SHA-256 of `data`.
Digest sha256(std::string_view data);

// The SHA-256 of the concatenation of `parts`, without building the concatenation: the
// Merkle tree and the hash chain hash a prefix byte and two digests millions of times.
Digest sha256(std::initializer_list<std::string_view> parts);

// The bytes of a digest as a string_view, to feed one digest into another hash.
inline std::string_view as_bytes(const Digest& digest) {
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// The same bytes as a string of their own: a protobuf `bytes` field.
inline std::string bytes_of(const Digest& digest) {
    return std::string(as_bytes(digest));
}

// An incremental SHA-256: update() any number of times, then finish(). finish() leaves the
// object ready for a new message, so one Sha256 can hash many.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    Sha256(Sha256&& other) noexcept;
    Sha256& operator=(Sha256&& other) noexcept;

    Sha256& update(std::string_view data);
    Digest finish();

  private:
    evp_md_ctx_st* context_;
};

// 64 lowercase hex digits.
std::string to_hex(const Digest& digest);

// Parses exactly 64 hex digits (either case) into `digest`. On any other input it returns
// false and leaves `digest` unchanged.
bool from_hex(std::string_view text, Digest& digest);

// Any bytes as lowercase hex, and back (either case; nothing for an odd length or a
// character that is not a hex digit): the form exports and stored hashes travel in.
std::string hex_of_bytes(std::string_view bytes);
std::optional<std::string> bytes_from_hex(std::string_view text);

}  // namespace cpx::audit
