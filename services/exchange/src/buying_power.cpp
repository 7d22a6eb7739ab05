// Buying power: a buy order that the buyer's free money does not cover draws on one of
// its vouchers (the rules are in cpx/exchange/vouchers.hpp, "Buying power").
//
// The holds are functions of the order's state alone, so that a snapshot can check them
// and a replay makes them again. For an order with open quantity L at reservation price
// rp, open value R = rp x L, a voucher of share s and a cover K left:
//
//   voucher hold  C = min(share_s(R), K)
//   cash hold     H = R - C + min(C, L - 1)
//
// A fill of value v pays p = min(share_s(v), K) from the voucher hold and v - p from the
// cash hold, and K becomes K - p. Both holds only shrink at a fill: C' <= C - p because
// shares are rounded down (share(a + b) >= share(a) + share(b)), and H' <= H - (v - p)
// because the sum of the shares of up to L fills is at most L - 1 fen below the share of
// their sum; the margin min(C, L - 1) is that rounding. So a fill never needs money that
// is not held, whatever price and quantity it comes at (tests/exchange/
// buying_power_test.cpp drives random fills through it).

#include <algorithm>
#include <cassert>
#include <limits>

#include "cpx/exchange/exchange.hpp"
#include "ledger_accounts.hpp"
#include "shares.hpp"

