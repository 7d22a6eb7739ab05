#include "cpx/exchange/report_log.hpp"

#include <cassert>

namespace cpx::exchange {

void ReportLog::append(const Outbound& record) {
    assert(record.kind == OutKind::Report || record.kind == OutKind::MassCancelDone ||
           record.kind == OutKind::Fill);
    if (size_ == ring_.size()) {
        if (ring_.size() < records_max_ || ring_.empty()) {
            std::vector<Outbound> grown(ring_.empty() ? 64 : ring_.size() * 2);
            for (std::size_t i = 0; i < size_; ++i) {
                grown[i] = at(i);
            }
            ring_.swap(grown);
            head_ = 0;
        } else {
            drop_oldest_report();
        }
    }
    ring_[(head_ + size_) & (ring_.size() - 1)] = record;
    ++size_;
}

void ReportLog::drop_oldest_report() {
    // A report leaves with its fills, so that what stays is always whole.
    assert(size_ > 0);
    do {
        head_ = (head_ + 1) & (ring_.size() - 1);
        --size_;
    } while (size_ > 0 && at(0).kind == OutKind::Fill);
}

std::size_t ReportLog::first_after(std::uint64_t seq) const {
    // Records are in seq order (fills carry their report's seq), so a binary search
    // finds the boundary; a fill at the boundary cannot be first because its report
    // has the same seq.
    std::size_t lo = 0;
    std::size_t hi = size_;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (at(mid).seq <= seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

std::size_t ReportLog::find(std::uint64_t seq) const {
    if (seq == 0) {
        return kNotFound;
    }
    const std::size_t i = first_after(seq - 1);
    if (i == size_ || at(i).seq != seq || at(i).kind == OutKind::Fill) {
        return kNotFound;
    }
    return i;
}

}  // namespace cpx::exchange
