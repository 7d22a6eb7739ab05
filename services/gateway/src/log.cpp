#include "cpx/gateway/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace cpx::gateway {

namespace {

void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
                    out += buffer;
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

}  // namespace

void log_event(std::string_view level, std::string_view event,
               std::initializer_list<LogField> fields) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    std::string line = "{\"ts\":\"";
    line += stamp;
    line += "\",\"level\":";
    append_json_string(line, level);
    line += ",\"event\":";
    append_json_string(line, event);
    for (const LogField& f : fields) {
        line.push_back(',');
        append_json_string(line, f.key);
        line.push_back(':');
        if (f.quoted) {
            append_json_string(line, f.value);
        } else {
            line += f.value;
        }
    }
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace cpx::gateway
