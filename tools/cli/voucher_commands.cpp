// Voucher commands (算力券): an operator's programs, grants and revocations, and what
// operators, regulators, issuers and beneficiaries read of them, including the report
// an issuer exports as CSV.

#include <charconv>
#include <iostream>
#include <map>

#include "client.hpp"

namespace cpx::cli {

namespace {

constexpr std::int64_t kNsPerHour = 3'600'000'000'000;
constexpr std::int64_t kNsPerDay = 24 * kNsPerHour;

const char* mode_name(cpx::v1::VoucherMode mode) {
    switch (mode) {
        case cpx::v1::VOUCHER_MODE_DISCOUNT:
            return "discount";
        case cpx::v1::VOUCHER_MODE_REBATE:
            return "rebate";
        default:
            return "-";
    }
}

const char* side_name(cpx::v1::VoucherSide side) {
    switch (side) {
        case cpx::v1::VOUCHER_SIDE_BUYER:
            return "buyer";
        case cpx::v1::VOUCHER_SIDE_PROVIDER:
            return "provider";
        default:
            return "-";
    }
}

const char* state_name(cpx::v1::VoucherState state) {
    switch (state) {
        case cpx::v1::VOUCHER_STATE_ACTIVE:
            return "active";
        case cpx::v1::VOUCHER_STATE_USED_UP:
            return "used_up";
        case cpx::v1::VOUCHER_STATE_EXPIRED:
            return "expired";
        case cpx::v1::VOUCHER_STATE_REVOKED:
            return "revoked";
        default:
            return "-";
    }
}

const char* group_name(cpx::v1::VoucherGroup group) {
    switch (group) {
        case cpx::v1::VOUCHER_GROUP_BENEFICIARY:
            return "beneficiary";
        case cpx::v1::VOUCHER_GROUP_PROVIDER:
            return "provider";
        case cpx::v1::VOUCHER_GROUP_PERIOD:
            return "period";
        default:
            return "-";
    }
}

// An id option that must name something: 1 to the largest value of its field.
std::uint64_t positive_id(const Args& a, const std::string& key, std::uint64_t max) {
    const std::int64_t id = a.integer(key);
    if (id <= 0 || static_cast<std::uint64_t>(id) > max) {
        throw UsageError("--" + key + " must be a positive id");
    }
    return static_cast<std::uint64_t>(id);
}

// An account or program id: 32 bits.
std::uint32_t id32(const Args& a, const std::string& key) {
    return static_cast<std::uint32_t>(positive_id(a, key, 0xFFFFFFFF));
}

// An optional filter id: absent or 0 means every one the caller may see.
std::uint32_t filter_id(const Args& a, const std::string& key) {
    const std::int64_t id = a.integer_or(key, 0);
    if (id < 0 || id > 0xFFFFFFFF) {
        throw UsageError("--" + key + " must be an id (0: every one you may see)");
    }
    return static_cast<std::uint32_t>(id);
}

// Money that may be 0 but never negative.
std::int64_t amount_or_zero(const Args& a, const std::string& key) {
    return a.has(key) ? a.fen(key) : 0;
}

// Splits "a,b,c" into its items; an empty item is a typo.
std::vector<std::string> list_of(const Args& a, const std::string& key) {
    std::vector<std::string> items;
    if (!a.has(key)) {
        return items;
    }
    const std::string text = a.text(key);
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        if (end == start) {
            throw UsageError("--" + key + ": an empty item in '" + text + "'");
        }
        items.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return items;
}

// A duration: nanoseconds, or a whole number of days ("365d") or hours ("24h").
std::int64_t duration_ns(const Args& a, const std::string& key) {
    std::string text = a.text(key);
    std::int64_t unit = 1;
    if (!text.empty() && (text.back() == 'd' || text.back() == 'h')) {
        unit = text.back() == 'd' ? kNsPerDay : kNsPerHour;
        text.pop_back();
    }
    std::int64_t count = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (error != std::errc() || end != text.data() + text.size() || count < 0 ||
        count > INT64_MAX / unit) {
        throw UsageError("--" + key + ": not a duration like 365d, 24h or nanoseconds: '" +
                         a.text(key) + "'");
    }
    return count * unit;
}

std::string describe(const cpx::v1::VoucherProgram& p) {
    const cpx::v1::VoucherProgramSpec& s = p.spec();
    return "program " + std::to_string(s.program_id()) + " \"" + s.name() + "\" of issuer " +
           std::to_string(s.issuer_account_id()) + ": " + std::to_string(s.share_bps()) + " bps " +
           mode_name(s.mode()) + " for the " + side_name(s.side()) + "; budget " +
           yuan(p.budget_fen()) + " CNY of " + yuan(p.funded_fen()) + " funded, " +
           yuan(p.redeemed_fen()) + " CNY redeemed" +
           (p.held_fen() > 0 ? ", " + yuan(p.held_fen()) + " CNY held by resting orders" : "");
}

std::string describe(const cpx::v1::Voucher& v) {
    return "voucher " + std::to_string(v.voucher_id()) + " of program " +
           std::to_string(v.program_id()) + " for account " +
           std::to_string(v.beneficiary_account_id()) + ": " + state_name(v.state()) +
           ", balance " + yuan(v.balance_fen()) + " of " + yuan(v.face_fen()) + " CNY" +
           (v.held_fen() > 0 ? " (" + yuan(v.held_fen()) + " held by resting orders)" : "") +
           ", expires " + time_text(v.expiry_ns()) + ", ref " + v.grant_ref();
}

int create_program(Client& client, const Args& a) {
    a.reject_unknown({"issuer", "name", "budget", "share-bps", "mode", "side", "cap", "cap-period",
                      "pool-cap", "kinds", "hubs", "models", "domestic-only", "providers",
                      "allow-affiliated", "allow-both-sides", "valid-from", "valid-until"});
    cpx::v1::CreateProgramRequest request;
    cpx::v1::VoucherProgramSpec* s = request.mutable_program();
    s->set_issuer_account_id(id32(a, "issuer"));
    s->set_name(a.text("name"));
    s->set_budget_fen(amount_or_zero(a, "budget"));
    const std::int64_t share = a.integer("share-bps");
    if (share < 1 || share > 10'000) {
        throw UsageError("--share-bps must be 1 to 10000 (3000 is 30%)");
    }
    s->set_share_bps(static_cast<std::uint32_t>(share));
    const std::string mode = a.text_or("mode", "discount");
    if (mode != "discount" && mode != "rebate") {
        throw UsageError("--mode must be discount or rebate");
    }
    s->set_mode(mode == "rebate" ? cpx::v1::VOUCHER_MODE_REBATE : cpx::v1::VOUCHER_MODE_DISCOUNT);
    const std::string side = a.text_or("side", "buyer");
    if (side != "buyer" && side != "provider") {
        throw UsageError("--side must be buyer or provider");
    }
    s->set_side(side == "provider" ? cpx::v1::VOUCHER_SIDE_PROVIDER : cpx::v1::VOUCHER_SIDE_BUYER);
    s->set_cap_per_beneficiary_fen(amount_or_zero(a, "cap"));
    s->set_cap_period_ns(a.has("cap-period") ? duration_ns(a, "cap-period") : 0);
    s->set_pool_cap_fen(amount_or_zero(a, "pool-cap"));
    for (const std::string& kind : list_of(a, "kinds")) {
        if (kind == "compute") {
            s->add_kinds(cpx::v1::INSTRUMENT_KIND_COMPUTE);
        } else if (kind == "token") {
            s->add_kinds(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
        } else {
            throw UsageError("--kinds: compute or token, comma-separated");
        }
    }
    for (const std::string& hub : list_of(a, "hubs")) {
        s->add_hubs(hub);
    }
    for (const std::string& model : list_of(a, "models")) {
        s->add_accelerator_models(model);
    }
    s->set_domestic_only(a.flag("domestic-only"));
    for (const std::string& provider : list_of(a, "providers")) {
        s->add_approved_provider_ids(static_cast<std::uint32_t>(
            positive_id(Args("", {{"providers", provider}}), "providers", 0xFFFFFFFF)));
    }
    s->set_allow_affiliated(a.flag("allow-affiliated"));
    // Left unset unless given, so that the exchange's default (both sides) applies.
    if (a.has("allow-both-sides")) {
        s->set_allow_both_sides(a.flag("allow-both-sides"));
    }
    s->set_valid_from_ns(a.time_ns("valid-from"));
    s->set_valid_until_ns(a.time_ns("valid-until"));
    cpx::v1::VoucherProgram reply;
    const grpc::Status status =
        client.vouchers().CreateProgram(client.context().get(), request, &reply);
    return answer(client.global(), status, reply, "created " + describe(reply));
}

int fund_program(Client& client, const Args& a) {
    a.reject_unknown({"program", "amount", "ref"});
    cpx::v1::FundProgramRequest request;
    request.set_program_id(id32(a, "program"));
    request.set_amount_fen(a.fen("amount"));
    request.set_fund_ref(a.text("ref"));
    cpx::v1::VoucherProgram reply;
    const grpc::Status status =
        client.vouchers().FundProgram(client.context().get(), request, &reply);
    return answer(client.global(), status, reply, "funded " + describe(reply));
}

int grant(Client& client, const Args& a) {
    a.reject_unknown({"program", "account", "face", "expiry", "ref"});
    cpx::v1::GrantVoucherRequest request;
    request.set_program_id(id32(a, "program"));
    request.set_beneficiary_account_id(id32(a, "account"));
    request.set_face_fen(a.fen("face"));
    request.set_expiry_ns(a.time_ns("expiry"));
    request.set_grant_ref(a.text("ref"));
    cpx::v1::GrantVoucherResponse reply;
    const grpc::Status status =
        client.vouchers().GrantVoucher(client.context().get(), request, &reply);
    return answer(client.global(), status, reply,
                  std::string(reply.duplicate() ? "already granted: " : "granted ") +
                      describe(reply.voucher()));
}

int revoke(Client& client, const Args& a) {
    a.reject_unknown({"voucher"});
    cpx::v1::RevokeVoucherRequest request;
    request.set_voucher_id(positive_id(a, "voucher", UINT64_MAX));
    cpx::v1::Voucher reply;
    const grpc::Status status =
        client.vouchers().RevokeVoucher(client.context().get(), request, &reply);
    return answer(
        client.global(), status, reply,
        "revoked " + describe(reply) + "; " + yuan(reply.revoked_fen()) + " CNY taken back");
}

int programs(Client& client, const Args& a) {
    a.reject_unknown({"program"});
    cpx::v1::ListProgramsRequest request;
    request.set_program_id(filter_id(a, "program"));
    cpx::v1::ListProgramsResponse response;
    const grpc::Status status =
        client.vouchers().ListPrograms(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    Table table({"program", "issuer", "name", "share bps", "mode", "side", "funded CNY",
                 "budget CNY", "granted CNY", "redeemed CNY", "vouchers", "redemptions",
                 "valid from", "valid until"});
    for (const auto& p : response.programs()) {
        const cpx::v1::VoucherProgramSpec& s = p.spec();
        table.add({std::to_string(s.program_id()), std::to_string(s.issuer_account_id()), s.name(),
                   std::to_string(s.share_bps()), mode_name(s.mode()), side_name(s.side()),
                   yuan(p.funded_fen()), yuan(p.budget_fen()), yuan(p.granted_fen()),
                   yuan(p.redeemed_fen()), std::to_string(p.vouchers()),
                   std::to_string(p.redemptions()), time_text(s.valid_from_ns()),
                   time_text(s.valid_until_ns())});
    }
    table.print();
    return 0;
}

int list(Client& client, const Args& a) {
    a.reject_unknown({"program", "account"});
    cpx::v1::ListVouchersRequest request;
    request.set_program_id(filter_id(a, "program"));
    request.set_account_id(filter_id(a, "account"));
    cpx::v1::ListVouchersResponse response;
    const grpc::Status status =
        client.vouchers().ListVouchers(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    Table table({"voucher", "program", "account", "state", "face CNY", "redeemed CNY",
                 "revoked CNY", "balance CNY", "expires", "ref"});
    for (const auto& v : response.vouchers()) {
        table.add({std::to_string(v.voucher_id()), std::to_string(v.program_id()),
                   std::to_string(v.beneficiary_account_id()), state_name(v.state()),
                   yuan(v.face_fen()), yuan(v.redeemed_fen()), yuan(v.revoked_fen()),
                   yuan(v.balance_fen()), time_text(v.expiry_ns()), v.grant_ref()});
    }
    table.print();
    return 0;
}

int report(Client& client, const Args& a) {
    a.reject_unknown({"program", "group", "csv"});
    const std::map<std::string, cpx::v1::VoucherGroup> groups = {
        {"beneficiary", cpx::v1::VOUCHER_GROUP_BENEFICIARY},
        {"provider", cpx::v1::VOUCHER_GROUP_PROVIDER},
        {"period", cpx::v1::VOUCHER_GROUP_PERIOD}};
    const std::string group = a.text_or("group", "beneficiary");
    if (groups.count(group) == 0) {
        throw UsageError("--group must be beneficiary, provider or period");
    }
    const bool csv = a.flag("csv");
    if (csv && client.global().json) {
        throw UsageError("--csv and --json exclude each other");
    }
    cpx::v1::VoucherReportRequest request;
    request.set_program_id(filter_id(a, "program"));
    request.set_group(groups.at(group));
    cpx::v1::VoucherReportResponse response;
    const grpc::Status status =
        client.vouchers().Report(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    if (csv) {
        // Integers only, in fen and nanoseconds, so that a spreadsheet or a script reads
        // them exactly; no field ever needs quoting.
        std::cout << "program,group,key,period_start_ns,redeemed_fen,redemptions\n";
        for (const auto& row : response.rows()) {
            std::cout << row.program_id() << ',' << group_name(response.group()) << ',' << row.key()
                      << ',' << row.period_start_ns() << ',' << row.redeemed_fen() << ','
                      << row.redemptions() << '\n';
        }
        return 0;
    }
    if (response.group() == cpx::v1::VOUCHER_GROUP_PERIOD) {
        Table table({"program", "period", "period start", "redeemed CNY", "redemptions"});
        for (const auto& row : response.rows()) {
            table.add({std::to_string(row.program_id()), std::to_string(row.key()),
                       time_text(row.period_start_ns()), yuan(row.redeemed_fen()),
                       std::to_string(row.redemptions())});
        }
        table.print();
        return 0;
    }
    Table table({"program", group, "redeemed CNY", "redemptions"});
    for (const auto& row : response.rows()) {
        table.add({std::to_string(row.program_id()), std::to_string(row.key()),
                   yuan(row.redeemed_fen()), std::to_string(row.redemptions())});
    }
    table.print();
    return 0;
}

}  // namespace

bool is_voucher_command(const std::string& c) {
    return c == "voucher" || c.rfind("voucher ", 0) == 0;
}

int run_voucher_command(Client& client, const Args& a) {
    const std::string& c = a.command();
    if (c == "voucher create-program")
        return create_program(client, a);
    if (c == "voucher fund")
        return fund_program(client, a);
    if (c == "voucher grant")
        return grant(client, a);
    if (c == "voucher revoke")
        return revoke(client, a);
    if (c == "voucher programs")
        return programs(client, a);
    if (c == "voucher list")
        return list(client, a);
    if (c == "voucher report")
        return report(client, a);
    throw UsageError(
        "voucher needs one of create-program, fund, grant, revoke, programs, list, report");
}

}  // namespace cpx::cli
