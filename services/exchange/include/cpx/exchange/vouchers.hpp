#pragma once
// Compute vouchers (算力券): programs funded by an issuer, vouchers granted to
// beneficiaries, and their redemption inside settlement (src/vouchers.cpp).
//
// A program belongs to an issuer account (a city's big-data bureau). Its budget is
// money: CreateVoucherProgram and FundVoucherProgram move it by ledger transfer from the
// issuer's available money into the program's own budget account, which can never go
// below zero. A voucher is an entitlement, not money: GrantVoucher gives a beneficiary a
// face value and an expiry, and a program may grant more face value than its budget
// holds (as real schemes do); what limits payment is the budget at the moment of
// redemption. RevokeVoucher takes back a voucher's unused balance; a voucher past its
// expiry pays nothing more.
//
// Redemption happens when an obligation settles (never when it fails), for each side of
// the deal in turn, the buyer first. For a side whose account holds vouchers, each of
// its vouchers is checked against the deal, earliest expiry first, in the order of the
// stages that status.hpp lists (OutsideProgramPeriod ... BudgetExhausted, with a revoked
// voucher refused as VoucherNotActive just before VoucherExpired); the first voucher that passes
// every stage pays, and only that one (one voucher per deal and side, as Beijing requires). It pays
// the smallest of:
//   * the program's share_bps of the settled value (price x delivered quantity),
//     rounded down;
//   * the voucher's balance (face - redeemed - revoked);
//   * what the beneficiary's cap leaves in the cap period of the deal;
//   * what the program's pool cap leaves;
//   * what the program's budget account holds.
// The payment is one ledger transfer (code `voucher`, user_data = the trade id) from the
// budget account to the beneficiary's available money: the provider has already been
// paid the full price from the buyer's escrow, so a buyer's voucher gives the buyer back
// the program's share of what it paid, and a provider's voucher (Langfang pays both
// sides) adds the share to the provider's income. Each redemption is a VoucherEvent that
// names the voucher, the trade and the transfer.
//
// When no voucher passes, and the account held at least one, the side's refusal is one
// VoucherEvent naming the voucher that came furthest through the stages and the stage it
// failed; the deal settles without a voucher. Nothing can pay twice for one deal and
// side: an obligation settles once.
//
// Modes. Rebate (Langfang): the buyer pays in full, and the voucher pays only when the
// provider delivered the whole quantity and the obligation settled. Discount: the voucher
// also pays for a partly delivered obligation, on what was delivered.
//
// Buying power. A buy order whose price the buyer's free money does not cover may draw on
// one of the buyer's discount vouchers whose decision cannot depend on the counterparty
// (no supplier list; affiliates allowed, or a buyer without an owner group) and which is
// eligible for the instrument at the order's time. The voucher's cover, the program's
// share of the order's value cut by the voucher's free balance, the cap, the pool and
// the budget (each less what other orders hold of it), is held from the program's budget
// as a pending ledger transfer to the buyer's escrow, and the order holds only the rest
// in cash (plus one fen per open unit but one, for the rounding of later fills' shares).
// Each fill of the order then pays the voucher's part, the share of the fill's value cut
// by what the cover has left, from the budget into the buyer's escrow (a RedeemedAtFill
// event); the buyer's side of that deal is decided, and settlement does not claim it
// again. When the deal settles partly delivered or fails, the voucher's part of what was
// not delivered goes back to the budget (a Returned event) and the voucher's balance, cap
// and pool with it. Eligibility is decided when the order holds the cover: a fill pays
// even after the voucher expired or was revoked, from the cover held before.
//
// Every step is a journalled request, so vouchers are as deterministic, durable and
// replayable as trading, and the snapshot carries them.

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "cpx/matching/types.hpp"

