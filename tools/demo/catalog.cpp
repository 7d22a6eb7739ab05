#include "catalog.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace cpx::demo {

using matching::AccountId;
using matching::FixedText;
using matching::InstrumentId;
using matching::InstrumentKind;
using matching::Price;
using matching::TradingState;

namespace {

// What every listing shares: its names, and that it starts closed and opens with a call
// auction. The callers fill in the rest.
Listing listed(InstrumentId id, std::string_view symbol, InstrumentKind kind, std::string_view hub,
               std::string_view unit) {
    Listing l;
    matching::InstrumentSpec& s = l.spec;
    s.id = id;
    s.symbol = FixedText<32>::from(symbol);
    s.kind = kind;
    s.hub = FixedText<16>::from(hub);
    s.unit = FixedText<16>::from(unit);
    s.initial_state = TradingState::Closed;
    return l;
}

// Compute capacity of one hub for one window of 2026-03-03, in P·h: one PFLOPS of dense
// FP16 for one hour, roughly one H100 for one hour. Quotes are in whole fen; orders in
// lots of 10 P·h.
Listing capacity(InstrumentId id, std::string_view symbol, std::string_view hub, Period period,
                 Price reference, Price quote_step) {
    Listing l = listed(id, symbol, InstrumentKind::ComputeCapacity, hub, "P·h");
    matching::InstrumentSpec& s = l.spec;
    const bool peak = period == Period::Peak;
    s.window_start_ns = china_time(2026, 3, 3, peak ? 8 : 0, 0);
    s.window_end_ns = china_time(2026, 3, 3, peak ? 22 : 8, 0);
    s.tick_size = 1;
    s.lot_size = 10;
    s.quantity_min = 10;
    s.quantity_max = 200'000;
    s.price_min = reference / 4;
    s.price_max = reference * 4;
    s.band_bps = 1'000;
    s.reference_price = reference;
    s.market_protection_ticks = peak ? 50 : 20;
    l.period = period;
    l.quote_step = quote_step;
    l.buy_lots_min = 5;
    l.buy_lots_max = 120;
    l.sell_lots_min = 10;
    l.sell_lots_max = 250;
    l.job_lots_min = 150;
    l.job_lots_max = 500;
    return l;
}

// Node-hours of one 8 x H100 SXM node in Hohhot for the whole of 2026-03-03, for buyers
// who need that accelerator and not just P·h. About 12 CNY per GPU-hour.
Listing h100_nodes(InstrumentId id) {
    Listing l = listed(id, "H100-HOHHOT-0303", InstrumentKind::ComputeCapacity, "HOHHOT", "node·h");
    matching::InstrumentSpec& s = l.spec;
    s.window_start_ns = china_time(2026, 3, 3, 0, 0);
    s.window_end_ns = china_time(2026, 3, 4, 0, 0);
    s.tick_size = 10;
    s.lot_size = 1;
    s.quantity_min = 1;
    s.quantity_max = 10'000;
    s.price_min = 2'000;
    s.price_max = 40'000;
    s.band_bps = 800;
    s.reference_price = 9'600;
    s.market_protection_ticks = 40;
    l.period = Period::Day;
    l.quote_step = 40;
    l.buy_lots_min = 8;
    l.buy_lots_max = 192;
    l.sell_lots_min = 32;
    l.sell_lots_max = 512;
    l.job_lots_min = 256;
    l.job_lots_max = 1'024;
    return l;
}

// One million tokens of a 70B-class chat model, served as API quota valid for 30 days
// from 2026-03-03, as in the Inner Mongolia Data Exchange's token trading zone.
Listing token_bundle(InstrumentId id) {
    Listing l = listed(id, "TOKEN-70B-1M", InstrumentKind::TokenBundle, "HOHHOT", "1M-tokens");
    matching::InstrumentSpec& s = l.spec;
    s.window_start_ns = china_time(2026, 3, 3, 0, 0);
    s.window_end_ns = china_time(2026, 4, 2, 0, 0);
    s.tick_size = 1;
    s.lot_size = 10;
    s.quantity_min = 10;
    s.quantity_max = 1'000'000;
    s.price_min = 50;
    s.price_max = 2'000;
    s.band_bps = 1'500;
    s.reference_price = 280;
    s.market_protection_ticks = 20;
    l.period = Period::Quota;
    l.quote_step = 1;
    l.buy_lots_min = 10;
    l.buy_lots_max = 500;
    l.sell_lots_min = 30;
    l.sell_lots_max = 1'000;
    l.job_lots_min = 500;
    l.job_lots_max = 3'000;
    return l;
}

Participant participant(AccountId account, std::string_view name, Role role, std::string_view about,
                        std::vector<InstrumentId> instruments) {
    return Participant{account, name, role, about, std::move(instruments)};
}

}  // namespace

