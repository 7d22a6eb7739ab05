#include "replay_internal.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <stdexcept>

// This file drives the engine through the message file. It holds the copy of the book
// kept from the engine's events, the starting book, the rows of single messages and
// the comparison of every row with the orderbook file; the re-sync and the runs of
// executions, which need more explaining, have files of their own.

namespace cpx::replay::detail {

Replayer::Replayer(const std::vector<Message>& messages, const OrderbookFile& file,
                   const ReplayOptions& options, std::size_t depth, const Plan& plan)
    : messages_(messages),
      file_(file),
      options_(options),
      depth_(depth),
      engine_(EngineConfig{plan.capacity}, *this),
      lookahead_(messages),
      produced_(4 * depth) {
    const Reason listed = engine_.add_instrument(plan.spec);
    if (listed != Reason::None) {
        throw std::logic_error("replay: the instrument was refused: " +
                               std::string(matching::reason_name(listed)));
    }
    result_.tick_size = plan.spec.tick_size;
    result_.price_min = plan.spec.price_min;
    result_.price_max = plan.spec.price_max;
    result_.order_capacity = plan.capacity;
}

ReplayResult Replayer::run() {
    const auto start = std::chrono::steady_clock::now();
    seed();
    std::size_t k = 0;
    while (k < messages_.size()) {
        if (is_execution(messages_[k].type)) {
            std::size_t end = k;
            while (end + 1 < messages_.size() && is_execution(messages_[end + 1].type) &&
                   messages_[end + 1].ts_ns == messages_[k].ts_ns &&
                   messages_[end + 1].direction == messages_[k].direction) {
                ++end;
            }
            replay_run(k, end);
            k = end + 1;
        } else {
            replay_single(k);
            ++k;
        }
    }
    flush_output();
    const auto stop = std::chrono::steady_clock::now();
    result_.seconds = std::chrono::duration<double>(stop - start).count();
    result_.counters.rows = messages_.size();
    result_.state_hash = engine_.state_hash();
    result_.feed_consistent = feed_matches_engine();
    return std::move(result_);
}

void Replayer::publish(const Event* events, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const Event& e = events[i];
        switch (e.type) {
            case EventType::Booked:
                mirror(e.side)[e.price].queue.push_back(e.order_id);
                break;
            case EventType::Trade:
                on_trade(e);
                break;
            case EventType::Cancelled:
                forget(e.side, e.price, e.order_id);
                break;
            case EventType::Replaced:
                if (e.aux == 0) {
                    // The replay only ever shrinks an order in place, which keeps
                    // its place in the queue that this copy relies on.
                    throw std::logic_error("replay: an order lost its time priority");
                }
                break;
            case EventType::LevelUpdate: {
                auto& side = mirror(e.side);
                if (e.quantity == 0) {
                    side.erase(e.price);
                } else {
                    side[e.price].total = e.quantity;
                }
                break;
            }
            case EventType::Rejected:
                rejections_.push_back(e.reason);
                break;
            default:
                break;
        }
    }
}

void Replayer::forget(Side side, Price price, OrderId id) {
    auto& levels = mirror(side);
    const auto level = levels.find(price);
    if (level == levels.end()) {
        return;
    }
    auto& queue = level->second.queue;
    const auto it = std::find(queue.begin(), queue.end(), id);
    if (it != queue.end()) {
        queue.erase(it);
    }
}

void Replayer::on_trade(const Event& e) {
    // In continuous trading the aggressor's side names the resting order; an
    // auction trade (side None) has two resting orders.
    if (e.side != Side::Buy && e.leaves == 0) {
        forget(Side::Buy, e.price, e.order_id);
    }
    if (e.side != Side::Sell && e.other_leaves == 0) {
        forget(Side::Sell, e.price, e.other_order_id);
    }
    if (e.side == Side::Buy) {
        fills_.push_back({e.other_order_id, e.price, e.quantity});
    } else if (e.side == Side::Sell) {
        fills_.push_back({e.order_id, e.price, e.quantity});
    }
}

void Replayer::note(std::size_t row, const std::string& what) {
    if (result_.diagnostics.size() < options_.max_diagnostics) {
        result_.diagnostics.push_back("row " + std::to_string(row + 1) + ": " + what);
    }
}

