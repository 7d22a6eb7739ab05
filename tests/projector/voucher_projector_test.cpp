// Vouchers projected to PostgreSQL: a real exchange, journalled in a real PostgreSQL,
// grants vouchers and settles deals, and the ledger projector writes every program,
// voucher and voucher event next to the ledger transfers that paid them. For each
// redemption rule the rows are read back from PostgreSQL (the event and its reason, the
// transfer, the accounts' balances), and the tables' own checks accept everything the
// exchange did. Then the contention case: many buyers, one program whose budget pays only
// some of their deals, settlements and dispute rulings submitted from several threads
// while the projector follows; PostgreSQL must show a budget that never went below zero
// and every late claim refused as BUDGET_EXHAUSTED.

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "projector_fixture.hpp"
#include "voucher_specs.hpp"

namespace cpx::projector::test {
namespace {

using exchange::Obligation;
using exchange::Timestamp;
using exchange::VoucherEvent;
using exchange::VoucherEventKind;
using exchange::VoucherMode;
using exchange::VoucherProgramSpec;
using exchange::VoucherSide;
using exchange::test::kComputeHub;
using exchange::test::kHour;
using exchange::test::kMs;
using exchange::test::kSecond;
using exchange::test::kStartNs;
using exchange::test::kTokenHub;
using exchange::test::kTokens;
using exchange::test::kWindowEnd;
using exchange::test::kWindowStart;

using exchange::test::hohhot_program;
using exchange::test::ineligible_variants;
using exchange::test::kAscend;
using exchange::test::kDay;
using exchange::test::kH100;
using exchange::test::RecordingVoucherSink;

template <typename Int>
std::string text(Int v) {
    return std::to_string(v);
}
std::string id_or_null(std::uint64_t id) {
    return id == 0 ? "NULL" : std::to_string(id);
}

// A voucher claim (redemption or refusal) as PostgreSQL holds it.
struct Claim {
    int kind = 0;
    int reason = 0;
    Price amount = 0;
    Price share = 0;
    std::int64_t transfer = 0;  // 0 when NULL
    std::int64_t voucher = 0;
    std::int64_t cap_period = 0;
};

constexpr int kRedeemed = 5;
constexpr int kRefused = 6;

int reason(Code code) {
    return static_cast<int>(code);
}

class VoucherProjection : public ::testing::Test {
  protected:
    VoucherProjection() : x(db.url(), test_config()) {
        x.exchange.set_observers(nullptr, nullptr, &live);
        x.add_tokens();
        for (const auto& [id, model] : {std::pair{kAscend, "ASCEND-910B"}, {kH100, "H100-SXM"}}) {
            Payload p;
            p.instrument = exchange::test::compute_spec(id);
            p.instrument.symbol = matching::FixedText<32>::from(std::string("WUHU-") + model);
            p.instrument.initial_state = matching::TradingState::Continuous;
            p.accelerator_model = model;
            EXPECT_EQ(x.admin(RequestType::AddInstrument, p), Code::None);
        }
        issuer = x.account(Role::Issuer, "hohhot-big-data-bureau");
        EXPECT_EQ(x.deposit(issuer, 50'000'000), Code::None);
        alice = x.buyer("alice", 1'000'000);
        bob = x.buyer("bob", 1'000'000);
        pat = x.provider("pat", 1'000'000);
        quinn = x.provider("quinn", 1'000'000);
        register_compute(pat, "ASCEND-910B");
        register_compute(quinn, "H100-SXM");
    }

    // --- The exchange ----------------------------------------------------------------
    Party party(Role role, const std::string& name, const std::string& owner_group) {
        Payload p;
        p.account.name = name;
        p.account.role = role;
        p.account.owner_group = owner_group;
        EXPECT_EQ(x.admin(RequestType::CreateAccount, p), Code::None);
        Party made;
        made.id = p.account.id;
        made.key = exchange::test::key_of(1000 + made.id);
        Payload k;
        k.new_key_hash = made.key;
        EXPECT_EQ(x.admin(RequestType::CreateApiKey, k, made.id), Code::None);
        return made;
    }
    void register_tokens(const Party& provider) {
        Payload p;
        p.capacity.kind = matching::InstrumentKind::TokenBundle;
        p.capacity.hub = kTokenHub;
        p.capacity.window_start_ns = kWindowStart;
        p.capacity.window_end_ns = kWindowEnd;
        p.capacity.token_bundles = 1'000'000;
        EXPECT_EQ(x.admin(RequestType::RegisterCapacity, p, provider.id), Code::None);
    }
    void register_compute(const Party& provider, const std::string& model) {
        Payload p;
        p.capacity.kind = matching::InstrumentKind::ComputeCapacity;
        p.capacity.hub = kComputeHub;
        p.capacity.window_start_ns = kWindowStart;
        p.capacity.window_end_ns = kWindowEnd;
        p.capacity.accelerator_model = model;
        p.capacity.device_count = 100;
        EXPECT_EQ(x.admin(RequestType::RegisterCapacity, p, provider.id), Code::None);
    }

