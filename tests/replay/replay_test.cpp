// The LOBSTER replay: the parser's handling of good and malformed rows, a small
// hand-made file whose every row is known, and the two public NASDAQ sample sets, whose
// every orderbook row the engine must reproduce.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lobster.hpp"

namespace cpx::replay {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Helpers

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A directory of its own for each test, removed afterwards.
class TempDir {
  public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = fs::temp_directory_path() /
                ("cpx-replay-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
                 std::to_string(std::random_device{}()));
        fs::create_directories(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }

    fs::path write(const std::string& name, const std::string& text) const {
        const fs::path file = path_ / name;
        std::ofstream out(file, std::ios::binary);
        out << text;
        return file;
    }

  private:
    fs::path path_;
};

// The line number an InputError reports for text, or 0 if the text parses.
std::size_t message_error_line(const std::string& text) {
    try {
        parse_messages(text);
    } catch (const InputError& e) {
        return e.line();
    }
    return 0;
}

std::size_t orderbook_error_line(const std::string& text) {
    try {
        parse_orderbook(text);
    } catch (const InputError& e) {
        return e.line();
    }
    return 0;
}

ReplayResult replay_files(const fs::path& messages, const fs::path& book, std::string* out,
                          std::size_t levels = 0) {
    const std::vector<Message> m = load_messages(messages.string());
    const OrderbookFile b = load_orderbook(book.string());
    std::ostringstream stream;
    ReplayOptions options;
    options.levels = levels;
    options.out = out != nullptr ? &stream : nullptr;
    options.max_diagnostics = 100;
    ReplayResult result = replay(m, b, options);
    if (out != nullptr) {
        *out = stream.str();
    }
    return result;
}

std::string diagnostics_of(const ReplayResult& result) {
    std::string text;
    for (const std::string& line : result.diagnostics) {
        text += line + "\n";
    }
    return text;
}

// ---------------------------------------------------------------------------------------
// Parsing

TEST(LobsterTimestamp, ParsesSecondsAndFractionAsIntegerNanoseconds) {
    Timestamp ts = 0;
    ASSERT_TRUE(parse_timestamp("34200.017459617", ts));
    EXPECT_EQ(ts, 34'200'017'459'617);
    // LOBSTER drops trailing zeros: eight digits are tenths of a microsecond.
    ASSERT_TRUE(parse_timestamp("34200.18960767", ts));
    EXPECT_EQ(ts, 34'200'189'607'670);
    ASSERT_TRUE(parse_timestamp("57599.95935965", ts));
    EXPECT_EQ(ts, 57'599'959'359'650);
    ASSERT_TRUE(parse_timestamp("34201", ts));
    EXPECT_EQ(ts, 34'201'000'000'000);
    ASSERT_TRUE(parse_timestamp("0.000000001", ts));
    EXPECT_EQ(ts, 1);
}

TEST(LobsterTimestamp, RejectsSignsExponentsEmptyPartsAndSubNanosecondDigits) {
    Timestamp ts = 0;
    for (const char* bad : {"", ".", "1.", ".5", "-1.5", "+1.5", "1e3", " 1.5", "1.5 ",
                            "1.1234567891", "1.2.3", "99999999999999999999.1"}) {
        EXPECT_FALSE(parse_timestamp(bad, ts)) << bad;
    }
}

TEST(LobsterMessages, ParsesRowsWithCrLfAndWithoutAFinalNewline) {
    const std::vector<Message> m =
        parse_messages("34200.1,1,11885113,21,2238100,1\r\n34200.2,5,0,100,2238400,-1");
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].ts_ns, 34'200'100'000'000);
    EXPECT_EQ(m[0].type, MessageType::Add);
    EXPECT_EQ(m[0].order_id, 11885113u);
    EXPECT_EQ(m[0].size, 21);
    EXPECT_EQ(m[0].price, 2238100);
    EXPECT_EQ(m[0].direction, 1);
    EXPECT_EQ(m[1].type, MessageType::ExecuteHidden);
    EXPECT_EQ(m[1].direction, -1);
    EXPECT_EQ(m[1].line, 2u);
}

struct BadRow {
    const char* text;
    const char* why;
};