// Applies one command; returns false (after counting it) if the engine refused it.
bool Replayer::submit(const Command& c, std::size_t row) {
    fills_.clear();
    rejections_.clear();
    engine_.apply(c);
    for (const Reason reason : rejections_) {
        if (reason == Reason::PostOnlyWouldTrade) {
            ++result_.counters.post_only_rejections;
        } else {
            ++result_.counters.other_rejections;
        }
        note(row, "the engine refused order " + std::to_string(c.order_id) + " (" +
                      std::string(matching::reason_name(reason)) + ")");
    }
    return rejections_.empty();
}

bool Replayer::in_auction() const {
    const auto state = engine_.state(kInstrument);
    return state == TradingState::CallAuction || state == TradingState::AuctionNoCancel;
}

// A resting order that must not trade: post-only, except during the quoting period
// of a halt, where the engine allows plain limit orders only and none trade.
bool Replayer::add_resting(OrderId id, Side side, Price price, Quantity quantity, Timestamp ts,
                           std::size_t row) {
    Command c = command(CommandType::NewOrder, ts);
    c.order_id = id;
    c.side = side;
    c.price = price;
    c.quantity = quantity;
    c.tif = TimeInForce::GTC;
    c.flags = in_auction() ? 0 : matching::kFlagPostOnly;
    return submit(c, row);
}

void Replayer::add_synthetic(Side side, Price price, Quantity quantity, Timestamp ts,
                             std::size_t row) {
    add_resting(next_synthetic_++, side, price, quantity, ts, row);
}

void Replayer::cancel(OrderId id, Timestamp ts, std::size_t row) {
    Command c = command(CommandType::Cancel, ts);
    c.order_id = id;
    submit(c, row);
}

// Takes `by` shares off a resting order, keeping its place in the queue.
void Replayer::shrink(const OrderView& order, Quantity by, Timestamp ts, std::size_t row) {
    if (by >= order.leaves) {
        cancel(order.id, ts, row);
        return;
    }
    Command c = command(CommandType::Replace, ts);
    c.order_id = order.id;
    c.price = order.price;
    c.quantity = order.leaves - by;
    submit(c, row);
}

std::vector<OrderId> Replayer::queue_at(Side side, Price price) {
    auto& levels = mirror(side);
    const auto level = levels.find(price);
    return level == levels.end() ? std::vector<OrderId>{} : level->second.queue;
}

Quantity Replayer::leaves_of(OrderId id) const {
    const std::optional<OrderView> order = engine_.find_order(id);
    return order ? order->leaves : 0;
}

// Takes up to `quantity` shares from the given orders, in the given order; returns
// how many were taken.
Quantity Replayer::take_from(const std::vector<OrderId>& ids, Quantity quantity, Timestamp ts,
                             std::size_t row) {
    Quantity taken = 0;
    for (const OrderId id : ids) {
        if (taken == quantity) {
            break;
        }
        const std::optional<OrderView> order = engine_.find_order(id);
        if (!order) {
            continue;
        }
        const Quantity take = std::min(quantity - taken, order->leaves);
        shrink(*order, take, ts, row);
        taken += take;
    }
    return taken;
}

Quantity Replayer::our_total(Side side, Price price) {
    auto& levels = mirror(side);
    const auto level = levels.find(price);
    return level == levels.end() ? 0 : level->second.total;
}

