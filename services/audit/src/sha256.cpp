#include "cpx/audit/sha256.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <new>
#include <stdexcept>
#include <utility>

namespace cpx::audit {

namespace {

// The SHA-256 implementation, fetched once: OpenSSL 3 looks an algorithm up in its
// provider tables on every EVP_sha256() initialisation otherwise, which costs more than
// hashing the 65 bytes of a Merkle node. It lives as long as the process.
const EVP_MD* sha256_md() {
    static const EVP_MD* const md = [] {
        EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
        if (fetched == nullptr) {
            throw std::runtime_error("OpenSSL has no SHA2-256 implementation");
        }
        return fetched;
    }();
    return md;
}

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL SHA-256 failed in ") + what);
}

void begin(EVP_MD_CTX* context) {
    if (EVP_DigestInit_ex2(context, sha256_md(), nullptr) != 1) {
        fail("EVP_DigestInit_ex2");
    }
}

void feed(EVP_MD_CTX* context, std::string_view data) {
    if (EVP_DigestUpdate(context, data.data(), data.size()) != 1) {
        fail("EVP_DigestUpdate");
    }
}

Digest end(EVP_MD_CTX* context) {
    Digest digest{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context, digest.data(), &length) != 1) {
        fail("EVP_DigestFinal_ex");
    }
    assert(length == kDigestBytes);
    return digest;
}

// One context per thread for the one-shot functions, so that hashing a Merkle node does
// not allocate.
EVP_MD_CTX* thread_context() {
    struct Owner {
        EVP_MD_CTX* context = EVP_MD_CTX_new();
        Owner() = default;
        Owner(const Owner&) = delete;
        Owner& operator=(const Owner&) = delete;
        ~Owner() { EVP_MD_CTX_free(context); }
    };
    thread_local Owner owner;
    if (owner.context == nullptr) {
        throw std::bad_alloc();
    }
    return owner.context;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

Digest sha256(std::string_view data) {
    EVP_MD_CTX* context = thread_context();
    begin(context);
    feed(context, data);
    return end(context);
}

Digest sha256(std::initializer_list<std::string_view> parts) {
    EVP_MD_CTX* context = thread_context();
    begin(context);
    for (const std::string_view part : parts) {
        feed(context, part);
    }
    return end(context);
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr) {
        throw std::bad_alloc();
    }
    try {
        begin(context_);
    } catch (...) {
        EVP_MD_CTX_free(context_);
        throw;
    }
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(context_);
}

Sha256::Sha256(Sha256&& other) noexcept : context_(std::exchange(other.context_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
    if (this != &other) {
        EVP_MD_CTX_free(context_);
        context_ = std::exchange(other.context_, nullptr);
    }
    return *this;
}

Sha256& Sha256::update(std::string_view data) {
    assert(context_ != nullptr && "use of a moved-from Sha256");
    feed(context_, data);
    return *this;
}

Digest Sha256::finish() {
    assert(context_ != nullptr && "use of a moved-from Sha256");
    const Digest digest = end(context_);
    begin(context_);
    return digest;
}

std::string hex_of_bytes(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text(2 * bytes.size(), '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        text[2 * i] = kDigits[b >> 4];
        text[2 * i + 1] = kDigits[b & 0x0F];
    }
    return text;
}

std::optional<std::string> bytes_from_hex(std::string_view text) {
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string bytes(text.size() / 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const int high = hex_value(text[2 * i]);
        const int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        bytes[i] = static_cast<char>((high << 4) | low);
    }
    return bytes;
}

std::string to_hex(const Digest& digest) {
    return hex_of_bytes(as_bytes(digest));
}

bool from_hex(std::string_view text, Digest& digest) {
    if (text.size() != 2 * kDigestBytes) {
        return false;
    }
    const std::optional<std::string> bytes = bytes_from_hex(text);
    if (!bytes) {
        return false;
    }
    std::copy(bytes->begin(), bytes->end(), reinterpret_cast<char*>(digest.data()));
    return true;
}

}  // namespace cpx::audit
