#pragma once
// The client order ids the exchange has answered, per account, with their first
// answer: what makes a retried command harmless. It remembers the most recent `window`
// ids and forgets the oldest first, so its memory is bounded however long the exchange
// runs, and it allocates nothing after construction.
//
// Layout, for speed on every order: entries (key and answer) sit in a ring in insertion
// order, which is also the order they are forgotten in; an open-addressing table of
// 16-byte slots (the key's hash and the entry's position) finds them. A lookup probes the
// small slots and touches one entry only when the hash matches.

#include <cstdint>
#include <utility>

#include "cpx/exchange/huge_array.hpp"
#include "cpx/exchange/outbound.hpp"
#include "cpx/exchange/request.hpp"

namespace cpx::matching {
class SnapshotWriter;
class SnapshotReader;
}  // namespace cpx::matching

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
    // Starts loading the slot where find (and insert) will begin to probe for the id: a
    // table of a million ids misses the cache on nearly every lookup.
    void prefetch(AccountId account, const ClientOrderId& id) const {
        __builtin_prefetch(&slots_[hash_of(account, id) & mask_]);
    }
    // Remembers an id that is not present. Forgets the oldest id when the window is full.
    void insert(AccountId account, const ClientOrderId& id, const FirstAnswer& answer);
    std::uint32_t size() const { return size_; }

    // Snapshots (services/exchange/src/snapshot.cpp): the window and the remembered ids
    // oldest first with their answers. load refills an empty index of the same window,
    // so that the same ids are found, and forgotten in the same order.
    void save(matching::SnapshotWriter& out) const;
    bool load(matching::SnapshotReader& in);

  private:
    struct Entry {
        std::uint64_t hash = 0;  // of account and id: forgetting the entry needs no rehash
        AccountId account = 0;
        ClientOrderId id;
        FirstAnswer answer;
    };
    struct Slot {
        std::uint64_t hash = 0;  // 0: empty
        std::uint64_t entry = 0;
    };

    // Once the window is full, every insert forgets the oldest entry, whose slot is as
    // random as a new id's: the insert asks for the slot of the entry it will forget this
    // many inserts later.
    static constexpr std::uint32_t kForgetAhead = 8;
    static constexpr std::size_t kSlotsPerLine = 64 / sizeof(Slot);

    static std::uint64_t hash_of(AccountId account, const ClientOrderId& id);
    std::size_t locate(std::uint64_t hash, AccountId account, const ClientOrderId& id) const;
    void erase_oldest();

    HugeArray<Slot> slots_;
    std::size_t mask_ = 0;
    HugeArray<Entry> entries_;  // a ring of `window` entries, oldest at head_
    std::uint32_t head_ = 0;
    std::uint32_t size_ = 0;
};

}  // namespace cpx::exchange
