#pragma once
// The exchange's state machine: accounts and their API keys, pre-trade risk, the
// idempotency of client order ids, order-entry sessions, execution reports and the
// matching engine behind them. One thread applies requests in sequence; the output
// depends only on the requests (their timestamps included), so a journal of requests
// replayed into a new Exchange rebuilds the same state and the same output.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cpx/exchange/client_id_index.hpp"
#include "cpx/exchange/obligation_table.hpp"
#include "cpx/exchange/outbound.hpp"
#include "cpx/exchange/payload.hpp"
#include "cpx/exchange/report_log.hpp"
#include "cpx/exchange/request.hpp"
#include "cpx/exchange/settlement.hpp"
#include "cpx/exchange/status.hpp"
#include "cpx/exchange/vouchers.hpp"
#include "cpx/ledger/ledger.hpp"
#include "cpx/matching/detail/order_index.hpp"
#include "cpx/matching/engine.hpp"

namespace cpx::matching {
class SnapshotReader;
class SnapshotWriter;
}  // namespace cpx::matching

namespace cpx::exchange {

struct ExchangeConfig {
    // Orders that can rest at once (the engine's pool).
    std::uint32_t order_capacity = 1u << 20;
    // Client order ids remembered per exchange for idempotency (the most recent ones).
    std::uint32_t client_id_window = 1u << 20;
    // Report records (reports and fills) kept per account for resume and duplicates.
    std::uint32_t report_retention = 1u << 16;
    // Limits of an account that does not set its own.
    Quantity order_quantity_max_default = 1'000'000;
    Price order_notional_max_fen_default = 100'000'000'000;  // 1 billion CNY
    std::uint32_t orders_per_second_max_default = 100'000;
    std::uint32_t sessions_max = 4096;
    // Accounts the exchange can admit; each has two ledger accounts, allocated up front.
    std::uint32_t accounts_max = 1u << 16;
    // Obligations not yet settled or failed, at most; an order that could trade past
    // this is refused (ObligationLimitReached). The table's address space (136 bytes
    // each) is reserved up front and backed by memory as it fills.
    std::uint32_t obligations_max = 1u << 23;
    SettlementRules settlement;
    // Voucher programs and vouchers the exchange can hold (each program has a budget
    // account in the ledger, allocated up front).
    std::uint32_t voucher_programs_max = 1u << 10;
    std::uint32_t vouchers_max = 1u << 20;
    // Resting buy orders that draw on a voucher at once (buying power: each holds a
    // second pending transfer, and the ledger's tables are allocated up front); past it,
    // a buy must be covered by money alone.
    std::uint32_t voucher_orders_max = 1u << 16;
};

// One provider's registered capacity for one (kind, hub, window).
struct CapacityPosition {
    std::uint32_t key = 0;
    Quantity registered = 0;
    Quantity offered = 0;  // open quantity of resting or incoming sell orders
    Quantity sold = 0;
};

struct AccountState {
    AccountSpec spec;
    // A provider's sales awaiting settlement (the money sits in its buyers' escrow). An
    // account's money is in the ledger (src/money.cpp).
    Price unsettled_fen = 0;
    std::uint64_t report_seq = 0;
    std::int64_t rate_tokens_milli = 0;
    Timestamp rate_refill_ns = 0;
    std::vector<CapacityPosition> capacity;
    std::vector<std::uint64_t> vouchers;  // ids of the vouchers granted to it, in order
    std::uint32_t live_head = kNoRecord;  // the account's live orders, a linked list
    std::uint32_t live_orders = 0;
    std::unique_ptr<ReportLog> reports;

    static constexpr std::uint32_t kNoRecord = 0xFFFFFFFFu;
};

class Exchange {
  public:
    Exchange(const ExchangeConfig& config, OutboundSink& sink);
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;
    ~Exchange();

