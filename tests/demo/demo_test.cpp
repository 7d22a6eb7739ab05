// Properties of the simulated compute market behind cpx-demo: a seed gives one output,
// every opening auction uncrosses, every instrument trades, books stay sane, and the
// printed summary agrees with the engine's own trade events.

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "cpx/matching/event.hpp"
#include "demo/catalog.hpp"
#include "demo/format.hpp"
#include "demo/options.hpp"
#include "demo/simulation.hpp"

namespace cpx::demo {
namespace {

using matching::Event;
using matching::EventType;
using matching::InstrumentId;
using matching::Quantity;
using matching::TradingState;

struct DemoRun {
    std::string output;
    DemoResult result;
};

DemoRun run_once(std::uint64_t seed, std::uint64_t steps = 3'000, bool quiet = false) {
    DemoOptions options;
    options.seed = seed;
    options.steps = steps;
    options.quiet = quiet;
    options.keep_events = true;
    std::ostringstream out;
    DemoResult result = run_demo(options, out);
    return {out.str(), std::move(result)};
}

TEST(DemoFormat, MoneyIsPrintedWithIntegerArithmetic) {
    EXPECT_EQ(format_cny(1'234'567), "12,345.67");
    EXPECT_EQ(format_cny(5), "0.05");
    EXPECT_EQ(format_cny(-120), "-1.20");
    EXPECT_EQ(group_thousands(1'000), "1,000");
    EXPECT_EQ(group_thousands(999), "999");
    EXPECT_EQ(format_bps(1'000), "10%");
    EXPECT_EQ(format_bps(850), "8.5%");
    EXPECT_EQ(divide_round_half_up(5, 2), 3);
    EXPECT_EQ(divide_round_half_up(7, 3), 2);
    EXPECT_EQ(divide_round_half_up(3, 2), 2);
    EXPECT_EQ(divide_round_half_up(4, 2), 2);
    EXPECT_EQ(display_width("12 P·h"), 6u);
}

TEST(DemoOptions, ParsesFlagsAndRefusesNonsense) {
    const ParsedOptions ok = parse_options({"--seed", "7", "--steps=500", "--quiet"});
    EXPECT_TRUE(ok.error.empty());
    EXPECT_EQ(ok.options.seed, 7u);
    EXPECT_EQ(ok.options.steps, 500u);
    EXPECT_TRUE(ok.options.quiet);
    EXPECT_FALSE(parse_options({"--steps", "10"}).error.empty());
    EXPECT_FALSE(parse_options({"--seed", "-1"}).error.empty());
    EXPECT_FALSE(parse_options({"--seed"}).error.empty());
    EXPECT_FALSE(parse_options({"--bogus"}).error.empty());
}

TEST(Demo, SameSeedGivesTheSameOutput) {
    const DemoRun a = run_once(42);
    const DemoRun b = run_once(42);
    EXPECT_EQ(a.output, b.output);
    EXPECT_EQ(a.result.state_hash, b.result.state_hash);
    EXPECT_EQ(a.result.events.size(), b.result.events.size());
}

TEST(Demo, DifferentSeedsGiveDifferentMarkets) {
    const DemoRun a = run_once(1);
    const DemoRun b = run_once(2);
    EXPECT_NE(a.output, b.output);
    EXPECT_NE(a.result.state_hash, b.result.state_hash);
}

TEST(Demo, QuietPrintsTheSameSummaryOnly) {
    const DemoRun loud = run_once(9);
    const DemoRun quiet = run_once(9, 3'000, true);
    EXPECT_LT(quiet.output.size(), loud.output.size());
    EXPECT_EQ(quiet.output.find("Tape:"), std::string::npos);
    ASSERT_NE(loud.output.find(quiet.output), std::string::npos);
    EXPECT_EQ(loud.result.state_hash, quiet.result.state_hash);
}

class DemoSeeds : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(DemoSeeds, EveryAuctionUncrossesAndEveryInstrumentTrades) {
    const DemoRun r = run_once(GetParam());
    const Catalog catalog = make_catalog();
    ASSERT_EQ(r.result.stats.instruments.size(), catalog.listings.size());
    for (const InstrumentStats& s : r.result.stats.instruments) {
        SCOPED_TRACE(s.instrument);
        EXPECT_EQ(s.auctions_opened, 1u);
        EXPECT_EQ(s.auctions_uncrossed, s.auctions_opened);
        EXPECT_GT(s.auction_volume, 0);
        EXPECT_GT(s.trades, 0u);
    }
    for (const BookSnapshot& book : r.result.books) {
        EXPECT_EQ(book.state, TradingState::Continuous) << book.instrument;
    }
}

TEST_P(DemoSeeds, BooksNeverHoldNegativeQuantities) {
    const DemoRun r = run_once(GetParam());
    EXPECT_EQ(r.result.stats.negative_levels, 0u);
    std::uint64_t resting = 0;
    for (const BookSnapshot& book : r.result.books) {
        for (const auto* side : {&book.bids, &book.asks}) {
            for (const matching::LevelView& level : *side) {
                EXPECT_GT(level.total, 0) << book.instrument;
                EXPECT_GT(level.order_count, 0u) << book.instrument;
                resting += level.order_count;
            }
        }
    }
    EXPECT_EQ(resting, r.result.resting_orders);
    for (const Event& e : r.result.events) {
        if (e.type == EventType::Trade) {
            EXPECT_GT(e.quantity, 0);
            EXPECT_GE(e.leaves, 0);
            EXPECT_GE(e.other_leaves, 0);
        }
        if (e.type == EventType::LevelUpdate || e.type == EventType::Booked) {
            EXPECT_GE(e.quantity, 0);
            EXPECT_GE(e.leaves, 0);
        }
    }
}

TEST_P(DemoSeeds, SummaryAgreesWithTheTradeEvents) {
    const DemoRun r = run_once(GetParam());
    std::map<InstrumentId, Quantity> volume;
    std::map<InstrumentId, std::int64_t> notional;
    std::map<InstrumentId, std::uint64_t> trades;
    matching::Sequence expected_seq = 1;
    for (const Event& e : r.result.events) {
        EXPECT_EQ(e.seq, expected_seq++);
        if (e.type == EventType::Trade) {
            volume[e.instrument] += e.quantity;
            notional[e.instrument] += e.price * e.quantity;
            ++trades[e.instrument];
        }
    }
    EXPECT_EQ(r.result.stats.sequence_gaps, 0u);
    EXPECT_EQ(r.result.stats.events, r.result.events.size());
    for (const InstrumentStats& s : r.result.stats.instruments) {
        EXPECT_EQ(s.volume, volume[s.instrument]) << s.instrument;
        EXPECT_EQ(s.notional, notional[s.instrument]) << s.instrument;
        EXPECT_EQ(s.trades, trades[s.instrument]) << s.instrument;
        if (s.volume > 0) {
            // VWAP rounds half up: it is within half a fen of the true average.
            const std::int64_t diff = 2 * (s.vwap() * s.volume - s.notional);
            EXPECT_LE(diff, s.volume) << s.instrument;
            EXPECT_GT(diff, -s.volume) << s.instrument;
            EXPECT_GE(s.vwap(), s.low);
            EXPECT_LE(s.vwap(), s.high);
        }
    }
}

// The scripted scenes happen in every run: an all-or-none job waits and then fills, a
// GTD order expires, self-trade prevention fires, one instrument halts and resumes.
TEST_P(DemoSeeds, ShowsTheScriptedScenes) {
    const DemoRun r = run_once(GetParam());
    const MarketStats& s = r.result.stats;
    EXPECT_GT(s.cancellations.count(matching::Reason::CancelledExpired), 0u);
    EXPECT_GT(s.cancellations.count(matching::Reason::CancelledSelfTrade), 0u);
    EXPECT_GT(s.cancellations.count(matching::Reason::CancelledMassCancel), 0u);
    EXPECT_FALSE(s.rejections.empty());
    EXPECT_GT(s.replaced, 0u);
    EXPECT_NE(r.output.find(" waits: nobody offers all of it at once"), std::string::npos);
    EXPECT_NE(r.output.find(" filled whole, "), std::string::npos);
    EXPECT_NE(r.output.find("HALT "), std::string::npos);
    EXPECT_NE(r.output.find("RESUME "), std::string::npos);
    EXPECT_NE(r.output.find("INSTRUMENT_HALTED"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DemoSeeds, ::testing::Values(1u, 42u, 2026u, 987'654'321u));

TEST(Demo, SmallestRunStillOpensEveryAuction) {
    const DemoRun r = run_once(5, 200);
    for (const InstrumentStats& s : r.result.stats.instruments) {
        EXPECT_EQ(s.auctions_opened, 1u) << s.instrument;
        EXPECT_EQ(s.auctions_uncrossed, 1u) << s.instrument;
    }
}

}  // namespace
}  // namespace cpx::demo
