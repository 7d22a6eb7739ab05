#include "format.hpp"

namespace cpx::demo {

namespace {

std::string group_digits(std::uint64_t magnitude) {
    const std::string digits = std::to_string(magnitude);
    std::string out;
    const std::size_t n = digits.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0 && (n - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(digits[i]);
    }
    return out;
}

// The magnitude as unsigned, so that the most negative value does not overflow.
std::uint64_t magnitude_of(std::int64_t value) {
    return value < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(value)
                     : static_cast<std::uint64_t>(value);
}

char digit(std::uint64_t value) {
    return static_cast<char>('0' + value % 10);
}

// The sign is appended rather than prepended with operator+ (const char*, std::string&&),
// which trips GCC 12's false -Wrestrict warning (GCC bug 105329).
std::string signed_text(bool negative, const std::string& digits) {
    std::string out(negative ? "-" : "");
    out += digits;
    return out;
}

}  // namespace

std::string group_thousands(std::int64_t value) {
    return signed_text(value < 0, group_digits(magnitude_of(value)));
}

std::string format_cny(std::int64_t fen) {
    const std::uint64_t magnitude = magnitude_of(fen);
    std::string out = signed_text(fen < 0, group_digits(magnitude / 100));
    out.push_back('.');
    out.push_back(digit(magnitude % 100 / 10));
    out.push_back(digit(magnitude % 10));
    return out;
}

std::string format_bps(std::uint32_t bps) {
    std::string out = std::to_string(bps / 100);
    const std::uint32_t fraction = bps % 100;
    if (fraction != 0) {
        out.push_back('.');
        out.push_back(digit(fraction / 10));
        if (fraction % 10 != 0) {
            out.push_back(digit(fraction));
        }
    }
    out.push_back('%');
    return out;
}

std::string format_hundredths(std::int64_t hundredths) {
    const std::uint64_t magnitude = magnitude_of(hundredths);
    std::string out = signed_text(hundredths < 0, std::to_string(magnitude / 100));
    out.push_back('.');
    out.push_back(digit(magnitude % 100 / 10));
    out.push_back(digit(magnitude % 10));
    return out;
}

std::int64_t divide_round_half_up(std::int64_t numerator, std::int64_t denominator) {
    const std::int64_t quotient = numerator / denominator;
    const std::int64_t remainder = numerator % denominator;
    return remainder >= denominator - remainder ? quotient + 1 : quotient;
}

std::size_t display_width(std::string_view text) {
    std::size_t width = 0;
    for (const char c : text) {
        // Continuation bytes of a multi-byte UTF-8 sequence look like 10xxxxxx.
        if ((static_cast<unsigned char>(c) & 0xC0u) != 0x80u) {
            ++width;
        }
    }
    return width;
}

std::string pad_left(std::string_view text, std::size_t width) {
    const std::size_t used = display_width(text);
    std::string out(used < width ? width - used : 0, ' ');
    out.append(text);
    return out;
}

std::string pad_right(std::string_view text, std::size_t width) {
    const std::size_t used = display_width(text);
    std::string out(text);
    out.append(used < width ? width - used : 0, ' ');
    return out;
}

}  // namespace cpx::demo
