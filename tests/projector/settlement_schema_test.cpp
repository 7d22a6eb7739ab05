// The settlement tables of db/migrations/0004_settlement.sql enforce their own rules,
// whatever a writer sends: an obligation is a valid trade, each step happens at most
// once, an obligation ends once and its final step accounts for its whole amount, the
// record is append-only, and the projector's progress only moves forward.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "cpx/store/database.hpp"
#include "test_database.hpp"

namespace {

class SettlementSchema : public ::testing::Test {
  protected:
    SettlementSchema() : owned(cpx::store::connect(db.url())), connection(*owned) {
        // Obligation 1: 4 units at 250 fen (1,000 fen), traded at seq 10.
        exec(obligation(1, 250, 4, 1'000));
    }

    static std::string obligation(std::int64_t id, std::int64_t price, std::int64_t quantity,
                                  std::int64_t amount, std::int64_t buyer = 2,
                                  std::int64_t provider = 3) {
        return "INSERT INTO obligations (id, instrument, buyer, provider, buy_order, sell_order, "
               "price, quantity, amount_fen, traded_ns, window_end_ns, created_seq) VALUES (" +
               std::to_string(id) + ", 1, " + std::to_string(buyer) + ", " +
               std::to_string(provider) + ", 7, 8, " + std::to_string(price) + ", " +
               std::to_string(quantity) + ", " + std::to_string(amount) + ", 100, 200, 10)";
    }
    static std::string event(std::int64_t id, int kind, std::int64_t seq = 11,
                             std::int64_t paid = 0, std::int64_t fee = 0,
                             std::int64_t refunded = 0) {
        return "INSERT INTO obligation_events (obligation_id, kind, seq, ts_ns, paid_fen, "
               "fee_fen, refunded_fen) VALUES (" +
               std::to_string(id) + ", " + std::to_string(kind) + ", " + std::to_string(seq) +
               ", 300, " + std::to_string(paid) + ", " + std::to_string(fee) + ", " +
               std::to_string(refunded) + ")";
    }

    void exec(const std::string& sql, bool as_app = false) {
        pqxx::work tx(connection);
        if (as_app) {
            tx.exec0("SET LOCAL ROLE cpx_app");
        }
        tx.exec0(sql);
        tx.commit();
    }
    std::string state(std::int64_t id) {
        pqxx::read_transaction tx(connection);
        return tx.exec1("SELECT state FROM obligation_status WHERE id = " + std::to_string(id))[0]
            .as<std::string>();
    }

    cpx::test::TestDatabase db;
    std::unique_ptr<pqxx::connection> owned;
    pqxx::connection& connection;
};

TEST_F(SettlementSchema, AnObligationIsAValidTrade) {
    EXPECT_THROW(exec(obligation(2, 0, 4, 0)), pqxx::check_violation);
    EXPECT_THROW(exec(obligation(2, 250, 0, 0)), pqxx::check_violation);
    EXPECT_THROW(exec(obligation(2, 250, 4, 999)), pqxx::check_violation);
    EXPECT_THROW(exec(obligation(2, 250, 4, 1'000, 3, 3)), pqxx::check_violation);
    // A product beyond bigint fails the check, not the arithmetic.
    EXPECT_THROW(exec(obligation(2, 4'000'000'000'000, 4'000'000'000'000, 1)),
                 pqxx::check_violation);
    EXPECT_THROW(exec(obligation(1, 250, 4, 1'000)), pqxx::unique_violation);
    exec(obligation(2, 250, 4, 1'000), true);
}

TEST_F(SettlementSchema, EachStepHappensAtMostOnceAndAnObligationEndsOnce) {
    EXPECT_EQ(state(1), "open");
    exec(event(1, 2), true);
    EXPECT_EQ(state(1), "delivered");
    EXPECT_THROW(exec(event(1, 2)), pqxx::unique_violation);
    exec(event(1, 3));
    EXPECT_EQ(state(1), "disputed");
    // A rejected dispute and the settlement it leads to, in one statement.
    exec(
        "INSERT INTO obligation_events (obligation_id, kind, seq, ts_ns, paid_fen, fee_fen, "
        "refunded_fen) VALUES (1, 4, 12, 300, 0, 0, 0), (1, 6, 12, 300, 995, 5, 0)");
    EXPECT_EQ(state(1), "settled");
    // Settled, it can neither fail nor settle again.
    EXPECT_THROW(exec(event(1, 7, 12, 0, 0, 1'000)), pqxx::unique_violation);
    EXPECT_THROW(exec(event(1, 6, 12, 995, 5, 0)), pqxx::unique_violation);
}

TEST_F(SettlementSchema, AFinalStepAccountsForTheWholeAmount) {
    // Settled: paid + fee + refunded = amount.
    EXPECT_THROW(exec(event(1, 6, 11, 995, 4, 0)), pqxx::check_violation);
    EXPECT_THROW(exec(event(1, 6, 11, 500, 5, 400)), pqxx::check_violation);
    // Failed: everything refunded, nothing paid.
    EXPECT_THROW(exec(event(1, 7, 11, 0, 0, 999)), pqxx::check_violation);
    EXPECT_THROW(exec(event(1, 7, 11, 1, 0, 999)), pqxx::check_violation);
    // No step before the trade.
    EXPECT_THROW(exec(event(1, 2, 9)), pqxx::check_violation);
    // Negative amounts, unknown kinds and obligations.
    EXPECT_THROW(exec(event(1, 6, 11, 1'005, -5, 0)), pqxx::check_violation);
    EXPECT_THROW(exec(event(1, 1)), pqxx::foreign_key_violation);
    EXPECT_THROW(exec(event(1, 8)), pqxx::foreign_key_violation);
    EXPECT_THROW(exec(event(99, 2)), pqxx::foreign_key_violation);
    // A partial delivery: paid and fee for the delivered part, the rest refunded.
    exec(event(1, 6, 11, 497, 3, 500), true);
    EXPECT_EQ(state(1), "settled");
    exec(obligation(2, 250, 4, 1'000));
    exec(event(2, 7, 11, 0, 0, 1'000), true);
    EXPECT_EQ(state(2), "failed");
}

TEST_F(SettlementSchema, TheRecordIsAppendOnlyEvenForItsOwner) {
    exec(event(1, 2));
    for (const char* sql :
         {"UPDATE obligations SET price = 1", "DELETE FROM obligations",
          "TRUNCATE obligations CASCADE", "UPDATE obligation_events SET seq = 12",
          "DELETE FROM obligation_events", "TRUNCATE obligation_events",
          "DELETE FROM obligation_event_kinds", "UPDATE obligation_event_kinds SET name = 'x'"}) {
        EXPECT_THROW(exec(sql), pqxx::insufficient_privilege) << sql;
    }
}

TEST_F(SettlementSchema, TheProjectorsProgressOnlyMovesForward) {
    exec("UPDATE projector_progress SET seq = 10", true);
    exec("UPDATE projector_progress SET seq = 10", true);
    EXPECT_THROW(exec("UPDATE projector_progress SET seq = 9", true), pqxx::check_violation);
    EXPECT_THROW(exec("DELETE FROM projector_progress"), pqxx::insufficient_privilege);
    EXPECT_THROW(exec("INSERT INTO projector_progress (one, seq) VALUES (false, 1)"),
                 pqxx::check_violation);
    EXPECT_THROW(exec("INSERT INTO projector_progress (seq) VALUES (1)", true),
                 pqxx::insufficient_privilege);
    pqxx::read_transaction tx(connection);
    EXPECT_EQ(tx.exec1("SELECT seq FROM projector_progress")[0].as<std::int64_t>(), 10);
}

}  // namespace
