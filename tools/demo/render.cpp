#include "render.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "calendar.hpp"
#include "format.hpp"

namespace cpx::demo {

using matching::Command;
using matching::CommandType;
using matching::Event;
using matching::EventType;
using matching::InstrumentId;
using matching::OrderType;
using matching::Quantity;
using matching::Reason;
using matching::Side;
using matching::TimeInForce;
using matching::TradingState;

namespace {

constexpr std::size_t kTagWidth = 7;
constexpr std::size_t kSymbolWidth = 16;
constexpr std::size_t kNameWidth = 18;
constexpr std::size_t kBookLevels = 5;

std::string symbol_of(const Catalog& catalog, InstrumentId id) {
    const Listing* listing = catalog.find_listing(id);
    return listing == nullptr ? std::string() : std::string(listing->spec.symbol.view());
}

std::string unit_of(const Catalog& catalog, InstrumentId id) {
    const Listing* listing = catalog.find_listing(id);
    return listing == nullptr ? std::string() : std::string(listing->spec.unit.view());
}

std::string hex64(std::uint64_t value) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string out = "0x";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out.push_back(kDigits[(value >> shift) & 0xFu]);
    }
    return out;
}

std::string_view side_word(Side side) {
    return side == Side::Buy ? "buy" : "sell";
}

std::string_view cause_tag(CommandType cause) {
    switch (cause) {
        case CommandType::StartAuction:
            return "OPEN";
        case CommandType::FreezeAuction:
            return "FREEZE";
        case CommandType::Halt:
            return "HALT";
        case CommandType::Resume:
            return "RESUME";
        case CommandType::Close:
            return "CLOSE";
        case CommandType::SetReference:
            return "REF";
        default:
            return "STATE";
    }
}

// The tape's tag for an order that left the book, or "" for the ordinary ones (a user's
// cancel, the unfilled rest of an IOC order) that would only clutter the tape.
std::string_view cancel_tag(Reason reason) {
    switch (reason) {
        case Reason::CancelledSelfTrade:
            return "STP";
        case Reason::CancelledExpired:
            return "EXPIRE";
        case Reason::CancelledHalt:
            return "HALT";
        case Reason::CancelledFillOrKill:
            return "KILL";
        case Reason::CancelledMinQuantityNotMet:
            return "MINQTY";
        case Reason::CancelledNoLiquidity:
            return "NOFILL";
        case Reason::CancelledMarketClosed:
            return "CLOSE";
        default:
            return "";
    }
}

std::string count(std::uint64_t value) {
    return group_thousands(static_cast<std::int64_t>(value));
}

std::string counts_by_reason(const std::map<Reason, std::uint64_t>& counts) {
    if (counts.empty()) {
        return "none";
    }
    std::string out;
    for (const auto& [reason, n] : counts) {
        if (!out.empty()) {
            out += ", ";
        }
        out += std::string(matching::reason_name(reason)) + " " + count(n);
    }
    return out;
}

}  // namespace

