#include "lobster.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <ostream>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "cpx/matching/engine.hpp"

namespace cpx::replay {

using matching::Command;
using matching::CommandType;
using matching::Engine;
using matching::EngineConfig;
using matching::Event;
using matching::EventSink;
using matching::EventType;
using matching::InstrumentId;
using matching::InstrumentSpec;
using matching::LevelView;
using matching::OrderView;
using matching::Reason;
using matching::Side;
using matching::TimeInForce;
using matching::TradingState;

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

// ---------------------------------------------------------------------------------------
// Replay

namespace {

constexpr InstrumentId kInstrument = 1;
constexpr Price kNoFloor = std::numeric_limits<Price>::min();
constexpr Price kNoCeiling = std::numeric_limits<Price>::max();

Side side_of(std::int8_t direction) {
    return direction > 0 ? Side::Buy : Side::Sell;
}

bool is_synthetic(OrderId id) {
    return id >= kSyntheticIdBase && id < kAggressorIdBase;
}

// Whether a better than b on that side.
bool better(Side side, Price a, Price b) {
    return side == Side::Buy ? a > b : a < b;
}

struct FileLevel {
    Price price;
    Quantity size;
};

// The occupied levels of a book row, per side, best first.
struct SideLevels {
    std::vector<FileLevel> bids;
    std::vector<FileLevel> asks;

    std::vector<FileLevel>& of(Side side) { return side == Side::Buy ? bids : asks; }
    const std::vector<FileLevel>& of(Side side) const { return side == Side::Buy ? bids : asks; }

    Quantity size_at(Side side, Price price) const {
        for (const FileLevel& level : of(side)) {
            if (level.price == price) {
                return level.size;
            }
        }
        return 0;
    }
};

void read_row(const std::int64_t* row, std::size_t levels, SideLevels& out) {
    out.bids.clear();
    out.asks.clear();
    for (std::size_t i = 0; i < levels; ++i) {
        if (row[4 * i] != kDummyAskPrice) {
            out.asks.push_back({row[4 * i], row[4 * i + 1]});
        }
        if (row[4 * i + 2] != kDummyBidPrice) {
            out.bids.push_back({row[4 * i + 2], row[4 * i + 3]});
        }
    }
}

// The part of the price axis a row shows: bids at or above bid_floor and asks at or
// below ask_ceiling. With fewer than L occupied levels the whole side is shown.
struct Window {
    Price bid_floor = kNoFloor;
    Price ask_ceiling = kNoCeiling;
};

Window window_of(const SideLevels& levels, std::size_t depth) {
    Window w;
    if (levels.bids.size() >= depth) {
        w.bid_floor = levels.bids[depth - 1].price;
    }
    if (levels.asks.size() >= depth) {
        w.ask_ceiling = levels.asks[depth - 1].price;
    }
    return w;
}

// How many file levels of row come into view compared with the window before.
std::size_t levels_coming_into_view(const SideLevels& row, const Window& before,
                                    const Window& now) {
    std::size_t count = 0;
    for (const FileLevel& level : row.bids) {
        count += level.price >= now.bid_floor && level.price < before.bid_floor ? 1 : 0;
    }
    for (const FileLevel& level : row.asks) {
        count += level.price <= now.ask_ceiling && level.price > before.ask_ceiling ? 1 : 0;
    }
    return count;
}

struct Plan {
    InstrumentSpec spec;
    std::uint32_t capacity = 0;
};

// The first pass over both files: the price range and tick of the instrument, and the
// order capacity. Real orders come from adds; synthetic orders from seeded levels and
// from levels coming into view, where a re-sync leaves at most one synthetic order per
// gap between the known orders it keeps (so at most one more than those), and from
// queue repairs after fill mismatches (at most one per type 4 row). Twice the sum of
// all of them, so that re-syncs never meet a full pool.
Plan make_plan(const std::vector<Message>& messages, const OrderbookFile& file, std::size_t depth) {
    Price lo = kNoCeiling;
    Price hi = 0;
    Price gcd = 0;
    const auto see = [&](Price price) {
        lo = std::min(lo, price);
        hi = std::max(hi, price);
        gcd = std::gcd(gcd, price);
    };
    std::uint64_t bound = 2 * (file.levels + 1) + 16;
    for (const Message& m : messages) {
        if (m.type <= MessageType::ExecuteHidden || (m.type == MessageType::Cross && m.price > 0)) {
            see(m.price);
        }
        bound += m.type == MessageType::Add || m.type == MessageType::Execute ? 1 : 0;
    }
    SideLevels row;
    Window before;
    for (std::size_t r = 0; r < file.rows(); ++r) {
        read_row(file.row(r), file.levels, row);
        for (const FileLevel& level : row.bids) {
            see(level.price);
        }
        for (const FileLevel& level : row.asks) {
            see(level.price);
        }
        read_row(file.row(r), depth, row);
        const Window now = window_of(row, depth);
        if (r > 0) {
            bound += levels_coming_into_view(row, before, now);
        }
        before = now;
    }
    if (hi == 0) {
        throw InputError("orderbook file", 0, "no prices at all: nothing to replay");
    }

    Plan plan;
    InstrumentSpec& s = plan.spec;
    s.id = kInstrument;
    s.symbol = matching::FixedText<32>::from("LOBSTER");
    s.kind = matching::InstrumentKind::TokenBundle;
    s.hub = matching::FixedText<16>::from("NASDAQ");
    s.unit = matching::FixedText<16>::from("share");
    s.lot_size = 1;
    s.quantity_min = 1;
    s.band_bps = 0;
    s.reference_price = 0;
    s.initial_state = TradingState::Continuous;
    bool fitted = false;
    for (const Price tick : {Price{1}, gcd}) {
        for (const Price margin : {std::max((hi - lo) / 4, 1000 * tick), Price{0}}) {
            const Price price_min = std::max(tick, (lo - margin) / tick * tick);
            const Price price_max = (hi + margin + tick - 1) / tick * tick;
            if ((price_max - price_min) / tick + 1 <= matching::kLadderTicksMax) {
                s.tick_size = tick;
                s.price_min = price_min;
                s.price_max = price_max;
                fitted = true;
                break;
            }
        }
        if (fitted) {
            break;
        }
    }
    if (!fitted) {
        throw InputError("orderbook file", 0,
                         "prices from " + std::to_string(lo) + " to " + std::to_string(hi) +
                             " span more ticks than the engine's ladder holds");
    }
    // Synthetic orders carry whole level totals and aggressors whole runs, so only
    // the engine's own overflow rule bounds the quantity.
    s.quantity_max = std::numeric_limits<std::int64_t>::max() / s.price_max;
    s.market_protection_ticks = 0;
    bound *= 2;
    if (bound >= std::uint64_t{1} << 31) {
        throw InputError("message file", 0, "too many orders for one engine");
    }
    plan.capacity = static_cast<std::uint32_t>(bound);
    return plan;
}

std::string row_text(const std::vector<std::int64_t>& values, std::size_t levels) {
    return format_row(values.data(), levels);
}

// What the rest of the message file says about order ids. The replay looks ahead only
// when a level comes into view, to decide which orders make up the volume the file
// shows there; rows inside the window never use it.
class Lookahead {
  public:
    struct Reference {
        std::size_t row;
        Quantity size;
        MessageType type;
    };

