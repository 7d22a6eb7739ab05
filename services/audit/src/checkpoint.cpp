#include "cpx/audit/checkpoint.hpp"

#include <algorithm>
#include <cassert>

#include "cpx/audit/chain.hpp"

namespace cpx::audit {

namespace {

std::uint64_t read_big_endian_u64(std::string_view bytes) {
    assert(bytes.size() >= 8);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
    }
    return value;
}

std::string_view signature_bytes(const Signature& signature) {
    return {reinterpret_cast<const char*>(signature.data()), signature.size()};
}

}  // namespace

std::string checkpoint_message(std::uint64_t tree_size, const Digest& root, std::int64_t ts_ns) {
    // The prefix is a fixed ASCII string, written raw (it is not a length-prefixed field).
    std::string message(kCheckpointPrefix);
    CanonicalWriter fields;
    fields.u64(tree_size).digest(root).i64(ts_ns);
    message.append(fields.data());
    assert(message.size() == kCheckpointMessageBytes);
    return message;
}

Checkpoint sign_checkpoint(const SigningKey& key, std::uint64_t tree_size, const Digest& root,
                           std::int64_t ts_ns) {
    Checkpoint checkpoint;
    checkpoint.tree_size = tree_size;
    checkpoint.root = root;
    checkpoint.ts_ns = ts_ns;
    checkpoint.signature = key.sign(checkpoint_message(tree_size, root, ts_ns));
    return checkpoint;
}

bool verify_checkpoint(const Checkpoint& checkpoint, std::span<const std::uint8_t> public_key) {
    return verify_signature(
        public_key, checkpoint_message(checkpoint.tree_size, checkpoint.root, checkpoint.ts_ns),
        checkpoint.signature);
}

std::string encode_checkpoint(const Checkpoint& checkpoint) {
    std::string bytes = checkpoint_message(checkpoint.tree_size, checkpoint.root, checkpoint.ts_ns);
    bytes.append(signature_bytes(checkpoint.signature));
    assert(bytes.size() == kCheckpointBytes);
    return bytes;
}

bool decode_checkpoint(std::string_view bytes, Checkpoint& checkpoint) {
    if (bytes.size() != kCheckpointBytes || !bytes.starts_with(kCheckpointPrefix)) {
        return false;
    }
    std::string_view rest = bytes.substr(kCheckpointPrefix.size());
    Checkpoint parsed;
    parsed.tree_size = read_big_endian_u64(rest);
    rest.remove_prefix(8);
    std::copy_n(rest.begin(), parsed.root.size(), parsed.root.begin());
    rest.remove_prefix(parsed.root.size());
    parsed.ts_ns = static_cast<std::int64_t>(read_big_endian_u64(rest));
    rest.remove_prefix(8);
    assert(rest.size() == parsed.signature.size());
    std::copy_n(rest.begin(), parsed.signature.size(), parsed.signature.begin());
    checkpoint = parsed;
    return true;
}

}  // namespace cpx::audit