    // A Hohhot-style program: 30% of token deals in the HOHHOT hub, 1,000,000 fen. Each
    // has a name of its own (a program's name is unique per issuer).
    VoucherProgramSpec hohhot() const {
        return hohhot_program(issuer.id, "Hohhot compute vouchers " + std::to_string(next_name_++));
    }
    std::uint32_t create(const VoucherProgramSpec& spec) {
        Payload p;
        p.program = spec;
        EXPECT_EQ(x.admin(RequestType::CreateVoucherProgram, p), Code::None);
        return p.programs.empty() ? 0 : p.programs[0].spec.id;
    }
    void fund(std::uint32_t program, Price amount) {
        Payload p;
        p.program_id = program;
        p.amount_fen = amount;
        p.voucher_ref = "fund-" + std::to_string(next_fund_++);
        EXPECT_EQ(x.admin(RequestType::FundVoucherProgram, p), Code::None);
    }
    std::uint64_t grant(std::uint32_t program, const Party& to, Price face,
                        Timestamp expiry = kWindowEnd + 30 * kDay) {
        Payload p;
        p.program_id = program;
        p.voucher_face_fen = face;
        p.voucher_expiry_ns = expiry;
        p.voucher_ref = "grant-" + std::to_string(next_ref_++);
        EXPECT_EQ(x.admin(RequestType::GrantVoucher, p, to.id), Code::None);
        const std::uint64_t id = p.vouchers.empty() ? 0 : p.vouchers[0].voucher.id;
        refs_[id] = p.voucher_ref;
        return id;
    }
    void revoke(std::uint64_t voucher) {
        Payload p;
        p.voucher_id = voucher;
        EXPECT_EQ(x.admin(RequestType::RevokeVoucher, p), Code::None);
    }
    // One trade: `seller` sells and `buyer` buys `quantity` at `price`.
    Obligation trade(Price price, Quantity quantity, const Party& seller, const Party& buyer,
                     exchange::InstrumentId instrument = kTokens) {
        const std::string n = std::to_string(next_order_++);
        x.now += 10 * kMs;  // inside every account's order rate
        EXPECT_EQ(x.send(TestExchange::sell(seller, price, quantity, "s" + n, instrument)),
                  Code::None);
        EXPECT_EQ(x.send(TestExchange::buy(buyer, price, quantity, "b" + n, instrument)),
                  Code::None);
        const std::vector<Obligation> open = x.exchange.open_obligations();
        EXPECT_FALSE(open.empty());
        return open.empty() ? Obligation{} : open.back();
    }
    // Trades and confirms `delivered` (all by default); settle_all() settles it.
    Obligation deal(Price price, Quantity quantity, const Party& seller, const Party& buyer,
                    exchange::InstrumentId instrument = kTokens,
                    std::optional<Quantity> delivered = {}) {
        const Obligation o = trade(price, quantity, seller, buyer, instrument);
        EXPECT_EQ(x.confirm(seller, o.id, delivered.value_or(quantity)), Code::None);
        return o;
    }
    // Past every confirmed deal's due time (max(window end, confirmation) + the dispute
    // period; the exchange's clock never goes back), then one settlement run, which
    // settles in obligation id order. Returns how many settled.
    std::uint64_t settle_all() {
        x.now = std::max(x.now, kWindowEnd) + x.exchange.settlement_rules().dispute_period_ns;
        return x.run_settlement().settled;
    }
    Obligation settle(Price price, Quantity quantity, const Party& seller, const Party& buyer,
                      exchange::InstrumentId instrument = kTokens,
                      std::optional<Quantity> delivered = {}) {
        const Obligation o = deal(price, quantity, seller, buyer, instrument, delivered);
        EXPECT_EQ(settle_all(), 1u);
        return o;
    }

    // --- PostgreSQL ------------------------------------------------------------------
    // Projects everything journalled so far, checking PostgreSQL against the replica
    // after every batch.
    LedgerProjector& project() {
        if (!projector) {
            ProjectorConfig config = projector_config(db.url(), 7);
            config.verify_each_batch = true;
            projector = std::make_unique<LedgerProjector>(config);
        }
        x.flush();
        projector->project_available();
        EXPECT_EQ(projector->projected_seq(), x.last_seq());
        return *projector;
    }
    std::int64_t sql(const std::string& query) { return scalar(db.url(), query); }