    explicit Lookahead(const std::vector<Message>& messages) {
        std::unordered_set<OrderId> added;
        for (const Message& m : messages) {
            if (m.type == MessageType::Add) {
                added.insert(m.order_id);
            }
        }
        for (std::size_t k = 0; k < messages.size(); ++k) {
            const Message& m = messages[k];
            if (m.type != MessageType::PartialCancel && m.type != MessageType::Delete &&
                m.type != MessageType::Execute) {
                continue;
            }
            by_id_[m.order_id].push_back({k, m.size, m.type});
            if (!added.contains(m.order_id)) {
                never_added_[{side_of(m.direction), m.price}].push_back({k, m.order_id, m.size});
            }
        }
    }

    // Whether a message at row `from` or later names the order.
    bool named_from(OrderId id, std::size_t from) const {
        const auto it = by_id_.find(id);
        return it != by_id_.end() && it->second.back().row >= from;
    }

    // The order's size as the rows from `from` on account for it, when they end with
    // its delete (whose size is what was left): every later share is then named.
    // Otherwise, or if the rows say more than `leaves`, the order keeps `leaves`.
    Quantity accounted_size(OrderId id, std::size_t from, Quantity leaves) const {
        const auto it = by_id_.find(id);
        if (it == by_id_.end() || it->second.back().type != MessageType::Delete) {
            return leaves;
        }
        Quantity later = 0;
        for (const Reference& r : it->second) {
            later += r.row >= from ? r.size : 0;
        }
        return later > 0 && later < leaves ? later : leaves;
    }

    // Ids that no type 1 row adds, named at (side, price) from row `from` on, in
    // ascending id order, with the shares those rows name.
    std::vector<std::pair<OrderId, Quantity>> unseen_from(Side side, Price price,
                                                          std::size_t from) const {
        std::vector<std::pair<OrderId, Quantity>> out;
        const auto it = never_added_.find({side, price});
        if (it == never_added_.end()) {
            return out;
        }
        const auto& refs = it->second;
        auto ref = std::lower_bound(refs.begin(), refs.end(), from,
                                    [](const Unseen& r, std::size_t row) { return r.row < row; });
        for (; ref != refs.end(); ++ref) {
            out.emplace_back(ref->id, ref->size);
        }
        std::sort(out.begin(), out.end());
        std::size_t kept = 0;
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (kept > 0 && out[kept - 1].first == out[i].first) {
                out[kept - 1].second += out[i].second;
            } else {
                out[kept++] = out[i];
            }
        }
        out.resize(kept);
        return out;
    }

  private:
    struct Unseen {
        std::size_t row;
        OrderId id;
        Quantity size;
    };

    std::unordered_map<OrderId, std::vector<Reference>> by_id_;
    std::map<std::pair<Side, Price>, std::vector<Unseen>> never_added_;
};

class Replayer final : public EventSink {
  public:
    Replayer(const std::vector<Message>& messages, const OrderbookFile& file,
             const ReplayOptions& options, std::size_t depth, const Plan& plan)
        : messages_(messages),
          file_(file),
          options_(options),
          depth_(depth),
          engine_(EngineConfig{plan.capacity}, *this),
          lookahead_(messages),
          produced_(4 * depth) {
        const Reason listed = engine_.add_instrument(plan.spec);
        if (listed != Reason::None) {
            throw std::logic_error("replay: the instrument was refused: " +
                                   std::string(matching::reason_name(listed)));
        }
        result_.tick_size = plan.spec.tick_size;
        result_.price_min = plan.spec.price_min;
        result_.price_max = plan.spec.price_max;
        result_.order_capacity = plan.capacity;
    }

    ReplayResult run() {
        const auto start = std::chrono::steady_clock::now();
        seed();
        std::size_t k = 0;
        while (k < messages_.size()) {
            if (is_execution(messages_[k].type)) {
                std::size_t end = k;
                while (end + 1 < messages_.size() && is_execution(messages_[end + 1].type) &&
                       messages_[end + 1].ts_ns == messages_[k].ts_ns &&
                       messages_[end + 1].direction == messages_[k].direction) {
                    ++end;
                }
                replay_run(k, end);
                k = end + 1;
            } else {
                replay_single(k);
                ++k;
            }
        }
        flush_output();
        const auto stop = std::chrono::steady_clock::now();
        result_.seconds = std::chrono::duration<double>(stop - start).count();
        result_.counters.rows = messages_.size();
        result_.state_hash = engine_.state_hash();
        result_.feed_consistent = feed_matches_engine();
        return std::move(result_);
    }

