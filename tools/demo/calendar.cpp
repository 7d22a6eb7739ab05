#include "calendar.hpp"

namespace cpx::demo {

namespace {

struct CivilDate {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

// The inverse of days_from_civil (Howard Hinnant's civil_from_days).
CivilDate civil_from_days(std::int64_t days) {
    days += 719'468;
    const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
    const auto day_of_era = static_cast<unsigned>(days - era * 146'097);
    const unsigned year_of_era =
        (day_of_era - day_of_era / 1'460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
    const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400;
    const unsigned day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const unsigned shifted_month = (5 * day_of_year + 2) / 153;
    const unsigned day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    const unsigned month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
    return {month <= 2 ? year + 1 : year, month, day};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
    return a - floor_div(a, b) * b;
}

std::string zero_padded(std::int64_t value, std::size_t width) {
    std::string digits = std::to_string(value);
    if (digits.size() < width) {
        digits.insert(0, width - digits.size(), '0');
    }
    return digits;
}

std::int64_t local_seconds(matching::Timestamp ts) {
    return floor_div(ts, kNsPerSecond) + kChinaUtcOffsetSeconds;
}

CivilDate local_date(matching::Timestamp ts) {
    return civil_from_days(floor_div(local_seconds(ts), kSecondsPerDay));
}

}  // namespace

std::string format_clock(matching::Timestamp ts) {
    const std::int64_t second_of_day = floor_mod(local_seconds(ts), kSecondsPerDay);
    const std::int64_t millis = floor_mod(ts, kNsPerSecond) / kNsPerMs;
    return zero_padded(second_of_day / 3'600, 2) + ":" + zero_padded(second_of_day / 60 % 60, 2) +
           ":" + zero_padded(second_of_day % 60, 2) + "." + zero_padded(millis, 3);
}

std::string format_date(matching::Timestamp ts) {
    const CivilDate date = local_date(ts);
    return zero_padded(date.year, 4) + "-" + zero_padded(date.month, 2) + "-" +
           zero_padded(date.day, 2);
}

std::string format_month_day_minute(matching::Timestamp ts) {
    const CivilDate date = local_date(ts);
    const std::int64_t second_of_day = floor_mod(local_seconds(ts), kSecondsPerDay);
    return zero_padded(date.month, 2) + "-" + zero_padded(date.day, 2) + " " +
           zero_padded(second_of_day / 3'600, 2) + ":" + zero_padded(second_of_day / 60 % 60, 2);
}

}  // namespace cpx::demo
