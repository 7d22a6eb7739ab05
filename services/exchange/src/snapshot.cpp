// The exchange's snapshot: its whole deterministic state, so that recovery loads the
// newest snapshot and replays only the journal after it, and the restored exchange
// answers every later request byte for byte as the saved one would.
//
// What is saved, and how each part is restored so that it behaves the same:
//   config                 compared field by field with the new exchange's: refused
//                          on any difference (capacities, windows, default limits)
//   counters and time      now_ns, next session, order and trade ids, table version
//   accelerator table      in order (lookups take the first match)
//   capacity keys          in order (an account's positions name them by index); the
//                          instrument -> key map sorted by instrument
//   engine                 Engine::save (matching/src/snapshot.cpp)
//   accounts               in id order: spec, money, report seq, rate-limit bucket,
//                          capacity positions in order, live order records in the order
//                          of the account's list (newest first: a cancel-on-disconnect
//                          logoff cancels in that order) with their slots, report log
//   free record slots      the stack in order, as runs: records are handed out in the
//                          same order
//   API keys, deposits     sorted by key bytes / deposit id (hash maps that are only
//                          looked up, never iterated for output)
//   sessions               sorted by id (open_sessions sorts anyway)
//   client-id window       oldest first with first answers: re-inserted in that
//                          order, so the same ids are found and evicted in the same order
//   obligations            in id order
//   vouchers               src/voucher_snapshot.cpp
// The hash indexes (order id -> record, client id -> entry, key -> account) are rebuilt
// by inserting; their lookups depend on content, not layout. Not saved, because every
// request resets them before use: the order command being built (current_) and the
// taker's fills of one command. Everything written is a function of the state alone
// (hash maps are written sorted), so saving a restored exchange gives the same bytes.
//
// Size and speed, measured with tests/snapshot/snapshot_measure.cpp (Release, LTO, on
// the shared 2-core build machine while other builds ran, so the ranges are wide), for
// 1,000,000 resting orders (one in ten GTD, 2 instruments, 200 accounts), a full and
// wrapped client-id window of 1,048,576 ids and 1,000,000 retained reports:
//   snapshot size        96,039,189 bytes (about 96 bytes per resting order with its
//                        record, report and client id; the engine's part is 12.5 MB)
//   save_snapshot        0.75 - 1.03 s
//   load_snapshot        1.37 - 2.22 s (of which the engine's part 0.32 s), plus
//                        0.31 - 0.42 s to construct the fresh Exchange
//   for comparison, applying the 1.06 M requests that built that state took 1.4 - 2.1 s
//   in process; a journal replay costs about 3 us per journalled request.
// What a load costs grows with the live state (resting orders, the id window, retained
// reports), not with the length of the history.

#include <algorithm>
#include <bit>
#include <cassert>
#include <iterator>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/matching/snapshot_io.hpp"

