#pragma once
// A journalled exchange for the projector's tests: every request is stamped, appended to
// a real PostgreSQL journal (PgJournal, as cpxd's sequencer does) and applied, so that
// the projector finds in the database exactly what cpxd would have written. Helpers
// build the requests of a market the way tests/exchange's harness does.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/exchange/exchange.hpp"
#include "cpx/journal/pg_journal.hpp"
#include "cpx/projector/ledger_projector.hpp"
#include "cpx/store/database.hpp"
#include "exchange_fixture.hpp"
#include "test_database.hpp"

namespace cpx::projector::test {

using exchange::AccountId;
using exchange::Code;
using exchange::ObligationState;
using exchange::Payload;
using exchange::Price;
using exchange::Quantity;
using exchange::Request;
using exchange::RequestType;
using exchange::Role;
using exchange::test::Party;
using exchange::test::TestExchange;

inline exchange::ExchangeConfig test_config() {
    exchange::ExchangeConfig c = exchange::test::small_config();
    c.accounts_max = 256;
    return c;
}

class JournalledExchange {
  public:
    JournalledExchange(const std::string& url, const exchange::ExchangeConfig& config)
        : exchange(config, sink), journal_(journal_config(url)) {
        const journal::RecoveryReport report = journal_.recover(
            [&](const Request& r) { exchange.apply(r); }, [&] { return exchange.state_hash(); });
        EXPECT_EQ(report.last_seq, 0u) << "the tests start from an empty journal";
        journal_.start();
        op.key = exchange::test::key_of(1);
        Payload p;
        p.account.name = "operator";
        p.new_key_hash = op.key;
        Request r;
        r.type = RequestType::Bootstrap;
        r.payload = &p;
        send(r);
        op.id = 1;
    }
    ~JournalledExchange() { journal_.stop(); }
    JournalledExchange(const JournalledExchange&) = delete;
    JournalledExchange& operator=(const JournalledExchange&) = delete;

    // Journals then applies, as the sequencer does; returns the answer's code.
    Code send(Request r) {
        r.token = next_token_++;
        r.ts_ns = now;
        if (receipt_lead_ns != 0) {
            r.received_ns = now - receipt_lead_ns;
        }
        const std::size_t first = sink.records.size();
        journal_.append(r);
        exchange.apply(r);
        for (std::size_t i = first; i < sink.records.size(); ++i) {
            const exchange::Outbound& o = sink.records[i];
            if (o.token == r.token && o.kind != exchange::OutKind::Fill &&
                o.kind != exchange::OutKind::Market) {
                last_answer = o;
                return o.code;
            }
        }
        last_answer = exchange::Outbound{};
        return Code::None;
    }

