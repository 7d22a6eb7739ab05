#pragma once
// The input of the exchange's state machine. Every change to the exchange's state is a
// Request applied in sequence on one thread; the same sequence of requests (their
// ts_ns included) rebuilds the same state, which is what recovery by replay and the
// audit rely on. A Request is a plain value that travels through a lock-free queue;
// administration and queries, which are rare and carry variable-size data, point to a
// Payload owned by the caller.

#include <array>
#include <cstdint>
#include <type_traits>

#include "cpx/matching/instrument.hpp"
#include "cpx/matching/types.hpp"

namespace cpx::exchange {

using matching::AccountId;
using matching::InstrumentId;
using matching::OrderId;
using matching::Price;
using matching::Quantity;
using matching::Side;
using matching::Timestamp;

// A client's id for one of its commands: 1 to 32 printable ASCII bytes.
using ClientOrderId = matching::FixedText<32>;
inline constexpr std::size_t kClientOrderIdBytesMax = 32;

// SHA-256 of an API key. The exchange never sees or stores a key itself.
using KeyHash = std::array<std::uint8_t, 32>;

// A logged-on order-entry stream. 0 means "no session": a unary call.
using SessionId = std::uint64_t;

// Opaque to the exchange: names the call waiting for an answer, and comes back in it.
using Token = std::uint64_t;

struct Payload;

enum class RequestType : std::uint8_t {
    // Order entry, by an authenticated buyer or provider.
    NewOrder = 1,
    Cancel = 2,
    Replace = 3,
    MassCancel = 4,
    // Order-entry streams.
    Logon = 16,   // key_hash authenticates; the answer names a new session
    Logoff = 17,  // the stream ended; cancels its orders if it asked for that
    // Queries (change nothing).
    ListInstruments = 32,
    OpenOrders = 33,
    Fills = 34,
    Balances = 35,
    ListObligations = 36,  // delivery obligations not yet settled or failed
    ListVoucherPrograms = 37,
    ListVouchers = 38,
    VoucherReport = 39,
    // Administration, by an operator.
    AddInstrument = 48,
    SetTradingState = 49,
    CreateAccount = 50,
    CreateApiKey = 51,
    CreditDeposit = 52,
    SetAcceleratorTable = 53,
    RegisterCapacity = 54,
    CreditCollateral = 55,  // money into a provider's collateral (payload as CreditDeposit)
    // The first operator account (payload: account name, new_key_hash), on an exchange
    // with no account yet: the start of every journal.
    Bootstrap = 80,
    // Settlement (cpx/exchange/settlement.hpp), payload inputs: obligation_id and
    // delivered_quantity (ConfirmDelivery, by the provider), obligation_id and note
    // (DisputeDelivery, by the buyer), obligation_id, uphold and note (ResolveDispute, by
    // an operator), settlement_limit (RunSettlement, by an operator).
    ConfirmDelivery = 96,
    DisputeDelivery = 97,
    ResolveDispute = 98,
    RunSettlement = 99,
    // Vouchers (cpx/exchange/vouchers.hpp), by an operator. Payload inputs: program
    // (CreateVoucherProgram; a program's name is unique per issuer, and the same program
    // again answers the first with duplicate set), program_id, amount_fen and
    // voucher_ref, the funding reference (FundVoucherProgram, idempotent), program_id,
    // Request::account (the beneficiary), voucher_face_fen, voucher_expiry_ns and
    // voucher_ref (GrantVoucher), voucher_id (RevokeVoucher).
    CreateVoucherProgram = 112,
    FundVoucherProgram = 113,
    GrantVoucher = 114,
    RevokeVoucher = 115,
    // Advances time so that GTD orders expire and rate limits refill; no caller.
    Tick = 64,
};

// Queries read and change nothing; every other request changes the exchange's state and
// is what a journal must keep to rebuild it.
constexpr bool changes_state(RequestType type) {
    switch (type) {
        case RequestType::ListInstruments:
        case RequestType::OpenOrders:
        case RequestType::Fills:
        case RequestType::Balances:
        case RequestType::ListObligations:
        case RequestType::ListVoucherPrograms:
        case RequestType::ListVouchers:
        case RequestType::VoucherReport:
            return false;
        default:
            return true;
    }
}

// The commands an account sends about its orders: answered with execution reports, and
// named by a client order id that the exchange remembers.
constexpr bool is_order_command(RequestType type) {
    return type == RequestType::NewOrder || type == RequestType::Cancel ||
           type == RequestType::Replace || type == RequestType::MassCancel;
}

// What an operator does to an instrument's trading phase.
enum class StateAction : std::uint8_t {
    None = 0,
    Halt = 1,
    HaltAndCancel = 2,
    Resume = 3,
    StartAuction = 4,
    FreezeAuction = 5,
    EndAuction = 6,
    Close = 7,
    SetReference = 8,
};

struct Request {
    RequestType type = RequestType::Tick;
    Side side = Side::None;
    matching::OrderType order_type = matching::OrderType::Limit;
    matching::TimeInForce tif = matching::TimeInForce::GTC;
    std::uint8_t flags = 0;  // matching::kFlagPostOnly | matching::kFlagAllOrNone
    matching::SelfTradePrevention stp = matching::SelfTradePrevention::CancelIncoming;
    StateAction action = StateAction::None;
    bool cancel_on_disconnect = false;  // Logon
    // The client's id did not fit (over 32 bytes): refused as InvalidClientOrderId, with
    // the first 32 bytes echoed so that the client can tell which command it was.
    bool client_order_id_too_long = false;
    InstrumentId instrument = 0;  // 0 with MassCancel: every instrument
    AccountId account = 0;        // the account a query or admin request names
    Token token = 0;
    Timestamp ts_ns = 0;  // set by the sequencer when it takes the request
    // When the gateway received the command (0: not from a client, or not stamped). The
    // exchange never reads it: it is journalled for the audit trail of an order's life.
    Timestamp received_ns = 0;
    SessionId session = 0;  // order entry on a stream; else the caller is key_hash
    KeyHash key_hash{};
    OrderId order_id = 0;  // the order a cancel or replace names (or orig_client_order_id)
    Price price = 0;       // limit, protection limit, new price, reference price
    Quantity quantity = 0;
    Quantity min_quantity = 0;
    Timestamp expiry_ns = 0;
    std::uint64_t resume_after_seq = 0;  // Logon
    ClientOrderId client_order_id;
    ClientOrderId orig_client_order_id;
    Payload* payload = nullptr;  // queries and administration
};

static_assert(std::is_trivially_copyable_v<Request>);

}  // namespace cpx::exchange
