#pragma once

// The market a load run trades in: an instrument and accounts with API keys, money and
// capacity, created through cpxd's Admin service with the operator key. Against
// cpx-raw-server (--raw) nothing is created and the accounts are made up, since the raw
// server checks nothing.

#include <cstdint>
#include <string>
#include <vector>

#include "cpx/v1/common.pb.h"
#include "options.hpp"

namespace cpx::load {

struct LoadAccount {
    std::uint32_t account_id = 0;
    std::string api_key;
    cpx::v1::Side side = cpx::v1::SIDE_BUY;  // buyers buy, providers sell
};

struct Market {
    std::uint32_t instrument_id = 0;
    std::int64_t mid_price_fen = 0;
    std::int64_t tick_fen = 1;
    std::int64_t price_min_fen = 1;
    std::int64_t price_max_fen = 0;
    std::int64_t lot_size = 1;
    std::vector<LoadAccount> accounts;  // alternately buyer and provider
};

struct SetupResult {
    Market market;
    std::string error;  // empty on success
    std::string notes;  // what was created or reused, for the report
};

SetupResult prepare_market(const LoadOptions& options);

}  // namespace cpx::load