namespace cpx::exchange {

using matching::SnapshotReader;
using matching::SnapshotWriter;

namespace {

constexpr std::size_t kStringMax = 1u << 16;

// A fixed text field without its trailing zero bytes.
template <std::size_t N>
void save_text(SnapshotWriter& out, const matching::FixedText<N>& text) {
    std::size_t n = N;
    while (n > 0 && text.bytes[n - 1] == '\0') {
        --n;
    }
    out.varint(n);
    out.raw(text.bytes.data(), n);
}

template <std::size_t N>
matching::FixedText<N> load_text(SnapshotReader& in) {
    matching::FixedText<N> text;
    const std::uint64_t n = in.varint();
    if (n > N) {
        in.fail("text field too long");
        return text;
    }
    in.raw(text.bytes.data(), static_cast<std::size_t>(n));
    return text;
}

// Runs of descending consecutive slots, as in a free-slot stack.
void save_slot_stack(SnapshotWriter& out, const std::vector<std::uint32_t>& stack) {
    out.varint(stack.size());
    std::size_t runs = 0;
    for (std::size_t i = 0; i < stack.size(); ++i) {
        if (i == 0 || stack[i] + 1 != stack[i - 1]) {
            ++runs;
        }
    }
    out.varint(runs);
    for (std::size_t i = 0; i < stack.size();) {
        std::size_t j = i + 1;
        while (j < stack.size() && stack[j] + 1 == stack[j - 1]) {
            ++j;
        }
        out.varint(stack[i]);
        out.varint(j - i);
        i = j;
    }
}

// Fills stack with `expected` slots, each below used.size() and not yet used.
bool load_slot_stack(SnapshotReader& in, std::vector<std::uint32_t>& stack,
                     std::vector<std::uint8_t>& used, std::size_t expected) {
    const std::uint64_t total = in.varint();
    const std::size_t runs = in.count(2, used.size());
    if (!in.ok()) {
        return false;
    }
    if (total != expected) {
        return in.fail("free slots and live records do not fill the table");
    }
    stack.clear();
    for (std::size_t r = 0; r < runs; ++r) {
        const std::uint64_t first = in.varint();
        const std::uint64_t length = in.varint();
        if (!in.ok()) {
            return false;
        }
        if (length == 0 || first >= used.size() || length > first + 1 ||
            length > total - stack.size()) {
            return in.fail("bad free-slot run");
        }
        for (std::uint64_t k = 0; k < length; ++k) {
            const std::uint64_t slot = first - k;
            if (used[slot] != 0) {
                return in.fail("a free slot is also in use");
            }
            used[slot] = 1;
            stack.push_back(static_cast<std::uint32_t>(slot));
        }
    }
    if (stack.size() != total) {
        return in.fail("free-slot count mismatch");
    }
    return true;
}

// An Outbound as a mask of its non-zero fields, then those fields. seq and ts_ns are
// written as differences from the previous record of the same log, which are mostly 0
// or small.
enum OutField : unsigned {
    kKind,
    kExec,
    kStatus,
    kSide,
    kMarket,
    kState,
    kDuplicate,
    kTargeted,
    kAggressor,
    kReserved0,
    kCode,
    kFillCount,
    kReserved1,
    kAccount,
    kInstrument,
    kOrderCount,
    kReserved2,
    kToken,
    kSession,
    kSeq,
    kOrderId,
    kTradeId,
    kPrice,
    kQuantity,
    kLeaves,
    kFilled,
    kTs,
    kClientId,
    kFieldCount,
};

struct OutContext {
    std::uint64_t seq = 0;
    Timestamp ts_ns = 0;
};

void save_outbound(SnapshotWriter& out, const Outbound& o, OutContext& context) {
    const std::uint64_t seq_delta = o.seq - context.seq;
    const std::uint64_t ts_delta =
        static_cast<std::uint64_t>(o.ts_ns) - static_cast<std::uint64_t>(context.ts_ns);
    context.seq = o.seq;
    context.ts_ns = o.ts_ns;
    const std::uint64_t values[kFieldCount] = {
        static_cast<std::uint8_t>(o.kind),
        static_cast<std::uint8_t>(o.exec),
        static_cast<std::uint8_t>(o.status),
        static_cast<std::uint8_t>(o.side),
        static_cast<std::uint8_t>(o.market),
        static_cast<std::uint8_t>(o.state),
        o.duplicate ? 1u : 0u,
        o.targeted ? 1u : 0u,
        o.aggressor ? 1u : 0u,
        o.reserved0,
        static_cast<std::uint16_t>(o.code),
        o.fill_count,
        o.reserved1,
        o.account,
        o.instrument,
        o.order_count,
        o.reserved2,
        o.token,
        o.session,
        seq_delta,
        o.order_id,
        o.trade_id,
        static_cast<std::uint64_t>(o.price),
        static_cast<std::uint64_t>(o.quantity),
        static_cast<std::uint64_t>(o.leaves),
        static_cast<std::uint64_t>(o.filled),
        ts_delta,
        0,
    };
    std::uint64_t mask = 0;
    for (unsigned f = 0; f < kClientId; ++f) {
        if (values[f] != 0) {
            mask |= std::uint64_t{1} << f;
        }
    }
    if (o.client_order_id.bytes != ClientOrderId{}.bytes) {
        mask |= std::uint64_t{1} << kClientId;
    }
    out.varint(mask);
    for (unsigned f = 0; f < kClientId; ++f) {
        if ((mask >> f) & 1u) {
            switch (f) {
                case kSeq:
                case kPrice:
                case kQuantity:
                case kLeaves:
                case kFilled:
                case kTs:
                    out.svarint(static_cast<std::int64_t>(values[f]));
                    break;
                default:
                    out.varint(values[f]);
                    break;
            }
        }
    }
    if ((mask >> kClientId) & 1u) {
        save_text(out, o.client_order_id);
    }
}

Outbound load_outbound(SnapshotReader& in, OutContext& context) {
    const std::uint64_t mask = in.varint();
    std::uint64_t values[kFieldCount] = {};
    if (mask >> kFieldCount != 0) {
        in.fail("bad record field mask");
    }
    for (unsigned f = 0; f < kClientId && in.ok(); ++f) {
        if ((mask >> f) & 1u) {
            switch (f) {
                case kSeq:
                case kPrice:
                case kQuantity:
                case kLeaves:
                case kFilled:
                case kTs:
                    values[f] = static_cast<std::uint64_t>(in.svarint());
                    break;
                default:
                    values[f] = in.varint();
                    break;
            }
        }
    }
    Outbound o;
    // Each field must fit its type, and a bool be 0 or 1.
    constexpr std::uint64_t kLimits[] = {
        0xFF,  0xFF,   0xFF,   0xFF,   0xFF,        0xFF,        1,           1,           1,
        0xFF,  0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, ~0ull,
        ~0ull, ~0ull,  ~0ull,  ~0ull,  ~0ull,       ~0ull,       ~0ull,       ~0ull,       ~0ull,
    };
    static_assert(std::size(kLimits) == kClientId);
    for (unsigned f = 0; f < kClientId; ++f) {
        if (values[f] > kLimits[f]) {
            in.fail("record field out of range");
            return o;
        }
    }
    o.kind = static_cast<OutKind>(values[kKind]);
    o.exec = static_cast<ExecType>(values[kExec]);
    o.status = static_cast<OrderStatus>(values[kStatus]);
    o.side = static_cast<Side>(values[kSide]);
    o.market = static_cast<MarketKind>(values[kMarket]);
    o.state = static_cast<matching::TradingState>(values[kState]);
    o.duplicate = values[kDuplicate] != 0;
    o.targeted = values[kTargeted] != 0;
    o.aggressor = values[kAggressor] != 0;
    o.reserved0 = static_cast<std::uint8_t>(values[kReserved0]);
    o.code = static_cast<Code>(values[kCode]);
    o.fill_count = static_cast<std::uint16_t>(values[kFillCount]);
    o.reserved1 = static_cast<std::uint16_t>(values[kReserved1]);
    o.account = static_cast<AccountId>(values[kAccount]);
    o.instrument = static_cast<InstrumentId>(values[kInstrument]);
    o.order_count = static_cast<std::uint32_t>(values[kOrderCount]);
    o.reserved2 = static_cast<std::uint32_t>(values[kReserved2]);
    o.token = values[kToken];
    o.session = values[kSession];
    o.seq = context.seq + values[kSeq];
    o.order_id = values[kOrderId];
    o.trade_id = values[kTradeId];
    o.price = static_cast<Price>(values[kPrice]);
    o.quantity = static_cast<Quantity>(values[kQuantity]);
    o.leaves = static_cast<Quantity>(values[kLeaves]);
    o.filled = static_cast<Quantity>(values[kFilled]);
    o.ts_ns = static_cast<Timestamp>(static_cast<std::uint64_t>(context.ts_ns) + values[kTs]);
    if ((mask >> kClientId) & 1u) {
        o.client_order_id = load_text<kClientOrderIdBytesMax>(in);
    }
    context.seq = o.seq;
    context.ts_ns = o.ts_ns;
    return o;
}

template <typename Map>
std::vector<typename Map::const_iterator> sorted_entries(const Map& map) {
    std::vector<typename Map::const_iterator> entries;
    entries.reserve(map.size());
    for (auto it = map.begin(); it != map.end(); ++it) {
        entries.push_back(it);
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a->first < b->first; });
    return entries;
}

}  // namespace

