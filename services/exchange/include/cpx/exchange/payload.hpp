#pragma once
// The variable-size inputs and outputs of administration and queries. The caller owns a
// Payload until the exchange answers its request; the exchange reads the inputs of the
// request's type and fills the outputs. Not on the order path.

#include <cstdint>
#include <string>
#include <vector>

#include "cpx/exchange/request.hpp"
#include "cpx/exchange/settlement.hpp"
#include "cpx/exchange/vouchers.hpp"
#include "cpx/matching/instrument.hpp"

namespace cpx::exchange {

// Issuer: a voucher issuer (a city's big-data bureau) that funds programs and reads how
// they were spent.
enum class Role : std::uint8_t {
    None = 0,
    Provider = 1,
    Buyer = 2,
    Operator = 3,
    Regulator = 4,
    Issuer = 5,
};

struct AccountSpec {
    AccountId id = 0;  // assigned by the exchange
    std::string name;
    Role role = Role::None;
    std::string owner_group;
    Quantity order_quantity_max = 0;  // 0 takes the exchange's default
    Price order_notional_max_fen = 0;
    std::uint32_t orders_per_second_max = 0;
};

struct AcceleratorModel {
    std::string model;
    std::int64_t milli_p_per_device = 0;
    bool domestic = false;
};

struct CapacityRegistration {
    matching::InstrumentKind kind = matching::InstrumentKind::ComputeCapacity;
    std::string hub;
    Timestamp window_start_ns = 0;
    Timestamp window_end_ns = 0;
    std::string accelerator_model;  // compute
    std::uint32_t device_count = 0;
    Quantity token_bundles = 0;  // token bundles
    std::uint32_t green_power_bps = 0;
};

struct InstrumentView {
    matching::InstrumentSpec spec;
    matching::TradingState state = matching::TradingState::Closed;
    Price reference_price = 0;
    std::string accelerator_model;  // the model it is listed for, or empty
};

struct OpenOrderView {
    OrderId order_id = 0;
    ClientOrderId client_order_id;
    InstrumentId instrument = 0;
    Side side = Side::None;
    Price price = 0;
    Quantity quantity = 0;
    Quantity leaves = 0;
    Quantity filled = 0;
    Timestamp ts_ns = 0;
};

struct FillView {
    std::uint64_t trade_id = 0;
    OrderId order_id = 0;
    ClientOrderId client_order_id;
    InstrumentId instrument = 0;
    Side side = Side::None;
    Price price = 0;
    Quantity quantity = 0;
    bool aggressor = false;
    Timestamp ts_ns = 0;
};

struct CapacityView {
    matching::InstrumentKind kind = matching::InstrumentKind::ComputeCapacity;
    std::string hub;
    Timestamp window_start_ns = 0;
    Timestamp window_end_ns = 0;
    Quantity registered = 0;
    Quantity offered = 0;
    Quantity sold = 0;
};

struct BalanceView {
    AccountId account = 0;
    Role role = Role::None;
    Price balance_fen = 0;
    Price reserved_fen = 0;
    Price available_fen = 0;
    Price unsettled_fen = 0;
    Price collateral_fen = 0;  // a provider's collateral (penalties are paid from it)
    // What the account's active vouchers could still pay, summed (each pays only for the
    // deals its program makes eligible, within its program's caps and budget).
    Price voucher_fen = 0;
    std::vector<CapacityView> capacity;
};

struct Payload {
    // Inputs.
    matching::InstrumentSpec instrument;  // AddInstrument
    // AddInstrument: the accelerator model (of the accelerator table) a compute
    // instrument is listed for, or empty (P·h of any model). Voucher programs check it.
    std::string accelerator_model;
    AccountSpec account;                   // CreateAccount
    KeyHash new_key_hash{};                // CreateApiKey (Request::account names the owner)
    Price amount_fen = 0;                  // CreditDeposit, CreditCollateral
    std::string deposit_id;                // CreditDeposit, CreditCollateral
    std::vector<AcceleratorModel> models;  // SetAcceleratorTable
    CapacityRegistration capacity;         // RegisterCapacity
    // Settlement. ListObligations reads `state_filter` (0 = every state not final) and
    // Request::account (0 = every account an operator or regulator may see; buyers and
    // providers see only their own).
    std::uint64_t obligation_id = 0;     // ConfirmDelivery, DisputeDelivery, ResolveDispute
    Quantity delivered_quantity = 0;     // ConfirmDelivery: 0 < delivered <= quantity
    bool uphold = false;                 // ResolveDispute: true fails the obligation
    std::string note;                    // DisputeDelivery, ResolveDispute: 0-256 bytes
    std::uint32_t settlement_limit = 0;  // RunSettlement: obligations at most (0 = no limit)
    std::uint8_t state_filter = 0;       // ListObligations: an ObligationState or 0
    // Vouchers. ListVoucherPrograms, ListVouchers and VoucherReport read program_id
    // (0: every program the caller may see); ListVouchers also Request::account (0:
    // every beneficiary the caller may see); VoucherReport reads voucher_group.
    VoucherProgramSpec program;       // CreateVoucherProgram
    std::uint32_t program_id = 0;     // FundVoucherProgram, GrantVoucher, queries
    Price voucher_face_fen = 0;       // GrantVoucher
    Timestamp voucher_expiry_ns = 0;  // GrantVoucher
    // GrantVoucher's grant reference, FundVoucherProgram's funding reference: 1-64
    // printable bytes; a request with a reference seen before (in its program) answers
    // like the first time, and one with different content is refused.
    std::string voucher_ref;
    std::uint64_t voucher_id = 0;                            // RevokeVoucher
    VoucherGroup voucher_group = VoucherGroup::Beneficiary;  // VoucherReport
    // Outputs.
    std::vector<InstrumentView> instruments;  // ListInstruments; AddInstrument and
                                              // SetTradingState give the one instrument
    std::vector<OpenOrderView> orders;
    std::vector<FillView> fills;
    BalanceView balance;
    std::uint32_t table_version = 0;  // SetAcceleratorTable, RegisterCapacity
    Quantity registered_units = 0;    // RegisterCapacity
    Quantity total_units = 0;
    // CreditDeposit with a deposit id seen before; CreateVoucherProgram, FundVoucherProgram
    // and GrantVoucher repeated.
    bool duplicate = false;
    std::vector<Obligation> obligations;  // ListObligations; the one obligation of
                                          // ConfirmDelivery, DisputeDelivery, ResolveDispute
    SettlementRunResult settlement;       // RunSettlement; ResolveDispute's own amounts
    // ListVoucherPrograms; the one program of CreateVoucherProgram and FundVoucherProgram.
    std::vector<VoucherProgramView> programs;
    // ListVouchers; the one voucher of GrantVoucher (duplicate says whether the grant
    // was seen before) and RevokeVoucher.
    std::vector<VoucherView> vouchers;
    std::vector<VoucherReportRow> voucher_report;  // VoucherReport
};

}  // namespace cpx::exchange
