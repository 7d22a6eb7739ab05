#include "cpx/exchange/client_id_index.hpp"

#include <cassert>

namespace cpx::exchange {

namespace {
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool same(AccountId a_account, const ClientOrderId& a_id, AccountId b_account,
          const ClientOrderId& b_id) {
    return a_account == b_account && a_id.bytes == b_id.bytes;
}
}  // namespace

ClientIdIndex::ClientIdIndex(std::uint32_t window) {
    assert(window > 0);
    std::size_t slots = 16;
    while (slots < std::size_t{window} * 2) {
        slots *= 2;
    }
    slots_.resize(slots);
    mask_ = slots - 1;
    fifo_.resize(window);
}

std::uint64_t ClientIdIndex::hash_of(AccountId account, const ClientOrderId& id) {
    // FNV-1a over the account and the id's bytes, then a final mix so that ids that
    // differ in one trailing digit land far apart.
    std::uint64_t h = 14695981039346656037ull;
    for (int shift = 0; shift < 32; shift += 8) {
        h = (h ^ ((account >> shift) & 0xFFu)) * 1099511628211ull;
    }
    for (const char c : id.bytes) {
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
        if (slot.hash == hash && same(slot.key.account, slot.key.id, account, id)) {
            return i;
        }
    }
}

const FirstAnswer* ClientIdIndex::find(AccountId account, const ClientOrderId& id) const {
    const std::size_t i = locate(hash_of(account, id), account, id);
    return i == kNone ? nullptr : &slots_[i].answer;
}

void ClientIdIndex::insert(AccountId account, const ClientOrderId& id, const FirstAnswer& answer) {
    const std::uint32_t window = static_cast<std::uint32_t>(fifo_.size());
    if (size_ == window) {
        const Key oldest = fifo_[fifo_head_];
        erase(oldest.account, oldest.id);
    }
    const std::uint64_t hash = hash_of(account, id);
    assert(locate(hash, account, id) == kNone);
    std::size_t i = hash & mask_;
    while (slots_[i].hash != 0) {
        i = (i + 1) & mask_;
    }
    slots_[i] = Slot{hash, Key{account, id}, answer};
    fifo_[(fifo_head_ + size_) % window] = Key{account, id};
    ++size_;
}

void ClientIdIndex::erase(AccountId account, const ClientOrderId& id) {
    // Only the oldest key is ever erased, so the FIFO's head moves with it.
    const std::uint32_t window = static_cast<std::uint32_t>(fifo_.size());
    std::size_t hole = locate(hash_of(account, id), account, id);
    assert(hole != kNone);
    fifo_head_ = (fifo_head_ + 1) % window;
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
