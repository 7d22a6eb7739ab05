#pragma once
// The client order ids the exchange has answered, per account, with their first
// answer: what makes a retried command harmless. A fixed-size open-addressing table
// allocated once; it remembers the most recent `window` ids and forgets the oldest
// first, so its memory is bounded however long the exchange runs.

#include <cstdint>
#include <vector>

#include "cpx/exchange/outbound.hpp"
#include "cpx/exchange/request.hpp"

namespace cpx::exchange {

struct FirstAnswer {
    OrderId order_id = 0;
    std::uint64_t seq = 0;  // of the report that answered it
    ExecType exec = ExecType::None;
    OrderStatus status = OrderStatus::None;
    Code code = Code::None;
    InstrumentId instrument = 0;
    Side side = Side::None;
};

class ClientIdIndex {
  public:
    explicit ClientIdIndex(std::uint32_t window);

    const FirstAnswer* find(AccountId account, const ClientOrderId& id) const;
    // The id must not be present. Forgets the oldest id when the window is full.
    void insert(AccountId account, const ClientOrderId& id, const FirstAnswer& answer);
    std::uint32_t size() const { return size_; }

  private:
    struct Key {
        AccountId account = 0;
        ClientOrderId id;
    };
    struct Slot {
        std::uint64_t hash = 0;  // 0: empty
        Key key;
        FirstAnswer answer;
    };

    static std::uint64_t hash_of(AccountId account, const ClientOrderId& id);
    std::size_t locate(std::uint64_t hash, AccountId account, const ClientOrderId& id) const;
    void erase(AccountId account, const ClientOrderId& id);

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::vector<Key> fifo_;  // insertion order, a ring of `window` keys
    std::uint32_t fifo_head_ = 0;
    std::uint32_t size_ = 0;
};

}  // namespace cpx::exchange