    // Applies one request and delivers its output to the sink before returning.
    void apply(const Request& request);
    // Starts loading what applying `request` will look up first (its client order id's
    // slot in the idempotency index), so that a caller holding a batch of requests can
    // overlap those memory reads with applying the ones before it. Changes nothing.
    void prefetch(const Request& request) const;

    // Creates the first operator account with an API key by applying a Bootstrap
    // request: for tests and tools that drive an exchange directly. Returns its id.
    AccountId bootstrap_operator(const std::string& name, const KeyHash& key_hash);

    // True when a Tick at now_ns would expire an order: the sequencer applies (and
    // journals) a Tick only then.
    bool tick_due(Timestamp now_ns) const { return engine_.next_expiry_ns() <= now_ns; }

    // Read-only views for tests and snapshots; not for the order path.
    const matching::Engine& engine() const { return engine_; }
    const AccountState* account(AccountId id) const;
    // The account's balances, from the ledger.
    BalanceView balance_of(AccountId id) const;
    const ledger::Ledger& ledger() const { return ledger_; }
    // Requests that changed state, applied so far: the journal's sequence number of the
    // last one (every ledger transfer carries the number of the request behind it).
    std::uint64_t request_seq() const { return request_seq_; }
    std::uint32_t live_orders() const { return live_records_; }
    // The account an API key belongs to, or 0.
    AccountId account_of_key(const KeyHash& key_hash) const;
    // The order-entry sessions logged on, in the order they were opened: after a
    // restart their streams are gone, and the server logs each off.
    std::vector<SessionId> open_sessions() const;
    std::uint64_t state_hash() const;

    // Observers of what the exchange does to money, for the ledger projector
    // (services/projector): every ledger transfer and every obligation event, in order,
    // while a request is applied. nullptr: none (the live exchange's default).
    void set_observers(ledger::TransferSink* transfers, ObligationSink* obligations,
                       VoucherSink* vouchers = nullptr);
    // Obligations not yet settled or failed, in id order (for tests and audits).
    std::vector<Obligation> open_obligations() const;
    const SettlementRules& settlement_rules() const { return config_.settlement; }
    // Voucher programs with their totals, and every voucher, in id order (for tests and
    // audits).
    std::vector<VoucherProgramView> voucher_programs() const;
    std::vector<Voucher> vouchers() const { return vouchers_; }
    // The ledger account holding a program's budget.
    static std::uint64_t voucher_budget_account(std::uint32_t program);

    // Snapshots (services/exchange/src/snapshot.cpp; format in
    // cpx/matching/snapshot_io.hpp). save_snapshot replaces out with the whole
    // deterministic state: the engine, accounts, API keys, sessions, live order records
    // and their free list, idempotency window, report logs, capacity, deposits,
    // accelerator table, id counters and time. Call it between requests, never from a
    // sink.
    // load_snapshot restores such bytes into an Exchange that was just constructed
    // (nothing applied, not even a Bootstrap) with the same ExchangeConfig; from then on
    // it gives the same output, byte for byte, as the saved exchange would for the same
    // requests. It checks the format, the checksum, the config and every index in the
    // bytes; on false, error says why and the exchange is unusable: destroy it (and, in
    // recovery, fall back to a full replay).
    void save_snapshot(std::string& out) const;
    bool load_snapshot(std::string_view bytes, std::string& error);

