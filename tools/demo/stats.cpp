#include "stats.hpp"

#include <algorithm>

#include "format.hpp"

namespace cpx::demo {

using matching::CommandType;
using matching::Event;
using matching::EventType;
using matching::InstrumentId;
using matching::TradingState;

matching::Price InstrumentStats::vwap() const {
    return volume == 0 ? 0 : divide_round_half_up(notional, volume);
}

const InstrumentStats* MarketStats::find(InstrumentId id) const {
    for (const InstrumentStats& s : instruments) {
        if (s.instrument == id) {
            return &s;
        }
    }
    return nullptr;
}

std::uint64_t MarketStats::trades() const {
    std::uint64_t total = 0;
    for (const InstrumentStats& s : instruments) {
        total += s.trades;
    }
    return total;
}

std::int64_t MarketStats::notional() const {
    std::int64_t total = 0;
    for (const InstrumentStats& s : instruments) {
        total += s.notional;
    }
    return total;
}

StatsCollector::StatsCollector(const std::vector<InstrumentId>& instruments) {
    for (const InstrumentId id : instruments) {
        InstrumentStats s;
        s.instrument = id;
        stats_.instruments.push_back(s);
    }
}

InstrumentStats* StatsCollector::find(InstrumentId id) {
    for (InstrumentStats& s : stats_.instruments) {
        if (s.instrument == id) {
            return &s;
        }
    }
    return nullptr;
}

void StatsCollector::on_step(const StepRecord& step) {
    ++stats_.commands;
    switch (step.command.type) {
        case CommandType::NewOrder:
            ++stats_.new_orders;
            break;
        case CommandType::Cancel:
            ++stats_.cancels;
            break;
        case CommandType::Replace:
            ++stats_.replaces;
            break;
        case CommandType::MassCancel:
            ++stats_.mass_cancels;
            break;
        case CommandType::Tick:
            ++stats_.clock_ticks;
            break;
        default:
            ++stats_.operator_commands;
            break;
    }
    for (const Event& e : step.events) {
        ++stats_.events;
        if (e.seq != stats_.last_sequence + 1) {
            ++stats_.sequence_gaps;
        }
        stats_.last_sequence = e.seq;
        InstrumentStats* s = find(e.instrument);
        switch (e.type) {
            case EventType::Accepted:
                ++stats_.accepted;
                if (s != nullptr) {
                    ++s->accepted;
                }
                break;
            case EventType::Rejected:
                ++stats_.rejections[e.reason];
                if (s != nullptr) {
                    ++s->rejected;
                }
                break;
            case EventType::Cancelled:
                ++stats_.cancellations[e.reason];
                break;
            case EventType::Replaced:
                ++stats_.replaced;
                break;
            case EventType::Trade:
                if (s != nullptr) {
                    ++s->trades;
                    s->volume += e.quantity;
                    s->notional += e.price * e.quantity;
                    s->last = e.price;
                    s->high = s->trades == 1 ? e.price : std::max(s->high, e.price);
                    s->low = s->trades == 1 ? e.price : std::min(s->low, e.price);
                }
                break;
            case EventType::LevelUpdate:
                if (e.quantity < 0 || e.leaves < 0) {
                    ++stats_.negative_levels;
                }
                break;
            case EventType::AuctionResult:
                if (s != nullptr) {
                    ++s->auctions_uncrossed;
                    s->auction_price = e.price;
                    s->auction_volume = e.quantity;
                }
                break;
            case EventType::StateChanged:
                if (s != nullptr && static_cast<TradingState>(e.aux) == TradingState::CallAuction &&
                    static_cast<CommandType>(e.other_leaves) == CommandType::StartAuction) {
                    ++s->auctions_opened;
                }
                break;
            case EventType::Booked:
                break;
        }
    }
}

}  // namespace cpx::demo
