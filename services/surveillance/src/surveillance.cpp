#include "cpx/surveillance/surveillance.hpp"

#include <algorithm>
#include <utility>

namespace cpx::surveillance {

using exchange::Code;
using exchange::ExecType;
using exchange::OutKind;
using exchange::Side;

namespace {

constexpr Code kPriceOutsideBand = exchange::from_engine(matching::Reason::PriceOutsideBand);
constexpr Code kCancelledByUser = exchange::from_engine(matching::Reason::CancelledByUser);
constexpr Code kCancelledMassCancel = exchange::from_engine(matching::Reason::CancelledMassCancel);

const char* side_name(Side side) {
    return side == Side::Buy ? "buy" : "sell";
}

}  // namespace

const char* rule_name(Rule rule) {
    switch (rule) {
        case Rule::WashTrade:
            return "wash_trade";
        case Rule::Spoofing:
            return "spoofing";
        case Rule::PriceBandProbing:
            return "price_band_probing";
        case Rule::VoucherAffiliatedDeal:
            return "voucher_affiliated_deal";
        case Rule::VoucherClaimedTwice:
            return "voucher_claimed_twice";
    }
    return "unknown";
}

Surveillance::Surveillance(SurveillanceConfig config, AlertSink& sink)
    : config_(config), sink_(sink) {}

void Surveillance::begin_request(std::uint64_t seq, exchange::Timestamp ts_ns) {
    seq_ = seq;
    ts_ns_ = ts_ns;
    idx_ = 0;
    new_trades_.clear();
    spoof_candidates_.clear();
    pending_.clear();
}

void Surveillance::deliver(const exchange::Outbound& out) {
    // A duplicate answer or a replay to a reconnecting session repeats what happened.
    if (out.kind != OutKind::Report || out.duplicate || out.targeted) {
        return;
    }
    on_report(out);
}

void Surveillance::on_report(const exchange::Outbound& out) {
    switch (out.exec) {
        case ExecType::New:
            if (out.quantity >= config_.spoof_quantity_min && out.order_id != 0) {
                if (large_orders_.size() >= config_.orders_tracked_max) {
                    // The oldest still tracked goes (entries of orders already gone are
                    // skipped on the way).
                    while (!large_order_ages_.empty()) {
                        const exchange::OrderId oldest = large_order_ages_.front();
                        large_order_ages_.pop_front();
                        if (large_orders_.erase(oldest) == 1) {
                            ++forgotten_;
                            break;
                        }
                    }
                }
                if (large_order_ages_.size() >= 2 * config_.orders_tracked_max) {
                    std::erase_if(large_order_ages_, [&](exchange::OrderId id) {
                        return !large_orders_.contains(id);
                    });
                }
                large_orders_[out.order_id] =
                    LargeOrder{out.account, out.instrument, out.side, out.quantity, out.ts_ns};
                large_order_ages_.push_back(out.order_id);
            }
            break;
        case ExecType::Cancelled: {
            const auto it = large_orders_.find(out.order_id);
            if (it == large_orders_.end()) {
                break;
            }
            const LargeOrder order = it->second;
            large_orders_.erase(it);
            const bool by_account =
                out.code == kCancelledByUser || out.code == kCancelledMassCancel;
            if (by_account && out.ts_ns - order.placed_ns <= config_.spoof_cancel_within_ns) {
                // Judged at the end of the request, when owners can be looked up.
                spoof_candidates_.push_back(SpoofCandidate{out.order_id, order, out.ts_ns});
            }
            break;
        }
        case ExecType::Trade:
            if (out.leaves == 0) {
                large_orders_.erase(out.order_id);
            }
            break;
        case ExecType::Expired:
            large_orders_.erase(out.order_id);
            break;
        case ExecType::Rejected: {
            if (out.code != kPriceOutsideBand) {
                break;
            }
            BandRejects& rejects = band_rejects_[out.account];
            while (!rejects.ts_ns.empty() &&
                   out.ts_ns - rejects.ts_ns.front() > config_.band_window_ns) {
                rejects.ts_ns.pop_front();
                rejects.client_order_ids.erase(rejects.client_order_ids.begin());
            }
            rejects.ts_ns.push_back(out.ts_ns);
            rejects.client_order_ids.emplace_back(out.client_order_id.view());
            if (rejects.ts_ns.size() < config_.band_rejects_min) {
                break;
            }
            Alert alert;
            alert.rule = Rule::PriceBandProbing;
            alert.account = out.account;
            alert.instrument = out.instrument;
            alert.detail = std::to_string(rejects.ts_ns.size()) +
                           " orders rejected outside the price band within " +
                           std::to_string((out.ts_ns - rejects.ts_ns.front()) / 1'000'000) +
                           " ms; client order ids:";
            for (const std::string& id : rejects.client_order_ids) {
                alert.detail += " " + id;
            }
            pending_.push_back(std::move(alert));
            rejects.ts_ns.clear();
            rejects.client_order_ids.clear();
            break;
        }
        default:
            break;
    }
}

void Surveillance::remember_trade(const std::string& owner, const RecentTrade& trade) {
    std::deque<RecentTrade>& trades = trades_[owner];
    const exchange::Timestamp keep_ns =
        config_.spoof_trade_within_ns + config_.spoof_cancel_within_ns;
    while (!trades.empty() && (trades.size() >= config_.trades_per_account_max ||
                               trade.ts_ns - trades.front().ts_ns > keep_ns)) {
        trades.pop_front();
    }
    trades.push_back(trade);
}

void Surveillance::on_obligation(const exchange::ObligationEvent& event) {
    if (event.kind == exchange::ObligationEventKind::Created) {
        new_trades_.push_back(event.obligation);
    }
}

void Surveillance::judge_spoof(const SpoofCandidate& c, const std::string& owner) {
    const auto trades = trades_.find(owner);
    if (trades == trades_.end()) {
        return;
    }
    Alert alert;
    for (const RecentTrade& t : trades->second) {
        if (t.instrument == c.order.instrument && t.side == matching::opposite(c.order.side) &&
            t.ts_ns >= c.order.placed_ns &&
            c.cancelled_ns - t.ts_ns <= config_.spoof_trade_within_ns) {
            alert.trades.push_back(t.trade_id);
        }
    }
    if (alert.trades.empty()) {
        return;
    }
    alert.rule = Rule::Spoofing;
    alert.account = c.order.account;
    alert.instrument = c.order.instrument;
    alert.orders.push_back(c.order_id);
    alert.detail = std::string("a ") + side_name(c.order.side) + " order of " +
                   std::to_string(c.order.quantity) + " lots was cancelled " +
                   std::to_string((c.cancelled_ns - c.order.placed_ns) / 1'000'000) +
                   " ms after it was placed, while its owner traded " +
                   std::to_string(alert.trades.size()) + " time(s) on the " +
                   side_name(matching::opposite(c.order.side)) + " side";
    pending_.push_back(std::move(alert));
}

void Surveillance::on_voucher(const exchange::VoucherEvent& event) {
    if (event.kind != exchange::VoucherEventKind::RedemptionRefused) {
        return;
    }
    const auto reason = static_cast<Code>(event.reason);
    if (reason != Code::AffiliatedParties && reason != Code::BothSidesClaimed) {
        return;
    }
    Alert alert;
    alert.rule =
        reason == Code::AffiliatedParties ? Rule::VoucherAffiliatedDeal : Rule::VoucherClaimedTwice;
    alert.account = event.beneficiary;
    alert.trades.push_back(event.trade_id);
    alert.detail = "voucher " + std::to_string(event.voucher) + " of program " +
                   std::to_string(event.program) + " was claimed for trade " +
                   std::to_string(event.trade_id) +
                   (reason == Code::AffiliatedParties
                        ? " with the affiliated provider " + std::to_string(event.provider)
                        : std::string(" whose other side was already paid by a voucher"));
    pending_.push_back(std::move(alert));
}

void Surveillance::end_request(const exchange::Exchange& replica) {
    const auto owner_of = [&](exchange::AccountId id) {
        const exchange::AccountState* account = replica.account(id);
        return account == nullptr || account->spec.owner_group.empty() ? "#" + std::to_string(id)
                                                                       : account->spec.owner_group;
    };
    for (const exchange::Obligation& o : new_trades_) {
        const std::string buyer = owner_of(o.buyer);
        const std::string provider = owner_of(o.provider);
        remember_trade(buyer, RecentTrade{o.id, o.instrument, Side::Buy, o.traded_ns});
        remember_trade(provider, RecentTrade{o.id, o.instrument, Side::Sell, o.traded_ns});
        if (buyer != provider) {
            continue;
        }
        Alert alert;
        alert.rule = Rule::WashTrade;
        alert.account = o.buyer;
        alert.instrument = o.instrument;
        alert.orders = {o.buy_order, o.sell_order};
        alert.trades = {o.id};
        alert.detail = "accounts " + std::to_string(o.buyer) + " and " +
                       std::to_string(o.provider) + " of owner group " + buyer + " traded " +
                       std::to_string(o.quantity) + " lots at " + std::to_string(o.price) +
                       " fen with each other";
        pending_.push_back(std::move(alert));
    }
    for (const SpoofCandidate& c : spoof_candidates_) {
        judge_spoof(c, owner_of(c.order.account));
    }
    for (Alert& alert : pending_) {
        raise(std::move(alert));
    }
    pending_.clear();
    new_trades_.clear();
    spoof_candidates_.clear();
}

void Surveillance::raise(Alert alert) {
    alert.seq = seq_;
    alert.ts_ns = ts_ns_;
    alert.idx = idx_++;
    ++alerts_;
    sink_.on_alert(alert);
}

}  // namespace cpx::surveillance
