#pragma once
// Public market data, kept by the dispatcher thread: a price-level book per instrument
// rebuilt from the exchange's level updates, with the feed's sequence numbers, and the
// subscribers of each instrument's depth and trades. A subscriber gets a snapshot, then
// deltas; one that cannot keep up loses messages, sees the jump in sequence numbers
// and subscribes again.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpx/exchange/outbound.hpp"

namespace cpx::v1 {
class DepthUpdate;
class TradeTick;
}  // namespace cpx::v1

namespace cpx::gateway {

// A market-data stream. The dispatcher thread fills messages through these calls; the
// subscriber decides whether it has room (a full subscriber drops the message).
class MarketSubscriber {
  public:
    enum class Feed : std::uint8_t { Depth = 1, Trades = 2 };
    virtual Feed feed() const = 0;
    virtual exchange::InstrumentId instrument() const = 0;
    // Room for one more message, or nullptr (the message is dropped: a gap).
    virtual cpx::v1::DepthUpdate* next_depth() = 0;
    virtual cpx::v1::TradeTick* next_trade() = 0;
    // Sends what next_* filled.
    virtual void publish() = 0;
    // Ends the stream (unknown instrument, shutdown); later calls do nothing.
    virtual void close(bool not_found) = 0;
    // The dispatcher has forgotten this subscriber after its unsubscribe: the last call
    // the dispatcher makes on it.
    virtual void unsubscribed() = 0;

  protected:
    ~MarketSubscriber() = default;
};

class MarketDataHub {
  public:
    struct Level {
        exchange::Price price = 0;
        exchange::Quantity quantity = 0;
        std::uint32_t order_count = 0;
    };

    // Dispatcher thread only.
    void on_market(const exchange::Outbound& event);
    // Sends every instrument's pending changes as one delta per instrument.
    void flush();
    // Registers a subscriber and sends its snapshot; closes it when the instrument is
    // unknown.
    void subscribe(MarketSubscriber* subscriber);
    void unsubscribe(MarketSubscriber* subscriber);
    // Closes every subscriber (shutdown).
    void close_all();

    std::size_t subscribers() const;
    std::uint64_t dropped_messages() const { return dropped_; }

  private:
    struct Change {
        exchange::Side side;
        Level level;
    };
    struct Book {
        std::vector<Level> bids;  // best (highest) first
        std::vector<Level> asks;  // best (lowest) first
        matching::TradingState state = matching::TradingState::Closed;
        std::uint64_t seq = 0;
        std::uint64_t flushed_seq = 0;
        std::uint64_t trade_seq = 0;
        std::vector<Change> pending;
        bool state_changed = false;
        std::vector<MarketSubscriber*> depth;
        std::vector<MarketSubscriber*> trades;
    };

    static void set_level(std::vector<Level>& side, const Level& level, bool descending);
    void send_snapshot(const Book& book, exchange::InstrumentId id, MarketSubscriber& sub);

    std::unordered_map<exchange::InstrumentId, Book> books_;
    std::vector<exchange::InstrumentId> dirty_;
    std::uint64_t dropped_ = 0;
};

}  // namespace cpx::gateway