    // The engine's events keep our copy of the book: the queue of ids at every price
    // (market by order) and every level's total (market by price).
    void publish(const Event* events, std::size_t count) override {
        for (std::size_t i = 0; i < count; ++i) {
            const Event& e = events[i];
            switch (e.type) {
                case EventType::Booked:
                    mirror(e.side)[e.price].queue.push_back(e.order_id);
                    break;
                case EventType::Trade:
                    on_trade(e);
                    break;
                case EventType::Cancelled:
                    forget(e.side, e.price, e.order_id);
                    break;
                case EventType::Replaced:
                    if (e.aux == 0) {
                        // The replay only ever shrinks an order in place, which keeps
                        // its place in the queue that this copy relies on.
                        throw std::logic_error("replay: an order lost its time priority");
                    }
                    break;
                case EventType::LevelUpdate: {
                    auto& side = mirror(e.side);
                    if (e.quantity == 0) {
                        side.erase(e.price);
                    } else {
                        side[e.price].total = e.quantity;
                    }
                    break;
                }
                case EventType::Rejected:
                    rejections_.push_back(e.reason);
                    break;
                default:
                    break;
            }
        }
    }

  private:
    struct MirrorLevel {
        Quantity total = 0;
        std::vector<OrderId> queue;  // in time priority
    };
    using MirrorSide = std::map<Price, MirrorLevel>;

    struct Fill {
        OrderId maker;
        Price price;
        Quantity quantity;
    };

    struct ExpectedFill {
        std::size_t row;
        OrderId id;
        Price price;
        Quantity size;
        bool known;
    };

    // One piece of a level's queue as a re-sync wants it: a real order (id) or
    // synthetic volume (id 0).
    struct Segment {
        OrderId id;
        Quantity size;
    };

    static bool is_execution(MessageType type) {
        return type == MessageType::Execute || type == MessageType::ExecuteHidden;
    }

    MirrorSide& mirror(Side side) { return side == Side::Buy ? bids_ : asks_; }

    void forget(Side side, Price price, OrderId id) {
        auto& levels = mirror(side);
        const auto level = levels.find(price);
        if (level == levels.end()) {
            return;
        }
        auto& queue = level->second.queue;
        const auto it = std::find(queue.begin(), queue.end(), id);
        if (it != queue.end()) {
            queue.erase(it);
        }
    }

    void on_trade(const Event& e) {
        // In continuous trading the aggressor's side names the resting order; an
        // auction trade (side None) has two resting orders.
        if (e.side != Side::Buy && e.leaves == 0) {
            forget(Side::Buy, e.price, e.order_id);
        }
        if (e.side != Side::Sell && e.other_leaves == 0) {
            forget(Side::Sell, e.price, e.other_order_id);
        }
        if (e.side == Side::Buy) {
            fills_.push_back({e.other_order_id, e.price, e.quantity});
        } else if (e.side == Side::Sell) {
            fills_.push_back({e.order_id, e.price, e.quantity});
        }
    }

    void note(std::size_t row, const std::string& what) {
        if (result_.diagnostics.size() < options_.max_diagnostics) {
            result_.diagnostics.push_back("row " + std::to_string(row + 1) + ": " + what);
        }
    }

    // Applies one command; returns false (after counting it) if the engine refused it.
    bool submit(const Command& c, std::size_t row) {
        fills_.clear();
        rejections_.clear();
        engine_.apply(c);
        for (const Reason reason : rejections_) {
            if (reason == Reason::PostOnlyWouldTrade) {
                ++result_.counters.post_only_rejections;
            } else {
                ++result_.counters.other_rejections;
            }
            note(row, "the engine refused order " + std::to_string(c.order_id) + " (" +
                          std::string(matching::reason_name(reason)) + ")");
        }
        return rejections_.empty();
    }

    static Command command(CommandType type, Timestamp ts) {
        Command c;
        c.type = type;
        c.instrument = kInstrument;
        c.account = 0;
        c.ts_ns = ts;
        return c;
    }

    bool in_auction() const {
        const auto state = engine_.state(kInstrument);
        return state == TradingState::CallAuction || state == TradingState::AuctionNoCancel;
    }

    // A resting order that must not trade: post-only, except during the quoting period
    // of a halt, where the engine allows plain limit orders only and none trade.
    bool add_resting(OrderId id, Side side, Price price, Quantity quantity, Timestamp ts,
                     std::size_t row) {
        Command c = command(CommandType::NewOrder, ts);
        c.order_id = id;
        c.side = side;
        c.price = price;
        c.quantity = quantity;
        c.tif = TimeInForce::GTC;
        c.flags = in_auction() ? 0 : matching::kFlagPostOnly;
        return submit(c, row);
    }

    void add_synthetic(Side side, Price price, Quantity quantity, Timestamp ts, std::size_t row) {
        add_resting(next_synthetic_++, side, price, quantity, ts, row);
    }

    void cancel(OrderId id, Timestamp ts, std::size_t row) {
        Command c = command(CommandType::Cancel, ts);
        c.order_id = id;
        submit(c, row);
    }

    // Takes `by` shares off a resting order, keeping its place in the queue.
    void shrink(const OrderView& order, Quantity by, Timestamp ts, std::size_t row) {
        if (by >= order.leaves) {
            cancel(order.id, ts, row);
            return;
        }
        Command c = command(CommandType::Replace, ts);
        c.order_id = order.id;
        c.price = order.price;
        c.quantity = order.leaves - by;
        submit(c, row);
    }

    std::vector<OrderId> queue_at(Side side, Price price) {
        auto& levels = mirror(side);
        const auto level = levels.find(price);
        return level == levels.end() ? std::vector<OrderId>{} : level->second.queue;
    }