namespace cpx::exchange {

enum class VoucherMode : std::uint8_t {
    Discount = 1,  // pays on the delivered part of any settled obligation
    Rebate = 2,    // pays only on a wholly delivered, settled obligation
};

// Which side of a deal a program's vouchers pay.
enum class VoucherSide : std::uint8_t {
    Buyer = 1,
    Provider = 2,
};

// VoucherProgramSpec::kinds: a bit per matching::InstrumentKind.
namespace voucher_kinds {
inline constexpr std::uint8_t compute = 1;  // InstrumentKind::ComputeCapacity
inline constexpr std::uint8_t tokens = 2;   // InstrumentKind::TokenBundle
inline constexpr std::uint8_t all = 3;
}  // namespace voucher_kinds

// Bounds of a program's lists, a beneficiary's vouchers and the text fields.
inline constexpr std::size_t kVoucherNameBytesMax = 64;
inline constexpr std::size_t kVoucherListMax = 64;           // hubs, accelerator models
inline constexpr std::size_t kApprovedProvidersMax = 1'024;  // a program's supplier list
inline constexpr std::size_t kVouchersPerAccountMax = 64;    // granted to one account, ever
inline constexpr std::size_t kVoucherRefBytesMax = 64;

struct VoucherProgramSpec {
    std::uint32_t id = 0;            // assigned by the exchange, from 1
    matching::AccountId issuer = 0;  // an Issuer account
    std::string name;                // 1-64 printable bytes
    // Moved from the issuer's available money into the program's budget account at
    // creation; 0 creates an unfunded program (FundVoucherProgram adds money later).
    matching::Price budget_fen = 0;
    std::uint32_t share_bps = 0;  // of the settled value, 1..10000
    VoucherMode mode = VoucherMode::Discount;
    VoucherSide side = VoucherSide::Buyer;
    // Most the program pays one beneficiary in one cap period (0: no cap). Cap periods
    // are cap_period_ns long, counted from valid_from_ns by the deal's trade time
    // (0: one period, the whole program).
    matching::Price cap_per_beneficiary_fen = 0;
    matching::Timestamp cap_period_ns = 0;
    // Most the program pays in all (0: only the budget limits it).
    matching::Price pool_cap_fen = 0;
    // Eligible instruments: by kind (voucher_kinds bits), hub (empty: any), accelerator
    // model the instrument is listed for (empty: any), and domestic chips only (the
    // accelerator table's `domestic` of the instrument's model; an instrument listed
    // without a model is not domestic).
    std::uint8_t kinds = voucher_kinds::all;
    std::vector<std::string> hubs;
    std::vector<std::string> accelerator_models;
    bool domestic_only = false;
    // Suppliers whose sales are eligible (empty: any provider).
    std::vector<matching::AccountId> approved_providers;
    // May the buyer and the provider share a beneficial owner group (AccountSpec
    // owner_group, when not empty)?
    bool allow_affiliated = false;
    // May the other side of a deal also be paid by a voucher for it? When either side's
    // program says no, the second claim (the provider's) is refused.
    bool allow_both_sides = true;
    // Deals traded in [valid_from_ns, valid_until_ns) are eligible.
    matching::Timestamp valid_from_ns = 0;
    matching::Timestamp valid_until_ns = 0;
};

// A program with what has happened to it so far.
struct VoucherProgramView {
    VoucherProgramSpec spec;
    matching::Price funded_fen = 0;    // moved into the budget, in all
    matching::Price budget_fen = 0;    // what the budget can still pay: neither paid nor held
    matching::Price held_fen = 0;      // held by resting buy orders as their cover
    matching::Price granted_fen = 0;   // face value of every voucher granted
    matching::Price revoked_fen = 0;   // balances taken back by RevokeVoucher
    matching::Price redeemed_fen = 0;  // paid to beneficiaries
    std::uint64_t vouchers = 0;
    std::uint64_t redemptions = 0;
    matching::Timestamp created_ns = 0;
};

struct Voucher {
    std::uint64_t id = 0;  // assigned by the exchange, from 1
    std::uint32_t program = 0;
    matching::AccountId beneficiary = 0;
    matching::Price face_fen = 0;
    matching::Price redeemed_fen = 0;
    matching::Price revoked_fen = 0;  // the balance RevokeVoucher took back
    matching::Timestamp granted_ns = 0;
    matching::Timestamp expiry_ns = 0;   // pays nothing at or after this time
    matching::Timestamp revoked_ns = 0;  // 0 unless revoked
    std::uint64_t granted_seq = 0;       // the journal seq of the grant
    // Held by resting buy orders as their cover (see "Buying power" above): part of the
    // balance that nothing else may pay or revoke.
    matching::Price held_fen = 0;

