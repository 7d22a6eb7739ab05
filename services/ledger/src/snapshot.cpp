// Ledger snapshots: the format is described at Ledger::save in ledger.hpp. Loading
// trusts nothing: every length is bounds-checked before it is read, every record is
// checked as open_account()/apply() would check it, the ledger's cross-record
// invariants are recomputed, and the state is swapped in only when all of that passed.

#include <cstring>
#include <utility>

#include "cpx/ledger/ledger.hpp"

namespace cpx::ledger {

namespace {

constexpr char kMagic[8] = {'C', 'P', 'X', 'L', 'E', 'D', 'G', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kAccountBytes = 64;
constexpr std::size_t kPendingBytes = 72;

std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t hash = 0xCBF29CE484222325ull;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001B3ull;
    }
    return hash;
}

class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}
    void bytes(const char* data, std::size_t size) { out_.append(data, size); }
    void u16(std::uint16_t v) { little(v, 2); }
    void u32(std::uint32_t v) { little(v, 4); }
    void u64(std::uint64_t v) { little(v, 8); }
    void i64(std::int64_t v) { little(static_cast<std::uint64_t>(v), 8); }

  private:
    void little(std::uint64_t v, int size) {
        for (int i = 0; i < size; ++i) {
            out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
        }
    }
    std::string& out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    std::size_t remaining() const { return in_.size() - pos_; }
    bool bytes(char* data, std::size_t size) {
        if (remaining() < size) {
            return false;
        }
        std::memcpy(data, in_.data() + pos_, size);
        pos_ += size;
        return true;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(little(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(little(4)); }
    std::uint64_t u64() { return little(8); }
    std::int64_t i64() { return static_cast<std::int64_t>(little(8)); }

  private:
    // The caller has checked remaining() for the whole record.
    std::uint64_t little(int size) {
        std::uint64_t v = 0;
        for (int i = 0; i < size; ++i) {
            v |= std::uint64_t{static_cast<unsigned char>(in_[pos_++])} << (8 * i);
        }
        return v;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
};

bool fail(std::string& error, std::string message) {
    error = std::move(message);
    return false;
}

}  // namespace

void Ledger::save(std::string& out) const {
    out.clear();
    const std::vector<Account> accounts_sorted = accounts();
    const std::vector<Transfer> pendings_sorted = pendings();
    out.reserve(8 + 4 + 4 + 8 * 3 + accounts_sorted.size() * kAccountBytes + 8 +
                pendings_sorted.size() * kPendingBytes + 8);
    Writer w(out);
    w.bytes(kMagic, sizeof(kMagic));
    w.u32(kVersion);
    w.u32(0);
    w.u64(last_id_);
    w.u64(issued_);
    w.u64(accounts_sorted.size());
    for (const Account& a : accounts_sorted) {
        w.u64(a.id);
        w.u64(a.owner);
        w.u16(a.purpose);
        w.u16(a.currency);
        w.u32(a.flags);
        w.u64(a.created_seq);
        w.i64(a.debits_pending);
        w.i64(a.debits_posted);
        w.i64(a.credits_pending);
        w.i64(a.credits_posted);
    }
    w.u64(pendings_sorted.size());
    for (const Transfer& t : pendings_sorted) {
        w.u64(t.id);
        w.u64(t.debit_account_id);
        w.u64(t.credit_account_id);
        w.i64(t.amount);
        w.u64(t.pending_id);
        w.u32(t.flags);
        w.u32(t.code);
        w.u64(t.seq);
        w.i64(t.ts_ns);
        w.u64(t.user_data);
    }
    w.u64(fnv1a(out));
}

bool Ledger::load(std::string_view snapshot, std::string& error) {
    // The checksum first: it catches truncation and accidental corruption; the checks
    // below catch a well-formed snapshot of an inconsistent ledger.
    if (snapshot.size() < sizeof(kMagic) + 4 + 4 + 8 * 3 + 8 + 8) {
        return fail(error, "ledger snapshot: truncated header");
    }
    if (std::memcmp(snapshot.data(), kMagic, sizeof(kMagic)) != 0) {
        return fail(error, "ledger snapshot: bad magic");
    }
    const std::string_view body = snapshot.substr(0, snapshot.size() - 8);
    Reader trailer(snapshot.substr(snapshot.size() - 8));
    if (trailer.u64() != fnv1a(body)) {
        return fail(error, "ledger snapshot: checksum mismatch (truncated or corrupted)");
    }

    Reader r(body);
    char magic[sizeof(kMagic)];
    r.bytes(magic, sizeof(magic));
    const std::uint32_t version = r.u32();
    if (version != kVersion) {
        return fail(error, "ledger snapshot: unsupported version " + std::to_string(version));
    }
    if (r.u32() != 0) {
        return fail(error, "ledger snapshot: reserved header field not zero");
    }
    Ledger fresh(config_, sink_);
    fresh.last_id_ = r.u64();
    fresh.issued_ = r.u64();
    if (fresh.last_id_ > kMaxId || fresh.issued_ > kMaxId) {
        return fail(error, "ledger snapshot: transfer id counter beyond bigint");
    }

    const std::uint64_t account_count = r.u64();
    if (account_count > config_.accounts_max) {
        return fail(error, "ledger snapshot: " + std::to_string(account_count) +
                               " accounts exceed accounts_max " +
                               std::to_string(config_.accounts_max));
    }
    if (r.remaining() < account_count * kAccountBytes + 8) {
        return fail(error, "ledger snapshot: truncated accounts");
    }
    std::uint64_t previous_id = 0;
    for (std::uint64_t i = 0; i < account_count; ++i) {
        Account a;
        a.id = r.u64();
        a.owner = r.u64();
        a.purpose = r.u16();
        a.currency = r.u16();
        a.flags = r.u32();
        a.created_seq = r.u64();
        const std::int64_t totals[4] = {r.i64(), r.i64(), r.i64(), r.i64()};
        if (a.id <= previous_id) {
            return fail(error,
                        "ledger snapshot: account ids not increasing at " + std::to_string(a.id));
        }
        previous_id = a.id;
        // open_account checks everything an account may be, with zero totals.
        const Result opened = fresh.open_account(a);
        if (opened != Result::Ok) {
            return fail(error, "ledger snapshot: account " + std::to_string(a.id) + ": " +
                                   std::string(result_name(opened)));
        }
        Account& stored = fresh.accounts_.back();
        stored.debits_pending = totals[0];
        stored.debits_posted = totals[1];
        stored.credits_pending = totals[2];
        stored.credits_posted = totals[3];
        if (totals[0] < 0 || totals[1] < 0 || totals[2] < 0 || totals[3] < 0) {
            return fail(error,
                        "ledger snapshot: account " + std::to_string(a.id) + ": negative total");
        }
        const bool over_credits =
            (a.flags & account_flags::debits_must_not_exceed_credits) != 0 &&
            stored.debits_pending > stored.credits_posted - stored.debits_posted;
        const bool over_debits =
            (a.flags & account_flags::credits_must_not_exceed_debits) != 0 &&
            stored.credits_pending > stored.debits_posted - stored.credits_posted;
        if (over_credits || over_debits) {
            return fail(error, "ledger snapshot: account " + std::to_string(a.id) +
                                   " breaks its balance limit");
        }
    }

    const std::uint64_t pending_count = r.u64();
    if (pending_count > config_.pending_max) {
        return fail(error, "ledger snapshot: " + std::to_string(pending_count) +
                               " pendings exceed pending_max " +
                               std::to_string(config_.pending_max));
    }
    if (r.remaining() != pending_count * kPendingBytes) {
        return fail(error, "ledger snapshot: pending section length mismatch");
    }
    // What the pendings hold, per account (index as in fresh.accounts_).
    std::vector<std::int64_t> debits_pending(fresh.accounts_.size(), 0);
    std::vector<std::int64_t> credits_pending(fresh.accounts_.size(), 0);
    previous_id = 0;
    for (std::uint64_t i = 0; i < pending_count; ++i) {
        Transfer t;
        t.id = r.u64();
        t.debit_account_id = r.u64();
        t.credit_account_id = r.u64();
        t.amount = r.i64();
        t.pending_id = r.u64();
        t.flags = r.u32();
        t.code = r.u32();
        t.seq = r.u64();
        t.ts_ns = r.i64();
        t.user_data = r.u64();
        const std::string where = "ledger snapshot: pending " + std::to_string(t.id) + ": ";
        if (t.id <= previous_id || t.id > fresh.last_id_) {
            return fail(error, where + "id not increasing or beyond the last transfer id");
        }
        previous_id = t.id;
        if (t.flags != transfer_flags::pending || t.pending_id != 0 || t.code < 1 ||
            t.code > code::max || t.amount <= 0 || t.seq == 0 || t.seq > kMaxId || t.ts_ns < 0 ||
            t.debit_account_id == t.credit_account_id) {
            return fail(error, where + "not a valid pending transfer");
        }
        const std::uint32_t debit = fresh.find_account_index(t.debit_account_id);
        const std::uint32_t credit = fresh.find_account_index(t.credit_account_id);
        if (debit == kNone || credit == kNone) {
            return fail(error, where + "account not found");
        }
        if (fresh.accounts_[debit].currency != fresh.accounts_[credit].currency) {
            return fail(error, where + "currencies differ");
        }
        if (__builtin_add_overflow(debits_pending[debit], t.amount, &debits_pending[debit]) ||
            __builtin_add_overflow(credits_pending[credit], t.amount, &credits_pending[credit])) {
            return fail(error, where + "pending totals overflow");
        }
        fresh.insert_pending(t);
    }
    for (std::size_t i = 0; i < fresh.accounts_.size(); ++i) {
        const Account& a = fresh.accounts_[i];
        if (a.debits_pending != debits_pending[i] || a.credits_pending != credits_pending[i]) {
            return fail(error, "ledger snapshot: account " + std::to_string(a.id) +
                                   ": pending totals differ from its pending transfers");
        }
    }
    if (!fresh.totals().balanced()) {
        return fail(error, "ledger snapshot: debits and credits differ");
    }
    *this = std::move(fresh);
    return true;
}

}  // namespace cpx::ledger
