#pragma once
// The binary format of snapshots: a small writer and a bounds-checked reader shared by
// the engine (Engine::save, Engine::load) and the exchange around it.
//
// A snapshot is
//   magic "CPXSNAP\0" (8 bytes) | format version (u32) | body | checksum (u64)
// where the checksum covers everything before it. Integers in the body are unsigned
// LEB128 varints, signed ones zigzag-encoded first; fixed-width values are little-endian.
// The reader never reads past its end: a short or malformed input makes it fail (and
// every later read return zero), and the loaders check ok() before they trust a value.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cpx::matching {

static_assert(std::endian::native == std::endian::little, "snapshots assume a little-endian host");

inline constexpr char kSnapshotMagic[8] = {'C', 'P', 'X', 'S', 'N', 'A', 'P', '\0'};
// Bump on every change of what is written; a reader refuses every other version.
inline constexpr std::uint32_t kSnapshotVersion = 5;

// A checksum of a byte range, eight bytes per step in four independent lanes (about
// 10 GB/s). Every step is a bijection of its lane's state for a fixed word and of the
// word for a fixed state, so a change confined to one aligned 8-byte word is always
// detected, and the length is mixed in, so a truncation is too; other corruptions are
// missed with probability about 2^-64. Not a cryptographic hash: it guards against
// damage, not against forgery.
inline std::uint64_t snapshot_checksum(const void* data, std::size_t size) {
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
    constexpr std::uint64_t kMul2 = 0xC2B2AE3D27D4EB4Full;
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                             0x082EFA98EC4E6C89ull};
    const auto step = [](std::uint64_t h, std::uint64_t w) {
        h = (h ^ w) * kMul;
        return std::rotl(h, 29) + 0x632BE59BD9B4E019ull;
    };
    std::size_t i = 0;
    for (; i + 32 <= size; i += 32) {
        for (int k = 0; k < 4; ++k) {
            std::uint64_t w;
            std::memcpy(&w, p + i + 8 * static_cast<std::size_t>(k), 8);
            lane[k] = step(lane[k], w);
        }
    }
    int k = 0;
    for (; i < size; i += 8, k = (k + 1) & 3) {
        std::uint64_t w = 0;
        std::memcpy(&w, p + i, size - i < 8 ? size - i : 8);
        lane[k] = step(lane[k], w);
    }
    std::uint64_t h = size * kMul2;
    for (const std::uint64_t l : lane) {
        h = step(h, l);
    }
    h ^= h >> 33;
    h *= kMul2;
    h ^= h >> 29;
    return h;
}

class SnapshotWriter {
  public:
    explicit SnapshotWriter(std::string& out) : out_(out) {}

    // The header: magic and format version.
    void begin() {
        out_.append(kSnapshotMagic, sizeof(kSnapshotMagic));
        fixed32(kSnapshotVersion);
    }
    // The trailer: the checksum of everything written since the start of the buffer.
    void finish() { fixed64(snapshot_checksum(out_.data(), out_.size())); }

    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void fixed32(std::uint32_t v) { raw(&v, sizeof(v)); }
    void fixed64(std::uint64_t v) { raw(&v, sizeof(v)); }
    void varint(std::uint64_t v) {
        char buffer[10];
        std::size_t n = 0;
        while (v >= 0x80) {
            buffer[n++] = static_cast<char>((v & 0x7F) | 0x80);
            v >>= 7;
        }
        buffer[n++] = static_cast<char>(v);
        out_.append(buffer, n);
    }
    void svarint(std::int64_t v) {
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void boolean(bool v) { u8(v ? 1 : 0); }
    void raw(const void* data, std::size_t size) {
        out_.append(static_cast<const char*>(data), size);
    }
    // A length-prefixed byte string.
    void bytes(std::string_view text) {
        varint(text.size());
        out_.append(text.data(), text.size());
    }
    // A four-character section tag, so that a reader out of step fails at the next tag
    // instead of reading one section's bytes as another's.
    void tag(const char (&name)[5]) { raw(name, 4); }

    std::size_t size() const { return out_.size(); }
    void reserve(std::size_t bytes) { out_.reserve(bytes); }

  private:
    std::string& out_;
};

class SnapshotReader {
  public:
    explicit SnapshotReader(std::string_view bytes)
        : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