  private:
    // What the exchange knows of a live order beyond the engine's view: who placed it,
    // through which session, with which client id, and what it holds (money for a buy,
    // capacity for a sell).
    struct OrderRecord {
        OrderId id = 0;
        AccountId account = 0;
        InstrumentId instrument = 0;
        SessionId session = 0;
        Side side = Side::None;
        bool live = false;
        Price price = 0;          // limit price now (0 for a market order)
        Price reserve_price = 0;  // what each open unit of a buy holds
        Quantity quantity = 0;    // filled + open
        Quantity leaves = 0;
        Quantity filled = 0;
        std::uint64_t hold_transfer = 0;  // a buy's pending transfer in the ledger, or 0
        // A buy that draws on a voucher (see "Buying power" in vouchers.hpp): the voucher,
        // what it may still pay for this order (its cover less what fills took), the
        // pending transfer from the program's budget, the cap period the cover counts in,
        // and the limit that cut the cover when the order took it (a Code, or 0).
        std::uint64_t voucher = 0;
        Price voucher_cover_fen = 0;
        std::uint64_t voucher_hold_transfer = 0;
        std::int64_t voucher_period = 0;
        std::uint16_t voucher_limited_by = 0;
        // The request (journal seq) and time at which the order took its cover: its
        // placement or its last replace. Eligibility was judged then.
        std::uint64_t voucher_cover_seq = 0;
        Timestamp voucher_cover_ns = 0;
        std::uint32_t capacity_key = 0;
        std::uint32_t prev = AccountState::kNoRecord;
        std::uint32_t next = AccountState::kNoRecord;
        Timestamp ts_ns = 0;
        ClientOrderId client_order_id;
    };
    struct Session {
        AccountId account = 0;
        bool cancel_on_disconnect = false;
    };
    struct EngineSink final : matching::EventSink {
        explicit EngineSink(Exchange& exchange) : exchange_(exchange) {}
        void publish(const matching::Event* events, std::size_t count) override;
        Exchange& exchange_;
    };
    // The order command being applied: who asked, and the answer it is building.
    struct Current {
        RequestType type = RequestType::Tick;
        AccountId account = 0;
        Token token = 0;
        SessionId session = 0;
        ClientOrderId client_order_id;
        InstrumentId instrument = 0;  // as requested (a mass cancel's answer names it)
        std::uint32_t record = AccountState::kNoRecord;  // the incoming or named order
        OrderId order_id = 0;
        Code code = Code::None;
        ExecType exec = ExecType::None;
        bool removed = false;  // the order left the book during the command
        Code removed_reason = Code::None;
        std::uint32_t cancelled_count = 0;
    };

    // Request handlers.
    void on_order_command(const Request& r);
    void on_new_order(const Request& r, AccountState& account);
    void on_cancel_or_replace(const Request& r, AccountState& account);
    void on_mass_cancel(const Request& r, AccountState& account);
    void on_logon(const Request& r);
    void on_logoff(const Request& r);
    void on_query(const Request& r);
    InstrumentView instrument_view(InstrumentId id) const;
    void on_admin(const Request& r);
    void on_bootstrap(const Request& r);
    Code add_instrument(const Request& r);
    Code set_trading_state(const Request& r);
    Code create_account(const Request& r);
    Code create_api_key(const Request& r);
    Code credit_deposit(const Request& r);
    Code set_accelerator_table(const Request& r);
    Code register_capacity(const Request& r);
    Code credit_collateral(const Request& r);

    // Settlement (src/settlement.cpp).
    void on_settlement(const Request& r);
    void on_list_obligations(const Request& r, const AccountState& caller);
    Code confirm_delivery(const Request& r, AccountState& caller);
    Code dispute_delivery(const Request& r, AccountState& caller);
    Code resolve_dispute(const Request& r);
    Code run_settlement(const Request& r);
    void create_obligation(const OrderRecord& buy, const OrderRecord& sell, Price price,
                           Quantity quantity, std::uint64_t trade_id);
    // The live obligation with this id, or nullptr (never a final one).
    Obligation* find_obligation(std::uint64_t id);
    // Makes an obligation final and reports it: what the delivered part pays, what the
    // rest refunds and the penalty, added to the request's netting (see post_netting).
    // Returns what it moves.
    SettlementAmounts close_obligation(Obligation& o, bool failed);
    // Moves the money of the obligations closed by this request: per (buyer, provider)
    // pair, one transfer for each of paid, fee, refund and penalty.
    void post_netting();
    void emit_obligation(ObligationEventKind kind, const Obligation& o,
                         const SettlementAmounts& amounts);
    // Drops the final obligations from the table.
    void compact_obligations();