void print_header(std::ostream& out, const Catalog& catalog, std::uint64_t seed,
                  std::uint64_t steps) {
    out << "cpx-demo: a simulated compute-power exchange\n"
        << "seed " << seed << ", " << count(steps) << " commands; trading session "
        << format_date(kSessionOpen) << " from " << format_clock(kSessionOpen).substr(0, 5)
        << " China Standard Time\n"
        << "Money is kept in integer fen and printed as CNY; prices are CNY per unit.\n"
        << "Units: P·h = 1 PFLOPS of dense FP16 for one hour; node·h = one 8 x H100 SXM node "
           "for one hour;\n"
        << "       1M-tokens = one million tokens of a 70B-class chat model, as API quota.\n\n";

    out << "Instruments\n"
        << pad_left("id", 3) << "  " << pad_right("symbol", kSymbolWidth) << "  "
        << pad_right("hub", 10) << pad_right("unit", 11) << pad_right("delivery (CST)", 28)
        << pad_right("period", 13) << pad_left("tick", 6) << pad_left("lot", 5)
        << pad_left("band", 7) << pad_left("reference", 11) << '\n';
    for (const Listing& l : catalog.listings) {
        const matching::InstrumentSpec& s = l.spec;
        out << pad_left(std::to_string(s.id), 3) << "  " << pad_right(s.symbol.view(), kSymbolWidth)
            << "  " << pad_right(s.hub.view(), 10) << pad_right(s.unit.view(), 11)
            << pad_right(format_month_day_minute(s.window_start_ns) + " to " +
                             format_month_day_minute(s.window_end_ns),
                         28)
            << pad_right(period_name(l.period), 13) << pad_left(format_cny(s.tick_size), 6)
            << pad_left(group_thousands(s.lot_size), 5) << pad_left("±" + format_bps(s.band_bps), 7)
            << pad_left(format_cny(s.reference_price), 11) << '\n';
    }

    out << "\nParticipants\n"
        << pad_left("account", 7) << "  " << pad_right("name", kNameWidth + 1)
        << pad_right("role", 10) << "about\n";
    for (const Participant& p : catalog.participants) {
        out << pad_left(std::to_string(p.account), 7) << "  " << pad_right(p.name, kNameWidth + 1)
            << pad_right(role_name(p.role), 10) << p.about << '\n';
    }

    out << "\nTape: BUY = a buyer's order took resting offers, SELL = a seller's order hit "
           "resting bids,\n"
        << "      AUCT = filled in a call auction at its single price. Value = quantity x price.\n"
        << pad_right("time", 12) << "  " << pad_right("event", kTagWidth) << "  "
        << pad_right("instrument", kSymbolWidth) << "  detail\n";
}

Tape::Tape(std::ostream& out, const Catalog& catalog) : out_(out), catalog_(catalog) {}

void Tape::line(matching::Timestamp ts, std::string_view tag, InstrumentId instrument,
                std::string_view detail) {
    out_ << format_clock(ts) << "  " << pad_right(tag, kTagWidth) << "  "
         << pad_right(symbol_of(catalog_, instrument), kSymbolWidth) << "  " << detail << '\n';
}

std::string Tape::quantity_text(InstrumentId instrument, Quantity quantity) const {
    return group_thousands(quantity) + " " + unit_of(catalog_, instrument);
}

std::string Tape::describe(const Command& c) const {
    switch (c.type) {
        case CommandType::NewOrder: {
            std::string text(side_word(c.side));
            if (c.order_type == OrderType::Market) {
                text += " market";
            }
            if (c.tif == TimeInForce::IOC && c.order_type != OrderType::Market) {
                text += " IOC";
            } else if (c.tif == TimeInForce::FOK) {
                text += " FOK";
            } else if (c.tif == TimeInForce::GTD) {
                text += " GTD";
            }
            if ((c.flags & matching::kFlagAllOrNone) != 0) {
                text += " all-or-none";
            }
            if ((c.flags & matching::kFlagPostOnly) != 0) {
                text += " post-only";
            }
            text += " " + quantity_text(c.instrument, c.quantity);
            if (c.min_quantity > 0) {
                text += " (min " + group_thousands(c.min_quantity) + ")";
            }
            if (c.price != 0) {
                text +=
                    (c.order_type == OrderType::Market ? " limit " : " @ ") + format_cny(c.price);
            }
            return text;
        }
        case CommandType::Cancel:
            return "cancel order #" + std::to_string(c.order_id);
        case CommandType::Replace:
            return "replace order #" + std::to_string(c.order_id) + " with " +
                   quantity_text(c.instrument, c.quantity) + " @ " + format_cny(c.price);
        case CommandType::MassCancel:
            return "cancel all its orders";
        default:
            return "operator command " + std::to_string(static_cast<int>(c.type));
    }
}

