// Compute vouchers: programs and their budgets, grants, revocations, the queries of
// issuers, beneficiaries and regulators, and redemption when an obligation settles (the
// rules are in cpx/exchange/vouchers.hpp).

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>

#include "cpx/exchange/exchange.hpp"
#include "ledger_accounts.hpp"
#include "shares.hpp"

namespace cpx::exchange {

namespace {

using detail::available_of;
using detail::printable;
using detail::share_of;

// Programs own their budget accounts under owner ids far above every exchange account
// id, so that (owner, purpose) stays unique in ledger_accounts.
constexpr std::uint64_t kProgramOwnerBase = std::uint64_t{1} << 40;
constexpr std::size_t kHubBytesMax = 16;  // InstrumentSpec::hub
constexpr Price kUnlimited = std::numeric_limits<Price>::max();

bool contains(const std::vector<std::string>& list, std::string_view wanted) {
    return std::find(list.begin(), list.end(), wanted) != list.end();
}

bool printable_list(const std::vector<std::string>& list, std::size_t bytes_max) {
    return list.size() <= kVoucherListMax &&
           std::all_of(list.begin(), list.end(),
                       [&](const std::string& s) { return printable(s, bytes_max); });
}

std::uint8_t kind_bit(matching::InstrumentKind kind) {
    return kind == matching::InstrumentKind::ComputeCapacity ? voucher_kinds::compute
                                                             : voucher_kinds::tokens;
}

Role role_of_side(VoucherSide side) {
    return side == VoucherSide::Buyer ? Role::Buyer : Role::Provider;
}

// The same program asked for again (an operator's retry): every rule equal. The
// supplier lists are compared sorted, as the exchange keeps them.
bool same_rules(const VoucherProgramSpec& a, VoucherProgramSpec b) {
    std::sort(b.approved_providers.begin(), b.approved_providers.end());
    b.approved_providers.erase(
        std::unique(b.approved_providers.begin(), b.approved_providers.end()),
        b.approved_providers.end());
    return a.issuer == b.issuer && a.name == b.name && a.budget_fen == b.budget_fen &&
           a.share_bps == b.share_bps && a.mode == b.mode && a.side == b.side &&
           a.cap_per_beneficiary_fen == b.cap_per_beneficiary_fen &&
           a.cap_period_ns == b.cap_period_ns && a.pool_cap_fen == b.pool_cap_fen &&
           a.kinds == b.kinds && a.hubs == b.hubs && a.accelerator_models == b.accelerator_models &&
           a.domestic_only == b.domestic_only && a.approved_providers == b.approved_providers &&
           a.allow_affiliated == b.allow_affiliated && a.allow_both_sides == b.allow_both_sides &&
           a.valid_from_ns == b.valid_from_ns && a.valid_until_ns == b.valid_until_ns;
}

}  // namespace

const char* voucher_state_name(VoucherState state) {
    switch (state) {
        case VoucherState::Active:
            return "active";
        case VoucherState::UsedUp:
            return "used_up";
        case VoucherState::Expired:
            return "expired";
        case VoucherState::Revoked:
            return "revoked";
    }
    return "unknown";
}

VoucherState voucher_state(const Voucher& v, Timestamp now_ns) {
    if (v.revoked_ns != 0) {
        return VoucherState::Revoked;
    }
    if (now_ns >= v.expiry_ns) {
        return VoucherState::Expired;
    }
    return v.balance_fen() > 0 ? VoucherState::Active : VoucherState::UsedUp;
}

const char* voucher_event_name(VoucherEventKind kind) {
    switch (kind) {
        case VoucherEventKind::ProgramCreated:
            return "program_created";
        case VoucherEventKind::ProgramFunded:
            return "program_funded";
        case VoucherEventKind::Granted:
            return "granted";
        case VoucherEventKind::Revoked:
            return "revoked";
        case VoucherEventKind::Redeemed:
            return "redeemed";
        case VoucherEventKind::RedemptionRefused:
            return "redemption_refused";
        case VoucherEventKind::RedeemedAtFill:
            return "redeemed_at_fill";
        case VoucherEventKind::Returned:
            return "returned";
    }
    return "unknown";
}

std::uint64_t Exchange::voucher_budget_account(std::uint32_t program) {
    return ledger::account_id(kProgramOwnerBase + program, ledger::purpose::voucher_budget);
}

std::vector<VoucherProgramView> Exchange::voucher_programs() const {
    std::vector<VoucherProgramView> out;
    out.reserve(programs_.size());
    for (const ProgramState& p : programs_) {
        out.push_back(program_view(p.spec.id));
    }
    return out;
}

VoucherProgramView Exchange::program_view(std::uint32_t program) const {
    const ProgramState& p = programs_[program - 1];
    VoucherProgramView view;
    view.spec = p.spec;
    view.funded_fen = p.funded_fen;
    const ledger::Account* budget = ledger_.account(voucher_budget_account(program));
    assert(budget != nullptr);
    view.budget_fen = budget->available();
    view.held_fen = p.held_fen;
    view.granted_fen = p.granted_fen;
    view.revoked_fen = p.revoked_fen;
    view.redeemed_fen = p.redeemed_fen;
    view.vouchers = p.vouchers;
    view.redemptions = p.redemptions;
    view.created_ns = p.created_ns;
    return view;
}

VoucherView Exchange::voucher_view(const Voucher& v) const {
    return VoucherView{v, voucher_state(v, now_ns_), voucher_ref_texts_[v.id - 1]};
}

Price Exchange::voucher_balance_of(const AccountState& account) const {
    Price sum = 0;
    for (const std::uint64_t id : account.vouchers) {
        const Voucher& v = vouchers_[id - 1];
        if (voucher_state(v, now_ns_) == VoucherState::Active) {
            sum += v.free_fen();
        }
    }
    return sum;
}

void Exchange::emit_voucher(VoucherEvent event) {
    event.seq = request_seq_;
    event.ts_ns = now_ns_;
    if (voucher_sink_ != nullptr) {
        voucher_sink_->on_voucher(event);
    }
}

Code Exchange::validate_program(const VoucherProgramSpec& spec) const {
    const bool enums_valid =
        (spec.mode == VoucherMode::Discount || spec.mode == VoucherMode::Rebate) &&
        (spec.side == VoucherSide::Buyer || spec.side == VoucherSide::Provider);
    if (!printable(spec.name, kVoucherNameBytesMax) || !enums_valid || spec.share_bps == 0 ||
        spec.share_bps > 10'000 || spec.budget_fen < 0 || spec.cap_per_beneficiary_fen < 0 ||
        spec.cap_period_ns < 0 || spec.pool_cap_fen < 0 || spec.kinds == 0 ||
        (spec.kinds & ~voucher_kinds::all) != 0 || !printable_list(spec.hubs, kHubBytesMax) ||
        !printable_list(spec.accelerator_models, kVoucherNameBytesMax) ||
        spec.approved_providers.size() > kApprovedProvidersMax || spec.valid_from_ns < 0 ||
        spec.valid_until_ns <= spec.valid_from_ns) {
        return Code::InvalidVoucherProgram;
    }
    for (const AccountId provider : spec.approved_providers) {
        const AccountState* a = provider < accounts_.size() ? &accounts_[provider] : nullptr;
        if (provider == 0 || a == nullptr || a->spec.role != Role::Provider) {
            return Code::InvalidVoucherProgram;
        }
    }
    return Code::None;
}

Code Exchange::move_to_budget(std::uint32_t program, Price amount_fen) {
    const AccountId issuer = programs_[program - 1].spec.issuer;
    switch (transfer(available_of(issuer), voucher_budget_account(program), amount_fen,
                     ledger::transfer_flags::posted, ledger::code::voucher, 0, program, nullptr)) {
        case ledger::Result::Ok:
            return Code::None;
        case ledger::Result::ExceedsCredits:
            return Code::InsufficientFunds;
        case ledger::Result::Overflow:
            return Code::Overflow;
        default:
            return Code::InvalidAmount;
    }
}

Code Exchange::create_voucher_program(const Request& r) {
    Payload& p = *r.payload;
    VoucherProgramSpec spec = p.program;
    const AccountState* issuer = find_account(spec.issuer);
    if (issuer == nullptr) {
        return Code::UnknownAccount;
    }
    if (issuer->spec.role != Role::Issuer) {
        return Code::InvalidVoucherProgram;
    }
    if (const Code invalid = validate_program(spec); invalid != Code::None) {
        return invalid;
    }
    // A program's name is unique per issuer, so that an operator's retry of a creation
    // answers like the first time instead of moving the budget twice.
    for (const ProgramState& existing : programs_) {
        if (existing.spec.issuer == spec.issuer && existing.spec.name == spec.name) {
            if (!same_rules(existing.spec, spec)) {
                return Code::DuplicateVoucherRef;
            }
            p.duplicate = true;
            p.programs.push_back(program_view(existing.spec.id));
            return Code::None;
        }
    }
    if (programs_.size() >= config_.voucher_programs_max) {
        return Code::VoucherLimitReached;
    }
    if (spec.budget_fen > free_money(*issuer)) {
        return Code::InsufficientFunds;
    }
    // Sorted once here, so that redemption finds a provider by binary search.
    std::sort(spec.approved_providers.begin(), spec.approved_providers.end());
    spec.approved_providers.erase(
        std::unique(spec.approved_providers.begin(), spec.approved_providers.end()),
        spec.approved_providers.end());
    spec.id = static_cast<std::uint32_t>(programs_.size() + 1);

    ledger::Account budget;
    budget.id = voucher_budget_account(spec.id);
    budget.owner = kProgramOwnerBase + spec.id;
    budget.purpose = ledger::purpose::voucher_budget;
    budget.flags = ledger::account_flags::debits_must_not_exceed_credits;
    budget.created_seq = request_seq_;
    [[maybe_unused]] const ledger::Result opened = ledger_.open_account(budget);
    assert(opened == ledger::Result::Ok);

    ProgramState state;
    state.spec = spec;
    state.created_ns = now_ns_;
    programs_.push_back(std::move(state));
    if (spec.budget_fen > 0) {
        [[maybe_unused]] const Code moved = move_to_budget(spec.id, spec.budget_fen);
        assert(moved == Code::None);
        programs_.back().funded_fen = spec.budget_fen;
    }
    emit_voucher({.kind = VoucherEventKind::ProgramCreated,
                  .program = spec.id,
                  .beneficiary = spec.issuer,
                  .amount_fen = spec.budget_fen});
    p.programs.push_back(program_view(spec.id));
    return Code::None;
}

Code Exchange::fund_voucher_program(const Request& r) {
    Payload& p = *r.payload;
    if (p.program_id == 0 || p.program_id > programs_.size()) {
        return Code::UnknownVoucherProgram;
    }
    if (p.amount_fen <= 0 || !printable(p.voucher_ref, kVoucherRefBytesMax)) {
        return Code::InvalidAmount;
    }
    ProgramState& program = programs_[p.program_id - 1];
    // The funding reference makes a retry harmless, as a deposit id does a deposit.
    const auto seen = fund_refs_.find({p.program_id, p.voucher_ref});
    if (seen != fund_refs_.end()) {
        if (seen->second != p.amount_fen) {
            return Code::DuplicateVoucherRef;
        }
        p.duplicate = true;
        p.programs.push_back(program_view(p.program_id));
        return Code::None;
    }
    if (const Code moved = move_to_budget(p.program_id, p.amount_fen); moved != Code::None) {
        return moved;
    }
    fund_refs_.emplace(std::make_pair(p.program_id, p.voucher_ref), p.amount_fen);
    program.funded_fen += p.amount_fen;
    emit_voucher({.kind = VoucherEventKind::ProgramFunded,
                  .program = p.program_id,
                  .beneficiary = program.spec.issuer,
                  .amount_fen = p.amount_fen});
    p.programs.push_back(program_view(p.program_id));
    return Code::None;
}

Code Exchange::grant_voucher(const Request& r) {
    Payload& p = *r.payload;
    if (p.program_id == 0 || p.program_id > programs_.size()) {
        return Code::UnknownVoucherProgram;
    }
    ProgramState& program = programs_[p.program_id - 1];
    AccountState* beneficiary = find_account(r.account);
    if (beneficiary == nullptr) {
        return Code::UnknownAccount;
    }
    if (beneficiary->spec.role != role_of_side(program.spec.side)) {
        return Code::InvalidVoucher;
    }
    if (p.voucher_face_fen <= 0 || p.voucher_expiry_ns <= now_ns_ ||
        !printable(p.voucher_ref, kVoucherRefBytesMax)) {
        return Code::InvalidVoucher;
    }
    const auto seen = voucher_refs_.find({p.program_id, p.voucher_ref});
    if (seen != voucher_refs_.end()) {
        // An operator's retry of the same grant answers like the first time.
        const Voucher& v = vouchers_[seen->second - 1];
        if (v.beneficiary != r.account || v.face_fen != p.voucher_face_fen ||
            v.expiry_ns != p.voucher_expiry_ns) {
            return Code::DuplicateVoucherRef;
        }
        p.duplicate = true;
        p.vouchers.push_back(voucher_view(v));
        return Code::None;
    }
    if (vouchers_.size() >= config_.vouchers_max ||
        beneficiary->vouchers.size() >= kVouchersPerAccountMax) {
        return Code::VoucherLimitReached;
    }
    Price granted = 0;
    if (__builtin_add_overflow(program.granted_fen, p.voucher_face_fen, &granted)) {
        return Code::Overflow;
    }
    Voucher v;
    v.id = vouchers_.size() + 1;
    v.program = p.program_id;
    v.beneficiary = r.account;
    v.face_fen = p.voucher_face_fen;
    v.granted_ns = now_ns_;
    v.expiry_ns = p.voucher_expiry_ns;
    v.granted_seq = request_seq_;
    vouchers_.push_back(v);
    voucher_ref_texts_.push_back(p.voucher_ref);
    voucher_refs_.emplace(std::make_pair(p.program_id, p.voucher_ref), v.id);
    beneficiary->vouchers.push_back(v.id);
    program.granted_fen = granted;
    ++program.vouchers;
    emit_voucher({.kind = VoucherEventKind::Granted,
                  .program = v.program,
                  .voucher = v.id,
                  .side = program.spec.side,
                  .beneficiary = v.beneficiary,
                  .amount_fen = v.face_fen});
    p.vouchers.push_back(voucher_view(v));
    return Code::None;
}

Code Exchange::revoke_voucher(const Request& r) {
    Payload& p = *r.payload;
    if (p.voucher_id == 0 || p.voucher_id > vouchers_.size()) {
        return Code::UnknownVoucher;
    }
    Voucher& v = vouchers_[p.voucher_id - 1];
    if (voucher_state(v, now_ns_) != VoucherState::Active) {
        return Code::VoucherNotActive;
    }
    ProgramState& program = programs_[v.program - 1];
    // What resting orders hold stays theirs: a fill pays it as the order was promised.
    v.revoked_fen = v.free_fen();
    v.revoked_ns = now_ns_;
    program.revoked_fen += v.revoked_fen;
    emit_voucher({.kind = VoucherEventKind::Revoked,
                  .program = v.program,
                  .voucher = v.id,
                  .side = program.spec.side,
                  .beneficiary = v.beneficiary,
                  .amount_fen = v.revoked_fen});
    p.vouchers.push_back(voucher_view(v));
    return Code::None;
}

void Exchange::on_voucher_query(const Request& r, const AccountState& caller) {
    Payload& out = *r.payload;
    const Role role = caller.spec.role;
    const bool reads_all = role == Role::Operator || role == Role::Regulator;
    const AccountId me = caller.spec.id;
    const auto holds_voucher_of = [&](std::uint32_t program) {
        return std::any_of(caller.vouchers.begin(), caller.vouchers.end(),
                           [&](std::uint64_t id) { return vouchers_[id - 1].program == program; });
    };
    // An issuer sees its own programs, a beneficiary those it holds vouchers of. Another
    // party's program is answered as unknown: ids must not reveal programs.
    const auto sees_program = [&](std::uint32_t program) {
        return reads_all || programs_[program - 1].spec.issuer == me ||
               ((role == Role::Buyer || role == Role::Provider) && holds_voucher_of(program));
    };
    if (out.program_id != 0 &&
        (out.program_id > programs_.size() || !sees_program(out.program_id))) {
        reply(r.token, Code::UnknownVoucherProgram);
        return;
    }
    const auto wanted = [&](std::uint32_t program) {
        return (out.program_id == 0 || program == out.program_id) && sees_program(program);
    };
    switch (r.type) {
        case RequestType::ListVoucherPrograms:
            for (const ProgramState& p : programs_) {
                if (wanted(p.spec.id)) {
                    out.programs.push_back(program_view(p.spec.id));
                }
            }
            break;
        case RequestType::ListVouchers: {
            const bool beneficiary = role == Role::Buyer || role == Role::Provider;
            if (beneficiary && r.account != 0 && r.account != me) {
                reply(r.token, Code::NotOwnAccount);
                return;
            }
            if (r.account != 0 && find_account(r.account) == nullptr) {
                reply(r.token, Code::UnknownAccount);
                return;
            }
            const AccountId target = beneficiary ? me : r.account;
            for (const Voucher& v : vouchers_) {
                const bool visible =
                    reads_all || programs_[v.program - 1].spec.issuer == me || v.beneficiary == me;
                if (visible && wanted(v.program) && (target == 0 || v.beneficiary == target)) {
                    out.vouchers.push_back(voucher_view(v));
                }
            }
            break;
        }
        case RequestType::VoucherReport: {
            if (!reads_all && role != Role::Issuer) {
                reply(r.token, Code::RoleNotAllowed);
                return;
            }
            if (out.voucher_group != VoucherGroup::Beneficiary &&
                out.voucher_group != VoucherGroup::Provider &&
                out.voucher_group != VoucherGroup::Period) {
                reply(r.token, from_engine(matching::Reason::InvalidCommand));
                return;
            }
            std::map<std::pair<std::uint32_t, std::uint64_t>, VoucherReportRow> rows;
            for (const auto& [key, tally] : voucher_tallies_) {
                const auto [program, beneficiary, provider, period] = key;
                if (!wanted(program)) {
                    continue;
                }
                std::uint64_t group_key = beneficiary;
                if (out.voucher_group == VoucherGroup::Provider) {
                    group_key = provider;
                } else if (out.voucher_group == VoucherGroup::Period) {
                    group_key = static_cast<std::uint64_t>(period);
                }
                VoucherReportRow& row = rows[{program, group_key}];
                row.program = program;
                row.key = group_key;
                if (out.voucher_group == VoucherGroup::Period) {
                    const VoucherProgramSpec& spec = programs_[program - 1].spec;
                    row.period_start_ns = spec.valid_from_ns + period * spec.cap_period_ns;
                }
                row.redeemed_fen += tally.redeemed_fen;
                row.redemptions += tally.redemptions;
            }
            for (const auto& [key, row] : rows) {
                out.voucher_report.push_back(row);
            }
            break;
        }
        default:
            assert(false);
    }
    reply(r.token, Code::None);
}

void Exchange::redeem_vouchers(const Obligation& o) {
    if (programs_.empty()) {
        return;
    }
    // The buyer's claim first; the provider's second, so a program that forbids both
    // sides claiming one deal refuses the provider's claim when the buyer was paid.
    // A buyer whose order held a voucher's cover was paid at the fill: its side of the
    // deal is decided (see "Buying power" in vouchers.hpp).
    const std::uint32_t buyer_paid_by =
        o.voucher != 0 ? vouchers_[o.voucher - 1].program : redeem_side(o, VoucherSide::Buyer, 0);
    redeem_side(o, VoucherSide::Provider, buyer_paid_by);
}

std::size_t Exchange::vouchers_by_expiry(const AccountState& account, VoucherOrder& out) const {
    const std::size_t count = account.vouchers.size();
    assert(count <= out.size());
    std::copy(account.vouchers.begin(), account.vouchers.end(), out.begin());
    std::sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(count),
              [&](std::uint64_t a, std::uint64_t b) {
                  const Voucher& va = vouchers_[a - 1];
                  const Voucher& vb = vouchers_[b - 1];
                  return va.expiry_ns != vb.expiry_ns ? va.expiry_ns < vb.expiry_ns : a < b;
              });
    return count;
}

