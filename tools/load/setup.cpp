#include "setup.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "channel.hpp"
#include "cpx/v1/account.grpc.pb.h"
#include "cpx/v1/admin.grpc.pb.h"
#include "status_text.hpp"

namespace cpx::load {

namespace {

constexpr std::chrono::seconds kCallTimeout{10};
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr std::int64_t kDayNs = 86'400'000'000'000;
// Orders of the workload stay within this many ticks of the mid price.
constexpr std::int64_t kPriceReachTicks = 8;

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A short tag that makes this run's account names and deposit ids differ from those
// of earlier runs against the same server.
std::string run_tag() {
    static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    auto value = static_cast<std::uint64_t>(wall_clock_ns() / 1'000'000);
    std::string tag;
    for (int i = 0; i < 8; ++i) {
        tag.insert(tag.begin(), kDigits[value % 36]);
        value /= 36;
    }
    return tag;
}

// Synchronous calls with the operator's key and a deadline: setup is a few calls per
// account and needs no speed.
class OperatorClient {
  public:
    OperatorClient(const std::shared_ptr<grpc::Channel>& channel, std::string key)
        : admin_(cpx::v1::Admin::NewStub(channel)),
          query_(cpx::v1::AccountQuery::NewStub(channel)),
          key_(std::move(key)) {}

    template <typename Call>
    grpc::Status call(Call&& call) {
        grpc::ClientContext context;
        context.AddMetadata("x-api-key", key_);
        context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
        return call(context);
    }

    cpx::v1::Admin::Stub& admin() { return *admin_; }
    cpx::v1::AccountQuery::Stub& query() { return *query_; }

