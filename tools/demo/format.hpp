#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cpx::demo {

// Text for people, from integers only: the demo never converts money, prices or
// quantities to floating point, not even to print them.

// 1234567 -> "1,234,567".
std::string group_thousands(std::int64_t value);

// Fen as yuan: 1234567 -> "12,345.67".
std::string format_cny(std::int64_t fen);

// Basis points as a percentage: 1000 -> "10%", 850 -> "8.5%".
std::string format_bps(std::uint32_t bps);

// Hundredths as a decimal: 321 -> "3.21".
std::string format_hundredths(std::int64_t hundredths);

// numerator / denominator rounded half up, for numerator >= 0 and denominator > 0.
// Written without 2 * numerator so that it cannot overflow.
std::int64_t divide_round_half_up(std::int64_t numerator, std::int64_t denominator);

// The number of columns UTF-8 text takes in a terminal, counting one per code point:
// enough for the demo's text, whose only non-ASCII character is the middle dot of "P·h".
std::size_t display_width(std::string_view text);

std::string pad_left(std::string_view text, std::size_t width);
std::string pad_right(std::string_view text, std::size_t width);

}  // namespace cpx::demo