void Tape::on_step(const StepRecord& step) {
    const Command& c = step.command;
    const bool participant_command =
        c.type == CommandType::NewOrder || c.type == CommandType::Cancel ||
        c.type == CommandType::Replace || c.type == CommandType::MassCancel;
    // A scene's note explains its command, so it follows the expiries that the command's
    // time set off (the engine reports those first) and precedes the command's own events.
    bool note_pending = participant_command && !step.note.empty();
    const auto print_note = [&] {
        if (note_pending) {
            line(c.ts_ns, "INFO", c.instrument,
                 std::string(catalog_.name_of(c.account)) + ": " + std::string(step.note));
            note_pending = false;
        }
    };
    // The auction's result heads its fills, although the engine reports it after them.
    for (const Event& e : step.events) {
        if (e.type == EventType::AuctionResult) {
            auction(step, e);
        }
    }
    Quantity mass_cancelled = 0;
    std::uint64_t mass_orders = 0;
    bool booked = false;
    bool traded = false;
    for (const Event& e : step.events) {
        if (e.type != EventType::Cancelled || e.reason != Reason::CancelledExpired) {
            print_note();
        }
        switch (e.type) {
            case EventType::Trade:
                trade(e);
                traded = traded || e.order_id == c.order_id || e.other_order_id == c.order_id;
                break;
            case EventType::Rejected:
                line(e.ts_ns, "REJECT", e.instrument,
                     std::string(catalog_.name_of(c.account)) + ": " + describe(c) + " -> " +
                         std::string(matching::reason_name(e.reason)));
                break;
            case EventType::Booked:
                if (c.type == CommandType::NewOrder && e.order_id == c.order_id) {
                    booked = true;
                    if ((c.flags & matching::kFlagAllOrNone) != 0) {
                        waiting_[e.order_id] = WaitingJob{e.leaves, e.ts_ns};
                        line(e.ts_ns, "AON", e.instrument,
                             std::string(catalog_.name_of(e.account)) + ": " + describe(c) +
                                 " waits: nobody offers all of it at once");
                    }
                }
                break;
            case EventType::Cancelled:
                if (e.reason == Reason::CancelledMassCancel) {
                    mass_cancelled += e.quantity;
                    ++mass_orders;
                } else {
                    cancelled(e);
                }
                waiting_.erase(e.order_id);
                break;
            case EventType::StateChanged:
                state_change(step, e);
                break;
            default:
                break;
        }
    }
    print_note();
    if (mass_orders > 0) {
        line(c.ts_ns, "MASS", c.instrument,
             std::string(catalog_.name_of(c.account)) + ": " + count(mass_orders) + " orders, " +
                 quantity_text(c.instrument, mass_cancelled) + " -> " +
                 std::string(matching::reason_name(Reason::CancelledMassCancel)));
    }
    if (c.type == CommandType::NewOrder && (c.flags & matching::kFlagAllOrNone) != 0 && traded &&
        !booked) {
        line(c.ts_ns, "AON", c.instrument,
             std::string(catalog_.name_of(c.account)) + ": " + describe(c) +
                 " filled whole on arrival");
    }
}

void Tape::state_change(const StepRecord& step, const Event& e) {
    const auto cause = static_cast<CommandType>(e.other_leaves);
    // An uncross ends in continuous trading; its AUCTION line already says so.
    if (cause == CommandType::Uncross) {
        return;
    }
    const std::string detail =
        step.note.empty()
            ? std::string(matching::trading_state_name(static_cast<TradingState>(e.aux)))
            : std::string(step.note);
    line(e.ts_ns, cause_tag(cause), e.instrument, detail);
}

void Tape::auction(const StepRecord& step, const Event& result) {
    std::uint64_t fills = 0;
    for (const Event& e : step.events) {
        if (e.type == EventType::Trade) {
            ++fills;
        }
    }
    const std::string unit = unit_of(catalog_, result.instrument);
    std::string detail;
    if (result.quantity == 0) {
        detail = "uncross: no bid met an offer, nothing traded; continuous trading begins";
    } else {
        detail = "uncross at " + format_cny(result.price) + " CNY per " + unit + ": " +
                 quantity_text(result.instrument, result.quantity) + " in " + count(fills) +
                 " fills";
        if (result.side != Side::None) {
            detail += "; " + quantity_text(result.instrument, result.leaves) + " more " +
                      (result.side == Side::Buy ? "bid" : "offered") + " than matched";
        }
    }
    line(result.ts_ns, "AUCTION", result.instrument, detail);
}

