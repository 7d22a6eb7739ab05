#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cpx/matching/book.hpp"
#include "cpx/matching/command.hpp"
#include "cpx/matching/detail/order_index.hpp"
#include "cpx/matching/event.hpp"
#include "cpx/matching/instrument.hpp"
#include "cpx/matching/reason.hpp"

namespace cpx::matching {

class SnapshotWriter;
class SnapshotReader;

struct EngineConfig {
    // The most orders that can rest at once across all instruments of the engine.
    // Memory for them is taken when the engine is built; a new order that could rest
    // when the pool is full is rejected with OrderCapacityExhausted.
    std::uint32_t order_capacity = 1u << 20;
};

// A read-only view of one resting order.
struct OrderView {
    OrderId id;
    AccountId account;
    Side side;
    Price price;
    Quantity leaves;
    Quantity min_quantity;
    Timestamp expiry_ns;
    std::uint8_t flags;
};

struct LevelView {
    Price price;
    Quantity total;
    std::uint32_t order_count;
};

// One shard of the exchange: the books of a set of instruments, driven by one thread.
// apply() is the only entry point that changes state; its output depends only on the
// sequence of commands given (time included), so replaying a journal rebuilds the same
// books and the same events byte for byte. Nothing is allocated by apply() once the
// instruments are added.
class Engine {
  public:
    Engine(const EngineConfig& config, EventSink& sink);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Lists an instrument. Not on the hot path: allocates the book's ladders.
    Reason add_instrument(const InstrumentSpec& spec);

    // Applies one command and publishes its events to the sink.
    void apply(const Command& command);

    // Queries for snapshots, tests and tools. They allocate; keep them off the hot path.
    bool has_instrument(InstrumentId id) const;
    const InstrumentSpec* spec(InstrumentId id) const;
    std::optional<TradingState> state(InstrumentId id) const;
    std::optional<Price> reference_price(InstrumentId id) const;
    std::optional<Price> best_price(InstrumentId id, Side side) const;
    std::vector<LevelView> depth(InstrumentId id, Side side, std::size_t levels_max) const;
    std::vector<OrderView> orders(InstrumentId id, Side side) const;  // in priority order
    std::optional<OrderView> find_order(OrderId id) const;
    std::uint32_t resting_orders() const { return live_orders_; }
    // The earliest expiry of a resting GTD order, or the largest Timestamp when none
    // rests: a Tick before then changes nothing.
    Timestamp next_expiry_ns() const;
    std::vector<InstrumentId> instruments() const;  // ascending

    // A hash of every book's content in priority order, independent of layout.
    std::uint64_t state_hash() const;
    std::uint64_t instrument_hash(InstrumentId id) const;

    // Bytes held by pools and indexes, for the memory benchmark.
    std::size_t memory_bytes() const;

    Sequence last_sequence() const { return seq_; }

    // Snapshots (matching/src/snapshot.cpp, format in snapshot_io.hpp). save writes the
    // whole state that decides future output: books, orders in their queues and slots,
    // the free-slot order, the expiry heap, trading states, reference prices, the event
    // sequence. load restores it into an engine that was just constructed (no
    // instrument added, nothing applied) with the same order capacity; afterwards the
    // engine answers every command exactly as the saved one would. On false the reader
    // holds the reason and the engine is unusable: discard it. Neither may be called
    // from inside apply().
    void save(SnapshotWriter& out) const;
    bool load(SnapshotReader& in);

  private:
    struct Incoming;

    // The members declared inline below are the order path's small steps. Those not
    // marked otherwise are defined in src/engine_inline.hpp, which every source of the
    // engine that calls them includes, so that the compiler can inline them there.
    inline std::uint32_t book_index_of(InstrumentId id) const;
    inline Book* find_book(InstrumentId id, std::uint32_t* index_out = nullptr);
    inline const Book* find_book(InstrumentId id) const;

    void on_new_order(const Command& c);
    // The slot of the order a cancel or replace names, if it exists in that instrument,
    // belongs to the command's account and may change now; otherwise rejects and
    // returns kNoSlot. Defined in engine.cpp, the file of its only callers.
    inline std::uint32_t find_own_order(const Command& c, Book*& book, std::uint32_t& book_index);
    void on_cancel(const Command& c);
    void on_replace(const Command& c);
    void on_mass_cancel(const Command& c);
    void on_state_command(const Command& c);

    Reason validate_new(const Command& c, const Book& book) const;
    Reason validate_price(const Book& book, Price price) const;
    Reason validate_quantity(const Book& book, Quantity quantity) const;

    // Matching of an order that arrives (new or repriced) in continuous trading.
    void execute(Book& book, std::uint32_t book_index, Incoming& in);
    Quantity executable(const Book& book, const Incoming& in, Quantity target) const;
    void match(Book& book, Incoming& in);
    // Defined in matching.cpp, the file of its one caller.
    inline void rest(Book& book, std::uint32_t book_index, Incoming& in);
    void uncross(Book& book);
    struct AuctionCursor;
    bool auction_seek(Book& book, AuctionCursor& cursor);

    inline std::uint32_t allocate_slot();
    inline void release_slot(std::uint32_t slot);
    // tick is the order's price as a tick index, which every caller already has.
    inline void link_back(Book& book, std::uint32_t slot, std::int64_t tick);
    // These three return the tick of the level the order left, which a caller that
    // reports that level would otherwise compute again.
    inline std::int64_t unlink(Book& book, std::uint32_t slot);
    inline std::int64_t forget(Book& book, std::uint32_t slot);
    inline std::int64_t remove_order(Book& book, std::uint32_t slot, Reason reason);
    void finish_incoming(Book& book, const Incoming& in, Reason reason);
    void cancel_all(Book& book, Reason reason, const AccountId* account);
    inline void emit_level(const Book& book, Side side, std::int64_t tick);
    void set_state(Book& book, TradingState state, CommandType cause);

    void heap_push(std::uint32_t slot);
    void heap_remove(std::uint32_t slot);
    void heap_sift_up(std::uint32_t pos);
    void heap_sift_down(std::uint32_t pos);
    bool heap_less(std::uint32_t a, std::uint32_t b) const;
    void expire_until(Timestamp now);

    inline Event& emit(EventType type, const Book& book);
    void reject(const Command& c, Reason reason);
    void flush();

    EventSink& sink_;
    std::vector<Order> pool_;
    std::vector<std::uint32_t> free_slots_;
    std::uint32_t live_orders_ = 0;
    detail::OrderIndex index_;
    std::vector<std::uint32_t> heap_;  // GTD orders by (expiry, id)
    std::vector<Book> books_;
    // Instrument id to book index. Ids below kDirectIds (the usual case: an operator
    // numbers instruments from 1) are found by indexing a table, which is faster than
    // hashing on every command; larger ids fall back to the hash map.
    static constexpr InstrumentId kDirectIds = 4096;
    std::vector<std::uint32_t> book_of_small_id_;
    std::unordered_map<InstrumentId, std::uint32_t> book_of_;
    std::vector<std::uint32_t> books_by_id_;  // book indices in ascending instrument id

    static constexpr std::size_t kEventBatch = 256;
    std::array<Event, kEventBatch> events_{};
    // Where the next event goes: a pointer rather than a count saves the multiplication
    // by the event's size on every event.
    Event* next_event_ = events_.data();
    Sequence seq_ = 0;
    Timestamp now_ns_ = 0;
};

}  // namespace cpx::matching
