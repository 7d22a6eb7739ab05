#include "cpx/ledger/ledger.hpp"

#include <algorithm>

#include "cpx/matching/state_hash.hpp"

namespace cpx::ledger {

namespace {

// Index of the four totals in Plan's arrays.
constexpr int kDebitsPending = 0;
constexpr int kDebitsPosted = 1;
constexpr int kCreditsPending = 2;
constexpr int kCreditsPosted = 3;

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

// Fibonacci hashing: the top bits of id * 2^64/phi. Transfer ids are sequential and
// account ids nearly so; this spreads runs of them evenly over the table, in two
// instructions. `shift` is 64 - log2(table size).
std::uint64_t home_slot(std::uint64_t id, unsigned shift) {
    return (id * 0x9E3779B97F4A7C15ull) >> shift;
}

// Transfer ids are consecutive, and a pending transfer is looked up again soon after it
// is made (an order's hold, released or posted at its fill or cancel) or much later (the
// hold of an order that rests). A fully mixing hash sends every new pending to a random
// slot of a table of millions (a cache and TLB miss each); this one keeps consecutive ids
// three slots apart, in lines and pages that recent pendings already touched, as the
// engine's order index does (matching/include/cpx/matching/detail/order_index.hpp, whose
// comment gives the reasoning and the price: many live ids sharing their low bits would
// crowd the same slots, which consecutive ids never do). The upper 32 bits are mixed in.
std::uint64_t pending_home(std::uint64_t id, unsigned shift, std::uint64_t mask) {
    const std::uint64_t high = ((id >> 32) * 0x9E3779B97F4A7C15ull) >> shift;
    return (id * 3 + high) & mask;
}

std::uint64_t key_hash(std::uint64_t owner, std::uint16_t purpose_value, std::uint16_t currency) {
    return mix(owner ^ mix((std::uint64_t{purpose_value} << 16) | currency));
}

// log2 of a power of two at least twice `count` (load factor <= 1/2), at least 2.
unsigned table_bits(std::uint32_t count) {
    unsigned bits = 1;
    while ((std::uint64_t{1} << bits) < std::uint64_t{count} * 2) {
        ++bits;
    }
    return bits;
}

bool account_flags_valid(std::uint32_t flags) {
    return flags == account_flags::none || flags == account_flags::debits_must_not_exceed_credits ||
           flags == account_flags::credits_must_not_exceed_debits;
}

// The balance limit of one account on its (new) totals; Ok, ExceedsCredits or
// ExceedsDebits. The sums are compared without forming them (they may exceed int64;
// PostgreSQL compares them in numeric): a + b <= c  <=>  a <= c - b, and c - b cannot
// overflow for totals >= 0.
Result limit_check(std::uint32_t flags, const std::int64_t (&totals)[4]) {
    if ((flags & account_flags::debits_must_not_exceed_credits) != 0 &&
        totals[kDebitsPending] > totals[kCreditsPosted] - totals[kDebitsPosted]) {
        return Result::ExceedsCredits;
    }
    if ((flags & account_flags::credits_must_not_exceed_debits) != 0 &&
        totals[kCreditsPending] > totals[kDebitsPosted] - totals[kCreditsPosted]) {
        return Result::ExceedsDebits;
    }
    return Result::Ok;
}

}  // namespace

std::string_view result_name(Result result) {
    switch (result) {
        case Result::Ok:
            return "ok";
        case Result::IdZero:
            return "id_zero";
        case Result::IdTooLarge:
            return "id_too_large";
        case Result::IdNotIncreasing:
            return "id_not_increasing";
        case Result::AccountExists:
            return "account_exists";
        case Result::AccountKeyExists:
            return "account_key_exists";
        case Result::OwnerTooLarge:
            return "owner_too_large";
        case Result::PurposeInvalid:
            return "purpose_invalid";
        case Result::CurrencyInvalid:
            return "currency_invalid";
        case Result::AccountFlagsInvalid:
            return "account_flags_invalid";
        case Result::TotalsNotZero:
            return "totals_not_zero";
        case Result::CreatedSeqInvalid:
            return "created_seq_invalid";
        case Result::AccountsFull:
            return "accounts_full";
        case Result::FlagsInvalid:
            return "flags_invalid";
        case Result::PendingIdInvalid:
            return "pending_id_invalid";
        case Result::CodeInvalid:
            return "code_invalid";
        case Result::AmountNotPositive:
            return "amount_not_positive";
        case Result::SeqInvalid:
            return "seq_invalid";
        case Result::TimestampInvalid:
            return "timestamp_invalid";
        case Result::SameAccount:
            return "same_account";
        case Result::DebitAccountNotFound:
            return "debit_account_not_found";
        case Result::CreditAccountNotFound:
            return "credit_account_not_found";
        case Result::CurrencyDiffers:
            return "currency_differs";
        case Result::PendingNotFound:
            return "pending_not_found";
        case Result::PendingAccountsDiffer:
            return "pending_accounts_differ";
        case Result::AmountExceedsPending:
            return "amount_exceeds_pending";
        case Result::VoidAmountDiffers:
            return "void_amount_differs";
        case Result::SeqBeforePending:
            return "seq_before_pending";
        case Result::PendingsFull:
            return "pendings_full";
        case Result::Overflow:
            return "overflow";
        case Result::ExceedsCredits:
            return "exceeds_credits";
        case Result::ExceedsDebits:
            return "exceeds_debits";
    }
    return "unknown";
}

Ledger::Ledger(const LedgerConfig& config, TransferSink* sink) : config_(config), sink_(sink) {
    reset_tables();
}

void Ledger::reset_tables() {
    accounts_.clear();
    accounts_.reserve(config_.accounts_max);
    const unsigned account_bits = table_bits(config_.accounts_max);
    account_index_.assign(std::size_t{1} << account_bits, AccountSlot{});
    account_keys_.assign(std::size_t{1} << account_bits, 0);
    account_mask_ = (std::uint64_t{1} << account_bits) - 1;
    account_shift_ = 64 - account_bits;
    const unsigned pending_bits = table_bits(config_.pending_max);
    pendings_.assign(std::size_t{1} << pending_bits, Transfer{});
    pending_mask_ = (std::uint64_t{1} << pending_bits) - 1;
    pending_shift_ = 64 - pending_bits;
    pending_count_ = 0;
    last_id_ = 0;
    issued_ = 0;
}

// ---- Tables ----------------------------------------------------------------------------

std::uint32_t Ledger::find_account_index(std::uint64_t id) const {
    if (id == 0) {
        return kNone;
    }
    for (std::uint64_t slot = home_slot(id, account_shift_);; slot = (slot + 1) & account_mask_) {
        const AccountSlot& entry = account_index_[slot];
        if (entry.id == id) {
            return entry.index;
        }
        if (entry.id == 0) {
            return kNone;
        }
    }
}

bool Ledger::account_key_taken(const Account& spec) const {
    for (std::uint64_t slot = key_hash(spec.owner, spec.purpose, spec.currency) & account_mask_;;
         slot = (slot + 1) & account_mask_) {
        const std::uint32_t entry = account_keys_[slot];
        if (entry == 0) {
            return false;
        }
        const Account& other = accounts_[entry - 1];
        if (other.owner == spec.owner && other.purpose == spec.purpose &&
            other.currency == spec.currency) {
            return true;
        }
    }
}

void Ledger::insert_account(const Account& account) {
    const auto index = static_cast<std::uint32_t>(accounts_.size());
    accounts_.push_back(account);  // within the reserved capacity: no reallocation
    std::uint64_t slot = home_slot(account.id, account_shift_);
    while (account_index_[slot].id != 0) {
        slot = (slot + 1) & account_mask_;
    }
    account_index_[slot] = AccountSlot{account.id, index};
    slot = key_hash(account.owner, account.purpose, account.currency) & account_mask_;
    while (account_keys_[slot] != 0) {
        slot = (slot + 1) & account_mask_;
    }
    account_keys_[slot] = index + 1;
}

std::uint32_t Ledger::find_pending_slot(std::uint64_t id) const {
    if (id == 0) {
        return kNone;
    }
    for (std::uint64_t slot = pending_home(id, pending_shift_, pending_mask_);;
         slot = (slot + 1) & pending_mask_) {
        const std::uint64_t entry = pendings_[slot].id;
        if (entry == id) {
            return static_cast<std::uint32_t>(slot);
        }
        if (entry == 0) {
            return kNone;
        }
    }
}

void Ledger::insert_pending(const Transfer& t) {
    std::uint64_t slot = pending_home(t.id, pending_shift_, pending_mask_);
    while (pendings_[slot].id != 0) {
        slot = (slot + 1) & pending_mask_;
    }
    pendings_[slot] = t;
    ++pending_count_;
}

// Linear probing without tombstones: after emptying a slot, every later entry of the
// same cluster whose home slot is not cyclically within (hole, entry] moves back into
// the hole, so that every lookup still finds its entry before an empty slot.
void Ledger::erase_pending_slot(std::uint32_t slot_to_erase) {
    std::uint64_t hole = slot_to_erase;
    std::uint64_t next = hole;
    for (;;) {
        next = (next + 1) & pending_mask_;
        const std::uint64_t id = pendings_[next].id;
        if (id == 0) {
            break;
        }
        const std::uint64_t home = pending_home(id, pending_shift_, pending_mask_);
        const bool stays =
            hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
        if (!stays) {
            pendings_[hole] = pendings_[next];
            hole = next;
        }
    }
    pendings_[hole] = Transfer{};
    --pending_count_;
}

// ---- Accounts --------------------------------------------------------------------------

Result Ledger::open_account(const Account& spec) {
    if (spec.id == 0) {
        return Result::IdZero;
    }
    if (spec.id > kMaxId) {
        return Result::IdTooLarge;
    }
    if (find_account_index(spec.id) != kNone) {
        return Result::AccountExists;
    }
    if (spec.owner > kMaxId) {
        return Result::OwnerTooLarge;
    }
    if (spec.purpose < 1 || spec.purpose > purpose::max) {
        return Result::PurposeInvalid;
    }
    if (spec.currency < 1 || spec.currency > kCurrencyMax) {
        return Result::CurrencyInvalid;
    }
    if (!account_flags_valid(spec.flags)) {
        return Result::AccountFlagsInvalid;
    }
    if (spec.debits_pending != 0 || spec.debits_posted != 0 || spec.credits_pending != 0 ||
        spec.credits_posted != 0) {
        return Result::TotalsNotZero;
    }
    if (spec.created_seq > kMaxId) {
        return Result::CreatedSeqInvalid;
    }
    if (account_key_taken(spec)) {
        return Result::AccountKeyExists;
    }
    if (accounts_.size() >= config_.accounts_max) {
        return Result::AccountsFull;
    }
    insert_account(spec);
    if (sink_ != nullptr) {
        sink_->on_account(spec);
    }
    return Result::Ok;
}

const Account* Ledger::account(std::uint64_t id) const {
    const std::uint32_t index = find_account_index(id);
    return index == kNone ? nullptr : &accounts_[index];
}

const Transfer* Ledger::pending(std::uint64_t id) const {
    const std::uint32_t slot = find_pending_slot(id);
    return slot == kNone ? nullptr : &pendings_[slot];
}

// ---- Transfers -------------------------------------------------------------------------

Result Ledger::validate(const Transfer& t, Plan& plan) const {
    if (t.id == 0) {
        return Result::IdZero;
    }
    if (t.id > kMaxId) {
        return Result::IdTooLarge;
    }
    if (t.id <= last_id_) {
        return Result::IdNotIncreasing;
    }
    const bool resolves =
        t.flags == transfer_flags::post_pending || t.flags == transfer_flags::void_pending;
    if (!resolves && t.flags != transfer_flags::posted && t.flags != transfer_flags::pending) {
        return Result::FlagsInvalid;
    }
    if ((t.pending_id != 0) != resolves) {
        return Result::PendingIdInvalid;
    }
    if (t.code < 1 || t.code > code::max) {
        return Result::CodeInvalid;
    }
    if (t.amount <= 0) {
        return Result::AmountNotPositive;
    }
    if (t.seq == 0 || t.seq > kMaxId) {
        return Result::SeqInvalid;
    }
    if (t.ts_ns < 0) {
        return Result::TimestampInvalid;
    }
    if (t.debit_account_id == t.credit_account_id) {
        return Result::SameAccount;
    }
    plan.debit_index = find_account_index(t.debit_account_id);
    if (plan.debit_index == kNone) {
        return Result::DebitAccountNotFound;
    }
    plan.credit_index = find_account_index(t.credit_account_id);
    if (plan.credit_index == kNone) {
        return Result::CreditAccountNotFound;
    }
    const Account& debit = accounts_[plan.debit_index];
    const Account& credit = accounts_[plan.credit_index];
    if (debit.currency != credit.currency) {
        return Result::CurrencyDiffers;
    }

    // The deltas: a pending adds to the pending totals; a resolution takes the pending's
    // whole amount out of them, and a post adds its own amount to the posted totals.
    std::int64_t pending_delta = 0;
    std::int64_t posted_delta = 0;
    if (resolves) {
        plan.pending_slot = find_pending_slot(t.pending_id);
        if (plan.pending_slot == kNone) {
            return Result::PendingNotFound;
        }
        const Transfer& p = pendings_[plan.pending_slot];
        if (p.debit_account_id != t.debit_account_id ||
            p.credit_account_id != t.credit_account_id) {
            return Result::PendingAccountsDiffer;
        }
        if (t.amount > p.amount) {
            return Result::AmountExceedsPending;
        }
        if (t.flags == transfer_flags::void_pending && t.amount != p.amount) {
            return Result::VoidAmountDiffers;
        }
        if (t.seq < p.seq) {
            return Result::SeqBeforePending;
        }
        pending_delta = -p.amount;  // never below 0: the pending is in these totals
        posted_delta = t.flags == transfer_flags::post_pending ? t.amount : 0;
    } else if (t.flags == transfer_flags::pending) {
        if (pending_count_ >= config_.pending_max) {
            return Result::PendingsFull;
        }
        pending_delta = t.amount;
    } else {
        posted_delta = t.amount;
    }

    plan.debit_totals[kDebitsPending] = debit.debits_pending;
    plan.debit_totals[kDebitsPosted] = debit.debits_posted;
    plan.debit_totals[kCreditsPending] = debit.credits_pending;
    plan.debit_totals[kCreditsPosted] = debit.credits_posted;
    plan.credit_totals[kDebitsPending] = credit.debits_pending;
    plan.credit_totals[kDebitsPosted] = credit.debits_posted;
    plan.credit_totals[kCreditsPending] = credit.credits_pending;
    plan.credit_totals[kCreditsPosted] = credit.credits_posted;
    if (__builtin_add_overflow(plan.debit_totals[kDebitsPending], pending_delta,
                               &plan.debit_totals[kDebitsPending]) ||
        __builtin_add_overflow(plan.debit_totals[kDebitsPosted], posted_delta,
                               &plan.debit_totals[kDebitsPosted]) ||
        __builtin_add_overflow(plan.credit_totals[kCreditsPending], pending_delta,
                               &plan.credit_totals[kCreditsPending]) ||
        __builtin_add_overflow(plan.credit_totals[kCreditsPosted], posted_delta,
                               &plan.credit_totals[kCreditsPosted])) {
        return Result::Overflow;
    }
    if (const Result r = limit_check(debit.flags, plan.debit_totals); r != Result::Ok) {
        return r;
    }
    return limit_check(credit.flags, plan.credit_totals);
}

void Ledger::commit(const Transfer& t, const Plan& plan) {
    Account& debit = accounts_[plan.debit_index];
    debit.debits_pending = plan.debit_totals[kDebitsPending];
    debit.debits_posted = plan.debit_totals[kDebitsPosted];
    Account& credit = accounts_[plan.credit_index];
    credit.credits_pending = plan.credit_totals[kCreditsPending];
    credit.credits_posted = plan.credit_totals[kCreditsPosted];
    if (t.flags == transfer_flags::pending) {
        insert_pending(t);
    } else if (t.flags != transfer_flags::posted) {
        erase_pending_slot(plan.pending_slot);
    }
    last_id_ = t.id;
}

Result Ledger::check(const Transfer& transfer) const {
    Plan plan;
    return validate(transfer, plan);
}

Result Ledger::apply(const Transfer& transfer) {
    Plan plan;
    const Result result = validate(transfer, plan);
    if (result != Result::Ok) {
        return result;
    }
    commit(transfer, plan);
    if (sink_ != nullptr) {
        sink_->on_transfer(transfer);
    }
    return Result::Ok;
}

std::uint64_t Ledger::next_transfer_id() {
    issued_ = std::max(issued_, last_id_) + 1;
    return issued_;
}

// ---- Audits ----------------------------------------------------------------------------

std::vector<Account> Ledger::accounts() const {
    std::vector<Account> result(accounts_);
    std::sort(result.begin(), result.end(),
              [](const Account& a, const Account& b) { return a.id < b.id; });
    return result;
}

std::vector<Transfer> Ledger::pendings() const {
    std::vector<Transfer> result;
    result.reserve(pending_count_);
    for (const Transfer& t : pendings_) {
        if (t.id != 0) {
            result.push_back(t);
        }
    }
    std::sort(result.begin(), result.end(),
              [](const Transfer& a, const Transfer& b) { return a.id < b.id; });
    return result;
}

Ledger::Totals Ledger::totals() const {
    Totals totals;
    for (const Account& a : accounts_) {
        totals.debits_pending += static_cast<std::uint64_t>(a.debits_pending);
        totals.debits_posted += static_cast<std::uint64_t>(a.debits_posted);
        totals.credits_pending += static_cast<std::uint64_t>(a.credits_pending);
        totals.credits_posted += static_cast<std::uint64_t>(a.credits_posted);
    }
    return totals;
}

std::uint64_t Ledger::state_hash() const {
    matching::StateHasher hasher;
    hasher.add(0x4C45444745520001ull);  // "LEDGER" v1: distinct from other hashed states
    hasher.add(last_id_);
    hasher.add(issued_);
    hasher.add(accounts_.size());
    for (const Account& a : accounts()) {
        hasher.add(a.id);
        hasher.add(a.owner);
        hasher.add(a.purpose);
        hasher.add(a.currency);
        hasher.add(a.flags);
        hasher.add(a.created_seq);
        hasher.add_signed(a.debits_pending);
        hasher.add_signed(a.debits_posted);
        hasher.add_signed(a.credits_pending);
        hasher.add_signed(a.credits_posted);
    }
    hasher.add(pending_count_);
    for (const Transfer& t : pendings()) {
        hasher.add(t.id);
        hasher.add(t.debit_account_id);
        hasher.add(t.credit_account_id);
        hasher.add_signed(t.amount);
        hasher.add(t.pending_id);
        hasher.add(t.flags);
        hasher.add(t.code);
        hasher.add(t.seq);
        hasher.add_signed(t.ts_ns);
        hasher.add(t.user_data);
    }
    return hasher.value();
}

}  // namespace cpx::ledger
