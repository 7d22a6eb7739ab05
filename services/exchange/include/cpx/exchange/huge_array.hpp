#pragma once
// A fixed-size array of plain values in memory the kernel may back with 2 MiB pages.
// The exchange's large tables (the client-id index above all) are read at random on
// every order; with 4 KiB pages nearly every such read also misses the TLB, and with
// huge pages far fewer do. Where the kernel gives no huge pages the array works the same.

#include <sys/mman.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace cpx::exchange {

template <typename T>
class HugeArray {
    static_assert(std::is_trivially_destructible_v<T>, "HugeArray never runs destructors");

  public:
    HugeArray() = default;
    explicit HugeArray(std::size_t count) : count_(count) {
        if (count == 0) {
            return;
        }
        constexpr std::size_t kHuge = std::size_t{2} << 20;
        const std::size_t bytes = (count * sizeof(T) + kHuge - 1) / kHuge * kHuge;
        // One huge page more than needed, so that the array can start on a huge page.
        mapped_bytes_ = bytes + kHuge;
        void* mapped = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED) {
            throw std::bad_alloc();
        }
        mapped_ = mapped;
        const auto address = reinterpret_cast<std::uintptr_t>(mapped);
        auto* start = reinterpret_cast<void*>((address + kHuge - 1) / kHuge * kHuge);
        madvise(start, bytes, MADV_HUGEPAGE);
        data_ = static_cast<T*>(start);
        // Touching every element now puts the page faults at start-up, not on an order.
        for (std::size_t i = 0; i < count; ++i) {
            new (&data_[i]) T();
        }
    }
    ~HugeArray() {
        if (mapped_ != nullptr) {
            munmap(mapped_, mapped_bytes_);
        }
    }
    HugeArray(const HugeArray&) = delete;
    HugeArray& operator=(const HugeArray&) = delete;
    HugeArray(HugeArray&& other) noexcept { swap(other); }
    HugeArray& operator=(HugeArray&& other) noexcept {
        swap(other);
        return *this;
    }

    T& operator[](std::size_t i) {
        assert(i < count_);
        return data_[i];
    }
    const T& operator[](std::size_t i) const {
        assert(i < count_);
        return data_[i];
    }
    std::size_t size() const { return count_; }

  private:
    void swap(HugeArray& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(count_, other.count_);
        std::swap(mapped_, other.mapped_);
        std::swap(mapped_bytes_, other.mapped_bytes_);
    }

    T* data_ = nullptr;
    std::size_t count_ = 0;
    void* mapped_ = nullptr;
    std::size_t mapped_bytes_ = 0;
};

}  // namespace cpx::exchange
