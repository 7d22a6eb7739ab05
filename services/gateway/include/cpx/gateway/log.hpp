#pragma once
// Structured logs: one JSON object a line on standard error, with the time, a level,
// an event name and its fields, so that a log shipper can parse them and a person can
// still read them.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace cpx::gateway {

struct LogField {
    std::string_view key;
    std::string value;
    bool quoted = true;
};

inline LogField field(std::string_view key, std::string_view value) {
    return LogField{key, std::string(value), true};
}
inline LogField field(std::string_view key, std::int64_t value) {
    return LogField{key, std::to_string(value), false};
}

void log_event(std::string_view level, std::string_view event,
               std::initializer_list<LogField> fields = {});

}  // namespace cpx::gateway
