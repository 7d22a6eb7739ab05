#pragma once

// The order flow of one simulated session (one account on one connection) and its
// bookkeeping, free of gRPC so that it can be reasoned about and tested alone.
//
// A session sends new limit orders on its account's side (buyers buy, providers sell)
// at small random offsets around the mid price: buyers from 2 ticks below the mid up to
// the mid, sellers from the mid up to 2 ticks above. Orders at the mid meet the other
// side's orders at the mid, so about a third of the orders trade (at once or later);
// orders away from the mid are out of the other side's reach and simply rest. After
// every second new order the session cancels its oldest resting order (sooner if more
// than kRestingMax rest), which keeps the book bounded however long the run.
//
// Only orders out of reach are ever cancelled: nobody can fill them while the cancel is
// on its way, so a healthy run has no refused cancels even over unary calls, which never
// hear of later fills. Orders resting at the mid leave the book by trading.
//
// Client order ids are "<session prefix><sequence>", unique per account, and the
// sequence number finds a command's record when its answer comes back.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "cpx/tools/splitmix64.hpp"
#include "cpx/v1/orders.pb.h"
#include "seq_map.hpp"
#include "setup.hpp"

namespace cpx::load {

enum class CommandKind : std::uint8_t { NewOrder, Cancel };

struct Command {
    CommandKind kind = CommandKind::NewOrder;
    std::uint64_t seq = 0;
    cpx::v1::Side side = cpx::v1::SIDE_BUY;
    std::int64_t price_fen = 0;
    std::int64_t quantity = 0;
    // A cancel's target: the exchange's order id and the target's own sequence number.
    std::uint64_t target_order_id = 0;
    std::uint64_t target_seq = 0;
};

class Workload {
  public:
    // More resting orders than this and a cancel comes before the next new order.
    static constexpr std::size_t kRestingMax = 16;

    Workload(std::string prefix, const Market& market, cpx::v1::Side side, std::uint64_t seed);

    // The next command: a cancel when one is due, else a new order.
    Command next();
    Command next_order();
    // A cancel of the oldest resting order when the flow calls for one now.
    std::optional<Command> due_cancel();

    // The client order id of a sequence number, written into out (reused to save an
    // allocation per command).
    void client_order_id(std::uint64_t seq, std::string& out) const;
    // The sequence number of one of this session's client order ids; nothing for an id
    // of another session or not of the load generator at all.
    std::optional<std::uint64_t> parse_seq(std::string_view client_order_id) const;

    // The answer to one of this session's new orders: a resting order out of the other
    // side's reach becomes a cancel candidate.
    void on_order_answer(std::uint64_t seq, std::uint64_t order_id, cpx::v1::OrderStatus status,
                         std::int64_t price_fen);
    // An order of this session left the book without being cancelled by it (cancelled
    // by the exchange, or filled by an order from outside the load generator).
    void on_order_gone(std::uint64_t order_id);

    std::size_t resting() const { return resting_.size(); }
    const std::string& prefix() const { return prefix_; }
    cpx::v1::Side side() const { return side_; }

  private:
    struct Resting {
        std::uint64_t seq;
        std::uint64_t order_id;
    };

    std::string prefix_;  // ends with '-'
    std::int64_t mid_price_fen_;
    std::int64_t tick_fen_;
    std::int64_t lot_size_;
    cpx::v1::Side side_;
    cpx::tools::SplitMix64 random_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t new_orders_ = 0;
    bool cancel_due_ = false;
    std::deque<Resting> resting_;  // oldest first
};

// When a command was offered and whether it counts, until its answer arrives.
struct PendingCommand {
    CommandKind kind = CommandKind::NewOrder;
    std::int64_t start_ns = 0;  // scheduled time in latency mode, else when generated
    bool counted = false;       // offered inside the measured window
    std::uint64_t target_seq = 0;
};

// The commands of one stream session that still await their answer.
class InFlight {
  public:
    void add(std::uint64_t seq, const PendingCommand& pending);
    // Takes the record of the command a report answers: by the report's own sequence
    // number, or, for a cancellation report naming the cancelled order rather than the
    // cancel request, through the outstanding cancel aimed at that order.
    std::optional<PendingCommand> take(std::uint64_t seq, bool cancellation);
    std::size_t size() const { return pending_.size(); }
    void clear();

  private:
    SeqMap<PendingCommand> pending_;
    SeqMap<std::uint64_t> cancel_by_target_;
};

}  // namespace cpx::load
