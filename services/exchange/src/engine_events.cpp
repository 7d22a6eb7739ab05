// What the engine's events mean for accounts: fills move money and capacity, cancels
// give back what an order held, and every change to an order becomes a report to its
// account. Book changes and trades also go out as public market data.

#include <cassert>

#include "cpx/exchange/exchange.hpp"

namespace cpx::exchange {

using matching::Event;
using matching::EventType;

void Exchange::EngineSink::publish(const Event* events, std::size_t count) {
    exchange_.on_engine_events(events, count);
}

void Exchange::on_engine_events(const Event* events, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const Event& e = events[i];
        switch (e.type) {
            case EventType::Accepted:
            case EventType::Booked:
            case EventType::AuctionResult:
                break;
            case EventType::Rejected:
                // Only the command being applied can be rejected.
                current_.code = from_engine(e.reason);
                if (current_.type == RequestType::NewOrder &&
                    current_.record != AccountState::kNoRecord) {
                    OrderRecord& record = records_[current_.record];
                    release_open_interest(record, record.leaves);
                    record.leaves = 0;
                    record.live = false;
                }
                break;
            case EventType::Trade:
                on_trade(e);
                break;
            case EventType::Cancelled:
                on_cancelled(e);
                break;
            case EventType::Replaced:
                on_replaced(e);
                break;
            case EventType::LevelUpdate:
            case EventType::StateChanged:
                publish_market(e);
                break;
        }
    }
}

void Exchange::release_open_interest(OrderRecord& record, Quantity quantity) {
    if (quantity <= 0) {
        return;
    }
    AccountState& account = accounts_[record.account];
    if (record.side == Side::Buy) {
        // Every caller releases all the order holds: the holds are voided.
        assert(quantity == record.leaves);
        const Quantity leaves = record.leaves;
        record.leaves = 0;
        resync_voucher_hold(record, 0, 0);
        rehold(record, 0, 0);
        record.leaves = leaves;
    } else {
        CapacityPosition* position = position_of(account, record.capacity_key);
        assert(position != nullptr);
        position->offered -= quantity;
        assert(position->offered >= 0);
    }
}

void Exchange::apply_fill(OrderRecord& record, Price price, Quantity quantity,
                          std::uint64_t trade_id) {
    AccountState& account = accounts_[record.account];
    const Price value = price * quantity;
    record.filled += quantity;
    record.leaves -= quantity;
    assert(record.leaves >= 0);
    if (record.side == Side::Buy) {
        // The fill pays the trade price into escrow, the voucher's part from its cover
        // and the rest from the money held; what the holds no longer need is released.
        const Price voucher_part =
            record.voucher != 0 ? pay_voucher_at_fill(record, value, trade_id) : 0;
        rehold(record, value - voucher_part, trade_id);
    } else {
        CapacityPosition* position = position_of(account, record.capacity_key);
        assert(position != nullptr);
        position->offered -= quantity;
        position->sold += quantity;
        account.unsettled_fen += value;
    }
}

void Exchange::on_trade(const Event& e) {
    const std::uint64_t trade_id = next_trade_id_++;
    const std::uint32_t slots[2] = {record_of(e.order_id), record_of(e.other_order_id)};
    assert(slots[0] != AccountState::kNoRecord && slots[1] != AccountState::kNoRecord);
    {
        // The obligation first: the loop below may release the records.
        const bool first_buys = records_[slots[0]].side == Side::Buy;
        create_obligation(records_[slots[first_buys ? 0 : 1]], records_[slots[first_buys ? 1 : 0]],
                          e.price, e.quantity, trade_id);
    }
    for (int k = 0; k < 2; ++k) {
        const std::uint32_t slot = slots[k];
        assert(slot != AccountState::kNoRecord);
        OrderRecord& record = records_[slot];
        apply_fill(record, e.price, e.quantity, trade_id);
        Outbound fill;
        fill.kind = OutKind::Fill;
        fill.account = record.account;
        fill.instrument = record.instrument;
        fill.order_id = record.id;
        fill.side = record.side;
        fill.trade_id = trade_id;
        fill.price = e.price;
        fill.quantity = e.quantity;
        fill.aggressor = e.side == record.side;
        fill.ts_ns = now_ns_;
        fill.client_order_id = record.client_order_id;
        if (record.leaves == 0) {
            record.live = false;
        }
        if (slot == current_.record) {
            taker_fills_.push_back(fill);
            continue;
        }
        emit_report(accounts_[record.account], report_of(record, ExecType::Trade, Code::None),
                    &fill, 1);
        if (!record.live) {
            release_record(slot);
        }
    }
    Outbound tick;
    tick.kind = OutKind::Market;
    tick.market = MarketKind::Trade;
    tick.instrument = e.instrument;
    tick.trade_id = trade_id;
    tick.price = e.price;
    tick.quantity = e.quantity;
    tick.side = e.side;
    tick.ts_ns = now_ns_;
    deliver(tick);
}