    std::optional<Claim> claim(std::uint64_t trade_id, VoucherSide side = VoucherSide::Buyer) {
        const std::vector<std::string> rows =
            dump(db.url(),
                 "SELECT kind, reason, amount_fen, share_fen, coalesce(transfer_id, 0), voucher, "
                 "coalesce(cap_period, -1) FROM voucher_events WHERE trade_id = " +
                     text(trade_id) + " AND side = " + std::to_string(static_cast<int>(side)));
        if (rows.empty()) {
            return std::nullopt;
        }
        EXPECT_EQ(rows.size(), 1u);
        const auto fields = [&] {
            std::vector<std::int64_t> out;
            std::string field;
            for (const char c : rows[0]) {
                if (c == '|') {
                    out.push_back(std::stoll(field));
                    field.clear();
                } else {
                    field += c;
                }
            }
            return out;
        }();
        Claim c;
        c.kind = static_cast<int>(fields[0]);
        c.reason = static_cast<int>(fields[1]);
        c.amount = fields[2];
        c.share = fields[3];
        c.transfer = fields[4];
        c.voucher = fields[5];
        c.cap_period = fields[6];
        return c;
    }
    // The redemption of a trade's side, with the transfer that paid it: from the
    // program's budget account to the beneficiary's available money, the amount, code
    // voucher, the trade in user_data. Returns the amount (0 when there is none).
    Price expect_paid(std::uint64_t trade_id, Price amount, int limited_by = 0,
                      VoucherSide side = VoucherSide::Buyer) {
        const std::optional<Claim> c = claim(trade_id, side);
        EXPECT_TRUE(c.has_value()) << "trade " << trade_id;
        if (!c) {
            return 0;
        }
        EXPECT_EQ(c->kind, kRedeemed) << "trade " << trade_id << " reason " << c->reason;
        EXPECT_EQ(c->amount, amount) << "trade " << trade_id;
        EXPECT_EQ(c->reason, limited_by) << "trade " << trade_id;
        const exchange::Voucher v =
            x.exchange.vouchers().at(static_cast<std::size_t>(c->voucher) - 1);
        const std::uint64_t beneficiary =
            side == VoucherSide::Buyer ? buyer_of(trade_id) : provider_of(trade_id);
        EXPECT_EQ(dump(db.url(),
                       "SELECT debit_account_id, credit_account_id, amount, code, flags, "
                       "user_data FROM transfers WHERE id = " +
                           text(c->transfer)),
                  std::vector<std::string>{
                      text(exchange::Exchange::voucher_budget_account(v.program)) + "|" +
                      text(ledger::account_id(beneficiary, ledger::purpose::available)) + "|" +
                      text(amount) + "|10|0|" + text(trade_id) + "|"})
            << "trade " << trade_id;
        return c->amount;
    }
    // A refusal for the trade's side with this reason, and no voucher payment for it.
    void expect_refused(std::uint64_t trade_id, Code why, VoucherSide side = VoucherSide::Buyer) {
        const std::optional<Claim> c = claim(trade_id, side);
        ASSERT_TRUE(c.has_value()) << "trade " << trade_id;
        EXPECT_EQ(c->kind, kRefused) << "trade " << trade_id;
        EXPECT_EQ(c->reason, reason(why))
            << "trade " << trade_id << ": " << exchange::code_name(why) << " expected";
        EXPECT_EQ(c->amount, 0);
        EXPECT_EQ(c->transfer, 0);
        EXPECT_EQ(sql("SELECT count(*) FROM transfers t JOIN ledger_accounts d ON d.id = "
                      "t.debit_account_id WHERE t.code = 10 AND d.purpose = 7 AND t.user_data = " +
                      text(trade_id) + " AND t.credit_account_id = " +
                      text(ledger::account_id(
                          side == VoucherSide::Buyer ? buyer_of(trade_id) : provider_of(trade_id),
                          ledger::purpose::available))),
                  0);
    }
    std::uint64_t buyer_of(std::uint64_t trade_id) {
        return static_cast<std::uint64_t>(
            sql("SELECT buyer FROM obligations WHERE id = " + text(trade_id)));
    }
    std::uint64_t provider_of(std::uint64_t trade_id) {
        return static_cast<std::uint64_t>(
            sql("SELECT provider FROM obligations WHERE id = " + text(trade_id)));
    }
    // A ledger account's balance in PostgreSQL (credits less debits, posted and pending
    // debits counted), which must equal the replica's.
    Price balance(std::uint64_t account) {
        const Price stored =
            sql("SELECT credits_posted - debits_posted - debits_pending FROM "
                "ledger_accounts WHERE id = " +
                text(account));
        const ledger::Account* a = x.exchange.ledger().account(account);
        EXPECT_NE(a, nullptr);
        if (a != nullptr) {
            EXPECT_EQ(stored, a->credits_posted - a->debits_posted - a->debits_pending);
        }
        return stored;
    }
    Price available(const Party& p) {
        return balance(ledger::account_id(p.id, ledger::purpose::available));
    }
    Price budget_left(std::uint32_t program) {
        return balance(exchange::Exchange::voucher_budget_account(program));
    }