  private:
    std::unique_ptr<cpx::v1::Admin::Stub> admin_;
    std::unique_ptr<cpx::v1::AccountQuery::Stub> query_;
    std::string key_;
};

cpx::v1::Instrument new_instrument(const LoadOptions& options) {
    // A token bundle valid for 30 days from the next UTC midnight: a window in the
    // future, so no exchange rule about past windows can refuse it.
    const std::int64_t window_start_ns = (wall_clock_ns() / kDayNs + 1) * kDayNs;
    cpx::v1::Instrument instrument;
    instrument.set_instrument_id(options.instrument_id);
    instrument.set_symbol("LOAD-TOKEN-" + std::to_string(options.instrument_id));
    instrument.set_kind(cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE);
    instrument.set_hub("HOHHOT");
    instrument.set_unit("1M-tokens");
    instrument.set_window_start_ns(window_start_ns);
    instrument.set_window_end_ns(window_start_ns + 30 * kDayNs);
    instrument.set_tick_size_fen(1);
    instrument.set_lot_size(1);
    instrument.set_quantity_min(1);
    instrument.set_quantity_max(1'000'000);
    // The engine allocates a slot per tick of the price range (at most 2^22), so
    // "wide" is four million ticks, with every mid price the options allow well inside.
    instrument.set_price_min_fen(1);
    instrument.set_price_max_fen(4'000'000);
    instrument.set_band_bps(0);
    instrument.set_reference_price_fen(options.mid_price_fen);
    instrument.set_market_protection_ticks(1'000);
    instrument.set_state(cpx::v1::TRADING_STATE_CONTINUOUS);
    return instrument;
}

// The price the workload centres on: the reference price when the instrument has one
// inside its range, else the option's, moved inside the range and onto the tick grid.
std::int64_t centre_price(const cpx::v1::Instrument& instrument, std::int64_t preferred_fen) {
    const std::int64_t tick = std::max<std::int64_t>(instrument.tick_size_fen(), 1);
    std::int64_t mid =
        instrument.reference_price_fen() > 0 ? instrument.reference_price_fen() : preferred_fen;
    const std::int64_t low = instrument.price_min_fen() + kPriceReachTicks * tick;
    const std::int64_t high =
        instrument.price_max_fen() > 0 ? instrument.price_max_fen() - kPriceReachTicks * tick : mid;
    if (low <= high) {
        mid = std::clamp(mid, low, high);
    }
    return mid / tick * tick;
}

// Brings an existing instrument into continuous trading.
std::string make_continuous(OperatorClient& client, const cpx::v1::Instrument& instrument) {
    cpx::v1::StateAction action = cpx::v1::STATE_ACTION_UNSPECIFIED;
    switch (instrument.state()) {
        case cpx::v1::TRADING_STATE_CONTINUOUS:
            return {};
        case cpx::v1::TRADING_STATE_HALTED:
            action = cpx::v1::STATE_ACTION_RESUME;
            break;
        case cpx::v1::TRADING_STATE_CALL_AUCTION:
        case cpx::v1::TRADING_STATE_AUCTION_NO_CANCEL:
            action = cpx::v1::STATE_ACTION_END_AUCTION;
            break;
        default:
            return "instrument " + std::to_string(instrument.instrument_id()) +
                   " is closed; choose another with --instrument";
    }
    cpx::v1::SetTradingStateRequest request;
    request.set_instrument_id(instrument.instrument_id());
    request.set_action(action);
    cpx::v1::Instrument response;
    const grpc::Status status = client.call([&](grpc::ClientContext& context) {
        return client.admin().SetTradingState(&context, request, &response);
    });
    return status.ok() ? std::string() : "SetTradingState: " + describe_status(status);
}

// Finds the instrument or adds it; fills instrument with what the exchange holds.
std::string find_or_add_instrument(OperatorClient& client, const LoadOptions& options,
                                   cpx::v1::Instrument& instrument, std::string& notes) {
    cpx::v1::ListInstrumentsResponse listed;
    const grpc::Status list_status = client.call([&](grpc::ClientContext& context) {
        return client.query().ListInstruments(&context, cpx::v1::ListInstrumentsRequest(), &listed);
    });
    if (list_status.ok()) {
        for (const cpx::v1::Instrument& existing : listed.instruments()) {
            if (existing.instrument_id() == options.instrument_id) {
                instrument = existing;
                notes += "reused instrument " + std::to_string(existing.instrument_id()) + " (" +
                         existing.symbol() + "); ";
                return make_continuous(client, instrument);
            }
        }
    }
    cpx::v1::AddInstrumentRequest request;
    *request.mutable_instrument() = new_instrument(options);
    const grpc::Status add_status = client.call([&](grpc::ClientContext& context) {
        return client.admin().AddInstrument(&context, request, &instrument);
    });
    if (!add_status.ok()) {
        std::string error = "AddInstrument: " + describe_status(add_status);
        if (!list_status.ok()) {
            error += " (and ListInstruments: " + describe_status(list_status) + ")";
        }
        return error;
    }
    // An exchange that echoes only part of the instrument is filled in from the request,
    // so the workload knows the hub, window and price grid it asked for.
    if (instrument.instrument_id() == 0) {
        instrument.set_instrument_id(options.instrument_id);
    }
    if (instrument.hub().empty() || instrument.tick_size_fen() == 0) {
        const std::uint32_t id = instrument.instrument_id();
        instrument = request.instrument();
        instrument.set_instrument_id(id);
    }
    notes += "added instrument " + std::to_string(instrument.instrument_id()) + " (" +
             instrument.symbol() + "); ";
    return {};
}

std::string create_account(OperatorClient& client, const LoadOptions& options,
                           const cpx::v1::Instrument& instrument, const std::string& tag,
                           std::uint32_t index, LoadAccount& out) {
    const bool buyer = index % 2 == 0;
    cpx::v1::CreateAccountRequest create;
    cpx::v1::Account* account = create.mutable_account();
    account->set_name("load-" + tag + (buyer ? "-buyer-" : "-provider-") + std::to_string(index));
    account->set_role(buyer ? cpx::v1::ROLE_BUYER : cpx::v1::ROLE_PROVIDER);
    // Every account its own owner, so no voucher or surveillance rule links them.
    account->set_owner_group("load-" + tag + "-" + std::to_string(index));
    // The exchange's default limits are meant for people; a load run sends far more
    // orders per second per account than any default would let through.
    account->set_order_quantity_max(1'000'000);
    account->set_order_notional_max_fen(1'000'000'000'000);
    account->set_orders_per_second_max(10'000'000);
    cpx::v1::Account created;
    grpc::Status status = client.call([&](grpc::ClientContext& context) {
        return client.admin().CreateAccount(&context, create, &created);
    });
    if (!status.ok()) {
        return "CreateAccount: " + describe_status(status);
    }
    out.account_id = created.account_id();
    out.side = buyer ? cpx::v1::SIDE_BUY : cpx::v1::SIDE_SELL;

    cpx::v1::CreateApiKeyRequest key_request;
    key_request.set_account_id(out.account_id);
    cpx::v1::CreateApiKeyResponse key;
    status = client.call([&](grpc::ClientContext& context) {
        return client.admin().CreateApiKey(&context, key_request, &key);
    });
    if (!status.ok()) {
        return "CreateApiKey: " + describe_status(status);
    }
    out.api_key = key.api_key();

    if (buyer) {
        cpx::v1::CreditDepositRequest deposit;
        deposit.set_account_id(out.account_id);
        deposit.set_amount_fen(options.deposit_fen);
        deposit.set_deposit_id("load-" + tag + "-" + std::to_string(out.account_id));
        cpx::v1::CreditDepositResponse credited;
        status = client.call([&](grpc::ClientContext& context) {
            return client.admin().CreditDeposit(&context, deposit, &credited);
        });
        return status.ok() ? std::string() : "CreditDeposit: " + describe_status(status);
    }
    cpx::v1::RegisterCapacityRequest capacity;
    capacity.set_account_id(out.account_id);
    capacity.set_kind(instrument.kind());
    capacity.set_hub(instrument.hub());
    capacity.set_window_start_ns(instrument.window_start_ns());
    capacity.set_window_end_ns(instrument.window_end_ns());
    capacity.set_token_bundles(options.capacity_units);
    cpx::v1::RegisterCapacityResponse registered;
    status = client.call([&](grpc::ClientContext& context) {
        return client.admin().RegisterCapacity(&context, capacity, &registered);
    });
    return status.ok() ? std::string() : "RegisterCapacity: " + describe_status(status);
}

Market market_of(const cpx::v1::Instrument& instrument, const LoadOptions& options) {
    Market market;
    market.instrument_id = instrument.instrument_id();
    market.tick_fen = std::max<std::int64_t>(instrument.tick_size_fen(), 1);
    market.lot_size = std::max<std::int64_t>(instrument.lot_size(), 1);
    market.price_min_fen = instrument.price_min_fen();
    market.price_max_fen = instrument.price_max_fen();
    market.mid_price_fen = centre_price(instrument, options.mid_price_fen);
    return market;
}

}  // namespace

SetupResult prepare_market(const LoadOptions& options) {
    SetupResult result;
    if (options.raw) {
        result.market = market_of(new_instrument(options), options);
        for (std::uint32_t i = 0; i < options.accounts; ++i) {
            LoadAccount account;
            account.account_id = i + 1;
            account.api_key = "raw-key-" + std::to_string(i + 1);
            account.side = i % 2 == 0 ? cpx::v1::SIDE_BUY : cpx::v1::SIDE_SELL;
            result.market.accounts.push_back(std::move(account));
        }
        result.notes = "raw target: no setup";
        return result;
    }
    const std::shared_ptr<grpc::Channel> channel = make_channel(options.target, -1);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
        result.error = "cannot connect to " + options.target;
        return result;
    }
    OperatorClient client(channel, options.operator_key);
    cpx::v1::Instrument instrument;
    result.error = find_or_add_instrument(client, options, instrument, result.notes);
    if (!result.error.empty()) {
        return result;
    }
    if (instrument.kind() != cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE) {
        result.error = "instrument " + std::to_string(instrument.instrument_id()) +
                       " is not a token bundle; cpx-load registers token-bundle capacity only";
        return result;
    }
    result.market = market_of(instrument, options);
    const std::string tag = run_tag();
    for (std::uint32_t i = 0; i < options.accounts; ++i) {
        LoadAccount account;
        result.error = create_account(client, options, instrument, tag, i, account);
        if (!result.error.empty()) {
            result.error = "account " + std::to_string(i) + ": " + result.error;
            return result;
        }
        result.market.accounts.push_back(std::move(account));
    }
    result.notes += "created " + std::to_string(options.accounts) + " accounts (tag " + tag + ")";
    return result;
}

}  // namespace cpx::load
