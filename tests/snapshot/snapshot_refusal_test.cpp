// A snapshot is loaded only where it fits: into a new exchange with the same config.
// Anything else, and any damaged snapshot, is refused with a reason and without a crash
// (these tests run under ASan and UBSan too).

#include <gtest/gtest.h>

#include "cpx/matching/snapshot_io.hpp"
#include "snapshot_harness.hpp"
#include "stress.hpp"

namespace cpx::exchange::test {
namespace {

// The snapshot of an exchange after a short random market.
std::string market_snapshot(std::uint64_t seed, int steps) {
    Twin twin;
    SnapshotMarket market(twin, seed);
    market.bootstrap();
    market.setup();
    for (int i = 0; i < steps; ++i) {
        market.step();
    }
    std::string bytes;
    twin.reference().save_snapshot(bytes);
    return bytes;
}

// Loads bytes into a new exchange; returns whether it was accepted. An accepted
// exchange must be consistent enough to hash and save itself.
bool loads(std::string_view bytes, const ExchangeConfig& config = twin_config(),
           std::string* error_out = nullptr) {
    RecordingSink sink;
    Exchange exchange(config, sink);
    std::string error;
    const bool ok = exchange.load_snapshot(bytes, error);
    if (ok) {
        EXPECT_TRUE(error.empty());
        (void)exchange.state_hash();
        std::string again;
        exchange.save_snapshot(again);
    } else {
        EXPECT_FALSE(error.empty());
    }
    if (error_out != nullptr) {
        *error_out = error;
    }
    return ok;
}

// Replaces the trailing checksum so that a modified body reaches the parser.
int scaled_cases(int base) {
    return std::max(100, static_cast<int>(base * cpx::testing::test_scale()));
}

std::string with_checksum(std::string body_and_header) {
    const std::uint64_t sum =
        matching::snapshot_checksum(body_and_header.data(), body_and_header.size());
    body_and_header.append(reinterpret_cast<const char*>(&sum), sizeof(sum));
    return body_and_header;
}

TEST(SnapshotRefusal, ValidSnapshotLoads) {
    EXPECT_TRUE(loads(market_snapshot(1, 300)));
}

TEST(SnapshotRefusal, LoadIntoAnExchangeThatHasAppliedRequestsIsRefused) {
    const std::string bytes = market_snapshot(2, 200);
    RecordingSink sink;
    Exchange used(twin_config(), sink);
    used.bootstrap_operator("operator", key_of(1));
    std::string error;
    EXPECT_FALSE(used.load_snapshot(bytes, error));
    EXPECT_NE(error.find("not fresh"), std::string::npos) << error;

    // A Tick alone moves the clock: not fresh either.
    Exchange ticked(twin_config(), sink);
    Request tick;
    tick.type = RequestType::Tick;
    tick.ts_ns = kStartNs;
    ticked.apply(tick);
    EXPECT_FALSE(ticked.load_snapshot(bytes, error));
}

TEST(SnapshotRefusal, SecondLoadIntoTheSameExchangeIsRefused) {
    const std::string bytes = market_snapshot(3, 200);
    RecordingSink sink;
    Exchange exchange(twin_config(), sink);
    std::string error;
    ASSERT_TRUE(exchange.load_snapshot(bytes, error)) << error;
    const std::uint64_t hash = exchange.state_hash();
    EXPECT_FALSE(exchange.load_snapshot(bytes, error));
    EXPECT_EQ(exchange.state_hash(), hash);  // the refusal changed nothing
}

TEST(SnapshotRefusal, ConfigMismatchIsRefusedForEveryField) {
    const std::string bytes = market_snapshot(4, 200);
    const auto change = [](int field) {
        ExchangeConfig c = twin_config();
        switch (field) {
            case 0:
                c.order_capacity += 1;
                break;
            case 1:
                c.client_id_window *= 2;
                break;
            case 2:
                c.report_retention += 1;
                break;
            case 3:
                c.order_quantity_max_default += 1;
                break;
            case 4:
                c.order_notional_max_fen_default += 1;
                break;
            case 5:
                c.orders_per_second_max_default += 1;
                break;
            case 6:
                c.sessions_max += 1;
                break;
            default:
                c.accounts_max += 1;
                break;
        }
        return c;
    };
    for (int field = 0; field < 8; ++field) {
        std::string error;
        EXPECT_FALSE(loads(bytes, change(field), &error)) << "field " << field;
        EXPECT_NE(error.find("config mismatch"), std::string::npos) << error;
    }
}

TEST(SnapshotRefusal, EveryTruncationIsRefused) {
    const std::string bytes = market_snapshot(5, 150);
    ASSERT_TRUE(loads(bytes));
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        ASSERT_FALSE(loads(std::string_view(bytes).substr(0, n))) << "prefix of " << n;
    }
}

TEST(SnapshotRefusal, EveryTruncatedBodyWithAValidChecksumIsRefused) {
    // Past the checksum, the parser itself must notice that the bytes run out. A small
    // state keeps this quadratic test short; it still has every section.
    const std::string bytes = market_snapshot(6, 20);
    const std::string body = bytes.substr(0, bytes.size() - 8);
    // Every prefix at full scale; a sanitizer build (CPX_TEST_SCALE < 1) takes every k-th.
    const auto stride =
        static_cast<std::size_t>(std::max(1.0, 1.0 / std::min(1.0, cpx::testing::test_scale())));
    for (std::size_t n = 12; n < body.size(); n += stride) {
        std::string error;
        ASSERT_FALSE(loads(with_checksum(body.substr(0, n)), twin_config(), &error))
            << "prefix of " << n;
    }
}

TEST(SnapshotRefusal, TrailingBytesAreRefused) {
    const std::string bytes = market_snapshot(7, 100);
    std::string body = bytes.substr(0, bytes.size() - 8);
    body.push_back('\0');
    std::string error;
    EXPECT_FALSE(loads(with_checksum(body), twin_config(), &error));
    EXPECT_NE(error.find("trailing"), std::string::npos) << error;
}

TEST(SnapshotRefusal, WrongMagicOrVersionIsRefused) {
    const std::string bytes = market_snapshot(8, 50);
    std::string bad_magic = bytes;
    bad_magic[0] = 'X';
    std::string error;
    EXPECT_FALSE(
        loads(with_checksum(bad_magic.substr(0, bad_magic.size() - 8)), twin_config(), &error));
    EXPECT_NE(error.find("magic"), std::string::npos) << error;
    std::string bad_version = bytes.substr(0, bytes.size() - 8);
    bad_version[8] = static_cast<char>(matching::kSnapshotVersion + 1);
    EXPECT_FALSE(loads(with_checksum(bad_version), twin_config(), &error));
    EXPECT_NE(error.find("version"), std::string::npos) << error;
}

TEST(SnapshotRefusal, RandomByteFlipsAreRefused) {
    const std::string bytes = market_snapshot(9, 300);
    SplitMix64 rng(99);
    const int cases = scaled_cases(3'000);
    for (int i = 0; i < cases; ++i) {
        std::string damaged = bytes;
        const int flips = static_cast<int>(rng.between(1, 4));
        for (int k = 0; k < flips; ++k) {
            const auto at = static_cast<std::size_t>(rng.below(damaged.size()));
            damaged[at] = static_cast<char>(damaged[at] ^ static_cast<char>(rng.between(1, 255)));
        }
        std::string error;
        ASSERT_FALSE(loads(damaged, twin_config(), &error)) << "case " << i;
    }
}

TEST(SnapshotRefusal, DamagedBodiesWithAValidChecksumNeverCrashTheLoader) {
    // Byte flips the checksum would catch, let through to the parser: each is refused or,
    // where the change happens to be a valid state, loaded, and never crashes.
    const std::string bytes = market_snapshot(10, 300);
    const std::string body = bytes.substr(0, bytes.size() - 8);
    SplitMix64 rng(1234);
    int refused = 0;
    const int cases = scaled_cases(2'000);
    for (int i = 0; i < cases; ++i) {
        std::string damaged = body;
        const int flips = static_cast<int>(rng.between(1, 3));
        for (int k = 0; k < flips; ++k) {
            // Not the header: that is tested above, and would only be refused.
            const auto at = static_cast<std::size_t>(12 + rng.below(damaged.size() - 12));
            damaged[at] = static_cast<char>(damaged[at] ^ static_cast<char>(rng.between(1, 255)));
        }
        refused += loads(with_checksum(damaged)) ? 0 : 1;
    }
    EXPECT_GT(refused, cases / 4);
}

}  // namespace
}  // namespace cpx::exchange::test
