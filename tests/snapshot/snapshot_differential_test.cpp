// Differential tests of the exchange's snapshot: one exchange replays every request
// since the start (what recovery by full replay rebuilds) while another is replaced,
// at random points, by a new exchange loaded from its own snapshot (what recovery from
// a snapshot rebuilds). Both get the same requests; every Outbound must be the same
// bytes, and every snapshot must restore the same state hash and save the same bytes.

#include <gtest/gtest.h>

#include <iostream>

#include "snapshot_harness.hpp"
#include "stress.hpp"

namespace cpx::exchange::test {
namespace {

std::uint64_t seeds(std::uint64_t base) {
    const double n = static_cast<double>(base) * cpx::testing::test_scale();
    return std::max<std::uint64_t>(3, static_cast<std::uint64_t>(n));
}

// Runs one seeded market of `steps` requests, restoring from a snapshot with the given
// chance per step (in 1/1000), and returns the twin's restore count.
std::size_t run_market(std::uint64_t seed, int steps, std::uint64_t restore_per_mille,
                       Coverage* coverage = nullptr) {
    Twin twin;
    SplitMix64 plan(seed * 0x9E3779B97F4A7C15ull + 17);
    SnapshotMarket market(twin, seed);
    if (plan.chance(30)) {
        twin.snapshot_and_restore();  // a brand-new exchange, before its Bootstrap
    }
    market.bootstrap();
    if (plan.chance(30)) {
        twin.snapshot_and_restore();
    }
    market.setup();
    for (int i = 0; i < steps && !twin.failed(); ++i) {
        if (plan.below(1000) < restore_per_mille) {
            twin.snapshot_and_restore();
        }
        market.step();
    }
    twin.snapshot_and_restore();
    for (int i = 0; i < 50 && !twin.failed(); ++i) {
        market.step();
    }
    EXPECT_FALSE(twin.failed()) << "seed " << seed;
    EXPECT_EQ(twin.reference().state_hash(), twin.restored().state_hash()) << "seed " << seed;
    EXPECT_GT(twin.compared_records(), static_cast<std::size_t>(steps)) << "seed " << seed;
    if (coverage != nullptr) {
        coverage->add(twin.coverage);
    }
    return twin.restores();
}

TEST(SnapshotDifferential, RestoredExchangeAnswersEveryLaterRequestLikeFullReplayByteForByte) {
    std::size_t restores = 0;
    Coverage coverage;
    const std::uint64_t n = seeds(60);
    for (std::uint64_t seed = 1; seed <= n; ++seed) {
        restores += run_market(seed, 1'500, 8, &coverage);
        if (::testing::Test::HasFailure()) {
            FAIL() << "first failing seed: " << seed;
        }
    }
    EXPECT_GT(restores, n * 5);
    // The market reached every path whose state a snapshot must carry.
    std::cout << "coverage over " << n << " seeds, " << restores << " restores: " << coverage
              << "\n";
    EXPECT_GT(coverage.fills, 0u);
    EXPECT_GT(coverage.obligations_closed, 0u);
    EXPECT_GT(coverage.auction_trades, 0u);
    EXPECT_GT(coverage.expired, 0u);
    EXPECT_GT(coverage.rate_limited, 0u);
    EXPECT_GT(coverage.duplicates, 0u);
    // A full order pool is the rarest path: the full run's 60 seeds reach it, a
    // sanitizer build's scaled-down run (a tenth of them) may not.
    if (n >= 60) {
        EXPECT_GT(coverage.pool_full, 0u);
    }
    EXPECT_GT(coverage.session_limit, 0u);
    EXPECT_GT(coverage.resumed, 0u);
    EXPECT_GT(coverage.mass_cancels, 0u);
    EXPECT_GT(coverage.halt_or_close_cancels, 0u);
    EXPECT_GT(coverage.state_changes, 0u);
    EXPECT_GT(coverage.insufficient, 0u);
}

TEST(SnapshotDifferential, RestoringAfterEveryRequestChangesNothing) {
    const int steps = std::max(100, static_cast<int>(600 * cpx::testing::test_scale()));
    for (std::uint64_t seed = 1001; seed <= 1003; ++seed) {
        run_market(seed, steps, 1000);
        if (::testing::Test::HasFailure()) {
            FAIL() << "first failing seed: " << seed;
        }
    }
}

TEST(SnapshotDifferential, LongRunsWithRareSnapshotsStayIdentical) {
    // Long enough that the client-id window evicts many times over, report logs forget,
    // GTD orders expire in numbers and the order pool fills and drains.
    const std::uint64_t n = seeds(4);
    for (std::uint64_t seed = 2001; seed < 2001 + n; ++seed) {
        run_market(seed, 8'000, 1);
        if (::testing::Test::HasFailure()) {
            FAIL() << "first failing seed: " << seed;
        }
    }
}

TEST(SnapshotDifferential, SnapshotOfAFreshExchangeRestoresAFreshExchange) {
    Twin twin;
    twin.snapshot_and_restore();
    SnapshotMarket market(twin, 7);
    market.bootstrap();  // accepted by the restored exchange too: it has no account yet
    market.setup();
    for (int i = 0; i < 200; ++i) {
        market.step();
    }
    EXPECT_FALSE(twin.failed());
    EXPECT_EQ(twin.restored().account(1)->spec.role, Role::Operator);
}

}  // namespace
}  // namespace cpx::exchange::test