void Tape::trade(const Event& e) {
    const std::string_view tag =
        e.side == Side::Buy ? "BUY" : (e.side == Side::Sell ? "SELL" : "AUCT");
    const std::string detail = pad_right(catalog_.name_of(e.account), kNameWidth) + " <- " +
                               pad_right(catalog_.name_of(e.other_account), kNameWidth) +
                               pad_left(group_thousands(e.quantity), 9) + " " +
                               pad_right(unit_of(catalog_, e.instrument), 9) + " @ " +
                               pad_left(format_cny(e.price), 7) + " = " +
                               pad_left(format_cny(e.price * e.quantity), 13) + " CNY";
    line(e.ts_ns, tag, e.instrument, detail);

    // An all-or-none order fills in one trade for all of its open quantity.
    const std::pair<matching::OrderId, Quantity> sides[] = {{e.order_id, e.leaves},
                                                            {e.other_order_id, e.other_leaves}};
    for (const auto& [id, leaves] : sides) {
        const auto job = waiting_.find(id);
        if (job == waiting_.end() || leaves != 0) {
            continue;
        }
        const std::int64_t waited = (e.ts_ns - job->second.since) / kNsPerSecond;
        const matching::AccountId owner = id == e.order_id ? e.account : e.other_account;
        line(e.ts_ns, "AON", e.instrument,
             std::string(catalog_.name_of(owner)) + ": all-or-none order #" + std::to_string(id) +
                 " filled whole, " + quantity_text(e.instrument, e.quantity) + " @ " +
                 format_cny(e.price) + ", after waiting " + group_thousands(waited) + " s");
        waiting_.erase(job);
    }
}

void Tape::cancelled(const Event& e) {
    const std::string_view tag = cancel_tag(e.reason);
    if (tag.empty()) {
        return;
    }
    std::string detail = std::string(catalog_.name_of(e.account)) + ": " +
                         std::string(side_word(e.side)) + " " +
                         quantity_text(e.instrument, e.quantity);
    if (e.price != 0) {
        detail += " @ " + format_cny(e.price);
    }
    detail += " -> " + std::string(matching::reason_name(e.reason));
    line(e.ts_ns, tag, e.instrument, detail);
}

void print_books(std::ostream& out, const Catalog& catalog, const std::vector<BookSnapshot>& books,
                 matching::Timestamp at) {
    out << "\nOrder books at " << format_clock(at) << " (best " << kBookLevels
        << " levels per side; quantity in each instrument's unit, prices in CNY)\n";
    for (const BookSnapshot& book : books) {
        out << '\n'
            << pad_right(symbol_of(catalog, book.instrument), kSymbolWidth + 2)
            << pad_right(unit_of(catalog, book.instrument), 10)
            << pad_right(matching::trading_state_name(book.state), 12) << "reference "
            << format_cny(book.reference) << '\n';
        out << pad_left("orders", 8) << pad_left("quantity", 12) << pad_left("bid", 10) << "  |"
            << pad_left("ask", 10) << pad_left("quantity", 12) << pad_left("orders", 8) << '\n';
        const std::size_t rows =
            std::min(kBookLevels, std::max(book.bids.size(), book.asks.size()));
        if (rows == 0) {
            out << pad_left("(empty)", 30) << '\n';
        }
        for (std::size_t i = 0; i < rows; ++i) {
            std::string row;
            if (i < book.bids.size()) {
                const matching::LevelView& b = book.bids[i];
                row += pad_left(count(b.order_count), 8) + pad_left(group_thousands(b.total), 12) +
                       pad_left(format_cny(b.price), 10);
            } else {
                row += std::string(30, ' ');
            }
            row += "  |";
            if (i < book.asks.size()) {
                const matching::LevelView& a = book.asks[i];
                row += pad_left(format_cny(a.price), 10) + pad_left(group_thousands(a.total), 12) +
                       pad_left(count(a.order_count), 8);
            }
            out << row << '\n';
        }
        if (!book.bids.empty() && !book.asks.empty() && book.bids[0].price >= book.asks[0].price) {
            out << "  (bid at or above ask: an all-or-none or minimum-quantity order waits for a "
                   "counterpart large enough)\n";
        }
    }
}

