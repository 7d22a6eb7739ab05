#pragma once
// The exchange's double-entry ledger, in memory and deterministic.
//
// The exchange (a single-threaded state machine) keeps all its money here: every
// reservation, fill, settlement, fee, refund and penalty is one Transfer that debits one
// Account and credits another by the same positive amount, so money is only ever moved,
// never created or lost. Every transfer the ledger accepts is also written to
// PostgreSQL's `transfers` table (db/migrations/0002_ledger.sql), whose triggers check
// the same rules again; this library therefore implements EXACTLY the semantics of that
// schema, applied one transfer at a time (TigerBeetle style):
//
//   * an account has four running totals, debits/credits x pending/posted, each >= 0
//     and within int64 (a transfer that would overflow one is refused);
//   * account flag 1 (debits_must_not_exceed_credits) keeps
//     debits_pending + debits_posted <= credits_posted: a money account cannot go below
//     zero, and money held by a pending transfer cannot be spent twice; flag 2 is the
//     mirror (credits_pending + credits_posted <= debits_posted); neither = unlimited;
//   * a single-phase transfer (flags 0) adds its amount to the debit account's
//     debits_posted and the credit account's credits_posted;
//   * a pending transfer (flags 1) adds its amount to the pending totals instead; it is
//     resolved at most once, by a post (flags 2: names the pending and its two accounts,
//     amount <= the pending's; moves `amount` to the posted totals and releases the
//     rest) or a void (flags 4: same accounts, amount == the pending's; releases it all),
//     at a journal seq not before the pending's.
//
// Where the ledger is stricter than the schema (it never accepts what PostgreSQL would
// refuse, but refuses a few things PostgreSQL would accept), it says so below: transfer
// ids must increase, and the ledger remembers only unresolved pending transfers.
//
// Determinism: nothing observable (state_hash, save, totals, accounts(), pendings())
// depends on the ledger's internal layout or history, only on its logical state:
// accounts and pendings are always visited in id order. The per-transfer path (apply)
// does not allocate: every table is sized from LedgerConfig at construction.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cpx::ledger {

// Every id, seq and total must fit PostgreSQL's bigint.
inline constexpr std::uint64_t kMaxId =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// ledger_purposes: why an account exists.
namespace purpose {
inline constexpr std::uint16_t available = 1;            // the owner's own money
inline constexpr std::uint16_t reserved = 2;             // held for resting buy orders
inline constexpr std::uint16_t escrow = 3;               // paid for fills, awaiting delivery
inline constexpr std::uint16_t provider_collateral = 4;  // lost on failed delivery
inline constexpr std::uint16_t fees = 5;                 // the exchange's revenue
inline constexpr std::uint16_t external_deposits = 6;    // money enters and leaves here
inline constexpr std::uint16_t voucher_budget = 7;       // a voucher issuer's budget
inline constexpr std::uint16_t penalties_payable = 8;    // penalties owed
inline constexpr std::uint16_t max = 8;
}  // namespace purpose

// ledger_accounts.flags: exactly one of these values (both bits would freeze an account).
namespace account_flags {
inline constexpr std::uint32_t none = 0;
inline constexpr std::uint32_t debits_must_not_exceed_credits = 1;
inline constexpr std::uint32_t credits_must_not_exceed_debits = 2;
}  // namespace account_flags

// transfers.flags: exactly one of these values.
namespace transfer_flags {
inline constexpr std::uint32_t posted = 0;  // single phase
inline constexpr std::uint32_t pending = 1;
inline constexpr std::uint32_t post_pending = 2;
inline constexpr std::uint32_t void_pending = 4;
}  // namespace transfer_flags

// transfer_codes: why money moved.
namespace code {
inline constexpr std::uint32_t deposit = 1;
inline constexpr std::uint32_t withdrawal = 2;
inline constexpr std::uint32_t reserve = 3;
inline constexpr std::uint32_t release = 4;
inline constexpr std::uint32_t fill_to_escrow = 5;
inline constexpr std::uint32_t settle_to_provider = 6;
inline constexpr std::uint32_t fee = 7;
inline constexpr std::uint32_t refund = 8;
inline constexpr std::uint32_t penalty = 9;
inline constexpr std::uint32_t voucher = 10;
inline constexpr std::uint32_t max = 10;
}  // namespace code

inline constexpr std::uint16_t kCurrencyCny = 156;  // ISO 4217
// ledger_accounts.currency is a smallint > 0.
inline constexpr std::uint16_t kCurrencyMax = 32767;

