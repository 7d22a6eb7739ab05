// Queries: what an account may read. Everyone may list instruments; an account reads
// its own orders, fills and balances; operators and regulators read any account's.

#include <algorithm>
#include <cassert>

#include "cpx/exchange/exchange.hpp"

namespace cpx::exchange {

namespace {
// The most fills one query returns: the newest ones.
constexpr std::size_t kFillsMax = 10'000;
}  // namespace

void Exchange::on_query(const Request& r) {
    AccountState* caller = authenticate(r.key_hash);
    if (caller == nullptr) {
        reply(r.token, Code::Unauthenticated);
        return;
    }
    assert(r.payload != nullptr);
    Payload& out = *r.payload;
    if (r.type == RequestType::ListInstruments) {
        for (const InstrumentId id : engine_.instruments()) {
            out.instruments.push_back(instrument_view(id));
        }
        reply(r.token, Code::None);
        return;
    }
    if (r.type == RequestType::ListVoucherPrograms || r.type == RequestType::ListVouchers ||
        r.type == RequestType::VoucherReport) {
        on_voucher_query(r, *caller);
        return;
    }
    const AccountId target_id = r.account == 0 ? caller->spec.id : r.account;
    const bool reads_all =
        caller->spec.role == Role::Operator || caller->spec.role == Role::Regulator;
    if (target_id != caller->spec.id && !reads_all) {
        reply(r.token, Code::NotOwnAccount);
        return;
    }
    const AccountState* target = find_account(target_id);
    if (target == nullptr) {
        reply(r.token, Code::UnknownAccount);
        return;
    }
    switch (r.type) {
        case RequestType::OpenOrders:
            for (std::uint32_t slot = target->live_head; slot != AccountState::kNoRecord;
                 slot = records_[slot].next) {
                const OrderRecord& o = records_[slot];
                if (r.instrument != 0 && o.instrument != r.instrument) {
                    continue;
                }
                out.orders.push_back(OpenOrderView{o.id, o.client_order_id, o.instrument, o.side,
                                                   o.price, o.quantity, o.leaves, o.filled,
                                                   o.ts_ns});
            }
            // The list is kept newest first; a reader expects the order of placement.
            std::sort(out.orders.begin(), out.orders.end(),
                      [](const OpenOrderView& a, const OpenOrderView& b) {
                          return a.order_id < b.order_id;
                      });
            break;
        case RequestType::Fills: {
            const ReportLog& log = *target->reports;
            for (std::size_t i = log.size(); i-- > 0 && out.fills.size() < kFillsMax;) {
                const Outbound& f = log.at(i);
                if (f.kind != OutKind::Fill ||
                    (r.instrument != 0 && f.instrument != r.instrument)) {
                    continue;
                }
                out.fills.push_back(FillView{f.trade_id, f.order_id, f.client_order_id,
                                             f.instrument, f.side, f.price, f.quantity, f.aggressor,
                                             f.ts_ns});
            }
            std::reverse(out.fills.begin(), out.fills.end());
            break;
        }
        case RequestType::Balances: {
            BalanceView& b = out.balance;
            b.account = target_id;
            b.role = target->spec.role;
            fill_balance(*target, b);
            for (const CapacityPosition& p : target->capacity) {
                const CapacityKey& k = capacity_keys_[p.key - 1];
                b.capacity.push_back(CapacityView{k.kind, k.hub, k.start_ns, k.end_ns, p.registered,
                                                  p.offered, p.sold});
            }
            break;
        }
        default:
            assert(false);
    }
    reply(r.token, Code::None);
}

InstrumentView Exchange::instrument_view(InstrumentId id) const {
    InstrumentView view;
    view.spec = *engine_.spec(id);
    view.state = *engine_.state(id);
    view.reference_price = *engine_.reference_price(id);
    const auto model = instrument_models_.find(id);
    if (model != instrument_models_.end()) {
        view.accelerator_model = model->second;
    }
    return view;
}

}  // namespace cpx::exchange
