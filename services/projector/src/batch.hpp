#pragma once
// One batch of the projection: what the replica did to money and obligations while it
// applied a run of journal rows, netted (see ledger_projector.hpp), ready to be written
// in one transaction. Internal to cpx_projector.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cpx/exchange/settlement.hpp"
#include "cpx/ledger/ledger.hpp"

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

struct Batch {
    std::uint64_t first_seq = 0;  // the journal rows covered: first_seq..last_seq
    std::uint64_t last_seq = 0;
    std::vector<ledger::Account> accounts;
    std::vector<ledger::Transfer> transfers;  // increasing ids; kNetted ones are skipped
    std::vector<exchange::Obligation> obligations;
    std::vector<EventRow> events;
    std::vector<std::string> notes;
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
class Collector final : public ledger::TransferSink, public exchange::ObligationSink {
  public:
    void begin(Batch* batch) { batch_ = batch; }
    void end() { batch_ = nullptr; }
    // The note of the request being applied (DisputeDelivery, ResolveDispute), or null.
    void set_note(const std::string* note) { note_ = note; }

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
        if (has_note && note_ != nullptr && !note_->empty()) {
            row.note = static_cast<std::int32_t>(batch_->notes.size());
            batch_->notes.push_back(*note_);
        }
        batch_->events.push_back(row);
    }

  private:
    Batch* batch_ = nullptr;
    const std::string* note_ = nullptr;
};

}  // namespace cpx::projector::detail
