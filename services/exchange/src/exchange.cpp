#include "cpx/exchange/exchange.hpp"

#include <algorithm>
#include <cassert>
#include <string>

#include "cpx/matching/state_hash.hpp"

namespace cpx::exchange {

namespace {

std::string key_string(const KeyHash& hash) {
    return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

// The accelerator table an exchange starts with (version 1): published dense FP16
// tensor peaks, in thousandths of a PFLOPS per device. Operators replace it with
// SetAcceleratorTable; every registration records the version it was converted with.
std::vector<AcceleratorModel> default_accelerators() {
    return {
        {"H100-SXM", 989, false},   {"H800-SXM", 989, false}, {"H20", 148, false},
        {"A100", 312, false},       {"A800", 312, false},     {"L40S", 362, false},
        {"ASCEND-910B", 320, true}, {"MLU370", 96, true},
    };
}

}  // namespace

Exchange::Exchange(const ExchangeConfig& config, OutboundSink& sink)
    : config_(config),
      sink_(sink),
      ledger_(ledger_config(config)),
      engine_sink_(*this),
      engine_(matching::EngineConfig{config.order_capacity}, engine_sink_),
      record_index_(config.order_capacity + 1),
      client_ids_(config.client_id_window),
      obligations_(config.obligations_max) {
    assert(config.order_capacity > 0);
    accounts_.resize(1);  // account 0 is never assigned
    // One record per order that can rest, and one for the incoming order of a command.
    records_.resize(std::size_t{config.order_capacity} + 1);
    free_records_.reserve(records_.size());
    for (std::size_t i = records_.size(); i-- > 0;) {
        free_records_.push_back(static_cast<std::uint32_t>(i));
    }
    taker_fills_.reserve(4096);
    accelerator_table_ = default_accelerators();
    accelerator_table_version_ = 1;
    open_exchange_accounts();
}

Exchange::~Exchange() = default;

AccountId Exchange::bootstrap_operator(const std::string& name, const KeyHash& key_hash) {
    Payload payload;
    payload.account.name = name;
    payload.new_key_hash = key_hash;
    Request r;
    r.type = RequestType::Bootstrap;
    r.payload = &payload;
    apply(r);
    assert(accounts_.size() == 2);
    return 1;
}

void Exchange::on_bootstrap(const Request& r) {
    assert(r.payload != nullptr);
    // Only an empty exchange takes one: a second bootstrap would be a back door to an
    // operator account.
    if (accounts_.size() != 1) {
        reply(r.token, Code::RoleNotAllowed);
        return;
    }
    AccountState state;
    state.spec.id = 1;
    state.spec.name = r.payload->account.name;
    state.spec.role = Role::Operator;
    state.reports = std::make_unique<ReportLog>(config_.report_retention);
    accounts_.push_back(std::move(state));
    open_money_accounts(accounts_.back());
    key_accounts_[key_string(r.payload->new_key_hash)] = 1;
    reply(r.token, Code::None);
}

AccountId Exchange::account_of_key(const KeyHash& key_hash) const {
    const auto it = key_accounts_.find(key_string(key_hash));
    return it == key_accounts_.end() ? 0 : it->second;
}

std::vector<SessionId> Exchange::open_sessions() const {
    std::vector<SessionId> ids;
    ids.reserve(sessions_.size());
    for (const auto& entry : sessions_) {
        ids.push_back(entry.first);
    }
    // The map's order depends on its hashing; the journal must not.
    std::sort(ids.begin(), ids.end());
    return ids;
}

BalanceView Exchange::balance_of(AccountId id) const {
    BalanceView view;
    if (const AccountState* a = account(id)) {
        fill_balance(*a, view);
    }
    return view;
}

const AccountState* Exchange::account(AccountId id) const {
    if (id == 0 || id >= accounts_.size()) {
        return nullptr;
    }
    return &accounts_[id];
}

AccountState* Exchange::find_account(AccountId id) {
    if (id == 0 || id >= accounts_.size()) {
        return nullptr;
    }
    return &accounts_[id];
}

AccountState* Exchange::authenticate(const KeyHash& key_hash) {
    const auto it = key_accounts_.find(key_string(key_hash));
    return it == key_accounts_.end() ? nullptr : find_account(it->second);
}

AccountState* Exchange::session_account(SessionId session) {
    const auto it = sessions_.find(session);
    return it == sessions_.end() ? nullptr : find_account(it->second.account);
}

void Exchange::prefetch(const Request& r) const {
    if (r.session == 0 || !is_order_command(r.type)) {
        return;
    }
    const auto it = sessions_.find(r.session);
    if (it != sessions_.end()) {
        client_ids_.prefetch(it->second.account, r.client_order_id);
    }
}

void Exchange::apply(const Request& r) {
    // Time only moves forward, even if the sequencer's clock steps back.
    if (r.ts_ns > now_ns_) {
        now_ns_ = r.ts_ns;
    }
    if (changes_state(r.type)) {
        ++request_seq_;
    }
    switch (r.type) {
        case RequestType::NewOrder:
        case RequestType::Cancel:
        case RequestType::Replace:
        case RequestType::MassCancel:
            on_order_command(r);
            return;
        case RequestType::Logon:
            on_logon(r);
            return;
        case RequestType::Logoff:
            on_logoff(r);
            return;
        case RequestType::ListInstruments:
        case RequestType::OpenOrders:
        case RequestType::Fills:
        case RequestType::Balances:
        case RequestType::ListVoucherPrograms:
        case RequestType::ListVouchers:
        case RequestType::VoucherReport:
            on_query(r);
            return;
        case RequestType::AddInstrument:
        case RequestType::SetTradingState:
        case RequestType::CreateAccount:
        case RequestType::CreateApiKey:
        case RequestType::CreditDeposit:
        case RequestType::CreditCollateral:
        case RequestType::SetAcceleratorTable:
        case RequestType::RegisterCapacity:
        case RequestType::CreateVoucherProgram:
        case RequestType::FundVoucherProgram:
        case RequestType::GrantVoucher:
        case RequestType::RevokeVoucher:
            on_admin(r);
            return;
        case RequestType::Bootstrap:
            on_bootstrap(r);
            return;
        case RequestType::ListObligations:
        case RequestType::ConfirmDelivery:
        case RequestType::DisputeDelivery:
        case RequestType::ResolveDispute:
        case RequestType::RunSettlement:
            on_settlement(r);
            return;
        case RequestType::Tick: {
            current_ = Current{};
            current_.type = RequestType::Tick;
            matching::Command tick;
            tick.type = matching::CommandType::Tick;
            tick.ts_ns = now_ns_;
            engine_.apply(tick);
            return;
        }
    }
    reply(r.token, from_engine(matching::Reason::InvalidCommand));
}

void Exchange::on_logon(const Request& r) {
    AccountState* account = authenticate(r.key_hash);
    if (account == nullptr) {
        reply(r.token, Code::Unauthenticated);
        return;
    }
    if (account->spec.role != Role::Buyer && account->spec.role != Role::Provider) {
        reply(r.token, Code::RoleNotAllowed);
        return;
    }
    if (sessions_.size() >= config_.sessions_max) {
        reply(r.token, Code::SessionLimitReached);
        return;
    }
    const SessionId session = next_session_++;
    sessions_[session] = Session{account->spec.id, r.cancel_on_disconnect};
    Outbound ack;
    ack.kind = OutKind::Reply;
    ack.token = r.token;
    ack.code = Code::None;
    ack.account = account->spec.id;
    ack.session = session;
    ack.seq = account->report_seq;
    ack.ts_ns = now_ns_;
    deliver(ack);
    // The reports the client missed, for this session alone, before any live one.
    if (r.resume_after_seq > 0) {
        const ReportLog& log = *account->reports;
        for (std::size_t i = log.first_after(r.resume_after_seq); i < log.size(); ++i) {
            Outbound copy = log.at(i);
            copy.token = r.token;
            copy.session = session;
            copy.targeted = true;
            deliver(copy);
        }
    }
}

void Exchange::on_logoff(const Request& r) {
    // The stream's owner waits for this reply before it lets the stream go: after it,
    // nothing names the stream any more.
    const auto it = sessions_.find(r.session);
    if (it == sessions_.end()) {
        reply(r.token, Code::None);
        return;
    }
    const Session session = it->second;
    sessions_.erase(it);
    if (!session.cancel_on_disconnect) {
        reply(r.token, Code::None);
        return;
    }
    AccountState& account = accounts_[session.account];
    std::vector<std::pair<InstrumentId, OrderId>> orders;
    for (std::uint32_t slot = account.live_head; slot != AccountState::kNoRecord;
         slot = records_[slot].next) {
        if (records_[slot].session == r.session) {
            orders.emplace_back(records_[slot].instrument, records_[slot].id);
        }
    }
    current_ = Current{};
    current_.type = RequestType::Logoff;
    for (const auto& [instrument, order_id] : orders) {
        matching::Command cancel;
        cancel.type = matching::CommandType::Cancel;
        cancel.instrument = instrument;
        cancel.order_id = order_id;
        cancel.account = session.account;
        cancel.ts_ns = now_ns_;
        engine_.apply(cancel);
    }
    current_ = Current{};
    reply(r.token, Code::None);
}

std::uint32_t Exchange::allocate_record() {
    if (free_records_.empty()) {
        return AccountState::kNoRecord;
    }
    const std::uint32_t slot = free_records_.back();
    free_records_.pop_back();
    ++live_records_;
    return slot;
}

void Exchange::release_record(std::uint32_t slot) {
    OrderRecord& record = records_[slot];
    assert(record.id != 0);
    if (record.voucher != 0) {
        assert(record.voucher_hold_transfer == 0 && voucher_orders_ > 0);
        --voucher_orders_;
    }
    AccountState& account = accounts_[record.account];
    if (record.prev != AccountState::kNoRecord) {
        records_[record.prev].next = record.next;
    } else {
        account.live_head = record.next;
    }
    if (record.next != AccountState::kNoRecord) {
        records_[record.next].prev = record.prev;
    }
    --account.live_orders;
    record_index_.erase(record.id);
    record = OrderRecord{};
    free_records_.push_back(slot);
    --live_records_;
}

std::uint32_t Exchange::record_of(OrderId id) const {
    if (id == 0) {
        return AccountState::kNoRecord;
    }
    const std::uint32_t slot = record_index_.find(id);
    return slot == matching::detail::OrderIndex::kMissing ? AccountState::kNoRecord : slot;
}

void Exchange::reply(Token token, Code code) {
    Outbound out;
    out.kind = OutKind::Reply;
    out.token = token;
    out.code = code;
    out.ts_ns = now_ns_;
    deliver(out);
}

void Exchange::deliver(const Outbound& out) {
    sink_.deliver(out);
}

std::uint64_t Exchange::state_hash() const {
    // The engine's books, then every account's money and report count: what a replay
    // must reproduce.
    matching::StateHasher h;
    h.add(engine_.state_hash());
    for (std::size_t id = 1; id < accounts_.size(); ++id) {
        const AccountState& a = accounts_[id];
        h.add(static_cast<std::uint64_t>(id));
        h.add_signed(a.unsettled_fen);
        h.add(a.report_seq);
        for (const CapacityPosition& p : a.capacity) {
            h.add(p.key);
            h.add_signed(p.registered);
            h.add_signed(p.offered);
            h.add_signed(p.sold);
        }
    }
    // The covers of orders that draw on a voucher: what they may still pay, and when
    // and in which cap period they were taken (the records' other fields follow from
    // the books and the ledger).
    for (std::size_t id = 1; id < accounts_.size(); ++id) {
        for (std::uint32_t slot = accounts_[id].live_head; slot != AccountState::kNoRecord;
             slot = records_[slot].next) {
            const OrderRecord& r = records_[slot];
            if (r.voucher != 0) {
                h.add(r.id);
                h.add(r.voucher);
                h.add_signed(r.voucher_cover_fen);
                h.add_signed(r.voucher_period);
                h.add(r.voucher_cover_seq);
                h.add_signed(r.voucher_cover_ns);
                h.add(r.voucher_limited_by);
            }
        }
    }
    h.add(next_order_id_);
    h.add(next_trade_id_);
    for (const Obligation& o : obligations_) {
        h.add(o.id);
        h.add(static_cast<std::uint64_t>(o.state));
        h.add_signed(o.delivered_quantity);
        h.add_signed(o.delivered_ns);
        h.add_signed(o.due_ns);
        h.add(o.voucher);
        h.add_signed(o.voucher_fen);
    }
    for (const ProgramState& p : programs_) {
        h.add(p.spec.id);
        h.add_signed(p.funded_fen);
        h.add_signed(p.granted_fen);
        h.add_signed(p.revoked_fen);
        h.add_signed(p.redeemed_fen);
        h.add_signed(p.held_fen);
        h.add(p.redemptions);
    }
    for (const Voucher& v : vouchers_) {
        h.add(v.id);
        h.add_signed(v.redeemed_fen);
        h.add_signed(v.revoked_fen);
        h.add_signed(v.held_fen);
    }
    for (const auto& [key, amount] : fund_refs_) {
        h.add(key.first);
        h.add_signed(amount);
    }
    for (const auto& [key, used] : voucher_cap_used_) {
        h.add(std::get<0>(key));
        h.add(std::get<1>(key));
        h.add_signed(std::get<2>(key));
        h.add_signed(used);
    }
    h.add(ledger_.state_hash());
    return h.value();
}

}  // namespace cpx::exchange
