#pragma once

// The reference book: a deliberately simple and slow implementation of the engine's
// contract in docs/ARCHITECTURE.md, written apart from the fast engine (no ladders, no
// bitsets, no pool, no heap). Each book is one vector of orders with arrival numbers;
// priority is found by sorting a copy, levels by scanning, the auction price by trying
// every tick. The randomized differential test feeds it the same commands as
// cpx::matching::Engine and requires the same events, byte for byte, and the same
// state_hash(), so that a bug has to be written twice, in two different ways, to pass.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "cpx/matching/command.hpp"
#include "cpx/matching/event.hpp"
#include "cpx/matching/instrument.hpp"
#include "cpx/matching/reason.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::reference {

class ReferenceEngine {
  public:
    // order_capacity is the most orders that may rest at once, as in EngineConfig.
    ReferenceEngine(std::uint32_t order_capacity, matching::EventSink& sink);
    ReferenceEngine(const ReferenceEngine&) = delete;
    ReferenceEngine& operator=(const ReferenceEngine&) = delete;

    matching::Reason add_instrument(const matching::InstrumentSpec& spec);
    void apply(const matching::Command& command);

    std::uint64_t state_hash() const;
    std::uint64_t instrument_hash(matching::InstrumentId id) const;
    std::size_t resting_orders() const;

  private:
    struct Order {
        matching::OrderId id = 0;
        matching::AccountId account = 0;
        matching::Side side = matching::Side::None;
        matching::Price price = 0;
        matching::Quantity leaves = 0;
        matching::Quantity min_quantity = 0;
        matching::Timestamp expiry_ns = 0;  // 0 unless the order is GTD
        std::uint8_t flags = 0;
        matching::SelfTradePrevention stp = matching::SelfTradePrevention::None;
        std::uint64_t arrival = 0;  // among orders at one price, the lower arrived first
        bool live = true;           // dead orders are erased at the end of each command
    };

    struct Book {
        matching::InstrumentSpec spec;
        matching::TradingState state = matching::TradingState::Continuous;
        matching::Price reference = 0;
        std::vector<Order> orders;  // both sides, in no particular order
        // instrument_hash() of this book, kept until the book publishes an event:
        // every change to a book is announced by an event about it, so a book that
        // published nothing still hashes the same. Hashing every book after every
        // command is most of the differential test's time otherwise.
        mutable std::uint64_t hash = 0;
        mutable bool hash_known = false;
    };

    // An order arriving at the book: a new order, or a resting order that lost its
    // priority in a replace.
    struct Arrival {
        matching::OrderId id = 0;
        matching::AccountId account = 0;
        matching::Side side = matching::Side::None;
        bool market = false;
        matching::TimeInForce tif = matching::TimeInForce::GTC;
        std::uint8_t flags = 0;
        matching::SelfTradePrevention stp = matching::SelfTradePrevention::None;
        matching::Price price = 0;  // the limit given, 0 for a market order
        matching::Price worst = 0;  // the worst price it may trade at
        matching::Quantity remaining = 0;
        matching::Quantity min_quantity = 0;
        matching::Timestamp expiry_ns = 0;
    };

    struct WalkResult {
        matching::Quantity traded = 0;
        bool stopped_by_self_trade = false;
    };

    Book* find_book(matching::InstrumentId id);
    const Book* find_book(matching::InstrumentId id) const;
    bool is_live_anywhere(matching::OrderId id) const;
    std::optional<std::size_t> find_order(const Book& book, const matching::Command& c) const;
    std::vector<std::size_t> in_priority(const Book& book, matching::Side side) const;

    void expire();
    void new_order(const matching::Command& c);
    void cancel(const matching::Command& c);
    void replace(const matching::Command& c);
    void mass_cancel(const matching::Command& c);
    void operator_command(const matching::Command& c);

    matching::Reason check_new_order(const matching::Command& c, const Book& book) const;
    matching::Reason check_price(const Book& book, matching::Price price) const;
    matching::Reason check_quantity(const Book& book, matching::Quantity quantity) const;
    matching::Price market_worst_price(const Book& book, const matching::Command& c,
                                       matching::Price best_opposite) const;

    void execute(Book& book, Arrival& arrival);
    WalkResult walk(Book& book, Arrival& arrival, bool commit);
    void rest(Book& book, const Arrival& arrival);
    void finish(const Book& book, const Arrival& arrival, matching::Reason reason);
    void remove(Book& book, std::size_t index, matching::Reason reason);
    void cancel_every(Book& book, matching::Reason reason, bool only_account,
                      matching::AccountId account);
    void uncross(Book& book);
    void change_state(Book& book, matching::TradingState state, matching::CommandType cause);

    matching::Event& emit(matching::EventType type, matching::InstrumentId instrument);
    void emit_level(const Book& book, matching::Side side, matching::Price price);
    void reject(const matching::Command& c, matching::Reason reason);

    matching::EventSink& sink_;
    std::uint32_t capacity_;
    std::vector<Book> books_;  // ascending instrument id
    std::vector<matching::Event> pending_;
    matching::Sequence seq_ = 0;
    matching::Timestamp now_ns_ = 0;
    std::uint64_t arrivals_ = 0;
};

}  // namespace cpx::reference
