// The durable journal on its own, without gRPC: how fast the exchange's requests become
// durable in PostgreSQL, and how fast a restart rebuilds the exchange from them.
//
//   cpx-journal-bench --database_url URL --orders N [--accounts A] [--mode write|recover|both]
//
// write:   applies a market's setup and then N order commands (new orders that rest,
//          cross and trade, IOC orders, cancels) to an Exchange, appending each to the
//          PostgreSQL journal as the sequencer does, and waits until the last is durable.
//          Prints requests per second and the journal's group commits.
// recover: builds a fresh Exchange from the journal, as cpxd does at start, checking
//          the recorded state hashes. Prints the restart time.
//
// The database must be empty for write (a fresh one: createdb, then cpxd migrate).
// Every run is bounded by --seconds_max.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/payload.hpp"
#include "cpx/journal/pg_journal.hpp"

namespace {

using cpx::exchange::Outbound;
using cpx::exchange::Payload;
using cpx::exchange::Request;
using cpx::exchange::RequestType;

constexpr std::int64_t kHourNs = 3'600'000'000'000;
constexpr std::int64_t kWindowStart = 1'893'456'000'000'000'000;  // 2030

struct Options {
    std::string database_url;
    std::string mode = "both";
    std::uint64_t orders = 1'000'000;
    std::uint32_t accounts = 8;
    std::int64_t seconds_max = 600;
};

Options parse(int argc, char** argv) {
    Options o;
    if (const char* url = std::getenv("CPX_DATABASE_URL")) {
        o.database_url = url;
    }
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw std::invalid_argument(arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--database_url") {
            o.database_url = value();
        } else if (arg == "--mode") {
            o.mode = value();
        } else if (arg == "--orders") {
            o.orders = std::stoull(value());
        } else if (arg == "--accounts") {
            o.accounts = static_cast<std::uint32_t>(std::stoul(value()));
        } else if (arg == "--seconds_max") {
            o.seconds_max = std::stoll(value());
        } else {
            throw std::invalid_argument("unknown flag " + arg + " (see the file's header)");
        }
    }
    if (o.database_url.empty()) {
        throw std::invalid_argument("--database_url (or CPX_DATABASE_URL) is needed");
    }
    if (o.accounts < 2 || o.mode.empty()) {
        throw std::invalid_argument("--accounts must be at least 2");
    }
    return o;
}

cpx::exchange::ExchangeConfig exchange_config() {
    cpx::exchange::ExchangeConfig c;
    c.order_capacity = 1u << 20;
    c.client_id_window = 1u << 20;
    c.report_retention = 1u << 12;
    c.orders_per_second_max_default = 100'000'000;
    return c;
}

// Keeps the ids of orders that rest, for the cancels of the flow.
class RestingSink final : public cpx::exchange::OutboundSink {
  public:
    void deliver(const Outbound& out) override {
        if (out.kind == cpx::exchange::OutKind::Report &&
            out.exec == cpx::exchange::ExecType::New && out.leaves > 0) {
            resting[next++ % resting.size()] = out.order_id;
        }
        if (out.kind == cpx::exchange::OutKind::Fill) {
            ++fills;
        }
        if (out.kind == cpx::exchange::OutKind::Report &&
            out.exec == cpx::exchange::ExecType::Rejected) {
            ++rejects;
            if (out.code != cpx::exchange::from_engine(cpx::matching::Reason::UnknownOrder)) {
                last_reject = out.code;
            }
        }
    }
    std::vector<cpx::exchange::OrderId> resting = std::vector<cpx::exchange::OrderId>(4096, 0);
    std::uint64_t next = 0;
    std::uint64_t fills = 0;
    std::uint64_t rejects = 0;
    cpx::exchange::Code last_reject = cpx::exchange::Code::None;
};

