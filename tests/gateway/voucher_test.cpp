// Compute vouchers through the API, over real gRPC on loopback: issuer accounts; programs
// created and funded out of the issuer's money; vouchers granted (idempotently by their
// reference), revoked and listed; who may change and who may read what; the refusal of
// every bad input at the RPC boundary with its status and reason; one redemption from
// trade to settlement that gives a buyer 30% back; a voucher spent as buying power by a
// buyer short of money; and garbage that must not hurt the server.

#include <chrono>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "generic_calls.hpp"

namespace cpx::gateway::test {
namespace {

using namespace std::chrono_literals;

// The rules the server runs with here: a short dispute period, so that an obligation
// of an instrument whose window is over settles within the test.
inline constexpr std::int64_t kDisputePeriodNs = 2'000'000'000;  // 2 s
inline constexpr std::uint32_t kFeeBps = 100;                    // 1%

// A compute instrument in Hohhot listed for a domestic accelerator, whose delivery
// window ended in 2020, and a token instrument in Gui'an of the same window.
inline constexpr std::uint32_t kHohhotPast = 3;
inline constexpr std::uint32_t kGuianPast = 4;
inline constexpr std::string_view kHohhot = "HOHHOT";
inline constexpr std::string_view kGuian = "GUIAN";
inline constexpr std::string_view kDomesticModel = "ASCEND-910B";  // domestic, 320 milli-P
inline constexpr std::int64_t kPastWindowStart = 1'577'836'800'000'000'000;  // 2020-01-01
inline constexpr std::int64_t kPastWindowEnd = kPastWindowStart + 10 * kHourNs;

inline constexpr std::int64_t kIssuerDeposit = 1'000'000;
inline constexpr std::int64_t kDayNs = 24 * kHourNs;

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class GatewayVouchers : public GatewayFixture {
  protected:
    void configure(ServerConfig& config) override {
        const std::string fee = "--settlement_fee_bps=" + std::to_string(kFeeBps);
        const std::string period = "--dispute_period_ns=" + std::to_string(kDisputePeriodNs);
        const char* argv[] = {"cpxd", fee.c_str(), period.c_str()};
        config.pipeline.exchange.settlement = load_config(3, argv).pipeline.exchange.settlement;
    }

    void SetUp() override {
        GatewayFixture::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        vouchers_ = cpx::v1::Vouchers::NewStub(channel_);
        issuer_ = create_account(cpx::v1::ROLE_ISSUER, "hohhot-bureau");
        ASSERT_NE(issuer_.id, 0u);
        ASSERT_TRUE(deposit(issuer_, kIssuerDeposit).ok());
        regulator_ = create_account(cpx::v1::ROLE_REGULATOR, "regulator");
        ASSERT_NE(regulator_.id, 0u);
        now_ns_ = wall_clock_ns();
    }

    // --- Calls ---

    Answer<cpx::v1::VoucherProgram> create_program_as(const Party& who,
                                                      const cpx::v1::VoucherProgramSpec& spec) {
        cpx::v1::CreateProgramRequest r;
        *r.mutable_program() = spec;
        return call<cpx::v1::VoucherProgram>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::VoucherProgram& out) {
                return vouchers_->CreateProgram(&c, r, &out);
            });
    }
    Answer<cpx::v1::VoucherProgram> fund_as(const Party& who, std::uint32_t program,
                                            std::int64_t amount, const std::string& ref = "") {
        cpx::v1::FundProgramRequest r;
        r.set_program_id(program);
        r.set_amount_fen(amount);
        r.set_fund_ref(ref.empty() ? "fund-" + std::to_string(next_fund_++) : ref);
        return call<cpx::v1::VoucherProgram>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::VoucherProgram& out) {
                return vouchers_->FundProgram(&c, r, &out);
            });
    }
    Answer<cpx::v1::GrantVoucherResponse> grant_as(const Party& who,
                                                   const cpx::v1::GrantVoucherRequest& r) {
        return call<cpx::v1::GrantVoucherResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::GrantVoucherResponse& out) {
                return vouchers_->GrantVoucher(&c, r, &out);
            });
    }
    Answer<cpx::v1::Voucher> revoke_as(const Party& who, std::uint64_t voucher) {
        cpx::v1::RevokeVoucherRequest r;
        r.set_voucher_id(voucher);
        return call<cpx::v1::Voucher>(who.key, [&](grpc::ClientContext& c, cpx::v1::Voucher& out) {
            return vouchers_->RevokeVoucher(&c, r, &out);
        });
    }
    Answer<cpx::v1::ListProgramsResponse> programs_as(const Party& who, std::uint32_t program = 0) {
        cpx::v1::ListProgramsRequest r;
        r.set_program_id(program);
        return call<cpx::v1::ListProgramsResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ListProgramsResponse& out) {
                return vouchers_->ListPrograms(&c, r, &out);
            });
    }
    Answer<cpx::v1::ListVouchersResponse> vouchers_as(const Party& who, std::uint32_t program = 0,
                                                      std::uint32_t account = 0) {
        cpx::v1::ListVouchersRequest r;
        r.set_program_id(program);
        r.set_account_id(account);
        return call<cpx::v1::ListVouchersResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::ListVouchersResponse& out) {
                return vouchers_->ListVouchers(&c, r, &out);
            });
    }
    Answer<cpx::v1::VoucherReportResponse> report_as(
        const Party& who, cpx::v1::VoucherGroup group = cpx::v1::VOUCHER_GROUP_BENEFICIARY,
        std::uint32_t program = 0) {
        cpx::v1::VoucherReportRequest r;
        r.set_program_id(program);
        r.set_group(group);
        return call<cpx::v1::VoucherReportResponse>(
            who.key, [&](grpc::ClientContext& c, cpx::v1::VoucherReportResponse& out) {
                return vouchers_->Report(&c, r, &out);
            });
    }

    // --- Messages ---

    // A 30% discount for buyers, valid from an hour ago for thirty days, with a budget,
    // named anew each time unless a name is given (a name is unique per issuer).
    cpx::v1::VoucherProgramSpec program_spec(const Party& issuer, std::int64_t budget = 100'000,
                                             const std::string& name = "") {
        cpx::v1::VoucherProgramSpec s;
        s.set_issuer_account_id(issuer.id);
        s.set_name(name.empty() ? "Hohhot green compute " + std::to_string(next_name_++) : name);
        s.set_budget_fen(budget);
        s.set_share_bps(3'000);
        s.set_mode(cpx::v1::VOUCHER_MODE_DISCOUNT);
        s.set_side(cpx::v1::VOUCHER_SIDE_BUYER);
        s.set_valid_from_ns(now_ns_ - kHourNs);
        s.set_valid_until_ns(now_ns_ + 30 * kDayNs);
        return s;
    }

    cpx::v1::GrantVoucherRequest grant_of(std::uint32_t program, const Party& beneficiary,
                                          std::int64_t face, const std::string& ref) {
        cpx::v1::GrantVoucherRequest r;
        r.set_program_id(program);
        r.set_beneficiary_account_id(beneficiary.id);
        r.set_face_fen(face);
        r.set_expiry_ns(now_ns_ + 30 * kDayNs);
        r.set_grant_ref(ref);
        return r;
    }

    // A program created by the operator for the issuer; its id, or 0 (and a failure).
    std::uint32_t create_program(const cpx::v1::VoucherProgramSpec& spec) {
        const auto created = create_program_as(operator_, spec);
        EXPECT_TRUE(created.ok()) << created.status.error_message();
        return created.ok() ? created.response.spec().program_id() : 0;
    }
    std::uint64_t grant(std::uint32_t program, const Party& beneficiary, std::int64_t face,
                        const std::string& ref) {
        const auto granted = grant_as(operator_, grant_of(program, beneficiary, face, ref));
        EXPECT_TRUE(granted.ok()) << granted.status.error_message();
        return granted.ok() ? granted.response.voucher().voucher_id() : 0;
    }

    static std::vector<std::uint32_t> program_ids(
        const Answer<cpx::v1::ListProgramsResponse>& answer) {
        EXPECT_TRUE(answer.ok()) << answer.status.error_message();
        std::vector<std::uint32_t> out;
        for (const cpx::v1::VoucherProgram& p : answer.response.programs()) {
            out.push_back(p.spec().program_id());
        }
        return out;
    }
    static std::vector<std::uint64_t> voucher_ids(
        const Answer<cpx::v1::ListVouchersResponse>& answer) {
        EXPECT_TRUE(answer.ok()) << answer.status.error_message();
        std::vector<std::uint64_t> out;
        for (const cpx::v1::Voucher& v : answer.response.vouchers()) {
            out.push_back(v.voucher_id());
        }
        return out;
    }

    std::unique_ptr<cpx::v1::Vouchers::Stub> vouchers_;
    Party issuer_;
    Party regulator_;
    std::int64_t now_ns_ = 0;
    int next_fund_ = 1;
    int next_name_ = 1;
};

