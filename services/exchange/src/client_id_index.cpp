#include "cpx/exchange/client_id_index.hpp"

#include <cassert>

namespace cpx::exchange {

namespace {
constexpr std::size_t kNone = static_cast<std::size_t>(-1);
}  // namespace

ClientIdIndex::ClientIdIndex(std::uint32_t window) {
    assert(window > 0);
    // At most half full, so that probe sequences stay short.
    std::size_t slots = 16;
    while (slots < std::size_t{window} * 2) {
        slots *= 2;
    }
    slots_ = HugeArray<Slot>(slots);
    mask_ = slots - 1;
    entries_ = HugeArray<Entry>(window);
}

std::uint64_t ClientIdIndex::hash_of(AccountId account, const ClientOrderId& id) {
    // FNV-1a over the account and the id's bytes up to its end, then a final mix so that
    // ids that differ in one trailing digit land far apart.
    std::uint64_t h = 14695981039346656037ull ^ account;
    h *= 1099511628211ull;
    for (const char c : id.bytes) {
        if (c == '\0') {
            break;
        }
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h == 0 ? 1 : h;
}

std::size_t ClientIdIndex::locate(std::uint64_t hash, AccountId account,
                                  const ClientOrderId& id) const {
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
        const Slot& slot = slots_[i];
        if (slot.hash == 0) {
            return kNone;
        }
        if (slot.hash == hash) {
            const Entry& e = entries_[slot.entry];
            if (e.account == account && e.id.bytes == id.bytes) {
                return i;
            }
        }
    }
}

const FirstAnswer* ClientIdIndex::find(AccountId account, const ClientOrderId& id) const {
    const std::size_t i = locate(hash_of(account, id), account, id);
    return i == kNone ? nullptr : &entries_[slots_[i].entry].answer;
}

void ClientIdIndex::insert(AccountId account, const ClientOrderId& id, const FirstAnswer& answer) {
    const auto window = static_cast<std::uint32_t>(entries_.size());
    if (size_ == window) {
        erase_oldest();
    }
    // Two steps ahead of forgetting: the entry forgotten 2 * kForgetAhead inserts later
    // (its hash is read at the next step), and the slots of the one forgotten kForgetAhead
    // inserts later: its own, and the next line's, since the backward shift that forgets
    // it walks on past its slot, into the next line about half the time.
    if (size_ + 2 * kForgetAhead >= window) {
        __builtin_prefetch(&entries_[(head_ + 2 * kForgetAhead) % window]);
    }
    if (size_ + kForgetAhead >= window) {
        const std::size_t home = entries_[(head_ + kForgetAhead) % window].hash & mask_;
        __builtin_prefetch(&slots_[home]);
        __builtin_prefetch(&slots_[(home + kSlotsPerLine) & mask_]);
    }
    const std::uint32_t position = (head_ + size_) % window;
    const std::uint64_t hash = hash_of(account, id);
    entries_[position] = Entry{hash, account, id, answer};
    std::size_t i = hash & mask_;
    while (slots_[i].hash != 0) {
        // The probe walks the id's own chain, so a present id would be met here.
        assert(slots_[i].hash != hash || entries_[slots_[i].entry].account != account ||
               entries_[slots_[i].entry].id.bytes != id.bytes);
        i = (i + 1) & mask_;
    }
    slots_[i] = Slot{hash, position};
    ++size_;
}

void ClientIdIndex::erase_oldest() {
    const Entry& oldest = entries_[head_];
    std::size_t hole = locate(oldest.hash, oldest.account, oldest.id);
    assert(hole != kNone);
    head_ = (head_ + 1) % static_cast<std::uint32_t>(entries_.size());
    --size_;
    // Backward-shift deletion keeps every remaining key reachable from its home slot
    // without tombstones.
    for (std::size_t j = (hole + 1) & mask_; slots_[j].hash != 0; j = (j + 1) & mask_) {
        const std::size_t home = slots_[j].hash & mask_;
        const bool movable = ((j - home) & mask_) >= ((j - hole) & mask_);
        if (movable) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole].hash = 0;
}

}  // namespace cpx::exchange
