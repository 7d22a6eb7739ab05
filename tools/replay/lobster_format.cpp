#include "lobster.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

// This file reads LOBSTER's message and orderbook files and writes book rows in the
// orderbook file's own format. The parsing rules live apart from the replay so that
// the tests can exercise them on their own.

namespace cpx::replay {

namespace {

std::string describe(const std::string& source, std::size_t line, const std::string& what) {
    if (line == 0) {
        return source + ": " + what;
    }
    return source + ":" + std::to_string(line) + ": " + what;
}

}  // namespace

InputError::InputError(const std::string& source, std::size_t line, const std::string& what)
    : std::runtime_error(describe(source, line, what)), line_(line) {}

// ---------------------------------------------------------------------------------------
// Parsing

namespace {

bool parse_int(std::string_view text, std::int64_t& out) {
    if (text.empty()) {
        return false;
    }
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(first, last, out);
    return ec == std::errc() && ptr == last;
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Calls handle(line, number) for every line of text, numbered from 1. A final line
// without "\n" counts; a "\r" before the "\n" is dropped; an empty line is an error,
// except that the text may end with "\n".
template <typename Handler>
void for_each_line(std::string_view text, const std::string& source, Handler&& handle) {
    std::size_t number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = text.find('\n', pos);
        std::string_view line =
            end == std::string_view::npos ? text.substr(pos) : text.substr(pos, end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            throw InputError(source, number, "empty line");
        }
        handle(line, number);
    }
    if (number == 0) {
        throw InputError(source, 0, "the file has no rows");
    }
}

// Splits a line at commas into fields; returns how many there are. Fields beyond
// max_fields are counted but not stored.
std::size_t split_fields(std::string_view line, std::string_view* fields, std::size_t max_fields) {
    std::size_t count = 0;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t comma = line.find(',', pos);
        const std::string_view field =
            comma == std::string_view::npos ? line.substr(pos) : line.substr(pos, comma - pos);
        if (count < max_fields) {
            fields[count] = field;
        }
        ++count;
        if (comma == std::string_view::npos) {
            return count;
        }
        pos = comma + 1;
    }
}

std::string quoted(std::string_view text) {
    constexpr std::size_t kShown = 40;
    std::string out = "'";
    out.append(text.substr(0, kShown));
    if (text.size() > kShown) {
        out += "...";
    }
    out += "'";
    return out;
}

}  // namespace

bool parse_timestamp(std::string_view text, Timestamp& out) {
    constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(fraction)) ||
        fraction.size() > 9) {
        return false;
    }
    std::int64_t seconds = 0;
    if (!parse_int(whole, seconds) ||
        seconds > std::numeric_limits<std::int64_t>::max() / kNanosPerSecond - 1) {
        return false;
    }
    std::int64_t nanos = 0;
    if (!fraction.empty() && !parse_int(fraction, nanos)) {
        return false;
    }
    // "0.18960767" has 8 digits: tenths of a nanosecond count for nothing, so the
    // digits are scaled as if padded with zeros on the right to 9.
    for (std::size_t digits = fraction.size(); digits < 9; ++digits) {
        nanos *= 10;
    }
    out = seconds * kNanosPerSecond + nanos;
    return true;
}

std::vector<Message> parse_messages(std::string_view text, const std::string& source) {
    std::vector<Message> out;
    out.reserve(text.size() / 32 + 1);
    for_each_line(text, source, [&](std::string_view line, std::size_t number) {
        std::array<std::string_view, 6> f;
        const std::size_t count = split_fields(line, f.data(), f.size());
        if (count != 6) {
            throw InputError(source, number,
                             "expected 6 fields (time,type,order id,size,price,direction), found " +
                                 std::to_string(count));
        }
        Message m;
        m.line = number;
        if (!parse_timestamp(f[0], m.ts_ns)) {
            throw InputError(
                source, number,
                "time " + quoted(f[0]) + " is not seconds after midnight with at most 9 decimals");
        }
        if (!out.empty() && m.ts_ns < out.back().ts_ns) {
            throw InputError(source, number,
                             "time " + quoted(f[0]) + " is before the previous row's");
        }
        std::int64_t type = 0;
        if (!parse_int(f[1], type) || type < 1 || type > 7) {
            throw InputError(source, number, "event type " + quoted(f[1]) + " is not 1 to 7");
        }
        m.type = static_cast<MessageType>(type);
        std::int64_t id = 0;
        std::int64_t size = 0;
        std::int64_t price = 0;
        std::int64_t direction = 0;
        if (!parse_int(f[2], id)) {
            throw InputError(source, number, "order id " + quoted(f[2]) + " is not an integer");
        }
        if (!parse_int(f[3], size)) {
            throw InputError(source, number, "size " + quoted(f[3]) + " is not an integer");
        }
        if (!parse_int(f[4], price)) {
            throw InputError(source, number,
                             "price " + quoted(f[4]) +
                                 " is not an integer (LOBSTER prices are dollars x 10000)");
        }
        if (!parse_int(f[5], direction) || (direction != 1 && direction != -1)) {
            throw InputError(source, number, "direction " + quoted(f[5]) + " is not 1 or -1");
        }
        const bool visible = type <= 4;
        if (visible && (id <= 0 || static_cast<OrderId>(id) >= kReservedIdBase)) {
            throw InputError(source, number,
                             "order id " + quoted(f[2]) + " is not between 1 and 2^62 - 1");
        }
        if (type <= 5 && size <= 0) {
            throw InputError(source, number, "size " + quoted(f[3]) + " is not positive");
        }
        if (type <= 5 && (price <= 0 || price >= kDummyAskPrice)) {
            throw InputError(source, number,
                             "price " + quoted(f[4]) + " is not between 1 and 9999999998");
        }
        if (type == 6 && (size < 0 || price < 0 || price >= kDummyAskPrice)) {
            throw InputError(source, number, "cross trade with a negative or dummy size or price");
        }
        if (type == 7 && price != -1 && price != 0 && price != 1) {
            throw InputError(source, number,
                             "trading halt price " + quoted(f[4]) + " is not -1, 0 or 1");
        }
        m.order_id = visible ? static_cast<OrderId>(id) : 0;
        m.size = size;
        m.price = price;
        m.direction = static_cast<std::int8_t>(direction);
        out.push_back(m);
    });
    return out;
}