TEST(LobsterMessages, RejectsMalformedRowsWithTheirLineNumber) {
    const std::string good = "34200.1,1,7,10,100,1\n";
    const BadRow bad[] = {
        {"34200.2,1,8,10,100", "five fields"},
        {"34200.2,1,8,10,100,1,0", "seven fields"},
        {"34200.2,1,8,10,100,", "an empty direction"},
        {"34200.2,8,8,10,100,1", "event type 8"},
        {"34200.2,1,8,10,223.82,1", "a price in dollars instead of an integer"},
        {"34200.2,1,8,10,100,0", "direction 0"},
        {"34200.2,1,8,0,100,1", "an add of 0 shares"},
        {"34200.2,1,0,10,100,1", "order id 0"},
        {"34200.2,1,4611686018427387904,10,100,1", "an order id in the replay's range"},
        {"34200.2,1,x,10,100,1", "an order id that is not a number"},
        {"34200.2,1,8,10,-5,1", "a negative price"},
        {"34200.2,7,0,0,2,1", "a halt marker with price 2"},
        {"34200.0,1,8,10,100,1", "a time before the previous row's"},
    };
    for (const BadRow& row : bad) {
        EXPECT_EQ(message_error_line(good + row.text + "\n"), 2u) << row.why;
    }
    EXPECT_EQ(message_error_line(good + "\n34200.2,1,8,10,100,1\n"), 2u) << "an empty line";
    EXPECT_THROW(parse_messages(""), InputError);
    EXPECT_EQ(message_error_line(good + "34200.2,6,-1,0,0,1\n34200.3,7,0,0,-1,1"), 0u)
        << "cross and halt rows carry no order";
}

TEST(LobsterMessages, ErrorNamesTheFileAndLine) {
    try {
        parse_messages("34200.1,1,7,10,100,1\n34200.2,1,8,ten,100,1\n", "msg.csv");
        FAIL() << "a size of 'ten' was accepted";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("msg.csv:2: ", 0), 0u) << e.what();
        EXPECT_NE(std::string(e.what()).find("ten"), std::string::npos) << e.what();
    }
}

TEST(LobsterOrderbook, DetectsTheLevelCountFromTheColumns) {
    const OrderbookFile one = parse_orderbook("2239500,100,2231800,100\n2239500,100,2238100,21");
    EXPECT_EQ(one.levels, 1u);
    EXPECT_EQ(one.rows(), 2u);
    EXPECT_EQ(one.row(1)[3], 21);
    const OrderbookFile two =
        parse_orderbook("105,50,100,40,106,30,99,10\n105,50,100,40,9999999999,0,-9999999999,0\n");
    EXPECT_EQ(two.levels, 2u);
    EXPECT_EQ(two.rows(), 2u);
}

TEST(LobsterOrderbook, RejectsMalformedRowsWithTheirLineNumber) {
    const std::string good = "105,50,100,40,106,30,99,10\n";
    EXPECT_EQ(orderbook_error_line("105,50,100\n"), 1u) << "3 columns are not whole levels";
    const BadRow bad[] = {
        {"105,50,100,40", "fewer columns than the first row"},
        {"105,50,100,40,106,30,99,1x", "a size that is not a number"},
        {"105,50,100,40,9999999999,5,99,10", "an empty ask slot with a size"},
        {"105,50,100,40,104,30,99,10", "asks that do not rise"},
        {"105,50,100,40,106,30,101,10", "bids that do not fall"},
        {"9999999999,0,100,40,106,30,99,10", "an ask level after an empty slot"},
        {"105,0,100,40,106,30,99,10", "a level of 0 shares"},
    };
    for (const BadRow& row : bad) {
        EXPECT_EQ(orderbook_error_line(good + row.text + "\n"), 2u) << row.why;
    }
    EXPECT_EQ(orderbook_error_line(good + good), 0u);
}

TEST(LobsterReplay, RefusesFilesOfDifferentLengthsOrTooManyLevels) {
    const std::vector<Message> m = parse_messages("34200.1,1,7,10,100,1\n34200.2,3,7,10,100,1");
    const OrderbookFile one = parse_orderbook("105,50,110,10\n");
    EXPECT_THROW(replay(m, one), InputError);
    const OrderbookFile two = parse_orderbook("105,50,100,10\n105,50,-9999999999,0\n");
    ReplayOptions options;
    options.levels = 2;
    EXPECT_THROW(replay(m, two, options), InputError);
}