void Exchange::on_cancelled(const Event& e) {
    const std::uint32_t slot = record_of(e.order_id);
    assert(slot != AccountState::kNoRecord);
    OrderRecord& record = records_[slot];
    release_open_interest(record, e.quantity);
    record.leaves -= e.quantity;
    assert(record.leaves == 0);
    record.live = false;
    if (current_.type == RequestType::MassCancel &&
        e.reason == matching::Reason::CancelledMassCancel) {
        ++current_.cancelled_count;
    }
    if (slot == current_.record) {
        current_.removed = true;
        current_.removed_reason = from_engine(e.reason);
        return;
    }
    const ExecType exec =
        e.reason == matching::Reason::CancelledExpired ? ExecType::Expired : ExecType::Cancelled;
    emit_report(accounts_[record.account], report_of(record, exec, from_engine(e.reason)), nullptr,
                0);
    release_record(slot);
}

void Exchange::on_replaced(const Event& e) {
    const std::uint32_t slot = record_of(e.order_id);
    assert(slot != AccountState::kNoRecord);
    OrderRecord& record = records_[slot];
    AccountState& account = accounts_[record.account];
    const Quantity before = record.leaves;
    if (record.side == Side::Buy && keeps_cover(record, e.price, e.quantity)) {
        // Less value at no higher a price: the cover taken at the order still holds, and
        // both holds shrink to what the new price and quantity call for.
        record.reserve_price = e.price;
        record.leaves = e.quantity;
        resync_voucher_hold(record, 0, 0);
        rehold(record, 0, 0);
    } else if (record.side == Side::Buy) {
        // The holds are let go and taken anew for the new price and quantity, as the
        // replace's risk check planned them (a voucher's cover is decided again).
        record.leaves = 0;
        resync_voucher_hold(record, 0, 0);
        rehold(record, 0, 0);
        if (record.voucher != 0) {
            --voucher_orders_;
        }
        record.voucher = 0;
        record.voucher_cover_fen = 0;
        record.voucher_period = 0;
        record.voucher_limited_by = 0;
        record.voucher_cover_seq = 0;
        record.voucher_cover_ns = 0;
        record.reserve_price = e.price;
        record.leaves = e.quantity;
        const matching::InstrumentSpec* spec = engine_.spec(record.instrument);
        assert(spec != nullptr);
        const BuyHold plan = plan_buy_hold(account, *spec, e.price, e.quantity, nullptr);
        assert(plan.cash_fen <= free_money(account));
        take_buy_hold(record, plan);
    } else {
        CapacityPosition* position = position_of(account, record.capacity_key);
        assert(position != nullptr);
        position->offered += e.quantity - before;
    }
    record.price = e.price;
    record.quantity += e.quantity - before;
    record.leaves = e.quantity;
}

void Exchange::publish_market(const Event& e) {
    Outbound out;
    out.kind = OutKind::Market;
    out.instrument = e.instrument;
    out.ts_ns = now_ns_;
    if (e.type == EventType::LevelUpdate) {
        out.market = MarketKind::Level;
        out.side = e.side;
        out.price = e.price;
        out.quantity = e.quantity;
        out.order_count = static_cast<std::uint32_t>(e.leaves);
    } else {
        out.market = MarketKind::State;
        out.state = static_cast<matching::TradingState>(e.aux);
        out.price = e.price;
    }
    deliver(out);
}

}  // namespace cpx::exchange
