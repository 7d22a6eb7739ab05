#include "cpx/gateway/convert.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace cpx::gateway {

using exchange::Code;
using exchange::Outbound;

namespace {

bool to_client_id(const std::string& in, exchange::ClientOrderId& out, std::string& error) {
    // Ids are kept NUL-padded: a NUL inside one would cut it short into another, valid
    // id ("ab\0cd" into "ab", a duplicate of "ab"). Refused, and echoed as nothing.
    if (in.find('\0') != std::string::npos) {
        error = "client_order_id contains a NUL byte";
        return false;
    }
    // A refused id longer than 32 bytes is echoed by its first 32, so that the client
    // can tell which command the refusal answers.
    out = exchange::ClientOrderId::from(in);
    if (in.size() > exchange::kClientOrderIdBytesMax) {
        error = "client_order_id is longer than 32 bytes";
        return false;
    }
    return true;
}

matching::Side from_proto(cpx::v1::Side side) {
    switch (side) {
        case cpx::v1::SIDE_BUY:
            return matching::Side::Buy;
        case cpx::v1::SIDE_SELL:
            return matching::Side::Sell;
        default:
            return matching::Side::None;
    }
}

cpx::v1::OrderStatus to_proto(exchange::OrderStatus status) {
    switch (status) {
        case exchange::OrderStatus::New:
            return cpx::v1::ORDER_STATUS_NEW;
        case exchange::OrderStatus::PartiallyFilled:
            return cpx::v1::ORDER_STATUS_PARTIALLY_FILLED;
        case exchange::OrderStatus::Filled:
            return cpx::v1::ORDER_STATUS_FILLED;
        case exchange::OrderStatus::Cancelled:
            return cpx::v1::ORDER_STATUS_CANCELLED;
        case exchange::OrderStatus::Rejected:
            return cpx::v1::ORDER_STATUS_REJECTED;
        case exchange::OrderStatus::Expired:
            return cpx::v1::ORDER_STATUS_EXPIRED;
        case exchange::OrderStatus::None:
            break;
    }
    return cpx::v1::ORDER_STATUS_UNSPECIFIED;
}

cpx::v1::ExecType to_proto(exchange::ExecType exec) {
    switch (exec) {
        case exchange::ExecType::New:
            return cpx::v1::EXEC_TYPE_NEW;
        case exchange::ExecType::Trade:
            return cpx::v1::EXEC_TYPE_TRADE;
        case exchange::ExecType::Cancelled:
            return cpx::v1::EXEC_TYPE_CANCELLED;
        case exchange::ExecType::Replaced:
            return cpx::v1::EXEC_TYPE_REPLACED;
        case exchange::ExecType::Rejected:
            return cpx::v1::EXEC_TYPE_REJECTED;
        case exchange::ExecType::Expired:
            return cpx::v1::EXEC_TYPE_EXPIRED;
        case exchange::ExecType::None:
            break;
    }
    return cpx::v1::EXEC_TYPE_UNSPECIFIED;
}

// An enum value outside the engine's range reaches it as such and is refused there.
constexpr std::uint8_t kInvalidEnum = 0xFF;

// The exchange's bound on accelerator model names (its accelerator table's rule).
constexpr std::size_t kAcceleratorModelBytesMax = 64;
// An instrument's hub is a fixed field of 16 bytes: a longer hub matches no instrument.
constexpr std::size_t kHubBytesMax = 16;

}  // namespace

cpx::v1::Side to_proto(matching::Side side) {
    switch (side) {
        case matching::Side::Buy:
            return cpx::v1::SIDE_BUY;
        case matching::Side::Sell:
            return cpx::v1::SIDE_SELL;
        case matching::Side::None:
            break;
    }
    return cpx::v1::SIDE_UNSPECIFIED;
}

cpx::v1::TradingState to_proto(matching::TradingState state) {
    return static_cast<cpx::v1::TradingState>(static_cast<int>(state));
}