// --- ReportLog -------------------------------------------------------------------------

void ReportLog::save(SnapshotWriter& out) const {
    out.varint(ring_.size());
    out.varint(size_);
    OutContext context;
    for (std::size_t i = 0; i < size_; ++i) {
        save_outbound(out, at(i), context);
    }
}

bool ReportLog::load(SnapshotReader& in) {
    if (!ring_.empty() || size_ != 0) {
        return in.fail("report log not empty");
    }
    const std::uint64_t ring_size = in.varint();
    const std::size_t size = in.count(1, ring_size);
    if (!in.ok()) {
        return false;
    }
    // The ring is empty or a power of two from 64 up, grown only while below the
    // retention limit, and never empty once it exists.
    const bool valid_ring = ring_size == 0
                                ? size == 0
                                : (std::has_single_bit(ring_size) && ring_size >= 64 &&
                                   (ring_size == 64 || ring_size / 2 < records_max_) && size > 0);
    if (!valid_ring) {
        return in.fail("bad report log ring");
    }
    ring_.resize(static_cast<std::size_t>(ring_size));
    head_ = 0;
    OutContext context;
    for (std::size_t i = 0; i < size; ++i) {
        const Outbound o = load_outbound(in, context);
        if (!in.ok()) {
            return false;
        }
        if (o.kind != OutKind::Report && o.kind != OutKind::MassCancelDone &&
            o.kind != OutKind::Fill) {
            return in.fail("report log holds a record of the wrong kind");
        }
        if (i > 0 && o.seq < ring_[i - 1].seq) {
            return in.fail("report log out of order");
        }
        ring_[i] = o;
    }
    size_ = size;
    return true;
}

// --- ClientIdIndex ---------------------------------------------------------------------

void ClientIdIndex::save(SnapshotWriter& out) const {
    const auto window = static_cast<std::uint32_t>(entries_.size());
    out.varint(window);
    out.varint(size_);
    OrderId previous_order = 0;
    for (std::uint32_t k = 0; k < size_; ++k) {
        const Entry& e = entries_[(head_ + k) % window];
        out.varint(e.account);
        save_text(out, e.id);
        out.svarint(static_cast<std::int64_t>(e.answer.order_id - previous_order));
        previous_order = e.answer.order_id;
        out.varint(e.answer.seq);
        out.u8(static_cast<std::uint8_t>(e.answer.exec));
        out.u8(static_cast<std::uint8_t>(e.answer.status));
        out.varint(static_cast<std::uint16_t>(e.answer.code));
        out.varint(e.answer.instrument);
        out.u8(static_cast<std::uint8_t>(e.answer.side));
    }
}