// Deterministic account ids: one account per (owner, purpose); the exchange's own
// accounts (owner 0) are 1..15. Owners must be below 2^59 for the id to fit a bigint.
constexpr std::uint64_t account_id(std::uint64_t owner, std::uint16_t purpose_value) {
    return owner * 16 + purpose_value;
}

// Why open_account() or apply() refused (or Ok). Checks run in the order listed for
// each call (see open_account and apply), and the first failure is the result.
enum class Result : std::uint8_t {
    Ok = 0,
    // Identity.
    IdZero,           // id (account or transfer) is 0
    IdTooLarge,       // id does not fit a bigint (> 2^63 - 1)
    IdNotIncreasing,  // transfer id <= the greatest id applied: a replay or out of order
    // Accounts (open_account).
    AccountExists,        // an account with this id is open
    AccountKeyExists,     // an account with this (owner, purpose, currency) is open
    OwnerTooLarge,        // owner does not fit a bigint
    PurposeInvalid,       // not 1..8
    CurrencyInvalid,      // 0 or beyond smallint
    AccountFlagsInvalid,  // not 0, 1 or 2
    TotalsNotZero,        // an account opens empty: money arrives only by transfer
    CreatedSeqInvalid,    // created_seq does not fit a bigint (0 = not recorded)
    AccountsFull,         // accounts_max accounts are open
    // Transfers (apply).
    FlagsInvalid,           // not 0, 1, 2 or 4
    PendingIdInvalid,       // pending_id set on flags 0/1, or missing on flags 2/4
    CodeInvalid,            // not 1..10
    AmountNotPositive,      // amount <= 0
    SeqInvalid,             // seq 0 or beyond bigint
    TimestampInvalid,       // ts_ns < 0
    SameAccount,            // debit and credit account are the same
    DebitAccountNotFound,   // no account has debit_account_id
    CreditAccountNotFound,  // no account has credit_account_id
    CurrencyDiffers,        // the two accounts hold different currencies
    PendingNotFound,        // no unresolved pending transfer has pending_id (see apply)
    PendingAccountsDiffer,  // a resolution names other accounts than its pending
    AmountExceedsPending,   // a post for more than the pending holds
    VoidAmountDiffers,      // a void for other than exactly what the pending holds
    SeqBeforePending,       // a resolution at a journal seq before its pending's
    PendingsFull,           // pending_max unresolved pending transfers exist
    Overflow,               // a total would exceed 2^63 - 1
    ExceedsCredits,         // an account with flag 1 would have debits > credits
    ExceedsDebits,          // an account with flag 2 would have credits > debits
};
inline constexpr std::uint8_t kResultCount = static_cast<std::uint8_t>(Result::ExceedsDebits) + 1;

// "ok", "id_zero", ... (snake_case of the enumerator); "unknown" for other values.
std::string_view result_name(Result result);

// One row of ledger_accounts. 64 bytes, no padding.
struct Account {
    std::uint64_t id = 0;
    std::uint64_t owner = 0;  // the exchange account id; 0 = the exchange itself
    std::uint16_t purpose = 0;
    std::uint16_t currency = kCurrencyCny;
    std::uint32_t flags = account_flags::none;
    std::uint64_t created_seq = 0;  // the journal seq that opened it; 0 = not recorded (NULL)
    std::int64_t debits_pending = 0;
    std::int64_t debits_posted = 0;
    std::int64_t credits_pending = 0;
    std::int64_t credits_posted = 0;

    // credits_posted - debits_posted: what a money account holds, pending debits
    // included (never overflows: both totals are >= 0).
    std::int64_t credit_balance() const { return credits_posted - debits_posted; }
    // debits_posted - credits_posted: what an account of the outside world (external
    // deposits) has paid in, net.
    std::int64_t debit_balance() const { return debits_posted - credits_posted; }
    // credits_posted - debits_posted - debits_pending: what a debit-limited (flag 1)
    // account may still spend; >= 0 there. Saturates at INT64_MIN for other accounts.
    std::int64_t available() const {
        std::int64_t result = 0;
        if (__builtin_sub_overflow(credit_balance(), debits_pending, &result)) {
            return std::numeric_limits<std::int64_t>::min();
        }
        return result;
    }
    friend bool operator==(const Account&, const Account&) = default;
};
static_assert(std::is_trivially_copyable_v<Account>);
static_assert(std::has_unique_object_representations_v<Account>, "Account has padding");
static_assert(sizeof(Account) == 64);