cpx::v1::Role to_proto(exchange::Role role) {
    switch (role) {
        case exchange::Role::Provider:
            return cpx::v1::ROLE_PROVIDER;
        case exchange::Role::Buyer:
            return cpx::v1::ROLE_BUYER;
        case exchange::Role::Operator:
            return cpx::v1::ROLE_OPERATOR;
        case exchange::Role::Regulator:
            return cpx::v1::ROLE_REGULATOR;
        case exchange::Role::Issuer:
            return cpx::v1::ROLE_ISSUER;
        case exchange::Role::None:
            break;
    }
    return cpx::v1::ROLE_UNSPECIFIED;
}

exchange::Role from_proto(cpx::v1::Role role) {
    // Every other value, UNSPECIFIED included, reaches the exchange as None and is
    // refused there as an invalid account.
    switch (role) {
        case cpx::v1::ROLE_PROVIDER:
            return exchange::Role::Provider;
        case cpx::v1::ROLE_BUYER:
            return exchange::Role::Buyer;
        case cpx::v1::ROLE_OPERATOR:
            return exchange::Role::Operator;
        case cpx::v1::ROLE_REGULATOR:
            return exchange::Role::Regulator;
        case cpx::v1::ROLE_ISSUER:
            return exchange::Role::Issuer;
        default:
            return exchange::Role::None;
    }
}

cpx::v1::InstrumentKind to_proto(matching::InstrumentKind kind) {
    return kind == matching::InstrumentKind::TokenBundle ? cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE
                                                         : cpx::v1::INSTRUMENT_KIND_COMPUTE;
}

bool to_request(const cpx::v1::NewOrder& in, exchange::Request& out, std::string& error) {
    out.type = exchange::RequestType::NewOrder;
    if (!to_client_id(in.client_order_id(), out.client_order_id, error)) {
        return false;
    }
    out.instrument = in.instrument_id();
    out.side = from_proto(in.side());
    switch (in.order_type()) {
        case cpx::v1::ORDER_TYPE_LIMIT:
            out.order_type = matching::OrderType::Limit;
            break;
        case cpx::v1::ORDER_TYPE_MARKET:
            out.order_type = matching::OrderType::Market;
            break;
        default:
            out.order_type = static_cast<matching::OrderType>(kInvalidEnum);
    }
    switch (in.time_in_force()) {
        case cpx::v1::TIME_IN_FORCE_UNSPECIFIED:
            out.tif = out.order_type == matching::OrderType::Market ? matching::TimeInForce::IOC
                                                                    : matching::TimeInForce::GTC;
            break;
        case cpx::v1::TIME_IN_FORCE_GTC:
            out.tif = matching::TimeInForce::GTC;
            break;
        case cpx::v1::TIME_IN_FORCE_GTD:
            out.tif = matching::TimeInForce::GTD;
            break;
        case cpx::v1::TIME_IN_FORCE_IOC:
            out.tif = matching::TimeInForce::IOC;
            break;
        case cpx::v1::TIME_IN_FORCE_FOK:
            out.tif = matching::TimeInForce::FOK;
            break;
        default:
            out.tif = static_cast<matching::TimeInForce>(kInvalidEnum);
    }
    switch (in.self_trade_prevention()) {
        case cpx::v1::SELF_TRADE_PREVENTION_UNSPECIFIED:
        case cpx::v1::SELF_TRADE_PREVENTION_CANCEL_INCOMING:
            out.stp = matching::SelfTradePrevention::CancelIncoming;
            break;
        case cpx::v1::SELF_TRADE_PREVENTION_CANCEL_RESTING:
            out.stp = matching::SelfTradePrevention::CancelResting;
            break;
        case cpx::v1::SELF_TRADE_PREVENTION_CANCEL_BOTH:
            out.stp = matching::SelfTradePrevention::CancelBoth;
            break;
        default:
            out.stp = static_cast<matching::SelfTradePrevention>(kInvalidEnum);
    }
    out.flags = static_cast<std::uint8_t>((in.post_only() ? matching::kFlagPostOnly : 0) |
                                          (in.all_or_none() ? matching::kFlagAllOrNone : 0));
    out.price = in.price_fen();
    out.quantity = in.quantity();
    out.min_quantity = in.min_quantity();
    out.expiry_ns = in.expiry_ns();
    return true;
}