std::pair<Code, int> Exchange::instrument_refusal(const VoucherProgramSpec& rules,
                                                  const matching::InstrumentSpec& spec) const {
    const auto model_it = instrument_models_.find(spec.id);
    const std::string_view model =
        model_it == instrument_models_.end() ? std::string_view{} : model_it->second;
    const bool domestic =
        !model.empty() &&
        std::any_of(accelerator_table_.begin(), accelerator_table_.end(),
                    [&](const AcceleratorModel& m) { return m.model == model && m.domestic; });
    if ((rules.kinds & kind_bit(spec.kind)) == 0) {
        return {Code::KindNotEligible, 0};
    }
    if (!rules.hubs.empty() && !contains(rules.hubs, spec.hub.view())) {
        return {Code::HubNotEligible, 1};
    }
    if (!rules.accelerator_models.empty() && !contains(rules.accelerator_models, model)) {
        return {Code::AcceleratorNotEligible, 2};
    }
    if (rules.domestic_only && !domestic) {
        return {Code::NotDomesticChip, 3};
    }
    return {Code::None, 4};
}

std::uint32_t Exchange::redeem_side(const Obligation& o, VoucherSide side,
                                    std::uint32_t other_paid_by) {
    const AccountId who = side == VoucherSide::Buyer ? o.buyer : o.provider;
    AccountState& account = accounts_[who];
    if (account.vouchers.empty()) {
        return 0;
    }
    const matching::InstrumentSpec* spec = engine_.spec(o.instrument);
    assert(spec != nullptr);
    const std::string& buyer_group = accounts_[o.buyer].spec.owner_group;
    const bool affiliated =
        !buyer_group.empty() && buyer_group == accounts_[o.provider].spec.owner_group;
    const bool other_forbids_both =
        other_paid_by != 0 && !programs_[other_paid_by - 1].spec.allow_both_sides;
    const Price settled_fen = o.price * o.delivered_quantity;

    VoucherOrder order{};
    const std::size_t count = vouchers_by_expiry(account, order);

    // The refusal to report if none pays: the voucher that passed the most stages.
    int best_stage = -1;
    Code best_reason = Code::None;
    const Voucher* best = nullptr;
    for (std::size_t i = 0; i < count; ++i) {
        Voucher& v = vouchers_[order[i] - 1];
        ProgramState& program = programs_[v.program - 1];
        const VoucherProgramSpec& rules = program.spec;
        const std::int64_t period = rules.cap_period_ns == 0 || o.traded_ns < rules.valid_from_ns
                                        ? 0
                                        : (o.traded_ns - rules.valid_from_ns) / rules.cap_period_ns;
        const Price share_fen = share_of(settled_fen, rules.share_bps);
        // What resting buy orders hold of a voucher, a cap or the pool is theirs.
        const auto used = voucher_cap_used_.find({v.program, who, period});
        const auto held = voucher_cap_held_.find({v.program, who, period});
        const Price cap_taken = (used == voucher_cap_used_.end() ? 0 : used->second) +
                                (held == voucher_cap_held_.end() ? 0 : held->second);
        const Price cap_left = rules.cap_per_beneficiary_fen == 0
                                   ? kUnlimited
                                   : rules.cap_per_beneficiary_fen - cap_taken;
        const Price pool_left = rules.pool_cap_fen == 0
                                    ? kUnlimited
                                    : rules.pool_cap_fen - program.redeemed_fen - program.held_fen;
        const ledger::Account* budget = ledger_.account(voucher_budget_account(v.program));
        const Price budget_left = budget->available();

        // The stages, in the order vouchers.hpp and status.hpp list them.
        Code reason = Code::None;
        int stage = 0;
        const auto check = [&](bool passes, Code fails_with) {
            if (reason != Code::None) {
                return;
            }
            if (passes) {
                ++stage;
            } else {
                reason = fails_with;
            }
        };
        check(o.traded_ns >= rules.valid_from_ns && o.traded_ns < rules.valid_until_ns,
              Code::OutsideProgramPeriod);
        if (reason == Code::None) {
            const auto [refusal, passed] = instrument_refusal(rules, *spec);
            stage += passed;
            reason = refusal;
        }
        check(rules.approved_providers.empty() ||
                  std::binary_search(rules.approved_providers.begin(),
                                     rules.approved_providers.end(), o.provider),
              Code::ProviderNotApproved);
        check(rules.allow_affiliated || !affiliated, Code::AffiliatedParties);
        check(other_paid_by == 0 || (rules.allow_both_sides && !other_forbids_both),
              Code::BothSidesClaimed);
        check(rules.mode == VoucherMode::Discount || o.delivered_quantity == o.quantity,
              Code::NotFullyDelivered);
        check(v.revoked_ns == 0, Code::VoucherNotActive);
        check(now_ns_ < v.expiry_ns, Code::VoucherExpired);
        check(v.free_fen() > 0, Code::VoucherUsedUp);
        check(cap_left > 0, Code::BeneficiaryCapReached);
        check(pool_left > 0, Code::PoolCapReached);
        check(budget_left > 0, Code::BudgetExhausted);
        if (reason != Code::None) {
            if (stage > best_stage) {
                best_stage = stage;
                best_reason = reason;
                best = &v;
            }
            continue;
        }
        if (share_fen <= 0) {
            // A deal too small for the share to reach a fen pays nothing and uses
            // nothing; there is nothing to refuse either.
            return 0;
        }

        // Pays the share, cut by the first limit that binds.
        Price paid = share_fen;
        Code limited_by = Code::None;
        const auto limit = [&](Price most, Code why) {
            if (most < paid) {
                paid = most;
                limited_by = why;
            }
        };
        limit(v.free_fen(), Code::VoucherUsedUp);
        limit(cap_left, Code::BeneficiaryCapReached);
        limit(pool_left, Code::PoolCapReached);
        limit(budget_left, Code::BudgetExhausted);
        assert(paid > 0);
        std::uint64_t transfer_id = 0;
        [[maybe_unused]] const ledger::Result result =
            transfer(voucher_budget_account(v.program), available_of(who), paid,
                     ledger::transfer_flags::posted, ledger::code::voucher, 0, o.id, &transfer_id);
        // The budget's availability was just checked and the beneficiary's account
        // only receives: a refusal here is a broken ledger.
        assert(result == ledger::Result::Ok);
        v.redeemed_fen += paid;
        program.redeemed_fen += paid;
        ++program.redemptions;
        voucher_cap_used_[{v.program, who, period}] += paid;
        VoucherTally& tally = voucher_tallies_[{v.program, who, o.provider, period}];
        tally.redeemed_fen += paid;
        ++tally.redemptions;

        emit_voucher({.kind = VoucherEventKind::Redeemed,
                      .program = v.program,
                      .voucher = v.id,
                      .trade_id = o.id,
                      .side = side,
                      .beneficiary = who,
                      .provider = o.provider,
                      .amount_fen = paid,
                      .share_fen = share_fen,
                      .reason = static_cast<std::uint16_t>(limited_by),
                      .transfer_id = transfer_id,
                      .cap_period = period});
        return v.program;
    }
    if (best != nullptr) {
        emit_voucher(
            {.kind = VoucherEventKind::RedemptionRefused,
             .program = best->program,
             .voucher = best->id,
             .trade_id = o.id,
             .side = side,
             .beneficiary = who,
             .provider = o.provider,
             .share_fen = share_of(settled_fen, programs_[best->program - 1].spec.share_bps),
             .reason = static_cast<std::uint16_t>(best_reason)});
    }
    return 0;
}

}  // namespace cpx::exchange