// One row of transfers. 72 bytes, trivially copyable and without padding, so that the
// exchange can copy it byte for byte into its output records and hash those bytes.
struct Transfer {
    std::uint64_t id = 0;
    std::uint64_t debit_account_id = 0;
    std::uint64_t credit_account_id = 0;
    std::int64_t amount = 0;       // fen
    std::uint64_t pending_id = 0;  // set exactly on a post or void (0 = NULL)
    std::uint32_t flags = transfer_flags::posted;
    std::uint32_t code = 0;
    std::uint64_t seq = 0;        // the journal seq that caused it
    std::int64_t ts_ns = 0;       // ns since the Unix epoch, >= 0
    std::uint64_t user_data = 0;  // e.g. the trade or order id; any value (stored as bigint bits)
    friend bool operator==(const Transfer&, const Transfer&) = default;
};
static_assert(std::is_trivially_copyable_v<Transfer>);
static_assert(std::has_unique_object_representations_v<Transfer>, "Transfer has padding");
static_assert(sizeof(Transfer) == 72);

// Receives every accepted transfer, in the order applied, after the ledger has applied
// it, and every account open_account() opened (the ledger projector of
// services/projector writes both to PostgreSQL). It must not call back into the
// ledger's mutating functions. load() of a snapshot reports nothing: a sink that needs
// the accounts of a loaded ledger reads accounts().
class TransferSink {
  public:
    virtual ~TransferSink() = default;
    virtual void on_transfer(const Transfer& transfer) = 0;
    // An account just opened (its totals are zero).
    virtual void on_account(const Account& account) { (void)account; }
};

struct LedgerConfig {
    std::uint32_t accounts_max = 1u << 16;
    std::uint32_t pending_max = 1u << 16;  // unresolved pending transfers at once
};

class Ledger {
  public:
    // Allocates every table up front: about 104 to 208 bytes per account of accounts_max
    // and 144 to 288 bytes per pending of pending_max (hash tables are a power of two at
    // least twice the maximum), so that apply() never allocates.
    explicit Ledger(const LedgerConfig& config, TransferSink* sink = nullptr);
    // Replaces the sink (nullptr: none); from the next apply() on.
    void set_sink(TransferSink* sink) { sink_ = sink; }

    // Opens an account. Checks, in order: IdZero, IdTooLarge, AccountExists, OwnerTooLarge,
    // PurposeInvalid, CurrencyInvalid, AccountFlagsInvalid, TotalsNotZero,
    // CreatedSeqInvalid, AccountKeyExists, AccountsFull. Accounts are never closed. On
    // success the sink's on_account() sees the new account.
    Result open_account(const Account& spec);

    // Applies one transfer, or refuses it and changes nothing (no total, no counter, no
    // sink call). Checks, in order:
    //   IdZero, IdTooLarge, IdNotIncreasing, FlagsInvalid, PendingIdInvalid, CodeInvalid,
    //   AmountNotPositive, SeqInvalid, TimestampInvalid, SameAccount,
    //   DebitAccountNotFound, CreditAccountNotFound, CurrencyDiffers,
    //   then for a post/void: PendingNotFound, PendingAccountsDiffer,
    //     AmountExceedsPending, VoidAmountDiffers (void only), SeqBeforePending,
    //   then for a pending: PendingsFull,
    //   then Overflow (any of the four new totals of either account beyond int64),
    //   then the balance limits on the new totals, debit account first:
    //     ExceedsCredits (flag 1), ExceedsDebits (flag 2).
    // Ids: a transfer id must be greater than every id applied before (IdNotIncreasing
    // otherwise). The ledger cannot remember every id; increasing ids make them unique
    // by construction (PostgreSQL's primary key agrees) and make a replayed transfer
    // harmless. Ids from next_transfer_id() always qualify.
    // PendingNotFound: the ledger remembers only unresolved pending transfers, so it
    // cannot tell "never existed", "not a pending" and "already resolved" apart;
    // PostgreSQL refuses each of them too. A resolved pending is forgotten.
    Result apply(const Transfer& transfer);
    // What apply() would return, without applying.
    Result check(const Transfer& transfer) const;

    // The account, or nullptr. The pointer stays valid for the ledger's lifetime (until
    // load()); its totals change as transfers are applied.
    const Account* account(std::uint64_t id) const;
    // The unresolved pending transfer with this id, or nullptr. The pointer is valid
    // only until the next apply() or load().
    const Transfer* pending(std::uint64_t id) const;

