#pragma once

// Hex helpers for the cpx_audit tests: test vectors are written in hex, as their sources
// publish them.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cpx/audit/sha256.hpp"

namespace cpx::audit::testing {

// The bytes that `hex` spells (an even number of hex digits).
inline std::string unhex(std::string_view hex) {
    const auto value = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        ADD_FAILURE() << "not a hex digit: " << c;
        return 0;
    };
    EXPECT_EQ(hex.size() % 2, 0u) << hex;
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes.push_back(static_cast<char>((value(hex[i]) << 4) | value(hex[i + 1])));
    }
    return bytes;
}

inline std::string hex_of(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (const char c : bytes) {
        const auto byte = static_cast<std::uint8_t>(c);
        text.push_back(kDigits[byte >> 4]);
        text.push_back(kDigits[byte & 0x0F]);
    }
    return text;
}

template <std::size_t N>
std::array<std::uint8_t, N> array_of_hex(std::string_view hex) {
    const std::string bytes = unhex(hex);
    EXPECT_EQ(bytes.size(), N) << hex;
    std::array<std::uint8_t, N> array{};
    for (std::size_t i = 0; i < N && i < bytes.size(); ++i) {
        array[i] = static_cast<std::uint8_t>(bytes[i]);
    }
    return array;
}

inline Digest digest_of_hex(std::string_view hex) {
    return array_of_hex<kDigestBytes>(hex);
}

}  // namespace cpx::audit::testing
