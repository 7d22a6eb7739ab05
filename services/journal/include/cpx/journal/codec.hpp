#pragma once
// The journal's encoding of a Request: every request that changes the exchange's state
// is stored as one row (seq, ts_ns, kind, body) and replayed on restart through a fresh
// Exchange, which must rebuild the same state. The row's kind is the RequestType value
// and its ts_ns the request's ts_ns; the body carries everything else the exchange reads.
// The token (which names a call that does not survive a restart) and the payload's
// outputs are not stored.
//
// Body, format version 1 (integers are LEB128 varints, minimal; signed ones zigzag):
//
//   u8      version = 1 (2 for AddInstrument, below), with kReceivedFlag (0x80) set
//           when the request carries the gateway's receipt time: 0x81 (0x82)
//   zigzag  only with kReceivedFlag: ts_ns - received_ns, the time the command waited
//           between the gateway and the sequencer (received_ns is never 0)
//   varint  field mask: which Request fields follow (bit i = Field i below); a field
//           whose value is its default (0, None, Limit, GTC, CancelIncoming) is absent
//   fields  in bit order:
//     0 side u8           5 client_order_id text   10 stp u8              15 action u8
//     1 instrument varint 6 key_hash 32 bytes      11 min_quantity zigzag 16 account varint
//     2 session varint    7 order_type u8          12 expiry_ns zigzag    17 resume_after_seq
//     3 price zigzag      8 tif u8                 13 order_id varint        varint
//     4 quantity zigzag   9 flags u8               14 orig_client_order_id text
//     18 cancel_on_disconnect and 19 client_order_id_too_long are the bit alone
//   payload inputs of the request's type (administration, settlement and Bootstrap
//   only):
//     AddInstrument      InstrumentSpec: id varint, symbol text, kind u8, hub text,
//                        unit text, window_start_ns, window_end_ns, tick_size, lot_size,
//                        quantity_min, quantity_max, price_min, price_max (zigzag),
//                        band_bps varint, reference_price zigzag,
//                        market_protection_ticks varint, initial_state u8, then (in
//                        rows of version 2, kAddInstrumentVersion) accelerator_model
//                        string; version 1 rows end at initial_state
//     CreateAccount      AccountSpec: name string, role u8, owner_group string,
//                        order_quantity_max zigzag, order_notional_max_fen zigzag,
//                        orders_per_second_max varint (the id is the exchange's output)
//     CreateApiKey       new_key_hash 32 bytes
//     CreditDeposit      amount_fen zigzag, deposit_id string
//     CreditCollateral   as CreditDeposit
//     SetAcceleratorTable  count varint, then per model: model string,
//                        milli_p_per_device zigzag, domestic u8 (0 or 1)
//     RegisterCapacity   kind u8, hub string, window_start_ns zigzag, window_end_ns
//                        zigzag, accelerator_model string, device_count varint,
//                        token_bundles zigzag, green_power_bps varint
//     Bootstrap          AccountSpec as CreateAccount, then new_key_hash 32 bytes
//     ConfirmDelivery    obligation_id varint, delivered_quantity zigzag
//     DisputeDelivery    obligation_id varint, note string
//     ResolveDispute     obligation_id varint, uphold u8 (0 or 1), note string
//     RunSettlement      settlement_limit varint
//     CreateVoucherProgram  VoucherProgramSpec: issuer varint, name string, budget_fen
//                        zigzag, share_bps varint, mode u8, side u8,
//                        cap_per_beneficiary_fen, cap_period_ns, pool_cap_fen (zigzag),
//                        kinds u8, hubs and accelerator_models (each a count varint then
//                        strings), domestic_only u8, approved_providers (count varint then
//                        varints), allow_affiliated u8, allow_both_sides u8,
//                        valid_from_ns zigzag, valid_until_ns zigzag
//     FundVoucherProgram program_id varint, amount_fen zigzag, voucher_ref string
//     GrantVoucher       program_id varint, voucher_face_fen zigzag, voucher_expiry_ns
//                        zigzag, voucher_ref string (the beneficiary is the header's
//                        account)
//     RevokeVoucher      voucher_id varint
//     SetTradingState    nothing (its inputs are Request fields), but it gets a Payload
//   A string is a varint length then its bytes; a text (FixedText) the same, without its
//   trailing NUL padding (at most the text's size).
//
// A new request type with its own payload encoding keeps the format version: rows of
// the types known before decode as they did, and a row of a type this build does not
// know is refused by its kind ("unknown kind"), never misread. The version changes only
// when the encoding of an existing type (or the header) changes, and only in the rows of
// that type: AddInstrument rows are version 2 since they carry the accelerator model;
// every other row is still version 1. The receipt time is a flag of the version byte
// instead: rows without it are byte for byte what they were, and a build from before it
// refuses a row with it ("unknown format version"), so a journal written since cannot be
// served by an older cpxd.
//
// Enums: a value the exchange does not define (for example the 0xFF the gateway passes
// for an order type it does not know, so that the engine refuses it in sequence) is
// stored as 0xFF: the exchange and the engine refuse every undefined value alike, so the
// replay takes the same decisions. Flags with an undefined bit are stored as 0xFF too.
// The decoder accepts the defined values and 0xFF, and refuses anything else.
//
// An order command on a stream (session != 0) does not store key_hash: the exchange
// authenticates it by its session alone and never reads the hash.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cpx/exchange/payload.hpp"
#include "cpx/exchange/request.hpp"