bool ClientIdIndex::load(SnapshotReader& in) {
    if (size_ != 0) {
        return in.fail("client-id index not empty");
    }
    const std::uint64_t window = in.varint();
    if (in.ok() && window != entries_.size()) {
        return in.fail("client-id window mismatch");
    }
    const std::size_t count = in.count(9, window);
    if (!in.ok()) {
        return false;
    }
    OrderId previous_order = 0;
    for (std::size_t k = 0; k < count; ++k) {
        const AccountId account = in.varint32();
        const ClientOrderId id = load_text<kClientOrderIdBytesMax>(in);
        FirstAnswer answer;
        answer.order_id = previous_order + static_cast<std::uint64_t>(in.svarint());
        previous_order = answer.order_id;
        answer.seq = in.varint();
        answer.exec = static_cast<ExecType>(in.u8());
        answer.status = static_cast<OrderStatus>(in.u8());
        const std::uint64_t code = in.varint();
        answer.instrument = in.varint32();
        answer.side = static_cast<Side>(in.u8());
        if (!in.ok()) {
            return false;
        }
        if (code > 0xFFFF) {
            return in.fail("bad code");
        }
        answer.code = static_cast<Code>(code);
        // As insert() into an empty index does (the oldest entry at position 0), with one
        // probe that also refuses an id remembered twice.
        const std::uint64_t hash = hash_of(account, id);
        std::size_t i = hash & mask_;
        for (; slots_[i].hash != 0; i = (i + 1) & mask_) {
            if (slots_[i].hash == hash && entries_[slots_[i].entry].account == account &&
                entries_[slots_[i].entry].id.bytes == id.bytes) {
                return in.fail("client id remembered twice");
            }
        }
        entries_[size_] = Entry{hash, account, id, answer};
        slots_[i] = Slot{hash, size_};
        ++size_;
    }
    head_ = 0;
    return true;
}

// --- Exchange --------------------------------------------------------------------------

void Exchange::save_snapshot(std::string& out) const {
    out.clear();
    std::size_t estimate = 4096 + std::size_t{engine_.resting_orders()} * 24 +
                           std::size_t{live_records_} * 40 + std::size_t{client_ids_.size()} * 40;
    for (std::size_t id = 1; id < accounts_.size(); ++id) {
        estimate += 64 + accounts_[id].reports->size() * 40;
    }
    out.reserve(estimate);
    SnapshotWriter w(out);
    w.begin();

    w.tag("XCFG");
    w.varint(config_.order_capacity);
    w.varint(config_.client_id_window);
    w.varint(config_.report_retention);
    w.svarint(config_.order_quantity_max_default);
    w.svarint(config_.order_notional_max_fen_default);
    w.varint(config_.orders_per_second_max_default);
    w.varint(config_.sessions_max);
    w.varint(config_.accounts_max);

    w.tag("XSET");
    w.varint(config_.obligations_max);
    w.varint(config_.settlement.fee_bps);
    w.varint(config_.settlement.penalty_bps);
    w.svarint(config_.settlement.dispute_period_ns);
    w.varint(config_.voucher_programs_max);
    w.varint(config_.vouchers_max);
    w.varint(config_.voucher_orders_max);

    w.tag("XSCL");
    w.svarint(now_ns_);
    w.varint(next_session_);
    w.varint(next_order_id_);
    w.varint(next_trade_id_);
    w.varint(accelerator_table_version_);
    w.varint(live_records_);
    w.varint(request_seq_);

    w.tag("ACCL");
    w.varint(accelerator_table_.size());
    for (const AcceleratorModel& m : accelerator_table_) {
        w.bytes(m.model);
        w.svarint(m.milli_p_per_device);
        w.boolean(m.domestic);
    }

    w.tag("CKEY");
    w.varint(capacity_keys_.size());
    for (const CapacityKey& k : capacity_keys_) {
        w.u8(static_cast<std::uint8_t>(k.kind));
        w.bytes(k.hub);
        w.svarint(k.start_ns);
        w.svarint(k.end_ns);
    }

    engine_.save(w);

    w.tag("ICKY");
    w.varint(instrument_capacity_key_.size());
    for (const auto& it : sorted_entries(instrument_capacity_key_)) {
        w.varint(it->first);
        w.varint(it->second);
    }

    w.tag("ACCT");
    w.varint(accounts_.size() - 1);
    for (std::size_t id = 1; id < accounts_.size(); ++id) {
        const AccountState& a = accounts_[id];
        w.varint(a.spec.id);
        w.bytes(a.spec.name);
        w.u8(static_cast<std::uint8_t>(a.spec.role));
        w.bytes(a.spec.owner_group);
        w.svarint(a.spec.order_quantity_max);
        w.svarint(a.spec.order_notional_max_fen);
        w.varint(a.spec.orders_per_second_max);
        w.svarint(a.unsettled_fen);
        w.varint(a.report_seq);
        w.svarint(a.rate_tokens_milli);
        w.svarint(a.rate_refill_ns);
        w.varint(a.capacity.size());
        for (const CapacityPosition& p : a.capacity) {
            w.varint(p.key);
            w.svarint(p.registered);
            w.svarint(p.offered);
            w.svarint(p.sold);
        }
        // Live records in the account's list order.
        w.varint(a.live_orders);
        OrderId previous_id = 0;
        for (std::uint32_t slot = a.live_head; slot != AccountState::kNoRecord;
             slot = records_[slot].next) {
            const OrderRecord& r = records_[slot];
            w.varint(slot);
            w.svarint(static_cast<std::int64_t>(r.id - previous_id));
            previous_id = r.id;
            w.varint(r.instrument);
            w.varint(r.session);
            w.u8(static_cast<std::uint8_t>(r.side));
            w.boolean(r.live);
            w.svarint(r.price);
            w.svarint(r.reserve_price);
            w.svarint(r.quantity);
            w.svarint(r.leaves);
            w.svarint(r.filled);
            w.varint(r.capacity_key);
            w.varint(r.hold_transfer);
            w.varint(r.voucher);
            w.svarint(r.voucher_cover_fen);
            w.varint(r.voucher_hold_transfer);
            w.svarint(r.voucher_period);
            w.varint(r.voucher_limited_by);
            w.varint(r.voucher_cover_seq);
            w.svarint(r.voucher_cover_ns);
            w.svarint(r.ts_ns);
            save_text(w, r.client_order_id);
        }
        a.reports->save(w);
    }

    w.tag("FREC");
    save_slot_stack(w, free_records_);

    w.tag("KEYS");
    w.varint(key_accounts_.size());
    for (const auto& it : sorted_entries(key_accounts_)) {
        w.bytes(it->first);
        w.varint(it->second);
    }

    w.tag("DEPO");
    w.varint(deposits_.size());
    for (const auto& it : sorted_entries(deposits_)) {
        w.bytes(it->first);
        w.varint(it->second.account);
        w.svarint(it->second.amount_fen);
        w.boolean(it->second.collateral);
    }

    w.tag("SESS");
    w.varint(sessions_.size());
    for (const auto& it : sorted_entries(sessions_)) {
        w.varint(it->first);
        w.varint(it->second.account);
        w.boolean(it->second.cancel_on_disconnect);
    }

    w.tag("CIDS");
    client_ids_.save(w);

    // Obligations not yet final, in id order (final ones never outlive a request).
    w.tag("OBLG");
    w.varint(obligations_.size());
    for (const Obligation& o : obligations_) {
        assert(o.state != ObligationState::Settled && o.state != ObligationState::Failed);
        w.varint(o.id);
        w.varint(o.instrument);
        w.u8(static_cast<std::uint8_t>(o.state));
        w.varint(o.buyer);
        w.varint(o.provider);
        w.varint(o.buy_order);
        w.varint(o.sell_order);
        w.svarint(o.price);
        w.svarint(o.quantity);
        w.svarint(o.delivered_quantity);
        w.svarint(o.traded_ns);
        w.svarint(o.window_end_ns);
        w.svarint(o.delivered_ns);
        w.svarint(o.due_ns);
        w.varint(o.created_seq);
        w.varint(o.voucher);
        w.svarint(o.voucher_fen);
        w.svarint(o.voucher_period);
    }

    save_vouchers(w);

    w.tag("LDGR");
    std::string ledger_bytes;
    ledger_.save(ledger_bytes);
    w.bytes(ledger_bytes);

    w.tag("XEND");
    w.finish();
}

