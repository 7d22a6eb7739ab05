#pragma once
// What the voucher tests share (tests/exchange/voucher_test.cpp,
// tests/projector/voucher_projector_test.cpp): the instruments listed for accelerator
// models, a recording sink, a Hohhot-style program, and one variant of it per eligibility
// rule that a token or compute deal of the fixture's market fails.

#include <string>
#include <vector>

#include "exchange_fixture.hpp"

namespace cpx::exchange::test {

inline constexpr Timestamp kDay = 24 * kHour;
// Compute instruments the voucher tests list beside the fixture's two, in the compute
// hub and window, each for an accelerator model.
inline constexpr InstrumentId kAscend = 3;  // ASCEND-910B (domestic)
inline constexpr InstrumentId kH100 = 4;    // H100-SXM

// Every voucher event an exchange reported, in order.
class RecordingVoucherSink final : public VoucherSink {
  public:
    void on_voucher(const VoucherEvent& event) override { events.push_back(event); }
    std::vector<VoucherEvent> of(VoucherEventKind kind) const {
        std::vector<VoucherEvent> found;
        for (const VoucherEvent& e : events) {
            if (e.kind == kind) {
                found.push_back(e);
            }
        }
        return found;
    }
    std::vector<VoucherEvent> events;
};

// 30% of token deals in the HOHHOT hub, a budget of 1,000,000 fen, deals traded from an
// hour before the tests' clock starts until a year after the delivery window.
inline VoucherProgramSpec hohhot_program(AccountId issuer, const std::string& name) {
    VoucherProgramSpec s;
    s.issuer = issuer;
    s.name = name;
    s.budget_fen = 1'000'000;
    s.share_bps = 3'000;
    s.hubs = {kTokenHub};
    s.valid_from_ns = kStartNs - kHour;
    s.valid_until_ns = kWindowEnd + 365 * kDay;
    return s;
}

// Variants of a program that refuse a deal by one rule each (named after the base, since
// a program's name is unique per issuer).
struct IneligibleVariants {
    VoucherProgramSpec compute_only;  // refuses token deals
    VoucherProgramSpec other_hub;     // refuses HOHHOT deals
    VoucherProgramSpec h800_only;     // refuses compute listed for other models
    VoucherProgramSpec domestic;      // refuses compute on foreign chips
    VoucherProgramSpec approved;      // refuses every supplier but approved_provider
    VoucherProgramSpec not_yet;       // refuses deals traded before its validity
};

inline IneligibleVariants ineligible_variants(const VoucherProgramSpec& base,
                                              AccountId approved_provider) {
    const auto variant = [&](const char* rule) {
        VoucherProgramSpec s = base;
        s.name += std::string(" (") + rule + ")";
        return s;
    };
    IneligibleVariants v{variant("compute"),  variant("hub"),      variant("H800"),
                         variant("domestic"), variant("approved"), variant("not yet")};
    v.compute_only.hubs.clear();
    v.compute_only.kinds = voucher_kinds::compute;
    v.other_hub.hubs = {"SHANGHAI"};
    v.h800_only.hubs.clear();
    v.h800_only.accelerator_models = {"H800-SXM"};
    v.domestic.hubs.clear();
    v.domestic.domestic_only = true;
    v.approved.approved_providers = {approved_provider};
    v.not_yet.valid_from_ns = kWindowEnd + 300 * kDay;
    return v;
}

}  // namespace cpx::exchange::test
