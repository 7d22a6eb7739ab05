#include "workload.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace cpx::load {

Workload::Workload(std::string prefix, const Market& market, cpx::v1::Side side, std::uint64_t seed)
    : prefix_(std::move(prefix)),
      mid_price_fen_(market.mid_price_fen),
      tick_fen_(market.tick_fen),
      lot_size_(market.lot_size),
      side_(side),
      random_(seed) {}

Command Workload::next() {
    if (std::optional<Command> cancel = due_cancel()) {
        return *cancel;
    }
    return next_order();
}

Command Workload::next_order() {
    Command command;
    command.kind = CommandKind::NewOrder;
    command.seq = next_seq_++;
    command.side = side_;
    const std::int64_t offset_ticks =
        side_ == cpx::v1::SIDE_BUY ? random_.between(-2, 0) : random_.between(0, 2);
    command.price_fen = mid_price_fen_ + offset_ticks * tick_fen_;
    command.quantity = random_.between(1, 5) * lot_size_;
    ++new_orders_;
    if (new_orders_ % 2 == 0) {
        cancel_due_ = true;
    }
    return command;
}

std::optional<Command> Workload::due_cancel() {
    // A cancel that falls due while nothing rests waits for the next resting order, so
    // cancels keep pace with the orders that rest.
    if (resting_.empty() || (!cancel_due_ && resting_.size() <= kRestingMax)) {
        return std::nullopt;
    }
    const Resting target = resting_.front();
    resting_.pop_front();
    cancel_due_ = false;
    Command command;
    command.kind = CommandKind::Cancel;
    command.seq = next_seq_++;
    command.side = side_;
    command.target_order_id = target.order_id;
    command.target_seq = target.seq;
    return command;
}

void Workload::client_order_id(std::uint64_t seq, std::string& out) const {
    out.assign(prefix_);
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), seq);
    out.append(digits, end);
}

std::optional<std::uint64_t> Workload::parse_seq(std::string_view client_order_id) const {
    if (!client_order_id.starts_with(prefix_)) {
        return std::nullopt;
    }
    const std::string_view digits = client_order_id.substr(prefix_.size());
    std::uint64_t seq = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return seq;
}

void Workload::on_order_answer(std::uint64_t seq, std::uint64_t order_id,
                               cpx::v1::OrderStatus status, std::int64_t price_fen) {
    const bool rests =
        status == cpx::v1::ORDER_STATUS_NEW || status == cpx::v1::ORDER_STATUS_PARTIALLY_FILLED;
    const bool out_of_reach =
        side_ == cpx::v1::SIDE_BUY ? price_fen < mid_price_fen_ : price_fen > mid_price_fen_;
    if (rests && out_of_reach) {
        resting_.push_back({seq, order_id});
    }
}

void Workload::on_order_gone(std::uint64_t order_id) {
    const auto it = std::find_if(resting_.begin(), resting_.end(),
                                 [order_id](const Resting& r) { return r.order_id == order_id; });
    if (it != resting_.end()) {
        resting_.erase(it);
    }
}

void InFlight::add(std::uint64_t seq, const PendingCommand& pending) {
    pending_.insert(seq, pending);
    if (pending.kind == CommandKind::Cancel) {
        cancel_by_target_.insert(pending.target_seq, seq);
    }
}

std::optional<PendingCommand> InFlight::take(std::uint64_t seq, bool cancellation) {
    std::uint64_t key = seq;
    const PendingCommand* found = pending_.find(key);
    if (found == nullptr && cancellation) {
        if (const std::uint64_t* by_target = cancel_by_target_.find(seq)) {
            key = *by_target;
            found = pending_.find(key);
        }
    }
    if (found == nullptr) {
        return std::nullopt;
    }
    const PendingCommand pending = *found;
    pending_.erase(key);
    if (pending.kind == CommandKind::Cancel) {
        cancel_by_target_.erase(pending.target_seq);
    }
    return pending;
}

void InFlight::clear() {
    pending_.clear();
    cancel_by_target_.clear();
}

}  // namespace cpx::load
