#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "load/workload.hpp"

namespace {

using cpx::load::Command;
using cpx::load::CommandKind;
using cpx::load::InFlight;
using cpx::load::Market;
using cpx::load::PendingCommand;
using cpx::load::Workload;

Market test_market() {
    Market market;
    market.instrument_id = 7;
    market.mid_price_fen = 100'000;
    market.tick_fen = 5;
    market.lot_size = 2;
    return market;
}

TEST(LoadWorkload, ClientOrderIdsRoundTripAndStayInTheirSession) {
    const Workload a("L3-", test_market(), cpx::v1::SIDE_BUY, 1);
    const Workload b("L33-", test_market(), cpx::v1::SIDE_SELL, 2);
    std::string id;
    a.client_order_id(1234567, id);
    EXPECT_EQ(id, "L3-1234567");
    EXPECT_LE(id.size(), 32u);
    EXPECT_EQ(a.parse_seq(id), 1234567u);
    EXPECT_FALSE(b.parse_seq(id).has_value());
    EXPECT_FALSE(a.parse_seq("L3-").has_value());
    EXPECT_FALSE(a.parse_seq("L3-12x").has_value());
    EXPECT_FALSE(a.parse_seq("other").has_value());
}

TEST(LoadWorkload, OrdersStayNearTheMidOnTheGridOnTheirSide) {
    Workload buyer("B-", test_market(), cpx::v1::SIDE_BUY, 3);
    Workload seller("S-", test_market(), cpx::v1::SIDE_SELL, 4);
    std::set<std::uint64_t> seqs;
    for (int i = 0; i < 1000; ++i) {
        const Command buy = buyer.next_order();
        const Command sell = seller.next_order();
        EXPECT_EQ(buy.side, cpx::v1::SIDE_BUY);
        EXPECT_EQ(sell.side, cpx::v1::SIDE_SELL);
        EXPECT_GE(buy.price_fen, 100'000 - 2 * 5);
        EXPECT_LE(buy.price_fen, 100'000);
        EXPECT_GE(sell.price_fen, 100'000);
        EXPECT_LE(sell.price_fen, 100'000 + 2 * 5);
        EXPECT_EQ(buy.price_fen % 5, 0);
        EXPECT_EQ(buy.quantity % 2, 0);
        EXPECT_GT(buy.quantity, 0);
        EXPECT_TRUE(seqs.insert(buy.seq).second);
    }
}

TEST(LoadWorkload, CancelsTargetOnlyOrdersOutOfReachAndKeepTheBookBounded) {
    Workload w("W-", test_market(), cpx::v1::SIDE_BUY, 5);
    std::map<std::uint64_t, std::int64_t> price_by_order_id;
    std::uint64_t order_id = 100;
    int cancels = 0;
    for (int i = 0; i < 10'000; ++i) {
        const Command c = w.next();
        if (c.kind == CommandKind::Cancel) {
            ++cancels;
            // Only a buy below the mid is out of every seller's reach.
            ASSERT_TRUE(price_by_order_id.contains(c.target_order_id));
            EXPECT_LT(price_by_order_id[c.target_order_id], 100'000);
            continue;
        }
        // Every order rests: the worst case for the size of the book.
        price_by_order_id[order_id] = c.price_fen;
        w.on_order_answer(c.seq, order_id++, cpx::v1::ORDER_STATUS_NEW, c.price_fen);
        EXPECT_LE(w.resting(), Workload::kRestingMax + 1);
    }
    EXPECT_GT(cancels, 3'000);
    // Neither a filled order nor one resting at the mid is a cancel target.
    Workload f("F-", test_market(), cpx::v1::SIDE_SELL, 6);
    for (int i = 0; i < 4; ++i) {
        const Command c = f.next_order();
        f.on_order_answer(c.seq, 1, cpx::v1::ORDER_STATUS_FILLED, 100'010);
        const Command d = f.next_order();
        f.on_order_answer(d.seq, 2, cpx::v1::ORDER_STATUS_NEW, 100'000);
    }
    EXPECT_EQ(f.resting(), 0u);
    EXPECT_FALSE(f.due_cancel().has_value());
}

TEST(LoadWorkload, InFlightFindsCancelsByEitherId) {
    InFlight inflight;
    PendingCommand order;
    order.kind = CommandKind::NewOrder;
    PendingCommand cancel;
    cancel.kind = CommandKind::Cancel;
    cancel.target_seq = 1;
    inflight.add(5, order);
    inflight.add(6, cancel);
    // The cancel's answer may name the cancelled order (seq 1) instead of the request.
    const auto taken = inflight.take(1, true);
    ASSERT_TRUE(taken.has_value());
    EXPECT_EQ(taken->kind, CommandKind::Cancel);
    EXPECT_FALSE(inflight.take(6, true).has_value());
    EXPECT_FALSE(inflight.take(1, false).has_value());
    EXPECT_TRUE(inflight.take(5, false).has_value());
    EXPECT_EQ(inflight.size(), 0u);
}

}  // namespace
