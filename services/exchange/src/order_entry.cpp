// Order entry: authentication, roles, idempotency, pre-trade risk, then the engine;
// and the answer each command gets.

#include <algorithm>
#include <cassert>

#include "cpx/exchange/exchange.hpp"

namespace cpx::exchange {

namespace {

bool valid_client_order_id(const ClientOrderId& id) {
    const std::string_view text = id.view();
    if (text.empty()) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c <= '~'; });
}

bool multiply(std::int64_t a, std::int64_t b, std::int64_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}

}  // namespace

void Exchange::on_order_command(const Request& r) {
    AccountState* account = nullptr;
    if (r.session != 0) {
        account = session_account(r.session);
        if (account == nullptr) {
            reply(r.token, Code::UnknownSession);
            return;
        }
    } else {
        account = authenticate(r.key_hash);
        if (account == nullptr) {
            reply(r.token, Code::Unauthenticated);
            return;
        }
    }
    // Orders whose expiry has passed leave before the command is judged, each with its
    // own Expired report: what they held is free for the command, and a cancel or
    // replace that names one is not taken for that order's own removal (which would
    // swallow its expiry).
    if (tick_due(now_ns_)) {
        current_ = Current{};
        matching::Command expire;
        expire.type = matching::CommandType::Tick;
        expire.ts_ns = now_ns_;
        engine_.apply(expire);
    }

    current_ = Current{};
    current_.type = r.type;
    current_.account = account->spec.id;
    current_.token = r.token;
    current_.session = r.session;
    current_.client_order_id = r.client_order_id;
    current_.instrument = r.instrument;
    taker_fills_.clear();

    const Role role = account->spec.role;
    if (role != Role::Buyer && role != Role::Provider) {
        reject_command(r, *account, Code::RoleNotAllowed);
        return;
    }
    if (r.client_order_id_too_long || !valid_client_order_id(r.client_order_id)) {
        reject_command(r, *account, Code::InvalidClientOrderId);
        return;
    }
    if (const FirstAnswer* first = client_ids_.find(account->spec.id, r.client_order_id)) {
        replay_first_answer(r, *account, *first);
        return;
    }
    if (!take_rate_token(*account, now_ns_)) {
        reject_command(r, *account, Code::RateLimited);
        return;
    }
    switch (r.type) {
        case RequestType::NewOrder:
            on_new_order(r, *account);
            return;
        case RequestType::Cancel:
        case RequestType::Replace:
            on_cancel_or_replace(r, *account);
            return;
        case RequestType::MassCancel:
            on_mass_cancel(r, *account);
            return;
        default:
            assert(false);
    }
}