// ---------------------------------------------------------------------------------------
// A hand-made two-level file. Before it starts the book is asks 105x50, 106x30 (and
// 107x20, out of view) and bids 100x40, 99x10 (and 98x25, out of view). It covers every
// message type, a level coming into view with volume the file never announced, a fill
// of an order that predates the file, and a halt with a quoting period.

const char* const kHandMessages =
    "34200.000000001,1,1001,10,100,1\n"  // 1 add bid 10@100
    "34200.5,1,1002,5,104,-1\n"          // 2 add ask 5@104: 106 leaves the view
    "34201.000000002,4,1002,5,104,-1\n"  // 3 1002 filled: 106 is back, with 15 more
    "34202,4,555,20,105,-1\n"            // 4 an order from before the file filled
    "34203,3,777,10,99,1\n"              // 5 an order from before the file deleted: 98 shows
    "34204,7,0,0,-1,1\n"                 // 6 halt
    "34205,3,1001,10,100,1\n"            // 7 delete during the halt
    "34206,7,0,0,0,1\n"                  // 8 quoting resumes
    "34207,1,1003,7,101,1\n"             // 9 add while quoting
    "34208,7,0,0,1,1\n"                  // 10 trading resumes
    "34209,4,1003,7,101,1\n"             // 11 one sell order fills 1003...
    "34209,4,888,15,100,1\n"             // 12 ...and 15 of the older volume at 100
    "34210,5,0,100,103,-1\n"             // 13 hidden execution
    "34211,1,1004,20,106,-1\n"           // 14 add ask 20@106
    "34212,2,1004,5,106,-1\n"            // 15 partial cancel of 1004
    "34213,6,-1,500,103,-1";             // 16 cross

const char* const kHandBook =
    "105,50,100,50,106,30,99,10\n"   // 1
    "104,5,100,50,105,50,99,10\n"    // 2
    "105,50,100,50,106,45,99,10\n"   // 3
    "105,30,100,50,106,45,99,10\n"   // 4
    "105,30,100,50,106,45,98,25\n"   // 5
    "105,30,100,50,106,45,98,25\n"   // 6
    "105,30,100,40,106,45,98,25\n"   // 7
    "105,30,100,40,106,45,98,25\n"   // 8
    "105,30,101,7,106,45,100,40\n"   // 9
    "105,30,101,7,106,45,100,40\n"   // 10
    "105,30,100,40,106,45,98,25\n"   // 11
    "105,30,100,25,106,45,98,25\n"   // 12
    "105,30,100,25,106,45,98,25\n"   // 13
    "105,30,100,25,106,65,98,25\n"   // 14
    "105,30,100,25,106,60,98,25\n"   // 15
    "105,30,100,25,106,60,98,25\n";  // 16

TEST(LobsterHandMade, ReplaysEveryRowIncludingALevelComingIntoViewAndAHalt) {
    TempDir dir;
    const fs::path messages = dir.write("HAND_2012-06-21_0_1_message_2.csv", kHandMessages);
    const fs::path book = dir.write("HAND_2012-06-21_0_1_orderbook_2.csv", kHandBook);
    std::string out;
    const ReplayResult r = replay_files(messages, book, &out);
    EXPECT_EQ(out, kHandBook);
    EXPECT_TRUE(r.clean()) << diagnostics_of(r);
    const ReplayCounters& c = r.counters;
    EXPECT_EQ(c.rows, 16u);
    EXPECT_EQ(c.adds, 4u);
    EXPECT_EQ(c.partial_cancels, 1u);
    EXPECT_EQ(c.deletes, 2u);
    EXPECT_EQ(c.execution_rows, 4u);
    EXPECT_EQ(c.aggressor_orders, 3u);  // rows 11 and 12 are one order
    EXPECT_EQ(c.fills_checked, 4u);
    EXPECT_EQ(c.hidden_executions, 1u);
    EXPECT_EQ(c.crosses, 1u);
    EXPECT_EQ(c.halt_messages, 3u);
    EXPECT_EQ(c.unknown_id_references, 3u);  // 555, 777, 888
    EXPECT_EQ(c.synthetic_orders_seeded, 4u);
    // 106 comes back with 15 unannounced shares (row 3); 98 comes into view (row 5).
    EXPECT_EQ(c.resync_levels, 2u);
    EXPECT_EQ(c.resync_volume, 40u);
    EXPECT_EQ(c.book_row_mismatches, 0u);
    EXPECT_EQ(c.fill_mismatches, 0u);
    EXPECT_TRUE(r.feed_consistent);
}