    // Vouchers (src/vouchers.cpp).
    void on_voucher_query(const Request& r, const AccountState& caller);
    Code create_voucher_program(const Request& r);
    Code fund_voucher_program(const Request& r);
    Code grant_voucher(const Request& r);
    Code revoke_voucher(const Request& r);
    Code validate_program(const VoucherProgramSpec& spec) const;
    // Moves amount_fen from the issuer's available money to the program's budget.
    Code move_to_budget(std::uint32_t program, Price amount_fen);
    VoucherProgramView program_view(std::uint32_t program) const;
    VoucherView voucher_view(const Voucher& v) const;
    // Pays the vouchers of both sides of a settled obligation (see vouchers.hpp).
    void redeem_vouchers(const Obligation& o);
    // Pays one side's claim; returns the program that paid, or 0.
    std::uint32_t redeem_side(const Obligation& o, VoucherSide side, std::uint32_t other_paid_by);
    // An account's voucher ids, earliest expiry first (then oldest): the one that runs
    // out soonest is used first. At most kVouchersPerAccountMax, so no allocation.
    using VoucherOrder = std::array<std::uint64_t, kVouchersPerAccountMax>;
    std::size_t vouchers_by_expiry(const AccountState& account, VoucherOrder& out) const;
    // The first of the instrument stages (kind, hub, accelerator model, domestic chip)
    // the program refuses the instrument at, with the number of stages passed before it;
    // Code::None and 4 when it passes them all.
    std::pair<Code, int> instrument_refusal(const VoucherProgramSpec& rules,
                                            const matching::InstrumentSpec& spec) const;
    // Reports a voucher event, stamped with the request's seq and time.
    void emit_voucher(VoucherEvent event);
    // The vouchers' part of a snapshot (src/voucher_snapshot.cpp); the ledger check runs
    // once the ledger is loaded.
    void save_vouchers(matching::SnapshotWriter& w) const;
    bool load_vouchers(matching::SnapshotReader& in);
    bool vouchers_match_ledger(matching::SnapshotReader& in) const;
    // What an account's active vouchers could still pay, summed.
    Price voucher_balance_of(const AccountState& account) const;

    // Authentication and roles.
    AccountState* authenticate(const KeyHash& key_hash);
    AccountState* find_account(AccountId id);
    AccountState* session_account(SessionId session);

    // What a buy of quantity at reserve_price holds: the cash, and the voucher cover when free
    // money alone does not cover it. `own` is the order being replaced, whose holds count as free.
    struct BuyHold {
        Price cash_fen = 0;
        std::uint64_t voucher = 0;
        Price cover_fen = 0;
        std::int64_t period = 0;
        Code limited_by = Code::None;
    };

    // Pre-trade risk.
    bool take_rate_token(AccountState& account, Timestamp now_ns);
    Code check_new_order_risk(const Request& r, AccountState& account,
                              const matching::InstrumentSpec& spec, Price& reserve_price,
                              CapacityPosition*& position, bool& holds, BuyHold& plan);
    CapacityPosition* position_of(AccountState& account, std::uint32_t key);
    // An account's limits per order: its own, or the exchange's defaults.
    Quantity quantity_max_of(const AccountState& account) const;
    Price notional_max_of(const AccountState& account) const;
    std::uint32_t capacity_key(matching::InstrumentKind kind, const std::string& hub,
                               Timestamp start_ns, Timestamp end_ns, bool create);

    // Engine events.
    void on_engine_events(const matching::Event* events, std::size_t count);
    void on_trade(const matching::Event& e);
    void apply_fill(OrderRecord& record, Price price, Quantity quantity, std::uint64_t trade_id);
    void on_cancelled(const matching::Event& e);
    void on_replaced(const matching::Event& e);
    void publish_market(const matching::Event& e);

