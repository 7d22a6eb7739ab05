#include "tally.hpp"

namespace cpx::load {

namespace {

void merge_counts(std::map<std::string, std::uint64_t>& into,
                  const std::map<std::string, std::uint64_t>& from) {
    for (const auto& [name, count] : from) {
        into[name] += count;
    }
}

}  // namespace

void Tally::merge(const Tally& other) {
    orders_sent += other.orders_sent;
    cancels_sent += other.cancels_sent;
    messages_sent += other.messages_sent;
    orders_acked += other.orders_acked;
    cancels_acked += other.cancels_acked;
    orders_traded += other.orders_traded;
    commands_sent_total += other.commands_sent_total;
    commands_acked_total += other.commands_acked_total;
    unsolicited_reports += other.unsolicited_reports;
    unmatched_reports += other.unmatched_reports;
    lost_commands += other.lost_commands;
    errors += other.errors;
    merge_counts(order_rejects, other.order_rejects);
    merge_counts(cancel_rejects, other.cancel_rejects);
    merge_counts(error_kinds, other.error_kinds);
    merge_counts(close_statuses, other.close_statuses);
    latency.merge(other.latency);
}

}  // namespace cpx::load
