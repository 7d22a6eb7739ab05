// Settlement: the delivery obligation each trade creates, the provider's confirmation,
// the buyer's dispute, the operator's resolution and the settlement run that pays
// providers or refunds buyers (the lifecycle is in cpx/exchange/settlement.hpp).

#include <algorithm>
#include <cassert>

#include "cpx/exchange/exchange.hpp"
#include "ledger_accounts.hpp"
#include "shares.hpp"

namespace cpx::exchange {

namespace {

constexpr std::size_t kNoteBytesMax = 256;
using detail::available_of;
using detail::collateral_of;
using detail::escrow_of;
using detail::kFees;
using detail::share_of;

bool printable_note(const std::string& note) {
    return note.size() <= kNoteBytesMax &&
           std::all_of(note.begin(), note.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

bool is_final(ObligationState state) {
    return state == ObligationState::Settled || state == ObligationState::Failed;
}

}  // namespace

const char* obligation_state_name(ObligationState state) {
    switch (state) {
        case ObligationState::Open:
            return "open";
        case ObligationState::Delivered:
            return "delivered";
        case ObligationState::Disputed:
            return "disputed";
        case ObligationState::Settled:
            return "settled";
        case ObligationState::Failed:
            return "failed";
    }
    return "unknown";
}

const char* obligation_event_name(ObligationEventKind kind) {
    switch (kind) {
        case ObligationEventKind::Created:
            return "created";
        case ObligationEventKind::Delivered:
            return "delivered";
        case ObligationEventKind::Disputed:
            return "disputed";
        case ObligationEventKind::DisputeRejected:
            return "dispute_rejected";
        case ObligationEventKind::DisputeUpheld:
            return "dispute_upheld";
        case ObligationEventKind::Settled:
            return "settled";
        case ObligationEventKind::Failed:
            return "failed";
    }
    return "unknown";
}

void Exchange::set_observers(ledger::TransferSink* transfers, ObligationSink* obligations,
                             VoucherSink* vouchers) {
    ledger_.set_sink(transfers);
    obligation_sink_ = obligations;
    voucher_sink_ = vouchers;
}

std::vector<Obligation> Exchange::open_obligations() const {
    std::vector<Obligation> out;
    out.reserve(obligations_.size());
    for (const Obligation& o : obligations_) {
        if (!is_final(o.state)) {
            out.push_back(o);
        }
    }
    return out;
}

void Exchange::emit_obligation(ObligationEventKind kind, const Obligation& o,
                               const SettlementAmounts& amounts) {
    if (obligation_sink_ == nullptr) {
        return;
    }
    ObligationEvent event;
    event.kind = kind;
    event.obligation = o;
    event.amounts = amounts;
    event.seq = request_seq_;
    event.ts_ns = now_ns_;
    obligation_sink_->on_obligation(event);
}

void Exchange::create_obligation(const OrderRecord& buy, const OrderRecord& sell, Price price,
                                 Quantity quantity, std::uint64_t trade_id) {
    assert(buy.side == Side::Buy && sell.side == Side::Sell);
    // Ids are trade ids, which only increase: the table stays sorted by appending.
    assert(obligations_.empty() || obligations_.back().id < trade_id);
    const matching::InstrumentSpec* spec = engine_.spec(buy.instrument);
    assert(spec != nullptr);
    Obligation o;
    o.id = trade_id;
    o.instrument = buy.instrument;
    o.state = ObligationState::Open;
    o.buyer = buy.account;
    o.provider = sell.account;
    o.buy_order = buy.id;
    o.sell_order = sell.id;
    o.price = price;
    o.quantity = quantity;
    o.amount_fen = price * quantity;
    o.traded_ns = now_ns_;
    o.window_end_ns = spec->window_end_ns;
    o.due_ns = std::max(o.window_end_ns, now_ns_) + config_.settlement.dispute_period_ns;
    o.created_seq = request_seq_;
    obligations_.push_back(o);
    emit_obligation(ObligationEventKind::Created, o, SettlementAmounts{});
}

Obligation* Exchange::find_obligation(std::uint64_t id) {
    const auto it =
        std::lower_bound(obligations_.begin(), obligations_.end(), id,
                         [](const Obligation& o, std::uint64_t wanted) { return o.id < wanted; });
    if (it == obligations_.end() || it->id != id || is_final(it->state)) {
        return nullptr;
    }
    return &*it;
}

SettlementAmounts Exchange::close_obligation(Obligation& o, bool failed) {
    assert(!is_final(o.state));
    const Price delivered_fen = failed ? 0 : o.price * o.delivered_quantity;
    assert(delivered_fen >= 0 && delivered_fen <= o.amount_fen);
    SettlementAmounts moved;
    moved.fee_fen = share_of(delivered_fen, config_.settlement.fee_bps);
    moved.paid_fen = delivered_fen - moved.fee_fen;
    moved.refunded_fen = o.amount_fen - delivered_fen;
    if (moved.refunded_fen > 0) {
        // What the collateral still holds once the penalties this request has already
        // taken from it are paid.
        const ledger::Account* collateral = ledger_.account(collateral_of(o.provider));
        Price& taken = collateral_taken_[o.provider];
        const Price held =
            std::max<Price>((collateral == nullptr ? 0 : collateral->available()) - taken, 0);
        moved.penalty_fen =
            std::min(share_of(moved.refunded_fen, config_.settlement.penalty_bps), held);
        taken += moved.penalty_fen;
    }
    // A voucher's part of what was not delivered goes back to its budget, not to the
    // buyer; the buyer is refunded the rest.
    const Price returned = return_voucher_part(o, delivered_fen, failed);
    Netted& net = netting_[{o.buyer, o.provider}];
    net.amounts.paid_fen += moved.paid_fen;
    net.amounts.fee_fen += moved.fee_fen;
    net.amounts.refunded_fen += moved.refunded_fen - returned;
    net.amounts.penalty_fen += moved.penalty_fen;
    ++net.obligations;
    AccountState& provider = accounts_[o.provider];
    provider.unsettled_fen -= o.amount_fen;
    assert(provider.unsettled_fen >= 0);
    o.state = failed ? ObligationState::Failed : ObligationState::Settled;
    ++obligations_final_;
    emit_obligation(failed ? ObligationEventKind::Failed : ObligationEventKind::Settled, o, moved);
    if (!failed) {
        // The provider has its full price; vouchers pay their share from their budgets.
        redeem_vouchers(o);
    }
    return moved;
}

void Exchange::post_netting() {
    // Netting makes a run of a million obligations between a few hundred pairs of
    // accounts a few hundred transfers; each obligation's own amounts are in its
    // Settled or Failed event. The map is ordered, so the transfer ids are too.
    for (const auto& [pair, net] : netting_) {
        const auto [buyer, provider] = pair;
        // The buyer's escrow has held every obligation's whole amount since its fill, so
        // none of these can be refused; a failure here is a broken ledger, not bad input.
        const auto move = [&](std::uint64_t debit, std::uint64_t credit, Price amount,
                              std::uint32_t code) {
            if (amount <= 0) {
                return;
            }
            [[maybe_unused]] const ledger::Result result =
                transfer(debit, credit, amount, ledger::transfer_flags::posted, code, 0,
                         net.obligations, nullptr);
            assert(result == ledger::Result::Ok);
        };
        move(escrow_of(buyer), available_of(provider), net.amounts.paid_fen,
             ledger::code::settle_to_provider);
        move(escrow_of(buyer), kFees, net.amounts.fee_fen, ledger::code::fee);
        move(escrow_of(buyer), available_of(buyer), net.amounts.refunded_fen, ledger::code::refund);
        move(collateral_of(provider), available_of(buyer), net.amounts.penalty_fen,
             ledger::code::penalty);
    }
    netting_.clear();
    collateral_taken_.clear();
}

void Exchange::compact_obligations() {
    if (obligations_final_ == 0) {
        return;
    }
    obligations_.erase_if([](const Obligation& o) { return is_final(o.state); });
    obligations_final_ = 0;
}

void Exchange::on_settlement(const Request& r) {
    AccountState* caller = authenticate(r.key_hash);
    if (caller == nullptr) {
        reply(r.token, Code::Unauthenticated);
        return;
    }
    assert(r.payload != nullptr);
    current_ = Current{};
    current_.type = r.type;
    Code code = Code::None;
    const Role role = caller->spec.role;
    switch (r.type) {
        case RequestType::ListObligations:
            on_list_obligations(r, *caller);
            return;
        case RequestType::ConfirmDelivery:
            code = role == Role::Provider ? confirm_delivery(r, *caller) : Code::RoleNotAllowed;
            break;
        case RequestType::DisputeDelivery:
            code = role == Role::Buyer ? dispute_delivery(r, *caller) : Code::RoleNotAllowed;
            break;
        case RequestType::ResolveDispute:
            code = role == Role::Operator ? resolve_dispute(r) : Code::RoleNotAllowed;
            break;
        case RequestType::RunSettlement:
            code = role == Role::Operator ? run_settlement(r) : Code::RoleNotAllowed;
            break;
        default:
            assert(false);
    }
    post_netting();
    compact_obligations();
    current_ = Current{};
    reply(r.token, code);
}

void Exchange::on_list_obligations(const Request& r, const AccountState& caller) {
    const bool reads_all =
        caller.spec.role == Role::Operator || caller.spec.role == Role::Regulator;
    const AccountId target = r.account == 0 && !reads_all ? caller.spec.id : r.account;
    if (target != caller.spec.id && !reads_all) {
        reply(r.token, Code::NotOwnAccount);
        return;
    }
    if (target != 0 && find_account(target) == nullptr) {
        reply(r.token, Code::UnknownAccount);
        return;
    }
    const std::uint8_t filter = r.payload->state_filter;
    if (filter > static_cast<std::uint8_t>(ObligationState::Disputed)) {
        // Final obligations leave the exchange's memory; PostgreSQL keeps them.
        reply(r.token, Code::ObligationNotOpen);
        return;
    }
    for (const Obligation& o : obligations_) {
        if (target != 0 && o.buyer != target && o.provider != target) {
            continue;
        }
        if (filter != 0 && static_cast<std::uint8_t>(o.state) != filter) {
            continue;
        }
        r.payload->obligations.push_back(o);
    }
    current_ = Current{};
    reply(r.token, Code::None);
}

Code Exchange::confirm_delivery(const Request& r, AccountState& caller) {
    Payload& p = *r.payload;
    Obligation* o = find_obligation(p.obligation_id);
    // Another provider's obligation is answered as unknown: ids must not reveal trades.
    if (o == nullptr || o->provider != caller.spec.id) {
        return Code::UnknownObligation;
    }
    if (o->state != ObligationState::Open) {
        return Code::ObligationNotOpen;
    }
    if (now_ns_ >= o->due_ns) {
        return Code::DisputePeriodOver;
    }
    if (p.delivered_quantity <= 0 || p.delivered_quantity > o->quantity) {
        return Code::InvalidDelivery;
    }
    o->state = ObligationState::Delivered;
    o->delivered_quantity = p.delivered_quantity;
    o->delivered_ns = now_ns_;
    // The buyer gets a whole dispute period after the confirmation.
    o->due_ns = std::max(o->window_end_ns, now_ns_) + config_.settlement.dispute_period_ns;
    emit_obligation(ObligationEventKind::Delivered, *o, SettlementAmounts{});
    p.obligations.push_back(*o);
    return Code::None;
}

Code Exchange::dispute_delivery(const Request& r, AccountState& caller) {
    Payload& p = *r.payload;
    Obligation* o = find_obligation(p.obligation_id);
    if (o == nullptr || o->buyer != caller.spec.id) {
        return Code::UnknownObligation;
    }
    if (!printable_note(p.note)) {
        return Code::InvalidNote;
    }
    if (o->state != ObligationState::Open && o->state != ObligationState::Delivered) {
        return Code::ObligationNotOpen;
    }
    if (now_ns_ >= o->due_ns) {
        return Code::DisputePeriodOver;
    }
    o->state = ObligationState::Disputed;
    emit_obligation(ObligationEventKind::Disputed, *o, SettlementAmounts{});
    p.obligations.push_back(*o);
    return Code::None;
}

Code Exchange::resolve_dispute(const Request& r) {
    Payload& p = *r.payload;
    Obligation* o = find_obligation(p.obligation_id);
    if (o == nullptr) {
        return Code::UnknownObligation;
    }
    if (!printable_note(p.note)) {
        return Code::InvalidNote;
    }
    if (o->state != ObligationState::Disputed) {
        return Code::ObligationNotOpen;
    }
    emit_obligation(
        p.uphold ? ObligationEventKind::DisputeUpheld : ObligationEventKind::DisputeRejected, *o,
        SettlementAmounts{});
    // A rejected dispute settles what the provider confirmed; a dispute raised before any
    // confirmation has nothing delivered to pay for, so it fails either way.
    const bool failed = p.uphold || o->delivered_quantity == 0;
    const SettlementAmounts moved = close_obligation(*o, failed);
    p.settlement.settled = failed ? 0 : 1;
    p.settlement.failed = failed ? 1 : 0;
    p.settlement.amounts = moved;
    p.obligations.push_back(*o);
    return Code::None;
}

Code Exchange::run_settlement(const Request& r) {
    Payload& p = *r.payload;
    SettlementRunResult& result = p.settlement;
    const std::uint64_t limit = p.settlement_limit == 0 ? ~std::uint64_t{0} : p.settlement_limit;
    for (Obligation& o : obligations_) {
        if (o.due_ns > now_ns_ ||
            (o.state != ObligationState::Open && o.state != ObligationState::Delivered)) {
            continue;
        }
        if (result.settled + result.failed >= limit) {
            result.more_due = true;
            break;
        }
        // Undisputed and past its due time: a confirmed obligation settles, one the
        // provider never confirmed fails.
        const bool failed = o.state == ObligationState::Open;
        const SettlementAmounts moved = close_obligation(o, failed);
        if (failed) {
            ++result.failed;
        } else {
            ++result.settled;
        }
        result.amounts.paid_fen += moved.paid_fen;
        result.amounts.fee_fen += moved.fee_fen;
        result.amounts.refunded_fen += moved.refunded_fen;
        result.amounts.penalty_fen += moved.penalty_fen;
    }
    return Code::None;
}

}  // namespace cpx::exchange