namespace cpx::exchange {

namespace {

using detail::escrow_of;
using detail::share_of;

constexpr Price kUnlimited = std::numeric_limits<Price>::max();

}  // namespace

Exchange::BuyHold Exchange::plan_buy_hold(const AccountState& account,
                                          const matching::InstrumentSpec& spec, Price reserve_price,
                                          Quantity quantity, const OrderRecord* own) const {
    BuyHold plan;
    plan.cash_fen = reserve_price * quantity;  // the caller checked the product
    const Price own_cash = own == nullptr ? 0 : cash_hold_of(*own);
    const Price own_cover = own == nullptr ? 0 : voucher_hold_of(*own);
    const bool room =
        voucher_orders_ < config_.voucher_orders_max || (own != nullptr && own->voucher != 0);
    if (plan.cash_fen <= free_money(account) + own_cash || account.vouchers.empty() ||
        plan.cash_fen == 0 || !room) {
        return plan;
    }
    // Tried in the order settlement tries them.
    VoucherOrder order{};
    const std::size_t count = vouchers_by_expiry(account, order);
    for (std::size_t i = 0; i < count; ++i) {
        const Voucher& v = vouchers_[order[i] - 1];
        const ProgramState& program = programs_[v.program - 1];
        const VoucherProgramSpec& rules = program.spec;
        // Only a voucher whose decision cannot depend on the deal's provider, nor fail
        // later, can be counted before the deal exists.
        const bool counted = rules.mode == VoucherMode::Discount &&
                             rules.side == VoucherSide::Buyer && rules.approved_providers.empty() &&
                             (rules.allow_affiliated || account.spec.owner_group.empty());
        if (!counted || now_ns_ < rules.valid_from_ns || now_ns_ >= rules.valid_until_ns ||
            v.revoked_ns != 0 || now_ns_ >= v.expiry_ns ||
            instrument_refusal(rules, spec).first != Code::None) {
            continue;
        }
        const std::int64_t period =
            rules.cap_period_ns == 0 ? 0 : (now_ns_ - rules.valid_from_ns) / rules.cap_period_ns;
        // What this order holds of the same voucher, cap and program is free for it.
        const bool same_voucher = own != nullptr && own->voucher == v.id;
        const bool same_program =
            own != nullptr && own->voucher != 0 && vouchers_[own->voucher - 1].program == v.program;
        const bool same_cap = same_program && own->voucher_period == period;
        const auto cap_key = std::make_tuple(v.program, account.spec.id, period);
        const auto used = voucher_cap_used_.find(cap_key);
        const auto held = voucher_cap_held_.find(cap_key);
        const Price cap_taken = (used == voucher_cap_used_.end() ? 0 : used->second) +
                                (held == voucher_cap_held_.end() ? 0 : held->second) -
                                (same_cap ? own_cover : 0);
        const ledger::Account* budget = ledger_.account(voucher_budget_account(v.program));
        assert(budget != nullptr);

        Price cover = share_of(plan.cash_fen, rules.share_bps);
        Code limited_by = Code::None;
        const auto limit = [&](Price most, Code why) {
            if (most < cover) {
                cover = most;
                limited_by = why;
            }
        };
        limit(v.free_fen() + (same_voucher ? own_cover : 0), Code::VoucherUsedUp);
        limit(rules.cap_per_beneficiary_fen == 0 ? kUnlimited
                                                 : rules.cap_per_beneficiary_fen - cap_taken,
              Code::BeneficiaryCapReached);
        limit(rules.pool_cap_fen == 0 ? kUnlimited
                                      : rules.pool_cap_fen - program.redeemed_fen -
                                            program.held_fen + (same_program ? own_cover : 0),
              Code::PoolCapReached);
        limit(budget->available() + (same_program ? own_cover : 0), Code::BudgetExhausted);
        if (cover <= 0) {
            continue;
        }
        plan.voucher = v.id;
        plan.cover_fen = cover;
        plan.period = period;
        plan.limited_by = limited_by;
        plan.cash_fen = plan.cash_fen - cover + std::min<Price>(cover, quantity - 1);
        return plan;
    }
    return plan;
}

bool Exchange::keeps_cover(const OrderRecord& record, Price price, Quantity quantity) const {
    // H = R - max(0, C - (L - 1)) and C = min(share(R), K) never grow when R and L do not:
    // a replace to no higher a price and no more quantity needs nothing new.
    return record.voucher != 0 && price <= record.reserve_price && quantity <= record.leaves;
}

void Exchange::take_buy_hold(OrderRecord& record, const BuyHold& plan) {
    assert(record.side == Side::Buy && record.voucher == 0 && record.voucher_hold_transfer == 0);
    record.voucher = plan.voucher;
    record.voucher_cover_fen = plan.cover_fen;
    record.voucher_period = plan.period;
    record.voucher_limited_by = static_cast<std::uint16_t>(plan.limited_by);
    if (plan.voucher != 0) {
        record.voucher_cover_seq = request_seq_;
        record.voucher_cover_ns = now_ns_;
        ++voucher_orders_;
        assert(voucher_orders_ <= config_.voucher_orders_max);
    }
    resync_voucher_hold(record, 0, 0);
    rehold(record, 0, 0);
    assert(cash_hold_of(record) == plan.cash_fen);
}

Price Exchange::voucher_hold_of(const OrderRecord& record) const {
    if (record.voucher == 0 || record.leaves <= 0) {
        return 0;
    }
    const std::uint32_t bps = programs_[vouchers_[record.voucher - 1].program - 1].spec.share_bps;
    return std::min(share_of(record.reserve_price * record.leaves, bps), record.voucher_cover_fen);
}

Price Exchange::cash_hold_of(const OrderRecord& record) const {
    if (record.side != Side::Buy || record.leaves <= 0) {
        return 0;
    }
    const Price open_fen = record.reserve_price * record.leaves;
    const Price cover = voucher_hold_of(record);
    return open_fen - cover + std::min<Price>(cover, record.leaves - 1);
}

std::uint64_t Exchange::resync_voucher_hold(OrderRecord& record, Price paid_fen,
                                            std::uint64_t trade_id) {
    if (record.voucher == 0) {
        assert(paid_fen == 0 && record.voucher_hold_transfer == 0);
        return 0;
    }
    Voucher& v = vouchers_[record.voucher - 1];
    ProgramState& program = programs_[v.program - 1];
    const std::uint64_t budget = voucher_budget_account(v.program);
    const std::uint64_t escrow = escrow_of(record.account);
    const auto cap_key = std::make_tuple(v.program, record.account, record.voucher_period);
    std::uint64_t posted = 0;
    if (record.voucher_hold_transfer != 0) {
        const ledger::Transfer* hold = ledger_.pending(record.voucher_hold_transfer);
        assert(hold != nullptr);
        const Price held = hold->amount;
        [[maybe_unused]] ledger::Result result;
        if (paid_fen > 0) {
            assert(paid_fen <= held);
            result =
                transfer(budget, escrow, paid_fen, ledger::transfer_flags::post_pending,
                         ledger::code::voucher, record.voucher_hold_transfer, trade_id, &posted);
        } else {
            result =
                transfer(budget, escrow, held, ledger::transfer_flags::void_pending,
                         ledger::code::release, record.voucher_hold_transfer, record.id, nullptr);
        }
        assert(result == ledger::Result::Ok);
        record.voucher_hold_transfer = 0;
        v.held_fen -= held;
        program.held_fen -= held;
        Price& cap_held = voucher_cap_held_[cap_key];
        cap_held -= held;
        assert(v.held_fen >= 0 && program.held_fen >= 0 && cap_held >= 0);
        if (cap_held == 0) {
            voucher_cap_held_.erase(cap_key);
        }
    } else {
        assert(paid_fen == 0);
    }
    record.voucher_cover_fen -= paid_fen;
    assert(record.voucher_cover_fen >= 0);
    const Price want = voucher_hold_of(record);
    if (want > 0) {
        // The plan checked every limit before the order reached the book, and a fill
        // only ever lowers the hold.
        [[maybe_unused]] const ledger::Result result =
            transfer(budget, escrow, want, ledger::transfer_flags::pending, ledger::code::reserve,
                     0, record.id, &record.voucher_hold_transfer);
        assert(result == ledger::Result::Ok);
        v.held_fen += want;
        program.held_fen += want;
        voucher_cap_held_[cap_key] += want;
    }
    return posted;
}

Price Exchange::pay_voucher_at_fill(OrderRecord& record, Price value_fen, std::uint64_t trade_id) {
    assert(record.voucher != 0 && !obligations_.empty() && obligations_.back().id == trade_id);
    Voucher& v = vouchers_[record.voucher - 1];
    ProgramState& program = programs_[v.program - 1];
    const Price share_fen = share_of(value_fen, program.spec.share_bps);
    const Price paid = std::min(share_fen, record.voucher_cover_fen);
    // Called after the fill lowered the open quantity: the hold is made anew for it.
    const std::uint64_t transfer_id = resync_voucher_hold(record, paid, trade_id);
    if (paid == 0) {
        return 0;
    }
    Obligation& o = obligations_.back();
    v.redeemed_fen += paid;
    program.redeemed_fen += paid;
    ++program.redemptions;
    voucher_cap_used_[{v.program, record.account, record.voucher_period}] += paid;
    VoucherTally& tally =
        voucher_tallies_[{v.program, record.account, o.provider, record.voucher_period}];
    tally.redeemed_fen += paid;
    ++tally.redemptions;
    o.voucher = v.id;
    o.voucher_fen = paid;
    o.voucher_period = record.voucher_period;
    // A cover cut by a limit when the order took it cuts the payment only once the
    // cover runs short: the limit is named only then.
    const Code limited_by =
        paid < share_fen ? static_cast<Code>(record.voucher_limited_by) : Code::None;
    assert(paid == share_fen || limited_by != Code::None);
    emit_voucher({.kind = VoucherEventKind::RedeemedAtFill,
                  .program = v.program,
                  .voucher = v.id,
                  .trade_id = trade_id,
                  .side = VoucherSide::Buyer,
                  .beneficiary = record.account,
                  .provider = o.provider,
                  .amount_fen = paid,
                  .share_fen = share_fen,
                  .reason = static_cast<std::uint16_t>(limited_by),
                  .transfer_id = transfer_id,
                  .cap_period = record.voucher_period,
                  .cover_seq = record.voucher_cover_seq,
                  .cover_ns = record.voucher_cover_ns});
    return paid;
}

Price Exchange::return_voucher_part(const Obligation& o, Price delivered_fen, bool failed) {
    if (o.voucher_fen == 0) {
        return 0;
    }
    Voucher& v = vouchers_[o.voucher - 1];
    ProgramState& program = programs_[v.program - 1];
    // The voucher keeps its share of what was delivered, at most what it paid.
    const Price kept =
        failed ? 0 : std::min(o.voucher_fen, share_of(delivered_fen, program.spec.share_bps));
    const Price returned = o.voucher_fen - kept;
    if (returned == 0) {
        return 0;
    }
    std::uint64_t transfer_id = 0;
    // The buyer's escrow holds the obligation's whole amount until this request ends.
    [[maybe_unused]] const ledger::Result result =
        transfer(escrow_of(o.buyer), voucher_budget_account(v.program), returned,
                 ledger::transfer_flags::posted, ledger::code::voucher, 0, o.id, &transfer_id);
    assert(result == ledger::Result::Ok);
    v.redeemed_fen -= returned;
    program.redeemed_fen -= returned;
    const auto cap_key = std::make_tuple(v.program, o.buyer, o.voucher_period);
    Price& used = voucher_cap_used_[cap_key];
    used -= returned;
    if (used == 0) {
        voucher_cap_used_.erase(cap_key);
    }
    voucher_tallies_[{v.program, o.buyer, o.provider, o.voucher_period}].redeemed_fen -= returned;
    assert(v.redeemed_fen >= 0 && program.redeemed_fen >= 0);
    emit_voucher({.kind = VoucherEventKind::Returned,
                  .program = v.program,
                  .voucher = v.id,
                  .trade_id = o.id,
                  .side = VoucherSide::Buyer,
                  .beneficiary = o.buyer,
                  .provider = o.provider,
                  .amount_fen = returned,
                  .transfer_id = transfer_id,
                  .cap_period = o.voucher_period});
    return returned;
}

bool Exchange::rebuild_voucher_holds(std::uint64_t request_seq) {
    for (Voucher& v : vouchers_) {
        v.held_fen = 0;
    }
    for (ProgramState& p : programs_) {
        p.held_fen = 0;
    }
    voucher_cap_held_.clear();
    voucher_orders_ = 0;
    for (std::size_t id = 1; id < accounts_.size(); ++id) {
        for (std::uint32_t slot = accounts_[id].live_head; slot != AccountState::kNoRecord;
             slot = records_[slot].next) {
            const OrderRecord& r = records_[slot];
            if (r.voucher == 0) {
                continue;
            }
            if (r.side != Side::Buy || r.voucher > vouchers_.size() ||
                vouchers_[r.voucher - 1].beneficiary != r.account || r.voucher_cover_fen < 0 ||
                r.voucher_period < 0 || r.voucher_cover_seq == 0 ||
                r.voucher_cover_seq > request_seq) {
                return false;
            }
            if (++voucher_orders_ > config_.voucher_orders_max) {
                return false;
            }
            Voucher& v = vouchers_[r.voucher - 1];
            const Price held = voucher_hold_of(r);
            v.held_fen += held;
            programs_[v.program - 1].held_fen += held;
            if (held > 0) {
                voucher_cap_held_[{v.program, r.account, r.voucher_period}] += held;
            }
        }
    }
    return std::all_of(vouchers_.begin(), vouchers_.end(),
                       [](const Voucher& v) { return v.free_fen() >= 0; });
}

}  // namespace cpx::exchange
