#pragma once
// The ledger accounts of the exchange's accounts, by purpose: one per (owner, purpose),
// at the id cpx::ledger::account_id gives, so that money.cpp and settlement.cpp name the
// same accounts the same way.

#include <cstdint>

#include "cpx/ledger/ledger.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::exchange::detail {

constexpr std::uint64_t available_of(matching::AccountId id) {
    return ledger::account_id(id, ledger::purpose::available);
}

constexpr std::uint64_t escrow_of(matching::AccountId id) {
    return ledger::account_id(id, ledger::purpose::escrow);
}

constexpr std::uint64_t collateral_of(matching::AccountId id) {
    return ledger::account_id(id, ledger::purpose::provider_collateral);
}

// The exchange's own accounts (owner 0).
inline constexpr std::uint64_t kExternalDeposits =
    ledger::account_id(0, ledger::purpose::external_deposits);
inline constexpr std::uint64_t kFees = ledger::account_id(0, ledger::purpose::fees);

}  // namespace cpx::exchange::detail
