#pragma once
// A call waiting for the exchange's answer: a unary RPC, or an order-entry stream.
// Requests name their caller by a token (its address); the dispatcher thread hands
// the answers back through this interface. A caller stays alive until it has received
// the last answer it waits for: a unary call until its answer, a stream until the
// reply to its Logoff.

#include <cstddef>
#include <cstdint>

#include "cpx/exchange/outbound.hpp"

namespace cpx::gateway {

class Caller {
  public:
    // A Reply record: the answer to a query, an administration request, a Logon or a
    // Logoff, or a refusal before the exchange could make a report.
    virtual void on_reply(const exchange::Outbound& reply) = 0;
    // A Report or MassCancelDone record with its fills.
    virtual void on_report(const exchange::Outbound& header, const exchange::Outbound* fills,
                           std::size_t fill_count) = 0;

  protected:
    ~Caller() = default;
};

inline exchange::Token token_of(Caller* caller) {
    return static_cast<exchange::Token>(reinterpret_cast<std::uintptr_t>(caller));
}

inline Caller* caller_of(exchange::Token token) {
    return reinterpret_cast<Caller*>(static_cast<std::uintptr_t>(token));
}

}  // namespace cpx::gateway

namespace cpx::gateway {

// An order-entry stream after its logon: it receives every report of its account, and
// the dispatcher gives it a turn at the end of each round to send what it gathered.
class SessionStream : public Caller {
  public:
    virtual exchange::AccountId account() const = 0;
    // Sends the reports gathered since the last flush as one message.
    virtual void flush() = 0;
    // Called on the dispatcher thread every housekeeping interval: heartbeats and the
    // heartbeat timeout of cancel-on-disconnect.
    virtual void on_timer(std::int64_t now_ns) = 0;

  protected:
    ~SessionStream() = default;
};

}  // namespace cpx::gateway