using ProgramIds = std::vector<std::uint32_t>;
using VoucherIds = std::vector<std::uint64_t>;

// --- Issuers --------------------------------------------------------------------------

TEST_F(GatewayVouchers, AnIssuerAccountHoldsMoneyButDoesNotTrade) {
    cpx::v1::Account spec;
    spec.set_name("guizhou-bureau");
    spec.set_role(cpx::v1::ROLE_ISSUER);
    const auto created = create_account_as(operator_, spec);
    ASSERT_TRUE(created.ok()) << created.status.error_message();
    EXPECT_EQ(created.response.role(), cpx::v1::ROLE_ISSUER);

    const auto money = balances(issuer_);
    ASSERT_TRUE(money.ok()) << money.status.error_message();
    EXPECT_EQ(money.response.role(), cpx::v1::ROLE_ISSUER);
    EXPECT_EQ(money.response.balance_fen(), kIssuerDeposit);
    EXPECT_EQ(money.response.voucher_fen(), 0);
    EXPECT_TRUE(refused(buy(issuer_, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(refused(sell(issuer_, kTokens, 100, 1), grpc::StatusCode::PERMISSION_DENIED,
                        "ROLE_NOT_ALLOWED"));
    // Roles past the issuer are still no role.
    spec.set_role(static_cast<cpx::v1::Role>(6));
    EXPECT_TRUE(refused(create_account_as(operator_, spec), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_ACCOUNT"));
}

TEST_F(GatewayVouchers, AnInstrumentCarriesItsAcceleratorModel) {
    cpx::v1::Instrument listed = compute_instrument(kHohhotPast);
    listed.set_hub(std::string(kHohhot));
    listed.set_accelerator_model(std::string(kDomesticModel));
    const auto added = add_instrument(listed);
    ASSERT_TRUE(added.ok()) << added.status.error_message();
    EXPECT_EQ(added.response.accelerator_model(), kDomesticModel);
    const auto all = list_instruments(buyer_);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all.response.instruments_size(), 3);
    EXPECT_EQ(all.response.instruments(0).accelerator_model(), "");
    EXPECT_EQ(all.response.instruments(2).instrument_id(), kHohhotPast);
    EXPECT_EQ(all.response.instruments(2).accelerator_model(), kDomesticModel);

    // A model the accelerator table does not have, or one for a token bundle, is refused
    // by the exchange; one that could never be a model name, at the boundary.
    cpx::v1::Instrument unknown = compute_instrument(10);
    unknown.set_accelerator_model("TPU-V9");
    EXPECT_TRUE(
        refused(add_instrument(unknown), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCELERATOR_MODEL"));
    cpx::v1::Instrument tokens = token_instrument(11);
    tokens.set_accelerator_model(std::string(kDomesticModel));
    EXPECT_TRUE(
        refused(add_instrument(tokens), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCELERATOR_MODEL"));
    for (const std::string& bad : {std::string(65, 'M'), std::string("H100\n"),
                                   std::string("\xE6\x98\x87\xE8\x85\xBE")}) {  // UTF-8
        cpx::v1::Instrument odd = compute_instrument(12);
        odd.set_accelerator_model(bad);
        EXPECT_TRUE(
            refused(add_instrument(odd), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_INSTRUMENT"))
            << bad;
    }
    EXPECT_EQ(list_instruments(operator_).response.instruments_size(), 3);
}

// --- Programs -------------------------------------------------------------------------

TEST_F(GatewayVouchers, AProgramMovesTheIssuersMoneyIntoItsBudget) {
    cpx::v1::VoucherProgramSpec spec = program_spec(issuer_, 100'000);
    spec.set_cap_per_beneficiary_fen(50'000);
    spec.set_cap_period_ns(365 * kDayNs);
    spec.set_pool_cap_fen(90'000);
    spec.add_kinds(cpx::v1::INSTRUMENT_KIND_COMPUTE);
    spec.add_hubs(std::string(kHohhot));
    spec.add_accelerator_models(std::string(kDomesticModel));
    spec.set_domestic_only(true);
    spec.add_approved_provider_ids(provider_.id);
    spec.set_allow_both_sides(false);
    spec.set_program_id(77);  // assigned by the exchange: ignored
    const auto created = create_program_as(operator_, spec);
    ASSERT_TRUE(created.ok()) << created.status.error_message();
    const cpx::v1::VoucherProgram& p = created.response;
    const cpx::v1::VoucherProgramSpec& s = p.spec();
    EXPECT_EQ(s.program_id(), 1u);
    EXPECT_EQ(s.issuer_account_id(), issuer_.id);
    EXPECT_EQ(s.name(), spec.name());
    EXPECT_EQ(s.name().rfind("Hohhot green compute", 0), 0u);
    // The operator's retry of the creation is the same program, and moves no money again;
    // another program under the same name is refused.
    const auto again = create_program_as(operator_, spec);
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_EQ(again.response.spec().program_id(), 1u);
    EXPECT_EQ(again.response.funded_fen(), 100'000);
    cpx::v1::VoucherProgramSpec other = spec;
    other.set_share_bps(2'000);
    EXPECT_TRUE(refused(create_program_as(operator_, other), grpc::StatusCode::ALREADY_EXISTS,
                        "DUPLICATE_VOUCHER_REF"));
    EXPECT_EQ(s.budget_fen(), 100'000);
    EXPECT_EQ(s.share_bps(), 3'000u);
    EXPECT_EQ(s.mode(), cpx::v1::VOUCHER_MODE_DISCOUNT);
    EXPECT_EQ(s.side(), cpx::v1::VOUCHER_SIDE_BUYER);
    EXPECT_EQ(s.cap_per_beneficiary_fen(), 50'000);
    EXPECT_EQ(s.cap_period_ns(), 365 * kDayNs);
    EXPECT_EQ(s.pool_cap_fen(), 90'000);
    ASSERT_EQ(s.kinds_size(), 1);
    EXPECT_EQ(s.kinds(0), cpx::v1::INSTRUMENT_KIND_COMPUTE);
    ASSERT_EQ(s.hubs_size(), 1);
    EXPECT_EQ(s.hubs(0), kHohhot);
    ASSERT_EQ(s.accelerator_models_size(), 1);
    EXPECT_EQ(s.accelerator_models(0), kDomesticModel);
    EXPECT_TRUE(s.domestic_only());
    ASSERT_EQ(s.approved_provider_ids_size(), 1);
    EXPECT_EQ(s.approved_provider_ids(0), provider_.id);
    EXPECT_FALSE(s.allow_affiliated());
    ASSERT_TRUE(s.has_allow_both_sides());
    EXPECT_FALSE(s.allow_both_sides());
    EXPECT_EQ(s.valid_from_ns(), now_ns_ - kHourNs);
    EXPECT_EQ(s.valid_until_ns(), now_ns_ + 30 * kDayNs);
    EXPECT_EQ(p.funded_fen(), 100'000);
    EXPECT_EQ(p.budget_fen(), 100'000);
    EXPECT_EQ(p.granted_fen(), 0);
    EXPECT_EQ(p.redeemed_fen(), 0);
    EXPECT_EQ(p.vouchers(), 0u);
    EXPECT_GE(p.created_ns(), now_ns_);
    EXPECT_EQ(balances(issuer_).response.balance_fen(), kIssuerDeposit - 100'000);

    // Unset, the both-sides rule is the exchange's default (yes); no kinds is every kind.
    const std::uint32_t second = create_program(program_spec(issuer_, 0, "unfunded"));
    ASSERT_EQ(second, 2u);
    const auto listed = programs_as(operator_, second);
    ASSERT_TRUE(listed.ok()) << listed.status.error_message();
    ASSERT_EQ(listed.response.programs_size(), 1);
    const cpx::v1::VoucherProgram& unfunded = listed.response.programs(0);
    EXPECT_TRUE(unfunded.spec().allow_both_sides());
    EXPECT_EQ(unfunded.spec().kinds_size(), 2);
    EXPECT_EQ(unfunded.budget_fen(), 0);
    EXPECT_EQ(unfunded.funded_fen(), 0);

    // Funding moves more of the issuer's money, as often as the operator asks.
    const auto funded = fund_as(operator_, second, 25'000);
    ASSERT_TRUE(funded.ok()) << funded.status.error_message();
    EXPECT_EQ(funded.response.spec().program_id(), second);
    EXPECT_EQ(funded.response.funded_fen(), 25'000);
    EXPECT_EQ(funded.response.budget_fen(), 25'000);
    EXPECT_EQ(fund_as(operator_, second, 5'000, "decision-7").response.budget_fen(), 30'000);
    // A retry of a funding (same reference) moves nothing; another amount is refused.
    EXPECT_EQ(fund_as(operator_, second, 5'000, "decision-7").response.budget_fen(), 30'000);
    EXPECT_TRUE(refused(fund_as(operator_, second, 6'000, "decision-7"),
                        grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_VOUCHER_REF"));
    EXPECT_TRUE(refused(fund_as(operator_, second, 6'000, std::string(65, 'r')),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_AMOUNT"));
    EXPECT_EQ(balances(issuer_).response.balance_fen(), kIssuerDeposit - 130'000);
    EXPECT_EQ(program_ids(programs_as(operator_)), (ProgramIds{1, second}));

    // Never more than the issuer has, never nothing, never an unknown program.
    EXPECT_TRUE(refused(fund_as(operator_, second, kIssuerDeposit),
                        grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"));
    EXPECT_TRUE(refused(create_program_as(operator_, program_spec(issuer_, kIssuerDeposit)),
                        grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"));
    EXPECT_TRUE(refused(fund_as(operator_, second, 0), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_AMOUNT"));
    EXPECT_TRUE(refused(fund_as(operator_, second, -5), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_AMOUNT"));
    EXPECT_TRUE(refused(fund_as(operator_, 0, 100), grpc::StatusCode::INVALID_ARGUMENT,
                        "INVALID_PROGRAM_ID"));
    EXPECT_TRUE(refused(fund_as(operator_, 99, 100), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_VOUCHER_PROGRAM"));
    EXPECT_EQ(balances(issuer_).response.balance_fen(), kIssuerDeposit - 130'000);
}

TEST_F(GatewayVouchers, InvalidProgramSpecsAreRefusedAtTheBoundary) {
    using Change = std::function<void(cpx::v1::VoucherProgramSpec&)>;
    const std::vector<std::pair<std::string, Change>> cases = {
        {"no issuer", [](auto& s) { s.set_issuer_account_id(0); }},
        {"empty name", [](auto& s) { s.set_name(""); }},
        {"long name", [](auto& s) { s.set_name(std::string(65, 'n')); }},
        {"name not ASCII", [](auto& s) { s.set_name("\xE7\xAE\x97\xE5\x8A\x9B"); }},
        {"name with a newline", [](auto& s) { s.set_name("two\nlines"); }},
        {"negative budget", [](auto& s) { s.set_budget_fen(-1); }},
        {"share 0", [](auto& s) { s.set_share_bps(0); }},
        {"share above 100%", [](auto& s) { s.set_share_bps(10'001); }},
        {"mode unspecified", [](auto& s) { s.set_mode(cpx::v1::VOUCHER_MODE_UNSPECIFIED); }},
        {"mode unknown", [](auto& s) { s.set_mode(static_cast<cpx::v1::VoucherMode>(7)); }},
        {"side unspecified", [](auto& s) { s.set_side(cpx::v1::VOUCHER_SIDE_UNSPECIFIED); }},
        {"side unknown", [](auto& s) { s.set_side(static_cast<cpx::v1::VoucherSide>(-3)); }},
        {"negative cap", [](auto& s) { s.set_cap_per_beneficiary_fen(-1); }},
        {"negative cap period", [](auto& s) { s.set_cap_period_ns(-1); }},
        {"negative pool cap", [](auto& s) { s.set_pool_cap_fen(-1); }},
        {"kind unspecified", [](auto& s) { s.add_kinds(cpx::v1::INSTRUMENT_KIND_UNSPECIFIED); }},
        {"kind unknown", [](auto& s) { s.add_kinds(static_cast<cpx::v1::InstrumentKind>(5)); }},
        {"65 hubs",
         [](auto& s) {
             for (int i = 0; i < 65; ++i) {
                 s.add_hubs("HUB" + std::to_string(i));
             }
         }},
        {"empty hub", [](auto& s) { s.add_hubs(""); }},
        {"hub longer than an instrument's", [](auto& s) { s.add_hubs(std::string(17, 'H')); }},
        {"65 models",
         [](auto& s) {
             for (int i = 0; i < 65; ++i) {
                 s.add_accelerator_models("M" + std::to_string(i));
             }
         }},
        {"long model", [](auto& s) { s.add_accelerator_models(std::string(65, 'M')); }},
        {"1025 providers",
         [](auto& s) {
             for (std::uint32_t i = 1; i <= 1'025; ++i) {
                 s.add_approved_provider_ids(i);
             }
         }},
        {"provider 0", [](auto& s) { s.add_approved_provider_ids(0); }},
        {"empty validity", [](auto& s) { s.set_valid_until_ns(s.valid_from_ns()); }},
        {"validity backwards", [](auto& s) { s.set_valid_until_ns(s.valid_from_ns() - 1); }},
        {"negative start", [](auto& s) { s.set_valid_from_ns(-1); }},
    };
    for (const auto& [what, change] : cases) {
        cpx::v1::VoucherProgramSpec spec = program_spec(issuer_);
        change(spec);
        EXPECT_TRUE(refused(create_program_as(operator_, spec), grpc::StatusCode::INVALID_ARGUMENT,
                            "INVALID_VOUCHER_PROGRAM"))
            << what;
    }
    // What only the exchange knows: who the accounts are.
    cpx::v1::VoucherProgramSpec not_issuer = program_spec(buyer_);
    EXPECT_TRUE(refused(create_program_as(operator_, not_issuer),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_VOUCHER_PROGRAM"));
    cpx::v1::VoucherProgramSpec nobody = program_spec(Party{999, ""});
    EXPECT_TRUE(refused(create_program_as(operator_, nobody), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_ACCOUNT"));
    cpx::v1::VoucherProgramSpec buyer_as_supplier = program_spec(issuer_);
    buyer_as_supplier.add_approved_provider_ids(buyer_.id);
    EXPECT_TRUE(refused(create_program_as(operator_, buyer_as_supplier),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_VOUCHER_PROGRAM"));
    // The bounds themselves are accepted.
    cpx::v1::VoucherProgramSpec widest = program_spec(issuer_, 0, std::string(64, '~'));
    widest.set_share_bps(10'000);
    for (int i = 0; i < 64; ++i) {
        widest.add_hubs(std::string(15, 'H') + static_cast<char>('0' + i % 10));
        widest.add_accelerator_models(std::string(63, 'M') + static_cast<char>('A' + i % 26));
    }
    EXPECT_TRUE(create_program_as(operator_, widest).ok());

    // Nothing but the last was created, and no money moved.
    EXPECT_EQ(program_ids(programs_as(operator_)), ProgramIds{1});
    EXPECT_EQ(balances(issuer_).response.balance_fen(), kIssuerDeposit);
}

// --- Grants and revocations -------------------------------------------------------------

TEST_F(GatewayVouchers, AGrantIsIdempotentByItsReference) {
    const std::uint32_t program = create_program(program_spec(issuer_));
    ASSERT_NE(program, 0u);
    const auto first = grant_as(operator_, grant_of(program, buyer_, 20'000, "HH-2024-0001"));
    ASSERT_TRUE(first.ok()) << first.status.error_message();
    EXPECT_FALSE(first.response.duplicate());
    const cpx::v1::Voucher& v = first.response.voucher();
    EXPECT_EQ(v.voucher_id(), 1u);
    EXPECT_EQ(v.program_id(), program);
    EXPECT_EQ(v.beneficiary_account_id(), buyer_.id);
    EXPECT_EQ(v.face_fen(), 20'000);
    EXPECT_EQ(v.balance_fen(), 20'000);
    EXPECT_EQ(v.redeemed_fen(), 0);
    EXPECT_EQ(v.revoked_fen(), 0);
    EXPECT_EQ(v.expiry_ns(), now_ns_ + 30 * kDayNs);
    EXPECT_GE(v.granted_ns(), now_ns_);
    EXPECT_EQ(v.revoked_ns(), 0);
    EXPECT_EQ(v.state(), cpx::v1::VOUCHER_STATE_ACTIVE);
    EXPECT_EQ(v.grant_ref(), "HH-2024-0001");

    // The same grant again is answered as the first, and grants nothing more.
    const auto again = grant_as(operator_, grant_of(program, buyer_, 20'000, "HH-2024-0001"));
    ASSERT_TRUE(again.ok()) << again.status.error_message();
    EXPECT_TRUE(again.response.duplicate());
    EXPECT_EQ(again.response.voucher().voucher_id(), v.voucher_id());
    EXPECT_EQ(again.response.voucher().granted_seq(), v.granted_seq());
    // The same reference for another grant is a mistake.
    EXPECT_TRUE(refused(grant_as(operator_, grant_of(program, buyer_, 30'000, "HH-2024-0001")),
                        grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_VOUCHER_REF"));
    const Party other_buyer = create_account(cpx::v1::ROLE_BUYER, "other-buyer");
    EXPECT_TRUE(refused(grant_as(operator_, grant_of(program, other_buyer, 20'000, "HH-2024-0001")),
                        grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_VOUCHER_REF"));
    // References are the program's own: another program may use the same one.
    const std::uint32_t second = create_program(program_spec(issuer_, 0, "second"));
    EXPECT_EQ(grant(second, buyer_, 5'000, "HH-2024-0001"), 2u);

    const auto money = balances(buyer_);
    ASSERT_TRUE(money.ok());
    EXPECT_EQ(money.response.voucher_fen(), 25'000);
    EXPECT_EQ(money.response.balance_fen(), kBuyerDeposit);  // a voucher is not money
    const auto listed = programs_as(operator_, program);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed.response.programs(0).granted_fen(), 20'000);
    EXPECT_EQ(listed.response.programs(0).vouchers(), 1u);
    // A program may grant more face value than its budget holds, as real schemes do.
    EXPECT_NE(grant(program, other_buyer, 500'000, "HH-2024-0002"), 0u);
}

TEST_F(GatewayVouchers, BadGrantsAreRefusedWithTheirReasons) {
    const std::uint32_t program = create_program(program_spec(issuer_));
    ASSERT_NE(program, 0u);
    const auto with = [&](const std::function<void(cpx::v1::GrantVoucherRequest&)>& change) {
        cpx::v1::GrantVoucherRequest r = grant_of(program, buyer_, 1'000, next_id("ref-"));
        change(r);
        return grant_as(operator_, r);
    };
    using Request = cpx::v1::GrantVoucherRequest;
    const auto invalid = grpc::StatusCode::INVALID_ARGUMENT;
    EXPECT_TRUE(
        refused(with([](Request& r) { r.set_program_id(0); }), invalid, "INVALID_PROGRAM_ID"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_beneficiary_account_id(0); }), invalid,
                        "INVALID_BENEFICIARY"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_face_fen(0); }), invalid, "INVALID_VOUCHER"));
    EXPECT_TRUE(
        refused(with([](Request& r) { r.set_face_fen(-100); }), invalid, "INVALID_VOUCHER"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_expiry_ns(0); }), invalid, "INVALID_VOUCHER"));
    // An expiry in the past is judged by the exchange's clock.
    EXPECT_TRUE(refused(with([&](Request& r) { r.set_expiry_ns(now_ns_ - kHourNs); }), invalid,
                        "INVALID_VOUCHER"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_grant_ref(""); }), invalid, "INVALID_VOUCHER"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_grant_ref(std::string(65, 'r')); }), invalid,
                        "INVALID_VOUCHER"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_grant_ref("tab\there"); }), invalid,
                        "INVALID_VOUCHER"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_program_id(42); }), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_VOUCHER_PROGRAM"));
    EXPECT_TRUE(refused(with([](Request& r) { r.set_beneficiary_account_id(999); }),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCOUNT"));
    // A buyers' program grants to buyers only.
    EXPECT_TRUE(refused(with([&](Request& r) { r.set_beneficiary_account_id(provider_.id); }),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_VOUCHER"));
    EXPECT_TRUE(refused(with([&](Request& r) { r.set_beneficiary_account_id(issuer_.id); }),
                        grpc::StatusCode::INVALID_ARGUMENT, "INVALID_VOUCHER"));
    EXPECT_TRUE(voucher_ids(vouchers_as(operator_)).empty());
    // The widest reference is accepted.
    EXPECT_TRUE(with([](Request& r) { r.set_grant_ref(std::string(64, '~')); }).ok());
}

TEST_F(GatewayVouchers, RevokingTakesBackTheUnusedBalance) {
    const std::uint32_t program = create_program(program_spec(issuer_));
    const std::uint64_t voucher = grant(program, buyer_, 20'000, "HH-R-1");
    ASSERT_NE(voucher, 0u);
    EXPECT_EQ(balances(buyer_).response.voucher_fen(), 20'000);

    EXPECT_TRUE(
        refused(revoke_as(operator_, 0), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_VOUCHER_ID"));
    EXPECT_TRUE(refused(revoke_as(operator_, 999), grpc::StatusCode::NOT_FOUND, "UNKNOWN_VOUCHER"));
    const auto revoked = revoke_as(operator_, voucher);
    ASSERT_TRUE(revoked.ok()) << revoked.status.error_message();
    EXPECT_EQ(revoked.response.voucher_id(), voucher);
    EXPECT_EQ(revoked.response.state(), cpx::v1::VOUCHER_STATE_REVOKED);
    EXPECT_EQ(revoked.response.revoked_fen(), 20'000);
    EXPECT_EQ(revoked.response.balance_fen(), 0);
    EXPECT_GE(revoked.response.revoked_ns(), now_ns_);
    // Once.
    EXPECT_TRUE(refused(revoke_as(operator_, voucher), grpc::StatusCode::FAILED_PRECONDITION,
                        "VOUCHER_NOT_ACTIVE"));

    EXPECT_EQ(balances(buyer_).response.voucher_fen(), 0);
    const auto listed = vouchers_as(buyer_);
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed.response.vouchers_size(), 1);
    EXPECT_EQ(listed.response.vouchers(0).state(), cpx::v1::VOUCHER_STATE_REVOKED);
    const auto program_view = programs_as(issuer_, program);
    ASSERT_TRUE(program_view.ok()) << program_view.status.error_message();
    EXPECT_EQ(program_view.response.programs(0).revoked_fen(), 20'000);
    EXPECT_EQ(program_view.response.programs(0).granted_fen(), 20'000);
    // The budget is money and stays: only the entitlement was taken back.
    EXPECT_EQ(program_view.response.programs(0).budget_fen(), 100'000);
}

// --- Who may do what ----------------------------------------------------------------------

TEST_F(GatewayVouchers, OnlyOperatorsChangeVouchers) {
    const std::uint32_t program = create_program(program_spec(issuer_));
    const std::uint64_t voucher = grant(program, buyer_, 20'000, "HH-O-1");
    ASSERT_NE(voucher, 0u);
    for (const Party* who : {&regulator_, &issuer_, &buyer_, &provider_}) {
        EXPECT_TRUE(refused(create_program_as(*who, program_spec(issuer_)),
                            grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"))
            << who->id;
        EXPECT_TRUE(refused(fund_as(*who, program, 1'000), grpc::StatusCode::PERMISSION_DENIED,
                            "ROLE_NOT_ALLOWED"))
            << who->id;
        EXPECT_TRUE(refused(grant_as(*who, grant_of(program, buyer_, 1'000, "self-service")),
                            grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"))
            << who->id;
        EXPECT_TRUE(refused(revoke_as(*who, voucher), grpc::StatusCode::PERMISSION_DENIED,
                            "ROLE_NOT_ALLOWED"))
            << who->id;
    }
    // Without a key, or with a wrong one, nobody is anybody.
    EXPECT_TRUE(refused(create_program_as(Party{}, program_spec(issuer_)),
                        grpc::StatusCode::UNAUTHENTICATED, "UNAUTHENTICATED"));
    EXPECT_TRUE(refused(programs_as(Party{0, "not-a-key"}), grpc::StatusCode::UNAUTHENTICATED,
                        "UNAUTHENTICATED"));
    // The regulator reads everything.
    EXPECT_EQ(program_ids(programs_as(regulator_)), ProgramIds{program});
    EXPECT_EQ(voucher_ids(vouchers_as(regulator_)), VoucherIds{voucher});
    EXPECT_EQ(voucher_ids(vouchers_as(regulator_, 0, buyer_.id)), VoucherIds{voucher});
    EXPECT_TRUE(report_as(regulator_).ok());
    // Nothing changed.
    const auto view = programs_as(operator_, program);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view.response.programs(0).funded_fen(), 100'000);
    EXPECT_EQ(view.response.programs(0).vouchers(), 1u);
    EXPECT_EQ(balances(buyer_).response.voucher_fen(), 20'000);
}

TEST_F(GatewayVouchers, AnIssuerSeesOnlyItsOwnPrograms) {
    const Party other_issuer = create_account(cpx::v1::ROLE_ISSUER, "guian-bureau");
    ASSERT_TRUE(deposit(other_issuer, kIssuerDeposit).ok());
    const std::uint32_t mine = create_program(program_spec(issuer_, 10'000, "hohhot"));
    const std::uint32_t theirs = create_program(program_spec(other_issuer, 10'000, "guian"));
    ASSERT_TRUE(mine != 0 && theirs != 0);
    const std::uint64_t my_voucher = grant(mine, buyer_, 1'000, "m-1");
    const std::uint64_t their_voucher = grant(theirs, buyer_, 2'000, "t-1");

    EXPECT_EQ(program_ids(programs_as(issuer_)), ProgramIds{mine});
    EXPECT_EQ(program_ids(programs_as(issuer_, mine)), ProgramIds{mine});
    EXPECT_EQ(program_ids(programs_as(other_issuer)), ProgramIds{theirs});
    EXPECT_EQ(program_ids(programs_as(operator_)), (ProgramIds{mine, theirs}));
    EXPECT_EQ(program_ids(programs_as(regulator_)), (ProgramIds{mine, theirs}));
    // Another issuer's program is as unknown as one that does not exist.
    EXPECT_TRUE(refused(programs_as(issuer_, theirs), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_VOUCHER_PROGRAM"));
    EXPECT_TRUE(
        refused(programs_as(issuer_, 99), grpc::StatusCode::NOT_FOUND, "UNKNOWN_VOUCHER_PROGRAM"));
    EXPECT_TRUE(refused(vouchers_as(issuer_, theirs), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_VOUCHER_PROGRAM"));
    EXPECT_TRUE(refused(report_as(issuer_, cpx::v1::VOUCHER_GROUP_BENEFICIARY, theirs),
                        grpc::StatusCode::NOT_FOUND, "UNKNOWN_VOUCHER_PROGRAM"));
    // Its programs' vouchers, even of a beneficiary that holds others'.
    EXPECT_EQ(voucher_ids(vouchers_as(issuer_)), VoucherIds{my_voucher});
    EXPECT_EQ(voucher_ids(vouchers_as(issuer_, 0, buyer_.id)), VoucherIds{my_voucher});
    EXPECT_EQ(voucher_ids(vouchers_as(other_issuer)), VoucherIds{their_voucher});
    EXPECT_EQ(voucher_ids(vouchers_as(operator_)), (VoucherIds{my_voucher, their_voucher}));
    EXPECT_EQ(voucher_ids(vouchers_as(operator_, theirs)), VoucherIds{their_voucher});
    const auto report = report_as(issuer_, cpx::v1::VOUCHER_GROUP_PROVIDER, mine);
    ASSERT_TRUE(report.ok()) << report.status.error_message();
    EXPECT_EQ(report.response.group(), cpx::v1::VOUCHER_GROUP_PROVIDER);
    EXPECT_TRUE(report.response.rows().empty());  // nothing redeemed yet
}

TEST_F(GatewayVouchers, ABeneficiarySeesOnlyItsOwnVouchers) {
    const Party second_buyer = create_account(cpx::v1::ROLE_BUYER, "second-buyer");
    const Party bystander = create_account(cpx::v1::ROLE_BUYER, "bystander");
    const std::uint32_t program = create_program(program_spec(issuer_));
    const std::uint32_t other = create_program(program_spec(issuer_, 0, "other"));
    const std::uint64_t mine = grant(program, buyer_, 1'000, "b-1");
    const std::uint64_t theirs = grant(program, second_buyer, 2'000, "b-2");
    const std::uint64_t theirs_elsewhere = grant(other, second_buyer, 3'000, "b-3");
    ASSERT_TRUE(mine != 0 && theirs != 0 && theirs_elsewhere != 0);

    EXPECT_EQ(voucher_ids(vouchers_as(buyer_)), VoucherIds{mine});
    EXPECT_EQ(voucher_ids(vouchers_as(buyer_, 0, buyer_.id)), VoucherIds{mine});
    EXPECT_EQ(voucher_ids(vouchers_as(second_buyer)), (VoucherIds{theirs, theirs_elsewhere}));
    EXPECT_EQ(voucher_ids(vouchers_as(second_buyer, other)), VoucherIds{theirs_elsewhere});
    EXPECT_TRUE(voucher_ids(vouchers_as(bystander)).empty());
    EXPECT_TRUE(refused(vouchers_as(buyer_, 0, second_buyer.id),
                        grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_ACCOUNT"));
    // A beneficiary sees the programs of the vouchers it holds, and no others.
    EXPECT_EQ(program_ids(programs_as(buyer_)), ProgramIds{program});
    EXPECT_EQ(program_ids(programs_as(second_buyer)), (ProgramIds{program, other}));
    EXPECT_TRUE(program_ids(programs_as(bystander)).empty());
    EXPECT_TRUE(program_ids(programs_as(provider_)).empty());
    EXPECT_TRUE(refused(programs_as(buyer_, other), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_VOUCHER_PROGRAM"));
    EXPECT_TRUE(refused(vouchers_as(buyer_, other), grpc::StatusCode::NOT_FOUND,
                        "UNKNOWN_VOUCHER_PROGRAM"));
    // Reports are for operators, regulators and issuers.
    EXPECT_TRUE(
        refused(report_as(buyer_), grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    EXPECT_TRUE(
        refused(report_as(provider_), grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED"));
    // The operator may name a beneficiary, and the listing is of that one.
    EXPECT_EQ(voucher_ids(vouchers_as(operator_, 0, second_buyer.id)),
              (VoucherIds{theirs, theirs_elsewhere}));
    EXPECT_TRUE(
        refused(vouchers_as(operator_, 0, 999), grpc::StatusCode::NOT_FOUND, "UNKNOWN_ACCOUNT"));
}

TEST_F(GatewayVouchers, AReportNamesItsGrouping) {
    create_program(program_spec(issuer_));
    for (const auto group :
         {cpx::v1::VOUCHER_GROUP_UNSPECIFIED, static_cast<cpx::v1::VoucherGroup>(4),
          static_cast<cpx::v1::VoucherGroup>(-1)}) {
        EXPECT_TRUE(refused(report_as(operator_, group), grpc::StatusCode::INVALID_ARGUMENT,
                            "INVALID_VOUCHER_GROUP"))
            << group;
    }
    for (const auto group : {cpx::v1::VOUCHER_GROUP_BENEFICIARY, cpx::v1::VOUCHER_GROUP_PROVIDER,
                             cpx::v1::VOUCHER_GROUP_PERIOD}) {
        const auto report = report_as(issuer_, group);
        ASSERT_TRUE(report.ok()) << report.status.error_message();
        EXPECT_EQ(report.response.group(), group);
    }
}

// --- Redemption ------------------------------------------------------------------------

// A buyer holding a 30% voucher of the Hohhot bureau buys domestic compute delivered in
// Hohhot; the provider confirms; after the dispute period a settlement run pays the
// provider in full (less the fee) from escrow and the program gives the buyer 30% back
// out of its budget. A purchase in another hub settles without the voucher.
TEST_F(GatewayVouchers, ABuyersThirtyPercentVoucherPaysBackAtSettlement) {
    // The Hohhot instrument, listed for a domestic accelerator, and a Gui'an one.
    cpx::v1::Instrument hohhot = compute_instrument(kHohhotPast);
    hohhot.set_symbol("HOHHOT-910B-2020");
    hohhot.set_hub(std::string(kHohhot));
    hohhot.set_window_start_ns(kPastWindowStart);
    hohhot.set_window_end_ns(kPastWindowEnd);
    hohhot.set_accelerator_model(std::string(kDomesticModel));
    ASSERT_TRUE(add_instrument(hohhot).ok());
    cpx::v1::Instrument guian = token_instrument(kGuianPast);
    guian.set_symbol("GUIAN-TOKENS-2020");
    guian.set_hub(std::string(kGuian));
    guian.set_window_start_ns(kPastWindowStart);
    guian.set_window_end_ns(kPastWindowEnd);
    ASSERT_TRUE(add_instrument(guian).ok());
    cpx::v1::RegisterCapacityRequest compute =
        compute_registration(provider_.id, std::string(kDomesticModel), 10);  // 32 P·h
    compute.set_hub(std::string(kHohhot));
    compute.set_window_start_ns(kPastWindowStart);
    compute.set_window_end_ns(kPastWindowEnd);
    ASSERT_TRUE(register_capacity_as(operator_, compute).ok());
    cpx::v1::RegisterCapacityRequest tokens = token_registration(provider_.id, 100);
    tokens.set_hub(std::string(kGuian));
    tokens.set_window_start_ns(kPastWindowStart);
    tokens.set_window_end_ns(kPastWindowEnd);
    ASSERT_TRUE(register_capacity_as(operator_, tokens).ok());

    // Compute in Hohhot on domestic chips, 30% back, at most 50 000 fen a buyer.
    cpx::v1::VoucherProgramSpec spec = program_spec(issuer_, 100'000);
    spec.add_kinds(cpx::v1::INSTRUMENT_KIND_COMPUTE);
    spec.add_hubs(std::string(kHohhot));
    spec.set_domestic_only(true);
    spec.set_cap_per_beneficiary_fen(50'000);
    const std::uint32_t program = create_program(spec);
    ASSERT_NE(program, 0u);
    const std::uint64_t voucher = grant(program, buyer_, 20'000, "HH-2024-0001");
    ASSERT_NE(voucher, 0u);
    EXPECT_EQ(balances(buyer_).response.voucher_fen(), 20'000);

    // 10 P·h at 10 CNY in Hohhot, and 4 bundles at 5 CNY in Gui'an.
    const auto trade = [&](std::uint32_t instrument, std::int64_t price, std::int64_t quantity) {
        const auto ask = sell(provider_, instrument, price, quantity);
        EXPECT_TRUE(ask.ok()) << ask.status.error_message();
        const auto bid = buy(buyer_, instrument, price, quantity);
        EXPECT_TRUE(bid.ok()) << bid.status.error_message();
        EXPECT_EQ(bid.response.fills_size(), 1);
        return bid.response.fills_size() == 1 ? bid.response.fills(0).trade_id() : 0;
    };
    const std::uint64_t in_hohhot = trade(kHohhotPast, 1'000, 10);  // 10 000 fen
    const std::uint64_t in_guian = trade(kGuianPast, 500, 4);       // 2 000 fen
    ASSERT_TRUE(in_hohhot != 0 && in_guian != 0);
    std::int64_t due = 0;
    for (const std::uint64_t id : {in_hohhot, in_guian}) {
        const auto confirmed = confirm_delivery(provider_, id, id == in_hohhot ? 10 : 4);
        ASSERT_TRUE(confirmed.ok()) << confirmed.status.error_message();
        due = std::max(due, confirmed.response.due_ns());
    }
    // Nothing is paid before settlement.
    EXPECT_EQ(balances(buyer_).response.balance_fen(), kBuyerDeposit - 12'000);
    EXPECT_EQ(programs_as(operator_, program).response.programs(0).redeemed_fen(), 0);

    while (wall_clock_ns() <= due + 20'000'000) {
        std::this_thread::sleep_for(20ms);
    }
    const auto run = run_settlement_as(operator_);
    ASSERT_TRUE(run.ok()) << run.status.error_message();
    EXPECT_EQ(run.response.settled(), 2u);
    EXPECT_EQ(run.response.failed(), 0u);
    EXPECT_EQ(run.response.fee_fen(), 120);
    EXPECT_EQ(run.response.paid_fen(), 12'000 - 120);

    // The buyer paid 12 000 fen and got 30% of the Hohhot 10 000 back.
    const auto buyer_money = balances(buyer_);
    ASSERT_TRUE(buyer_money.ok());
    EXPECT_EQ(buyer_money.response.balance_fen(), kBuyerDeposit - 12'000 + 3'000);
    EXPECT_EQ(buyer_money.response.available_fen(), kBuyerDeposit - 12'000 + 3'000);
    EXPECT_EQ(buyer_money.response.unsettled_fen(), 0);
    EXPECT_EQ(buyer_money.response.voucher_fen(), 17'000);
    // The provider was paid the full price, less the fee, from escrow.
    EXPECT_EQ(balances(provider_).response.balance_fen(), 12'000 - 120);
    // The issuer's money went into the budget once; the budget paid the voucher.
    EXPECT_EQ(balances(issuer_).response.balance_fen(), kIssuerDeposit - 100'000);
    for (const Party* who : {&operator_, &regulator_, &issuer_, &buyer_}) {
        const auto listed = programs_as(*who, program);
        ASSERT_TRUE(listed.ok()) << listed.status.error_message();
        ASSERT_EQ(listed.response.programs_size(), 1);
        const cpx::v1::VoucherProgram& p = listed.response.programs(0);
        EXPECT_EQ(p.redeemed_fen(), 3'000) << who->id;
        EXPECT_EQ(p.redemptions(), 1u) << who->id;
        EXPECT_EQ(p.budget_fen(), 97'000) << who->id;
        EXPECT_EQ(p.funded_fen(), 100'000) << who->id;
    }
    const auto held = vouchers_as(buyer_);
    ASSERT_TRUE(held.ok());
    ASSERT_EQ(held.response.vouchers_size(), 1);
    EXPECT_EQ(held.response.vouchers(0).redeemed_fen(), 3'000);
    EXPECT_EQ(held.response.vouchers(0).balance_fen(), 17'000);
    EXPECT_EQ(held.response.vouchers(0).state(), cpx::v1::VOUCHER_STATE_ACTIVE);

    // The report, each way.
    const auto by_beneficiary = report_as(issuer_, cpx::v1::VOUCHER_GROUP_BENEFICIARY);
    ASSERT_TRUE(by_beneficiary.ok()) << by_beneficiary.status.error_message();
    ASSERT_EQ(by_beneficiary.response.rows_size(), 1);
    EXPECT_EQ(by_beneficiary.response.rows(0).program_id(), program);
    EXPECT_EQ(by_beneficiary.response.rows(0).key(), buyer_.id);
    EXPECT_EQ(by_beneficiary.response.rows(0).redeemed_fen(), 3'000);
    EXPECT_EQ(by_beneficiary.response.rows(0).redemptions(), 1u);
    const auto by_provider = report_as(regulator_, cpx::v1::VOUCHER_GROUP_PROVIDER, program);
    ASSERT_TRUE(by_provider.ok()) << by_provider.status.error_message();
    ASSERT_EQ(by_provider.response.rows_size(), 1);
    EXPECT_EQ(by_provider.response.rows(0).key(), provider_.id);
    EXPECT_EQ(by_provider.response.rows(0).redeemed_fen(), 3'000);
    const auto by_period = report_as(operator_, cpx::v1::VOUCHER_GROUP_PERIOD);
    ASSERT_TRUE(by_period.ok()) << by_period.status.error_message();
    ASSERT_EQ(by_period.response.rows_size(), 1);
    EXPECT_EQ(by_period.response.rows(0).key(), 0u);  // no cap period: the whole program
    EXPECT_EQ(by_period.response.rows(0).period_start_ns(), spec.valid_from_ns());
    EXPECT_EQ(by_period.response.rows(0).redeemed_fen(), 3'000);
    EXPECT_EQ(by_period.response.rows(0).redemptions(), 1u);
}

TEST_F(GatewayVouchers, ABuyerShortOfMoneyBuysWithItsVoucherAsBuyingPower) {
    // 30% of any deal. 40 bundles at 2.50 CNY are 10,000 fen: the voucher covers 3,000,
    // and the order holds the other 7,000 plus a fen per bundle but one in money. The
    // fixture's accounts each have an owner group, so only a program that allows
    // affiliated deals can be counted before the provider is known.
    cpx::v1::VoucherProgramSpec spec = program_spec(issuer_, 100'000);
    spec.set_allow_affiliated(true);
    const std::uint32_t program = create_program(spec);
    ASSERT_NE(program, 0u);
    const Party without = create_account(cpx::v1::ROLE_BUYER, "without-voucher");
    const Party carol = create_account(cpx::v1::ROLE_BUYER, "carol");
    ASSERT_TRUE(deposit(without, 7'039).ok());
    ASSERT_TRUE(deposit(carol, 7'039).ok());
    const std::uint64_t voucher = grant(program, carol, 20'000, "HH-BP-0001");
    ASSERT_NE(voucher, 0u);
    EXPECT_TRUE(refused(buy(without, kTokens, 250, 40), grpc::StatusCode::FAILED_PRECONDITION,
                        "INSUFFICIENT_FUNDS"));
    const auto bid = buy(carol, kTokens, 250, 40);
    ASSERT_TRUE(bid.ok()) << bid.status.error_message();

    const auto resting = balances(carol);
    ASSERT_TRUE(resting.ok());
    EXPECT_EQ(resting.response.reserved_fen(), 7'039);
    EXPECT_EQ(resting.response.available_fen(), 0);
    EXPECT_EQ(resting.response.voucher_fen(), 17'000);
    const auto listed = programs_as(issuer_, program);
    ASSERT_TRUE(listed.ok()) << listed.status.error_message();
    EXPECT_EQ(listed.response.programs(0).held_fen(), 3'000);
    EXPECT_EQ(listed.response.programs(0).budget_fen(), 97'000);
    const auto held = vouchers_as(carol);
    ASSERT_TRUE(held.ok());
    ASSERT_EQ(held.response.vouchers_size(), 1);
    EXPECT_EQ(held.response.vouchers(0).held_fen(), 3'000);

    // The fill pays the voucher's share into escrow: the provider's price is all there.
    const auto ask = sell(provider_, kTokens, 250, 40);
    ASSERT_TRUE(ask.ok()) << ask.status.error_message();
    const auto filled = balances(carol);
    ASSERT_TRUE(filled.ok());
    EXPECT_EQ(filled.response.unsettled_fen(), 10'000);
    EXPECT_EQ(filled.response.reserved_fen(), 0);
    EXPECT_EQ(filled.response.available_fen(), 39);
    const auto after = vouchers_as(carol);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after.response.vouchers(0).redeemed_fen(), 3'000);
    EXPECT_EQ(after.response.vouchers(0).held_fen(), 0);
    EXPECT_EQ(programs_as(operator_, program).response.programs(0).redeemed_fen(), 3'000);
}

// --- Hostile input ---------------------------------------------------------------------

// Bytes that are not protobuf, and protobuf full of nonsense (ids, amounts, enum values
// and lists of every size), sent to every voucher method as the operator: each gets an
// answer, none an internal error, and afterwards the server still serves.
TEST_F(GatewayVouchers, GarbageAndNonsenseCannotHurtTheServer) {
    const std::vector<std::string> methods = {
        "/cpx.v1.Vouchers/CreateProgram", "/cpx.v1.Vouchers/FundProgram",
        "/cpx.v1.Vouchers/GrantVoucher",  "/cpx.v1.Vouchers/RevokeVoucher",
        "/cpx.v1.Vouchers/ListPrograms",  "/cpx.v1.Vouchers/ListVouchers",
        "/cpx.v1.Vouchers/Report",
    };
    std::mt19937_64 rng(20240229);
    const auto random_bytes = [&](std::size_t size) {
        std::string out(size, '\0');
        for (char& c : out) {
            c = static_cast<char>(rng() & 0xFF);
        }
        return out;
    };
    for (const std::string& method : methods) {
        for (int i = 0; i < 20; ++i) {
            const GenericAnswer answer = generic_unary(
                channel_, method, random_bytes(1 + rng() % 64), std::string(kOperatorKey));
            EXPECT_TRUE(answer.completed) << method << " " << i;
            EXPECT_NE(answer.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << method;
        }
    }

    // Well-formed messages with values no client should send.
    const std::vector<std::int64_t> amounts = {
        std::numeric_limits<std::int64_t>::min(), -1, 0, 1, 1'000,
        std::numeric_limits<std::int64_t>::max()};
    const auto amount = [&] { return amounts[rng() % amounts.size()]; };
    const auto some_id = [&] {
        return static_cast<std::uint32_t>(rng() % 2 == 0 ? rng() : rng() % 4);
    };
    const std::vector<std::string> texts = {"",
                                            "x",
                                            std::string(64, 'a'),
                                            std::string(65, 'a'),
                                            "\xE7\xAE\x97\xE5\x8A\x9B\xE5\x88\xB8",
                                            "a\tb",
                                            std::string(10'000, 'z')};
    const auto text = [&] { return texts[rng() % texts.size()]; };
    const auto judge = [&](const auto& answer, const std::string& what) {
        if (answer.ok()) {
            return;
        }
        const grpc::StatusCode code = answer.status.error_code();
        EXPECT_TRUE(code == grpc::StatusCode::INVALID_ARGUMENT ||
                    code == grpc::StatusCode::NOT_FOUND ||
                    code == grpc::StatusCode::FAILED_PRECONDITION ||
                    code == grpc::StatusCode::PERMISSION_DENIED ||
                    code == grpc::StatusCode::ALREADY_EXISTS ||
                    code == grpc::StatusCode::RESOURCE_EXHAUSTED)
            << what << ": " << code_name(code) << " " << answer.status.error_message();
        EXPECT_FALSE(answer.cpx_reason.empty()) << what;
        EXPECT_EQ(error_reason(answer.status), answer.cpx_reason) << what;
    };
    for (int i = 0; i < 200; ++i) {
        cpx::v1::VoucherProgramSpec spec;
        spec.set_issuer_account_id(rng() % 3 == 0 ? issuer_.id : some_id());
        spec.set_name(text());
        spec.set_budget_fen(rng() % 2 == 0 ? 0 : amount());
        spec.set_share_bps(static_cast<std::uint32_t>(rng() % 2 == 0 ? rng() % 10'002 : rng()));
        spec.set_mode(static_cast<cpx::v1::VoucherMode>(static_cast<int>(rng() % 5) - 1));
        spec.set_side(static_cast<cpx::v1::VoucherSide>(static_cast<int>(rng() % 5) - 1));
        spec.set_cap_per_beneficiary_fen(amount());
        spec.set_cap_period_ns(amount());
        spec.set_pool_cap_fen(amount());
        for (std::uint64_t k = rng() % 4; k > 0; --k) {
            spec.add_kinds(static_cast<cpx::v1::InstrumentKind>(static_cast<int>(rng() % 5) - 1));
        }
        for (std::uint64_t h = rng() % 3 == 0 ? rng() % 200 : rng() % 3; h > 0; --h) {
            spec.add_hubs(rng() % 2 == 0 ? std::string(kHohhot) : text());
        }
        for (std::uint64_t m = rng() % 3; m > 0; --m) {
            spec.add_accelerator_models(text());
        }
        for (std::uint64_t p = rng() % 4 == 0 ? rng() % 3'000 : rng() % 3; p > 0; --p) {
            spec.add_approved_provider_ids(rng() % 2 == 0 ? provider_.id : some_id());
        }
        spec.set_domestic_only(rng() % 2 == 0);
        spec.set_allow_affiliated(rng() % 2 == 0);
        if (rng() % 2 == 0) {
            spec.set_allow_both_sides(rng() % 2 == 0);
        }
        spec.set_valid_from_ns(rng() % 2 == 0 ? now_ns_ : amount());
        spec.set_valid_until_ns(rng() % 2 == 0 ? now_ns_ + kDayNs : amount());
        judge(create_program_as(operator_, spec), "create " + std::to_string(i));
        judge(fund_as(operator_, some_id(), amount()), "fund " + std::to_string(i));
        cpx::v1::GrantVoucherRequest g;
        g.set_program_id(some_id());
        g.set_beneficiary_account_id(rng() % 2 == 0 ? buyer_.id : some_id());
        g.set_face_fen(amount());
        g.set_expiry_ns(rng() % 2 == 0 ? now_ns_ + kDayNs : amount());
        g.set_grant_ref(text());
        judge(grant_as(operator_, g), "grant " + std::to_string(i));
        judge(revoke_as(operator_, rng() % 2 == 0 ? rng() : rng() % 8), "revoke");
        judge(programs_as(rng() % 2 == 0 ? buyer_ : issuer_, some_id()), "programs");
        judge(vouchers_as(rng() % 2 == 0 ? buyer_ : issuer_, some_id(), some_id()), "vouchers");
        judge(report_as(rng() % 2 == 0 ? operator_ : issuer_,
                        static_cast<cpx::v1::VoucherGroup>(static_cast<int>(rng() % 6) - 1),
                        some_id()),
              "report");
    }

    // The server still answers vouchers, balances and orders, consistently.
    const auto listed = programs_as(operator_);
    ASSERT_TRUE(listed.ok()) << listed.status.error_message();
    std::int64_t funded = 0;
    for (const cpx::v1::VoucherProgram& p : listed.response.programs()) {
        if (p.spec().issuer_account_id() == issuer_.id) {
            funded += p.funded_fen();
        }
        EXPECT_EQ(p.budget_fen(), p.funded_fen() - p.redeemed_fen());
    }
    EXPECT_EQ(balances(issuer_).response.balance_fen(), kIssuerDeposit - funded);
    expect_market_still_trades();
}

}  // namespace
}  // namespace cpx::gateway::test