    // A deterministic id counter for the owner: greater than every id applied or issued
    // before (the first is 1). Consuming an id that is then refused leaves a gap, which
    // is harmless.
    std::uint64_t next_transfer_id();
    // The greatest transfer id applied (0 before the first).
    std::uint64_t last_transfer_id() const { return last_id_; }

    std::uint32_t account_count() const { return static_cast<std::uint32_t>(accounts_.size()); }
    std::uint32_t pending_count() const { return pending_count_; }
    const LedgerConfig& config() const { return config_; }

    // For audits, snapshots and tests (they allocate): all accounts / all unresolved
    // pendings, in id order.
    std::vector<Account> accounts() const;
    std::vector<Transfer> pendings() const;

    // The invariant: every transfer adds the same amount to one account's debits and
    // another's credits, so debits_pending == credits_pending and debits_posted ==
    // credits_posted over all accounts. Sums are taken modulo 2^64 (unsigned), which
    // keeps them well defined; 2^64 fen is 1.8e17 CNY.
    struct Totals {
        std::uint64_t debits_pending = 0;
        std::uint64_t debits_posted = 0;
        std::uint64_t credits_pending = 0;
        std::uint64_t credits_posted = 0;
        bool balanced() const {
            return debits_pending == credits_pending && debits_posted == credits_posted;
        }
        friend bool operator==(const Totals&, const Totals&) = default;
    };
    Totals totals() const;

    // FNV-1a (cpx::matching::StateHasher) over the logical state: the id counters, every
    // account (all fields, in id order) and every unresolved pending (all fields, in id
    // order). Independent of table layout, capacity and insertion order. Allocates (it
    // sorts): for recovery checks and tests, not for the per-order path.
    std::uint64_t state_hash() const;

    // Snapshots: a versioned little-endian binary, checked on load.
    //   "CPXLEDG\0" | u32 version (1) | u32 0 | u64 last_transfer_id | u64 issued id |
    //   u64 account count | accounts in id order (id, owner, u16 purpose, u16 currency,
    //   u32 flags, created_seq, debits_pending, debits_posted, credits_pending,
    //   credits_posted: 64 bytes) | u64 pending count | pendings in id order (the 72
    //   bytes of Transfer, field by field) | u64 FNV-1a-64 of every byte before it.
    // save() replaces `out`.
    void save(std::string& out) const;
    // Replaces this ledger's state with the snapshot's, or leaves it unchanged and
    // returns false with a reason in `error` if the snapshot is truncated, corrupted,
    // of another version, too large for this ledger's config, or not a consistent
    // ledger (every account valid and within its limits, every pending valid, pending
    // totals equal to the pendings, debits == credits). The sink is kept.
    bool load(std::string_view snapshot, std::string& error);

  private:
    struct AccountSlot {
        std::uint64_t id = 0;  // 0 = empty
        std::uint32_t index = 0;
    };
    // A validated transfer's effect, computed by validate() and written by commit().
    struct Plan {
        // Mostly not initialized: validate() sets what commit() reads (hot path).
        std::uint32_t debit_index;
        std::uint32_t credit_index;
        std::uint32_t pending_slot = 0;  // the pending a resolution resolves
        std::int64_t debit_totals[4];
        std::int64_t credit_totals[4];
    };

    Result validate(const Transfer& t, Plan& plan) const;
    void commit(const Transfer& t, const Plan& plan);

    std::uint32_t find_account_index(std::uint64_t id) const;  // kNone if absent
    std::uint32_t find_pending_slot(std::uint64_t id) const;   // kNone if absent
    bool account_key_taken(const Account& spec) const;
    void insert_account(const Account& account);
    void insert_pending(const Transfer& t);
    void erase_pending_slot(std::uint32_t slot);
    void reset_tables();

    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

    LedgerConfig config_;
    TransferSink* sink_ = nullptr;
    std::vector<Account> accounts_;            // open order; capacity accounts_max
    std::vector<AccountSlot> account_index_;   // open addressing by id, never deleted
    std::vector<std::uint32_t> account_keys_;  // open addressing by (owner, purpose,
                                               // currency): index + 1, 0 = empty
    std::vector<Transfer> pendings_;           // open addressing by id (0 = empty),
                                               // backward-shift deletion
    std::uint64_t account_mask_ = 0;
    std::uint64_t pending_mask_ = 0;
    unsigned account_shift_ = 0;
    unsigned pending_shift_ = 0;
    std::uint32_t pending_count_ = 0;
    std::uint64_t last_id_ = 0;  // the greatest transfer id applied
    std::uint64_t issued_ = 0;   // the greatest id next_transfer_id() returned
};

}  // namespace cpx::ledger