bool to_request(const cpx::v1::CancelRequest& in, exchange::Request& out, std::string& error) {
    out.type = exchange::RequestType::Cancel;
    out.instrument = in.instrument_id();
    out.order_id = in.order_id();
    return to_client_id(in.client_order_id(), out.client_order_id, error) &&
           to_client_id(in.orig_client_order_id(), out.orig_client_order_id, error);
}

bool to_request(const cpx::v1::ReplaceRequest& in, exchange::Request& out, std::string& error) {
    out.type = exchange::RequestType::Replace;
    out.instrument = in.instrument_id();
    out.order_id = in.order_id();
    out.price = in.price_fen();
    out.quantity = in.quantity();
    return to_client_id(in.client_order_id(), out.client_order_id, error) &&
           to_client_id(in.orig_client_order_id(), out.orig_client_order_id, error);
}

bool to_request(const cpx::v1::MassCancelRequest& in, exchange::Request& out, std::string& error) {
    out.type = exchange::RequestType::MassCancel;
    out.instrument = in.instrument_id();
    return to_client_id(in.client_order_id(), out.client_order_id, error);
}

void to_proto(const Outbound& h, const Outbound* fills, std::size_t fill_count,
              cpx::v1::ExecutionReport& out) {
    out.set_session_seq(h.seq);
    out.set_client_order_id(h.client_order_id.view().data(), h.client_order_id.view().size());
    out.set_order_id(h.order_id);
    out.set_instrument_id(h.instrument);
    out.set_side(to_proto(h.side));
    out.set_exec_type(to_proto(h.exec));
    out.set_status(to_proto(h.status));
    out.set_price_fen(h.price);
    out.set_quantity(h.quantity);
    out.set_leaves_quantity(h.leaves);
    out.set_filled_quantity(h.filled);
    out.set_ts_ns(h.ts_ns);
    out.set_duplicate(h.duplicate);
    if (h.code != Code::None) {
        // Set from the view, not through a temporary string: the reused report keeps
        // its string's memory.
        const std::string_view reason = exchange::code_name(h.code);
        out.set_reason(reason.data(), reason.size());
        out.set_status_code(static_cast<int>(exchange::status_of(h.code)));
    }
    for (std::size_t i = 0; i < fill_count; ++i) {
        cpx::v1::Fill* f = out.add_fills();
        f->set_trade_id(fills[i].trade_id);
        f->set_price_fen(fills[i].price);
        f->set_quantity(fills[i].quantity);
        f->set_aggressor(fills[i].aggressor);
        f->set_ts_ns(fills[i].ts_ns);
    }
}

void to_proto(const Outbound& h, cpx::v1::MassCancelReport& out) {
    out.set_session_seq(h.seq);
    out.set_client_order_id(h.client_order_id.view().data(), h.client_order_id.view().size());
    out.set_instrument_id(h.instrument);
    out.set_cancelled_count(static_cast<std::uint32_t>(h.quantity));
    if (h.code != Code::None) {
        const std::string_view reason = exchange::code_name(h.code);
        out.set_reason(reason.data(), reason.size());
    }
}

void to_proto(const exchange::InstrumentView& in, cpx::v1::Instrument& out) {
    const matching::InstrumentSpec& s = in.spec;
    out.set_instrument_id(s.id);
    out.set_symbol(std::string(s.symbol.view()));
    out.set_kind(to_proto(s.kind));
    out.set_hub(std::string(s.hub.view()));
    out.set_unit(std::string(s.unit.view()));
    out.set_window_start_ns(s.window_start_ns);
    out.set_window_end_ns(s.window_end_ns);
    out.set_tick_size_fen(s.tick_size);
    out.set_lot_size(s.lot_size);
    out.set_quantity_min(s.quantity_min);
    out.set_quantity_max(s.quantity_max);
    out.set_price_min_fen(s.price_min);
    out.set_price_max_fen(s.price_max);
    out.set_band_bps(s.band_bps);
    out.set_reference_price_fen(in.reference_price);
    out.set_market_protection_ticks(s.market_protection_ticks);
    out.set_state(to_proto(in.state));
    out.set_accelerator_model(in.accelerator_model);
}

