// The rows that the voucher schema tests write directly in SQL, as a wrong writer would,
// and the fixture that runs them. It holds the exchange's accounts (the issuer, two buyers,
// a provider and the programs' budgets) and their ledger account ids, and the builders of
// ledger accounts, transfers, trades and their settlements, voucher programs and vouchers.
// Its fixture owns a fresh test database and runs statements as the owner or as another
// role. Both voucher_schema_test.cpp (db/migrations/0006_vouchers.sql) and
// voucher_buying_power_schema_test.cpp (db/migrations/0010_voucher_buying_power.sql) use
// it; each keeps its own voucher event row, whose columns and defaults differ.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "cpx/ledger/ledger.hpp"
#include "cpx/store/database.hpp"
#include "test_database.hpp"

namespace cpx::projector::test {

// Exchange accounts: the issuer, two buyers and a provider.
inline constexpr std::int64_t kIssuer = 10;
inline constexpr std::int64_t kBuyer = 2;
inline constexpr std::int64_t kOtherBuyer = 4;
inline constexpr std::int64_t kProvider = 3;
// Programs own their budget accounts under owners far above the exchange's accounts.
inline constexpr std::uint64_t kProgramOwner = (std::uint64_t{1} << 40) + 1;

// The ledger account ids of the exchange's accounts, as SQL literals.
inline const std::string kExternal =
    std::to_string(cpx::ledger::account_id(0, cpx::ledger::purpose::external_deposits));
inline const std::string kIssuerMoney =
    std::to_string(cpx::ledger::account_id(kIssuer, cpx::ledger::purpose::available));
inline const std::string kBuyerMoney =
    std::to_string(cpx::ledger::account_id(kBuyer, cpx::ledger::purpose::available));
inline const std::string kBuyerEscrow =
    std::to_string(cpx::ledger::account_id(kBuyer, cpx::ledger::purpose::escrow));
inline const std::string kOtherBuyerMoney =
    std::to_string(cpx::ledger::account_id(kOtherBuyer, cpx::ledger::purpose::available));
inline const std::string kOtherBuyerEscrow =
    std::to_string(cpx::ledger::account_id(kOtherBuyer, cpx::ledger::purpose::escrow));
inline const std::string kProviderMoney =
    std::to_string(cpx::ledger::account_id(kProvider, cpx::ledger::purpose::available));

// Program `id`'s budget account: its owner, and its id as a SQL literal.
inline std::uint64_t budget_owner(int id) {
    return kProgramOwner + static_cast<std::uint64_t>(id) - 1;
}
inline std::string budget(int id) {
    return std::to_string(
        cpx::ledger::account_id(budget_owner(id), cpx::ledger::purpose::voucher_budget));
}
// Program 1's budget account.
inline const std::string kBudget = budget(1);

// One program's columns, changeable one at a time; the defaults are program 1, a buyer's
// 30% discount open to every provider, paid from program 1's budget account.
struct ProgramRow {
    int id = 1;
    std::int64_t share_bps = 3'000;
    int mode = 1;  // discount
    int side = 1;  // buyer
    std::string approved_providers = "{}";
    bool allow_both_sides = true;
    std::int64_t valid_from_ns = 0;
    std::int64_t valid_until_ns = 1'000'000'000'000'000'000;
    std::string budget_account = kBudget;
    std::int64_t created_seq = 5;
};

inline std::string insert(const ProgramRow& p) {
    return "INSERT INTO voucher_programs (id, issuer, name, initial_budget_fen, share_bps, mode, "
           "side, cap_per_beneficiary_fen, cap_period_ns, pool_cap_fen, kinds, hubs, "
           "accelerator_models, domestic_only, approved_providers, allow_affiliated, "
           "allow_both_sides, valid_from_ns, valid_until_ns, budget_account_id, created_seq, "
           "created_ts_ns) VALUES (" +
           std::to_string(p.id) + ", " + std::to_string(kIssuer) + ", 'program " +
           std::to_string(p.id) + "', 10000, " + std::to_string(p.share_bps) + ", " +
           std::to_string(p.mode) + ", " + std::to_string(p.side) +
           ", 0, 0, 0, 3, '{}', '{}', false, '" + p.approved_providers + "', false, " +
           (p.allow_both_sides ? "true" : "false") + ", " + std::to_string(p.valid_from_ns) + ", " +
           std::to_string(p.valid_until_ns) + ", " + p.budget_account + ", " +
           std::to_string(p.created_seq) + ", 50)";
}

// Program 1's funding event: 10,000 fen from the issuer at its creation (seq 5).
inline const std::string kProgramFunded =
    "INSERT INTO voucher_events (seq, idx, kind, program, beneficiary, amount_fen, ts_ns) "
    "VALUES (5, 0, 1, 1, 10, 10000, 50)";

// Voucher `id` of program `program` for `beneficiary`, of `face` fen until `expiry_ns`,
// granted at `seq` (ts 10 ns a seq) with the reference v-`id`.
inline std::string voucher_row(std::int64_t id, std::int64_t face, std::int64_t seq,
                               std::int64_t expiry_ns, int program, std::int64_t beneficiary) {
    return "INSERT INTO vouchers (id, program, beneficiary, face_fen, expiry_ns, ref, "
           "granted_seq, granted_ts_ns) VALUES (" +
           std::to_string(id) + ", " + std::to_string(program) + ", " +
           std::to_string(beneficiary) + ", " + std::to_string(face) + ", " +
           std::to_string(expiry_ns) + ", 'v-" + std::to_string(id) + "', " + std::to_string(seq) +
           ", " + std::to_string(seq * 10) + ")";
}

// A ledger transfer's columns; the defaults are a single-phase voucher transfer.
struct TransferRow {
    std::int64_t id = 0;
    std::string debit;
    std::string credit;
    std::int64_t amount = 300;
    int flags = 0;
    int code = 10;
    std::int64_t seq = 0;
    std::int64_t ts_ns = 100;
    std::int64_t user_data = 0;
    std::string pending = "NULL";
};

inline std::string insert(const TransferRow& t) {
    return "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, flags, "
           "code, seq, ts_ns, user_data, pending_id) VALUES (" +
           std::to_string(t.id) + ", " + t.debit + ", " + t.credit + ", " +
           std::to_string(t.amount) + ", " + std::to_string(t.flags) + ", " +
           std::to_string(t.code) + ", " + std::to_string(t.seq) + ", " + std::to_string(t.ts_ns) +
           ", " + std::to_string(t.user_data) + ", " + t.pending + ")";
}

// Ledger account `id` of `owner` for `purpose_value`, opened at `created_seq`.
inline std::string account(const std::string& id, std::uint64_t owner, int purpose_value, int flags,
                           std::int64_t created_seq = 1) {
    return "INSERT INTO ledger_accounts (id, owner, purpose, flags, created_seq) VALUES (" + id +
           ", " + std::to_string(owner) + ", " + std::to_string(purpose_value) + ", " +
           std::to_string(flags) + ", " + std::to_string(created_seq) + ")";
}

// The ledger accounts both tests open: the exchange's external deposits, and the issuer's,
// the buyer's and the provider's money (which cannot be overdrawn).
inline std::string exchange_accounts() {
    namespace purpose = cpx::ledger::purpose;
    return account(kExternal, 0, purpose::external_deposits, 0) + ";" +
           account(kIssuerMoney, kIssuer, purpose::available, 1) + ";" +
           account(kBuyerMoney, kBuyer, purpose::available, 1) + ";" +
           account(kProviderMoney, kProvider, purpose::available, 1);
}

// Trade `id`: `buyer` buys 4 units at 250 fen (1,000 fen) from the provider with order
// `buy_order`, traded at `traded_ns` in request `created_seq`.
inline std::string obligation(std::int64_t id, std::int64_t buyer, std::int64_t buy_order,
                              std::int64_t traded_ns, std::int64_t window_end_ns,
                              std::int64_t created_seq) {
    return "INSERT INTO obligations (id, instrument, buyer, provider, buy_order, sell_order, "
           "price, quantity, amount_fen, traded_ns, window_end_ns, created_seq) VALUES (" +
           std::to_string(id) + ", 1, " + std::to_string(buyer) + ", " + std::to_string(kProvider) +
           ", " + std::to_string(buy_order) + ", 8, 250, 4, 1000, " + std::to_string(traded_ns) +
           ", " + std::to_string(window_end_ns) + ", " + std::to_string(created_seq) + ")";
}

// Trade `id` settles at `seq` (`ts_ns`) with `delivered` of its 4 units: the provider is
// paid for them less the fee of 0.5%, and the buyer refunded the rest.
inline std::string settlement(std::int64_t id, std::int64_t seq, std::int64_t ts_ns,
                              std::int64_t delivered) {
    const std::int64_t paid = 250 * delivered;
    const std::int64_t fee = paid * 50 / 10'000;
    return "INSERT INTO obligation_events (obligation_id, kind, seq, ts_ns, delivered_quantity, "
           "paid_fen, fee_fen, refunded_fen) VALUES (" +
           std::to_string(id) + ", 6, " + std::to_string(seq) + ", " + std::to_string(ts_ns) +
           ", " + std::to_string(delivered) + ", " + std::to_string(paid - fee) + ", " +
           std::to_string(fee) + ", " + std::to_string(1'000 - paid) + ")";
}

// `statement` must be refused with `error`, and by the rule whose name or message
// contains `fragment`: another rule refusing the row first would prove nothing about this
// one.
#define EXPECT_REFUSED(statement, error, fragment)                                  \
    do {                                                                            \
        try {                                                                       \
            statement;                                                              \
            ADD_FAILURE() << #statement << " was accepted";                         \
        } catch (const error& caught) {                                             \
            EXPECT_NE(std::string(caught.what()).find(fragment), std::string::npos) \
                << #statement << ": " << caught.what();                             \
        } catch (const std::exception& caught) {                                    \
            ADD_FAILURE() << #statement << " failed otherwise: " << caught.what();  \
        }                                                                           \
    } while (false)

// A fresh test database with every migration, and statements run on it as its owner or,
// when `role` names one, as that role (cpx_app, the application; cpx_regulator).
class VoucherTablesTest : public ::testing::Test {
  protected:
    VoucherTablesTest() : owned(cpx::store::connect(db.url())), connection(*owned) {}

    void exec(const std::string& sql, const std::string& role = "") {
        pqxx::work tx(connection);
        if (!role.empty()) {
            tx.exec0("SET LOCAL ROLE " + role);
        }
        tx.exec0(sql);
        tx.commit();
    }
    // The first column of the one row `sql` returns; -1 for NULL.
    std::int64_t scalar(const std::string& sql, const std::string& role = "") {
        pqxx::work tx(connection);
        if (!role.empty()) {
            tx.exec0("SET LOCAL ROLE " + role);
        }
        const pqxx::row row = tx.exec1(sql);
        return row[0].is_null() ? -1 : row[0].as<std::int64_t>();
    }

    cpx::test::TestDatabase db;
    std::unique_ptr<pqxx::connection> owned;
    pqxx::connection& connection;
};

}  // namespace cpx::projector::test