    // PostgreSQL holds exactly the live exchange's voucher events, programs and
    // vouchers, and the ledger agrees with the replica.
    void expect_everything_projected() {
        LedgerProjector& p = project();
        expect_agrees(p);
        std::vector<std::string> expected;
        std::uint64_t seq = 0;
        int idx = 0;
        for (const VoucherEvent& e : live.events) {
            idx = e.seq == seq ? idx + 1 : 0;
            seq = e.seq;
            const bool program_event = e.kind == VoucherEventKind::ProgramCreated ||
                                       e.kind == VoucherEventKind::ProgramFunded;
            const bool claim_event = e.kind == VoucherEventKind::Redeemed ||
                                     e.kind == VoucherEventKind::RedemptionRefused ||
                                     e.kind == VoucherEventKind::RedeemedAtFill ||
                                     e.kind == VoucherEventKind::Returned;
            expected.push_back(
                text(e.seq) + "|" + std::to_string(idx) + "|" +
                std::to_string(static_cast<int>(e.kind)) + "|" + std::to_string(e.program) + "|" +
                id_or_null(e.voucher) + "|" + id_or_null(e.trade_id) + "|" +
                (program_event ? "NULL" : std::to_string(static_cast<int>(e.side))) + "|" +
                text(e.beneficiary) + "|" + id_or_null(e.provider) + "|" + text(e.amount_fen) +
                "|" + text(e.share_fen) + "|" + std::to_string(e.reason) + "|" +
                id_or_null(e.transfer_id) + "|" + (claim_event ? text(e.cap_period) : "NULL") +
                "|" + text(e.ts_ns) + "|");
        }
        EXPECT_EQ(dump(db.url(),
                       "SELECT seq, idx, kind, program, voucher, trade_id, side, beneficiary, "
                       "provider, amount_fen, share_fen, reason, transfer_id, cap_period, ts_ns "
                       "FROM voucher_events ORDER BY seq, idx"),
                  expected);

        std::vector<std::string> vouchers;
        for (const exchange::Voucher& v : x.exchange.vouchers()) {
            vouchers.push_back(text(v.id) + "|" + std::to_string(v.program) + "|" +
                               text(v.beneficiary) + "|" + text(v.face_fen) + "|" +
                               text(v.expiry_ns) + "|" + refs_[v.id] + "|" + text(v.granted_seq) +
                               "|" + text(v.granted_ns) + "|" + text(v.redeemed_fen) + "|" +
                               text(v.revoked_fen) + "|");
        }
        EXPECT_EQ(dump(db.url(),
                       "SELECT v.id, v.program, v.beneficiary, v.face_fen, v.expiry_ns, v.ref, "
                       "v.granted_seq, v.granted_ts_ns, b.redeemed_fen, b.revoked_fen FROM "
                       "vouchers v JOIN voucher_balances b ON b.id = v.id ORDER BY v.id"),
                  vouchers);

        std::vector<std::string> programs;
        for (const exchange::VoucherProgramView& view : x.exchange.voucher_programs()) {
            const VoucherProgramSpec& s = view.spec;
            const auto list = [](const auto& items) {
                std::string out = "{";
                for (const auto& item : items) {
                    out += (out.size() > 1 ? "," : "") + [&] {
                        if constexpr (std::is_same_v<std::decay_t<decltype(item)>, std::string>) {
                            return item;
                        } else {
                            return std::to_string(item);
                        }
                    }();
                }
                return out + "}";
            };
            programs.push_back(
                std::to_string(s.id) + "|" + text(s.issuer) + "|" + s.name + "|" +
                text(s.budget_fen) + "|" + std::to_string(s.share_bps) + "|" +
                std::to_string(static_cast<int>(s.mode)) + "|" +
                std::to_string(static_cast<int>(s.side)) + "|" + text(s.cap_per_beneficiary_fen) +
                "|" + text(s.cap_period_ns) + "|" + text(s.pool_cap_fen) + "|" +
                std::to_string(s.kinds) + "|" + list(s.hubs) + "|" + list(s.accelerator_models) +
                "|" + (s.domestic_only ? "t" : "f") + "|" + list(s.approved_providers) + "|" +
                (s.allow_affiliated ? "t" : "f") + "|" + (s.allow_both_sides ? "t" : "f") + "|" +
                text(s.valid_from_ns) + "|" + text(s.valid_until_ns) + "|" +
                text(exchange::Exchange::voucher_budget_account(s.id)) + "|" +
                text(view.created_ns) + "|");
        }
        EXPECT_EQ(dump(db.url(),
                       "SELECT id, issuer, name, initial_budget_fen, share_bps, mode, side, "
                       "cap_per_beneficiary_fen, cap_period_ns, pool_cap_fen, kinds, hubs, "
                       "accelerator_models, domestic_only, approved_providers, "
                       "allow_affiliated, allow_both_sides, valid_from_ns, valid_until_ns, "
                       "budget_account_id, created_ts_ns FROM voucher_programs ORDER BY id"),
                  programs);
        EXPECT_EQ(sql("SELECT count(*) FROM ledger_balance_check"), 0);
    }