cpx::exchange::KeyHash key_of(std::uint32_t n) {
    cpx::exchange::KeyHash key{};
    key.fill(0x33);
    std::memcpy(key.data(), &n, sizeof n);
    return key;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void write(const Options& o) {
    RestingSink sink;
    cpx::exchange::Exchange exchange(exchange_config(), sink);
    cpx::journal::PgJournalConfig config;
    config.database_url = o.database_url;
    cpx::journal::PgJournal journal(config);
    const auto recovered = journal.recover([&](const Request& r) { exchange.apply(r); },
                                           [&] { return exchange.state_hash(); });
    if (recovered.last_seq != 0) {
        throw std::runtime_error("write needs an empty journal; this one ends at seq " +
                                 std::to_string(recovered.last_seq));
    }
    journal.start();
    std::int64_t now = 1'800'000'000'000'000'000;
    const auto submit = [&](Request r) {
        r.ts_ns = now;
        journal.append(r);
        exchange.apply(r);
    };

    // The market: an operator, one token-bundle instrument, funded buyers and providers
    // with capacity, each trading on a logged-on stream.
    Payload payload;
    payload.account.name = "operator";
    payload.new_key_hash = key_of(1);
    Request admin;
    admin.payload = &payload;
    admin.type = RequestType::Bootstrap;
    submit(admin);
    admin.key_hash = key_of(1);
    payload = Payload{};
    cpx::matching::InstrumentSpec& spec = payload.instrument;
    spec.id = 1;
    spec.symbol = cpx::matching::FixedText<32>::from("HOHHOT-TOKENS-BENCH");
    spec.kind = cpx::matching::InstrumentKind::TokenBundle;
    spec.hub = cpx::matching::FixedText<16>::from("HOHHOT");
    spec.unit = cpx::matching::FixedText<16>::from("1M-tokens");
    spec.window_start_ns = kWindowStart;
    spec.window_end_ns = kWindowStart + 10 * kHourNs;
    spec.tick_size = 1;
    spec.lot_size = 1;
    spec.quantity_min = 1;
    spec.quantity_max = 1'000'000;
    spec.price_min = 1;
    spec.price_max = 1'000'000;
    spec.market_protection_ticks = 100;
    spec.initial_state = cpx::matching::TradingState::Continuous;
    admin.type = RequestType::AddInstrument;
    submit(admin);
    std::vector<cpx::exchange::SessionId> sessions;
    for (std::uint32_t a = 0; a < o.accounts; ++a) {
        const bool buyer = a % 2 == 0;
        payload = Payload{};
        payload.account.name = (buyer ? "buyer-" : "provider-") + std::to_string(a);
        payload.account.role = buyer ? cpx::exchange::Role::Buyer : cpx::exchange::Role::Provider;
        admin.type = RequestType::CreateAccount;
        admin.account = 0;
        submit(admin);
        const cpx::exchange::AccountId id = payload.account.id;
        payload = Payload{};
        payload.new_key_hash = key_of(100 + a);
        admin.type = RequestType::CreateApiKey;
        admin.account = id;
        submit(admin);
        payload = Payload{};
        if (buyer) {
            payload.amount_fen = 1'000'000'000'000'000;
            payload.deposit_id = "bench-" + std::to_string(a);
            admin.type = RequestType::CreditDeposit;
        } else {
            payload.capacity.kind = cpx::matching::InstrumentKind::TokenBundle;
            payload.capacity.hub = "HOHHOT";
            payload.capacity.window_start_ns = kWindowStart;
            payload.capacity.window_end_ns = kWindowStart + 10 * kHourNs;
            payload.capacity.token_bundles = 1'000'000'000;
            admin.type = RequestType::RegisterCapacity;
        }
        submit(admin);
        Request logon;
        logon.type = RequestType::Logon;
        logon.key_hash = key_of(100 + a);
        submit(logon);
        sessions.push_back(sessions.size() + 1);
    }

    // The flow: buyers bid 9,950-10,049 fen and providers ask 9,960-10,059, so that
    // orders rest, cross and trade; a third are IOC, and one command in five cancels a
    // resting order.
    std::mt19937_64 random(20261130);
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t commands = 0;
    for (std::uint64_t i = 0; i < o.orders; ++i) {
        now += 1'000;
        const std::uint32_t a = static_cast<std::uint32_t>(random() % o.accounts);
        Request r;
        r.session = sessions[a];
        r.client_order_id = cpx::exchange::ClientOrderId::from("b" + std::to_string(i));
        if (random() % 5 == 0 && sink.next > 0) {
            r.type = RequestType::Cancel;
            r.instrument = 1;
            r.order_id = sink.resting[random() % std::min<std::uint64_t>(sink.next, 4096)];
        } else {
            const bool buyer = a % 2 == 0;
            r.type = RequestType::NewOrder;
            r.instrument = 1;
            r.side = buyer ? cpx::matching::Side::Buy : cpx::matching::Side::Sell;
            r.price = (buyer ? 9'950 : 9'960) + static_cast<std::int64_t>(random() % 100);
            r.quantity = 1 + static_cast<std::int64_t>(random() % 10);
            r.tif = random() % 3 == 0 ? cpx::matching::TimeInForce::IOC
                                      : cpx::matching::TimeInForce::GTC;
        }
        submit(r);
        ++commands;
        if (commands % 1'000'000 == 0) {
            journal.checkpoint(exchange.state_hash());
        }
        if (seconds_since(started) > static_cast<double>(o.seconds_max)) {
            std::fprintf(stderr, "stopped at --seconds_max after %llu commands\n",
                         static_cast<unsigned long long>(commands));
            break;
        }
    }
    journal.checkpoint(exchange.state_hash());
    const double applied_s = seconds_since(started);
    const std::uint64_t last = journal.next_seq() - 1;
    while (journal.durable_seq() < last) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const double durable_s = seconds_since(started);
    journal.stop();
    const auto& stats = journal.stats();
    std::printf(
        "write: %llu commands (%llu fills, %u resting) applied in %.2f s, durable in %.2f s: "
        "%.0f commands/s durable; %llu group commits, largest %llu requests, %.1f bytes a "
        "row\n",
        static_cast<unsigned long long>(commands), static_cast<unsigned long long>(sink.fills),
        exchange.live_orders(), applied_s, durable_s, static_cast<double>(commands) / durable_s,
        static_cast<unsigned long long>(stats.commits.load()),
        static_cast<unsigned long long>(stats.batch_records_max.load()),
        static_cast<double>(stats.bytes.load()) / static_cast<double>(stats.records.load()));
    std::printf("rejects %llu (other than unknown orders: %s); state hash %016llx\n",
                static_cast<unsigned long long>(sink.rejects),
                std::string(cpx::exchange::code_name(sink.last_reject)).c_str(),
                static_cast<unsigned long long>(exchange.state_hash()));
}

void recover(const Options& o) {
    RestingSink sink;
    cpx::exchange::Exchange exchange(exchange_config(), sink);
    cpx::journal::PgJournalConfig config;
    config.database_url = o.database_url;
    cpx::journal::PgJournal journal(config);
    const auto started = std::chrono::steady_clock::now();
    const auto report = journal.recover([&](const Request& r) { exchange.apply(r); },
                                        [&] { return exchange.state_hash(); });
    const double s = seconds_since(started);
    std::printf(
        "recover: %llu requests replayed in %.2f s (%.0f a second), %llu checkpoints "
        "matched, %u orders resting; state hash %016llx\n",
        static_cast<unsigned long long>(report.replayed), s,
        static_cast<double>(report.replayed) / s,
        static_cast<unsigned long long>(report.checkpoints_checked), exchange.live_orders(),
        static_cast<unsigned long long>(exchange.state_hash()));
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options o = parse(argc, argv);
        if (o.mode == "write" || o.mode == "both") {
            write(o);
        }
        if (o.mode == "recover" || o.mode == "both") {
            recover(o);
        }
        if (o.mode != "write" && o.mode != "recover" && o.mode != "both") {
            throw std::invalid_argument("--mode is write, recover or both");
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpx-journal-bench: %s\n", e.what());
        return 1;
    }
}
