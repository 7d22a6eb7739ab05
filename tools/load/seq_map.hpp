#pragma once
// A map from a command's sequence number (never 0) to what the load generator keeps of
// it until its answer, open-addressed in one array: a node-based std::unordered_map
// allocated and freed a node for every command, which at half a million commands a
// second was a tenth of the generator's CPU, on the cores the measured server shares.
// The array doubles when half full, so it allocates only while the number of commands in
// flight grows.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cpx::load {

template <typename Value>
class SeqMap {
  public:
    SeqMap() : slots_(kInitialSlots) {}

    // Adds key with value, unless key is present: then nothing changes and it returns
    // false (as std::unordered_map::emplace).
    bool insert(std::uint64_t key, const Value& value) {
        assert(key != 0);
        if ((size_ + 1) * 2 > slots_.size()) {
            grow();
        }
        std::size_t i = home(key);
        while (slots_[i].key != 0 && slots_[i].key != key) {
            i = (i + 1) & mask();
        }
        if (slots_[i].key == key) {
            return false;
        }
        ++size_;
        slots_[i] = Slot{key, value};
        return true;
    }

    // The value of key, or nullptr.
    Value* find(std::uint64_t key) {
        const std::size_t i = locate(key);
        return i == kNone ? nullptr : &slots_[i].value;
    }

    // Removes key; false when absent.
    bool erase(std::uint64_t key) {
        std::size_t hole = locate(key);
        if (hole == kNone) {
            return false;
        }
        --size_;
        // Backward-shift deletion: every remaining key stays reachable from its home
        // slot, with no tombstones.
        for (std::size_t j = (hole + 1) & mask(); slots_[j].key != 0; j = (j + 1) & mask()) {
            const std::size_t h = home(slots_[j].key);
            if (((j - h) & mask()) >= ((j - hole) & mask())) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole].key = 0;
        return true;
    }

    std::size_t size() const { return size_; }

    void clear() {
        for (Slot& slot : slots_) {
            slot.key = 0;
        }
        size_ = 0;
    }

  private:
    static constexpr std::size_t kInitialSlots = 1024;  // a power of two
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    struct Slot {
        std::uint64_t key = 0;  // 0: empty
        Value value{};
    };

    std::size_t mask() const { return slots_.size() - 1; }
    // Sequence numbers are consecutive: a multiplicative hash spreads them, so that the
    // clusters of linear probing stay short.
    std::size_t home(std::uint64_t key) const {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask();
    }

    std::size_t locate(std::uint64_t key) const {
        for (std::size_t i = home(key);; i = (i + 1) & mask()) {
            if (slots_[i].key == key) {
                return i;
            }
            if (slots_[i].key == 0) {
                return kNone;
            }
        }
    }

    void grow() {
        std::vector<Slot> old(slots_.size() * 2);
        std::swap(old, slots_);
        size_ = 0;
        for (const Slot& slot : old) {
            if (slot.key != 0) {
                insert(slot.key, slot.value);
            }
        }
    }

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
};

}  // namespace cpx::load
