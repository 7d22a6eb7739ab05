#pragma once
// Settlement: what a trade obliges each side to do, and how the money moves when it is
// done (src/settlement.cpp).
//
// Every trade creates one delivery obligation (its id is the trade id): the provider
// owes `quantity` units of the instrument, delivered within the instrument's window; the
// buyer's money for it is already in escrow. Then:
//
//   Open      --ConfirmDelivery (provider, delivered quantity)--> Delivered
//   Open, Delivered --DisputeDelivery (buyer, before due_ns)-->   Disputed
//   Disputed  --ResolveDispute (operator, rejected)-->            Settled now
//   Disputed  --ResolveDispute (operator, upheld)-->              Failed now
//   Delivered --RunSettlement at or after due_ns-->               Settled
//   Open      --RunSettlement at or after due_ns-->               Failed
//
// due_ns, the end of the dispute period, is max(window_end_ns, delivered_ns) +
// dispute_period_ns: the buyer always has a whole dispute period after the provider's
// confirmation, and a provider that never confirms fails a dispute period after its
// window ends.
//
// Settled: the delivered part, price x delivered quantity, moves from the buyer's escrow
// to the provider's available money less the fee (fee_bps of it, rounded down) to the
// exchange's fees account. An undelivered part is handled as a failure of that part.
// Failed (all or part): the undelivered value goes back from escrow to the buyer, and a
// penalty of penalty_bps of it (rounded down, and no more than the provider's collateral
// holds) moves from the provider's collateral to the buyer, like a power market's
// imbalance charge.
//
// The money of the obligations one request closes is netted: per (buyer, provider) pair,
// one ledger transfer each for paid, fee, refund and penalty, whose user_data is the
// number of obligations netted into it and whose seq is the request's; each
// obligation's own amounts are in its Settled or Failed event, and they sum to the
// pair's transfers (the audit checks it).
//
// Every step is a request in the journal, so settlement is as deterministic and as
// durable as trading; a settlement run only settles what is due and not yet settled, so
// running it twice settles nothing twice.

#include <cstdint>
#include <type_traits>

#include "cpx/matching/types.hpp"

namespace cpx::exchange {

enum class ObligationState : std::uint8_t {
    Open = 1,       // awaiting the provider's confirmation
    Delivered = 2,  // confirmed; settles at due_ns unless disputed
    Disputed = 3,   // awaits an operator
    Settled = 4,    // final: the provider was paid for what it delivered
    Failed = 5,     // final: nothing was delivered or the dispute was upheld
};

// "open", "delivered", "disputed", "settled", "failed"; "unknown" for other values.
const char* obligation_state_name(ObligationState state);

struct SettlementRules {
    std::uint32_t fee_bps = 50;         // 0.5% of what the provider is paid
    std::uint32_t penalty_bps = 1'000;  // 10% of the undelivered value
    matching::Timestamp dispute_period_ns = 86'400'000'000'000;  // 24 hours
};

struct Obligation {
    std::uint64_t id = 0;  // the trade id
    matching::InstrumentId instrument = 0;
    ObligationState state = ObligationState::Open;
    std::uint8_t reserved[3] = {};
    matching::AccountId buyer = 0;
    matching::AccountId provider = 0;
    matching::OrderId buy_order = 0;
    matching::OrderId sell_order = 0;
    matching::Price price = 0;  // fen per unit
    matching::Quantity quantity = 0;
    matching::Quantity delivered_quantity = 0;  // from the confirmation (or metering report)
    matching::Price amount_fen = 0;             // price x quantity, in the buyer's escrow
    matching::Timestamp traded_ns = 0;
    matching::Timestamp window_end_ns = 0;
    matching::Timestamp delivered_ns = 0;  // 0 until confirmed
    matching::Timestamp due_ns = 0;        // the end of the dispute period (see above)
    std::uint64_t created_seq = 0;         // the journal seq of the trade
    // The voucher that paid part of the buyer's price at the fill (its cover was held by
    // the buy order: see "Buying power" in vouchers.hpp), what it paid into escrow, and
    // the cap period it counts in; 0 when none did.
    std::uint64_t voucher = 0;
    matching::Price voucher_fen = 0;
    std::int64_t voucher_period = 0;
};
// Compared and hashed byte for byte by tests; kept in a table of fixed-size slots.
static_assert(std::is_trivially_copyable_v<Obligation>);
static_assert(std::has_unique_object_representations_v<Obligation>, "Obligation has padding");
static_assert(sizeof(Obligation) == 136);

// What one settlement or failure moved, in fen.
struct SettlementAmounts {
    matching::Price paid_fen = 0;  // escrow to the provider, fee deducted
    matching::Price fee_fen = 0;   // escrow to the exchange's fees
    // escrow back to the buyer, of which a voucher's part paid at the fill goes back to
    // its budget (a Returned voucher event)
    matching::Price refunded_fen = 0;
    matching::Price penalty_fen = 0;  // provider collateral to the buyer
};

enum class ObligationEventKind : std::uint8_t {
    Created = 1,
    Delivered = 2,
    Disputed = 3,
    DisputeRejected = 4,  // followed by Settled in the same request
    DisputeUpheld = 5,    // followed by Failed in the same request
    Settled = 6,
    Failed = 7,
};

// "created", "delivered", ...; "unknown" for other values.
const char* obligation_event_name(ObligationEventKind kind);

struct ObligationEvent {
    ObligationEventKind kind = ObligationEventKind::Created;
    Obligation obligation;  // as it is after the event
    SettlementAmounts amounts;
    std::uint64_t seq = 0;  // the journal seq of the request behind it
    matching::Timestamp ts_ns = 0;
};

// Receives every obligation event, in order, while the exchange applies a request (the
// ledger projector writes them to PostgreSQL). It must not call back into the exchange.
class ObligationSink {
  public:
    virtual ~ObligationSink() = default;
    virtual void on_obligation(const ObligationEvent& event) = 0;
};

// The answer to RunSettlement.
struct SettlementRunResult {
    std::uint64_t settled = 0;
    std::uint64_t failed = 0;
    SettlementAmounts amounts;  // summed over the run
    bool more_due = false;      // the run stopped at its limit; run again
};

}  // namespace cpx::exchange
