// The journal's binary encoding of requests (the format is in codec.hpp).

#include "cpx/journal/codec.hpp"

#include <bit>
#include <cassert>
#include <cstring>
#include <limits>

namespace cpx::journal {

namespace {

using exchange::Payload;
using exchange::Request;
using exchange::RequestType;

// The Request fields of the mask, in the order they are stored. The most common fields
// of an order on a stream come first, so that its mask takes one byte.
enum Field : std::uint32_t {
    kSide = 1u << 0,
    kInstrument = 1u << 1,
    kSession = 1u << 2,
    kPrice = 1u << 3,
    kQuantity = 1u << 4,
    kClientOrderId = 1u << 5,
    kKeyHash = 1u << 6,
    kOrderType = 1u << 7,
    kTif = 1u << 8,
    kFlags = 1u << 9,
    kStp = 1u << 10,
    kMinQuantity = 1u << 11,
    kExpiry = 1u << 12,
    kOrderId = 1u << 13,
    kOrigClientOrderId = 1u << 14,
    kAction = 1u << 15,
    kAccount = 1u << 16,
    kResumeAfterSeq = 1u << 17,
    kCancelOnDisconnect = 1u << 18,
    kClientOrderIdTooLong = 1u << 19,
    kFieldsAll = (1u << 20) - 1,
};

// The most a version byte, a mask and every Request field take.
constexpr std::size_t kHeaderBytesMax =
    1 + 10 + 3 + 1 + 5 + 10 + 10 + 10 + 33 + 32 + 1 + 1 + 1 + 1 + 10 + 10 + 10 + 33 + 1 + 5 + 10;
constexpr std::size_t kVarintBytesMax = 10;

// --- Enums ---------------------------------------------------------------------------

constexpr std::uint8_t raw(auto e) {
    return static_cast<std::uint8_t>(e);
}

bool defined_side(std::uint8_t v) {
    return v <= raw(matching::Side::Sell);
}
bool defined_order_type(std::uint8_t v) {
    return v == raw(matching::OrderType::Limit) || v == raw(matching::OrderType::Market);
}
bool defined_tif(std::uint8_t v) {
    return v >= raw(matching::TimeInForce::GTC) && v <= raw(matching::TimeInForce::FOK);
}
bool defined_stp(std::uint8_t v) {
    return v <= raw(matching::SelfTradePrevention::CancelBoth);
}
bool defined_flags(std::uint8_t v) {
    return (v & ~(matching::kFlagPostOnly | matching::kFlagAllOrNone)) == 0;
}
bool defined_action(std::uint8_t v) {
    return v <= raw(exchange::StateAction::SetReference);
}
bool defined_role(std::uint8_t v) {
    return v <= raw(exchange::Role::Issuer);
}
bool defined_voucher_mode(std::uint8_t v) {
    return v == raw(exchange::VoucherMode::Discount) || v == raw(exchange::VoucherMode::Rebate);
}
bool defined_voucher_side(std::uint8_t v) {
    return v == raw(exchange::VoucherSide::Buyer) || v == raw(exchange::VoucherSide::Provider);
}
bool defined_kind(std::uint8_t v) {
    return v == raw(matching::InstrumentKind::ComputeCapacity) ||
           v == raw(matching::InstrumentKind::TokenBundle);
}
bool defined_state(std::uint8_t v) {
    return v <= raw(matching::TradingState::Halted);
}

// What an enum is stored as: itself when defined, else kUndefinedEnum.
template <typename E>
std::uint8_t stored(E e, bool (*defined)(std::uint8_t)) {
    const std::uint8_t v = raw(e);
    return defined(v) ? v : kUndefinedEnum;
}

// --- Writing -------------------------------------------------------------------------

// Writes into memory the caller has sized for the most it can write.
class Writer {
  public:
    explicit Writer(char* at) : at_(at) {}

