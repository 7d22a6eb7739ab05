#pragma once

// Reading NASDAQ LOBSTER files and replaying them through the matching engine.
//
// LOBSTER gives, for one ticker and day, a message file (time, type, order id, size,
// price, direction) and an orderbook file whose row k is the visible book of L levels
// right after message k. The replay turns every message into engine commands and checks
// the engine's book against the orderbook file after every message, and the engine's
// trades against the recorded executions. docs/REPLAY.md explains the design at length;
// in short:
//
//  * One instrument, lot 1, no price band, self-trade prevention None, one account (0).
//    The tick is 1: LOBSTER prices are dollars times 10,000 and include sub-penny
//    prices (AMZN's share only a common divisor of 50, from midpoint executions), and a
//    coarser tick would only shrink a ladder that is small anyway. Only when the price
//    range is too wide for the engine's ladder at tick 1 is the tick raised to the
//    greatest common divisor of every price in both files, which the first pass
//    computes. The price range comes from that first pass, with a margin; the order
//    capacity from the number of adds and of levels that can come into view.
//  * Ids of 2^62 and above belong to the replayer (synthetic orders and aggressors), so
//    they cannot collide with NASDAQ order reference numbers, which the parser requires
//    to be below 2^62.
//  * Starting book: message 1's effect is undone on row 1, every level of that
//    pre-state is seeded with one synthetic order of the level's size, and message 1 is
//    then applied like any other.
//  * Type 1 is a post-only GTC limit order (NASDAQ only reports adds that did not
//    trade), so a rejection proves that our book disagrees. Type 2 is a Replace to a
//    lower quantity (time priority kept), type 3 a Cancel. An id we never saw lives in
//    synthetic volume at its price, which is reduced instead.
//  * Type 4 rows are passive fills. A run of consecutive type 4 and type 5 rows with the
//    same time and direction becomes one marketable IOC limit order on the other side,
//    for the sum of the type 4 sizes, limited at the worst type 4 price; the engine's
//    Trade events must fill the recorded ids, in the recorded order and sizes (an
//    unknown id by synthetic volume at its price). Rows inside the run are rebuilt from
//    the engine's trades, the first shares traded filling the first rows.
//  * Types 5 and 6 change nothing visible and are counted. Type 7 drives the trading
//    state: -1 halts (resting orders stay), 0 opens the quoting period (a call auction
//    that trades nothing), 1 resumes continuous trading (after an uncross if quoting).
//  * Level window: a level-L file leaves out events deeper than the top L levels. The
//    window of a row is the price range of its top L levels per side (the whole side
//    when fewer than L are occupied). Only prices that enter the window between row k-1
//    and row k are re-synced to row k's totals. A price inside the window at both rows
//    is never touched: there the engine alone must reproduce the file.
//  * A re-sync decides which orders make up the level from the rest of the file: a
//    known order that a later row names is kept; one that no later row names is
//    replaced by synthetic volume at the back; unseen ids that later rows name get
//    synthetic volume in their place by id (NASDAQ numbers orders in arrival order);
//    missing volume goes to the back, excess comes off synthetic volume, then off the
//    newest known orders.
//  * When a run's fills disagree with the file while every price traded the same
//    volume, the queues are put back the way the file says (the totals do not change),
//    and rows where the file fills a later order ahead of an earlier one still resting
//    are counted as breaks of time priority in the file itself.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cpx/matching/types.hpp"

namespace cpx::replay {

using matching::OrderId;
using matching::Price;
using matching::Quantity;
using matching::Timestamp;

// LOBSTER's fillers for an empty slot of the orderbook file; their size is always 0.
inline constexpr Price kDummyAskPrice = 9'999'999'999;
inline constexpr Price kDummyBidPrice = -9'999'999'999;

// Order ids from here up are the replayer's own; NASDAQ ids must be below.
inline constexpr OrderId kReservedIdBase = OrderId{1} << 62;
inline constexpr OrderId kSyntheticIdBase = kReservedIdBase;
inline constexpr OrderId kAggressorIdBase = kReservedIdBase + (OrderId{1} << 61);

// Malformed or inconsistent input. The message names the file and the 1-based line
// (0 when the problem is not tied to one line).
class InputError : public std::runtime_error {
  public:
    InputError(const std::string& source, std::size_t line, const std::string& what);
    std::size_t line() const { return line_; }

  private:
    std::size_t line_;
};

enum class MessageType : std::uint8_t {
    Add = 1,
    PartialCancel = 2,
    Delete = 3,
    Execute = 4,
    ExecuteHidden = 5,
    Cross = 6,
    TradingHalt = 7,
};

// One row of a message file. direction is +1 for a resting buy order (bid) and -1 for
// a resting sell order (ask), as in the file.
struct Message {
    Timestamp ts_ns = 0;  // nanoseconds after midnight
    MessageType type = MessageType::Add;
    std::int8_t direction = 1;
    OrderId order_id = 0;
    Quantity size = 0;
    Price price = 0;
    std::size_t line = 0;
};

// An orderbook file: rows of 4 * levels integers (ask price, ask size, bid price, bid
// size for each level, best first), stored row after row.
struct OrderbookFile {
    std::size_t levels = 0;
    std::vector<std::int64_t> values;