    Quantity leaves_of(OrderId id) const {
        const std::optional<OrderView> order = engine_.find_order(id);
        return order ? order->leaves : 0;
    }

    // Takes up to `quantity` shares from the given orders, in the given order; returns
    // how many were taken.
    Quantity take_from(const std::vector<OrderId>& ids, Quantity quantity, Timestamp ts,
                       std::size_t row) {
        Quantity taken = 0;
        for (const OrderId id : ids) {
            if (taken == quantity) {
                break;
            }
            const std::optional<OrderView> order = engine_.find_order(id);
            if (!order) {
                continue;
            }
            const Quantity take = std::min(quantity - taken, order->leaves);
            shrink(*order, take, ts, row);
            taken += take;
        }
        return taken;
    }

    Quantity our_total(Side side, Price price) {
        auto& levels = mirror(side);
        const auto level = levels.find(price);
        return level == levels.end() ? 0 : level->second.total;
    }

    // Re-syncs one level that has just come into view to the file's total. `alive_from`
    // is the first row whose messages the engine has not seen yet.
    //
    // Our real orders at the level were last seen while it was in view; since then the
    // file may have left out their cancels and partial cancels. One that a later row
    // names is certainly still there, at the size the later rows account for when they
    // end with its delete. One that no later row names was either cancelled out of view
    // or rests untouched to the end; it is never executed, so its volume is moved to
    // the back of the queue as synthetic volume: left in place it would stand ahead of
    // orders the file does fill. The rest of the file's total is synthetic volume, put
    // where the unseen ids that later rows name at this price belong: NASDAQ numbers
    // orders in arrival order, so an unseen id sits behind every known order with a
    // smaller id. What no later row names goes to the back.
    void resync_level(Side side, Price price, Quantity target, std::size_t alive_from, Timestamp ts,
                      std::size_t row) {
        const Quantity before = our_total(side, price);
        std::vector<Segment> known;
        Quantity known_total = 0;
        for (const OrderId id : queue_at(side, price)) {
            if (is_synthetic(id) || !lookahead_.named_from(id, alive_from)) {
                continue;
            }
            const Quantity size = lookahead_.accounted_size(id, alive_from, leaves_of(id));
            known.push_back({id, size});
            known_total += size;
        }
        // The file's total is the authority: known orders beyond it are trimmed, the
        // newest first.
        Quantity unseen = target - known_total;
        for (auto it = known.rbegin(); unseen < 0 && it != known.rend(); ++it) {
            const Quantity cut = std::min(it->size, -unseen);
            it->size -= cut;
            unseen += cut;
        }
        std::erase_if(known, [](const Segment& s) { return s.size == 0; });

        std::vector<Quantity> gaps(known.size() + 1, 0);
        for (const auto& [id, size] : lookahead_.unseen_from(side, price, alive_from)) {
            if (unseen == 0) {
                break;
            }
            std::size_t gap = 0;
            while (gap < known.size() && known[gap].id < id) {
                ++gap;
            }
            const Quantity share = std::min(size, unseen);
            gaps[gap] += share;
            unseen -= share;
        }
        gaps.back() += unseen;

        std::vector<Segment> wanted;
        for (std::size_t i = 0; i <= known.size(); ++i) {
            if (gaps[i] > 0) {
                wanted.push_back({0, gaps[i]});
            }
            if (i < known.size()) {
                wanted.push_back(known[i]);
            }
        }
        if (compose(side, price, wanted, ts, row)) {
            ++result_.counters.resync_levels;
            result_.counters.resync_volume +=
                static_cast<std::uint64_t>(target > before ? target - before : before - target);
        }
    }

    // Makes the queue at a level equal to `wanted`, keeping as much of the current
    // queue in place as it can: orders only shrink or leave, and whatever cannot stay
    // in place is cancelled and added again at the back, in the wanted order. Returns
    // whether anything changed.
    bool compose(Side side, Price price, const std::vector<Segment>& wanted, Timestamp ts,
                 std::size_t row) {
        bool changed = false;
        std::vector<OrderId> current;
        for (const OrderId id : queue_at(side, price)) {
            const bool stays =
                is_synthetic(id) || std::any_of(wanted.begin(), wanted.end(),
                                                [id](const Segment& s) { return s.id == id; });
            if (stays) {
                current.push_back(id);
            } else {
                cancel(id, ts, row);
                changed = true;
            }
        }
        std::size_t c = 0;
        std::size_t w = 0;
        while (c < current.size() && w < wanted.size()) {
            const Segment& want = wanted[w];
            if (want.id != 0) {
                if (current[c] != want.id) {
                    if (!is_synthetic(current[c])) {
                        break;  // The wanted order is missing here: rebuild from this point.
                    }
                    // Surplus synthetic volume ahead of a wanted order.
                    cancel(current[c++], ts, row);
                    changed = true;
                    continue;
                }
                const Quantity leaves = leaves_of(want.id);
                if (leaves < want.size) {
                    break;  // An order cannot grow in place.
                }
                if (leaves > want.size) {
                    shrink(*engine_.find_order(want.id), leaves - want.size, ts, row);
                    changed = true;
                }
                ++c;
                ++w;
                continue;
            }
            std::size_t end = c;
            Quantity have = 0;
            while (end < current.size() && is_synthetic(current[end]) && have < want.size) {
                have += leaves_of(current[end++]);
            }
            if (have < want.size && (end < current.size() || w + 1 < wanted.size())) {
                break;  // Not enough volume here: rebuild the queue from this point.
            }
            if (have > want.size) {
                shrink(*engine_.find_order(current[end - 1]), have - want.size, ts, row);
                changed = true;
            } else if (have < want.size) {
                add_synthetic(side, price, want.size - have, ts, row);
                changed = true;
            }
            c = end;
            ++w;
        }
        for (; c < current.size(); ++c) {
            cancel(current[c], ts, row);
            changed = true;
        }
        for (; w < wanted.size(); ++w) {
            if (wanted[w].id == 0) {
                add_synthetic(side, price, wanted[w].size, ts, row);
            } else {
                add_resting(wanted[w].id, side, price, wanted[w].size, ts, row);
            }
            changed = true;
        }
        return changed;
    }

