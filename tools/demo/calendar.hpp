#pragma once

#include <cstdint>
#include <string>

#include "cpx/matching/types.hpp"

namespace cpx::demo {

// Simulated time, in nanoseconds since the Unix epoch like the engine's timestamps.
// China Standard Time is UTC+8 all year, without daylight saving, so local time is a
// fixed offset and every conversion here is integer arithmetic.
inline constexpr std::int64_t kNsPerMs = 1'000'000;
inline constexpr std::int64_t kNsPerSecond = 1'000'000'000;
inline constexpr std::int64_t kSecondsPerDay = 86'400;
inline constexpr std::int64_t kChinaUtcOffsetSeconds = 8 * 3'600;

// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    if (month <= 2) {
        --year;
    }
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146'097 + static_cast<std::int64_t>(day_of_era) - 719'468;
}

// The instant of a wall-clock time in China.
constexpr matching::Timestamp china_time(std::int64_t year, unsigned month, unsigned day,
                                         std::int64_t hour, std::int64_t minute) {
    const std::int64_t seconds = days_from_civil(year, month, day) * kSecondsPerDay + hour * 3'600 +
                                 minute * 60 - kChinaUtcOffsetSeconds;
    return seconds * kNsPerSecond;
}

// "09:05:12.345" in China Standard Time.
std::string format_clock(matching::Timestamp ts);
// "2026-03-02" in China Standard Time.
std::string format_date(matching::Timestamp ts);
// "03-03 08:00" in China Standard Time.
std::string format_month_day_minute(matching::Timestamp ts);

}  // namespace cpx::demo
