#pragma once
// The exchange's open delivery obligations: an array of at most `capacity` Obligations in
// id order, appended to on every trade and compacted after settlement.
//
// A std::vector would reallocate as trades accumulate, copying up to hundreds of MB on
// the sequencer thread between two orders. This table instead reserves address space for
// its whole capacity at construction and lets the kernel back it page by page as it
// fills (nothing is touched up front, so an idle exchange costs no memory), so that
// appending never allocates or moves an element. Pages stay backed at the high-water mark.

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <new>

#include "cpx/exchange/settlement.hpp"

namespace cpx::exchange {

class ObligationTable {
  public:
    explicit ObligationTable(std::size_t capacity) : capacity_(capacity) {
        if (capacity == 0) {
            return;
        }
        bytes_ = capacity * sizeof(Obligation);
        void* mapped = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mapped == MAP_FAILED) {
            throw std::bad_alloc();
        }
        data_ = static_cast<Obligation*>(mapped);
    }
    ~ObligationTable() {
        if (data_ != nullptr) {
            munmap(data_, bytes_);
        }
    }
    ObligationTable(const ObligationTable&) = delete;
    ObligationTable& operator=(const ObligationTable&) = delete;

    std::size_t size() const { return size_; }
    std::size_t capacity() const { return capacity_; }
    bool empty() const { return size_ == 0; }

    Obligation* begin() { return data_; }
    Obligation* end() { return data_ + size_; }
    const Obligation* begin() const { return data_; }
    const Obligation* end() const { return data_ + size_; }
    Obligation& back() {
        assert(size_ > 0);
        return data_[size_ - 1];
    }
    const Obligation& back() const {
        assert(size_ > 0);
        return data_[size_ - 1];
    }

    // The caller keeps size() below capacity() (the exchange refuses orders that could
    // overflow it).
    void push_back(const Obligation& o) {
        assert(size_ < capacity_);
        new (&data_[size_]) Obligation(o);
        ++size_;
    }

    // Removes every obligation `drop` is true for, keeping the others in order.
    template <typename Predicate>
    void erase_if(Predicate drop) {
        size_ = static_cast<std::size_t>(std::remove_if(begin(), end(), drop) - begin());
    }

    void clear() { size_ = 0; }

  private:
    Obligation* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace cpx::exchange
