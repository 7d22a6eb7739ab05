#pragma once
// Shares of an amount in basis points, and the printable-text rule of names and
// references: shared by settlement (fees, penalties), vouchers and administration.

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "cpx/matching/types.hpp"

namespace cpx::exchange::detail {

// amount x bps / 10000, rounded down (towards the payer of the share); amount >= 0 and
// bps <= 10000 keep it in range, and the product is taken in 128 bits.
inline matching::Price share_of(matching::Price amount_fen, std::uint32_t bps) {
    __extension__ using Int128 = __int128;
    return static_cast<matching::Price>(static_cast<Int128>(amount_fen) * bps / 10'000);
}

// 1 to bytes_max bytes of printable ASCII.
inline bool printable(std::string_view text, std::size_t bytes_max) {
    return !text.empty() && text.size() <= bytes_max &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

}  // namespace cpx::exchange::detail