    cpx::test::TestDatabase db;
    JournalledExchange x;
    RecordingVoucherSink live;
    std::unique_ptr<LedgerProjector> projector;
    Party issuer, alice, bob, pat, quinn;
    std::map<std::uint64_t, std::string> refs_;
    int next_ref_ = 1;
    int next_fund_ = 1;
    mutable int next_name_ = 1;
    int next_order_ = 1;
};

TEST_F(VoucherProjection, AnEligibleDealIsPaidTheProgramsShareByOneTransferFromItsBudget) {
    const std::uint32_t program = create(hohhot());
    const std::uint64_t v = grant(program, alice, 100'000);
    const Obligation o = settle(250, 40, pat, alice);  // 10,000 fen
    expect_everything_projected();

    EXPECT_EQ(expect_paid(o.id, 3'000), 3'000);
    EXPECT_EQ(claim(o.id)->share, 3'000);
    EXPECT_EQ(claim(o.id)->voucher, static_cast<std::int64_t>(v));
    // The provider was paid the full price less the fee; the buyer paid 10,000 and got
    // 3,000 back; the budget holds the rest of its 1,000,000 fen.
    EXPECT_EQ(available(pat), 10'000 - 50);
    EXPECT_EQ(available(alice), 1'000'000 - 10'000 + 3'000);
    EXPECT_EQ(budget_left(program), 997'000);
    EXPECT_EQ(available(issuer), 50'000'000 - 1'000'000);
    // The budget arrived by one voucher transfer from the issuer's money at creation.
    EXPECT_EQ(sql("SELECT count(*) FROM transfers WHERE code = 10 AND amount = 1000000 AND "
                  "debit_account_id = " +
                  text(ledger::account_id(issuer.id, ledger::purpose::available)) +
                  " AND credit_account_id = " +
                  text(exchange::Exchange::voucher_budget_account(program))),
              1);
    EXPECT_EQ(dump(db.url(),
                   "SELECT funded_fen, budget_left_fen, granted_fen, revoked_fen, redeemed_fen, "
                   "vouchers, redemptions, refusals FROM voucher_program_status"),
              std::vector<std::string>{"1000000|997000|100000|0|3000|1|1|0|"});
    EXPECT_EQ(dump(db.url(), "SELECT face_fen, redeemed_fen, balance_fen FROM voucher_balances"),
              std::vector<std::string>{"100000|3000|97000|"});
    EXPECT_EQ(dump(db.url(),
                   "SELECT trade_id, amount_fen, transfer_amount, transfer_code, limited_by_name "
                   "FROM voucher_redemptions"),
              std::vector<std::string>{text(o.id) + "|3000|3000|10|none|"});
    // The budget account is the program's, opened by its request.
    EXPECT_EQ(dump(db.url(),
                   "SELECT a.purpose, a.flags, a.created_seq = p.created_seq FROM voucher_programs "
                   "p JOIN ledger_accounts a ON a.id = p.budget_account_id"),
              std::vector<std::string>{"7|1|t|"});
}

TEST_F(VoucherProjection, ABuyDrawingOnAVoucherIsPaidAtItsFillAndReturnsWhatWasNotDelivered) {
    const std::uint32_t program = create(hohhot());
    // 7,039 fen is short of a 10,000 fen order: the voucher covers its 30% (3,000), and the
    // order holds the rest plus a fen per unit but one in money.
    const Party carol = x.buyer("carol", 7'039);
    const std::uint64_t v = grant(program, carol, 100'000);
    const Obligation half = deal(250, 40, pat, carol, kTokens, 20);
    ASSERT_EQ(x.deposit(carol, 7'000), Code::None);
    const Obligation none = trade(250, 40, pat, carol);  // never confirmed: it fails
    const Party dana = x.buyer("dana", 7'039);
    grant(program, dana, 100'000);
    x.now += 10 * kMs;
    ASSERT_EQ(x.send(TestExchange::buy(dana, 250, 40, "resting")), Code::None);
    project();
    // The resting order's cover is pending in the ledger and shown as held.
    EXPECT_EQ(dump(db.url(),
                   "SELECT budget_left_fen, held_fen, redeemed_fen, redemptions "
                   "FROM voucher_program_status"),
              std::vector<std::string>{"991000|3000|6000|2|"});
    // Filled in a later batch, dana's payment posts the hold PostgreSQL already has;
    // carol's orders took their cover and filled in one request, so the projector wrote
    // each payment as one transfer (the hold and its post netted).
    x.now += 10 * kMs;
    ASSERT_EQ(x.send(TestExchange::sell(pat, 250, 40, "fills-dana")), Code::None);
    const Obligation dana_trade = x.exchange.open_obligations().back();

    EXPECT_EQ(settle_all(), 1u);  // half settles; the unconfirmed two fail
    expect_everything_projected();
    // The half-delivered deal returned the share of what was not delivered, the failed
    // ones all of it.
    const std::string budget = text(exchange::Exchange::voucher_budget_account(program));
    EXPECT_EQ(
        dump(db.url(),
             "SELECT e.kind, e.trade_id, e.amount_fen, e.share_fen, t.flags, t.code, "
             "t.debit_account_id, c.purpose, c.owner FROM voucher_events e JOIN transfers "
             "t ON t.id = e.transfer_id JOIN ledger_accounts c ON c.id = "
             "t.credit_account_id WHERE e.kind IN (7, 8) ORDER BY e.seq, e.idx"),
        (std::vector<std::string>{
            "7|" + text(half.id) + "|3000|3000|0|10|" + budget + "|3|" + text(carol.id) + "|",
            "7|" + text(none.id) + "|3000|3000|0|10|" + budget + "|3|" + text(carol.id) + "|",
            "7|" + text(dana_trade.id) + "|3000|3000|2|10|" + budget + "|3|" + text(dana.id) + "|",
            "8|" + text(half.id) + "|1500|0|0|10|" +
                text(ledger::account_id(carol.id, ledger::purpose::escrow)) + "|7|" +
                text((std::uint64_t{1} << 40) + program) + "|",
            "8|" + text(none.id) + "|3000|0|0|10|" +
                text(ledger::account_id(carol.id, ledger::purpose::escrow)) + "|7|" +
                text((std::uint64_t{1} << 40) + program) + "|",
            "8|" + text(dana_trade.id) + "|3000|0|0|10|" +
                text(ledger::account_id(dana.id, ledger::purpose::escrow)) + "|7|" +
                text((std::uint64_t{1} << 40) + program) + "|"}));
    EXPECT_EQ(dump(db.url(),
                   "SELECT redeemed_fen, balance_fen FROM voucher_balances WHERE id = " + text(v)),
              std::vector<std::string>{"1500|98500|"});
    // The buyers' sides of these deals were decided at the fills: no claim at settlement.
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind IN (5, 6)"), 0);
    EXPECT_EQ(budget_left(program), 1'000'000 - 1'500);
    EXPECT_EQ(sql("SELECT count(*) FROM ledger_accounts WHERE purpose = 3 AND credits_posted <> "
                  "debits_posted"),
              0);
}

TEST_F(VoucherProjection, APaymentIsCutByTheVouchersBalanceAndThenRefused) {
    const std::uint32_t program = create(hohhot());
    grant(program, alice, 1'000);
    const Obligation first = settle(250, 40, pat, alice);
    const Obligation second = settle(250, 40, pat, alice);
    expect_everything_projected();
    expect_paid(first.id, 1'000, reason(Code::VoucherUsedUp));
    EXPECT_EQ(claim(first.id)->share, 3'000);
    expect_refused(second.id, Code::VoucherUsedUp);
    EXPECT_EQ(sql("SELECT balance_fen FROM voucher_balances"), 0);
    EXPECT_EQ(budget_left(program), 999'000);
}

TEST_F(VoucherProjection, APaymentIsCutByTheBeneficiarysCapPerPeriod) {
    VoucherProgramSpec capped = hohhot();
    capped.cap_per_beneficiary_fen = 4'000;
    capped.cap_period_ns = kDay;
    const std::uint32_t program = create(capped);
    grant(program, bob, 100'000);
    // Three deals traded the same day, settled together (in id order); a fourth traded
    // after the settlement, a day later at least.
    const Obligation b1 = deal(250, 40, pat, bob);
    const Obligation b2 = deal(250, 40, pat, bob);
    const Obligation b3 = deal(250, 40, pat, bob);
    EXPECT_EQ(settle_all(), 3u);
    const Obligation b4 = settle(250, 40, pat, bob);
    expect_everything_projected();
    expect_paid(b1.id, 3'000);
    expect_paid(b2.id, 1'000, reason(Code::BeneficiaryCapReached));
    expect_refused(b3.id, Code::BeneficiaryCapReached);
    expect_paid(b4.id, 3'000);
    // The later deal is in a later cap period (periods count days from the program's
    // valid_from_ns), whose cap is untouched.
    EXPECT_EQ(claim(b1.id)->cap_period, claim(b3.id)->cap_period);
    EXPECT_GT(claim(b4.id)->cap_period, claim(b1.id)->cap_period);
    EXPECT_EQ(sql("SELECT sum(amount_fen) FROM voucher_events WHERE kind = 5 AND beneficiary = " +
                  text(bob.id) + " AND cap_period = " + text(claim(b1.id)->cap_period)),
              4'000);
}

TEST_F(VoucherProjection, PaymentsAreCutByThePoolCapAcrossBeneficiaries) {
    VoucherProgramSpec pool = hohhot();
    pool.pool_cap_fen = 5'000;
    const std::uint32_t program = create(pool);
    grant(program, alice, 100'000);
    grant(program, bob, 100'000);
    const Obligation a = settle(250, 40, pat, alice);
    const Obligation b = settle(250, 40, pat, bob);
    const Obligation c = settle(250, 40, pat, alice);
    expect_everything_projected();
    expect_paid(a.id, 3'000);
    expect_paid(b.id, 2'000, reason(Code::PoolCapReached));
    expect_refused(c.id, Code::PoolCapReached);
    EXPECT_EQ(sql("SELECT redeemed_fen FROM voucher_program_status"), 5'000);
    EXPECT_EQ(budget_left(program), 995'000);
}

TEST_F(VoucherProjection, PaymentsAreCutByTheBudgetUntilItIsFundedAgain) {
    VoucherProgramSpec lean = hohhot();
    lean.budget_fen = 4'000;
    const std::uint32_t program = create(lean);
    grant(program, alice, 100'000);
    grant(program, bob, 100'000);
    const Obligation a = settle(250, 40, pat, alice);
    const Obligation b = settle(250, 40, pat, bob);
    const Obligation c = settle(250, 40, pat, alice);
    expect_everything_projected();
    expect_paid(a.id, 3'000);
    expect_paid(b.id, 1'000, reason(Code::BudgetExhausted));
    expect_refused(c.id, Code::BudgetExhausted);
    EXPECT_EQ(budget_left(program), 0);

    fund(program, 10'000);
    const Obligation d = settle(250, 40, pat, bob);
    expect_everything_projected();
    expect_paid(d.id, 3'000);
    EXPECT_EQ(budget_left(program), 7'000);
    EXPECT_EQ(dump(db.url(),
                   "SELECT kind, amount_fen FROM voucher_events WHERE kind IN (1, 2) "
                   "ORDER BY seq"),
              (std::vector<std::string>{"1|4000|", "2|10000|"}));
    EXPECT_EQ(dump(db.url(),
                   "SELECT funded_fen, budget_left_fen, redeemed_fen, redemptions, "
                   "refusals FROM voucher_program_status"),
              std::vector<std::string>{"14000|7000|7000|3|1|"});
}

TEST_F(VoucherProjection, AnExpiredVoucherPaysNothing) {
    const std::uint32_t program = create(hohhot());
    // Expires at the window's end; the deal settles a dispute period later.
    grant(program, alice, 100'000, kWindowEnd);
    const Obligation o = settle(250, 4, pat, alice);
    expect_everything_projected();
    expect_refused(o.id, Code::VoucherExpired);
    EXPECT_EQ(available(alice), 1'000'000 - 1'000);
    EXPECT_EQ(budget_left(program), 1'000'000);
}

TEST_F(VoucherProjection, AnIneligibleDealSettlesWithoutTheVoucherAndSaysWhy) {
    const Party sister = party(Role::Buyer, "sister-co", "group-pat");
    EXPECT_EQ(x.deposit(sister, 1'000'000), Code::None);
    const Party pat_cloud = party(Role::Provider, "pat-cloud", "group-pat");
    register_tokens(pat_cloud);

    const auto [compute_only, other_hub, h800_only, domestic, approved, not_yet] =
        ineligible_variants(hohhot(), quinn.id);
    struct Case {
        const char* name;
        VoucherProgramSpec spec;
        const Party* buyer;  // nullptr: a fresh buyer, so no earlier voucher competes
        const Party* seller;
        exchange::InstrumentId instrument;
        Code why;
    };
    const std::vector<Case> cases = {
        {"kind", compute_only, nullptr, &pat, kTokens, Code::KindNotEligible},
        {"hub", other_hub, nullptr, &pat, kTokens, Code::HubNotEligible},
        {"accelerator", h800_only, nullptr, &quinn, kH100, Code::AcceleratorNotEligible},
        {"domestic", domestic, nullptr, &quinn, kH100, Code::NotDomesticChip},
        {"supplier", approved, nullptr, &pat, kTokens, Code::ProviderNotApproved},
        {"affiliated", hohhot(), &sister, &pat_cloud, kTokens, Code::AffiliatedParties},
        {"period", not_yet, nullptr, &pat, kTokens, Code::OutsideProgramPeriod},
    };
    std::vector<std::pair<std::uint64_t, Party>> refused;
    for (const Case& c : cases) {
        const Party buyer =
            c.buyer != nullptr ? *c.buyer : x.buyer(std::string("buyer-") + c.name, 1'000'000);
        grant(create(c.spec), buyer, 100'000);
        refused.emplace_back(settle(250, 4, *c.seller, buyer, c.instrument).id, buyer);
    }
    // The same rules pay where they should: a domestic chip, an approved supplier, an
    // affiliated deal under a program that allows it.
    grant(create(domestic), bob, 100'000);
    const Obligation ascend = settle(250, 4, pat, bob, kAscend);
    const Party carol = x.buyer("carol", 1'000'000);
    grant(create(approved), carol, 100'000);
    const Obligation from_quinn = settle(250, 4, quinn, carol);
    VoucherProgramSpec allowed = hohhot();
    allowed.allow_affiliated = true;
    grant(create(allowed), sister, 100'000);
    const Obligation affiliated = settle(250, 4, pat_cloud, sister);
    expect_everything_projected();

    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].name);
        expect_refused(refused[i].first, cases[i].why);
    }
    // Each refused buyer paid the whole 1,000 fen.
    for (std::size_t i = 0; i + 1 < cases.size(); ++i) {
        if (cases[i].buyer == nullptr) {
            EXPECT_EQ(available(refused[i].second), 1'000'000 - 1'000) << cases[i].name;
        }
    }
    expect_paid(ascend.id, 300);
    expect_paid(from_quinn.id, 300);
    expect_paid(affiliated.id, 300);
}

TEST_F(VoucherProjection, BothSidesArePaidOnlyWhereBothProgramsAllowIt) {
    VoucherProgramSpec supply = hohhot();
    supply.side = VoucherSide::Provider;
    supply.share_bps = 1'000;
    const std::uint32_t buyers = create(hohhot());
    const std::uint32_t providers = create(supply);
    grant(buyers, alice, 100'000);
    grant(providers, pat, 100'000);
    const Obligation both = settle(250, 40, pat, alice);
    // Qingyang: supplier and buyer cannot both claim one deal.
    VoucherProgramSpec one_side = supply;
    one_side.name += " (one side only)";
    one_side.allow_both_sides = false;
    grant(create(one_side), quinn, 100'000);
    const Obligation strict = settle(250, 40, quinn, alice);
    expect_everything_projected();

    expect_paid(both.id, 3'000);
    expect_paid(both.id, 1'000, 0, VoucherSide::Provider);
    EXPECT_EQ(available(pat), 10'000 - 50 + 1'000);
    expect_paid(strict.id, 3'000);
    expect_refused(strict.id, Code::BothSidesClaimed, VoucherSide::Provider);
    EXPECT_EQ(available(quinn), 10'000 - 50);
}

TEST_F(VoucherProjection, ARebatePaysOnlyForAWhollyDeliveredDeal) {
    VoucherProgramSpec langfang = hohhot();
    langfang.mode = VoucherMode::Rebate;
    langfang.share_bps = 5'000;
    grant(create(langfang), alice, 100'000);
    const Obligation partly = settle(250, 4, pat, alice, kTokens, 3);
    const Obligation wholly = settle(250, 4, pat, alice);
    // A discount pays on what was delivered.
    grant(create(hohhot()), bob, 100'000);
    const Obligation discount = settle(250, 4, pat, bob, kTokens, 3);
    expect_everything_projected();
    expect_refused(partly.id, Code::NotFullyDelivered);
    EXPECT_EQ(claim(partly.id)->share, 375);
    expect_paid(wholly.id, 500);
    expect_paid(discount.id, 225);
    EXPECT_EQ(
        sql("SELECT delivered_quantity FROM obligation_status WHERE id = " + text(discount.id)), 3);
}

TEST_F(VoucherProjection, ARevokedVoucherPaysNothing) {
    const std::uint32_t program = create(hohhot());
    const std::uint64_t v = grant(program, bob, 100'000);
    revoke(v);
    const Obligation o = settle(250, 4, pat, bob);
    expect_everything_projected();
    expect_refused(o.id, Code::VoucherNotActive);
    EXPECT_EQ(dump(db.url(), "SELECT kind, amount_fen FROM voucher_events WHERE kind = 4"),
              std::vector<std::string>{"4|100000|"});
    EXPECT_EQ(dump(db.url(), "SELECT revoked, revoked_fen, balance_fen FROM voucher_balances"),
              std::vector<std::string>{"t|100000|0|"});
    EXPECT_EQ(budget_left(program), 1'000'000);
}

TEST_F(VoucherProjection, ARestartProjectsEveryVoucherEventOnce) {
    const std::uint32_t program = create(hohhot());
    grant(program, alice, 5'000);
    settle(250, 40, pat, alice);
    project();
    // The projector goes away; more happens; a new one replays silently up to the
    // stored progress and writes only what is new.
    projector.reset();
    grant(program, bob, 100'000);
    settle(250, 40, pat, alice);
    settle(250, 40, pat, bob);
    settle(250, 40, pat, alice);
    expect_everything_projected();
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind = 5"), 3);
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind = 6"), 1);
    EXPECT_EQ(projector->stats().voucher_events.load(), 4u);  // this projector's writes
}

// The contention case. Twenty-four buyers hold a voucher each from one program whose
// budget of 40,000 fen pays 13 whole shares of 3,000 and a last cut one of 1,000. Their
// deals settle in an order nobody chose: two threads run settlements a few obligations at
// a time while a third rejects the disputes of the others (which settles them), each
// request sequenced through the journal as it comes, and the projector follows in the
// background. Whatever the order, PostgreSQL must show the budget never below zero,
// paying exactly what left it, and every claim after it ran out refused as
// BUDGET_EXHAUSTED.
TEST_F(VoucherProjection, ManySettlementsRaceForOneBudget) {
    constexpr int kBuyers = 24;
    constexpr Price kBudget = 40'000;
    VoucherProgramSpec spec = hohhot();
    spec.budget_fen = kBudget;
    const std::uint32_t program = create(spec);
    std::vector<Party> buyers;
    std::vector<Obligation> deals;
    for (int i = 0; i < kBuyers; ++i) {
        buyers.push_back(x.buyer("racer-" + std::to_string(i), 1'000'000));
        grant(program, buyers.back(), 100'000);
    }
    for (int i = 0; i < kBuyers; ++i) {
        deals.push_back(
            trade(250, 40, i % 2 == 0 ? pat : quinn, buyers[static_cast<std::size_t>(i)]));
    }
    std::vector<std::uint64_t> disputed;
    for (int i = 0; i < kBuyers; ++i) {
        const Obligation& o = deals[static_cast<std::size_t>(i)];
        EXPECT_EQ(x.confirm(i % 2 == 0 ? pat : quinn, o.id, o.quantity), Code::None);
        if (i % 3 == 1) {
            EXPECT_EQ(x.dispute(buyers[static_cast<std::size_t>(i)], o.id, "too slow"), Code::None);
            disputed.push_back(o.id);
        }
    }
    x.flush();
    ProjectorConfig config = projector_config(db.url(), 3);
    // The fixture's projector, so that the final comparison uses the same one (a second
    // projector would wait for this one's lock).
    projector = std::make_unique<LedgerProjector>(config);
    LedgerProjector& background = *projector;
    background.start();

    x.pass_due();
    std::mutex sequencer;  // one request at a time, as cpxd's sequencer applies them
    std::vector<Code> codes;
    const auto submit = [&](RequestType type, Payload& p) {
        const std::lock_guard<std::mutex> lock(sequencer);
        codes.push_back(x.settlement(type, x.op, p));
        background.wake();
        return p.settlement.more_due;
    };
    const auto runner = [&](std::uint32_t limit) {
        bool more = true;
        while (more) {
            Payload p;
            p.settlement_limit = limit;
            more = submit(RequestType::RunSettlement, p);
            std::this_thread::yield();
        }
    };
    std::vector<std::thread> threads;
    threads.emplace_back(runner, 2);
    threads.emplace_back(runner, 3);
    threads.emplace_back([&] {
        for (const std::uint64_t id : disputed) {
            Payload p;
            p.obligation_id = id;
            p.uphold = false;
            p.note = "delivered as agreed";
            submit(RequestType::ResolveDispute, p);
            std::this_thread::yield();
        }
    });
    for (std::thread& t : threads) {
        t.join();
    }
    for (const Code code : codes) {
        EXPECT_EQ(code, Code::None);
    }
    x.flush();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (background.projected_seq() < x.last_seq()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the projector is stuck";
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    background.stop();
    EXPECT_EQ(background.stats().failures.load(), 0u);
    expect_agrees(background);
    EXPECT_EQ(background.replica().state_hash(), x.exchange.state_hash());

    // Every deal settled, and each buyer's claim was decided once.
    EXPECT_EQ(sql("SELECT count(*) FROM obligation_status WHERE state = 'settled'"), kBuyers);
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind IN (5, 6) AND program = " +
                  std::to_string(program)),
              kBuyers);
    const std::string budget = text(exchange::Exchange::voucher_budget_account(program));
    // The budget account, replayed transfer by transfer, never went below zero.
    EXPECT_GE(sql("SELECT min(balance) FROM (SELECT sum(CASE WHEN credit_account_id = " + budget +
                  " THEN amount ELSE -amount END) OVER (ORDER BY id) AS balance FROM transfers "
                  "WHERE " +
                  budget + " IN (debit_account_id, credit_account_id)) t"),
              0);
    EXPECT_EQ(budget_left(program), 0);
    // What the redemptions paid is exactly what left the budget.
    EXPECT_EQ(sql("SELECT sum(amount_fen) FROM voucher_events WHERE kind = 5"), kBudget);
    EXPECT_EQ(sql("SELECT ((SELECT sum(amount_fen) FROM voucher_events WHERE kind = 5) = "
                  "funded_fen - budget_left_fen)::int FROM voucher_program_status WHERE id = " +
                  std::to_string(program)),
              1);
    EXPECT_EQ(sql("SELECT sum(t.amount) FROM voucher_redemptions r JOIN transfers t ON t.id = "
                  "r.transfer_id WHERE t.debit_account_id = " +
                  budget),
              kBudget);
    // 13 whole shares, then one cut by the budget; every later claim refused as
    // BUDGET_EXHAUSTED, and none before the budget ran out.
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind = 5 AND reason = 0"), 13);
    EXPECT_EQ(dump(db.url(),
                   "SELECT amount_fen, reason FROM voucher_events WHERE kind = 5 AND "
                   "reason <> 0"),
              std::vector<std::string>{"1000|303|"});
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind = 6"), kBuyers - 14);
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events WHERE kind = 6 AND reason <> 303"), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM voucher_events f WHERE f.kind = 6 AND (f.seq, f.idx) < "
                  "(SELECT e.seq, e.idx FROM voucher_events e WHERE e.kind = 5 ORDER BY e.seq "
                  "DESC, e.idx DESC LIMIT 1)"),
              0);
    // The payments went to the buyers, each once: 13 buyers 3,000 fen back, one 1,000.
    EXPECT_EQ(sql("SELECT count(DISTINCT beneficiary) FROM voucher_events WHERE kind = 5"), 14);
    // And the projection is the live exchange's, event for event.
    expect_everything_projected();
}

}  // namespace
}  // namespace cpx::projector::test
