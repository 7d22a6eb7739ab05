#pragma once
// One batch of the projection: what the replica did to money, obligations and vouchers
// while it applied a run of journal rows, netted (see ledger_projector.hpp), ready to be
// written in one transaction. Internal to cpx_projector.

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/payload.hpp"
#include "cpx/exchange/settlement.hpp"
#include "cpx/exchange/vouchers.hpp"
#include "cpx/ledger/ledger.hpp"
#include "cpx/surveillance/surveillance.hpp"

namespace cpx::projector::detail {

// A transfer that netting removed keeps its place (so that the vector stays sorted by
// id for the search below) with these flags, and is not written.
inline constexpr std::uint32_t kNetted = 0xFFFFFFFFu;

struct EventRow {
    std::uint64_t obligation_id = 0;
    exchange::ObligationEventKind kind = exchange::ObligationEventKind::Delivered;
    std::uint64_t seq = 0;
    std::int64_t ts_ns = 0;
    std::int64_t delivered_quantity = 0;
    exchange::SettlementAmounts amounts;
    std::int32_t note = -1;  // index into Batch::notes, or -1 (NULL)
};

// A voucher_programs row: the program as the replica holds it after its creation (the
// exchange normalizes the request's spec, for example it sorts the supplier list).
struct ProgramRow {
    exchange::VoucherProgramSpec spec;
    std::uint64_t created_seq = 0;
    std::int64_t created_ts_ns = 0;
};

// A vouchers row.
struct VoucherRow {
    std::uint64_t id = 0;
    std::uint32_t program = 0;
    std::uint64_t beneficiary = 0;
    std::int64_t face_fen = 0;
    std::int64_t expiry_ns = 0;
    std::string ref;
    std::uint64_t granted_seq = 0;
    std::int64_t granted_ts_ns = 0;
};

// A voucher_events row: the event and its place among its request's voucher events.
struct VoucherEventRow {
    exchange::VoucherEvent event;
    std::uint32_t idx = 0;
};

// A journal row of the batch, for the audit log; its body is in Batch::journal_bodies.
struct JournalRow {
    std::uint64_t seq = 0;
    std::int64_t ts_ns = 0;
    std::uint16_t kind = 0;
    std::size_t body_offset = 0;
    std::size_t body_bytes = 0;
};

// An execution_reports row: a report the replica sent an account, with the receipt time
// of the request that caused it; its trades are Batch::report_trades[trades_begin, +count).
struct ReportRow {
    exchange::Outbound report;
    std::uint64_t seq = 0;
    std::uint32_t idx = 0;
    std::int64_t received_ns = 0;  // 0: not stamped (written as NULL)
    std::size_t trades_begin = 0;
    std::size_t trades_count = 0;
};

struct Batch {
    std::uint64_t first_seq = 0;  // the journal rows covered: first_seq..last_seq
    std::uint64_t last_seq = 0;
    std::vector<JournalRow> journal;
    std::string journal_bodies;
    std::vector<ledger::Account> accounts;
    std::vector<ledger::Transfer> transfers;  // increasing ids; kNetted ones are skipped
    std::vector<exchange::Obligation> obligations;
    std::vector<EventRow> events;
    std::vector<std::string> notes;
    std::vector<ProgramRow> voucher_programs;
    std::vector<VoucherRow> vouchers;
    std::vector<VoucherEventRow> voucher_events;
    std::vector<surveillance::Alert> alerts;
    std::vector<ReportRow> reports;
    std::vector<std::uint64_t> report_trades;
    std::uint64_t netted = 0;  // transfers not written
    // A snapshot of the replica after last_seq, written after the batch commits.
    bool has_snapshot = false;
    std::uint64_t snapshot_hash = 0;
    std::string snapshot;