TEST(LobsterHandMade, AChangedSizeAtALevelInViewIsAMismatchNotAReSync) {
    // Row 7 claims 41 shares at 100 where the engine, having seen every message at that
    // level, holds 40. The level was in view at row 6, so nothing may paper over it.
    std::string book = kHandBook;
    const std::string row7 = "105,30,100,40,106,45,98,25\n";
    const std::size_t at = book.find(row7, book.find("105,30,100,50,106,45,98,25\n"));
    ASSERT_NE(at, std::string::npos);
    book.replace(at, row7.size(), "105,30,100,41,106,45,98,25\n");
    TempDir dir;
    const ReplayResult r =
        replay_files(dir.write("m.csv", kHandMessages), dir.write("b.csv", book), nullptr);
    EXPECT_FALSE(r.clean());
    EXPECT_EQ(r.counters.book_row_mismatches, 1u);
    EXPECT_EQ(r.counters.resync_levels, 2u);
    ASSERT_FALSE(r.diagnostics.empty());
    EXPECT_EQ(r.diagnostics.front().rfind("row 7: book differs", 0), 0u) << diagnostics_of(r);
}

TEST(LobsterHandMade, AnAddThatWouldTradeIsRejectedAndCounted) {
    // Row 2 adds an ask at the best bid: NASDAQ would have reported a trade, not an add.
    const std::string messages = "34200.1,1,1001,10,100,1\n34200.2,1,1002,5,100,-1";
    const std::string book = "105,50,100,50\n100,5,100,50";
    TempDir dir;
    const ReplayResult r =
        replay_files(dir.write("m.csv", messages), dir.write("b.csv", book), nullptr);
    EXPECT_EQ(r.counters.post_only_rejections, 1u);
    EXPECT_EQ(r.counters.book_row_mismatches, 1u);
    EXPECT_FALSE(r.clean());
}

TEST(LobsterHandMade, FillsOutOfTimePriorityAreCountedAndExplained) {
    // Orders 2001 and 2002 rest at 104 in that order; the file fills 2002 first.
    const std::string messages =
        "34200.1,1,2001,10,104,-1\n"
        "34200.2,1,2002,10,104,-1\n"
        "34201,4,2002,10,104,-1\n"
        "34201,4,2001,10,104,-1\n"
        "34202,1,2003,10,104,-1";
    const std::string book =
        "104,10,100,50\n"
        "104,20,100,50\n"
        "104,10,100,50\n"
        "105,50,100,50\n"
        "104,10,100,50";
    TempDir dir;
    const ReplayResult r =
        replay_files(dir.write("m.csv", messages), dir.write("b.csv", book), nullptr);
    EXPECT_EQ(r.counters.fills_checked, 2u);
    EXPECT_EQ(r.counters.fill_mismatches, 2u);
    EXPECT_EQ(r.counters.fill_mismatches_priority_inversion, 2u);
    EXPECT_EQ(r.counters.book_row_mismatches, 0u);
    EXPECT_FALSE(r.clean());
}

TEST(LobsterHandMade, AnUnknownOrderFilledWhereOnlyAKnownOrderRestsIsAMismatch) {
    // Only order 2001 rests at 104, yet the file fills order 999, never seen, there.
    const std::string messages = "34200.1,1,2001,10,104,-1\n34201,4,999,4,104,-1";
    const std::string book = "104,10,100,50\n104,6,100,50";
    TempDir dir;
    const ReplayResult r =
        replay_files(dir.write("m.csv", messages), dir.write("b.csv", book), nullptr);
    EXPECT_EQ(r.counters.unknown_id_references, 1u);
    EXPECT_EQ(r.counters.fill_mismatches, 1u);
    EXPECT_EQ(r.counters.fill_mismatches_priority_inversion, 0u);
    EXPECT_EQ(r.counters.queue_repairs, 0u);
    EXPECT_EQ(r.counters.book_row_mismatches, 0u);
    EXPECT_FALSE(r.clean());
}

// ---------------------------------------------------------------------------------------
// The public NASDAQ sample sets.

fs::path data_dir() {
    if (const char* env = std::getenv("CPX_LOBSTER_DIR"); env != nullptr && *env != '\0') {
        return env;
    }
    return CPX_LOBSTER_DATA_DIR;
}

