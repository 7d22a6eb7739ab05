#include "cpx/audit/signing.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace cpx::audit {

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdContextPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// A secret buffer, wiped on every way out of the scope that holds it.
template <std::size_t N>
struct SecretBytes {
    std::array<char, N> bytes{};
    SecretBytes() = default;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    ~SecretBytes() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

struct SecretSeed {
    Seed seed{};
    SecretSeed() = default;
    SecretSeed(const SecretSeed&) = delete;
    SecretSeed& operator=(const SecretSeed&) = delete;
    ~SecretSeed() { OPENSSL_cleanse(seed.data(), seed.size()); }
};

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }
    // Closes now, so that the caller sees close's error.
    int close() { return ::close(std::exchange(fd_, -1)); }

  private:
    int fd_;
};

std::string errno_text(int error) {
    return std::error_code(error, std::generic_category()).message();
}

[[noreturn]] void key_file_error(const std::filesystem::path& path, const std::string& what) {
    throw std::runtime_error("signing key file " + path.string() + ": " + what);
}

[[noreturn]] void openssl_error(const char* what) {
    ERR_clear_error();
    throw std::runtime_error(std::string("OpenSSL Ed25519 failed in ") + what);
}

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& path) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            key_file_error(path, "cannot write: " + errno_text(errno));
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
}

}  // namespace

SigningKey::SigningKey(evp_pkey_st* key) : key_(key) {
    assert(key_ != nullptr);
    std::size_t length = public_key_.size();
    if (EVP_PKEY_get_raw_public_key(key_, public_key_.data(), &length) != 1 ||
        length != public_key_.size()) {
        EVP_PKEY_free(key_);
        openssl_error("EVP_PKEY_get_raw_public_key");
    }
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), public_key_(other.public_key_) {}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
    if (this != &other) {
        EVP_PKEY_free(key_);
        key_ = std::exchange(other.key_, nullptr);
        public_key_ = other.public_key_;
    }
    return *this;
}

SigningKey::~SigningKey() {
    EVP_PKEY_free(key_);
}

SigningKey SigningKey::from_seed(const Seed& seed) {
    EVP_PKEY* key =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
    if (key == nullptr) {
        openssl_error("EVP_PKEY_new_raw_private_key");
    }
    return SigningKey(key);
}

SigningKey SigningKey::generate() {
    SecretSeed secret;
    std::size_t filled = 0;
    while (filled < secret.seed.size()) {
        // Flags 0: the urandom source, which blocks only until the kernel's pool has been
        // initialised once after boot.
        const ssize_t got =
            ::getrandom(secret.seed.data() + filled, secret.seed.size() - filled, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error("getrandom failed: " + errno_text(errno));
        }
        filled += static_cast<std::size_t>(got);
    }
    return from_seed(secret.seed);
}

SigningKey SigningKey::load(const std::filesystem::path& path) {
    FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.get() < 0) {
        key_file_error(path, "cannot open: " + errno_text(errno));
    }
    struct stat status {};
    if (::fstat(file.get(), &status) != 0) {
        key_file_error(path, "cannot stat: " + errno_text(errno));
    }
    if (!S_ISREG(status.st_mode)) {
        key_file_error(path, "is not a regular file");
    }
    if ((status.st_mode & 077) != 0) {
        key_file_error(path, "has mode " + mode_text(status.st_mode) +
                                 ", but a signing key must be accessible to its owner only "
                                 "(chmod 600 " +
                                 path.string() + ")");
    }

    // 64 hex digits and a little whitespace; a longer file is not a key file.
    SecretBytes<128> text;
    std::size_t length = 0;
    for (;;) {
        const ssize_t got =
            ::read(file.get(), text.bytes.data() + length, text.bytes.size() - length);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            key_file_error(path, "cannot read: " + errno_text(errno));
        }
        if (got == 0) {
            break;
        }
        length += static_cast<std::size_t>(got);
        if (length == text.bytes.size()) {
            key_file_error(path, "is too long to hold a key (expected 64 hex digits)");
        }
    }
    while (length > 0 && is_space(text.bytes[length - 1])) {
        --length;
    }
    SecretSeed secret;
    if (!from_hex(std::string_view(text.bytes.data(), length), secret.seed)) {
        key_file_error(path, "does not hold a key (expected 64 hex digits)");
    }
    return from_seed(secret.seed);
}