void print_summary(std::ostream& out, const Catalog& catalog, const MarketStats& stats,
                   const std::vector<BookSnapshot>& books, std::uint64_t state_hash) {
    out << "Summary per instrument (prices in CNY per unit; VWAP = notional / volume, computed "
           "in integer fen, rounded half up)\n"
        << pad_right("instrument", kSymbolWidth + 2) << pad_right("unit", 10)
        << pad_left("auction", 8) << pad_left("auct. vol", 11) << pad_left("trades", 8)
        << pad_left("volume", 12) << pad_left("VWAP", 8) << pad_left("last", 8)
        << pad_left("notional CNY", 17) << '\n';
    for (const InstrumentStats& s : stats.instruments) {
        out << pad_right(symbol_of(catalog, s.instrument), kSymbolWidth + 2)
            << pad_right(unit_of(catalog, s.instrument), 10)
            << pad_left(s.auction_volume > 0 ? format_cny(s.auction_price) : "-", 8)
            << pad_left(group_thousands(s.auction_volume), 11) << pad_left(count(s.trades), 8)
            << pad_left(group_thousands(s.volume), 12)
            << pad_left(s.volume > 0 ? format_cny(s.vwap()) : "-", 8)
            << pad_left(s.trades > 0 ? format_cny(s.last) : "-", 8)
            << pad_left(format_cny(s.notional), 17) << '\n';
    }
    out << pad_right("all instruments", kSymbolWidth + 2 + 10 + 8 + 11)
        << pad_left(count(stats.trades()), 8) << std::string(12 + 8 + 8, ' ')
        << pad_left(format_cny(stats.notional()), 17) << '\n';

    // The time-of-use spread of each hub: peak VWAP over off-peak VWAP, in hundredths.
    std::string ratios;
    for (const Listing& peak : catalog.listings) {
        if (peak.period != Period::Peak) {
            continue;
        }
        for (const Listing& off : catalog.listings) {
            if (off.period != Period::OffPeak || off.spec.hub.view() != peak.spec.hub.view()) {
                continue;
            }
            const InstrumentStats* p = stats.find(peak.spec.id);
            const InstrumentStats* o = stats.find(off.spec.id);
            if (p == nullptr || o == nullptr || p->volume == 0 || o->volume == 0) {
                continue;
            }
            if (!ratios.empty()) {
                ratios += ", ";
            }
            ratios += std::string(peak.spec.hub.view()) + " " +
                      format_hundredths(divide_round_half_up(p->vwap() * 100, o->vwap())) + "x";
        }
    }
    if (!ratios.empty()) {
        out << "\nPeak / off-peak VWAP: " << ratios << '\n';
    }

    std::uint64_t resting = 0;
    for (const BookSnapshot& book : books) {
        for (const auto* side : {&book.bids, &book.asks}) {
            for (const matching::LevelView& level : *side) {
                resting += level.order_count;
            }
        }
    }
    std::uint64_t auctions = 0;
    for (const InstrumentStats& s : stats.instruments) {
        auctions += s.auctions_uncrossed;
    }
    out << "Commands: " << count(stats.commands) << " (" << count(stats.new_orders)
        << " new orders, " << count(stats.cancels) << " cancels, " << count(stats.replaces)
        << " replaces, " << count(stats.mass_cancels) << " mass cancel, "
        << count(stats.operator_commands) << " operator, " << count(stats.clock_ticks)
        << " clock ticks)\n"
        << "Orders: " << count(stats.accepted) << " accepted, " << count(stats.replaced)
        << " replaced; " << count(stats.trades()) << " trades; " << count(auctions)
        << " auctions uncrossed; " << count(resting) << " orders resting at the end\n"
        << "Rejected: " << counts_by_reason(stats.rejections) << '\n'
        << "Left the book unfilled: " << counts_by_reason(stats.cancellations) << '\n'
        << "Events: " << count(stats.events) << ", seq 1 to " << count(stats.last_sequence)
        << (stats.sequence_gaps == 0 ? " without gaps" : " WITH GAPS") << '\n'
        << "Engine state_hash: " << hex64(state_hash) << '\n';
}

}  // namespace cpx::demo
