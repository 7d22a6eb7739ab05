#pragma once
// A bounded single-producer single-consumer ring of variable-size journal records: the
// sequencer writes each request's encoding into it without allocating, and the journal
// writer thread drains it in batches. A record may wrap around the end of the buffer;
// both sides copy in at most two pieces.

#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cpx::journal {

// What precedes each record's body in the ring.
struct RecordHeader {
    std::uint64_t seq;
    std::int64_t ts_ns;
    std::uint32_t body_bytes;
    std::uint16_t kind;  // a RequestType, or kCheckpointKind
    std::uint16_t reserved;
};
static_assert(sizeof(RecordHeader) == 24);

// A checkpoint travels through the ring as a record of this kind; its body is the state
// hash (8 bytes) after the request numbered seq.
inline constexpr std::uint16_t kCheckpointKind = 0;

class RecordRing {
  public:
    explicit RecordRing(std::size_t capacity_bytes)
        : buffer_(capacity_bytes), mask_(capacity_bytes - 1) {
        assert(capacity_bytes >= 4096 && (capacity_bytes & mask_) == 0);
    }

    // Producer. False when the record does not fit now (the consumer is behind).
    bool try_write(const RecordHeader& header, std::string_view body) {
        const std::size_t need = sizeof(RecordHeader) + body.size();
        assert(need <= buffer_.size());
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (head + need - tail_cache_ > buffer_.size()) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head + need - tail_cache_ > buffer_.size()) {
                return false;
            }
        }
        put(head, &header, sizeof header);
        put(head + sizeof header, body.data(), body.size());
        head_.store(head + need, std::memory_order_seq_cst);
        return true;
    }

    // The largest record the ring can ever take.
    std::size_t record_bytes_max() const { return buffer_.size(); }

    // Consumer. Reads the next record into header and body; false when the ring is
    // empty.
    bool try_read(RecordHeader& header, std::string& body) {
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail == head_cache_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail == head_cache_) {
                return false;
            }
        }
        get(tail, &header, sizeof header);
        body.resize(header.body_bytes);
        get(tail + sizeof header, body.data(), header.body_bytes);
        tail_.store(tail + sizeof header + header.body_bytes, std::memory_order_release);
        return true;
    }

    bool empty() const {
        return tail_.load(std::memory_order_acquire) == head_.load(std::memory_order_acquire);
    }
    // The producer's position, for a consumer that waits on it.
    std::uint64_t head() const { return head_.load(std::memory_order_seq_cst); }
    const std::atomic<std::uint64_t>& head_atomic() const { return head_; }
    std::atomic<std::uint64_t>& head_atomic() { return head_; }

  private:
    void put(std::uint64_t at, const void* data, std::size_t bytes) {
        const std::size_t offset = static_cast<std::size_t>(at) & mask_;
        const std::size_t first = std::min(bytes, buffer_.size() - offset);
        std::memcpy(buffer_.data() + offset, data, first);
        std::memcpy(buffer_.data(), static_cast<const char*>(data) + first, bytes - first);
    }
    void get(std::uint64_t at, void* data, std::size_t bytes) const {
        const std::size_t offset = static_cast<std::size_t>(at) & mask_;
        const std::size_t first = std::min(bytes, buffer_.size() - offset);
        std::memcpy(data, buffer_.data() + offset, first);
        std::memcpy(static_cast<char*>(data) + first, buffer_.data(), bytes - first);
    }

    std::vector<char> buffer_;
    std::size_t mask_;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::uint64_t tail_cache_ = 0;  // producer's
    alignas(64) std::atomic<std::uint64_t> tail_{0};
    std::uint64_t head_cache_ = 0;  // consumer's
};

}  // namespace cpx::journal
