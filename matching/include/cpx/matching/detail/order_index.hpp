#pragma once

#include <bit>
#include <cassert>
#include <cstdint>
#include <vector>

#include "cpx/matching/types.hpp"

namespace cpx::matching::detail {

// Maps a live order id to its slot in the order pool. Open addressing with linear
// probing and backward-shift deletion (no tombstones, so probe lengths never degrade
// under the new/cancel churn of real flow). Sized once, to at least twice the pool,
// so the load factor stays at or below one half and nothing is allocated later.
class OrderIndex {
  public:
    static constexpr std::uint32_t kMissing = 0xFFFFFFFFu;

    explicit OrderIndex(std::uint32_t capacity_orders) {
        std::size_t slots = 16;
        while (slots < std::size_t{capacity_orders} * 2) {
            slots <<= 1;
        }
        keys_.assign(slots, 0);
        values_.assign(slots, kMissing);
        mask_ = slots - 1;
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(slots));
    }

    std::size_t bytes() const { return keys_.size() * (sizeof(OrderId) + sizeof(std::uint32_t)); }

    std::uint32_t find(OrderId id) const {
        assert(id != 0);
        for (std::size_t i = home(id);; i = (i + 1) & mask_) {
            if (keys_[i] == id) {
                return values_[i];
            }
            if (keys_[i] == 0) {
                return kMissing;
            }
        }
    }

    // Inserts id, which must not be present.
    void insert(OrderId id, std::uint32_t value) {
        assert(id != 0);
        std::size_t i = home(id);
        while (keys_[i] != 0) {
            assert(keys_[i] != id);
            i = (i + 1) & mask_;
        }
        keys_[i] = id;
        values_[i] = value;
    }

    // Removes id, which must be present.
    void erase(OrderId id) {
        std::size_t i = home(id);
        while (keys_[i] != id) {
            assert(keys_[i] != 0);
            i = (i + 1) & mask_;
        }
        // Backward-shift: pull later entries of the same probe run into the hole so
        // that every remaining key stays reachable from its home slot.
        std::size_t hole = i;
        for (std::size_t j = (hole + 1) & mask_; keys_[j] != 0; j = (j + 1) & mask_) {
            const std::size_t h = home(keys_[j]);
            const bool movable = ((j - h) & mask_) >= ((j - hole) & mask_);
            if (movable) {
                keys_[hole] = keys_[j];
                values_[hole] = values_[j];
                hole = j;
            }
        }
        keys_[hole] = 0;
        values_[hole] = kMissing;
    }

  private:
    // Ids from the sequencer are consecutive, so consecutive ids get nearby home slots,
    // three apart: a new order's slot is in a cache line and a page that recent orders
    // already touched, instead of a random line of a table tens of megabytes large (a
    // cache and TLB miss on every new order, which cost more than half the engine's time
    // on realistic flow). The stride of three, odd and so a bijection modulo the table
    // size, leaves two free slots between consecutive ids: any run of consecutive live
    // ids within one block of 2^32, up to the table's load limit, forms clusters of at
    // most two, so lookups and the backward-shift erase stay short even for a book of a
    // million orders entered in a row. The upper 32 bits are hashed and added, so ids
    // that differ only there (a prefix per gateway or per session) still spread out. The
    // price of locality: unlike a fully mixing hash, many live ids that share their low
    // bits (all multiples of 2^10, say) crowd the same slots and make probes longer.
    // Ids below 2^32, the sequencer's for years of trading, skip the multiplication.
    std::size_t home(OrderId id) const {
        const std::uint64_t upper = id >> 32;
        const std::uint64_t high = upper == 0 ? 0 : (upper * 0x9E3779B97F4A7C15ull) >> shift_;
        return static_cast<std::size_t>(id * 3 + high) & mask_;
    }

    std::vector<OrderId> keys_;
    std::vector<std::uint32_t> values_;
    std::size_t mask_ = 0;
    unsigned shift_ = 0;
};

}  // namespace cpx::matching::detail