bool from_proto(const cpx::v1::Instrument& in, matching::InstrumentSpec& out, std::string& error) {
    if (in.symbol().size() > 32 || in.hub().size() > 16 || in.unit().size() > 16) {
        error = "symbol (32 bytes), hub (16) or unit (16) too long";
        return false;
    }
    if (!in.accelerator_model().empty() &&
        !printable_text(in.accelerator_model(), kAcceleratorModelBytesMax)) {
        error = "accelerator_model: at most 64 printable ASCII characters";
        return false;
    }
    if (in.kind() != cpx::v1::INSTRUMENT_KIND_COMPUTE &&
        in.kind() != cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE) {
        error = "kind must be INSTRUMENT_KIND_COMPUTE or INSTRUMENT_KIND_TOKEN_BUNDLE";
        return false;
    }
    if (in.state() < cpx::v1::TRADING_STATE_CLOSED || in.state() > cpx::v1::TRADING_STATE_HALTED) {
        error = "unknown trading state";
        return false;
    }
    out.id = in.instrument_id();
    out.symbol = matching::FixedText<32>::from(in.symbol());
    out.kind = in.kind() == cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE
                   ? matching::InstrumentKind::TokenBundle
                   : matching::InstrumentKind::ComputeCapacity;
    out.hub = matching::FixedText<16>::from(in.hub());
    out.unit = matching::FixedText<16>::from(in.unit());
    out.window_start_ns = in.window_start_ns();
    out.window_end_ns = in.window_end_ns();
    out.tick_size = in.tick_size_fen();
    out.lot_size = in.lot_size();
    out.quantity_min = in.quantity_min();
    out.quantity_max = in.quantity_max();
    out.price_min = in.price_min_fen();
    out.price_max = in.price_max_fen();
    out.band_bps = in.band_bps();
    out.reference_price = in.reference_price_fen();
    out.market_protection_ticks = in.market_protection_ticks();
    out.initial_state = static_cast<matching::TradingState>(in.state());
    return true;
}

void to_proto(const exchange::AccountSpec& in, cpx::v1::Account& out) {
    out.set_account_id(in.id);
    out.set_name(in.name);
    out.set_role(to_proto(in.role));
    out.set_owner_group(in.owner_group);
    out.set_order_quantity_max(in.order_quantity_max);
    out.set_order_notional_max_fen(in.order_notional_max_fen);
    out.set_orders_per_second_max(in.orders_per_second_max);
}

void from_proto(const cpx::v1::Account& in, exchange::AccountSpec& out) {
    out.name = in.name();
    out.role = from_proto(in.role());
    out.owner_group = in.owner_group();
    out.order_quantity_max = in.order_quantity_max();
    out.order_notional_max_fen = in.order_notional_max_fen();
    out.orders_per_second_max = in.orders_per_second_max();
}

void to_proto(const exchange::BalanceView& in, cpx::v1::BalancesResponse& out) {
    out.set_account_id(in.account);
    out.set_role(to_proto(in.role));
    out.set_balance_fen(in.balance_fen);
    out.set_reserved_fen(in.reserved_fen);
    out.set_available_fen(in.available_fen);
    out.set_unsettled_fen(in.unsettled_fen);
    out.set_collateral_fen(in.collateral_fen);
    out.set_voucher_fen(in.voucher_fen);
    for (const exchange::CapacityView& c : in.capacity) {
        cpx::v1::CapacityPosition* p = out.add_capacity();
        p->set_hub(c.hub);
        p->set_kind(to_proto(c.kind));
        p->set_window_start_ns(c.window_start_ns);
        p->set_window_end_ns(c.window_end_ns);
        p->set_registered(c.registered);
        p->set_offered(c.offered);
        p->set_sold(c.sold);
    }
}