// Builds the starting book: row 1 with message 1 undone, one synthetic order per
// level, all of them ahead of anything the messages add.
void Replayer::seed() {
    const Message& m = messages_.front();
    SideLevels pre;
    read_row(file_.row(0), file_.levels, pre);
    const Side side = side_of(m.direction);
    auto& levels = pre.of(side);
    const auto at = std::find_if(levels.begin(), levels.end(),
                                 [&](const FileLevel& l) { return l.price == m.price; });
    switch (m.type) {
        case MessageType::Add:
            if (at == levels.end() || at->size < m.size) {
                throw InputError("message file", m.line,
                                 "row 1 of the orderbook file does not show the " +
                                     std::to_string(m.size) + " shares message 1 adds at " +
                                     std::to_string(m.price));
            }
            at->size -= m.size;
            if (at->size == 0) {
                levels.erase(at);
            }
            break;
        case MessageType::PartialCancel:
        case MessageType::Delete:
        case MessageType::Execute:
            if (at != levels.end()) {
                at->size += m.size;
            } else {
                const auto place = std::find_if(
                    levels.begin(), levels.end(),
                    [&](const FileLevel& l) { return better(side, m.price, l.price); });
                levels.insert(place, FileLevel{m.price, m.size});
            }
            break;
        default:
            break;
    }
    for (const Side s : {Side::Buy, Side::Sell}) {
        for (const FileLevel& level : pre.of(s)) {
            add_synthetic(s, level.price, level.size, m.ts_ns, 0);
            ++result_.counters.synthetic_orders_seeded;
        }
    }
    window_ = window_of(pre, depth_);
}

void Replayer::trading_action(const Message& m, std::size_t row) {
    const TradingState state = engine_.state(kInstrument).value_or(TradingState::Closed);
    const bool quoting =
        state == TradingState::CallAuction || state == TradingState::AuctionNoCancel;
    if (m.price == -1 && state != TradingState::Halted) {
        // Price 0: the halt keeps the resting orders, as NASDAQ does.
        submit(command(CommandType::Halt, m.ts_ns), row);
    } else if (m.price == 0 && state == TradingState::Halted) {
        submit(command(CommandType::StartAuction, m.ts_ns), row);
    } else if (m.price == 1 && quoting) {
        submit(command(CommandType::Uncross, m.ts_ns), row);
    } else if (m.price == 1 && state == TradingState::Halted) {
        submit(command(CommandType::Resume, m.ts_ns), row);
    }
}

// A live order that the messages introduced (not one of ours).
std::optional<OrderView> Replayer::real_order(OrderId id) const {
    if (id == 0 || id >= kReservedIdBase) {
        return std::nullopt;
    }
    return engine_.find_order(id);
}

void Replayer::disagree(std::size_t row, const std::string& what) {
    ++result_.counters.order_disagreements;
    note(row, what);
}

// The synthetic orders at a level, those in the unseen order's place first (behind
// the known orders with smaller ids, ahead of those with larger ones), then the
// others, each group oldest first.
std::vector<OrderId> Replayer::synthetic_for(Side side, Price price, OrderId unseen) {
    std::vector<OrderId> in_place;
    std::vector<OrderId> others;
    bool passed = false;
    for (const OrderId id : queue_at(side, price)) {
        if (!is_synthetic(id)) {
            if (id > unseen) {
                passed = true;
            } else if (!passed) {
                others.insert(others.end(), in_place.begin(), in_place.end());
                in_place.clear();
            }
            continue;
        }
        (passed ? others : in_place).push_back(id);
    }
    in_place.insert(in_place.end(), others.begin(), others.end());
    return in_place;
}

// Type 2 (whole = false) and type 3 (whole = true).
void Replayer::reduce(const Message& m, bool whole, std::size_t row) {
    const Side side = side_of(m.direction);
    const std::optional<OrderView> order = real_order(m.order_id);
    if (!order) {
        ++result_.counters.unknown_id_references;
        const Quantity taken =
            take_from(synthetic_for(side, m.price, m.order_id), m.size, m.ts_ns, row);
        if (taken < m.size) {
            disagree(row, "order " + std::to_string(m.order_id) + " is unknown and only " +
                              std::to_string(taken) + " of its " + std::to_string(m.size) +
                              " shares were synthetic volume at " + std::to_string(m.price));
        }
        return;
    }
    if (order->side != side || order->price != m.price ||
        (whole ? order->leaves != m.size : order->leaves <= m.size)) {
        disagree(row, "order " + std::to_string(m.order_id) + " rests with " +
                          std::to_string(order->leaves) + " at " + std::to_string(order->price) +
                          "; the message says " + std::to_string(m.size) + " at " +
                          std::to_string(m.price));
    }
    shrink(*order, whole ? order->leaves : m.size, m.ts_ns, row);
}