    std::size_t columns() const { return 4 * levels; }
    std::size_t rows() const { return levels == 0 ? 0 : values.size() / columns(); }
    const std::int64_t* row(std::size_t index) const { return values.data() + index * columns(); }
};

// "34200.017459617" -> 34200017459617 nanoseconds. Fewer than 9 fractional digits are
// scaled up ("34200.18960767" is 34200189607670 ns); more than 9, signs, spaces or an
// empty part are refused.
bool parse_timestamp(std::string_view text, Timestamp& out);

// Parse whole files. Lines end in "\n" (a "\r" before it is tolerated) and the last
// line may lack it. Throw InputError on the first malformed line.
std::vector<Message> parse_messages(std::string_view text,
                                    const std::string& source = "message file");
OrderbookFile parse_orderbook(std::string_view text, const std::string& source = "orderbook file");

std::vector<Message> load_messages(const std::string& path);
OrderbookFile load_orderbook(const std::string& path);

struct ReplayCounters {
    std::uint64_t rows = 0;
    std::uint64_t adds = 0;
    std::uint64_t partial_cancels = 0;
    std::uint64_t deletes = 0;
    std::uint64_t execution_rows = 0;
    std::uint64_t aggressor_orders = 0;
    std::uint64_t fills_checked = 0;
    std::uint64_t hidden_executions = 0;
    std::uint64_t crosses = 0;
    std::uint64_t halt_messages = 0;
    std::uint64_t unknown_id_references = 0;
    std::uint64_t synthetic_orders_seeded = 0;
    std::uint64_t resync_levels = 0;
    std::uint64_t resync_volume = 0;
    std::uint64_t post_only_rejections = 0;
    std::uint64_t other_rejections = 0;
    // Type 2/3 rows whose order rests elsewhere or with another size than the row says
    // (or, for an unknown id, whose shares exceed the synthetic volume at its price).
    std::uint64_t order_disagreements = 0;
    std::uint64_t fill_mismatches = 0;
    // Of those, rows of runs in which the file fills an order while an order at the
    // same price that arrived before it, and still rests, waits: the file departs from
    // price-time priority there, which no matching engine reproduces.
    std::uint64_t fill_mismatches_priority_inversion = 0;
    // Price levels whose queue was put back the way the file says after a fill
    // mismatch (same totals, other orders filled), so one disagreement counts once.
    std::uint64_t queue_repairs = 0;
    std::uint64_t book_row_mismatches = 0;
};

struct ReplayOptions {
    // How many levels to rebuild and compare; 0 means all the levels of the orderbook
    // file. Fewer is allowed (a deeper file is also a valid shallower one), more is not.
    std::size_t levels = 0;
    // When set, the replayed book after every message is written here, one line per
    // message, in LOBSTER's orderbook format.
    std::ostream* out = nullptr;
    // How many disagreements to describe in ReplayResult::diagnostics.
    std::size_t max_diagnostics = 20;
};

struct ReplayResult {
    ReplayCounters counters;
    std::vector<std::string> diagnostics;  // the first disagreements, in words
    Price tick_size = 1;
    Price price_min = 0;
    Price price_max = 0;
    std::uint32_t order_capacity = 0;
    std::uint64_t state_hash = 0;  // the engine's state_hash() after the last message
    // The replayer's copy of the book, kept from the engine's events, equals the
    // engine's own book at the end: a check on the market-by-order and market-by-price
    // feeds.
    bool feed_consistent = false;
    double seconds = 0.0;  // replay alone, files already parsed

    // True when every row and every fill matched and the engine refused nothing.
    bool clean() const {
        return counters.book_row_mismatches == 0 && counters.fill_mismatches == 0 &&
               counters.post_only_rejections == 0 && counters.other_rejections == 0 &&
               counters.order_disagreements == 0 && feed_consistent;
    }
};

// Replays the messages through a new engine. Throws InputError when the two files do
// not fit together (row counts, levels) or row 1 cannot be explained by message 1.
ReplayResult replay(const std::vector<Message>& messages, const OrderbookFile& book,
                    const ReplayOptions& options = {});

// One LOBSTER orderbook line (without the newline) of the given levels.
std::string format_row(const std::int64_t* values, std::size_t levels);

// The counters as "name: value" lines, for the command-line tool.
std::string format_report(const ReplayResult& result);

}  // namespace cpx::replay