    // Checks the header and the trailer of a whole snapshot and leaves the reader on the
    // first byte of the body, with the checksum cut off its end.
    bool open() {
        constexpr std::size_t kHeader = sizeof(kSnapshotMagic) + 4;
        const std::size_t total = remaining();
        if (total < kHeader + 8) {
            return fail("snapshot too short");
        }
        if (std::memcmp(p_, kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
            return fail("not a snapshot (bad magic)");
        }
        std::uint32_t version = 0;
        std::memcpy(&version, p_ + sizeof(kSnapshotMagic), 4);
        if (version != kSnapshotVersion) {
            return fail("unsupported snapshot format version " + std::to_string(version));
        }
        std::uint64_t stored = 0;
        std::memcpy(&stored, end_ - 8, 8);
        if (snapshot_checksum(p_, total - 8) != stored) {
            return fail("snapshot checksum mismatch");
        }
        p_ += kHeader;
        end_ -= 8;
        return true;
    }

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }
    std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
    bool at_end() const { return p_ == end_; }

    // Marks the input bad. The first reason is kept. Returns false, for `return fail(...)`.
    bool fail(std::string_view why) {
        if (ok_) {
            ok_ = false;
            error_ = std::string(why);
        }
        p_ = end_;
        return false;
    }

    std::uint8_t u8() {
        if (p_ == end_) {
            fail("snapshot truncated");
            return 0;
        }
        return *p_++;
    }
    std::uint32_t fixed32() {
        std::uint32_t v = 0;
        raw(&v, sizeof(v));
        return v;
    }
    std::uint64_t fixed64() {
        std::uint64_t v = 0;
        raw(&v, sizeof(v));
        return v;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ == end_) {
                fail("snapshot truncated");
                return 0;
            }
            const std::uint8_t b = *p_++;
            if (shift == 63 && b > 1) {
                fail("varint overflows 64 bits");
                return 0;
            }
            v |= std::uint64_t{b & 0x7Fu} << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        fail("varint too long");
        return 0;
    }
    std::int64_t svarint() {
        const std::uint64_t v = varint();
        return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
    }
    // A varint that must fit in 32 bits.
    std::uint32_t varint32() {
        const std::uint64_t v = varint();
        if (v > 0xFFFFFFFFu) {
            fail("value out of range");
            return 0;
        }
        return static_cast<std::uint32_t>(v);
    }
    bool boolean() {
        const std::uint8_t v = u8();
        if (v > 1) {
            fail("bad boolean");
            return false;
        }
        return v == 1;
    }
    void raw(void* out, std::size_t size) {
        if (remaining() < size) {
            fail("snapshot truncated");
            std::memset(out, 0, size);
            return;
        }
        std::memcpy(out, p_, size);
        p_ += size;
    }
    // A length-prefixed byte string of at most max_size bytes.
    std::string bytes(std::size_t max_size) {
        const std::uint64_t size = varint();
        if (size > max_size || size > remaining()) {
            fail(size > max_size ? "string too long" : "snapshot truncated");
            return {};
        }
        std::string out(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(size));
        p_ += size;
        return out;
    }
    // A count of items that take at least min_bytes each: refused when the rest of the
    // input could not hold them, so that a corrupt count never sizes an allocation.
    std::size_t count(std::size_t min_bytes, std::uint64_t max_count) {
        const std::uint64_t n = varint();
        if (n > max_count || (min_bytes > 0 && n > remaining() / min_bytes)) {
            fail("count out of range");
            return 0;
        }
        return static_cast<std::size_t>(n);
    }
    bool expect_tag(const char (&name)[5]) {
        char got[4] = {};
        raw(got, 4);
        if (ok_ && std::memcmp(got, name, 4) != 0) {
            return fail(std::string("snapshot section ") + name + " not found");
        }
        return ok_;
    }

  private:
    const unsigned char* p_;
    const unsigned char* end_;
    bool ok_ = true;
    std::string error_;
};

}  // namespace cpx::matching