cpx::v1::ObligationState to_proto(exchange::ObligationState state) {
    switch (state) {
        case exchange::ObligationState::Open:
            return cpx::v1::OBLIGATION_STATE_OPEN;
        case exchange::ObligationState::Delivered:
            return cpx::v1::OBLIGATION_STATE_DELIVERED;
        case exchange::ObligationState::Disputed:
            return cpx::v1::OBLIGATION_STATE_DISPUTED;
        case exchange::ObligationState::Settled:
            return cpx::v1::OBLIGATION_STATE_SETTLED;
        case exchange::ObligationState::Failed:
            return cpx::v1::OBLIGATION_STATE_FAILED;
    }
    return cpx::v1::OBLIGATION_STATE_UNSPECIFIED;
}

void to_proto(const exchange::Obligation& in, cpx::v1::Obligation& out) {
    out.set_obligation_id(in.id);
    out.set_instrument_id(in.instrument);
    out.set_state(to_proto(in.state));
    out.set_buyer_account_id(in.buyer);
    out.set_provider_account_id(in.provider);
    out.set_buy_order_id(in.buy_order);
    out.set_sell_order_id(in.sell_order);
    out.set_price_fen(in.price);
    out.set_quantity(in.quantity);
    out.set_delivered_quantity(in.delivered_quantity);
    out.set_amount_fen(in.amount_fen);
    out.set_traded_ns(in.traded_ns);
    out.set_window_end_ns(in.window_end_ns);
    out.set_delivered_ns(in.delivered_ns);
    out.set_due_ns(in.due_ns);
    out.set_created_seq(in.created_seq);
}