    // Money (src/money.cpp).
    static ledger::LedgerConfig ledger_config(const ExchangeConfig& config);
    void open_exchange_accounts();
    void open_money_accounts(const AccountState& account);
    Price free_money(const AccountState& account) const;
    void fill_balance(const AccountState& account, BalanceView& view) const;
    ledger::Result transfer(std::uint64_t debit, std::uint64_t credit, Price amount,
                            std::uint32_t flags, std::uint32_t code, std::uint64_t pending_id,
                            std::uint64_t user_data, std::uint64_t* id_out);
    Code deposit(AccountState& account, Price amount_fen, bool to_collateral);
    // Makes a buy order's money hold equal cash_hold_of(record): posts spent_fen (the
    // cash a fill cost) out of the current hold, or voids it, then holds anew.
    void rehold(OrderRecord& record, Price spent_fen, std::uint64_t user_data);

    // Buying power (src/buying_power.cpp; the rules are in vouchers.hpp).
    BuyHold plan_buy_hold(const AccountState& account, const matching::InstrumentSpec& spec,
                          Price reserve_price, Quantity quantity, const OrderRecord* own) const;
    void take_buy_hold(OrderRecord& record, const BuyHold& plan);
    // True when a replace of a buy that draws on a voucher to price and quantity keeps
    // its cover: it asks for no higher a price and no more open quantity. Its holds then
    // only shrink, and its cover is not decided again (the voucher may have expired).
    bool keeps_cover(const OrderRecord& record, Price price, Quantity quantity) const;
    // The holds a buy record's state calls for: the voucher's (its share of the open value,
    // at most the cover left) and the cash (the rest, plus the rounding margin).
    Price voucher_hold_of(const OrderRecord& record) const;
    Price cash_hold_of(const OrderRecord& record) const;
    // Makes the voucher hold equal voucher_hold_of(record), first posting paid_fen (a
    // fill's voucher part) out of it to escrow; returns the posting transfer's id.
    std::uint64_t resync_voucher_hold(OrderRecord& record, Price paid_fen, std::uint64_t trade_id);
    // A fill of a buy that holds a voucher cover: pays the voucher's part into escrow and
    // returns it (the cash part is the rest of the fill's value).
    Price pay_voucher_at_fill(OrderRecord& record, Price value_fen, std::uint64_t trade_id);
    // The voucher's part of what an obligation did not deliver, back to its budget.
    Price return_voucher_part(const Obligation& o, Price delivered_fen, bool failed);
    // Held amounts of every voucher, program and cap, recomputed from the live records
    // (a snapshot load, at journal seq request_seq); false when a record's voucher is not
    // one it may hold.
    bool rebuild_voucher_holds(std::uint64_t request_seq);

    // Order records.
    std::uint32_t allocate_record();
    void release_record(std::uint32_t slot);
    std::uint32_t record_of(OrderId id) const;
    void release_open_interest(OrderRecord& record, Quantity quantity);

    // Output.
    Outbound report_of(const OrderRecord& record, ExecType exec, Code code) const;
    void emit_report(AccountState& account, Outbound header, const Outbound* fills,
                     std::size_t fill_count);
    void answer_current();
    void reject_command(const Request& r, AccountState& account, Code code);
    void remember(AccountId account, const ClientOrderId& id, const Outbound& report);
    void replay_first_answer(const Request& r, AccountState& account, const FirstAnswer& first);
    void reply(Token token, Code code);
    void deliver(const Outbound& out);
    void log_and_deliver(AccountState& account, const Outbound& out);

    ExchangeConfig config_;
    OutboundSink& sink_;
    ledger::Ledger ledger_;
    std::uint64_t request_seq_ = 0;
    EngineSink engine_sink_;
    matching::Engine engine_;