    // Re-syncs every price that enters the window between `before` and `now` (row
    // `row` of the file). `executed` (for run_side) holds the shares the current run has
    // taken at each price up to this row, which the engine has not traded yet.
    void sync_window(std::size_t row, std::size_t alive_from, const Window& before,
                     const Window& now, const SideLevels& shown, Side run_side,
                     const std::map<Price, Quantity>* executed, Timestamp ts) {
        for (const Side side : {Side::Buy, Side::Sell}) {
            const bool buy = side == Side::Buy;
            if (buy ? now.bid_floor >= before.bid_floor : now.ask_ceiling <= before.ask_ceiling) {
                continue;
            }
            const auto entering = [&](Price price) {
                return buy ? price >= now.bid_floor && price < before.bid_floor
                           : price <= now.ask_ceiling && price > before.ask_ceiling;
            };
            std::vector<Price> prices;
            const auto& ours = mirror(side);
            auto it = buy ? ours.lower_bound(now.bid_floor) : ours.upper_bound(before.ask_ceiling);
            for (; it != ours.end() && entering(it->first); ++it) {
                prices.push_back(it->first);
            }
            for (const FileLevel& level : shown.of(side)) {
                if (entering(level.price)) {
                    prices.push_back(level.price);
                }
            }
            std::sort(prices.begin(), prices.end());
            prices.erase(std::unique(prices.begin(), prices.end()), prices.end());
            for (const Price price : prices) {
                Quantity target = shown.size_at(side, price);
                if (executed != nullptr && side == run_side) {
                    const auto done = executed->find(price);
                    target += done == executed->end() ? 0 : done->second;
                }
                resync_level(side, price, target, alive_from, ts, row);
            }
        }
    }

    // Builds the starting book: row 1 with message 1 undone, one synthetic order per
    // level, all of them ahead of anything the messages add.
    void seed() {
        const Message& m = messages_.front();
        SideLevels pre;
        read_row(file_.row(0), file_.levels, pre);
        const Side side = side_of(m.direction);
        auto& levels = pre.of(side);
        const auto at = std::find_if(levels.begin(), levels.end(),
                                     [&](const FileLevel& l) { return l.price == m.price; });
        switch (m.type) {
            case MessageType::Add:
                if (at == levels.end() || at->size < m.size) {
                    throw InputError("message file", m.line,
                                     "row 1 of the orderbook file does not show the " +
                                         std::to_string(m.size) + " shares message 1 adds at " +
                                         std::to_string(m.price));
                }
                at->size -= m.size;
                if (at->size == 0) {
                    levels.erase(at);
                }
                break;
            case MessageType::PartialCancel:
            case MessageType::Delete:
            case MessageType::Execute:
                if (at != levels.end()) {
                    at->size += m.size;
                } else {
                    const auto place = std::find_if(
                        levels.begin(), levels.end(),
                        [&](const FileLevel& l) { return better(side, m.price, l.price); });
                    levels.insert(place, FileLevel{m.price, m.size});
                }
                break;
            default:
                break;
        }
        for (const Side s : {Side::Buy, Side::Sell}) {
            for (const FileLevel& level : pre.of(s)) {
                add_synthetic(s, level.price, level.size, m.ts_ns, 0);
                ++result_.counters.synthetic_orders_seeded;
            }
        }
        window_ = window_of(pre, depth_);
    }

    void trading_action(const Message& m, std::size_t row) {
        const TradingState state = engine_.state(kInstrument).value_or(TradingState::Closed);
        const bool quoting =
            state == TradingState::CallAuction || state == TradingState::AuctionNoCancel;
        if (m.price == -1 && state != TradingState::Halted) {
            // Price 0: the halt keeps the resting orders, as NASDAQ does.
            submit(command(CommandType::Halt, m.ts_ns), row);
        } else if (m.price == 0 && state == TradingState::Halted) {
            submit(command(CommandType::StartAuction, m.ts_ns), row);
        } else if (m.price == 1 && quoting) {
            submit(command(CommandType::Uncross, m.ts_ns), row);
        } else if (m.price == 1 && state == TradingState::Halted) {
            submit(command(CommandType::Resume, m.ts_ns), row);
        }
    }

    // A live order that the messages introduced (not one of ours).
    std::optional<OrderView> real_order(OrderId id) const {
        if (id == 0 || id >= kReservedIdBase) {
            return std::nullopt;
        }
        return engine_.find_order(id);
    }

    void disagree(std::size_t row, const std::string& what) {
        ++result_.counters.order_disagreements;
        note(row, what);
    }

    // The synthetic orders at a level, those in the unseen order's place first (behind
    // the known orders with smaller ids, ahead of those with larger ones), then the
    // others, each group oldest first.
    std::vector<OrderId> synthetic_for(Side side, Price price, OrderId unseen) {
        std::vector<OrderId> in_place;
        std::vector<OrderId> others;
        bool passed = false;
        for (const OrderId id : queue_at(side, price)) {
            if (!is_synthetic(id)) {
                if (id > unseen) {
                    passed = true;
                } else if (!passed) {
                    others.insert(others.end(), in_place.begin(), in_place.end());
                    in_place.clear();
                }
                continue;
            }
            (passed ? others : in_place).push_back(id);
        }
        in_place.insert(in_place.end(), others.begin(), others.end());
        return in_place;
    }