    char* at() const { return at_; }
    void u8(std::uint8_t v) { *at_++ = static_cast<char>(v); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            *at_++ = static_cast<char>(static_cast<std::uint8_t>(v) | 0x80u);
            v >>= 7;
        }
        *at_++ = static_cast<char>(v);
    }
    void zigzag(std::int64_t v) {
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void bytes(const void* data, std::size_t n) {
        std::memcpy(at_, data, n);
        at_ += n;
    }
    void string(const std::string& s) {
        varint(s.size());
        bytes(s.data(), s.size());
    }
    // A text without its trailing NUL padding (of `size` bytes, see text_size), but with
    // any byte before it: the exchange copies the text whole wherever it keeps it. The
    // caller's buffer has room for all N bytes, which are copied at a fixed size.
    template <std::size_t N>
    void text(const matching::FixedText<N>& t, std::size_t size) {
        u8(static_cast<std::uint8_t>(size));
        std::memcpy(at_, t.bytes.data(), N);
        at_ += size;
    }
    void key(const exchange::KeyHash& k) { bytes(k.data(), k.size()); }

  private:
    char* at_;
};

// The bytes of a text up to its last non-NUL one, found a word at a time.
template <std::size_t N>
std::size_t text_size(const matching::FixedText<N>& t) {
    static_assert(N % 8 == 0);
    static_assert(std::endian::native == std::endian::little);
    for (std::size_t word = N / 8; word-- > 0;) {
        std::uint64_t w = 0;
        std::memcpy(&w, t.bytes.data() + 8 * word, 8);
        if (w != 0) {
            return 8 * word + 8 - static_cast<std::size_t>(std::countl_zero(w)) / 8;
        }
    }
    return 0;
}

bool key_empty(const exchange::KeyHash& k) {
    std::uint64_t w[4];
    std::memcpy(w, k.data(), sizeof(w));
    return (w[0] | w[1] | w[2] | w[3]) == 0;
}

// a - b modulo 2^64, so that any pair of times round-trips through their difference.
std::int64_t wrapping_difference(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

// Returns the end of what it wrote.
char* write_header(const Request& r, char* buffer) {
    const std::uint8_t side = stored(r.side, defined_side);
    const std::uint8_t order_type = stored(r.order_type, defined_order_type);
    const std::uint8_t tif = stored(r.tif, defined_tif);
    const std::uint8_t flags = defined_flags(r.flags) ? r.flags : kUndefinedEnum;
    const std::uint8_t stp = stored(r.stp, defined_stp);
    const std::uint8_t action = stored(r.action, defined_action);
    // An order command on a stream is authenticated by its session alone.
    const bool key_read = !(exchange::is_order_command(r.type) && r.session != 0);

    const std::size_t client_order_id_size = text_size(r.client_order_id);
    const std::size_t orig_client_order_id_size = text_size(r.orig_client_order_id);

    std::uint32_t mask = 0;
    mask |= side != raw(matching::Side::None) ? kSide : 0u;
    mask |= r.instrument != 0 ? kInstrument : 0u;
    mask |= r.session != 0 ? kSession : 0u;
    mask |= r.price != 0 ? kPrice : 0u;
    mask |= r.quantity != 0 ? kQuantity : 0u;
    mask |= client_order_id_size != 0 ? kClientOrderId : 0u;
    mask |= key_read && !key_empty(r.key_hash) ? kKeyHash : 0u;
    mask |= order_type != raw(matching::OrderType::Limit) ? kOrderType : 0u;
    mask |= tif != raw(matching::TimeInForce::GTC) ? kTif : 0u;
    mask |= flags != 0 ? kFlags : 0u;
    mask |= stp != raw(matching::SelfTradePrevention::CancelIncoming) ? kStp : 0u;
    mask |= r.min_quantity != 0 ? kMinQuantity : 0u;
    mask |= r.expiry_ns != 0 ? kExpiry : 0u;
    mask |= r.order_id != 0 ? kOrderId : 0u;
    mask |= orig_client_order_id_size != 0 ? kOrigClientOrderId : 0u;
    mask |= action != raw(exchange::StateAction::None) ? kAction : 0u;
    mask |= r.account != 0 ? kAccount : 0u;
    mask |= r.resume_after_seq != 0 ? kResumeAfterSeq : 0u;
    mask |= r.cancel_on_disconnect ? kCancelOnDisconnect : 0u;
    mask |= r.client_order_id_too_long ? kClientOrderIdTooLong : 0u;

    Writer w(buffer);
    const std::uint8_t version =
        r.type == RequestType::AddInstrument ? kAddInstrumentVersion : kFormatVersion;
    if (r.received_ns != 0) {
        w.u8(version | kReceivedFlag);
        w.zigzag(wrapping_difference(r.ts_ns, r.received_ns));
    } else {
        w.u8(version);
    }
    w.varint(mask);
    if ((mask & kSide) != 0) {
        w.u8(side);
    }
    if ((mask & kInstrument) != 0) {
        w.varint(r.instrument);
    }
    if ((mask & kSession) != 0) {
        w.varint(r.session);
    }
    if ((mask & kPrice) != 0) {
        w.zigzag(r.price);
    }
    if ((mask & kQuantity) != 0) {
        w.zigzag(r.quantity);
    }
    if ((mask & kClientOrderId) != 0) {
        w.text(r.client_order_id, client_order_id_size);
    }
    if ((mask & kKeyHash) != 0) {
        w.key(r.key_hash);
    }
    if ((mask & kOrderType) != 0) {
        w.u8(order_type);
    }
    if ((mask & kTif) != 0) {
        w.u8(tif);
    }
    if ((mask & kFlags) != 0) {
        w.u8(flags);
    }
    if ((mask & kStp) != 0) {
        w.u8(stp);
    }
    if ((mask & kMinQuantity) != 0) {
        w.zigzag(r.min_quantity);
    }
    if ((mask & kExpiry) != 0) {
        w.zigzag(r.expiry_ns);
    }
    if ((mask & kOrderId) != 0) {
        w.varint(r.order_id);
    }
    if ((mask & kOrigClientOrderId) != 0) {
        w.text(r.orig_client_order_id, orig_client_order_id_size);
    }
    if ((mask & kAction) != 0) {
        w.u8(action);
    }
    if ((mask & kAccount) != 0) {
        w.varint(r.account);
    }
    if ((mask & kResumeAfterSeq) != 0) {
        w.varint(r.resume_after_seq);
    }
    return w.at();
}

// The most the payload inputs of a request take.
std::size_t payload_bytes_max(RequestType type, const Payload& p) {
    constexpr std::size_t v = kVarintBytesMax;
    const std::size_t account_spec =
        3 * v + p.account.name.size() + 1 + p.account.owner_group.size() + 3 * v;
    switch (type) {
        case RequestType::AddInstrument:
            return v + 33 + 1 + 17 + 17 + 12 * v + 1 + v + p.accelerator_model.size();
        case RequestType::CreateAccount:
            return account_spec;
        case RequestType::CreateApiKey:
            return 32;
        case RequestType::CreditDeposit:
        case RequestType::CreditCollateral:
            return 2 * v + p.deposit_id.size();
        case RequestType::SetAcceleratorTable: {
            std::size_t n = v;
            for (const exchange::AcceleratorModel& m : p.models) {
                n += 2 * v + m.model.size() + 1;
            }
            return n;
        }
        case RequestType::RegisterCapacity:
            return 1 + 8 * v + p.capacity.hub.size() + p.capacity.accelerator_model.size();
        case RequestType::Bootstrap:
            return account_spec + 32;
        case RequestType::ConfirmDelivery:
            return 2 * v;
        case RequestType::DisputeDelivery:
            return 2 * v + p.note.size();
        case RequestType::ResolveDispute:
            return 2 * v + 1 + p.note.size();
        case RequestType::RunSettlement:
            return v;
        case RequestType::CreateVoucherProgram: {
            const exchange::VoucherProgramSpec& s = p.program;
            std::size_t n = 10 * v + 6 + s.name.size();
            for (const std::string& hub : s.hubs) {
                n += v + hub.size();
            }
            for (const std::string& model : s.accelerator_models) {
                n += v + model.size();
            }
            return n + v * (3 + s.approved_providers.size());
        }
        case RequestType::FundVoucherProgram:
            return 3 * v + p.voucher_ref.size();
        case RequestType::GrantVoucher:
            return 4 * v + p.voucher_ref.size();
        case RequestType::RevokeVoucher:
            return v;
        default:
            return 0;
    }
}

void write_strings(Writer& w, const std::vector<std::string>& list) {
    w.varint(list.size());
    for (const std::string& s : list) {
        w.string(s);
    }
}

void write_account_spec(Writer& w, const exchange::AccountSpec& a) {
    w.string(a.name);
    w.u8(stored(a.role, defined_role));
    w.string(a.owner_group);
    w.zigzag(a.order_quantity_max);
    w.zigzag(a.order_notional_max_fen);
    w.varint(a.orders_per_second_max);
}

char* write_payload(RequestType type, const Payload& p, char* at) {
    Writer w(at);
    switch (type) {
        case RequestType::AddInstrument: {
            const matching::InstrumentSpec& s = p.instrument;
            w.varint(s.id);
            w.text(s.symbol, text_size(s.symbol));
            w.u8(stored(s.kind, defined_kind));
            w.text(s.hub, text_size(s.hub));
            w.text(s.unit, text_size(s.unit));
            w.zigzag(s.window_start_ns);
            w.zigzag(s.window_end_ns);
            w.zigzag(s.tick_size);
            w.zigzag(s.lot_size);
            w.zigzag(s.quantity_min);
            w.zigzag(s.quantity_max);
            w.zigzag(s.price_min);
            w.zigzag(s.price_max);
            w.varint(s.band_bps);
            w.zigzag(s.reference_price);
            w.varint(s.market_protection_ticks);
            w.u8(stored(s.initial_state, defined_state));
            w.string(p.accelerator_model);
            break;
        }
        case RequestType::CreateAccount:
            write_account_spec(w, p.account);
            break;
        case RequestType::CreateApiKey:
            w.key(p.new_key_hash);
            break;
        case RequestType::CreditDeposit:
        case RequestType::CreditCollateral:
            w.zigzag(p.amount_fen);
            w.string(p.deposit_id);
            break;
        case RequestType::SetAcceleratorTable:
            w.varint(p.models.size());
            for (const exchange::AcceleratorModel& m : p.models) {
                w.string(m.model);
                w.zigzag(m.milli_p_per_device);
                w.u8(m.domestic ? 1 : 0);
            }
            break;
        case RequestType::RegisterCapacity: {
            const exchange::CapacityRegistration& c = p.capacity;
            w.u8(stored(c.kind, defined_kind));
            w.string(c.hub);
            w.zigzag(c.window_start_ns);
            w.zigzag(c.window_end_ns);
            w.string(c.accelerator_model);
            w.varint(c.device_count);
            w.zigzag(c.token_bundles);
            w.varint(c.green_power_bps);
            break;
        }
        case RequestType::Bootstrap:
            write_account_spec(w, p.account);
            w.key(p.new_key_hash);
            break;
        case RequestType::ConfirmDelivery:
            w.varint(p.obligation_id);
            w.zigzag(p.delivered_quantity);
            break;
        case RequestType::DisputeDelivery:
            w.varint(p.obligation_id);
            w.string(p.note);
            break;
        case RequestType::ResolveDispute:
            w.varint(p.obligation_id);
            w.u8(p.uphold ? 1 : 0);
            w.string(p.note);
            break;
        case RequestType::RunSettlement:
            w.varint(p.settlement_limit);
            break;
        case RequestType::CreateVoucherProgram: {
            const exchange::VoucherProgramSpec& s = p.program;
            w.varint(s.issuer);
            w.string(s.name);
            w.zigzag(s.budget_fen);
            w.varint(s.share_bps);
            w.u8(stored(s.mode, defined_voucher_mode));
            w.u8(stored(s.side, defined_voucher_side));
            w.zigzag(s.cap_per_beneficiary_fen);
            w.zigzag(s.cap_period_ns);
            w.zigzag(s.pool_cap_fen);
            w.u8(s.kinds);
            write_strings(w, s.hubs);
            write_strings(w, s.accelerator_models);
            w.u8(s.domestic_only ? 1 : 0);
            w.varint(s.approved_providers.size());
            for (const matching::AccountId provider : s.approved_providers) {
                w.varint(provider);
            }
            w.u8(s.allow_affiliated ? 1 : 0);
            w.u8(s.allow_both_sides ? 1 : 0);
            w.zigzag(s.valid_from_ns);
            w.zigzag(s.valid_until_ns);
            break;
        }
        case RequestType::FundVoucherProgram:
            w.varint(p.program_id);
            w.zigzag(p.amount_fen);
            w.string(p.voucher_ref);
            break;
        case RequestType::GrantVoucher:
            w.varint(p.program_id);
            w.zigzag(p.voucher_face_fen);
            w.zigzag(p.voucher_expiry_ns);
            w.string(p.voucher_ref);
            break;
        case RequestType::RevokeVoucher:
            w.varint(p.voucher_id);
            break;
        default:
            break;
    }
    return w.at();
}

// --- Reading -------------------------------------------------------------------------

// Reads from a body, never past its end. The first failure is kept as the reason; every
// read after it fails too.
class Reader {
  public:
    explicit Reader(std::string_view body)
        : at_(reinterpret_cast<const std::uint8_t*>(body.data())), end_(at_ + body.size()) {}

    const char* failure() const { return failure_; }
    std::size_t left() const { return static_cast<std::size_t>(end_ - at_); }
    bool fail(const char* reason) {
        if (failure_ == nullptr) {
            failure_ = reason;
        }
        at_ = end_;
        return false;
    }

    bool u8(std::uint8_t& v) {
        if (at_ == end_) {
            return fail("truncated body");
        }
        v = *at_++;
        return true;
    }
    bool varint(std::uint64_t& v) {
        if (at_ != end_ && *at_ < 0x80u) {
            v = *at_++;
            return true;
        }
        std::uint64_t value = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            if (at_ == end_) {
                return fail("truncated varint");
            }
            const std::uint8_t b = *at_++;
            if (shift == 63 && b > 1) {
                return fail("varint overflows 64 bits");
            }
            value |= std::uint64_t{b & 0x7Fu} << shift;
            if ((b & 0x80u) == 0) {
                if (b == 0 && shift > 0) {
                    return fail("varint not in its shortest form");
                }
                v = value;
                return true;
            }
        }
        return fail("varint overflows 64 bits");
    }
    bool u32(std::uint32_t& v) {
        std::uint64_t wide = 0;
        if (!varint(wide)) {
            return false;
        }
        if (wide > std::numeric_limits<std::uint32_t>::max()) {
            return fail("value overflows 32 bits");
        }
        v = static_cast<std::uint32_t>(wide);
        return true;
    }
    bool zigzag(std::int64_t& v) {
        std::uint64_t u = 0;
        if (!varint(u)) {
            return false;
        }
        v = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
        return true;
    }
    bool bytes(void* out, std::size_t n) {
        if (left() < n) {
            return fail("truncated body");
        }
        std::memcpy(out, at_, n);
        at_ += n;
        return true;
    }
    bool string(std::string& s) {
        std::uint64_t n = 0;
        if (!varint(n)) {
            return false;
        }
        if (n > left()) {
            return fail("string longer than the body");
        }
        s.assign(reinterpret_cast<const char*>(at_), static_cast<std::size_t>(n));
        at_ += n;
        return true;
    }
    template <std::size_t N>
    bool text(matching::FixedText<N>& t) {
        std::uint8_t n = 0;
        if (!u8(n)) {
            return false;
        }
        if (n > N) {
            return fail("text longer than its field");
        }
        t = matching::FixedText<N>{};
        return bytes(t.bytes.data(), n);
    }
    bool key(exchange::KeyHash& k) { return bytes(k.data(), k.size()); }
    template <auto defined, typename E>
    bool enumeration(E& e) {
        std::uint8_t v = 0;
        if (!u8(v)) {
            return false;
        }
        if (!defined(v) && v != kUndefinedEnum) {
            return fail("enum value out of range");
        }
        e = static_cast<E>(v);
        return true;
    }
    bool boolean(bool& b) {
        std::uint8_t v = 0;
        if (!u8(v)) {
            return false;
        }
        if (v > 1) {
            return fail("boolean neither 0 nor 1");
        }
        b = v == 1;
        return true;
    }

  private:
    const std::uint8_t* at_;
    const std::uint8_t* end_;
    const char* failure_ = nullptr;
};

bool read_header(Reader& in, Request& r, std::uint8_t& version) {
    if (!in.u8(version)) {
        return false;
    }
    const bool received = (version & kReceivedFlag) != 0;
    version = static_cast<std::uint8_t>(version & ~kReceivedFlag);
    const bool known = version == kFormatVersion ||
                       (version == kAddInstrumentVersion && r.type == RequestType::AddInstrument);
    if (!known) {
        return in.fail("unknown format version");
    }
    if (received) {
        std::int64_t queued_ns = 0;
        if (!in.zigzag(queued_ns)) {
            return false;
        }
        r.received_ns = wrapping_difference(r.ts_ns, queued_ns);
        // The encoder writes the delta only for a stamped request.
        if (r.received_ns == 0) {
            return in.fail("receipt time of 0");
        }
    }
    std::uint64_t mask = 0;
    if (!in.varint(mask)) {
        return false;
    }
    if ((mask & ~std::uint64_t{kFieldsAll}) != 0) {
        return in.fail("unknown field in the mask");
    }
    bool ok = true;
    if ((mask & kSide) != 0) {
        ok = ok && in.enumeration<defined_side>(r.side);
    }
    if ((mask & kInstrument) != 0) {
        ok = ok && in.u32(r.instrument);
    }
    if ((mask & kSession) != 0) {
        ok = ok && in.varint(r.session);
    }
    if ((mask & kPrice) != 0) {
        ok = ok && in.zigzag(r.price);
    }
    if ((mask & kQuantity) != 0) {
        ok = ok && in.zigzag(r.quantity);
    }
    if ((mask & kClientOrderId) != 0) {
        ok = ok && in.text(r.client_order_id);
    }
    if ((mask & kKeyHash) != 0) {
        ok = ok && in.key(r.key_hash);
    }
    if ((mask & kOrderType) != 0) {
        ok = ok && in.enumeration<defined_order_type>(r.order_type);
    }
    if ((mask & kTif) != 0) {
        ok = ok && in.enumeration<defined_tif>(r.tif);
    }
    if ((mask & kFlags) != 0) {
        std::uint8_t flags = 0;
        ok = ok && in.u8(flags);
        if (ok && !defined_flags(flags) && flags != kUndefinedEnum) {
            return in.fail("undefined order flags");
        }
        r.flags = flags;
    }
    if ((mask & kStp) != 0) {
        ok = ok && in.enumeration<defined_stp>(r.stp);
    }
    if ((mask & kMinQuantity) != 0) {
        ok = ok && in.zigzag(r.min_quantity);
    }
    if ((mask & kExpiry) != 0) {
        ok = ok && in.zigzag(r.expiry_ns);
    }
    if ((mask & kOrderId) != 0) {
        ok = ok && in.varint(r.order_id);
    }
    if ((mask & kOrigClientOrderId) != 0) {
        ok = ok && in.text(r.orig_client_order_id);
    }
    if ((mask & kAction) != 0) {
        ok = ok && in.enumeration<defined_action>(r.action);
    }
    if ((mask & kAccount) != 0) {
        ok = ok && in.u32(r.account);
    }
    if ((mask & kResumeAfterSeq) != 0) {
        ok = ok && in.varint(r.resume_after_seq);
    }
    r.cancel_on_disconnect = (mask & kCancelOnDisconnect) != 0;
    r.client_order_id_too_long = (mask & kClientOrderIdTooLong) != 0;
    return ok;
}

bool read_account_spec(Reader& in, exchange::AccountSpec& a) {
    return in.string(a.name) && in.enumeration<defined_role>(a.role) && in.string(a.owner_group) &&
           in.zigzag(a.order_quantity_max) && in.zigzag(a.order_notional_max_fen) &&
           in.u32(a.orders_per_second_max);
}

bool read_strings(Reader& in, std::vector<std::string>& list) {
    std::uint64_t count = 0;
    if (!in.varint(count)) {
        return false;
    }
    // Each string takes at least its length byte.
    if (count > in.left()) {
        return in.fail("more strings than the body holds");
    }
    list.resize(static_cast<std::size_t>(count));
    for (std::string& s : list) {
        if (!in.string(s)) {
            return false;
        }
    }
    return true;
}

bool read_payload(Reader& in, RequestType type, std::uint8_t version, Payload& p) {
    switch (type) {
        case RequestType::AddInstrument: {
            matching::InstrumentSpec& s = p.instrument;
            return in.u32(s.id) && in.text(s.symbol) && in.enumeration<defined_kind>(s.kind) &&
                   in.text(s.hub) && in.text(s.unit) && in.zigzag(s.window_start_ns) &&
                   in.zigzag(s.window_end_ns) && in.zigzag(s.tick_size) && in.zigzag(s.lot_size) &&
                   in.zigzag(s.quantity_min) && in.zigzag(s.quantity_max) &&
                   in.zigzag(s.price_min) && in.zigzag(s.price_max) && in.u32(s.band_bps) &&
                   in.zigzag(s.reference_price) && in.u32(s.market_protection_ticks) &&
                   in.enumeration<defined_state>(s.initial_state) &&
                   (version < kAddInstrumentVersion || in.string(p.accelerator_model));
        }
        case RequestType::CreateAccount:
            return read_account_spec(in, p.account);
        case RequestType::CreateApiKey:
            return in.key(p.new_key_hash);
        case RequestType::CreditDeposit:
        case RequestType::CreditCollateral:
            return in.zigzag(p.amount_fen) && in.string(p.deposit_id);
        case RequestType::SetAcceleratorTable: {
            std::uint64_t count = 0;
            if (!in.varint(count)) {
                return false;
            }
            // Each model takes at least three bytes: a count beyond that is a lie, and
            // must not make us reserve memory for it.
            if (count > in.left() / 3) {
                return in.fail("more models than the body holds");
            }
            p.models.resize(static_cast<std::size_t>(count));
            for (exchange::AcceleratorModel& m : p.models) {
                if (!(in.string(m.model) && in.zigzag(m.milli_p_per_device) &&
                      in.boolean(m.domestic))) {
                    return false;
                }
            }
            return true;
        }
        case RequestType::RegisterCapacity: {
            exchange::CapacityRegistration& c = p.capacity;
            return in.enumeration<defined_kind>(c.kind) && in.string(c.hub) &&
                   in.zigzag(c.window_start_ns) && in.zigzag(c.window_end_ns) &&
                   in.string(c.accelerator_model) && in.u32(c.device_count) &&
                   in.zigzag(c.token_bundles) && in.u32(c.green_power_bps);
        }
        case RequestType::Bootstrap:
            return read_account_spec(in, p.account) && in.key(p.new_key_hash);
        case RequestType::ConfirmDelivery:
            return in.varint(p.obligation_id) && in.zigzag(p.delivered_quantity);
        case RequestType::DisputeDelivery:
            return in.varint(p.obligation_id) && in.string(p.note);
        case RequestType::ResolveDispute:
            return in.varint(p.obligation_id) && in.boolean(p.uphold) && in.string(p.note);
        case RequestType::RunSettlement:
            return in.u32(p.settlement_limit);
        case RequestType::CreateVoucherProgram: {
            exchange::VoucherProgramSpec& s = p.program;
            std::uint64_t providers = 0;
            if (!(in.u32(s.issuer) && in.string(s.name) && in.zigzag(s.budget_fen) &&
                  in.u32(s.share_bps) && in.enumeration<defined_voucher_mode>(s.mode) &&
                  in.enumeration<defined_voucher_side>(s.side) &&
                  in.zigzag(s.cap_per_beneficiary_fen) && in.zigzag(s.cap_period_ns) &&
                  in.zigzag(s.pool_cap_fen) && in.u8(s.kinds) && read_strings(in, s.hubs) &&
                  read_strings(in, s.accelerator_models) && in.boolean(s.domestic_only) &&
                  in.varint(providers))) {
                return false;
            }
            if (providers > in.left()) {
                return in.fail("more providers than the body holds");
            }
            s.approved_providers.resize(static_cast<std::size_t>(providers));
            for (matching::AccountId& provider : s.approved_providers) {
                if (!in.u32(provider)) {
                    return false;
                }
            }
            return in.boolean(s.allow_affiliated) && in.boolean(s.allow_both_sides) &&
                   in.zigzag(s.valid_from_ns) && in.zigzag(s.valid_until_ns);
        }
        case RequestType::FundVoucherProgram:
            return in.u32(p.program_id) && in.zigzag(p.amount_fen) && in.string(p.voucher_ref);
        case RequestType::GrantVoucher:
            return in.u32(p.program_id) && in.zigzag(p.voucher_face_fen) &&
                   in.zigzag(p.voucher_expiry_ns) && in.string(p.voucher_ref);
        case RequestType::RevokeVoucher:
            return in.varint(p.voucher_id);
        default:
            return true;
    }
}

}  // namespace

bool is_journalled(RequestType type) {
    switch (type) {
        case RequestType::NewOrder:
        case RequestType::Cancel:
        case RequestType::Replace:
        case RequestType::MassCancel:
        case RequestType::Logon:
        case RequestType::Logoff:
        case RequestType::AddInstrument:
        case RequestType::SetTradingState:
        case RequestType::CreateAccount:
        case RequestType::CreateApiKey:
        case RequestType::CreditDeposit:
        case RequestType::SetAcceleratorTable:
        case RequestType::RegisterCapacity:
        case RequestType::CreditCollateral:
        case RequestType::Bootstrap:
        case RequestType::ConfirmDelivery:
        case RequestType::DisputeDelivery:
        case RequestType::ResolveDispute:
        case RequestType::RunSettlement:
        case RequestType::CreateVoucherProgram:
        case RequestType::FundVoucherProgram:
        case RequestType::GrantVoucher:
        case RequestType::RevokeVoucher:
        case RequestType::Tick:
            return true;
        case RequestType::ListInstruments:
        case RequestType::OpenOrders:
        case RequestType::Fills:
        case RequestType::Balances:
        case RequestType::ListObligations:
        case RequestType::ListVoucherPrograms:
        case RequestType::ListVouchers:
        case RequestType::VoucherReport:
            return false;
    }
    return false;
}

bool has_payload(RequestType type) {
    switch (type) {
        case RequestType::AddInstrument:
        case RequestType::SetTradingState:
        case RequestType::CreateAccount:
        case RequestType::CreateApiKey:
        case RequestType::CreditDeposit:
        case RequestType::SetAcceleratorTable:
        case RequestType::RegisterCapacity:
        case RequestType::CreditCollateral:
        case RequestType::Bootstrap:
        case RequestType::ConfirmDelivery:
        case RequestType::DisputeDelivery:
        case RequestType::ResolveDispute:
        case RequestType::RunSettlement:
        case RequestType::CreateVoucherProgram:
        case RequestType::FundVoucherProgram:
        case RequestType::GrantVoucher:
        case RequestType::RevokeVoucher:
            return true;
        default:
            return false;
    }
}

void encode(const Request& request, std::string& out) {
    assert(is_journalled(request.type));
    char header[kHeaderBytesMax];
    const char* end = write_header(request, header);
    out.append(header, static_cast<std::size_t>(end - header));
    if (!has_payload(request.type)) {
        return;
    }
    // A request without its payload would not be applied as one with an empty payload;
    // an empty one is still the closest record of it.
    static const Payload kEmpty;
    const Payload& p = request.payload != nullptr ? *request.payload : kEmpty;
    const std::size_t at = out.size();
    out.resize(at + payload_bytes_max(request.type, p));
    const char* payload_end = write_payload(request.type, p, out.data() + at);
    out.resize(static_cast<std::size_t>(payload_end - out.data()));
}

bool decode(std::uint16_t kind, std::int64_t ts_ns, std::string_view body, Decoded& out,
            std::string& error) {
    if (kind > std::numeric_limits<std::uint8_t>::max() ||
        !is_journalled(static_cast<RequestType>(kind))) {
        error = "unknown kind " + std::to_string(kind);
        return false;
    }
    const auto type = static_cast<RequestType>(kind);
    out.request = Request{};
    out.request.type = type;
    out.request.ts_ns = ts_ns;
    Reader in(body);
    std::uint8_t version = 0;
    bool ok = read_header(in, out.request, version);
    if (ok && has_payload(type)) {
        if (out.payload == nullptr) {
            out.payload = std::make_unique<Payload>();
        } else {
            *out.payload = Payload{};
        }
        out.request.payload = out.payload.get();
        ok = read_payload(in, type, version, *out.payload);
    }
    if (ok && in.left() != 0) {
        ok = in.fail("trailing bytes");
    }
    if (!ok) {
        error = in.failure() != nullptr ? in.failure() : "malformed body";
        out.request.payload = nullptr;
        return false;
    }
    return true;
}

}  // namespace cpx::journal
