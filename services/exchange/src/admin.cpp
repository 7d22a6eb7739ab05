// Administration by operators: instruments and their trading phases, accounts and API
// keys, deposits, the accelerator table and providers' capacity (and voucher programs and
// grants, whose handlers are in vouchers.cpp).

#include <algorithm>
#include <cassert>
#include <set>

#include "cpx/exchange/exchange.hpp"
#include "shares.hpp"

namespace cpx::exchange {

namespace {

constexpr std::size_t kNameBytesMax = 64;
constexpr std::int64_t kNsPerHour = 3'600'000'000'000;
// Wide enough for P per device x devices x nanoseconds of a window.
__extension__ using Int128 = __int128;

using detail::printable;

}  // namespace

void Exchange::on_admin(const Request& r) {
    AccountState* caller = authenticate(r.key_hash);
    if (caller == nullptr) {
        reply(r.token, Code::Unauthenticated);
        return;
    }
    if (caller->spec.role != Role::Operator) {
        reply(r.token, Code::RoleNotAllowed);
        return;
    }
    assert(r.payload != nullptr);
    current_ = Current{};
    current_.type = r.type;
    Code code = Code::None;
    switch (r.type) {
        case RequestType::AddInstrument:
            code = add_instrument(r);
            break;
        case RequestType::SetTradingState:
            code = set_trading_state(r);
            break;
        case RequestType::CreateAccount:
            code = create_account(r);
            break;
        case RequestType::CreateApiKey:
            code = create_api_key(r);
            break;
        case RequestType::CreditDeposit:
        case RequestType::CreditCollateral:
            code = credit_deposit(r);
            break;
        case RequestType::SetAcceleratorTable:
            code = set_accelerator_table(r);
            break;
        case RequestType::RegisterCapacity:
            code = register_capacity(r);
            break;
        case RequestType::CreateVoucherProgram:
            code = create_voucher_program(r);
            break;
        case RequestType::FundVoucherProgram:
            code = fund_voucher_program(r);
            break;
        case RequestType::GrantVoucher:
            code = grant_voucher(r);
            break;
        case RequestType::RevokeVoucher:
            code = revoke_voucher(r);
            break;
        default:
            assert(false);
    }
    current_ = Current{};
    reply(r.token, code);
}

std::uint32_t Exchange::capacity_key(matching::InstrumentKind kind, const std::string& hub,
                                     Timestamp start_ns, Timestamp end_ns, bool create) {
    for (std::size_t i = 0; i < capacity_keys_.size(); ++i) {
        const CapacityKey& k = capacity_keys_[i];
        if (k.kind == kind && k.hub == hub && k.start_ns == start_ns && k.end_ns == end_ns) {
            return static_cast<std::uint32_t>(i + 1);
        }
    }
    if (!create) {
        return 0;
    }
    capacity_keys_.push_back(CapacityKey{kind, hub, start_ns, end_ns});
    return static_cast<std::uint32_t>(capacity_keys_.size());
}

Code Exchange::add_instrument(const Request& r) {
    const matching::InstrumentSpec& spec = r.payload->instrument;
    if (spec.id == 0 || spec.id == matching::kAllInstruments || spec.symbol.view().empty() ||
        spec.hub.view().empty() || spec.unit.view().empty() ||
        spec.window_end_ns <= spec.window_start_ns ||
        (spec.kind != matching::InstrumentKind::ComputeCapacity &&
         spec.kind != matching::InstrumentKind::TokenBundle)) {
        return Code::InvalidInstrument;
    }
    if (engine_.has_instrument(spec.id)) {
        return from_engine(matching::Reason::DuplicateInstrument);
    }
    if (matching::validate_spec(spec) != matching::Reason::None) {
        return Code::InvalidInstrument;
    }
    // The model a compute instrument is listed for is one of the accelerator table's at
    // listing time; voucher programs decide eligibility by it.
    const std::string& model = r.payload->accelerator_model;
    if (!model.empty()) {
        const bool known = std::any_of(accelerator_table_.begin(), accelerator_table_.end(),
                                       [&](const AcceleratorModel& m) { return m.model == model; });
        if (spec.kind != matching::InstrumentKind::ComputeCapacity || !known) {
            return Code::UnknownAcceleratorModel;
        }
    }
    const matching::Reason added = engine_.add_instrument(spec);
    if (added != matching::Reason::None) {
        return from_engine(added);
    }
    instrument_capacity_key_[spec.id] = capacity_key(
        spec.kind, std::string(spec.hub.view()), spec.window_start_ns, spec.window_end_ns, true);
    if (!model.empty()) {
        instrument_models_[spec.id] = model;
    }
    r.payload->instruments.push_back(instrument_view(spec.id));
    // Market data learns of the instrument from its first state.
    Outbound listed;
    listed.kind = OutKind::Market;
    listed.market = MarketKind::State;
    listed.instrument = spec.id;
    listed.state = *engine_.state(spec.id);
    listed.price = *engine_.reference_price(spec.id);
    listed.ts_ns = now_ns_;
    deliver(listed);
    return Code::None;
}

Code Exchange::set_trading_state(const Request& r) {
    if (!engine_.has_instrument(r.instrument)) {
        return from_engine(matching::Reason::UnknownInstrument);
    }
    matching::Command c;
    c.instrument = r.instrument;
    c.ts_ns = now_ns_;
    switch (r.action) {
        case StateAction::Halt:
            c.type = matching::CommandType::Halt;
            break;
        case StateAction::HaltAndCancel:
            c.type = matching::CommandType::Halt;
            c.price = 1;
            break;
        case StateAction::Resume:
            c.type = matching::CommandType::Resume;
            break;
        case StateAction::StartAuction:
            c.type = matching::CommandType::StartAuction;
            break;
        case StateAction::FreezeAuction:
            c.type = matching::CommandType::FreezeAuction;
            break;
        case StateAction::EndAuction:
            c.type = matching::CommandType::Uncross;
            break;
        case StateAction::Close:
            c.type = matching::CommandType::Close;
            break;
        case StateAction::SetReference:
            c.type = matching::CommandType::SetReference;
            c.price = r.price;
            break;
        case StateAction::None:
            return from_engine(matching::Reason::InvalidCommand);
    }
    engine_.apply(c);
    if (current_.code != Code::None) {
        return current_.code;
    }
    r.payload->instruments.push_back(instrument_view(r.instrument));
    return Code::None;
}

Code Exchange::create_account(const Request& r) {
    AccountSpec spec = r.payload->account;
    if (!printable(spec.name, kNameBytesMax) ||
        (!spec.owner_group.empty() && !printable(spec.owner_group, kNameBytesMax)) ||
        (spec.role != Role::Provider && spec.role != Role::Buyer && spec.role != Role::Operator &&
         spec.role != Role::Regulator && spec.role != Role::Issuer) ||
        spec.order_quantity_max < 0 || spec.order_notional_max_fen < 0) {
        return Code::InvalidAccount;
    }
    if (accounts_.size() > config_.accounts_max) {
        return Code::InvalidAccount;
    }
    spec.id = static_cast<AccountId>(accounts_.size());
    AccountState state;
    state.spec = spec;
    state.reports = std::make_unique<ReportLog>(config_.report_retention);
    accounts_.push_back(std::move(state));
    open_money_accounts(accounts_.back());
    r.payload->account = spec;
    return Code::None;
}

Code Exchange::create_api_key(const Request& r) {
    if (find_account(r.account) == nullptr) {
        return Code::UnknownAccount;
    }
    const std::string key(reinterpret_cast<const char*>(r.payload->new_key_hash.data()),
                          r.payload->new_key_hash.size());
    // Keys are 256 random bits: a collision means the caller sent the same key twice.
    if (!key_accounts_.emplace(key, r.account).second) {
        return Code::InvalidAccount;
    }
    return Code::None;
}

Code Exchange::credit_deposit(const Request& r) {
    AccountState* account = find_account(r.account);
    if (account == nullptr) {
        return Code::UnknownAccount;
    }
    const Payload& p = *r.payload;
    // Collateral is what a provider's failed deliveries are paid from.
    const bool to_collateral = r.type == RequestType::CreditCollateral;
    if (to_collateral && account->spec.role != Role::Provider) {
        return Code::RoleNotAllowed;
    }
    if (p.amount_fen <= 0 || !printable(p.deposit_id, kNameBytesMax)) {
        return Code::InvalidAmount;
    }
    const auto seen = deposits_.find(p.deposit_id);
    if (seen != deposits_.end()) {
        if (seen->second.account != r.account || seen->second.amount_fen != p.amount_fen ||
            seen->second.collateral != to_collateral) {
            return Code::DuplicateDepositId;
        }
        r.payload->duplicate = true;
    } else {
        if (const Code code = deposit(*account, p.amount_fen, to_collateral); code != Code::None) {
            return code;
        }
        deposits_.emplace(p.deposit_id, Deposit{r.account, p.amount_fen, to_collateral});
    }
    fill_balance(*account, r.payload->balance);
    return Code::None;
}

Code Exchange::set_accelerator_table(const Request& r) {
    const std::vector<AcceleratorModel>& models = r.payload->models;
    std::set<std::string> names;
    for (const AcceleratorModel& m : models) {
        if (!printable(m.model, kNameBytesMax) || m.milli_p_per_device <= 0 ||
            m.milli_p_per_device > 1'000'000 || !names.insert(m.model).second) {
            return Code::InvalidAcceleratorTable;
        }
    }
    if (models.empty()) {
        return Code::InvalidAcceleratorTable;
    }
    accelerator_table_ = models;
    ++accelerator_table_version_;
    r.payload->table_version = accelerator_table_version_;
    return Code::None;
}

Code Exchange::register_capacity(const Request& r) {
    AccountState* account = find_account(r.account);
    if (account == nullptr) {
        return Code::UnknownAccount;
    }
    if (account->spec.role != Role::Provider) {
        return Code::RoleNotAllowed;
    }
    const CapacityRegistration& reg = r.payload->capacity;
    if (!printable(reg.hub, 16) || reg.window_end_ns <= reg.window_start_ns ||
        reg.green_power_bps > 10'000) {
        return Code::InvalidCapacity;
    }
    Quantity units = 0;
    if (reg.kind == matching::InstrumentKind::ComputeCapacity) {
        const auto model = std::find_if(
            accelerator_table_.begin(), accelerator_table_.end(),
            [&](const AcceleratorModel& m) { return m.model == reg.accelerator_model; });
        if (model == accelerator_table_.end()) {
            return Code::UnknownAcceleratorModel;
        }
        if (reg.device_count == 0) {
            return Code::InvalidCapacity;
        }
        // P·h = P per device x devices x hours of the window, rounded down: a provider
        // may sell only whole units it can deliver.
        const Int128 milli_p_ns = static_cast<Int128>(model->milli_p_per_device) *
                                  reg.device_count * (reg.window_end_ns - reg.window_start_ns);
        const Int128 p_h = milli_p_ns / (static_cast<Int128>(1000) * kNsPerHour);
        if (p_h <= 0 || p_h > (static_cast<Int128>(1) << 53)) {
            return Code::InvalidCapacity;
        }
        units = static_cast<Quantity>(p_h);
    } else if (reg.kind == matching::InstrumentKind::TokenBundle) {
        if (reg.token_bundles <= 0 || reg.token_bundles > (std::int64_t{1} << 53)) {
            return Code::InvalidCapacity;
        }
        units = reg.token_bundles;
    } else {
        return Code::InvalidCapacity;
    }
    const std::uint32_t key =
        capacity_key(reg.kind, reg.hub, reg.window_start_ns, reg.window_end_ns, true);
    CapacityPosition* position = position_of(*account, key);
    if (position == nullptr) {
        account->capacity.push_back(CapacityPosition{key, 0, 0, 0});
        position = &account->capacity.back();
    }
    if (position->registered + units > (std::int64_t{1} << 62)) {
        return Code::Overflow;
    }
    position->registered += units;
    r.payload->registered_units = units;
    r.payload->total_units = position->registered;
    r.payload->table_version = accelerator_table_version_;
    return Code::None;
}

}  // namespace cpx::exchange
