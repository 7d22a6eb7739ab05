// Administration by operators: listing instruments, trading phases, accounts and keys,
// deposits, the accelerator table and registered capacity.

#include <limits>

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {
namespace {

class ExchangeAdmin : public ::testing::Test {
  protected:
    TestExchange x;
};

TEST_F(ExchangeAdmin, AddInstrumentListsItAndAnswersWithIt) {
    Payload p;
    p.instrument = token_spec();
    ASSERT_EQ(x.admin(RequestType::AddInstrument, p), Code::None);
    ASSERT_EQ(p.instruments.size(), 1u);
    EXPECT_EQ(p.instruments[0].spec.id, kTokens);
    EXPECT_EQ(p.instruments[0].state, TradingState::Continuous);
    ASSERT_EQ(x.add_instrument(compute_spec()), Code::None);

    const Party alice = x.buyer("alice");
    Payload list;
    ASSERT_EQ(x.query(RequestType::ListInstruments, alice.key, 0, list), Code::None);
    ASSERT_EQ(list.instruments.size(), 2u);
    EXPECT_EQ(list.instruments[0].spec.id, kTokens);
    EXPECT_EQ(list.instruments[0].spec.kind, InstrumentKind::TokenBundle);
    EXPECT_EQ(list.instruments[1].spec.id, kCompute);
    EXPECT_EQ(list.instruments[1].spec.hub.view(), kComputeHub);
}

TEST_F(ExchangeAdmin, AddInstrumentRefusesSpecsThatAreNotUsable) {
    ASSERT_EQ(x.add_instrument(token_spec()), Code::None);

    InstrumentSpec zero_id = token_spec(0);
    EXPECT_EQ(x.add_instrument(zero_id), Code::InvalidInstrument);
    EXPECT_EQ(x.add_instrument(token_spec(matching::kAllInstruments)), Code::InvalidInstrument);
    EXPECT_EQ(x.add_instrument(token_spec()), from_engine(Reason::DuplicateInstrument));

    InstrumentSpec bad_window = token_spec(5);
    bad_window.window_end_ns = bad_window.window_start_ns;
    EXPECT_EQ(x.add_instrument(bad_window), Code::InvalidInstrument);
    bad_window.window_end_ns = bad_window.window_start_ns - 1;
    EXPECT_EQ(x.add_instrument(bad_window), Code::InvalidInstrument);

    InstrumentSpec zero_tick = token_spec(5);
    zero_tick.tick_size = 0;
    EXPECT_EQ(x.add_instrument(zero_tick), Code::InvalidInstrument);
    InstrumentSpec off_tick = token_spec(5);
    off_tick.tick_size = 7;  // price_max 100'000 is not a multiple of 7
    EXPECT_EQ(x.add_instrument(off_tick), Code::InvalidInstrument);

    InstrumentSpec no_symbol = token_spec(5);
    no_symbol.symbol = {};
    EXPECT_EQ(x.add_instrument(no_symbol), Code::InvalidInstrument);
    InstrumentSpec no_hub = token_spec(5);
    no_hub.hub = {};
    EXPECT_EQ(x.add_instrument(no_hub), Code::InvalidInstrument);
    InstrumentSpec bad_kind = token_spec(5);
    bad_kind.kind = static_cast<InstrumentKind>(9);
    EXPECT_EQ(x.add_instrument(bad_kind), Code::InvalidInstrument);

    const Party alice = x.buyer("alice");
    Payload list;
    ASSERT_EQ(x.query(RequestType::ListInstruments, alice.key, 0, list), Code::None);
    EXPECT_EQ(list.instruments.size(), 1u);
    // The id that failed is still free.
    EXPECT_EQ(x.add_instrument(token_spec(5)), Code::None);
}

TEST_F(ExchangeAdmin, TradingStateCycleWithAnAuctionThatUncrossesIntoUnsolicitedFills) {
    x.add_default_instruments();
    const Party alice = x.buyer("alice", 1'000'000);
    const Party pat = x.provider("pat");
    x.register_tokens(pat, 1'000);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 5, "resting")).code(), Code::None);

    // Halt: new orders refused, cancels allowed; resume: trading again.
    ASSERT_EQ(x.set_state(kTokens, StateAction::Halt), Code::None);
    EXPECT_EQ(*x.exchange.engine().state(kTokens), TradingState::Halted);
    EXPECT_EQ(x.send(TestExchange::buy(alice, 100, 1, "h1")).code(),
              from_engine(Reason::InstrumentHalted));
    EXPECT_EQ(x.set_state(kTokens, StateAction::Halt), from_engine(Reason::InvalidStateTransition));
    ASSERT_EQ(x.set_state(kTokens, StateAction::Resume), Code::None);
    EXPECT_EQ(*x.exchange.engine().state(kTokens), TradingState::Continuous);

    // A call auction collects crossing orders without trading.
    Payload p;
    Request start = x.admin_request(RequestType::SetTradingState, p);
    start.instrument = kTokens;
    start.action = StateAction::StartAuction;
    ASSERT_EQ(x.send(start).code(), Code::None);
    ASSERT_EQ(p.instruments.size(), 1u);
    EXPECT_EQ(p.instruments[0].state, TradingState::CallAuction);

    const Result bid = x.send(TestExchange::buy(alice, 120, 10, "a1"));
    const Result ask = x.send(TestExchange::sell(pat, 110, 8, "a2"));
    ASSERT_EQ(bid.code(), Code::None);
    ASSERT_EQ(ask.code(), Code::None);
    EXPECT_TRUE(bid.fills.empty());
    EXPECT_TRUE(ask.fills.empty());
    EXPECT_EQ(x.balances(alice).reserved_fen, 500 + 1'200);
    ASSERT_EQ(x.set_state(kTokens, StateAction::FreezeAuction), Code::None);
    EXPECT_EQ(x.send(TestExchange::cancel(alice, bid.answer.order_id, "c1")).code(),
              from_engine(Reason::CancelNotAllowedInNoCancelPhase));

    // The uncross trades 8 at one price and reports it to both sides, unasked.
    Payload end_payload;
    Request end = x.admin_request(RequestType::SetTradingState, end_payload);
    end.instrument = kTokens;
    end.action = StateAction::EndAuction;
    const Result uncross = x.send(end);
    ASSERT_EQ(uncross.code(), Code::None);
    EXPECT_EQ(end_payload.instruments.at(0).state, TradingState::Continuous);
    const std::vector<Outbound> reports = uncross.unsolicited(OutKind::Report);
    ASSERT_EQ(reports.size(), 2u);
    Price auction_price = 0;
    for (const Outbound& r : reports) {
        EXPECT_EQ(r.exec, ExecType::Trade);
        EXPECT_EQ(r.token, 0u);
        EXPECT_EQ(r.fill_count, 1u);
        EXPECT_EQ(r.filled, 8);
    }
    const std::vector<Outbound> fills = uncross.unsolicited(OutKind::Fill);
    ASSERT_EQ(fills.size(), 2u);
    auction_price = fills[0].price;
    EXPECT_GE(auction_price, 110);
    EXPECT_LE(auction_price, 120);
    EXPECT_EQ(fills[1].price, auction_price);
    EXPECT_FALSE(fills[0].aggressor);
    EXPECT_FALSE(fills[1].aggressor);
    EXPECT_FALSE(uncross.unsolicited(OutKind::Market).empty());

    // The buyer paid the auction price and holds the rest of its bid at its limit.
    const BalanceView b = x.balances(alice);
    EXPECT_EQ(b.balance_fen, 1'000'000 - 8 * auction_price);
    EXPECT_EQ(b.reserved_fen, 500 + 2 * 120);
    EXPECT_EQ(x.balances(pat).capacity.at(0).sold, 8);
    expect_gapless_seq(x, alice.id);
    expect_gapless_seq(x, pat.id);
}

TEST_F(ExchangeAdmin, HaltAndCancelCancelsEveryRestingOrderWithReports) {
    x.add_default_instruments();
    const Party alice = x.buyer("alice", 1'000'000);
    const Party pat = x.provider("pat");
    x.register_tokens(pat, 1'000);
    ASSERT_EQ(x.send(TestExchange::buy(alice, 100, 5, "b1")).code(), Code::None);
    ASSERT_EQ(x.send(TestExchange::sell(pat, 200, 5, "s1")).code(), Code::None);
    Payload p;
    Request r = x.admin_request(RequestType::SetTradingState, p);
    r.instrument = kTokens;
    r.action = StateAction::HaltAndCancel;
    const Result halt = x.send(r);
    ASSERT_EQ(halt.code(), Code::None);
    const std::vector<Outbound> reports = halt.unsolicited(OutKind::Report);
    ASSERT_EQ(reports.size(), 2u);
    for (const Outbound& o : reports) {
        EXPECT_EQ(o.exec, ExecType::Cancelled);
        EXPECT_EQ(o.code, from_engine(Reason::CancelledHalt));
    }
    EXPECT_EQ(x.balances(alice).reserved_fen, 0);
    EXPECT_EQ(x.balances(pat).capacity.at(0).offered, 0);
    EXPECT_EQ(x.exchange.live_orders(), 0u);
    EXPECT_EQ(x.set_state(99, StateAction::Resume), from_engine(Reason::UnknownInstrument));
    EXPECT_EQ(x.set_state(kTokens, StateAction::None), from_engine(Reason::InvalidCommand));
}

TEST_F(ExchangeAdmin, CreditDepositIsIdempotentByDepositId) {
    const Party alice = x.buyer("alice");
    Payload first;
    first.amount_fen = 50'000;
    first.deposit_id = "bank-tx-1";
    ASSERT_EQ(x.admin(RequestType::CreditDeposit, first, alice.id), Code::None);
    EXPECT_FALSE(first.duplicate);
    EXPECT_EQ(first.balance.balance_fen, 50'000);

    // The same deposit again: acknowledged as a duplicate, nothing credited.
    Payload again;
    again.amount_fen = 50'000;
    again.deposit_id = "bank-tx-1";
    ASSERT_EQ(x.admin(RequestType::CreditDeposit, again, alice.id), Code::None);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.balance.balance_fen, 50'000);
    EXPECT_EQ(x.balances(alice).balance_fen, 50'000);

    // The same id with another amount or for another account is a conflict.
    Payload other_amount;
    other_amount.amount_fen = 60'000;
    other_amount.deposit_id = "bank-tx-1";
    EXPECT_EQ(x.admin(RequestType::CreditDeposit, other_amount, alice.id),
              Code::DuplicateDepositId);
    const Party bob = x.buyer("bob");
    Payload other_account;
    other_account.amount_fen = 50'000;
    other_account.deposit_id = "bank-tx-1";
    EXPECT_EQ(x.admin(RequestType::CreditDeposit, other_account, bob.id), Code::DuplicateDepositId);
    EXPECT_EQ(x.balances(alice).balance_fen, 50'000);
    EXPECT_EQ(x.balances(bob).balance_fen, 0);

    // A new id credits again.
    EXPECT_EQ(x.deposit(alice.id, 1, "bank-tx-2"), Code::None);
    EXPECT_EQ(x.balances(alice).balance_fen, 50'001);
}

TEST_F(ExchangeAdmin, CreditDepositRefusesBadAmountsAndUnknownAccounts) {
    const Party alice = x.buyer("alice");
    EXPECT_EQ(x.deposit(alice.id, 0), Code::InvalidAmount);
    EXPECT_EQ(x.deposit(alice.id, -5), Code::InvalidAmount);
    EXPECT_EQ(x.deposit(999, 5), Code::UnknownAccount);
    EXPECT_EQ(x.deposit(alice.id, std::numeric_limits<Price>::max()), Code::None);
    EXPECT_EQ(x.deposit(alice.id, 1), Code::Overflow);
    Payload no_id;
    no_id.amount_fen = 5;
    EXPECT_EQ(x.admin(RequestType::CreditDeposit, no_id, alice.id), Code::InvalidAmount);
}

TEST_F(ExchangeAdmin, SetAcceleratorTableBumpsTheVersionAndChangesLaterConversions) {
    x.add_default_instruments();
    const Party pat = x.provider("pat");
    Code code = Code::None;
    const Payload before = x.register_compute(pat, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    ASSERT_EQ(code, Code::None);
    EXPECT_EQ(before.registered_units, 79);
    EXPECT_EQ(before.table_version, 1u);

    Payload table;
    table.models = {{"H100-SXM", 1'000, false}, {"ASCEND-910C", 800, true}};
    ASSERT_EQ(x.admin(RequestType::SetAcceleratorTable, table), Code::None);
    EXPECT_EQ(table.table_version, 2u);

    // 8 x 1 P for 10 h = 80 P·h now; what was registered before stays.
    const Payload after = x.register_compute(pat, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    ASSERT_EQ(code, Code::None);
    EXPECT_EQ(after.registered_units, 80);
    EXPECT_EQ(after.total_units, 159);
    EXPECT_EQ(after.table_version, 2u);
    const Payload new_model =
        x.register_compute(pat, "ASCEND-910C", 3, kWindowStart, kWindowEnd, &code);
    ASSERT_EQ(code, Code::None);
    EXPECT_EQ(new_model.registered_units, 24);
    // A model the new table no longer lists is unknown.
    x.register_compute(pat, "A100", 8, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::UnknownAcceleratorModel);

    Payload again;
    again.models = {{"H20", 148, false}};
    ASSERT_EQ(x.admin(RequestType::SetAcceleratorTable, again), Code::None);
    EXPECT_EQ(again.table_version, 3u);
}

TEST_F(ExchangeAdmin, SetAcceleratorTableRefusesBadTablesAndKeepsTheOldOne) {
    const std::vector<std::vector<AcceleratorModel>> bad = {
        {},
        {{"", 100, false}},
        {{"X", 0, false}},
        {{"X", -1, false}},
        {{"X", 1'000'001, false}},
        {{"X", 100, false}, {"X", 200, false}},
    };
    for (const auto& models : bad) {
        Payload p;
        p.models = models;
        EXPECT_EQ(x.admin(RequestType::SetAcceleratorTable, p), Code::InvalidAcceleratorTable);
    }
    const Party pat = x.provider("pat");
    Code code = Code::None;
    const Payload reg = x.register_compute(pat, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::None);
    EXPECT_EQ(reg.table_version, 1u);
    EXPECT_EQ(reg.registered_units, 79);
}

TEST_F(ExchangeAdmin, RegisterCapacityRefusesWhatCannotBeDelivered) {
    const Party pat = x.provider("pat");
    const Party alice = x.buyer("alice");
    Code code = Code::None;
    x.register_compute(alice, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::RoleNotAllowed);
    x.register_compute(pat, "NO-SUCH-GPU", 8, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::UnknownAcceleratorModel);
    x.register_compute(pat, "H100-SXM", 0, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::InvalidCapacity);
    x.register_compute(pat, "H100-SXM", 8, kWindowEnd, kWindowStart, &code);
    EXPECT_EQ(code, Code::InvalidCapacity);
    // Less than one whole P·h: 1 x MLU370 (96 milli-P) for 10 h is 0.96.
    x.register_compute(pat, "MLU370", 1, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::InvalidCapacity);
    x.register_compute(pat, "H100-SXM", 8, kWindowStart, kWindowEnd, &code);
    EXPECT_EQ(code, Code::None);
    Payload unknown;
    unknown.capacity.kind = InstrumentKind::TokenBundle;
    unknown.capacity.hub = kTokenHub;
    unknown.capacity.window_start_ns = kWindowStart;
    unknown.capacity.window_end_ns = kWindowEnd;
    unknown.capacity.token_bundles = 5;
    EXPECT_EQ(x.admin(RequestType::RegisterCapacity, unknown, 999), Code::UnknownAccount);
    unknown.capacity.token_bundles = 0;
    EXPECT_EQ(x.admin(RequestType::RegisterCapacity, unknown, pat.id), Code::InvalidCapacity);
    EXPECT_TRUE(x.balances(alice).capacity.empty());
    ASSERT_EQ(x.balances(pat).capacity.size(), 1u);
    EXPECT_EQ(x.balances(pat).capacity[0].registered, 79);
}

TEST_F(ExchangeAdmin, CreateAccountAndApiKeyValidation) {
    Payload good;
    good.account.name = "alice";
    good.account.role = Role::Buyer;
    good.account.owner_group = "lab-1";
    ASSERT_EQ(x.admin(RequestType::CreateAccount, good), Code::None);
    EXPECT_EQ(good.account.id, 2u);

    Payload no_name;
    no_name.account.role = Role::Buyer;
    EXPECT_EQ(x.admin(RequestType::CreateAccount, no_name), Code::InvalidAccount);
    Payload no_role;
    no_role.account.name = "x";
    EXPECT_EQ(x.admin(RequestType::CreateAccount, no_role), Code::InvalidAccount);
    Payload negative;
    negative.account.name = "x";
    negative.account.role = Role::Buyer;
    negative.account.order_quantity_max = -1;
    EXPECT_EQ(x.admin(RequestType::CreateAccount, negative), Code::InvalidAccount);

    Payload key;
    key.new_key_hash = key_of(5);
    EXPECT_EQ(x.admin(RequestType::CreateApiKey, key, 999), Code::UnknownAccount);
    EXPECT_EQ(x.admin(RequestType::CreateApiKey, key, good.account.id), Code::None);
    // The same key twice would make it ambiguous.
    EXPECT_EQ(x.admin(RequestType::CreateApiKey, key, good.account.id), Code::InvalidAccount);
    // A second key for the same account works like the first.
    Payload second;
    second.new_key_hash = key_of(6);
    ASSERT_EQ(x.admin(RequestType::CreateApiKey, second, good.account.id), Code::None);
    Payload a;
    Payload b;
    ASSERT_EQ(x.query(RequestType::Balances, key_of(5), 0, a), Code::None);
    ASSERT_EQ(x.query(RequestType::Balances, key_of(6), 0, b), Code::None);
    EXPECT_EQ(a.balance.account, good.account.id);
    EXPECT_EQ(b.balance.account, good.account.id);
}

}  // namespace
}  // namespace cpx::exchange::test
