#pragma once
// Why the exchange refused something, as a stable code with a machine-readable name,
// and the gRPC status code each refusal travels with. The codes of the matching engine
// (cpx::matching::Reason, 0-255) keep their numbers; the exchange's own refusals
// (authentication, roles, pre-trade risk, idempotency) are numbered from 256. A value
// is never reused or renumbered: clients and journals store them.

#include <cstdint>
#include <string_view>

#include "cpx/matching/reason.hpp"

namespace cpx::exchange {

// The numeric values of gRPC's status codes, so that this library states the code of
// every refusal without depending on gRPC.
enum class StatusCode : std::uint8_t {
    Ok = 0,
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Internal = 13,
    Unauthenticated = 16,
};

enum class Code : std::uint16_t {
    None = 0,
    // 1-255: cpx::matching::Reason, same numbers.
    Unauthenticated = 256,  // no API key, or one the exchange does not know
    RoleNotAllowed = 257,   // the account's role may not do this
    NotOwnAccount = 258,    // names another account's data
    UnknownAccount = 259,
    InvalidClientOrderId = 260,  // empty, longer than 32 bytes or not printable ASCII
    InsufficientFunds = 261,     // a buy would commit more than the available balance
    InsufficientCapacity = 262,  // a sell exceeds the capacity registered for it
    QuantityAboveAccountLimit = 263,
    NotionalAboveAccountLimit = 264,
    RateLimited = 265,
    InvalidAmount = 266,
    InvalidAccount = 267,     // a create-account request that is not usable
    InvalidInstrument = 268,  // an instrument spec that is not usable
    UnknownAcceleratorModel = 269,
    InvalidCapacity = 270,
    InvalidAcceleratorTable = 271,
    UnknownSession = 272,
    Overflow = 273,            // an amount that would overflow 63 bits
    DuplicateDepositId = 274,  // same id, different account or amount
    SessionLimitReached = 275,
    OrderLimitReached = 276,  // the exchange's table of live orders is full
    // Settlement.
    UnknownObligation = 277,       // no obligation has this id, or it is not the caller's
    ObligationNotOpen = 278,       // the obligation's state does not allow this step
    DisputePeriodOver = 279,       // the step came at or after the obligation's due time
    InvalidDelivery = 280,         // delivered quantity not in 1..the obligation's quantity
    ObligationLimitReached = 281,  // the exchange's table of open obligations is full
    InvalidNote = 282,             // a dispute note over 256 bytes or not printable
    // Vouchers: refusals of requests.
    UnknownVoucherProgram = 283,  // no program has this id, or the caller may not see it
    InvalidVoucherProgram = 284,  // a program spec that is not usable
    UnknownVoucher = 285,         // no voucher has this id, or the caller may not see it
    // Face value not positive, expiry not in the future, bad ref, or a beneficiary of the
    // side the program does not pay.
    InvalidVoucher = 286,
    // A grant or funding reference, or a program's name, reused for something different.
    DuplicateVoucherRef = 287,
    VoucherLimitReached = 288,  // too many programs, vouchers, or vouchers of one account
    // Revoking a voucher that is revoked, expired or used up; in a redemption's refusal,
    // the voucher was revoked.
    VoucherNotActive = 289,
    // Vouchers: why a redemption was refused (in VoucherEvent::reason; the deal settles
    // without the voucher). In the order the stages are checked.
    OutsideProgramPeriod = 290,    // the deal was traded outside the program's validity
    KindNotEligible = 291,         // the instrument's kind is not eligible
    HubNotEligible = 292,          // the instrument's hub is not eligible
    AcceleratorNotEligible = 293,  // the instrument's accelerator model is not eligible
    NotDomesticChip = 294,         // the program pays for domestic chips only
    ProviderNotApproved = 295,     // the provider is not on the program's supplier list
    AffiliatedParties = 296,       // buyer and provider share a beneficial owner group
    BothSidesClaimed = 297,        // the other side was already paid for this deal
    NotFullyDelivered = 298,       // a rebate pays only for a wholly delivered deal
    VoucherExpired = 299,
    VoucherUsedUp = 300,          // the voucher's balance is 0
    BeneficiaryCapReached = 301,  // the beneficiary's cap for the period is used
    PoolCapReached = 302,         // the program's pool cap is used
    BudgetExhausted = 303,        // the program's budget account is empty
};

constexpr Code from_engine(matching::Reason reason) {
    return static_cast<Code>(static_cast<std::uint16_t>(reason));
}

// True for the codes of the matching engine.
constexpr bool is_engine_code(Code code) {
    return static_cast<std::uint16_t>(code) < 256;
}

// A stable name such as "PRICE_OUTSIDE_BAND" or "INSUFFICIENT_FUNDS".
std::string_view code_name(Code code);

// The gRPC status a refusal with this code is answered with. Ok for None and for the
// reasons an order left the book (they are not refusals).
StatusCode status_of(Code code);

}  // namespace cpx::exchange
