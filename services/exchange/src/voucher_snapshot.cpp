// The vouchers' part of the exchange's snapshot (section VCHR, written between the
// obligations and the ledger; see snapshot.cpp): the accelerator model of each
// instrument, the programs with their totals, every voucher with its grant reference,
// the tallies that the caps and reports read, and the funding references. Everything is written in
// key order, so saving a restored exchange gives the same bytes. A load checks every field as a
// grant or redemption would have, and, once the ledger is loaded, that each program's
// budget account holds what was funded less what was redeemed, with the covers of resting
// buy orders pending. Those covers are not saved here: the order records carry them, and
// the load adds them up again (rebuild_voucher_holds).

#include <algorithm>
#include <cassert>

#include "cpx/exchange/exchange.hpp"
#include "cpx/matching/snapshot_io.hpp"
#include "shares.hpp"

namespace cpx::exchange {

using matching::SnapshotReader;
using matching::SnapshotWriter;

namespace {

constexpr std::size_t kTextMax = 1u << 10;

void save_list(SnapshotWriter& w, const std::vector<std::string>& list) {
    w.varint(list.size());
    for (const std::string& s : list) {
        w.bytes(s);
    }
}

std::vector<std::string> load_list(SnapshotReader& in) {
    std::vector<std::string> list(in.count(1, kVoucherListMax));
    for (std::string& s : list) {
        s = in.bytes(kTextMax);
    }
    return list;
}

}  // namespace

void Exchange::save_vouchers(SnapshotWriter& w) const {
    w.tag("VCHR");
    w.varint(instrument_models_.size());
    for (const auto& [instrument, model] : instrument_models_) {
        w.varint(instrument);
        w.bytes(model);
    }
    w.varint(programs_.size());
    for (const ProgramState& p : programs_) {
        const VoucherProgramSpec& s = p.spec;
        w.varint(s.issuer);
        w.bytes(s.name);
        w.svarint(s.budget_fen);
        w.varint(s.share_bps);
        w.u8(static_cast<std::uint8_t>(s.mode));
        w.u8(static_cast<std::uint8_t>(s.side));
        w.svarint(s.cap_per_beneficiary_fen);
        w.svarint(s.cap_period_ns);
        w.svarint(s.pool_cap_fen);
        w.u8(s.kinds);
        save_list(w, s.hubs);
        save_list(w, s.accelerator_models);
        w.boolean(s.domestic_only);
        w.varint(s.approved_providers.size());
        for (const AccountId provider : s.approved_providers) {
            w.varint(provider);
        }
        w.boolean(s.allow_affiliated);
        w.boolean(s.allow_both_sides);
        w.svarint(s.valid_from_ns);
        w.svarint(s.valid_until_ns);
        w.svarint(p.funded_fen);
        w.svarint(p.granted_fen);
        w.svarint(p.revoked_fen);
        w.svarint(p.redeemed_fen);
        w.varint(p.vouchers);
        w.varint(p.redemptions);
        w.svarint(p.created_ns);
    }
    w.varint(vouchers_.size());
    for (const Voucher& v : vouchers_) {
        w.varint(v.program);
        w.varint(v.beneficiary);
        w.svarint(v.face_fen);
        w.svarint(v.redeemed_fen);
        w.svarint(v.revoked_fen);
        w.svarint(v.granted_ns);
        w.svarint(v.expiry_ns);
        w.svarint(v.revoked_ns);
        w.varint(v.granted_seq);
        w.bytes(voucher_ref_texts_[v.id - 1]);
    }
    w.varint(voucher_tallies_.size());
    for (const auto& [key, tally] : voucher_tallies_) {
        const auto [program, beneficiary, provider, period] = key;
        w.varint(program);
        w.varint(beneficiary);
        w.varint(provider);
        w.svarint(period);
        w.svarint(tally.redeemed_fen);
        w.varint(tally.redemptions);
    }
    w.varint(voucher_cap_used_.size());
    for (const auto& [key, used] : voucher_cap_used_) {
        const auto [program, beneficiary, period] = key;
        w.varint(program);
        w.varint(beneficiary);
        w.svarint(period);
        w.svarint(used);
    }
    w.varint(fund_refs_.size());
    for (const auto& [key, amount] : fund_refs_) {
        w.varint(key.first);
        w.bytes(key.second);
        w.svarint(amount);
    }
}

bool Exchange::load_vouchers(SnapshotReader& in) {
    if (!in.expect_tag("VCHR")) {
        return false;
    }
    const auto account_with_role = [&](std::uint64_t id, Role role) {
        return id != 0 && id < accounts_.size() && accounts_[id].spec.role == role;
    };
    const std::size_t models = in.count(2, 0xFFFFFFFFull);
    for (std::size_t i = 0; i < models && in.ok(); ++i) {
        const InstrumentId instrument = in.varint32();
        std::string model = in.bytes(kTextMax);
        if (in.ok() && (!engine_.has_instrument(instrument) || model.empty() ||
                        !instrument_models_.emplace(instrument, std::move(model)).second)) {
            return in.fail("bad instrument model entry");
        }
    }

    const std::size_t program_count = in.count(20, config_.voucher_programs_max);
    for (std::size_t i = 0; i < program_count && in.ok(); ++i) {
        ProgramState p;
        VoucherProgramSpec& s = p.spec;
        s.id = static_cast<std::uint32_t>(i + 1);
        s.issuer = in.varint32();
        s.name = in.bytes(kTextMax);
        s.budget_fen = in.svarint();
        s.share_bps = in.varint32();
        s.mode = static_cast<VoucherMode>(in.u8());
        s.side = static_cast<VoucherSide>(in.u8());
        s.cap_per_beneficiary_fen = in.svarint();
        s.cap_period_ns = in.svarint();
        s.pool_cap_fen = in.svarint();
        s.kinds = in.u8();
        s.hubs = load_list(in);
        s.accelerator_models = load_list(in);
        s.domestic_only = in.boolean();
        s.approved_providers.resize(in.count(1, kApprovedProvidersMax));
        for (AccountId& provider : s.approved_providers) {
            provider = in.varint32();
        }
        s.allow_affiliated = in.boolean();
        s.allow_both_sides = in.boolean();
        s.valid_from_ns = in.svarint();
        s.valid_until_ns = in.svarint();
        p.funded_fen = in.svarint();
        p.granted_fen = in.svarint();
        p.revoked_fen = in.svarint();
        p.redeemed_fen = in.svarint();
        p.vouchers = in.varint();
        p.redemptions = in.varint();
        p.created_ns = in.svarint();
        if (!in.ok()) {
            return false;
        }
        if (!account_with_role(s.issuer, Role::Issuer) || validate_program(s) != Code::None ||
            !std::is_sorted(s.approved_providers.begin(), s.approved_providers.end()) ||
            std::adjacent_find(s.approved_providers.begin(), s.approved_providers.end()) !=
                s.approved_providers.end() ||
            p.funded_fen < s.budget_fen || p.redeemed_fen < 0 || p.redeemed_fen > p.funded_fen ||
            p.granted_fen < 0 || p.revoked_fen < 0 || p.revoked_fen > p.granted_fen) {
            return in.fail("bad voucher program entry");
        }
        programs_.push_back(std::move(p));
    }

    const std::size_t voucher_count = in.count(10, config_.vouchers_max);
    std::vector<ProgramState> sums(programs_.size());
    for (std::size_t i = 0; i < voucher_count && in.ok(); ++i) {
        Voucher v;
        v.id = i + 1;
        v.program = in.varint32();
        v.beneficiary = in.varint32();
        v.face_fen = in.svarint();
        v.redeemed_fen = in.svarint();
        v.revoked_fen = in.svarint();
        v.granted_ns = in.svarint();
        v.expiry_ns = in.svarint();
        v.revoked_ns = in.svarint();
        v.granted_seq = in.varint();
        std::string ref = in.bytes(kTextMax);
        if (!in.ok()) {
            return false;
        }
        const bool program_ok = v.program != 0 && v.program <= programs_.size();
        if (!program_ok ||
            !account_with_role(v.beneficiary,
                               programs_[v.program - 1].spec.side == VoucherSide::Buyer
                                   ? Role::Buyer
                                   : Role::Provider) ||
            v.face_fen <= 0 || v.redeemed_fen < 0 || v.revoked_fen < 0 ||
            v.redeemed_fen > v.face_fen - v.revoked_fen ||
            (v.revoked_fen > 0 && v.revoked_ns == 0) ||
            !detail::printable(ref, kVoucherRefBytesMax) ||
            accounts_[v.beneficiary].vouchers.size() >= kVouchersPerAccountMax ||
            !voucher_refs_.emplace(std::make_pair(v.program, ref), v.id).second) {
            return in.fail("bad voucher entry");
        }
        ProgramState& sum = sums[v.program - 1];
        sum.granted_fen += v.face_fen;
        sum.revoked_fen += v.revoked_fen;
        sum.redeemed_fen += v.redeemed_fen;
        ++sum.vouchers;
        accounts_[v.beneficiary].vouchers.push_back(v.id);
        vouchers_.push_back(v);
        voucher_ref_texts_.push_back(std::move(ref));
    }

    const std::size_t tally_count = in.count(6, 0xFFFFFFFFull);
    std::vector<ProgramState> tallied(programs_.size());
    for (std::size_t i = 0; i < tally_count && in.ok(); ++i) {
        const std::uint32_t program = in.varint32();
        const AccountId beneficiary = in.varint32();
        const AccountId provider = in.varint32();
        const std::int64_t period = in.svarint();
        VoucherTally tally;
        tally.redeemed_fen = in.svarint();
        tally.redemptions = in.varint();
        if (in.ok() &&
            (program == 0 || program > programs_.size() || beneficiary >= accounts_.size() ||
             !account_with_role(provider, Role::Provider) || period < 0 || tally.redeemed_fen < 0 ||
             tally.redemptions == 0 ||
             !voucher_tallies_
                  .emplace(std::make_tuple(program, beneficiary, provider, period), tally)
                  .second)) {
            return in.fail("bad voucher tally entry");
        }
        if (in.ok()) {
            tallied[program - 1].redeemed_fen += tally.redeemed_fen;
            tallied[program - 1].redemptions += tally.redemptions;
        }
    }
    const std::size_t cap_count = in.count(4, 0xFFFFFFFFull);
    std::vector<Price> capped(programs_.size(), 0);
    for (std::size_t i = 0; i < cap_count && in.ok(); ++i) {
        const std::uint32_t program = in.varint32();
        const AccountId beneficiary = in.varint32();
        const std::int64_t period = in.svarint();
        const Price used = in.svarint();
        if (in.ok() &&
            (program == 0 || program > programs_.size() || beneficiary >= accounts_.size() ||
             period < 0 || used <= 0 ||
             !voucher_cap_used_.emplace(std::make_tuple(program, beneficiary, period), used)
                  .second)) {
            return in.fail("bad voucher cap entry");
        }
        if (in.ok()) {
            capped[program - 1] += used;
        }
    }
    const std::size_t fund_count = in.count(4, 0xFFFFFFFFull);
    std::vector<Price> funded(programs_.size(), 0);
    for (std::size_t i = 0; i < fund_count && in.ok(); ++i) {
        const std::uint32_t program = in.varint32();
        std::string ref = in.bytes(kTextMax);
        const Price amount = in.svarint();
        if (in.ok() &&
            (program == 0 || program > programs_.size() || amount <= 0 ||
             !detail::printable(ref, kVoucherRefBytesMax) ||
             !fund_refs_.emplace(std::make_pair(program, std::move(ref)), amount).second)) {
            return in.fail("bad voucher funding entry");
        }
        if (in.ok()) {
            funded[program - 1] += amount;
        }
    }
    if (!in.ok()) {
        return false;
    }
    // Every program's totals are the sums of its vouchers', its tallies and its funding.
    for (std::size_t i = 0; i < programs_.size(); ++i) {
        const ProgramState& p = programs_[i];
        if (p.granted_fen != sums[i].granted_fen || p.revoked_fen != sums[i].revoked_fen ||
            p.redeemed_fen != sums[i].redeemed_fen || p.vouchers != sums[i].vouchers ||
            p.redeemed_fen != tallied[i].redeemed_fen || p.redemptions != tallied[i].redemptions ||
            p.redeemed_fen != capped[i]) {
            return in.fail("voucher program totals do not match its vouchers");
        }
    }
    return true;
}

bool Exchange::vouchers_match_ledger(SnapshotReader& in) const {
    for (const ProgramState& p : programs_) {
        const ledger::Account* budget = ledger_.account(voucher_budget_account(p.spec.id));
        if (budget == nullptr || budget->credit_balance() != p.funded_fen - p.redeemed_fen ||
            budget->debits_pending != p.held_fen) {
            return in.fail("a voucher program's budget does not match the ledger");
        }
    }
    return true;
}

}  // namespace cpx::exchange
