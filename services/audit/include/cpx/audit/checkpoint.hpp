#pragma once
// The checkpoint of the audit record: a signed tree head. It says "the record's Merkle tree
// had `tree_size` leaves and this root at time `ts_ns`", signed with the exchange's
// Ed25519 key. A verifier that trusts the public key checks the signature, then checks
// records against the root with inclusion proofs, and that a later checkpoint extends an
// earlier one with a consistency proof.
//
// What is signed (checkpoint_message) is 66 bytes:
//
//   "cpx-checkpoint-v1\n"   18 ASCII bytes: what the bytes are, and the format's version
//   tree_size              u64 big-endian
//   root                   32 bytes
//   ts_ns                  i64 big-endian (two's complement): Unix time in nanoseconds
//
// The prefix keeps a checkpoint signature from being valid as the signature of anything
// else the key might sign, and a later format from being read as this one. A stored
// checkpoint (encode_checkpoint) is the signed message followed by the 64-byte signature.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cpx/audit/sha256.hpp"
#include "cpx/audit/signing.hpp"

namespace cpx::audit {

inline constexpr std::string_view kCheckpointPrefix = "cpx-checkpoint-v1\n";
inline constexpr std::size_t kCheckpointMessageBytes = kCheckpointPrefix.size() + 8 + 32 + 8;
inline constexpr std::size_t kCheckpointBytes = kCheckpointMessageBytes + kSignatureBytes;

struct Checkpoint {
    std::uint64_t tree_size = 0;
    Digest root{};
    std::int64_t ts_ns = 0;
    Signature signature{};

    bool operator==(const Checkpoint&) const = default;
};

// The bytes the signature covers.
std::string checkpoint_message(std::uint64_t tree_size, const Digest& root, std::int64_t ts_ns);

Checkpoint sign_checkpoint(const SigningKey& key, std::uint64_t tree_size, const Digest& root,
                           std::int64_t ts_ns);

// True when the checkpoint's signature is valid under `public_key` (32 bytes).
bool verify_checkpoint(const Checkpoint& checkpoint, std::span<const std::uint8_t> public_key);

// The checkpoint's 130-byte stored form: checkpoint_message, then the signature.
std::string encode_checkpoint(const Checkpoint& checkpoint);

// Parses encode_checkpoint's form. False (and `checkpoint` unchanged) if the length or the
// prefix is wrong; the signature is not checked here.
bool decode_checkpoint(std::string_view bytes, Checkpoint& checkpoint);

}  // namespace cpx::audit