    // Waits until everything journalled is committed.
    void flush() {
        const std::uint64_t last = journal_.next_seq() - 1;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (journal_.durable_seq() < last) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the journal is stuck";
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    std::uint64_t last_seq() const { return journal_.next_seq() - 1; }

    // --- Administration --------------------------------------------------------------
    Code admin(RequestType type, Payload& payload, AccountId account = 0) {
        Request r;
        r.type = type;
        r.key_hash = op.key;
        r.payload = &payload;
        r.account = account;
        return send(r);
    }
    Party account(Role role, const std::string& name, const std::string& owner_group = "") {
        Payload p;
        p.account.name = name;
        p.account.role = role;
        p.account.owner_group = owner_group;
        EXPECT_EQ(admin(RequestType::CreateAccount, p), Code::None);
        Party party;
        party.id = p.account.id;
        party.key = exchange::test::key_of(1000 + party.id);
        Payload k;
        k.new_key_hash = party.key;
        EXPECT_EQ(admin(RequestType::CreateApiKey, k, party.id), Code::None);
        return party;
    }
    Code deposit(const Party& party, Price amount, RequestType type = RequestType::CreditDeposit) {
        Payload p;
        p.amount_fen = amount;
        p.deposit_id = "dep-" + std::to_string(next_deposit_++);
        return admin(type, p, party.id);
    }
    Party buyer(const std::string& name, Price deposit_fen, const std::string& owner_group = "") {
        const Party party = account(Role::Buyer, name, owner_group);
        EXPECT_EQ(deposit(party, deposit_fen), Code::None);
        return party;
    }
    Party provider(const std::string& name, Quantity bundles, Price collateral_fen = 0,
                   const std::string& owner_group = "") {
        const Party party = account(Role::Provider, name, owner_group);
        Payload p;
        p.capacity.kind = matching::InstrumentKind::TokenBundle;
        p.capacity.hub = exchange::test::kTokenHub;
        p.capacity.window_start_ns = exchange::test::kWindowStart;
        p.capacity.window_end_ns = exchange::test::kWindowEnd;
        p.capacity.token_bundles = bundles;
        EXPECT_EQ(admin(RequestType::RegisterCapacity, p, party.id), Code::None);
        if (collateral_fen > 0) {
            EXPECT_EQ(deposit(party, collateral_fen, RequestType::CreditCollateral), Code::None);
        }
        return party;
    }
    void add_tokens() {
        Payload p;
        p.instrument = exchange::test::token_spec();
        p.instrument.initial_state = matching::TradingState::Continuous;
        EXPECT_EQ(admin(RequestType::AddInstrument, p), Code::None);
    }

    // --- Orders ----------------------------------------------------------------------
    // The exchange's order id of an order that was accepted (0 if it was not).
    exchange::OrderId buy(const Party& party, Price price, Quantity quantity) {
        const Code code =
            send(TestExchange::buy(party, price, quantity, "c" + std::to_string(next_client_++)));
        EXPECT_EQ(code, Code::None);
        return last_answer.order_id;
    }
    exchange::OrderId sell(const Party& party, Price price, Quantity quantity) {
        const Code code =
            send(TestExchange::sell(party, price, quantity, "c" + std::to_string(next_client_++)));
        EXPECT_EQ(code, Code::None);
        return last_answer.order_id;
    }
    Code cancel(const Party& party, exchange::OrderId order) {
        return send(TestExchange::cancel(party, order, "c" + std::to_string(next_client_++)));
    }

    // --- Settlement ------------------------------------------------------------------
    Code settlement(RequestType type, const Party& caller, Payload& p) {
        Request r;
        r.type = type;
        r.key_hash = caller.key;
        r.payload = &p;
        return send(r);
    }
    Code confirm(const Party& provider, std::uint64_t obligation, Quantity delivered) {
        Payload p;
        p.obligation_id = obligation;
        p.delivered_quantity = delivered;
        return settlement(RequestType::ConfirmDelivery, provider, p);
    }
    Code dispute(const Party& buyer, std::uint64_t obligation, const std::string& note) {
        Payload p;
        p.obligation_id = obligation;
        p.note = note;
        return settlement(RequestType::DisputeDelivery, buyer, p);
    }
    Code resolve(std::uint64_t obligation, bool uphold, const std::string& note) {
        Payload p;
        p.obligation_id = obligation;
        p.uphold = uphold;
        p.note = note;
        return settlement(RequestType::ResolveDispute, op, p);
    }
    exchange::SettlementRunResult run_settlement() {
        Payload p;
        EXPECT_EQ(settlement(RequestType::RunSettlement, op, p), Code::None);
        return p.settlement;
    }
    // Past every obligation's delivery window and dispute period.
    void pass_due() {
        now = std::max(now, exchange::test::kWindowEnd) +
              exchange.settlement_rules().dispute_period_ns + 1;
    }

    exchange::test::RecordingSink sink;
    exchange::Exchange exchange;
    Party op;
    exchange::Timestamp now = exchange::test::kStartNs;
    // When set, every request is stamped as received this long before it is sequenced,
    // as the gateway stamps its clients' commands.
    exchange::Timestamp receipt_lead_ns = 0;
    exchange::Outbound last_answer;

  private:
    static journal::PgJournalConfig journal_config(const std::string& url) {
        journal::PgJournalConfig c;
        c.database_url = url;
        c.ring_bytes = std::size_t{1} << 20;
        c.batch_bytes_max = std::size_t{1} << 18;
        return c;
    }

    journal::PgJournal journal_;
    exchange::Token next_token_ = 1;
    std::uint64_t next_deposit_ = 1;
    std::uint64_t next_client_ = 1;
};

inline ProjectorConfig projector_config(const std::string& url, std::uint64_t batch = 100'000) {
    ProjectorConfig c;
    c.database_url = url;
    c.exchange = test_config();
    c.batch_requests_max = batch;
    c.snapshot_every = 0;
    c.poll_interval_ms = 5;
    c.retry_wait_ms_min = 10;
    c.retry_wait_ms_max = 100;
    return c;
}

// Reads one number.
inline std::int64_t scalar(const std::string& url, const std::string& sql) {
    const auto connection = store::connect(url);
    pqxx::read_transaction tx(*connection);
    const pqxx::row row = tx.exec1(sql);
    return row[0].is_null() ? 0 : row[0].as<std::int64_t>();
}

// A table's rows as text, in a stable order, for comparing two databases.
inline std::vector<std::string> dump(const std::string& url, const std::string& sql) {
    const auto connection = store::connect(url);
    pqxx::read_transaction tx(*connection);
    std::vector<std::string> rows;
    for (const pqxx::row& row : tx.exec(sql)) {
        std::string line;
        for (const pqxx::field& f : row) {
            line += f.is_null() ? "NULL" : f.c_str();
            line += '|';
        }
        rows.push_back(line);
    }
    return rows;
}

// Everything the projector writes, in a stable order.
inline std::vector<std::string> dump_projection(const std::string& url) {
    std::vector<std::string> all;
    for (const char* sql :
         {"SELECT * FROM ledger_accounts ORDER BY id", "SELECT * FROM transfers ORDER BY id",
          "SELECT * FROM obligations ORDER BY id",
          "SELECT * FROM obligation_events ORDER BY obligation_id, kind",
          "SELECT * FROM audit_log ORDER BY position",
          "SELECT * FROM execution_reports ORDER BY seq, idx",
          "SELECT seq FROM projector_progress"}) {
        const std::vector<std::string> rows = dump(url, sql);
        all.push_back(std::string("-- ") + sql);
        all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
}

inline void expect_agrees(const LedgerProjector& projector, bool recompute = true) {
    const DatabaseCheck check = projector.check_against_database(recompute);
    EXPECT_TRUE(check.ok()) << check.problems.size() << " problems, the first: "
                            << (check.problems.empty() ? "" : check.problems.front());
}

}  // namespace cpx::projector::test
