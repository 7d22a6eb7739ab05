#include "cpx/exchange/status.hpp"

namespace cpx::exchange {

std::string_view code_name(Code code) {
    if (is_engine_code(code)) {
        return matching::reason_name(static_cast<matching::Reason>(code));
    }
    switch (code) {
        case Code::None:
            return "NONE";
        case Code::Unauthenticated:
            return "UNAUTHENTICATED";
        case Code::RoleNotAllowed:
            return "ROLE_NOT_ALLOWED";
        case Code::NotOwnAccount:
            return "NOT_OWN_ACCOUNT";
        case Code::UnknownAccount:
            return "UNKNOWN_ACCOUNT";
        case Code::InvalidClientOrderId:
            return "INVALID_CLIENT_ORDER_ID";
        case Code::InsufficientFunds:
            return "INSUFFICIENT_FUNDS";
        case Code::InsufficientCapacity:
            return "INSUFFICIENT_CAPACITY";
        case Code::QuantityAboveAccountLimit:
            return "QUANTITY_ABOVE_ACCOUNT_LIMIT";
        case Code::NotionalAboveAccountLimit:
            return "NOTIONAL_ABOVE_ACCOUNT_LIMIT";
        case Code::RateLimited:
            return "RATE_LIMITED";
        case Code::InvalidAmount:
            return "INVALID_AMOUNT";
        case Code::InvalidAccount:
            return "INVALID_ACCOUNT";
        case Code::InvalidInstrument:
            return "INVALID_INSTRUMENT";
        case Code::UnknownAcceleratorModel:
            return "UNKNOWN_ACCELERATOR_MODEL";
        case Code::InvalidCapacity:
            return "INVALID_CAPACITY";
        case Code::InvalidAcceleratorTable:
            return "INVALID_ACCELERATOR_TABLE";
        case Code::UnknownSession:
            return "UNKNOWN_SESSION";
        case Code::Overflow:
            return "OVERFLOW";
        case Code::DuplicateDepositId:
            return "DUPLICATE_DEPOSIT_ID";
        case Code::SessionLimitReached:
            return "SESSION_LIMIT_REACHED";
        case Code::OrderLimitReached:
            return "ORDER_LIMIT_REACHED";
        case Code::UnknownObligation:
            return "UNKNOWN_OBLIGATION";
        case Code::ObligationNotOpen:
            return "OBLIGATION_NOT_OPEN";
        case Code::DisputePeriodOver:
            return "DISPUTE_PERIOD_OVER";
        case Code::InvalidDelivery:
            return "INVALID_DELIVERY";
        case Code::ObligationLimitReached:
            return "OBLIGATION_LIMIT_REACHED";
        case Code::InvalidNote:
            return "INVALID_NOTE";
        case Code::UnknownVoucherProgram:
            return "UNKNOWN_VOUCHER_PROGRAM";
        case Code::InvalidVoucherProgram:
            return "INVALID_VOUCHER_PROGRAM";
        case Code::UnknownVoucher:
            return "UNKNOWN_VOUCHER";
        case Code::InvalidVoucher:
            return "INVALID_VOUCHER";
        case Code::DuplicateVoucherRef:
            return "DUPLICATE_VOUCHER_REF";
        case Code::VoucherLimitReached:
            return "VOUCHER_LIMIT_REACHED";
        case Code::VoucherNotActive:
            return "VOUCHER_NOT_ACTIVE";
        case Code::OutsideProgramPeriod:
            return "OUTSIDE_PROGRAM_PERIOD";
        case Code::KindNotEligible:
            return "KIND_NOT_ELIGIBLE";
        case Code::HubNotEligible:
            return "HUB_NOT_ELIGIBLE";
        case Code::AcceleratorNotEligible:
            return "ACCELERATOR_NOT_ELIGIBLE";
        case Code::NotDomesticChip:
            return "NOT_DOMESTIC_CHIP";
        case Code::ProviderNotApproved:
            return "PROVIDER_NOT_APPROVED";
        case Code::AffiliatedParties:
            return "AFFILIATED_PARTIES";
        case Code::BothSidesClaimed:
            return "BOTH_SIDES_CLAIMED";
        case Code::NotFullyDelivered:
            return "NOT_FULLY_DELIVERED";
        case Code::VoucherExpired:
            return "VOUCHER_EXPIRED";
        case Code::VoucherUsedUp:
            return "VOUCHER_USED_UP";
        case Code::BeneficiaryCapReached:
            return "BENEFICIARY_CAP_REACHED";
        case Code::PoolCapReached:
            return "POOL_CAP_REACHED";
        case Code::BudgetExhausted:
            return "BUDGET_EXHAUSTED";
    }
    return "UNKNOWN_CODE";
}

StatusCode status_of(Code code) {
    using matching::Reason;
    if (is_engine_code(code)) {
        const auto reason = static_cast<Reason>(code);
        if (static_cast<std::uint8_t>(reason) >=
            static_cast<std::uint8_t>(Reason::CancelledByUser)) {
            return StatusCode::Ok;
        }
        switch (reason) {
            case Reason::None:
                return StatusCode::Ok;
            case Reason::UnknownInstrument:
            case Reason::UnknownOrder:
                return StatusCode::NotFound;
            case Reason::DuplicateOrderId:
            case Reason::DuplicateInstrument:
                return StatusCode::AlreadyExists;
            case Reason::PriceOutsideBand:
            case Reason::InstrumentHalted:
            case Reason::InstrumentClosed:
            case Reason::NotAllowedInAuction:
            case Reason::CancelNotAllowedInNoCancelPhase:
            case Reason::PostOnlyWouldTrade:
            case Reason::InvalidStateTransition:
            case Reason::NoChange:
                return StatusCode::FailedPrecondition;
            case Reason::OrderCapacityExhausted:
                return StatusCode::ResourceExhausted;
            default:
                return StatusCode::InvalidArgument;
        }
    }
    switch (code) {
        case Code::Unauthenticated:
            return StatusCode::Unauthenticated;
        case Code::RoleNotAllowed:
        case Code::NotOwnAccount:
            return StatusCode::PermissionDenied;
        case Code::UnknownAccount:
        case Code::UnknownAcceleratorModel:
        case Code::UnknownSession:
        case Code::UnknownObligation:
        case Code::UnknownVoucherProgram:
        case Code::UnknownVoucher:
            return StatusCode::NotFound;
        case Code::InsufficientFunds:
        case Code::InsufficientCapacity:
        case Code::ObligationNotOpen:
        case Code::DisputePeriodOver:
        case Code::VoucherNotActive:
            return StatusCode::FailedPrecondition;
        case Code::RateLimited:
        case Code::SessionLimitReached:
        case Code::OrderLimitReached:
        case Code::ObligationLimitReached:
        case Code::VoucherLimitReached:
            return StatusCode::ResourceExhausted;
        case Code::DuplicateDepositId:
        case Code::DuplicateVoucherRef:
            return StatusCode::AlreadyExists;
        default:
            return StatusCode::InvalidArgument;
    }
}

}  // namespace cpx::exchange
