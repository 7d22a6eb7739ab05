#pragma once
// Market surveillance: rules that watch the exchange's output for abuse and raise alerts
// for regulators. It sees exactly what the exchange did, request by request, as an
// observer of a replica (the ledger projector's; see services/projector), so that its
// alerts depend only on the journal: the same journal raises the same alerts, in the
// same order, on every run.
//
// The rules (Rule):
//   * WashTrade: a trade whose buyer and provider are different accounts of the same
//     beneficial owner (AccountSpec::owner_group, when set). Evidence: the trade and its
//     two orders.
//   * Spoofing: a large order (quantity at least spoof_quantity_min) is cancelled by its
//     account within spoof_cancel_within_ns of its acceptance, while its beneficial
//     owner traded on the other side of the same instrument during the order's life, at
//     most spoof_trade_within_ns before the cancel. A buyer account only buys and a
//     provider only sells, so the other side is traded by another account of the same
//     owner group (an account without a group is its own owner). Evidence: the
//     cancelled order and those trades. Several such orders (layering) each raise one.
//   * PriceBandProbing: an account has band_rejects_min orders rejected for a price
//     outside the instrument's band within band_window_ns. Evidence: the rejected orders'
//     client order ids. The count starts again after an alert.
//   * VoucherAffiliatedDeal: a voucher's beneficiary claimed it for a deal with an
//     affiliated counterparty, which the program forbids (the exchange refused the
//     redemption with AffiliatedParties). Evidence: the trade, the voucher.
//   * VoucherClaimedTwice: a deal's delivery was claimed by both sides where the program
//     pays one (refused with BothSidesClaimed). Evidence: the trade, the voucher.
//
// Bounds: at most orders_tracked_max large orders and trades_per_account_max recent
// trades per account are remembered; beyond them the oldest are forgotten (counted in
// forgotten()). The windows are short, so a replica restarted from a snapshot misses at
// most the alerts whose evidence began before the snapshot.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/outbound.hpp"
#include "cpx/exchange/settlement.hpp"
#include "cpx/exchange/vouchers.hpp"

namespace cpx::surveillance {

enum class Rule : std::uint8_t {
    WashTrade = 1,
    Spoofing = 2,
    PriceBandProbing = 3,
    VoucherAffiliatedDeal = 4,
    VoucherClaimedTwice = 5,
};

// "wash_trade", "spoofing", ...; "unknown" for other values.
const char* rule_name(Rule rule);

struct SurveillanceConfig {
    exchange::Quantity spoof_quantity_min = 500;
    exchange::Timestamp spoof_cancel_within_ns = 5'000'000'000;
    exchange::Timestamp spoof_trade_within_ns = 5'000'000'000;
    std::uint32_t band_rejects_min = 3;
    exchange::Timestamp band_window_ns = 60'000'000'000;
    std::size_t orders_tracked_max = 1 << 16;
    std::size_t trades_per_account_max = 64;
};

struct Alert {
    Rule rule = Rule::WashTrade;
    std::uint64_t seq = 0;  // the journal seq of the request that completed the evidence
    std::uint32_t idx = 0;  // its place among that request's alerts
    exchange::Timestamp ts_ns = 0;
    exchange::AccountId account = 0;  // whom the alert is about
    exchange::InstrumentId instrument = 0;
    std::vector<std::uint64_t> orders;  // exchange order ids
    std::vector<std::uint64_t> trades;  // trade (obligation) ids
    std::string detail;                 // one line for a person: what was seen
};

class AlertSink {
  public:
    virtual ~AlertSink() = default;
    virtual void on_alert(const Alert& alert) = 0;
};

class Surveillance final : public exchange::OutboundSink,
                           public exchange::ObligationSink,
                           public exchange::VoucherSink {
  public:
    Surveillance(SurveillanceConfig config, AlertSink& sink);

    // Around each request the replica applies: begin with its journal seq and time,
    // then the replica delivers its output and events here, then end with the replica
    // (read for the accounts' owner groups, which observers may not ask for while the
    // request is applied). Alerts reach the sink from end_request, in a fixed order.
    void begin_request(std::uint64_t seq, exchange::Timestamp ts_ns);
    void end_request(const exchange::Exchange& replica);

    void deliver(const exchange::Outbound& out) override;
    void on_obligation(const exchange::ObligationEvent& event) override;
    void on_voucher(const exchange::VoucherEvent& event) override;

    std::uint64_t alerts() const { return alerts_; }
    std::uint64_t forgotten() const { return forgotten_; }

  private:
    struct LargeOrder {
        exchange::AccountId account = 0;
        exchange::InstrumentId instrument = 0;
        exchange::Side side = exchange::Side::None;
        exchange::Quantity quantity = 0;
        exchange::Timestamp placed_ns = 0;
    };
    struct RecentTrade {
        std::uint64_t trade_id = 0;
        exchange::InstrumentId instrument = 0;
        exchange::Side side = exchange::Side::None;  // the account's side
        exchange::Timestamp ts_ns = 0;
    };
    struct SpoofCandidate {
        exchange::OrderId order_id = 0;
        LargeOrder order;
        exchange::Timestamp cancelled_ns = 0;
    };
    struct BandRejects {
        std::deque<exchange::Timestamp> ts_ns;
        std::vector<std::string> client_order_ids;
    };

    void on_report(const exchange::Outbound& out);
    void remember_trade(const std::string& owner, const RecentTrade& trade);
    void judge_spoof(const SpoofCandidate& candidate, const std::string& owner);
    void raise(Alert alert);

    SurveillanceConfig config_;
    AlertSink& sink_;
    std::uint64_t seq_ = 0;
    exchange::Timestamp ts_ns_ = 0;
    std::uint32_t idx_ = 0;
    std::uint64_t alerts_ = 0;
    std::uint64_t forgotten_ = 0;
    std::unordered_map<exchange::OrderId, LargeOrder> large_orders_;
    std::deque<exchange::OrderId> large_order_ages_;  // oldest first, for the bound
    // By beneficial owner: the owner group, or "#" and the account id without one.
    std::unordered_map<std::string, std::deque<RecentTrade>> trades_;
    std::unordered_map<exchange::AccountId, BandRejects> band_rejects_;
    // Collected while a request is applied, judged at its end.
    std::vector<exchange::Obligation> new_trades_;
    std::vector<SpoofCandidate> spoof_candidates_;
    std::vector<Alert> pending_;
};

}  // namespace cpx::surveillance
