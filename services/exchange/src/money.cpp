// The exchange's money, kept in its double-entry ledger (cpx_ledger). Every exchange
// account has an `available` ledger account (its own money); a buyer also has `escrow`
// (paid for fills, awaiting delivery). A resting buy order holds its money as one
// pending transfer from available to escrow, for its open quantity at its reservation
// price less a voucher's cover (src/buying_power.cpp): a fill posts what the fill cost
// out of it (the rest is released) and holds the remainder anew; a cancel, expiry or
// rejection voids it. The balances the API shows are the ledger's totals:
//
//   balance   = available's credits_posted - debits_posted (deposits less purchases)
//   reserved  = available's debits_pending (held by resting buy orders)
//   available = balance - reserved
//   unsettled = escrow's balance for a buyer; for a provider, what it sold and has not
//               been paid yet (the money is in its buyers' escrow until settlement)
//   collateral = a provider's `provider_collateral` account, which pays the penalties of
//               its failed deliveries (src/settlement.cpp)

#include <cassert>

#include "cpx/exchange/exchange.hpp"
#include "ledger_accounts.hpp"

namespace cpx::exchange {

namespace {

using detail::available_of;
using detail::collateral_of;
using detail::escrow_of;
using detail::kExternalDeposits;
using detail::kFees;

}  // namespace

ledger::LedgerConfig Exchange::ledger_config(const ExchangeConfig& config) {
    ledger::LedgerConfig c;
    // Two ledger accounts per exchange account (the operator's included), the
    // exchange's own, and a budget account per voucher program.
    c.accounts_max = 2 * (config.accounts_max + 2) + 8 + config.voucher_programs_max;
    // One hold per order that can rest and one for the incoming order of a command, and
    // a voucher's cover for each order that draws on one.
    c.pending_max = config.order_capacity + 1 + config.voucher_orders_max;
    return c;
}

void Exchange::open_exchange_accounts() {
    ledger::Account deposits;
    deposits.id = kExternalDeposits;
    deposits.owner = 0;
    deposits.purpose = ledger::purpose::external_deposits;
    deposits.flags = ledger::account_flags::none;
    [[maybe_unused]] ledger::Result result = ledger_.open_account(deposits);
    assert(result == ledger::Result::Ok);
    ledger::Account fees;
    fees.id = kFees;
    fees.owner = 0;
    fees.purpose = ledger::purpose::fees;
    fees.flags = ledger::account_flags::debits_must_not_exceed_credits;
    result = ledger_.open_account(fees);
    assert(result == ledger::Result::Ok);
}

void Exchange::open_money_accounts(const AccountState& account) {
    const auto open = [&](std::uint64_t id, std::uint16_t purpose) {
        ledger::Account a;
        a.id = id;
        a.owner = account.spec.id;
        a.purpose = purpose;
        a.flags = ledger::account_flags::debits_must_not_exceed_credits;
        a.created_seq = request_seq_;
        [[maybe_unused]] const ledger::Result result = ledger_.open_account(a);
        assert(result == ledger::Result::Ok);
    };
    open(available_of(account.spec.id), ledger::purpose::available);
    if (account.spec.role == Role::Buyer) {
        open(escrow_of(account.spec.id), ledger::purpose::escrow);
    }
    if (account.spec.role == Role::Provider) {
        open(collateral_of(account.spec.id), ledger::purpose::provider_collateral);
    }
}

Price Exchange::free_money(const AccountState& account) const {
    const ledger::Account* a = ledger_.account(available_of(account.spec.id));
    return a == nullptr ? 0 : a->available();
}

void Exchange::fill_balance(const AccountState& account, BalanceView& view) const {
    view.account = account.spec.id;
    view.role = account.spec.role;
    const ledger::Account* a = ledger_.account(available_of(account.spec.id));
    view.balance_fen = a == nullptr ? 0 : a->credit_balance();
    view.reserved_fen = a == nullptr ? 0 : a->debits_pending;
    view.available_fen = view.balance_fen - view.reserved_fen;
    const ledger::Account* escrow = ledger_.account(escrow_of(account.spec.id));
    view.unsettled_fen = escrow != nullptr ? escrow->credit_balance() : account.unsettled_fen;
    const ledger::Account* collateral = ledger_.account(collateral_of(account.spec.id));
    view.collateral_fen = collateral != nullptr ? collateral->credit_balance() : 0;
    view.voucher_fen = voucher_balance_of(account);
}

ledger::Result Exchange::transfer(std::uint64_t debit, std::uint64_t credit, Price amount,
                                  std::uint32_t flags, std::uint32_t code, std::uint64_t pending_id,
                                  std::uint64_t user_data, std::uint64_t* id_out) {
    ledger::Transfer t;
    t.id = ledger_.next_transfer_id();
    t.debit_account_id = debit;
    t.credit_account_id = credit;
    t.amount = amount;
    t.pending_id = pending_id;
    t.flags = flags;
    t.code = code;
    t.seq = request_seq_;
    t.ts_ns = now_ns_;
    t.user_data = user_data;
    const ledger::Result result = ledger_.apply(t);
    if (result == ledger::Result::Ok && id_out != nullptr) {
        *id_out = t.id;
    }
    return result;
}

Code Exchange::deposit(AccountState& account, Price amount_fen, bool to_collateral) {
    const std::uint64_t to =
        to_collateral ? collateral_of(account.spec.id) : available_of(account.spec.id);
    switch (transfer(kExternalDeposits, to, amount_fen, ledger::transfer_flags::posted,
                     ledger::code::deposit, 0, 0, nullptr)) {
        case ledger::Result::Ok:
            return Code::None;
        case ledger::Result::Overflow:
            return Code::Overflow;
        default:
            return Code::InvalidAmount;
    }
}

void Exchange::rehold(OrderRecord& record, Price spent_fen, std::uint64_t user_data) {
    assert(record.side == Side::Buy);
    const std::uint64_t available = available_of(record.account);
    const std::uint64_t escrow = escrow_of(record.account);
    if (record.hold_transfer != 0) {
        const ledger::Transfer* hold = ledger_.pending(record.hold_transfer);
        assert(hold != nullptr);
        const Price held = hold->amount;
        [[maybe_unused]] ledger::Result result;
        if (spent_fen > 0) {
            // What the fill cost moves to escrow; the rest of the hold is released.
            assert(spent_fen <= held);
            result =
                transfer(available, escrow, spent_fen, ledger::transfer_flags::post_pending,
                         ledger::code::fill_to_escrow, record.hold_transfer, user_data, nullptr);
        } else {
            result = transfer(available, escrow, held, ledger::transfer_flags::void_pending,
                              ledger::code::release, record.hold_transfer, record.id, nullptr);
        }
        assert(result == ledger::Result::Ok);
        record.hold_transfer = 0;
    } else {
        assert(spent_fen == 0);
    }
    const Price want = cash_hold_of(record);
    if (want > 0) {
        // The risk checks made sure the account has this much free before the order (or
        // its replace) reached the book, and a fill only ever frees money.
        [[maybe_unused]] const ledger::Result result =
            transfer(available, escrow, want, ledger::transfer_flags::pending,
                     ledger::code::reserve, 0, record.id, &record.hold_transfer);
        assert(result == ledger::Result::Ok);
    }
}

}  // namespace cpx::exchange