void SigningKey::save(const std::filesystem::path& path) const {
    assert(key_ != nullptr && "use of a moved-from SigningKey");
    SecretSeed secret;
    std::size_t seed_length = secret.seed.size();
    if (EVP_PKEY_get_raw_private_key(key_, secret.seed.data(), &seed_length) != 1 ||
        seed_length != secret.seed.size()) {
        openssl_error("EVP_PKEY_get_raw_private_key");
    }
    SecretBytes<2 * kSeedBytes + 1> text;
    {
        // to_hex's std::string would leave a copy of the secret in freed memory.
        static constexpr char kDigits[] = "0123456789abcdef";
        for (std::size_t i = 0; i < secret.seed.size(); ++i) {
            text.bytes[2 * i] = kDigits[secret.seed[i] >> 4];
            text.bytes[2 * i + 1] = kDigits[secret.seed[i] & 0x0F];
        }
        text.bytes[2 * kSeedBytes] = '\n';
    }

    // O_EXCL: never replace a key (nor follow a symbolic link planted at the path).
    FileDescriptor file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (file.get() < 0) {
        if (errno == EEXIST) {
            key_file_error(path, "exists already; a signing key is never overwritten");
        }
        key_file_error(path, "cannot create: " + errno_text(errno));
    }
    try {
        // The umask may have removed bits from 0600, never added any; fchmod makes the
        // mode exactly 0600 so that load() accepts the file.
        if (::fchmod(file.get(), 0600) != 0) {
            key_file_error(path, "cannot set mode 0600: " + errno_text(errno));
        }
        write_all(file.get(), text.bytes.data(), text.bytes.size(), path);
        if (::fsync(file.get()) != 0) {
            key_file_error(path, "cannot flush to disk: " + errno_text(errno));
        }
        if (file.close() != 0) {
            key_file_error(path, "cannot close: " + errno_text(errno));
        }
        // The new directory entry must reach the disk too.
        const std::filesystem::path directory =
            path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
        FileDescriptor parent(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (parent.get() < 0 || ::fsync(parent.get()) != 0) {
            key_file_error(path, "cannot flush its directory to disk: " + errno_text(errno));
        }
    } catch (...) {
        // A half-written key file would be refused at the next start, or worse, loaded.
        ::unlink(path.c_str());
        throw;
    }
}

Signature SigningKey::sign(std::string_view message) const {
    assert(key_ != nullptr && "use of a moved-from SigningKey");
    MdContextPtr context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (context == nullptr) {
        throw std::bad_alloc();
    }
    // Ed25519 hashes the message itself: no digest is named, and the message is signed in
    // one call (EVP_DigestSign) because Ed25519 cannot be computed incrementally.
    if (EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_) != 1) {
        openssl_error("EVP_DigestSignInit");
    }
    Signature signature{};
    std::size_t length = signature.size();
    if (EVP_DigestSign(context.get(), signature.data(), &length,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        length != signature.size()) {
        openssl_error("EVP_DigestSign");
    }
    return signature;
}

bool verify_signature(std::span<const std::uint8_t> public_key, std::string_view message,
                      std::span<const std::uint8_t> signature) {
    if (public_key.size() != kPublicKeyBytes || signature.size() != kSignatureBytes) {
        return false;
    }
    PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(),
                                            public_key.size()),
                &EVP_PKEY_free);
    MdContextPtr context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    bool valid = false;
    if (key != nullptr && context != nullptr &&
        EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) == 1) {
        // 1 is a valid signature; 0 an invalid one; below 0 a malformed input.
        valid = EVP_DigestVerify(context.get(), signature.data(), signature.size(),
                                 reinterpret_cast<const unsigned char*>(message.data()),
                                 message.size()) == 1;
    }
    // A rejected signature leaves errors on OpenSSL's thread-local queue; they would be
    // misreported by the next unrelated OpenSSL call that checks it.
    ERR_clear_error();
    return valid;
}

}  // namespace cpx::audit