namespace cpx::journal {

inline constexpr std::uint8_t kFormatVersion = 1;
// AddInstrument rows since the accelerator model was added to their payload; the
// decoder reads version 1 AddInstrument rows (without it) as before.
inline constexpr std::uint8_t kAddInstrumentVersion = 2;
// Set in the version byte of a row whose request carries the gateway's receipt time:
// the zigzag varint ts_ns - received_ns follows the version byte.
inline constexpr std::uint8_t kReceivedFlag = 0x80;
// What an undefined enum value is stored as (see above).
inline constexpr std::uint8_t kUndefinedEnum = 0xFF;

// Which requests are journalled: those that change state (order commands, Logon, Logoff,
// administration including Bootstrap and CreditCollateral, the settlement steps
// ConfirmDelivery, DisputeDelivery, ResolveDispute and RunSettlement, the voucher
// requests, Tick). Queries (ListObligations and the voucher queries among them) are not.
bool is_journalled(exchange::RequestType type);

// Whether a request of this type reads a Payload (administration, the settlement steps
// and Bootstrap).
bool has_payload(exchange::RequestType type);

// The journal row's kind for a request.
inline std::uint16_t kind_of(const exchange::Request& request) {
    return static_cast<std::uint16_t>(request.type);
}

// Appends the body of request (and of the payload inputs its type reads) to out. The
// request must be journalled. Allocates nothing when out has the capacity for it.
// Measured (Release, -O3 + LTO, on 2 shared cores under load): a stream NewOrder with a
// 9-byte client id encodes to 20 bytes, a unary one (with its key hash) to 50 bytes;
// encoding takes 25-40 ns (about 290 instructions under callgrind) and decoding 50-60 ns
// (about 400 instructions). See tests/journal/codec_test.cpp, JournalCodec.EncodeSpeed.
void encode(const exchange::Request& request, std::string& out);

// A decoded request with storage for its payload. request.payload points into payload
// for the types that read one, and is null otherwise. Moving a Decoded keeps that
// pointer valid; a Decoded may be reused for the next row without allocating again.
struct Decoded {
    exchange::Request request;
    std::unique_ptr<exchange::Payload> payload;
};

// Rebuilds the request of a journal row. Returns false, with the reason in error, for a
// body that is malformed, truncated or followed by trailing bytes, of an unknown kind or
// format version, or with an enum value out of range. Never reads out of bounds and
// never throws on bad input. The token of the rebuilt request is 0.
bool decode(std::uint16_t kind, std::int64_t ts_ns, std::string_view body, Decoded& out,
            std::string& error);

}  // namespace cpx::journal