    matching::Price balance_fen() const { return face_fen - redeemed_fen - revoked_fen; }
    matching::Price free_fen() const { return balance_fen() - held_fen; }
};
static_assert(std::is_trivially_copyable_v<Voucher>);
static_assert(std::has_unique_object_representations_v<Voucher>, "Voucher has padding");

enum class VoucherState : std::uint8_t { Active = 1, UsedUp = 2, Expired = 3, Revoked = 4 };

// "active", "used_up", "expired", "revoked"; "unknown" for other values.
const char* voucher_state_name(VoucherState state);
// A voucher's state at now_ns: revoked, else expired, else used up, else active.
VoucherState voucher_state(const Voucher& v, matching::Timestamp now_ns);

// A voucher as ListVouchers gives it.
struct VoucherView {
    Voucher voucher;
    VoucherState state = VoucherState::Active;
    std::string ref;  // the operator's grant reference
};

enum class VoucherEventKind : std::uint8_t {
    ProgramCreated = 1,     // amount_fen: the initial budget
    ProgramFunded = 2,      // amount_fen: added to the budget
    Granted = 3,            // amount_fen: face value
    Revoked = 4,            // amount_fen: the balance taken back
    Redeemed = 5,           // amount_fen: paid; transfer_id names the payment
    RedemptionRefused = 6,  // reason: the stage the best voucher failed
    // amount_fen: paid at a fill of a buy order that held the voucher's cover, from the
    // budget into the buyer's escrow; share_fen: the share of the fill's value; reason:
    // the limit that cut the order's cover, when it cut this payment.
    RedeemedAtFill = 7,
    // amount_fen: the part of a RedeemedAtFill payment that went back to the budget when
    // the deal settled partly delivered or failed.
    Returned = 8,
};

// "program_created", ...; "unknown" for other values.
const char* voucher_event_name(VoucherEventKind kind);

struct VoucherEvent {
    VoucherEventKind kind = VoucherEventKind::Granted;
    std::uint32_t program = 0;
    std::uint64_t voucher = 0;              // 0 for program events
    std::uint64_t trade_id = 0;             // redemption events: the obligation's (trade) id
    VoucherSide side = VoucherSide::Buyer;  // redemption events: whose claim
    matching::AccountId beneficiary = 0;
    matching::AccountId provider = 0;  // redemption events: the deal's provider
    matching::Price amount_fen = 0;
    // Redeemed: what the share of the settled value came to before the limits, and the
    // limit that cut it (Code::None when the whole share was paid).
    matching::Price share_fen = 0;
    std::uint16_t reason = 0;  // a cpx::exchange::Code
    std::uint64_t transfer_id = 0;
    std::int64_t cap_period = 0;  // redemption events: the deal's cap period
    std::uint64_t seq = 0;        // the journal seq of the request behind it
    matching::Timestamp ts_ns = 0;
    // RedeemedAtFill: the request (journal seq) and time at which the buy order took the
    // voucher's cover, when its eligibility was judged; 0 for other kinds.
    std::uint64_t cover_seq = 0;
    matching::Timestamp cover_ns = 0;
};

// Receives every voucher event, in order, while the exchange applies a request (the
// ledger projector writes them to PostgreSQL). It must not call back into the exchange.
class VoucherSink {
  public:
    virtual ~VoucherSink() = default;
    virtual void on_voucher(const VoucherEvent& event) = 0;
};

// VoucherReport groups a program's redemptions by one of these.
enum class VoucherGroup : std::uint8_t {
    Beneficiary = 1,
    Provider = 2,
    Period = 3,  // the cap period of the deal (whole program: period 0)
};

struct VoucherReportRow {
    std::uint32_t program = 0;
    std::uint64_t key = 0;                    // the account id, or the period index
    matching::Timestamp period_start_ns = 0;  // Period rows: the period's first instant
    matching::Price redeemed_fen = 0;
    std::uint64_t redemptions = 0;
};

}  // namespace cpx::exchange
