#include "cpx/gateway/auth.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace cpx::gateway {

exchange::KeyHash hash_api_key(std::string_view key) {
    exchange::KeyHash hash{};
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), hash.data());
    return hash;
}

std::optional<exchange::KeyHash> caller_key_hash(const grpc::CallbackServerContext& context) {
    const auto& metadata = context.client_metadata();
    const auto it = metadata.find(grpc::string_ref(kApiKeyHeader.data(), kApiKeyHeader.size()));
    if (it == metadata.end() || it->second.empty()) {
        return std::nullopt;
    }
    return hash_api_key(std::string_view(it->second.data(), it->second.size()));
}

std::string generate_api_key() {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) {
        throw std::runtime_error("the operating system's random source failed");
    }
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string key = "cpx_";
    // base64url without padding: 6 bits a character.
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (const unsigned char byte : random) {
        bits = (bits << 8) | byte;
        bit_count += 8;
        while (bit_count >= 6) {
            bit_count -= 6;
            key.push_back(kAlphabet[(bits >> bit_count) & 0x3Fu]);
        }
    }
    if (bit_count > 0) {
        key.push_back(kAlphabet[(bits << (6 - bit_count)) & 0x3Fu]);
    }
    return key;
}

}  // namespace cpx::gateway