void Replayer::replay_single(std::size_t k) {
    const Message& m = messages_[k];
    const Side side = side_of(m.direction);
    switch (m.type) {
        case MessageType::Add:
            ++result_.counters.adds;
            add_resting(m.order_id, side, m.price, m.size, m.ts_ns, k);
            break;
        case MessageType::PartialCancel:
            ++result_.counters.partial_cancels;
            reduce(m, false, k);
            break;
        case MessageType::Delete:
            ++result_.counters.deletes;
            reduce(m, true, k);
            break;
        case MessageType::Cross:
            ++result_.counters.crosses;
            break;
        case MessageType::TradingHalt:
            ++result_.counters.halt_messages;
            trading_action(m, k);
            break;
        default:
            break;
    }
    read_row(file_.row(k), depth_, shown_);
    const Window now = window_of(shown_, depth_);
    sync_window(k, k + 1, window_, now, shown_, Side::None, nullptr, m.ts_ns);
    window_ = now;
    fill_row(engine_.depth(kInstrument, Side::Sell, depth_),
             engine_.depth(kInstrument, Side::Buy, depth_));
    finish_row(k);
}

void Replayer::fill_row(const std::vector<LevelView>& asks, const std::vector<LevelView>& bids) {
    for (std::size_t i = 0; i < depth_; ++i) {
        produced_[4 * i] = i < asks.size() ? asks[i].price : kDummyAskPrice;
        produced_[4 * i + 1] = i < asks.size() ? asks[i].total : 0;
        produced_[4 * i + 2] = i < bids.size() ? bids[i].price : kDummyBidPrice;
        produced_[4 * i + 3] = i < bids.size() ? bids[i].total : 0;
    }
}

void Replayer::finish_row(std::size_t k) {
    const std::int64_t* want = file_.row(k);
    if (!std::equal(produced_.begin(), produced_.end(), want)) {
        ++result_.counters.book_row_mismatches;
        note(k, "book differs: file " + format_row(want, depth_) + " replay " +
                    format_row(produced_.data(), depth_));
    }
    if (options_.out != nullptr) {
        output_ += format_row(produced_.data(), depth_);
        output_ += '\n';
        if (output_.size() > (1u << 20)) {
            flush_output();
        }
    }
}

void Replayer::flush_output() {
    if (options_.out != nullptr && !output_.empty()) {
        options_.out->write(output_.data(), static_cast<std::streamsize>(output_.size()));
        output_.clear();
    }
}

// Our copy of the book, kept from the events alone, against the engine's own.
bool Replayer::feed_matches_engine() const {
    for (const Side side : {Side::Buy, Side::Sell}) {
        const MirrorSide& ours = side == Side::Buy ? bids_ : asks_;
        const std::vector<LevelView> levels =
            engine_.depth(kInstrument, side, std::numeric_limits<std::size_t>::max());
        if (levels.size() != ours.size()) {
            return false;
        }
        std::size_t index = 0;
        const std::vector<OrderView> orders = engine_.orders(kInstrument, side);
        for (const LevelView& level : levels) {
            const auto it = ours.find(level.price);
            if (it == ours.end() || it->second.total != level.total ||
                it->second.queue.size() != level.order_count) {
                return false;
            }
            for (const OrderId id : it->second.queue) {
                if (index >= orders.size() || orders[index].id != id) {
                    return false;
                }
                ++index;
            }
        }
    }
    return true;
}

}  // namespace cpx::replay::detail

namespace cpx::replay {

ReplayResult replay(const std::vector<Message>& messages, const OrderbookFile& book,
                    const ReplayOptions& options) {
    if (messages.size() != book.rows()) {
        throw InputError("replay", 0,
                         "the message file has " + std::to_string(messages.size()) +
                             " rows and the orderbook file " + std::to_string(book.rows()));
    }
    if (messages.empty()) {
        throw InputError("replay", 0, "nothing to replay");
    }
    const std::size_t depth = options.levels == 0 ? book.levels : options.levels;
    if (depth > book.levels) {
        throw InputError("replay", 0,
                         std::to_string(depth) + " levels asked for, the orderbook file has " +
                             std::to_string(book.levels));
    }
    const detail::Plan plan = detail::make_plan(messages, book, depth);
    detail::Replayer replayer(messages, book, options, depth, plan);
    return replayer.run();
}

}  // namespace cpx::replay
