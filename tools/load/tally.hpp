#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "histogram.hpp"

namespace cpx::load {

// What one connection counted during a run; the connections' tallies are merged at the
// end. "Counted" figures cover the commands offered inside the measured window; the
// totals cover the whole run, warm-up and drain included, and in a clean run every
// command sent got exactly one answer: commands_acked_total == commands_sent_total.
struct Tally {
    std::uint64_t orders_sent = 0;    // counted
    std::uint64_t cancels_sent = 0;   // counted
    std::uint64_t messages_sent = 0;  // counted unary calls or stream messages with commands
    std::uint64_t orders_acked = 0;   // counted
    std::uint64_t cancels_acked = 0;  // counted
    std::uint64_t orders_traded = 0;  // counted orders whose answer carried a fill

    std::uint64_t commands_sent_total = 0;
    std::uint64_t commands_acked_total = 0;
    // Reports that answer no command: later fills of resting orders, and orders the
    // exchange itself took off the book.
    std::uint64_t unsolicited_reports = 0;
    // Answers to a command this session never sent or that was already answered: a bug
    // on one side or the other.
    std::uint64_t unmatched_reports = 0;
    // Commands never answered: their stream ended first, or the drain timed out.
    std::uint64_t lost_commands = 0;
    // Calls and streams that failed (not refusals, which are answers).
    std::uint64_t errors = 0;

    // Refusals by reason, whole run.
    std::map<std::string, std::uint64_t> order_rejects;
    std::map<std::string, std::uint64_t> cancel_rejects;
    std::map<std::string, std::uint64_t> error_kinds;
    // Non-OK statuses of streams that ended cleanly: after the client's half-close, with
    // every command answered.
    std::map<std::string, std::uint64_t> close_statuses;

    // Offer (or scheduled offer) to answer, of every counted command answered.
    LatencyHistogram latency;

    void merge(const Tally& other);
};

}  // namespace cpx::load