    std::uint64_t requests() const { return last_seq + 1 - first_seq; }
    std::uint64_t transfer_rows() const { return transfers.size() - netted_in_vector; }
    std::uint64_t netted_in_vector = 0;  // entries of `transfers` marked kNetted
};

// The replica's observers: collects into the current batch, or ignores everything while
// there is none (the silent replay up to the stored progress).
class Collector final : public exchange::OutboundSink,
                        public ledger::TransferSink,
                        public exchange::ObligationSink,
                        public exchange::VoucherSink,
                        public surveillance::AlertSink {
  public:
    // The replica's output, obligation and voucher events go on to the surveillance
    // rules too, batch or not.
    void watch_with(surveillance::Surveillance* watcher) { watcher_ = watcher; }

    // Before the replica applies the journal row seq: the receipt time its request
    // carries, for the reports it causes.
    void begin_request(std::uint64_t seq, std::int64_t received_ns) {
        seq_ = seq;
        received_ns_ = received_ns;
        report_idx_ = 0;
        collecting_fills_ = false;
    }

    // Every execution report an account was sent, with the fills that follow it, and
    // every answer to a mass cancel (numbered among the reports). A targeted record (a replay for a
    // reconnecting client, or the first answer again for a repeated client order id) adds nothing
    // to the order's life and is left out.
    void deliver(const exchange::Outbound& out) override {
        if (watcher_ != nullptr) {
            watcher_->deliver(out);
        }
        if (batch_ == nullptr) {
            return;
        }
        if (out.kind == exchange::OutKind::Report ||
            out.kind == exchange::OutKind::MassCancelDone) {
            collecting_fills_ = !out.targeted && !out.duplicate;
            if (!collecting_fills_) {
                return;
            }
            ReportRow row;
            row.report = out;
            row.seq = seq_;
            row.idx = report_idx_++;
            row.received_ns = received_ns_;
            row.trades_begin = batch_->report_trades.size();
            batch_->reports.push_back(row);
        } else if (out.kind == exchange::OutKind::Fill && collecting_fills_) {
            // A fill always follows its report, within the request.
            assert(!batch_->reports.empty() && batch_->reports.back().seq == seq_);
            batch_->report_trades.push_back(out.trade_id);
            ++batch_->reports.back().trades_count;
        }
    }

    void on_alert(const surveillance::Alert& alert) override {
        if (batch_ != nullptr) {
            batch_->alerts.push_back(alert);
        }
    }

    void begin(Batch* batch) {
        batch_ = batch;
        programs_to_describe_ = 0;
    }
    void end() {
        batch_ = nullptr;
        programs_to_describe_ = 0;
    }
    // The payload of the request being applied, or null: the note of DisputeDelivery and
    // ResolveDispute, and the expiry and reference of GrantVoucher, which the events do
    // not carry.
    void set_payload(const exchange::Payload* payload) { payload_ = payload; }

    void on_account(const ledger::Account& account) override {
        if (batch_ != nullptr) {
            batch_->accounts.push_back(account);
        }
    }

    void on_transfer(const ledger::Transfer& t) override {
        if (batch_ == nullptr) {
            return;
        }
        std::vector<ledger::Transfer>& transfers = batch_->transfers;
        const bool resolves = t.flags == ledger::transfer_flags::post_pending ||
                              t.flags == ledger::transfer_flags::void_pending;
        // A resolution of a pending of this batch: ids increase, so the pending is found
        // by binary search among this batch's transfers.
        if (resolves && !transfers.empty() && t.pending_id >= transfers.front().id) {
            const auto it = std::lower_bound(
                transfers.begin(), transfers.end(), t.pending_id,
                [](const ledger::Transfer& x, std::uint64_t id) { return x.id < id; });
            if (it != transfers.end() && it->id == t.pending_id &&
                it->flags == ledger::transfer_flags::pending) {
                it->flags = kNetted;
                ++batch_->netted_in_vector;
                ++batch_->netted;
                if (t.flags == ledger::transfer_flags::post_pending) {
                    ledger::Transfer posted = t;
                    posted.flags = ledger::transfer_flags::posted;
                    posted.pending_id = 0;
                    transfers.push_back(posted);
                } else {
                    ++batch_->netted;  // the void itself
                }
                return;
            }
        }
        transfers.push_back(t);
    }

    void on_obligation(const exchange::ObligationEvent& e) override {
        if (watcher_ != nullptr) {
            watcher_->on_obligation(e);
        }
        if (batch_ == nullptr) {
            return;
        }
        if (e.kind == exchange::ObligationEventKind::Created) {
            batch_->obligations.push_back(e.obligation);
            return;
        }
        EventRow row;
        row.obligation_id = e.obligation.id;
        row.kind = e.kind;
        row.seq = e.seq;
        row.ts_ns = e.ts_ns;
        row.delivered_quantity = e.obligation.delivered_quantity;
        row.amounts = e.amounts;
        const bool has_note = e.kind == exchange::ObligationEventKind::Disputed ||
                              e.kind == exchange::ObligationEventKind::DisputeRejected ||
                              e.kind == exchange::ObligationEventKind::DisputeUpheld;
        if (has_note && payload_ != nullptr && !payload_->note.empty()) {
            row.note = static_cast<std::int32_t>(batch_->notes.size());
            batch_->notes.push_back(payload_->note);
        }
        batch_->events.push_back(row);
    }

    void on_voucher(const exchange::VoucherEvent& e) override {
        if (watcher_ != nullptr) {
            watcher_->on_voucher(e);
        }
        if (batch_ == nullptr) {
            return;
        }
        std::vector<VoucherEventRow>& events = batch_->voucher_events;
        // The events of one request are numbered from 0; a batch holds whole requests in
        // seq order, so the previous event says where the count stands.
        const std::uint32_t idx =
            !events.empty() && events.back().event.seq == e.seq ? events.back().idx + 1 : 0;
        events.push_back(VoucherEventRow{e, idx});
        if (e.kind == exchange::VoucherEventKind::ProgramCreated) {
            ProgramRow row;
            row.spec.id = e.program;
            row.created_seq = e.seq;
            row.created_ts_ns = e.ts_ns;
            batch_->voucher_programs.push_back(std::move(row));
            ++programs_to_describe_;
        } else if (e.kind == exchange::VoucherEventKind::Granted) {
            // Only GrantVoucher grants, one voucher per request, with the expiry and the
            // reference of its payload (the exchange stores them as given).
            VoucherRow row;
            row.id = e.voucher;
            row.program = e.program;
            row.beneficiary = e.beneficiary;
            row.face_fen = e.amount_fen;
            if (payload_ != nullptr) {
                row.expiry_ns = payload_->voucher_expiry_ns;
                row.ref = payload_->voucher_ref;
            }
            row.granted_seq = e.seq;
            row.granted_ts_ns = e.ts_ns;
            batch_->vouchers.push_back(std::move(row));
        }
    }

    // After the request is applied: the programs it created, as the replica now holds
    // them (the sink may not call into the exchange while the request is applied).
    void describe_programs(const exchange::Exchange& exchange) {
        if (batch_ == nullptr || programs_to_describe_ == 0) {
            return;
        }
        const std::vector<exchange::VoucherProgramView> programs = exchange.voucher_programs();
        std::vector<ProgramRow>& rows = batch_->voucher_programs;
        for (std::size_t i = rows.size() - programs_to_describe_; i < rows.size(); ++i) {
            const std::uint32_t id = rows[i].spec.id;
            if (id == 0 || id > programs.size() || programs[id - 1].spec.id != id) {
                throw std::logic_error("projector: the replica has no voucher program " +
                                       std::to_string(id));
            }
            rows[i].spec = programs[id - 1].spec;
        }
        programs_to_describe_ = 0;
    }

  private:
    surveillance::Surveillance* watcher_ = nullptr;
    Batch* batch_ = nullptr;
    std::uint64_t seq_ = 0;
    std::int64_t received_ns_ = 0;
    std::uint32_t report_idx_ = 0;
    bool collecting_fills_ = false;
    const exchange::Payload* payload_ = nullptr;
    std::size_t programs_to_describe_ = 0;  // the last rows of batch_->voucher_programs
};

}  // namespace cpx::projector::detail