struct PublicSet {
    fs::path messages;
    fs::path book;
};

// Fails the calling test, with where it looked, when the data is not there.
bool find_set(const std::string& folder, const std::string& stem, std::size_t levels,
              PublicSet& out) {
    const fs::path dir = data_dir() / folder;
    out.messages = dir / (stem + "_message_" + std::to_string(levels) + ".csv");
    out.book = dir / (stem + "_orderbook_" + std::to_string(levels) + ".csv");
    for (const fs::path& p : {out.messages, out.book}) {
        if (!fs::is_regular_file(p)) {
            ADD_FAILURE() << "LOBSTER sample data missing: " << p
                          << " (the repository expects shared/data/lobster beside it; set "
                             "CPX_LOBSTER_DIR to its location)";
            return false;
        }
    }
    return true;
}

TEST(LobsterPublicData, AmznLevel1EveryRowMatchesAndOnlyTheFilesPriorityBreaksFail) {
    PublicSet set;
    ASSERT_TRUE(find_set("AMZN_2012-06-21", "AMZN_2012-06-21_34200000_57600000", 1, set));
    std::string out;
    const ReplayResult r = replay_files(set.messages, set.book, &out);
    const ReplayCounters& c = r.counters;
    EXPECT_EQ(c.rows, 57'515u);
    EXPECT_EQ(c.adds, 27'845u);
    EXPECT_EQ(c.partial_cancels, 16u);
    EXPECT_EQ(c.deletes, 18'235u);
    EXPECT_EQ(c.execution_rows, 8'974u);
    EXPECT_EQ(c.hidden_executions, 2'445u);
    EXPECT_EQ(c.fills_checked, 8'974u);
    EXPECT_EQ(c.book_row_mismatches, 0u);
    EXPECT_EQ(out, read_text(set.book));  // byte for byte
    EXPECT_EQ(c.post_only_rejections, 0u);
    EXPECT_EQ(c.other_rejections, 0u);
    EXPECT_EQ(c.order_disagreements, 0u);
    EXPECT_TRUE(r.feed_consistent);
    // Thirteen execution rows, in nine runs, fill a later order at a price while an
    // earlier one that the file shows still resting waits (see docs/REPLAY.md). Each
    // is a break of price-time priority in the file itself.
    EXPECT_EQ(c.fill_mismatches, 13u) << diagnostics_of(r);
    EXPECT_EQ(c.fill_mismatches_priority_inversion, 13u) << diagnostics_of(r);
    std::vector<std::size_t> rows;
    for (const std::string& line : r.diagnostics) {
        rows.push_back(std::stoul(line.substr(4)));
    }
    EXPECT_EQ(rows, (std::vector<std::size_t>{1947, 1948, 3173, 3174, 25611, 25612, 38826, 38827,
                                              56084, 56085, 56086, 56087, 56554}));
}

TEST(LobsterPublicData, AaplLevel10EveryRowAndFillMatches) {
    PublicSet set;
    ASSERT_TRUE(find_set("AAPL_2012-06-21_first999", "AAPL_2012-06-21_34200000_57600000", 10, set));
    std::string out;
    const ReplayResult r = replay_files(set.messages, set.book, &out);
    EXPECT_EQ(r.counters.rows, 999u);
    EXPECT_TRUE(r.clean()) << diagnostics_of(r);
    EXPECT_EQ(r.counters.book_row_mismatches, 0u);
    EXPECT_EQ(r.counters.fill_mismatches, 0u);
    EXPECT_EQ(r.counters.fills_checked, 98u);
    // The file has no final newline; the replay writes one after every row.
    EXPECT_EQ(out, read_text(set.book) + "\n");
}

TEST(LobsterPublicData, AaplReplayedAtFewerLevelsStillMatchesEveryRow) {
    PublicSet set;
    ASSERT_TRUE(find_set("AAPL_2012-06-21_first999", "AAPL_2012-06-21_34200000_57600000", 10, set));
    for (const std::size_t levels : {1u, 2u, 5u}) {
        const ReplayResult r = replay_files(set.messages, set.book, nullptr, levels);
        EXPECT_TRUE(r.clean()) << levels << " levels:\n" << diagnostics_of(r);
    }
}

}  // namespace
}  // namespace cpx::replay