OrderbookFile parse_orderbook(std::string_view text, const std::string& source) {
    OrderbookFile out;
    std::vector<std::string_view> fields;
    for_each_line(text, source, [&](std::string_view line, std::size_t number) {
        if (out.levels == 0) {
            const std::size_t count = split_fields(line, nullptr, 0);
            if (count % 4 != 0) {
                throw InputError(source, number,
                                 std::to_string(count) +
                                     " columns: an orderbook row has 4 per level "
                                     "(ask price, ask size, bid price, bid size)");
            }
            out.levels = count / 4;
            fields.resize(count);
            out.values.reserve(text.size() / 8);
        }
        const std::size_t count = split_fields(line, fields.data(), fields.size());
        if (count != fields.size()) {
            throw InputError(source, number,
                             "expected " + std::to_string(fields.size()) +
                                 " columns like the first row, found " + std::to_string(count));
        }
        const std::size_t start = out.values.size();
        for (std::size_t i = 0; i < count; ++i) {
            std::int64_t value = 0;
            if (!parse_int(fields[i], value)) {
                throw InputError(source, number,
                                 "column " + std::to_string(i + 1) + " " + quoted(fields[i]) +
                                     " is not an integer");
            }
            out.values.push_back(value);
        }
        // Each side lists occupied prices best first, then dummies with size 0.
        const std::int64_t* row = out.values.data() + start;
        for (const bool ask : {true, false}) {
            const std::size_t offset = ask ? 0 : 2;
            const Price dummy = ask ? kDummyAskPrice : kDummyBidPrice;
            bool empty_seen = false;
            for (std::size_t level = 0; level < out.levels; ++level) {
                const Price price = row[4 * level + offset];
                const Quantity size = row[4 * level + offset + 1];
                const std::string where =
                    std::string(ask ? "ask" : "bid") + " level " + std::to_string(level + 1);
                if (price == dummy) {
                    if (size != 0) {
                        throw InputError(
                            source, number,
                            where + ": an empty slot has size " + std::to_string(size));
                    }
                    empty_seen = true;
                    continue;
                }
                if (price <= 0 || price >= kDummyAskPrice || size <= 0) {
                    throw InputError(source, number,
                                     where + ": price " + std::to_string(price) + " and size " +
                                         std::to_string(size) + " are not a valid level");
                }
                if (empty_seen) {
                    throw InputError(source, number, where + " follows an empty slot");
                }
                if (level > 0) {
                    const Price better = row[4 * (level - 1) + offset];
                    if (ask ? price <= better : price >= better) {
                        throw InputError(source, number,
                                         where + " is not worse than the level before it");
                    }
                }
            }
        }
    });
    return out;
}

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw InputError(path, 0, "read error");
    }
    return std::move(text).str();
}

}  // namespace

std::vector<Message> load_messages(const std::string& path) {
    return parse_messages(read_file(path), path);
}

OrderbookFile load_orderbook(const std::string& path) {
    return parse_orderbook(read_file(path), path);
}

std::string format_row(const std::int64_t* values, std::size_t levels) {
    std::string out;
    out.reserve(levels * 4 * 12);
    std::array<char, 24> buffer{};
    for (std::size_t i = 0; i < 4 * levels; ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        const auto [end, ec] =
            std::to_chars(buffer.data(), buffer.data() + buffer.size(), values[i]);
        out.append(buffer.data(), end);
    }
    return out;
}

}  // namespace cpx::replay