    // Type 2 (whole = false) and type 3 (whole = true).
    void reduce(const Message& m, bool whole, std::size_t row) {
        const Side side = side_of(m.direction);
        const std::optional<OrderView> order = real_order(m.order_id);
        if (!order) {
            ++result_.counters.unknown_id_references;
            const Quantity taken =
                take_from(synthetic_for(side, m.price, m.order_id), m.size, m.ts_ns, row);
            if (taken < m.size) {
                disagree(row, "order " + std::to_string(m.order_id) + " is unknown and only " +
                                  std::to_string(taken) + " of its " + std::to_string(m.size) +
                                  " shares were synthetic volume at " + std::to_string(m.price));
            }
            return;
        }
        if (order->side != side || order->price != m.price ||
            (whole ? order->leaves != m.size : order->leaves <= m.size)) {
            disagree(row, "order " + std::to_string(m.order_id) + " rests with " +
                              std::to_string(order->leaves) + " at " +
                              std::to_string(order->price) + "; the message says " +
                              std::to_string(m.size) + " at " + std::to_string(m.price));
        }
        shrink(*order, whole ? order->leaves : m.size, m.ts_ns, row);
    }

    void replay_single(std::size_t k) {
        const Message& m = messages_[k];
        const Side side = side_of(m.direction);
        switch (m.type) {
            case MessageType::Add:
                ++result_.counters.adds;
                add_resting(m.order_id, side, m.price, m.size, m.ts_ns, k);
                break;
            case MessageType::PartialCancel:
                ++result_.counters.partial_cancels;
                reduce(m, false, k);
                break;
            case MessageType::Delete:
                ++result_.counters.deletes;
                reduce(m, true, k);
                break;
            case MessageType::Cross:
                ++result_.counters.crosses;
                break;
            case MessageType::TradingHalt:
                ++result_.counters.halt_messages;
                trading_action(m, k);
                break;
            default:
                break;
        }
        read_row(file_.row(k), depth_, shown_);
        const Window now = window_of(shown_, depth_);
        sync_window(k, k + 1, window_, now, shown_, Side::None, nullptr, m.ts_ns);
        window_ = now;
        fill_row(engine_.depth(kInstrument, Side::Sell, depth_),
                 engine_.depth(kInstrument, Side::Buy, depth_));
        finish_row(k);
    }

    // Rows first..last: type 4 and 5 rows of one time and direction, one aggressor.
    void replay_run(std::size_t first, std::size_t last) {
        const Side side = side_of(messages_[first].direction);  // the resting side
        const Timestamp ts = messages_[first].ts_ns;
        std::map<Price, Quantity> executed;
        std::vector<Quantity> through(last - first + 1);
        Quantity total = 0;
        Price worst = 0;
        // Levels coming into view inside the run are re-synced before the aggressor
        // arrives, since the aggressor may trade there in a later row of the run.
        for (std::size_t j = first; j <= last; ++j) {
            const Message& m = messages_[j];
            if (m.type == MessageType::Execute) {
                ++result_.counters.execution_rows;
                executed[m.price] += m.size;
                worst = total == 0 || better(side, worst, m.price) ? m.price : worst;
                total += m.size;
            } else {
                ++result_.counters.hidden_executions;
            }
            through[j - first] = total;
            read_row(file_.row(j), depth_, shown_);
            const Window now = window_of(shown_, depth_);
            sync_window(j, first, window_, now, shown_, side, &executed, ts);
            window_ = now;
        }

        // The queues the aggressor can reach, as they stand before it arrives.
        std::map<Price, std::vector<Segment>> reachable;
        if (total > 0) {
            const auto snapshot = [&](const auto& level) {
                std::vector<Segment>& queue = reachable[level.first];
                for (const OrderId id : level.second.queue) {
                    queue.push_back({id, leaves_of(id)});
                }
            };
            const MirrorSide& levels = mirror(side);
            if (side == Side::Buy) {
                for (auto it = levels.rbegin(); it != levels.rend() && it->first >= worst; ++it) {
                    snapshot(*it);
                }
            } else {
                for (auto it = levels.begin(); it != levels.end() && it->first <= worst; ++it) {
                    snapshot(*it);
                }
            }
        }

        std::vector<ExpectedFill> expected;
        for (std::size_t j = first; j <= last; ++j) {
            const Message& m = messages_[j];
            if (m.type != MessageType::Execute) {
                continue;
            }
            const bool known = real_order(m.order_id).has_value();
            result_.counters.unknown_id_references += known ? 0 : 1;
            expected.push_back({j, m.order_id, m.price, m.size, known});
        }
        std::vector<Fill> fills;
        if (total > 0) {
            ++result_.counters.aggressor_orders;
            Command c = command(CommandType::NewOrder, ts);
            c.order_id = next_aggressor_++;
            c.side = matching::opposite(side);
            c.price = worst;
            c.quantity = total;
            c.tif = TimeInForce::IOC;
            submit(c, first);
            fills.swap(fills_);
        }
        const std::size_t mismatched = check_fills(expected, fills);
        if (mismatched > 0) {
            explain_and_repair(expected, fills, reachable, mismatched, last, ts);
        }

        // Row j shows the book after the first through[j] shares of the run: the book
        // now, plus whatever the fills after that point took.
        const std::vector<LevelView> resting = engine_.depth(kInstrument, side, depth_);
        const std::vector<LevelView> other =
            engine_.depth(kInstrument, matching::opposite(side), depth_);
        std::vector<LevelView> merged;
        for (std::size_t j = first; j <= last; ++j) {
            std::map<Price, Quantity> back;
            Quantity position = 0;
            const Quantity done = through[j - first];
            for (const Fill& f : fills) {
                const Quantity begin = position;
                position += f.quantity;
                if (position > done) {
                    back[f.price] += position - std::max(begin, done);
                }
            }
            for (const LevelView& level : resting) {
                back[level.price] += level.total;
            }
            merged.clear();
            for (const auto& [price, quantity] : back) {
                merged.push_back({price, quantity, 0});
            }
            if (side == Side::Buy) {
                std::reverse(merged.begin(), merged.end());
            }
            if (merged.size() > depth_) {
                merged.resize(depth_);
            }
            if (side == Side::Buy) {
                fill_row(other, merged);
            } else {
                fill_row(merged, other);
            }
            finish_row(j);
        }
    }