bool Exchange::load_snapshot(std::string_view bytes, std::string& error) {
    SnapshotReader in(bytes);
    const auto failed = [&]() {
        error = in.ok() ? "snapshot refused" : in.error();
        return false;
    };
    const bool fresh = accounts_.size() == 1 && key_accounts_.empty() && deposits_.empty() &&
                       sessions_.empty() && next_session_ == 1 && live_records_ == 0 &&
                       next_order_id_ == 1 && next_trade_id_ == 1 && client_ids_.size() == 0 &&
                       capacity_keys_.empty() && instrument_capacity_key_.empty() &&
                       accelerator_table_version_ == 1 && now_ns_ == 0 &&
                       engine_.instruments().empty() && engine_.last_sequence() == 0 &&
                       obligations_.empty() && programs_.empty() && vouchers_.empty();
    if (!fresh) {
        in.fail("the exchange is not fresh: load a snapshot only into a new Exchange");
        return failed();
    }
    if (!in.open() || !in.expect_tag("XCFG")) {
        return failed();
    }

    // The config: a snapshot fits only an exchange built with the same one.
    {
        const std::uint64_t saved[8] = {
            in.varint(),
            in.varint(),
            in.varint(),
            static_cast<std::uint64_t>(in.svarint()),
            static_cast<std::uint64_t>(in.svarint()),
            in.varint(),
            in.varint(),
            in.varint(),
        };
        const std::uint64_t mine[8] = {
            config_.order_capacity,
            config_.client_id_window,
            config_.report_retention,
            static_cast<std::uint64_t>(config_.order_quantity_max_default),
            static_cast<std::uint64_t>(config_.order_notional_max_fen_default),
            config_.orders_per_second_max_default,
            config_.sessions_max,
            config_.accounts_max,
        };
        constexpr const char* kNames[8] = {
            "order_capacity",
            "client_id_window",
            "report_retention",
            "order_quantity_max_default",
            "order_notional_max_fen_default",
            "orders_per_second_max_default",
            "sessions_max",
            "accounts_max",
        };
        if (!in.ok()) {
            return failed();
        }
        for (std::size_t i = 0; i < 8; ++i) {
            if (saved[i] != mine[i]) {
                in.fail(std::string("config mismatch: ") + kNames[i] + " is " +
                        std::to_string(mine[i]) + ", the snapshot's " + std::to_string(saved[i]));
                return failed();
            }
        }
    }

    if (!in.expect_tag("XSET")) {
        return failed();
    }
    {
        const std::uint64_t obligations_max = in.varint();
        const std::uint64_t fee_bps = in.varint();
        const std::uint64_t penalty_bps = in.varint();
        const Timestamp dispute_period_ns = in.svarint();
        const std::uint64_t voucher_programs_max = in.varint();
        const std::uint64_t vouchers_max = in.varint();
        const std::uint64_t voucher_orders_max = in.varint();
        if (!in.ok()) {
            return failed();
        }
        if (obligations_max != config_.obligations_max || fee_bps != config_.settlement.fee_bps ||
            penalty_bps != config_.settlement.penalty_bps ||
            dispute_period_ns != config_.settlement.dispute_period_ns ||
            voucher_programs_max != config_.voucher_programs_max ||
            vouchers_max != config_.vouchers_max ||
            voucher_orders_max != config_.voucher_orders_max) {
            in.fail(
                "config mismatch: the settlement rules, obligations_max or the voucher limits "
                "differ");
            return failed();
        }
    }

    if (!in.expect_tag("XSCL")) {
        return failed();
    }
    const Timestamp now_ns = in.svarint();
    const SessionId next_session = in.varint();
    const OrderId next_order_id = in.varint();
    const std::uint64_t next_trade_id = in.varint();
    const std::uint32_t table_version = in.varint32();
    const std::uint64_t live_records = in.varint();
    const std::uint64_t request_seq = in.varint();
    if (!in.ok()) {
        return failed();
    }
    if (next_session == 0 || next_order_id == 0 || next_trade_id == 0 ||
        live_records >= records_.size()) {
        in.fail("bad counters");
        return failed();
    }

    if (!in.expect_tag("ACCL")) {
        return failed();
    }
    std::vector<AcceleratorModel> table(in.count(3, 0xFFFFFFFFull));
    for (AcceleratorModel& m : table) {
        m.model = in.bytes(kStringMax);
        m.milli_p_per_device = in.svarint();
        m.domestic = in.boolean();
    }

    if (!in.expect_tag("CKEY")) {
        return failed();
    }
    const std::size_t key_count = in.count(4, 0xFFFFFFFEull);
    std::vector<CapacityKey> keys;
    keys.reserve(key_count);
    for (std::size_t i = 0; i < key_count && in.ok(); ++i) {
        CapacityKey k;
        k.kind = static_cast<matching::InstrumentKind>(in.u8());
        k.hub = in.bytes(kStringMax);
        k.start_ns = in.svarint();
        k.end_ns = in.svarint();
        keys.push_back(std::move(k));
    }
    if (!in.ok()) {
        return failed();
    }

    if (!engine_.load(in) || !in.expect_tag("ICKY")) {
        return failed();
    }
    const std::size_t instrument_keys = in.count(2, 0xFFFFFFFFull);
    for (std::size_t i = 0; i < instrument_keys; ++i) {
        const InstrumentId instrument = in.varint32();
        const std::uint32_t key = in.varint32();
        if (!in.ok()) {
            return failed();
        }
        if (!engine_.has_instrument(instrument) || key == 0 || key > keys.size() ||
            !instrument_capacity_key_.emplace(instrument, key).second) {
            in.fail("bad instrument capacity key");
            return failed();
        }
    }

    if (!in.expect_tag("ACCT")) {
        return failed();
    }
    const std::size_t account_count = in.count(16, config_.accounts_max);
    if (!in.ok()) {
        return failed();
    }
    accounts_.reserve(account_count + 1);
    std::vector<std::uint8_t> used(records_.size(), 0);
    std::uint32_t live_total = 0;
    for (std::size_t n = 0; n < account_count; ++n) {
        AccountState a;
        const AccountId id = in.varint32();
        if (in.ok() && id != accounts_.size()) {
            in.fail("accounts out of order");
            return failed();
        }
        a.spec.id = id;
        a.spec.name = in.bytes(kStringMax);
        const std::uint8_t role = in.u8();
        if (role > static_cast<std::uint8_t>(Role::Issuer)) {
            in.fail("bad role");
        }
        a.spec.role = static_cast<Role>(role);
        a.spec.owner_group = in.bytes(kStringMax);
        a.spec.order_quantity_max = in.svarint();
        a.spec.order_notional_max_fen = in.svarint();
        a.spec.orders_per_second_max = in.varint32();
        a.unsettled_fen = in.svarint();
        a.report_seq = in.varint();
        a.rate_tokens_milli = in.svarint();
        a.rate_refill_ns = in.svarint();
        a.capacity.resize(in.count(4, key_count));
        for (CapacityPosition& p : a.capacity) {
            p.key = in.varint32();
            p.registered = in.svarint();
            p.offered = in.svarint();
            p.sold = in.svarint();
            if (in.ok() && (p.key == 0 || p.key > key_count)) {
                in.fail("bad capacity key");
            }
        }
        const std::size_t live = in.count(12, records_.size());
        if (!in.ok()) {
            return failed();
        }
        OrderId previous_id = 0;
        std::uint32_t previous_slot = AccountState::kNoRecord;
        for (std::size_t k = 0; k < live; ++k) {
            const std::uint64_t slot64 = in.varint();
            OrderRecord r;
            r.id = previous_id + static_cast<std::uint64_t>(in.svarint());
            previous_id = r.id;
            r.account = id;
            r.instrument = in.varint32();
            r.session = in.varint();
            r.side = static_cast<Side>(in.u8());
            r.live = in.boolean();
            r.price = in.svarint();
            r.reserve_price = in.svarint();
            r.quantity = in.svarint();
            r.leaves = in.svarint();
            r.filled = in.svarint();
            r.capacity_key = in.varint32();
            r.hold_transfer = in.varint();
            r.voucher = in.varint();
            r.voucher_cover_fen = in.svarint();
            r.voucher_hold_transfer = in.varint();
            r.voucher_period = in.svarint();
            r.voucher_limited_by = static_cast<std::uint16_t>(in.varint32());
            r.voucher_cover_seq = in.varint();
            r.voucher_cover_ns = in.svarint();
            r.ts_ns = in.svarint();
            r.client_order_id = load_text<kClientOrderIdBytesMax>(in);
            if (!in.ok()) {
                return failed();
            }
            if (slot64 >= records_.size() || used[slot64] != 0) {
                in.fail("order record slot out of range or used twice");
                return failed();
            }
            if (r.id == 0 || r.id >= next_order_id ||
                record_index_.find(r.id) != matching::detail::OrderIndex::kMissing) {
                in.fail("order record id zero, unissued or used twice");
                return failed();
            }
            if (r.side != Side::Buy && r.side != Side::Sell) {
                in.fail("bad order record side");
                return failed();
            }
            // A sell holds capacity of one of the account's positions.
            if (r.side == Side::Sell &&
                std::none_of(a.capacity.begin(), a.capacity.end(),
                             [&](const CapacityPosition& p) { return p.key == r.capacity_key; })) {
                in.fail("a sell order holds capacity its account has not registered");
                return failed();
            }
            // Every live record is a resting order of the same account in the engine.
            const std::optional<matching::OrderView> resting = engine_.find_order(r.id);
            if (!resting || resting->account != id || resting->side != r.side) {
                in.fail("an order record does not match the engine's book");
                return failed();
            }
            const auto slot = static_cast<std::uint32_t>(slot64);
            used[slot] = 1;
            r.prev = previous_slot;
            r.next = AccountState::kNoRecord;
            if (previous_slot == AccountState::kNoRecord) {
                a.live_head = slot;
            } else {
                records_[previous_slot].next = slot;
            }
            records_[slot] = r;
            record_index_.insert(r.id, slot);
            previous_slot = slot;
        }
        a.live_orders = static_cast<std::uint32_t>(live);
        live_total += static_cast<std::uint32_t>(live);
        a.reports = std::make_unique<ReportLog>(config_.report_retention);
        if (!a.reports->load(in)) {
            return failed();
        }
        accounts_.push_back(std::move(a));
    }
    if (live_total != live_records || live_total != engine_.resting_orders()) {
        in.fail("order records and resting orders do not match");
        return failed();
    }
    live_records_ = live_total;

    if (!in.expect_tag("FREC") ||
        !load_slot_stack(in, free_records_, used, records_.size() - live_total)) {
        return failed();
    }

    const auto valid_account = [&](std::uint64_t id) { return id != 0 && id < accounts_.size(); };
    if (!in.expect_tag("KEYS")) {
        return failed();
    }
    const std::size_t key_accounts = in.count(2, 0xFFFFFFFFull);
    for (std::size_t i = 0; i < key_accounts; ++i) {
        std::string key = in.bytes(kStringMax);
        const std::uint64_t account = in.varint();
        if (!in.ok()) {
            return failed();
        }
        if (!valid_account(account) ||
            !key_accounts_.emplace(std::move(key), static_cast<AccountId>(account)).second) {
            in.fail("bad API key entry");
            return failed();
        }
    }

    if (!in.expect_tag("DEPO")) {
        return failed();
    }
    const std::size_t deposits = in.count(3, 0xFFFFFFFFull);
    for (std::size_t i = 0; i < deposits; ++i) {
        std::string deposit_id = in.bytes(kStringMax);
        const std::uint64_t account = in.varint();
        const Price amount = in.svarint();
        const bool collateral = in.boolean();
        if (!in.ok()) {
            return failed();
        }
        if (!valid_account(account) ||
            !deposits_
                 .emplace(std::move(deposit_id),
                          Deposit{static_cast<AccountId>(account), amount, collateral})
                 .second) {
            in.fail("bad deposit entry");
            return failed();
        }
    }

    if (!in.expect_tag("SESS")) {
        return failed();
    }
    const std::size_t sessions = in.count(3, config_.sessions_max);
    for (std::size_t i = 0; i < sessions; ++i) {
        const SessionId session = in.varint();
        const std::uint64_t account = in.varint();
        const bool cancel_on_disconnect = in.boolean();
        if (!in.ok()) {
            return failed();
        }
        if (session == 0 || session >= next_session || !valid_account(account) ||
            !sessions_
                 .emplace(session, Session{static_cast<AccountId>(account), cancel_on_disconnect})
                 .second) {
            in.fail("bad session entry");
            return failed();
        }
    }

    if (!in.expect_tag("CIDS") || !client_ids_.load(in) || !in.expect_tag("OBLG")) {
        return failed();
    }
    {
        const std::size_t count = in.count(15, config_.obligations_max);
        for (std::size_t i = 0; i < count; ++i) {
            Obligation o;
            o.id = in.varint();
            o.instrument = in.varint32();
            o.state = static_cast<ObligationState>(in.u8());
            const std::uint64_t buyer = in.varint();
            const std::uint64_t provider = in.varint();
            o.buy_order = in.varint();
            o.sell_order = in.varint();
            o.price = in.svarint();
            o.quantity = in.svarint();
            o.delivered_quantity = in.svarint();
            o.traded_ns = in.svarint();
            o.window_end_ns = in.svarint();
            o.delivered_ns = in.svarint();
            o.due_ns = in.svarint();
            o.created_seq = in.varint();
            o.voucher = in.varint();
            o.voucher_fen = in.svarint();
            o.voucher_period = in.svarint();
            if (!in.ok()) {
                return failed();
            }
            const bool state_ok = o.state == ObligationState::Open ||
                                  o.state == ObligationState::Delivered ||
                                  o.state == ObligationState::Disputed;
            if (o.id == 0 || o.id >= next_trade_id ||
                (!obligations_.empty() && obligations_.back().id >= o.id) || !state_ok ||
                !valid_account(buyer) || !valid_account(provider) || buyer == provider ||
                o.price <= 0 || o.quantity <= 0 ||
                __builtin_mul_overflow(o.price, o.quantity, &o.amount_fen) ||
                o.delivered_quantity < 0 || o.delivered_quantity > o.quantity ||
                (o.state == ObligationState::Delivered && o.delivered_quantity == 0) ||
                o.created_seq > request_seq || o.voucher_fen < 0 || o.voucher_period < 0 ||
                (o.voucher == 0) != (o.voucher_fen == 0) || o.voucher_fen > o.amount_fen) {
                in.fail("bad obligation entry");
                return failed();
            }
            o.buyer = static_cast<AccountId>(buyer);
            o.provider = static_cast<AccountId>(provider);
            obligations_.push_back(o);
        }
    }
    if (!load_vouchers(in) || !in.expect_tag("LDGR")) {
        return failed();
    }
    {
        const std::string ledger_bytes = in.bytes(bytes.size());
        std::string ledger_error;
        if (!in.ok()) {
            return failed();
        }
        if (!ledger_.load(ledger_bytes, ledger_error)) {
            in.fail("ledger: " + ledger_error);
            return failed();
        }
        // Every open buy holds what its state calls for, in money and in a voucher's
        // cover (src/buying_power.cpp), and nothing else is held.
        if (!rebuild_voucher_holds(request_seq)) {
            in.fail("an order holds a voucher it may not hold");
            return failed();
        }
        std::uint32_t holds = 0;
        for (std::size_t id = 1; id < accounts_.size(); ++id) {
            for (std::uint32_t slot = accounts_[id].live_head; slot != AccountState::kNoRecord;
                 slot = records_[slot].next) {
                const OrderRecord& r = records_[slot];
                const auto matches = [&](std::uint64_t transfer_id, Price amount) {
                    if (transfer_id == 0) {
                        return amount == 0;
                    }
                    const ledger::Transfer* hold = ledger_.pending(transfer_id);
                    ++holds;
                    return r.side == Side::Buy && hold != nullptr && hold->amount == amount;
                };
                if (!matches(r.hold_transfer, cash_hold_of(r)) ||
                    !matches(r.voucher_hold_transfer, voucher_hold_of(r))) {
                    in.fail("an order's hold does not match the ledger");
                    return failed();
                }
            }
        }
        if (holds != ledger_.pending_count()) {
            in.fail("the ledger holds money for no order");
            return failed();
        }
        // A buyer's escrow holds exactly its open obligations, and a provider's unsettled
        // sales are exactly its own.
        std::vector<Price> escrowed(accounts_.size(), 0);
        std::vector<Price> owed(accounts_.size(), 0);
        for (const Obligation& o : obligations_) {
            if (o.voucher > vouchers_.size() ||
                (o.voucher != 0 && vouchers_[o.voucher - 1].beneficiary != o.buyer)) {
                in.fail("an obligation names a voucher its buyer does not hold");
                return failed();
            }
            if (__builtin_add_overflow(escrowed[o.buyer], o.amount_fen, &escrowed[o.buyer]) ||
                __builtin_add_overflow(owed[o.provider], o.amount_fen, &owed[o.provider])) {
                in.fail("obligations overflow");
                return failed();
            }
        }
        for (std::size_t id = 1; id < accounts_.size(); ++id) {
            const ledger::Account* escrow =
                ledger_.account(ledger::account_id(id, ledger::purpose::escrow));
            const Price in_escrow = escrow == nullptr ? 0 : escrow->credit_balance();
            if (in_escrow != escrowed[id] || accounts_[id].unsettled_fen != owed[id]) {
                in.fail("obligations do not match the ledger's escrow");
                return failed();
            }
        }
        if (!vouchers_match_ledger(in)) {
            return failed();
        }
    }
    if (!in.expect_tag("XEND")) {
        return failed();
    }
    if (!in.at_end()) {
        in.fail("trailing bytes after the snapshot");
        return failed();
    }

    now_ns_ = now_ns;
    next_session_ = next_session;
    next_order_id_ = next_order_id;
    next_trade_id_ = next_trade_id;
    request_seq_ = request_seq;
    accelerator_table_version_ = table_version;
    accelerator_table_ = std::move(table);
    capacity_keys_ = std::move(keys);
    error.clear();
    return true;
}

}  // namespace cpx::exchange
