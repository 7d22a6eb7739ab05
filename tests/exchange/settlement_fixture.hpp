#pragma once
// A settlement test: trades between two buyers and two providers, and every settlement
// step as one call (tests/exchange/settlement_test.cpp, voucher_test.cpp).

#include <string>
#include <vector>

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {

constexpr std::uint64_t kFeesAccount = ledger::account_id(0, ledger::purpose::fees);

// Two funded buyers and two providers (without capacity: a test registers what it
// sells), and the settlement steps as one call each.
class SettlementTest : public ExchangeTest {
  protected:
    SettlementTest() {
        alice = x.buyer("alice", 1'000'000);
        bob = x.buyer("bob", 1'000'000);
        pat = x.provider("pat");
        quinn = x.provider("quinn");
    }

    // pat sells `quantity` at `price` and alice buys it: one trade, one obligation.
    Obligation trade(Price price, Quantity quantity, const Party& seller, const Party& buyer) {
        const std::string n = std::to_string(next_++);
        EXPECT_EQ(x.send(TestExchange::sell(seller, price, quantity, "s" + n)).code(), Code::None);
        EXPECT_EQ(x.send(TestExchange::buy(buyer, price, quantity, "b" + n)).code(), Code::None);
        const std::vector<Obligation> all = x.exchange.open_obligations();
        EXPECT_FALSE(all.empty());
        return all.empty() ? Obligation{} : all.back();
    }

    Request settlement_request(RequestType type, const Party& caller, Payload& p) const {
        Request r;
        r.type = type;
        r.key_hash = caller.key;
        r.payload = &p;
        return r;
    }
    Code confirm(const Party& caller, std::uint64_t id, Quantity delivered) {
        Payload p;
        p.obligation_id = id;
        p.delivered_quantity = delivered;
        return x.send(settlement_request(RequestType::ConfirmDelivery, caller, p)).code();
    }
    Code dispute(const Party& caller, std::uint64_t id, const std::string& note = "late") {
        Payload p;
        p.obligation_id = id;
        p.note = note;
        return x.send(settlement_request(RequestType::DisputeDelivery, caller, p)).code();
    }
    Code resolve(std::uint64_t id, bool uphold, SettlementRunResult* result = nullptr) {
        Payload p;
        p.obligation_id = id;
        p.uphold = uphold;
        p.note = "operator ruling";
        const Code code = x.send(settlement_request(RequestType::ResolveDispute, x.op, p)).code();
        if (result != nullptr) {
            *result = p.settlement;
        }
        return code;
    }
    SettlementRunResult run(std::uint32_t limit = 0, const Party* caller = nullptr,
                            Code expected = Code::None) {
        Payload p;
        p.settlement_limit = limit;
        const Code code =
            x.send(settlement_request(RequestType::RunSettlement, caller ? *caller : x.op, p))
                .code();
        EXPECT_EQ(code, expected);
        return p.settlement;
    }
    std::vector<Obligation> list(const Party& caller, AccountId account = 0, std::uint8_t state = 0,
                                 Code expected = Code::None) {
        Payload p;
        p.state_filter = state;
        Request r = settlement_request(RequestType::ListObligations, caller, p);
        r.account = account;
        EXPECT_EQ(x.send(r).code(), expected);
        return p.obligations;
    }
    Code credit_collateral(const Party& provider, Price amount, const std::string& id) {
        Payload p;
        p.amount_fen = amount;
        p.deposit_id = id;
        return x.admin(RequestType::CreditCollateral, p, provider.id);
    }
    // Past the end of the delivery window and a whole dispute period.
    void pass_due() { x.now = kWindowEnd + x.exchange.settlement_rules().dispute_period_ns; }
    Price fees() const { return x.exchange.ledger().account(kFeesAccount)->credit_balance(); }
    void expect_balanced() const { EXPECT_TRUE(x.exchange.ledger().totals().balanced()); }

    Party alice, bob, pat, quinn;
    int next_ = 1;
};

}  // namespace cpx::exchange::test