    // After a run whose fills disagree with the file: works out whether the file itself
    // broke time priority, and puts the queues back the way the file says they are.
    //
    // When the engine traded the file's volume at every price of the run, the books
    // agree and only the attribution to orders differs. If, at the same price, the file
    // fills an order we saw arrive while an order we saw arrive before it, still
    // resting, is not filled first, then the file (NASDAQ, or LOBSTER's ordering of
    // one moment's messages) departed from price-time priority, and the engine cannot
    // and should not reproduce it; those rows are counted as explained. In either case
    // each such price's queue is then rebuilt, in its order before the run, with the
    // sizes the file's fills leave, so that one disagreement is counted once rather
    // than again at every later fill or cancel of the orders involved. The totals do
    // not change, so every book row is still the engine's own.
    void explain_and_repair(const std::vector<ExpectedFill>& expected,
                            const std::vector<Fill>& fills,
                            const std::map<Price, std::vector<Segment>>& reachable,
                            std::size_t mismatched, std::size_t last, Timestamp ts) {
        std::map<Price, Quantity> engine_volume;
        std::map<Price, Quantity> file_volume;
        std::map<Price, Quantity> file_unknown;
        std::unordered_map<OrderId, Quantity> file_filled;
        std::unordered_map<OrderId, std::size_t> first_fill_row;
        for (const Fill& f : fills) {
            engine_volume[f.price] += f.quantity;
        }
        for (const ExpectedFill& e : expected) {
            file_volume[e.price] += e.size;
            if (e.known) {
                file_filled[e.id] += e.size;
                first_fill_row.emplace(e.id, e.row);
            } else {
                file_unknown[e.price] += e.size;
            }
        }
        if (engine_volume != file_volume) {
            return;  // The book rows will show the difference; nothing to repair.
        }
        const Side side = side_of(messages_[expected.front().row].direction);

        bool inversion = false;
        for (const ExpectedFill& e : expected) {
            const auto level = reachable.find(e.price);
            if (!e.known || level == reachable.end()) {
                continue;
            }
            for (const Segment& ahead : level->second) {
                if (ahead.id == e.id) {
                    break;
                }
                if (is_synthetic(ahead.id)) {
                    continue;
                }
                const auto filled = first_fill_row.find(ahead.id);
                const bool filled_later = filled != first_fill_row.end() && filled->second > e.row;
                const bool untouched_and_alive =
                    filled == first_fill_row.end() && lookahead_.named_from(ahead.id, last + 1);
                inversion = inversion || filled_later || untouched_and_alive;
            }
        }
        if (inversion) {
            result_.counters.fill_mismatches_priority_inversion += mismatched;
        }

        for (const auto& [price, before] : reachable) {
            if (file_volume.find(price) == file_volume.end()) {
                continue;
            }
            Quantity unknown = file_unknown[price];
            std::vector<Segment> wanted;
            for (const Segment& order : before) {
                Quantity size = order.size;
                if (is_synthetic(order.id)) {
                    const Quantity taken = std::min(size, unknown);
                    size -= taken;
                    unknown -= taken;
                } else {
                    const auto filled = file_filled.find(order.id);
                    size -= filled == file_filled.end() ? 0 : std::min(size, filled->second);
                }
                if (size > 0) {
                    wanted.push_back({is_synthetic(order.id) ? 0 : order.id, size});
                }
            }
            Quantity wanted_total = 0;
            for (const Segment& segment : wanted) {
                wanted_total += segment.size;
            }
            // A repair that would change the level's total (the file's fills do not fit
            // the orders we hold) is left alone: then the file and the engine disagree
            // about more than the order of fills.
            if (wanted_total == our_total(side, price) &&
                compose(side, price, wanted, ts, expected.front().row)) {
                ++result_.counters.queue_repairs;
            }
        }
    }

    // The engine's fills must take the recorded rows in order: a known id by a fill of
    // that very order, an unknown one by synthetic volume, at the recorded price.
    // Returns how many rows disagreed.
    std::size_t check_fills(const std::vector<ExpectedFill>& expected,
                            const std::vector<Fill>& fills) {
        std::size_t mismatched = 0;
        std::size_t next = 0;
        Quantity left = fills.empty() ? 0 : fills.front().quantity;
        for (const ExpectedFill& want : expected) {
            ++result_.counters.fills_checked;
            Quantity need = want.size;
            bool ok = true;
            // Text is built by appending: GCC 12 warns falsely (-Wrestrict) on a
            // literal followed by operator+ on temporary strings in this function.
            std::string got;
            while (need > 0) {
                if (next == fills.size()) {
                    ok = false;
                    got += " (nothing more traded)";
                    break;
                }
                const Fill& f = fills[next];
                const bool right_order = want.known ? f.maker == want.id : is_synthetic(f.maker);
                ok = ok && right_order && f.price == want.price;
                const Quantity take = std::min(need, left);
                got.append(" ").append(std::to_string(take)).append("@");
                got.append(std::to_string(f.price)).append(" from ");
                got.append(is_synthetic(f.maker) ? "synthetic " : "")
                    .append(std::to_string(f.maker));
                need -= take;
                left -= take;
                if (left == 0 && ++next < fills.size()) {
                    left = fills[next].quantity;
                }
            }
            if (!ok) {
                ++mismatched;
                ++result_.counters.fill_mismatches;
                std::string what =
                    want.known ? "execution of order " : "execution of unknown order ";
                what.append(std::to_string(want.id));
                what.append(" for ").append(std::to_string(want.size));
                what.append("@").append(std::to_string(want.price));
                what.append(" was filled by").append(got);
                note(want.row, what);
            }
        }
        return mismatched;
    }