Catalog make_catalog() {
    Catalog c;
    // Peak references are a little over three times the off-peak ones, the smallest
    // peak/valley ratio of China's time-of-use tariffs; the east (Wuhu) costs more.
    c.listings = {
        capacity(1, "HOHHOT-PK-0303", "HOHHOT", Period::Peak, 960, 3),
        capacity(2, "HOHHOT-OP-0303", "HOHHOT", Period::OffPeak, 300, 1),
        capacity(3, "GUIAN-PK-0303", "GUIAN", Period::Peak, 1'020, 3),
        capacity(4, "GUIAN-OP-0303", "GUIAN", Period::OffPeak, 320, 1),
        capacity(5, "QINGYANG-PK-0303", "QINGYANG", Period::Peak, 920, 3),
        capacity(6, "QINGYANG-OP-0303", "QINGYANG", Period::OffPeak, 290, 1),
        capacity(7, "ZHONGWEI-PK-0303", "ZHONGWEI", Period::Peak, 940, 3),
        capacity(8, "ZHONGWEI-OP-0303", "ZHONGWEI", Period::OffPeak, 295, 1),
        capacity(9, "WUHU-PK-0303", "WUHU", Period::Peak, 1'480, 5),
        capacity(10, "WUHU-OP-0303", "WUHU", Period::OffPeak, 460, 1),
        h100_nodes(11),
        token_bundle(12),
    };
    c.participants = {
        participant(101, "Hohhot Green DC", Role::Provider,
                    "Helinger cluster, over 80% green power", {1, 2, 11}),
        participant(102, "Helinger Park DC", Role::Provider, "Inner Mongolia hub", {1, 2, 11}),
        participant(103, "Gui'an Cloud", Role::Provider, "Guizhou hub; also serves models",
                    {3, 4, 12}),
        participant(104, "Guizhou Karst DC", Role::Provider, "Guizhou hub", {3, 4}),
        participant(105, "Qingyang Hub DC", Role::Provider, "Gansu hub", {5, 6}),
        participant(106, "Qingyang AI Center", Role::Provider, "Gansu hub", {5, 6}),
        participant(107, "Zhongwei West DC", Role::Provider, "Ningxia hub", {7, 8}),
        participant(108, "Ningxia Cloud Farm", Role::Provider, "Ningxia hub", {7, 8}),
        participant(109, "Wuhu YRD Compute", Role::Provider, "Yangtze River Delta hub", {9, 10}),
        participant(110, "Wuhu Bay DC", Role::Provider, "Yangtze River Delta hub", {9, 10}),
        participant(111, "Mengxin Models", Role::Provider,
                    "model-serving company in the token trading zone", {12}),
        participant(201, "Haidian AI Lab", Role::Buyer, "AI lab training foundation models",
                    {1, 3, 5, 7, 9, 11}),
        participant(202, "Pudong LLM Lab", Role::Buyer, "AI lab, Shanghai", {3, 9, 10, 11, 12}),
        participant(203, "Shenzhen Robotics", Role::Buyer, "embodied-AI company", {1, 3, 4, 9, 12}),
        participant(204, "Chongqing Auto", Role::Buyer, "car maker running simulations off-peak",
                    {2, 3, 4, 6, 8, 10}),
        participant(205, "Suzhou BioCompute", Role::Buyer, "protein-folding lab", {2, 5, 6, 8, 10}),
        participant(206, "Hangzhou Vision AI", Role::Buyer, "inference-heavy vision company",
                    {1, 9, 11, 12}),
        participant(207, "Xi'an Research", Role::Buyer, "university research institute",
                    {1, 5, 6, 7, 8, 12}),
        participant(301, "Jinghua Brokers", Role::Broker,
                    "buys and sells the same products; self-trade prevention on", {1, 9, 12}),
    };
    return c;
}

const Listing* Catalog::find_listing(InstrumentId id) const {
    for (const Listing& l : listings) {
        if (l.spec.id == id) {
            return &l;
        }
    }
    return nullptr;
}

const Listing& Catalog::listing(InstrumentId id) const {
    const Listing* l = find_listing(id);
    if (l == nullptr) {
        throw std::out_of_range("no listing for instrument " + std::to_string(id));
    }
    return *l;
}

const Participant* Catalog::find_participant(AccountId account) const {
    for (const Participant& p : participants) {
        if (p.account == account) {
            return &p;
        }
    }
    return nullptr;
}

std::string_view Catalog::name_of(AccountId account) const {
    const Participant* p = find_participant(account);
    return p == nullptr ? std::string_view("unknown account") : p->name;
}

std::vector<InstrumentId> Catalog::instrument_ids() const {
    std::vector<InstrumentId> ids;
    for (const Listing& l : listings) {
        ids.push_back(l.spec.id);
    }
    return ids;
}

std::vector<const Participant*> Catalog::active_in(InstrumentId id, Role role) const {
    std::vector<const Participant*> out;
    for (const Participant& p : participants) {
        if (p.role != role) {
            continue;
        }
        for (const InstrumentId mine : p.instruments) {
            if (mine == id) {
                out.push_back(&p);
                break;
            }
        }
    }
    return out;
}

std::string_view period_name(Period period) {
    switch (period) {
        case Period::Peak:
            return "peak";
        case Period::OffPeak:
            return "off-peak";
        case Period::Day:
            return "whole day";
        case Period::Quota:
            return "30-day quota";
    }
    return "unknown";
}

std::string_view role_name(Role role) {
    switch (role) {
        case Role::Provider:
            return "provider";
        case Role::Buyer:
            return "buyer";
        case Role::Broker:
            return "broker";
    }
    return "unknown";
}

}  // namespace cpx::demo