    std::vector<AccountState> accounts_;                       // index = account id; 0 is unused
    std::unordered_map<std::string, AccountId> key_accounts_;  // key hash bytes -> account
    struct Deposit {
        AccountId account;
        Price amount_fen;
        bool collateral;  // CreditCollateral rather than CreditDeposit
    };
    std::unordered_map<std::string, Deposit> deposits_;
    std::unordered_map<SessionId, Session> sessions_;
    SessionId next_session_ = 1;

    std::vector<OrderRecord> records_;
    std::vector<std::uint32_t> free_records_;
    std::uint32_t live_records_ = 0;
    matching::detail::OrderIndex record_index_;
    OrderId next_order_id_ = 1;
    std::uint64_t next_trade_id_ = 1;
    ClientIdIndex client_ids_;

    struct CapacityKey {
        matching::InstrumentKind kind;
        std::string hub;
        Timestamp start_ns;
        Timestamp end_ns;
    };
    std::vector<CapacityKey> capacity_keys_;
    std::unordered_map<InstrumentId, std::uint32_t> instrument_capacity_key_;

    std::uint32_t accelerator_table_version_ = 0;
    std::vector<AcceleratorModel> accelerator_table_;

    // Delivery obligations not yet final, in id (= trade id) order; a final one stays
    // until compact_obligations() (never across requests).
    ObligationTable obligations_;
    std::uint32_t obligations_final_ = 0;
    // The money of the obligations closed by the request being applied, netted per
    // (buyer, provider), and the collateral it has taken from each provider so far.
    struct Netted {
        SettlementAmounts amounts;
        std::uint64_t obligations = 0;
    };
    std::map<std::pair<AccountId, AccountId>, Netted> netting_;
    std::map<AccountId, Price> collateral_taken_;
    ObligationSink* obligation_sink_ = nullptr;

    // Voucher programs (index = id - 1) and vouchers (index = id - 1).
    struct ProgramState {
        VoucherProgramSpec spec;
        Price funded_fen = 0;
        Price granted_fen = 0;
        Price revoked_fen = 0;
        Price redeemed_fen = 0;
        Price held_fen = 0;  // covers of resting buy orders (the pool counts them)
        std::uint64_t vouchers = 0;
        std::uint64_t redemptions = 0;
        Timestamp created_ns = 0;
    };
    std::vector<ProgramState> programs_;
    std::vector<Voucher> vouchers_;
    std::vector<std::string> voucher_ref_texts_;  // the grant reference of each voucher
    std::map<std::pair<std::uint32_t, std::string>, std::uint64_t> voucher_refs_;  // -> id
    // FundVoucherProgram's references, per program: the amount each moved.
    std::map<std::pair<std::uint32_t, std::string>, Price> fund_refs_;
    // What each program paid, per (program, beneficiary, provider, cap period): the
    // reports and, summed over providers, the beneficiaries' caps.
    struct VoucherTally {
        Price redeemed_fen = 0;
        std::uint64_t redemptions = 0;
    };
    std::map<std::tuple<std::uint32_t, AccountId, AccountId, std::int64_t>, VoucherTally>
        voucher_tallies_;
    std::map<std::tuple<std::uint32_t, AccountId, std::int64_t>, Price> voucher_cap_used_;
    // Live order records that draw on a voucher (at most voucher_orders_max).
    std::uint32_t voucher_orders_ = 0;
    // What resting buy orders hold of each (program, beneficiary, cap period) cap.
    std::map<std::tuple<std::uint32_t, AccountId, std::int64_t>, Price> voucher_cap_held_;
    // The accelerator model each instrument is listed for (AddInstrument), if any.
    std::map<InstrumentId, std::string> instrument_models_;
    VoucherSink* voucher_sink_ = nullptr;

    Current current_;
    std::vector<Outbound> taker_fills_;  // the incoming order's fills, this command
    Timestamp now_ns_ = 0;
};

}  // namespace cpx::exchange