bool printable_text(std::string_view text, std::size_t bytes_max) {
    return !text.empty() && text.size() <= bytes_max &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

cpx::v1::VoucherState to_proto(exchange::VoucherState state) {
    switch (state) {
        case exchange::VoucherState::Active:
            return cpx::v1::VOUCHER_STATE_ACTIVE;
        case exchange::VoucherState::UsedUp:
            return cpx::v1::VOUCHER_STATE_USED_UP;
        case exchange::VoucherState::Expired:
            return cpx::v1::VOUCHER_STATE_EXPIRED;
        case exchange::VoucherState::Revoked:
            return cpx::v1::VOUCHER_STATE_REVOKED;
    }
    return cpx::v1::VOUCHER_STATE_UNSPECIFIED;
}

void to_proto(const exchange::VoucherProgramView& in, cpx::v1::VoucherProgram& out) {
    const exchange::VoucherProgramSpec& s = in.spec;
    cpx::v1::VoucherProgramSpec* spec = out.mutable_spec();
    spec->set_program_id(s.id);
    spec->set_issuer_account_id(s.issuer);
    spec->set_name(s.name);
    spec->set_budget_fen(s.budget_fen);
    spec->set_share_bps(s.share_bps);
    spec->set_mode(s.mode == exchange::VoucherMode::Rebate ? cpx::v1::VOUCHER_MODE_REBATE
                                                           : cpx::v1::VOUCHER_MODE_DISCOUNT);
    spec->set_side(s.side == exchange::VoucherSide::Provider ? cpx::v1::VOUCHER_SIDE_PROVIDER
                                                             : cpx::v1::VOUCHER_SIDE_BUYER);
    spec->set_cap_per_beneficiary_fen(s.cap_per_beneficiary_fen);
    spec->set_cap_period_ns(s.cap_period_ns);
    spec->set_pool_cap_fen(s.pool_cap_fen);
    // The kinds are listed as they are, even when they are all of them, so that a reader
    // never has to know what an empty list stands for.
    if ((s.kinds & exchange::voucher_kinds::compute) != 0) {
        spec->add_kinds(cpx::v1::INSTRUMENT_KIND_COMPUTE);
    }
    if ((s.kinds & exchange::voucher_kinds::tokens) != 0) {
        spec->add_kinds(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
    }
    for (const std::string& hub : s.hubs) {
        spec->add_hubs(hub);
    }
    for (const std::string& model : s.accelerator_models) {
        spec->add_accelerator_models(model);
    }
    spec->set_domestic_only(s.domestic_only);
    for (const matching::AccountId provider : s.approved_providers) {
        spec->add_approved_provider_ids(provider);
    }
    spec->set_allow_affiliated(s.allow_affiliated);
    spec->set_allow_both_sides(s.allow_both_sides);
    spec->set_valid_from_ns(s.valid_from_ns);
    spec->set_valid_until_ns(s.valid_until_ns);
    out.set_funded_fen(in.funded_fen);
    out.set_budget_fen(in.budget_fen);
    out.set_granted_fen(in.granted_fen);
    out.set_revoked_fen(in.revoked_fen);
    out.set_redeemed_fen(in.redeemed_fen);
    out.set_vouchers(in.vouchers);
    out.set_redemptions(in.redemptions);
    out.set_created_ns(in.created_ns);
    out.set_held_fen(in.held_fen);
}

void to_proto(const exchange::VoucherView& in, cpx::v1::Voucher& out) {
    const exchange::Voucher& v = in.voucher;
    out.set_voucher_id(v.id);
    out.set_program_id(v.program);
    out.set_beneficiary_account_id(v.beneficiary);
    out.set_face_fen(v.face_fen);
    out.set_redeemed_fen(v.redeemed_fen);
    out.set_revoked_fen(v.revoked_fen);
    out.set_balance_fen(v.balance_fen());
    out.set_granted_ns(v.granted_ns);
    out.set_expiry_ns(v.expiry_ns);
    out.set_revoked_ns(v.revoked_ns);
    out.set_granted_seq(v.granted_seq);
    out.set_state(to_proto(in.state));
    out.set_grant_ref(in.ref);
    out.set_held_fen(v.held_fen);
}

void to_proto(const exchange::VoucherReportRow& in, cpx::v1::VoucherReportRow& out) {
    out.set_program_id(in.program);
    out.set_key(in.key);
    out.set_period_start_ns(in.period_start_ns);
    out.set_redeemed_fen(in.redeemed_fen);
    out.set_redemptions(in.redemptions);
}

bool from_proto(const cpx::v1::VoucherProgramSpec& in, exchange::VoucherProgramSpec& out,
                std::string& error) {
    const auto fail = [&error](std::string message) {
        error = std::move(message);
        return false;
    };
    if (in.issuer_account_id() == 0) {
        return fail("issuer_account_id is required");
    }
    if (!printable_text(in.name(), exchange::kVoucherNameBytesMax)) {
        return fail("name: 1 to 64 printable ASCII characters");
    }
    if (in.budget_fen() < 0 || in.cap_per_beneficiary_fen() < 0 || in.pool_cap_fen() < 0) {
        return fail("budget_fen, cap_per_beneficiary_fen and pool_cap_fen cannot be negative");
    }
    if (in.cap_period_ns() < 0) {
        return fail("cap_period_ns cannot be negative");
    }
    if (in.share_bps() < 1 || in.share_bps() > 10'000) {
        return fail("share_bps must be 1 to 10000");
    }
    if (in.mode() != cpx::v1::VOUCHER_MODE_DISCOUNT && in.mode() != cpx::v1::VOUCHER_MODE_REBATE) {
        return fail("mode must be VOUCHER_MODE_DISCOUNT or VOUCHER_MODE_REBATE");
    }
    if (in.side() != cpx::v1::VOUCHER_SIDE_BUYER && in.side() != cpx::v1::VOUCHER_SIDE_PROVIDER) {
        return fail("side must be VOUCHER_SIDE_BUYER or VOUCHER_SIDE_PROVIDER");
    }
    std::uint8_t kinds = 0;
    for (const int kind : in.kinds()) {
        if (kind == cpx::v1::INSTRUMENT_KIND_COMPUTE) {
            kinds |= exchange::voucher_kinds::compute;
        } else if (kind == cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE) {
            kinds |= exchange::voucher_kinds::tokens;
        } else {
            return fail("kinds: INSTRUMENT_KIND_COMPUTE or INSTRUMENT_KIND_TOKEN_BUNDLE");
        }
    }
    if (static_cast<std::size_t>(in.hubs_size()) > exchange::kVoucherListMax ||
        static_cast<std::size_t>(in.accelerator_models_size()) > exchange::kVoucherListMax) {
        return fail("hubs and accelerator_models: at most 64 each");
    }
    for (const std::string& hub : in.hubs()) {
        if (!printable_text(hub, kHubBytesMax)) {
            return fail("hubs: each 1 to 16 printable ASCII characters");
        }
    }
    for (const std::string& model : in.accelerator_models()) {
        if (!printable_text(model, kAcceleratorModelBytesMax)) {
            return fail("accelerator_models: each 1 to 64 printable ASCII characters");
        }
    }
    if (static_cast<std::size_t>(in.approved_provider_ids_size()) >
        exchange::kApprovedProvidersMax) {
        return fail("approved_provider_ids: at most 1024");
    }
    for (const std::uint32_t provider : in.approved_provider_ids()) {
        if (provider == 0) {
            return fail("approved_provider_ids: 0 is no account");
        }
    }
    if (in.valid_from_ns() < 0 || in.valid_until_ns() <= in.valid_from_ns()) {
        return fail("valid_until_ns must be after valid_from_ns, which cannot be negative");
    }
    out.id = 0;
    out.issuer = in.issuer_account_id();
    out.name = in.name();
    out.budget_fen = in.budget_fen();
    out.share_bps = in.share_bps();
    out.mode = in.mode() == cpx::v1::VOUCHER_MODE_REBATE ? exchange::VoucherMode::Rebate
                                                         : exchange::VoucherMode::Discount;
    out.side = in.side() == cpx::v1::VOUCHER_SIDE_PROVIDER ? exchange::VoucherSide::Provider
                                                           : exchange::VoucherSide::Buyer;
    out.cap_per_beneficiary_fen = in.cap_per_beneficiary_fen();
    out.cap_period_ns = in.cap_period_ns();
    out.pool_cap_fen = in.pool_cap_fen();
    // An empty list is every kind, as an empty hub or model list is any hub or model.
    out.kinds = kinds == 0 ? exchange::voucher_kinds::all : kinds;
    out.hubs.assign(in.hubs().begin(), in.hubs().end());
    out.accelerator_models.assign(in.accelerator_models().begin(), in.accelerator_models().end());
    out.domestic_only = in.domestic_only();
    out.approved_providers.assign(in.approved_provider_ids().begin(),
                                  in.approved_provider_ids().end());
    out.allow_affiliated = in.allow_affiliated();
    // Unset keeps the exchange's default (both sides may be paid).
    out.allow_both_sides = in.has_allow_both_sides() ? in.allow_both_sides() : true;
    out.valid_from_ns = in.valid_from_ns();
    out.valid_until_ns = in.valid_until_ns();
    return true;
}

grpc::Status rich_status(grpc::StatusCode code, std::string_view reason, std::string_view message) {
    google::rpc::ErrorInfo info;
    info.set_reason(std::string(reason));
    info.set_domain("cpx.exchange");
    google::rpc::Status status;
    status.set_code(static_cast<int>(code));
    status.set_message(std::string(message));
    status.add_details()->PackFrom(info);
    return grpc::Status(code, std::string(message), status.SerializeAsString());
}

grpc::Status error_status(Code code, std::string_view message) {
    const auto grpc_code =
        static_cast<grpc::StatusCode>(static_cast<int>(exchange::status_of(code)));
    std::string text(message);
    if (text.empty()) {
        text = std::string(exchange::code_name(code));
    }
    return rich_status(grpc_code == grpc::StatusCode::OK ? grpc::StatusCode::INTERNAL : grpc_code,
                       exchange::code_name(code), text);
}

grpc::Status invalid_argument(std::string_view reason, std::string_view message) {
    return rich_status(grpc::StatusCode::INVALID_ARGUMENT, reason, message);
}

grpc::Status queue_full() {
    return rich_status(grpc::StatusCode::RESOURCE_EXHAUSTED, "QUEUE_FULL",
                       "the exchange's request queue is full; retry");
}

}  // namespace cpx::gateway