    void fill_row(const std::vector<LevelView>& asks, const std::vector<LevelView>& bids) {
        for (std::size_t i = 0; i < depth_; ++i) {
            produced_[4 * i] = i < asks.size() ? asks[i].price : kDummyAskPrice;
            produced_[4 * i + 1] = i < asks.size() ? asks[i].total : 0;
            produced_[4 * i + 2] = i < bids.size() ? bids[i].price : kDummyBidPrice;
            produced_[4 * i + 3] = i < bids.size() ? bids[i].total : 0;
        }
    }

    void finish_row(std::size_t k) {
        const std::int64_t* want = file_.row(k);
        if (!std::equal(produced_.begin(), produced_.end(), want)) {
            ++result_.counters.book_row_mismatches;
            note(k, "book differs: file " + format_row(want, depth_) + " replay " +
                        row_text(produced_, depth_));
        }
        if (options_.out != nullptr) {
            output_ += row_text(produced_, depth_);
            output_ += '\n';
            if (output_.size() > (1u << 20)) {
                flush_output();
            }
        }
    }

    void flush_output() {
        if (options_.out != nullptr && !output_.empty()) {
            options_.out->write(output_.data(), static_cast<std::streamsize>(output_.size()));
            output_.clear();
        }
    }

    // Our copy of the book, kept from the events alone, against the engine's own.
    bool feed_matches_engine() const {
        for (const Side side : {Side::Buy, Side::Sell}) {
            const MirrorSide& ours = side == Side::Buy ? bids_ : asks_;
            const std::vector<LevelView> levels =
                engine_.depth(kInstrument, side, std::numeric_limits<std::size_t>::max());
            if (levels.size() != ours.size()) {
                return false;
            }
            std::size_t index = 0;
            const std::vector<OrderView> orders = engine_.orders(kInstrument, side);
            for (const LevelView& level : levels) {
                const auto it = ours.find(level.price);
                if (it == ours.end() || it->second.total != level.total ||
                    it->second.queue.size() != level.order_count) {
                    return false;
                }
                for (const OrderId id : it->second.queue) {
                    if (index >= orders.size() || orders[index].id != id) {
                        return false;
                    }
                    ++index;
                }
            }
        }
        return true;
    }

    const std::vector<Message>& messages_;
    const OrderbookFile& file_;
    ReplayOptions options_;
    std::size_t depth_;
    Engine engine_;
    Lookahead lookahead_;
    MirrorSide bids_;
    MirrorSide asks_;
    std::vector<Fill> fills_;         // trades of the last command, by resting order
    std::vector<Reason> rejections_;  // of the last command
    OrderId next_synthetic_ = kSyntheticIdBase;
    OrderId next_aggressor_ = kAggressorIdBase;
    Window window_;  // the window of the last row replayed
    SideLevels shown_;
    std::vector<std::int64_t> produced_;
    std::string output_;
    ReplayResult result_;
};

}  // namespace

ReplayResult replay(const std::vector<Message>& messages, const OrderbookFile& book,
                    const ReplayOptions& options) {
    if (messages.size() != book.rows()) {
        throw InputError("replay", 0,
                         "the message file has " + std::to_string(messages.size()) +
                             " rows and the orderbook file " + std::to_string(book.rows()));
    }
    if (messages.empty()) {
        throw InputError("replay", 0, "nothing to replay");
    }
    const std::size_t depth = options.levels == 0 ? book.levels : options.levels;
    if (depth > book.levels) {
        throw InputError("replay", 0,
                         std::to_string(depth) + " levels asked for, the orderbook file has " +
                             std::to_string(book.levels));
    }
    const Plan plan = make_plan(messages, book, depth);
    Replayer replayer(messages, book, options, depth, plan);
    return replayer.run();
}

std::string format_report(const ReplayResult& r) {
    const ReplayCounters& c = r.counters;
    std::ostringstream out;
    const auto line = [&](const char* name, std::uint64_t value) {
        out << name << ": " << value << '\n';
    };
    line("rows", c.rows);
    line("adds", c.adds);
    line("partial cancels", c.partial_cancels);
    line("deletes", c.deletes);
    line("execution rows", c.execution_rows);
    line("aggressor orders", c.aggressor_orders);
    line("fills checked", c.fills_checked);
    line("hidden executions", c.hidden_executions);
    line("crosses", c.crosses);
    line("halt messages", c.halt_messages);
    line("unknown-id references", c.unknown_id_references);
    line("synthetic orders seeded", c.synthetic_orders_seeded);
    line("re-synced levels", c.resync_levels);
    line("re-synced volume", c.resync_volume);
    line("post-only rejections", c.post_only_rejections);
    line("other rejections", c.other_rejections);
    line("order disagreements", c.order_disagreements);
    line("fill-order mismatches", c.fill_mismatches);
    line("  of which the file broke time priority", c.fill_mismatches_priority_inversion);
    line("queue repairs after fill mismatches", c.queue_repairs);
    line("book-row mismatches", c.book_row_mismatches);
    out << "feed consistent: " << (r.feed_consistent ? "yes" : "NO") << '\n';
    out << "instrument: tick " << r.tick_size << ", prices " << r.price_min << ".." << r.price_max
        << ", order capacity " << r.order_capacity << '\n';
    out << "state hash: " << r.state_hash << '\n';
    out << "elapsed: " << r.seconds << " s\n";
    const double rate = r.seconds > 0 ? static_cast<double>(c.rows) / r.seconds : 0.0;
    out << "messages per second: " << static_cast<std::uint64_t>(rate) << '\n';
    return out.str();
}

}  // namespace cpx::replay
