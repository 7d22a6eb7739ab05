#include "cpx/gateway/market_data.hpp"

#include <algorithm>
#include <cassert>

#include "cpx/gateway/convert.hpp"
#include "cpx/v1/market_data.pb.h"

namespace cpx::gateway {

using exchange::MarketKind;
using exchange::Outbound;

void MarketDataHub::set_level(std::vector<Level>& side, const Level& level, bool descending) {
    // Levels are few and a vector keeps them in order without allocating per change.
    const auto before = [descending](const Level& a, exchange::Price price) {
        return descending ? a.price > price : a.price < price;
    };
    auto it = std::lower_bound(side.begin(), side.end(), level.price, before);
    const bool present = it != side.end() && it->price == level.price;
    if (level.quantity == 0) {
        if (present) {
            side.erase(it);
        }
    } else if (present) {
        *it = level;
    } else {
        side.insert(it, level);
    }
}

void MarketDataHub::on_market(const Outbound& e) {
    Book& book = books_[e.instrument];
    if (book.pending.empty() && !book.state_changed) {
        dirty_.push_back(e.instrument);
    }
    switch (e.market) {
        case MarketKind::Level: {
            const Level level{e.price, e.quantity, e.order_count};
            set_level(e.side == matching::Side::Buy ? book.bids : book.asks, level,
                      e.side == matching::Side::Buy);
            book.pending.push_back(Change{e.side, level});
            ++book.seq;
            break;
        }
        case MarketKind::State:
            book.state = e.state;
            book.state_changed = true;
            ++book.seq;
            break;
        case MarketKind::Trade:
            ++book.trade_seq;
            for (MarketSubscriber* sub : book.trades) {
                cpx::v1::TradeTick* tick = sub->next_trade();
                if (tick == nullptr) {
                    ++dropped_;
                    continue;
                }
                tick->set_instrument_id(e.instrument);
                tick->set_seq(book.trade_seq);
                tick->set_trade_id(e.trade_id);
                tick->set_price_fen(e.price);
                tick->set_quantity(e.quantity);
                tick->set_aggressor(to_proto(e.side));
                tick->set_ts_ns(e.ts_ns);
                sub->publish();
            }
            break;
    }
}

void MarketDataHub::flush() {
    for (const exchange::InstrumentId id : dirty_) {
        Book& book = books_[id];
        if (book.pending.empty() && !book.state_changed) {
            continue;
        }
        for (MarketSubscriber* sub : book.depth) {
            cpx::v1::DepthUpdate* delta = sub->next_depth();
            if (delta == nullptr) {
                ++dropped_;
                continue;
            }
            delta->set_instrument_id(id);
            delta->set_seq(book.seq);
            delta->set_prev_seq(book.flushed_seq);
            delta->set_snapshot(false);
            delta->set_state(to_proto(book.state));
            for (const Change& c : book.pending) {
                cpx::v1::PriceLevel* level =
                    c.side == matching::Side::Buy ? delta->add_bids() : delta->add_asks();
                level->set_price_fen(c.level.price);
                level->set_quantity(c.level.quantity);
                level->set_order_count(c.level.order_count);
            }
            sub->publish();
        }
        book.pending.clear();
        book.state_changed = false;
        book.flushed_seq = book.seq;
    }
    dirty_.clear();
}

void MarketDataHub::send_snapshot(const Book& book, exchange::InstrumentId id,
                                  MarketSubscriber& sub) {
    cpx::v1::DepthUpdate* snap = sub.next_depth();
    if (snap == nullptr) {
        ++dropped_;
        return;
    }
    snap->set_instrument_id(id);
    snap->set_seq(book.flushed_seq);
    snap->set_prev_seq(book.flushed_seq);
    snap->set_snapshot(true);
    snap->set_state(to_proto(book.state));
    // Level updates carry absolute totals, so a change that is both in this snapshot
    // and in the next delta (still pending when the client subscribed) is harmless to
    // apply twice.
    const std::vector<Level>& bids = book.bids;
    const std::vector<Level>& asks = book.asks;
    for (const Level& l : bids) {
        cpx::v1::PriceLevel* level = snap->add_bids();
        level->set_price_fen(l.price);
        level->set_quantity(l.quantity);
        level->set_order_count(l.order_count);
    }
    for (const Level& l : asks) {
        cpx::v1::PriceLevel* level = snap->add_asks();
        level->set_price_fen(l.price);
        level->set_quantity(l.quantity);
        level->set_order_count(l.order_count);
    }
    sub.publish();
}

void MarketDataHub::subscribe(MarketSubscriber* sub) {
    const auto it = books_.find(sub->instrument());
    if (it == books_.end()) {
        sub->close(true);
        return;
    }
    Book& book = it->second;
    if (sub->feed() == MarketSubscriber::Feed::Depth) {
        send_snapshot(book, it->first, *sub);
        book.depth.push_back(sub);
    } else {
        book.trades.push_back(sub);
    }
}

void MarketDataHub::unsubscribe(MarketSubscriber* sub) {
    const auto it = books_.find(sub->instrument());
    if (it == books_.end()) {
        return;
    }
    auto& list =
        sub->feed() == MarketSubscriber::Feed::Depth ? it->second.depth : it->second.trades;
    list.erase(std::remove(list.begin(), list.end(), sub), list.end());
}

void MarketDataHub::close_all() {
    for (auto& [id, book] : books_) {
        for (MarketSubscriber* sub : book.depth) {
            sub->close(false);
        }
        for (MarketSubscriber* sub : book.trades) {
            sub->close(false);
        }
        book.depth.clear();
        book.trades.clear();
    }
}

std::size_t MarketDataHub::subscribers() const {
    std::size_t n = 0;
    for (const auto& [id, book] : books_) {
        n += book.depth.size() + book.trades.size();
    }
    return n;
}

}  // namespace cpx::gateway
