#pragma once
// The recent execution reports of one account, kept so that a stream that reconnects
// can ask for the reports it missed and a repeated client order id can be answered
// with its first answer. A ring that grows by doubling up to a retention limit, then
// forgets its oldest reports whole.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpx/exchange/outbound.hpp"

namespace cpx::matching {
class SnapshotWriter;
class SnapshotReader;
}  // namespace cpx::matching

namespace cpx::exchange {

class ReportLog {
  public:
    static constexpr std::size_t kNotFound = static_cast<std::size_t>(-1);

    explicit ReportLog(std::size_t records_max) : records_max_(records_max) {}

    // Appends a Report or MassCancelDone record or a Fill that belongs to the last one.
    void append(const Outbound& record);

    std::size_t size() const { return size_; }
    const Outbound& at(std::size_t i) const { return ring_[(head_ + i) & (ring_.size() - 1)]; }

    // The position of the report numbered seq, or kNotFound when it is not (or no
    // longer) kept.
    std::size_t find(std::uint64_t seq) const;
    // The position of the first report numbered above seq (size() when there is none).
    std::size_t first_after(std::uint64_t seq) const;

    // Snapshots (services/exchange/src/snapshot.cpp): the kept records in order and the
    // ring's size, which decides when the log grows and when it starts to forget.
    void save(matching::SnapshotWriter& out) const;
    bool load(matching::SnapshotReader& in);

  private:
    void drop_oldest_report();

    std::size_t records_max_;
    std::vector<Outbound> ring_;  // power-of-two size
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace cpx::exchange
