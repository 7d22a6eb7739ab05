#pragma once
// What the order path needs of a durable journal. The sequencer shows it every request
// that changes state, stamped and applied, in order; the journal makes them durable in
// batches and reports how far it got. The pipeline holds every answer back until the
// request behind it is durable: nothing leaves cpxd that a crash could take back.

#include <cstdint>

#include "cpx/exchange/request.hpp"

namespace cpx::journal {

class RequestJournal {
  public:
    virtual ~RequestJournal() = default;

    // Sequencer thread. The number the next appended request gets; numbers start at 1
    // and have no gaps.
    virtual std::uint64_t next_seq() const = 0;
    // Sequencer thread. Records a stamped, applied request under next_seq(). Waits
    // while the journal's buffer is full: durability bounds the throughput.
    virtual void append(const exchange::Request& request) = 0;
    // Sequencer thread. The exchange's state hash after the last appended request, for
    // recovery to compare against.
    virtual void checkpoint(std::uint64_t state_hash) = 0;
    // Any thread. Every request numbered up to this is durable.
    virtual std::uint64_t durable_seq() const = 0;
};

}  // namespace cpx::journal