bool Exchange::take_rate_token(AccountState& account, Timestamp now_ns) {
    // A token bucket of one second of the account's rate, refilled by the sequenced
    // time (never by a clock), so that a replay makes the same decisions.
    const std::uint32_t rate = account.spec.orders_per_second_max != 0
                                   ? account.spec.orders_per_second_max
                                   : config_.orders_per_second_max_default;
    const std::int64_t capacity_milli = std::int64_t{rate} * 1000;
    if (account.rate_refill_ns == 0) {
        account.rate_tokens_milli = capacity_milli;
    } else {
        const std::int64_t elapsed_ns = std::min<std::int64_t>(
            std::max<std::int64_t>(now_ns - account.rate_refill_ns, 0), 1'000'000'000);
        account.rate_tokens_milli =
            std::min(capacity_milli,
                     account.rate_tokens_milli + elapsed_ns * std::int64_t{rate} / 1'000'000);
    }
    account.rate_refill_ns = now_ns;
    if (account.rate_tokens_milli < 1000) {
        return false;
    }
    account.rate_tokens_milli -= 1000;
    return true;
}

Quantity Exchange::quantity_max_of(const AccountState& account) const {
    return account.spec.order_quantity_max != 0 ? account.spec.order_quantity_max
                                                : config_.order_quantity_max_default;
}

Price Exchange::notional_max_of(const AccountState& account) const {
    return account.spec.order_notional_max_fen != 0 ? account.spec.order_notional_max_fen
                                                    : config_.order_notional_max_fen_default;
}

CapacityPosition* Exchange::position_of(AccountState& account, std::uint32_t key) {
    for (CapacityPosition& p : account.capacity) {
        if (p.key == key) {
            return &p;
        }
    }
    return nullptr;
}

Code Exchange::check_new_order_risk(const Request& r, AccountState& account,
                                    const matching::InstrumentSpec& spec, Price& reserve_price,
                                    CapacityPosition*& position, bool& holds, BuyHold& plan) {
    const Role role = account.spec.role;
    if ((r.side == Side::Buy && role != Role::Buyer) ||
        (r.side == Side::Sell && role != Role::Provider)) {
        return Code::RoleNotAllowed;
    }
    // Values the engine will refuse anyway get its own, more precise reason, and hold
    // nothing. (The gateway sends no side but Buy, Sell and None; any other value, which
    // only a damaged request could carry, is refused the same way.)
    if ((r.side != Side::Buy && r.side != Side::Sell) || r.quantity <= 0 ||
        r.quantity > spec.quantity_max || r.price < 0 ||
        (r.order_type != matching::OrderType::Market && r.price > spec.price_max)) {
        holds = false;
        return Code::None;
    }
    holds = true;
    const Quantity quantity_max = quantity_max_of(account);
    if (r.quantity > quantity_max) {
        return Code::QuantityAboveAccountLimit;
    }
    if (r.side == Side::Sell) {
        const auto key = instrument_capacity_key_.find(r.instrument);
        position =
            key == instrument_capacity_key_.end() ? nullptr : position_of(account, key->second);
        if (position == nullptr ||
            position->registered - position->offered - position->sold < r.quantity) {
            return Code::InsufficientCapacity;
        }
        reserve_price = 0;
        return Code::None;
    }
    // A buy holds money at the most it can pay: its limit, or for a market order the
    // protection price the engine will apply (the best ask plus the protection reach,
    // capped by the order's own limit and the instrument's range).
    if (r.order_type == matching::OrderType::Market) {
        const std::optional<Price> best_ask = engine_.best_price(r.instrument, Side::Sell);
        Price reach = 0;
        if (best_ask) {
            reach =
                std::min(spec.price_max,
                         *best_ask + std::int64_t{spec.market_protection_ticks} * spec.tick_size);
        }
        reserve_price = r.price > 0 ? std::min(r.price, reach) : reach;
        // No ask: the engine cancels the order for want of liquidity, holding nothing.
    } else {
        reserve_price = r.price;
    }
    Price notional = 0;
    if (!multiply(reserve_price, r.quantity, notional)) {
        return Code::Overflow;
    }
    const Price notional_max = notional_max_of(account);
    if (notional > notional_max) {
        return Code::NotionalAboveAccountLimit;
    }
    // Buying power: free money, and a voucher's cover when money alone falls short.
    plan = plan_buy_hold(account, spec, reserve_price, r.quantity, nullptr);
    if (free_money(account) < plan.cash_fen) {
        return Code::InsufficientFunds;
    }
    return Code::None;
}

void Exchange::on_new_order(const Request& r, AccountState& account) {
    const matching::InstrumentSpec* spec = engine_.spec(r.instrument);
    Price reserve_price = 0;
    CapacityPosition* position = nullptr;
    bool holds = false;
    BuyHold plan;
    if (spec != nullptr) {
        if (const Code code =
                check_new_order_risk(r, account, *spec, reserve_price, position, holds, plan);
            code != Code::None) {
            reject_command(r, account, code);
            return;
        }
    } else if ((r.side == Side::Buy && account.spec.role != Role::Buyer) ||
               (r.side == Side::Sell && account.spec.role != Role::Provider)) {
        reject_command(r, account, Code::RoleNotAllowed);
        return;
    }
    // An order can trade with every order resting on the other side, and each trade is
    // an obligation: refuse it unless the obligation table has room for all of them.
    if (obligations_.size() + live_records_ + 1 > config_.obligations_max) {
        reject_command(r, account, Code::ObligationLimitReached);
        return;
    }
    const std::uint32_t slot = allocate_record();
    if (slot == AccountState::kNoRecord) {
        reject_command(r, account, Code::OrderLimitReached);
        return;
    }
    OrderRecord& record = records_[slot];
    record = OrderRecord{};
    record.id = next_order_id_++;
    record.account = account.spec.id;
    record.instrument = r.instrument;
    record.session = r.session;
    record.side = r.side;
    record.live = true;
    record.price = r.order_type == matching::OrderType::Limit ? r.price : 0;
    record.reserve_price = reserve_price;
    record.quantity = r.quantity;
    record.leaves = r.quantity;
    record.ts_ns = now_ns_;
    record.client_order_id = r.client_order_id;
    record.prev = AccountState::kNoRecord;
    record.next = account.live_head;
    if (account.live_head != AccountState::kNoRecord) {
        records_[account.live_head].prev = slot;
    }
    account.live_head = slot;
    ++account.live_orders;
    record_index_.insert(record.id, slot);
    // What the order holds is taken before the engine sees it and given back by the
    // engine's events (fills, cancels), so every path out of the book releases it.
    if (holds && r.side == Side::Buy) {
        take_buy_hold(record, plan);
    } else if (holds) {
        position->offered += r.quantity;
        record.capacity_key = position->key;
    }
    if (!holds) {
        record.leaves = 0;  // nothing held: a rejection by the engine releases nothing
    }
    current_.record = slot;
    current_.order_id = record.id;
    current_.exec = ExecType::New;

    matching::Command c;
    c.type = matching::CommandType::NewOrder;
    c.side = r.side;
    c.order_type = r.order_type;
    c.tif = r.tif;
    c.flags = r.flags;
    c.stp = r.stp;
    c.instrument = r.instrument;
    c.account = account.spec.id;
    c.ts_ns = now_ns_;
    c.order_id = record.id;
    c.price = r.price;
    c.quantity = r.quantity;
    c.min_quantity = r.min_quantity;
    c.expiry_ns = r.expiry_ns;
    engine_.apply(c);
    answer_current();
}

void Exchange::on_cancel_or_replace(const Request& r, AccountState& account) {
    OrderId target = r.order_id;
    if (target == 0 && !r.orig_client_order_id.view().empty()) {
        if (const FirstAnswer* orig = client_ids_.find(account.spec.id, r.orig_client_order_id)) {
            target = orig->order_id;
        }
    }
    const std::uint32_t slot = record_of(target);
    // Another account's order is unknown to this one, so that ids reveal nothing.
    if (slot == AccountState::kNoRecord || records_[slot].account != account.spec.id ||
        (r.instrument != 0 && records_[slot].instrument != r.instrument)) {
        current_.order_id = target;
        reject_command(r, account, from_engine(matching::Reason::UnknownOrder));
        return;
    }
    OrderRecord& record = records_[slot];
    current_.record = slot;
    current_.order_id = record.id;
    current_.exec = r.type == RequestType::Cancel ? ExecType::Cancelled : ExecType::Replaced;

    if (r.type == RequestType::Replace &&
        obligations_.size() + live_records_ > config_.obligations_max) {
        // A replace at a new price may trade like a new order (see on_new_order).
        reject_command(r, account, Code::ObligationLimitReached);
        return;
    }
    if (r.type == RequestType::Replace && r.quantity > 0 && r.price > 0) {
        // A replace may hold more: check the difference as a new order would be.
        if (record.side == Side::Buy) {
            Price after = 0;
            if (!multiply(r.price, r.quantity, after)) {
                reject_command(r, account, Code::Overflow);
                return;
            }
            const Price notional_max = notional_max_of(account);
            if (after > notional_max) {
                reject_command(r, account, Code::NotionalAboveAccountLimit);
                return;
            }
            // An order that keeps its voucher's cover only shrinks its holds. Otherwise
            // the replaced order's holds are free for it: the plan is what on_replaced
            // will hold once it has let them go.
            if (!keeps_cover(record, r.price, r.quantity)) {
                const matching::InstrumentSpec* spec = engine_.spec(record.instrument);
                assert(spec != nullptr);
                const BuyHold plan = plan_buy_hold(account, *spec, r.price, r.quantity, &record);
                if (free_money(account) + cash_hold_of(record) < plan.cash_fen) {
                    reject_command(r, account, Code::InsufficientFunds);
                    return;
                }
            }
        } else {
            CapacityPosition* position = position_of(account, record.capacity_key);
            assert(position != nullptr);
            if (r.quantity > record.leaves &&
                position->registered - position->offered - position->sold <
                    r.quantity - record.leaves) {
                reject_command(r, account, Code::InsufficientCapacity);
                return;
            }
        }
        const Quantity quantity_max = quantity_max_of(account);
        if (r.quantity + record.filled > quantity_max) {
            reject_command(r, account, Code::QuantityAboveAccountLimit);
            return;
        }
    }
    matching::Command c;
    c.type = r.type == RequestType::Cancel ? matching::CommandType::Cancel
                                           : matching::CommandType::Replace;
    c.instrument = record.instrument;
    c.account = account.spec.id;
    c.ts_ns = now_ns_;
    c.order_id = record.id;
    c.price = r.price;
    c.quantity = r.quantity;
    engine_.apply(c);
    answer_current();
}

void Exchange::on_mass_cancel(const Request& r, AccountState& account) {
    matching::Command c;
    c.type = matching::CommandType::MassCancel;
    c.instrument = r.instrument == 0 ? matching::kAllInstruments : r.instrument;
    c.account = account.spec.id;
    c.ts_ns = now_ns_;
    engine_.apply(c);
    answer_current();
}

Outbound Exchange::report_of(const OrderRecord& record, ExecType exec, Code code) const {
    Outbound out;
    out.kind = OutKind::Report;
    out.exec = exec;
    out.code = code;
    out.account = record.account;
    out.instrument = record.instrument;
    out.order_id = record.id;
    out.side = record.side;
    out.price = record.price;
    out.quantity = record.quantity;
    out.leaves = record.live ? record.leaves : 0;
    out.filled = record.filled;
    out.client_order_id = record.client_order_id;
    out.ts_ns = now_ns_;
    if (exec == ExecType::Rejected) {
        out.status = OrderStatus::Rejected;
    } else if (record.quantity > 0 && record.filled == record.quantity) {
        out.status = OrderStatus::Filled;
    } else if (!record.live) {
        out.status = exec == ExecType::Expired ? OrderStatus::Expired : OrderStatus::Cancelled;
    } else {
        out.status = record.filled > 0 ? OrderStatus::PartiallyFilled : OrderStatus::New;
    }
    return out;
}

void Exchange::emit_report(AccountState& account, Outbound header, const Outbound* fills,
                           std::size_t fill_count) {
    header.seq = ++account.report_seq;
    header.fill_count = static_cast<std::uint16_t>(fill_count);
    assert(fill_count <= 0xFFFF);
    account.reports->append(header);
    deliver(header);
    for (std::size_t i = 0; i < fill_count; ++i) {
        Outbound fill = fills[i];
        fill.seq = header.seq;
        fill.token = header.token;
        account.reports->append(fill);
        deliver(fill);
    }
}

void Exchange::answer_current() {
    AccountState& account = accounts_[current_.account];
    Outbound header;
    if (current_.type == RequestType::MassCancel) {
        header.kind = OutKind::MassCancelDone;
        header.account = current_.account;
        header.instrument = current_.instrument;
        header.quantity = current_.cancelled_count;
        header.code = current_.code;
        header.exec = current_.code == Code::None ? ExecType::Cancelled : ExecType::Rejected;
        header.ts_ns = now_ns_;
    } else {
        assert(current_.record != AccountState::kNoRecord);
        const OrderRecord& record = records_[current_.record];
        const bool rejected = current_.code != Code::None;
        header = report_of(record, rejected ? ExecType::Rejected : current_.exec,
                           rejected ? current_.code : current_.removed_reason);
        if (rejected && current_.type == RequestType::NewOrder) {
            header.leaves = 0;
            header.filled = 0;
        }
    }
    header.token = current_.token;
    header.client_order_id = current_.client_order_id;
    // A fill of more than 65535 price levels in one command cannot be reported in one
    // report; the engine's bounded ladders keep far below that.
    emit_report(account, header, taker_fills_.data(), taker_fills_.size());
    // emit_report numbered its own copy; the id must remember that number, or a retry
    // could not find the logged answer and its fills.
    header.seq = account.report_seq;
    remember(account.spec.id, current_.client_order_id, header);
    if (current_.record != AccountState::kNoRecord && !records_[current_.record].live) {
        release_record(current_.record);
    }
    current_ = Current{};
    taker_fills_.clear();
}

void Exchange::reject_command(const Request& r, AccountState& account, Code code) {
    Outbound header;
    header.kind = r.type == RequestType::MassCancel ? OutKind::MassCancelDone : OutKind::Report;
    header.exec = ExecType::Rejected;
    header.status = OrderStatus::Rejected;
    header.code = code;
    header.account = account.spec.id;
    header.instrument = r.instrument;
    header.order_id = current_.order_id;
    header.side = r.side;
    header.price = r.price;
    header.quantity = r.quantity;
    header.token = r.token;
    header.client_order_id = r.client_order_id;
    header.ts_ns = now_ns_;
    emit_report(account, header, nullptr, 0);
    header.seq = account.report_seq;
    // A refusal for the moment (the rate limit) is not the order's answer for ever: the
    // client may retry the same id. An invalid id cannot be looked up again anyway.
    if (code != Code::RateLimited && code != Code::InvalidClientOrderId &&
        code != Code::RoleNotAllowed) {
        remember(account.spec.id, r.client_order_id, header);
    }
    current_ = Current{};
}

void Exchange::remember(AccountId account, const ClientOrderId& id, const Outbound& report) {
    // Every caller has looked the id up already and found it new.
    if (id.view().empty()) {
        return;
    }
    FirstAnswer first;
    first.order_id = report.order_id;
    first.seq = report.seq;
    first.exec = report.exec;
    first.status = report.status;
    first.code = report.code;
    first.instrument = report.instrument;
    first.side = report.side;
    client_ids_.insert(account, id, first);
}

void Exchange::replay_first_answer(const Request& r, AccountState& account,
                                   const FirstAnswer& first) {
    // The first answer again, to this caller alone and outside the account's sequence:
    // it is a copy, not news.
    const ReportLog& log = *account.reports;
    const std::size_t at = log.find(first.seq);
    if (at != ReportLog::kNotFound) {
        const std::size_t fills = log.at(at).fill_count;
        for (std::size_t i = at; i <= at + fills && i < log.size(); ++i) {
            Outbound copy = log.at(i);
            copy.token = r.token;
            copy.session = r.session;
            copy.targeted = true;
            copy.duplicate = true;
            deliver(copy);
        }
    } else {
        Outbound copy;
        copy.kind = r.type == RequestType::MassCancel ? OutKind::MassCancelDone : OutKind::Report;
        copy.exec = first.exec;
        copy.status = first.status;
        copy.code = first.code;
        copy.account = account.spec.id;
        copy.instrument = first.instrument;
        copy.order_id = first.order_id;
        copy.side = first.side;
        copy.seq = first.seq;
        copy.client_order_id = r.client_order_id;
        copy.token = r.token;
        copy.session = r.session;
        copy.targeted = true;
        copy.duplicate = true;
        copy.ts_ns = now_ns_;
        deliver(copy);
    }
    current_ = Current{};
}

}  // namespace cpx::exchange
