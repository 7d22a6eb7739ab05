#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "calendar.hpp"
#include "cpx/matching/instrument.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::demo {

// What the simulated exchange lists and who trades on it.

// The trading session is on 2026-03-02; the capacity products deliver the day after,
// like the day-ahead products of a power market.
inline constexpr matching::Timestamp kSessionOpen = china_time(2026, 3, 2, 9, 0);

enum class Period : std::uint8_t {
    Peak,     // 08:00-22:00, priced like the peak of a time-of-use tariff
    OffPeak,  // 00:00-08:00, the valley: at least three times cheaper
    Day,      // a whole day, for the accelerator-class product
    Quota,    // a validity period for token bundles
};

// A listed product: the engine's rules for it, plus how the simulated participants size
// and spread their orders in it.
struct Listing {
    matching::InstrumentSpec spec;
    Period period = Period::Day;
    matching::Price quote_step = 1;  // spacing of quotes around the reference, a tick multiple
    std::int64_t buy_lots_min = 1;   // a buyer's order, in lots
    std::int64_t buy_lots_max = 1;
    std::int64_t sell_lots_min = 1;  // a provider's offer, in lots
    std::int64_t sell_lots_max = 1;
    std::int64_t job_lots_min = 1;  // a job that needs all its capacity at once, in lots
    std::int64_t job_lots_max = 1;
};

enum class Role : std::uint8_t { Provider, Buyer, Broker };

struct Participant {
    matching::AccountId account = 0;
    std::string_view name;  // at most 18 columns, for the trade tape
    Role role = Role::Buyer;
    std::string_view about;
    // What it sells (a provider), buys (a buyer) or quotes on both sides (a broker).
    std::vector<matching::InstrumentId> instruments;
};

struct Catalog {
    std::vector<Listing> listings;  // in ascending instrument id
    std::vector<Participant> participants;

    const Listing* find_listing(matching::InstrumentId id) const;
    const Listing& listing(matching::InstrumentId id) const;  // the id must be listed
    const Participant* find_participant(matching::AccountId account) const;
    std::string_view name_of(matching::AccountId account) const;
    std::vector<matching::InstrumentId> instrument_ids() const;
    // The participants of one role active in an instrument, in catalog order.
    std::vector<const Participant*> active_in(matching::InstrumentId id, Role role) const;
};

// The listing of 2026-03-02: peak and off-peak capacity in five hubs of the "East Data,
// West Computing" programme, H100 node-hours in Hohhot and a token bundle.
Catalog make_catalog();

std::string_view period_name(Period period);
std::string_view role_name(Role role);

// The instruments and accounts of the scripted scenes (see schedule.hpp).
inline constexpr matching::InstrumentId kHohhotPeak = 1;
inline constexpr matching::InstrumentId kZhongweiPeak = 7;
inline constexpr matching::InstrumentId kWuhuPeak = 9;
inline constexpr matching::AccountId kHelingerPark = 102;
inline constexpr matching::AccountId kZhongweiWest = 107;
inline constexpr matching::AccountId kHaidianLab = 201;
inline constexpr matching::AccountId kJinghuaBrokers = 301;

}  // namespace cpx::demo
