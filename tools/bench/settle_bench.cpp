// Settlement end to end: how fast the ledger projector persists trades and their
// settlement into PostgreSQL, and how long the exchange takes to settle them in memory.
//
//   cpx-settle-bench [--database_url URL] [--trades N] [--buyers B] [--providers P]
//                    [--batch N] [--snapshot_every N] [--check 0|1] [--keep 1]
//                    [--migrations_dir DIR] [--setup_sql SQL] [--vouchers 0|1]
//                    [--parallel_reports_min N] [--ceiling_sessions N[,N...]]
//                    [--ceiling_split tables|rows]
//
// In a scratch database (created on the server of --database_url, default the
// CPX_DATABASE_URL environment variable; migrated; dropped at the end unless --keep):
//
//   journal  an in-process Exchange is driven with a simple deterministic flow and every
//            request is journalled to PostgreSQL as cpxd's sequencer does (PgJournal,
//            group commits): an operator, one token-bundle instrument, B funded buyers,
//            P providers with registered capacity and collateral; providers post sells
//            of 1,000 units at 990-999 fen, buyers buy 1-10 units with a limit of 1,010
//            (each buy holds its money, trades against the resting sells at once and
//            posts the cost out of its hold), until N trades; then every obligation is
//            confirmed by its provider, and one RunSettlement past the dispute period
//            settles them all.
//   (a)      the projector catches up the trades (started after they are all
//            journalled): trades persisted per second (an obligations row and the fill's
//            transfers for each);
//   (a2)     the projector catches up the confirmations (an obligation_events row each);
//   (b)      the in-memory time of the RunSettlement request that settles all N;
//   (c)      the projector persists that settlement (per obligation a settled event and
//            two transfers: escrow to the provider, escrow to the fees): trades settled
//            per second.
//
// Each phase prints one line "settle-bench phase=... key=value ..."; a final check
// compares PostgreSQL with the replica (--check 1, the default). --setup_sql runs SQL
// in the scratch database after the migrations, as its owner: for measuring what a
// schema change would do (docs/BENCHMARKS.md used it to drop indexes). --vouchers 1
// gives every buyer a voucher of one program that pays 30% of every deal (an issuer
// account funds it), so that the settlement run also redeems one voucher per obligation
// (one more transfer and one voucher event each): the cost of vouchers in (b) and (c).
// --parallel_reports_min is the projector's (ProjectorConfig): a batch with at least
// that many execution reports writes them on a second session (0: never).
// --ceiling_sessions (off unless given) measures, right after (a), this PostgreSQL's
// ceiling for the same rows (row_ceiling.hpp): the rows (a) wrote, copied again in as
// many batches into bare tables with the same columns and indexes, over each number of
// sessions listed; three sets of tables: everything (a) wrote ("record"), the same
// without the audit log ("no_audit_log"), and the ledger alone ("ledger": accounts,
// transfers, obligations). Each prints "settle-bench phase=ceiling ...". The sessions
// take whole tables (--ceiling_split tables, the default) or a share of every table's
// rows (rows); see CeilingSplit.

#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cpx/exchange/exchange.hpp"
#include "cpx/exchange/payload.hpp"
#include "cpx/journal/pg_journal.hpp"
#include "cpx/projector/ledger_projector.hpp"
#include "cpx/store/database.hpp"
#include "cpx/store/migrations.hpp"
#include "row_ceiling.hpp"

namespace {

using cpx::exchange::Code;
using cpx::exchange::Outbound;
using cpx::exchange::Payload;
using cpx::exchange::Request;
using cpx::exchange::RequestType;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kHourNs = 3'600'000'000'000;
constexpr std::int64_t kStartNs = 1'800'000'000'000'000'000;      // 2027
constexpr std::int64_t kWindowStart = 1'893'456'000'000'000'000;  // 2030
constexpr std::int64_t kWindowEnd = kWindowStart + 10 * kHourNs;

struct Options {
    std::string database_url;
    std::uint64_t trades = 1'000'000;
    std::uint32_t buyers = 1'000;
    std::uint32_t providers = 100;
    std::uint64_t batch = 100'000;
    std::uint64_t snapshot_every = 0;
    bool check = true;
    bool keep = false;
    std::string migrations_dir;
    std::string setup_sql;
    bool vouchers = false;
    std::uint64_t parallel_reports_min = cpx::projector::ProjectorConfig{}.parallel_reports_min;
    std::vector<std::uint32_t> ceiling_sessions;
    cpx::bench::CeilingSplit ceiling_split = cpx::bench::CeilingSplit::Tables;
};

Options parse(int argc, char** argv) {
    Options o;
    if (const char* url = std::getenv("CPX_DATABASE_URL")) {
        o.database_url = url;
    }
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        if (const auto eq = arg.find('='); eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw std::invalid_argument(arg + " needs a value");
        }
        if (arg == "--database_url") {
            o.database_url = value;
        } else if (arg == "--trades") {
            o.trades = std::stoull(value);
        } else if (arg == "--buyers") {
            o.buyers = static_cast<std::uint32_t>(std::stoul(value));
        } else if (arg == "--providers") {
            o.providers = static_cast<std::uint32_t>(std::stoul(value));
        } else if (arg == "--batch") {
            o.batch = std::stoull(value);
        } else if (arg == "--snapshot_every") {
            o.snapshot_every = std::stoull(value);
        } else if (arg == "--check") {
            o.check = value != "0";
        } else if (arg == "--keep") {
            o.keep = value != "0";
        } else if (arg == "--migrations_dir") {
            o.migrations_dir = value;
        } else if (arg == "--setup_sql") {
            o.setup_sql = value;
        } else if (arg == "--vouchers") {
            o.vouchers = value != "0";
        } else if (arg == "--parallel_reports_min") {
            o.parallel_reports_min = std::stoull(value);
        } else if (arg == "--ceiling_split") {
            if (value != "tables" && value != "rows") {
                throw std::invalid_argument("--ceiling_split is tables or rows");
            }
            o.ceiling_split =
                value == "rows" ? cpx::bench::CeilingSplit::Rows : cpx::bench::CeilingSplit::Tables;
        } else if (arg == "--ceiling_sessions") {
            for (std::size_t at = 0; at < value.size();) {
                std::size_t used = 0;
                const unsigned long n = std::stoul(value.substr(at), &used);
                if (n == 0 || n > 64) {
                    throw std::invalid_argument("--ceiling_sessions takes 1 to 64 sessions");
                }
                o.ceiling_sessions.push_back(static_cast<std::uint32_t>(n));
                at += used;
                if (at < value.size() && value[at] == ',') {
                    ++at;
                }
            }
        } else {
            throw std::invalid_argument("unknown flag " + arg + " (see the file's header)");
        }
    }
    if (o.database_url.empty()) {
        throw std::invalid_argument("--database_url (or CPX_DATABASE_URL) is needed");
    }
    if (o.trades == 0 || o.buyers == 0 || o.providers == 0 || o.batch == 0) {
        throw std::invalid_argument("--trades, --buyers, --providers and --batch must be > 0");
    }
    return o;
}

cpx::exchange::ExchangeConfig exchange_config(const Options& o) {
    cpx::exchange::ExchangeConfig c;
    c.order_capacity = 1u << 16;
    c.client_id_window = 1u << 16;
    c.report_retention = 1u << 10;
    c.orders_per_second_max_default = 1'000'000'000;
    c.accounts_max = o.buyers + o.providers + 16;
    c.obligations_max =
        static_cast<std::uint32_t>(std::max<std::uint64_t>(o.trades + 16, 1u << 16));
    return c;
}

// Counts the buyers' fills: one per trade.
class CountingSink final : public cpx::exchange::OutboundSink {
  public:
    void deliver(const Outbound& out) override {
        if (out.kind == cpx::exchange::OutKind::Fill && out.side == cpx::matching::Side::Buy) {
            ++trades;
        }
        if (out.kind == cpx::exchange::OutKind::Reply ||
            out.kind == cpx::exchange::OutKind::Report) {
            last_code = out.code;
        }
    }
    std::uint64_t trades = 0;
    Code last_code = Code::None;
};

cpx::exchange::KeyHash key_of(std::uint32_t n) {
    cpx::exchange::KeyHash key{};
    key.fill(0x42);
    std::memcpy(key.data(), &n, sizeof n);
    return key;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string query_value(const std::string& url, const std::string& sql) {
    PGconn* conn = PQconnectdb(url.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        const std::string error = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("cannot connect: " + error);
    }
    PGresult* r = PQexec(conn, sql.c_str());
    std::string value;
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string error = PQresultErrorMessage(r);
    if (ok && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
        value = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    PQfinish(conn);
    if (!ok) {
        throw std::runtime_error(sql + ": " + error);
    }
    return value;
}

// The journal: drives the exchange and journals every request.
class Driver {
  public:
    Driver(const Options& o, const std::string& url)
        : options_(o), exchange_(exchange_config(o), sink_), journal_(journal_config(url)) {
        journal_.recover([&](const Request& r) { exchange_.apply(r); },
                         [&] { return exchange_.state_hash(); });
        journal_.start();
    }
    ~Driver() { journal_.stop(); }

    Code submit(Request r) {
        now_ += 1'000;
        r.ts_ns = now_;
        // Order commands carry the gateway's receipt time, as cpxd journals them.
        if (r.type == RequestType::NewOrder || r.type == RequestType::Cancel) {
            r.received_ns = now_ - 50'000;
        }
        journal_.append(r);
        exchange_.apply(r);
        return sink_.last_code;
    }
    void wait_durable() {
        const std::uint64_t last = journal_.next_seq() - 1;
        while (journal_.durable_seq() < last) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    std::uint64_t last_seq() const { return journal_.next_seq() - 1; }
    cpx::exchange::Exchange& exchange() { return exchange_; }
    std::uint64_t trades() const { return sink_.trades; }
    void set_now(std::int64_t now) { now_ = now; }

    void admin(RequestType type, Payload& p, cpx::exchange::AccountId account = 0) {
        Request r;
        r.type = type;
        r.key_hash = key_of(1);
        r.payload = &p;
        r.account = account;
        const Code code = submit(r);
        if (code != Code::None) {
            throw std::runtime_error("setup request " + std::to_string(static_cast<int>(type)) +
                                     " refused: " + std::string(cpx::exchange::code_name(code)));
        }
    }

    // The operator, the instrument, funded buyers, providers with capacity and collateral.
    void setup() {
        Payload p;
        p.account.name = "operator";
        p.new_key_hash = key_of(1);
        Request boot;
        boot.type = RequestType::Bootstrap;
        boot.payload = &p;
        submit(boot);
        p = Payload{};
        cpx::matching::InstrumentSpec& spec = p.instrument;
        spec.id = 1;
        spec.symbol = cpx::matching::FixedText<32>::from("HOHHOT-TOKENS-SETTLE");
        spec.kind = cpx::matching::InstrumentKind::TokenBundle;
        spec.hub = cpx::matching::FixedText<16>::from("HOHHOT");
        spec.unit = cpx::matching::FixedText<16>::from("1M-tokens");
        spec.window_start_ns = kWindowStart;
        spec.window_end_ns = kWindowEnd;
        spec.tick_size = 1;
        spec.lot_size = 1;
        spec.quantity_min = 1;
        spec.quantity_max = 1'000'000;
        spec.price_min = 1;
        spec.price_max = 100'000;
        spec.market_protection_ticks = 100;
        spec.initial_state = cpx::matching::TradingState::Continuous;
        admin(RequestType::AddInstrument, p);
        const auto make = [&](bool buyer, std::uint32_t n) {
            p = Payload{};
            p.account.name = (buyer ? "buyer-" : "provider-") + std::to_string(n);
            p.account.role = buyer ? cpx::exchange::Role::Buyer : cpx::exchange::Role::Provider;
            admin(RequestType::CreateAccount, p);
            const cpx::exchange::AccountId id = p.account.id;
            const std::uint32_t key = (buyer ? 100'000 : 200'000) + n;
            p = Payload{};
            p.new_key_hash = key_of(key);
            admin(RequestType::CreateApiKey, p, id);
            p = Payload{};
            if (buyer) {
                p.amount_fen = 100'000'000'000;  // 1 billion CNY
                p.deposit_id = "deposit-" + std::to_string(n);
                admin(RequestType::CreditDeposit, p, id);
            } else {
                p.capacity.kind = cpx::matching::InstrumentKind::TokenBundle;
                p.capacity.hub = "HOHHOT";
                p.capacity.window_start_ns = kWindowStart;
                p.capacity.window_end_ns = kWindowEnd;
                p.capacity.token_bundles = 1'000'000'000;
                admin(RequestType::RegisterCapacity, p, id);
                p = Payload{};
                p.amount_fen = 10'000'000'000;
                p.deposit_id = "collateral-" + std::to_string(n);
                admin(RequestType::CreditCollateral, p, id);
            }
            return key;
        };
        for (std::uint32_t b = 0; b < options_.buyers; ++b) {
            buyer_keys_.push_back(make(true, b));
        }
        for (std::uint32_t v = 0; v < options_.providers; ++v) {
            provider_keys_.push_back(make(false, v));
        }
        if (options_.vouchers) {
            setup_vouchers();
        }
    }

    // An issuer after the providers (so that provider n stays account 2 + buyers + n),
    // one program paying 30% of every deal, and a voucher for every buyer that no run
    // of this benchmark can use up.
    void setup_vouchers() {
        Payload p;
        p.account.name = "issuer";
        p.account.role = cpx::exchange::Role::Issuer;
        admin(RequestType::CreateAccount, p);
        const cpx::exchange::AccountId issuer = p.account.id;
        p = Payload{};
        p.amount_fen = 1'000'000'000'000'000;
        p.deposit_id = "issuer-budget";
        admin(RequestType::CreditDeposit, p, issuer);
        p = Payload{};
        p.program.issuer = issuer;
        p.program.name = "bench program";
        p.program.budget_fen = 1'000'000'000'000'000;
        p.program.share_bps = 3'000;
        p.program.valid_from_ns = 0;
        p.program.valid_until_ns = kWindowEnd + 365 * 24 * kHourNs;
        admin(RequestType::CreateVoucherProgram, p);
        const std::uint32_t program = p.programs.at(0).spec.id;
        for (std::uint32_t b = 0; b < options_.buyers; ++b) {
            p = Payload{};
            p.program_id = program;
            p.voucher_face_fen = 1'000'000'000'000;
            p.voucher_expiry_ns = kWindowEnd + 365 * 24 * kHourNs;
            p.voucher_ref = "buyer-" + std::to_string(b);
            admin(RequestType::GrantVoucher, p, 2 + b);
        }
    }

    // Sells rest; every buy trades against them at once.
    void trade() {
        std::uint64_t random = 20261130;
        const auto next = [&] {
            random = random * 6364136223846793005ull + 1442695040888963407ull;
            return random >> 33;
        };
        std::int64_t resting = 0;  // units offered and not yet bought
        std::uint64_t orders = 0;
        std::uint32_t provider = 0;
        while (sink_.trades < options_.trades) {
            const auto quantity = static_cast<std::int64_t>(1 + next() % 10);
            if (resting < quantity) {
                Request sell;
                sell.type = RequestType::NewOrder;
                sell.key_hash = key_of(provider_keys_[provider++ % provider_keys_.size()]);
                sell.side = cpx::matching::Side::Sell;
                sell.instrument = 1;
                sell.price = 990 + static_cast<std::int64_t>(next() % 10);
                sell.quantity = 1'000;
                sell.client_order_id =
                    cpx::exchange::ClientOrderId::from("s" + std::to_string(orders++));
                submit(sell);
                resting += sell.quantity;
            }
            Request buy;
            buy.type = RequestType::NewOrder;
            buy.key_hash = key_of(buyer_keys_[next() % buyer_keys_.size()]);
            buy.side = cpx::matching::Side::Buy;
            buy.instrument = 1;
            buy.price = 1'010;
            buy.quantity = quantity;
            buy.client_order_id =
                cpx::exchange::ClientOrderId::from("b" + std::to_string(orders++));
            submit(buy);
            resting -= quantity;
        }
    }

    // Every provider confirms every obligation in full.
    void confirm() {
        const std::vector<cpx::exchange::Obligation> open = exchange_.open_obligations();
        Payload p;
        for (const cpx::exchange::Obligation& o : open) {
            p.obligation_id = o.id;
            p.delivered_quantity = o.quantity;
            p.obligations.clear();
            Request r;
            r.type = RequestType::ConfirmDelivery;
            // Provider n is account 2 + buyers + n (the operator is 1).
            r.key_hash = key_of(provider_keys_[o.provider - 2 - options_.buyers]);
            r.payload = &p;
            if (submit(r) != Code::None) {
                throw std::runtime_error("a confirmation was refused");
            }
        }
    }

    // One RunSettlement past the dispute period; returns its in-memory time.
    double settle(cpx::exchange::SettlementRunResult& result) {
        now_ = kWindowEnd + exchange_.settlement_rules().dispute_period_ns + 1;
        Payload p;
        Request r;
        r.type = RequestType::RunSettlement;
        r.key_hash = key_of(1);
        r.payload = &p;
        r.ts_ns = now_;
        journal_.append(r);  // appended first, as the sequencer does; not timed
        const Clock::time_point start = Clock::now();
        exchange_.apply(r);
        const double seconds = seconds_since(start);
        result = p.settlement;
        return seconds;
    }

  private:
    static cpx::journal::PgJournalConfig journal_config(const std::string& url) {
        cpx::journal::PgJournalConfig c;
        c.database_url = url;
        return c;
    }

    const Options& options_;
    CountingSink sink_;
    cpx::exchange::Exchange exchange_;
    cpx::journal::PgJournal journal_;
    std::int64_t now_ = kStartNs;
    std::vector<std::uint32_t> buyer_keys_;
    std::vector<std::uint32_t> provider_keys_;
};

void print_projection(const char* phase, double seconds, std::uint64_t units, const char* unit,
                      const cpx::projector::ProjectorStats& before,
                      const cpx::projector::ProjectorStats& after) {
    const auto delta = [](const std::atomic<std::uint64_t>& a,
                          const std::atomic<std::uint64_t>& b) { return b.load() - a.load(); };
    const std::uint64_t transfers = delta(before.transfers, after.transfers);
    const std::uint64_t obligations = delta(before.obligations, after.obligations);
    const std::uint64_t events = delta(before.obligation_events, after.obligation_events);
    const std::uint64_t voucher_events = delta(before.voucher_events, after.voucher_events);
    const std::uint64_t rows =
        transfers + obligations + events + voucher_events + delta(before.accounts, after.accounts);
    std::printf(
        "settle-bench phase=%s seconds=%.3f %s=%llu %s_per_s=%.0f rows=%llu rows_per_s=%.0f "
        "transfers=%llu transfers_netted=%llu obligations=%llu obligation_events=%llu "
        "voucher_events=%llu batches=%llu read_apply_s=%.3f copy_transfers_s=%.3f "
        "copy_obligations_s=%.3f copy_events_s=%.3f copy_vouchers_s=%.3f audit_records=%llu "
        "alerts=%llu reports=%llu copy_reports_s=%.3f wait_reports_s=%.3f copy_audit_s=%.3f "
        "commit_s=%.3f "
        "snapshots=%llu snapshot_take_s=%.3f "
        "snapshot_write_s=%.3f\n",
        phase, seconds, unit, static_cast<unsigned long long>(units), unit,
        static_cast<double>(units) / seconds, static_cast<unsigned long long>(rows),
        static_cast<double>(rows) / seconds, static_cast<unsigned long long>(transfers),
        static_cast<unsigned long long>(delta(before.transfers_netted, after.transfers_netted)),
        static_cast<unsigned long long>(obligations), static_cast<unsigned long long>(events),
        static_cast<unsigned long long>(voucher_events),
        static_cast<unsigned long long>(delta(before.batches, after.batches)),
        static_cast<double>(delta(before.read_apply_us, after.read_apply_us)) / 1e6,
        static_cast<double>(delta(before.copy_transfers_us, after.copy_transfers_us)) / 1e6,
        static_cast<double>(delta(before.copy_obligations_us, after.copy_obligations_us)) / 1e6,
        static_cast<double>(delta(before.copy_events_us, after.copy_events_us)) / 1e6,
        static_cast<double>(delta(before.copy_vouchers_us, after.copy_vouchers_us)) / 1e6,
        static_cast<unsigned long long>(delta(before.audit_records, after.audit_records)),
        static_cast<unsigned long long>(delta(before.alerts, after.alerts)),
        static_cast<unsigned long long>(delta(before.reports, after.reports)),
        static_cast<double>(delta(before.copy_reports_us, after.copy_reports_us)) / 1e6,
        static_cast<double>(delta(before.wait_reports_us, after.wait_reports_us)) / 1e6,
        static_cast<double>(delta(before.copy_audit_us, after.copy_audit_us)) / 1e6,
        static_cast<double>(delta(before.commit_us, after.commit_us)) / 1e6,
        static_cast<unsigned long long>(delta(before.snapshots, after.snapshots)),
        static_cast<double>(delta(before.snapshot_take_us, after.snapshot_take_us)) / 1e6,
        static_cast<double>(delta(before.snapshot_write_us, after.snapshot_write_us)) / 1e6);
    std::fflush(stdout);
}

// A copy of the counters (they are atomics), for differences between phases.
void snapshot_stats(const cpx::projector::ProjectorStats& from,
                    cpx::projector::ProjectorStats& to) {
    const auto copy = [](const auto& a, auto& b) { b.store(a.load()); };
    copy(from.batches, to.batches);
    copy(from.requests, to.requests);
    copy(from.accounts, to.accounts);
    copy(from.transfers, to.transfers);
    copy(from.transfers_netted, to.transfers_netted);
    copy(from.obligations, to.obligations);
    copy(from.obligation_events, to.obligation_events);
    copy(from.voucher_events, to.voucher_events);
    copy(from.copy_vouchers_us, to.copy_vouchers_us);
    copy(from.audit_records, to.audit_records);
    copy(from.alerts, to.alerts);
    copy(from.reports, to.reports);
    copy(from.copy_reports_us, to.copy_reports_us);
    copy(from.wait_reports_us, to.wait_reports_us);
    copy(from.copy_audit_us, to.copy_audit_us);
    copy(from.read_apply_us, to.read_apply_us);
    copy(from.copy_accounts_us, to.copy_accounts_us);
    copy(from.copy_transfers_us, to.copy_transfers_us);
    copy(from.copy_obligations_us, to.copy_obligations_us);
    copy(from.copy_events_us, to.copy_events_us);
    copy(from.commit_us, to.commit_us);
    copy(from.snapshots, to.snapshots);
    copy(from.snapshot_take_us, to.snapshot_take_us);
    copy(from.snapshot_write_us, to.snapshot_write_us);
}

// This PostgreSQL's ceiling for the rows phase (a) wrote (see --ceiling_sessions).
void measure_ceiling(const Options& o, const std::string& url, std::uint64_t trades,
                     std::uint64_t batches) {
    const std::vector<std::string> ledger = {"ledger_accounts", "transfers", "obligations"};
    std::vector<std::string> no_audit_log = ledger;
    no_audit_log.insert(no_audit_log.end(), {"execution_reports", "surveillance_alerts"});
    std::vector<std::string> record = no_audit_log;
    record.insert(record.end(), {"audit_log", "audit_subtrees", "audit_checkpoints"});
    const Clock::time_point start = Clock::now();
    const cpx::bench::RowCeiling ceiling(url, record);
    std::printf("settle-bench phase=ceiling_read seconds=%.3f", seconds_since(start));
    for (const std::string& table : record) {
        std::printf(" %s=%llu", table.c_str(),
                    static_cast<unsigned long long>(ceiling.rows(table)));
    }
    std::printf("\n");
    std::fflush(stdout);
    const std::pair<const char*, const std::vector<std::string>*> sets[] = {
        {"record", &record}, {"no_audit_log", &no_audit_log}, {"ledger", &ledger}};
    for (const std::uint32_t sessions : o.ceiling_sessions) {
        for (const auto& [name, tables] : sets) {
            const cpx::bench::CeilingResult r = ceiling.measure(
                cpx::bench::CeilingRun{*tables, sessions, o.ceiling_split}, batches);
            std::printf(
                "settle-bench phase=ceiling tables=%s sessions=%u split=%s batches=%llu "
                "seconds=%.3f trades_per_s=%.0f rows=%llu rows_per_s=%.0f\n",
                name, sessions,
                o.ceiling_split == cpx::bench::CeilingSplit::Rows ? "rows" : "tables",
                static_cast<unsigned long long>(batches), r.seconds,
                static_cast<double>(trades) / r.seconds, static_cast<unsigned long long>(r.rows),
                static_cast<double>(r.rows) / r.seconds);
            std::fflush(stdout);
        }
    }
}

int run(const Options& o) {
    const std::string scratch = "cpx_settle_bench_" + std::to_string(getpid());
    query_value(o.database_url, "DROP DATABASE IF EXISTS " + scratch);
    query_value(o.database_url, "CREATE DATABASE " + scratch);
    int status = 0;
    try {
        const std::string url = cpx::store::url_with_database(o.database_url, scratch);
        {
            const auto connection = cpx::store::connect(url);
            cpx::store::migrate(*connection, cpx::store::load_migrations(
                                                 o.migrations_dir.empty()
                                                     ? cpx::store::default_migrations_dir()
                                                     : std::filesystem::path(o.migrations_dir)));
        }
        if (!o.setup_sql.empty()) {
            query_value(url, o.setup_sql);
            std::printf("settle-bench setup_sql=\"%s\"\n", o.setup_sql.c_str());
        }
        std::printf("settle-bench server=%s synchronous_commit=%s fsync=%s database=%s\n",
                    query_value(url, "SHOW server_version").c_str(),
                    query_value(url, "SHOW synchronous_commit").c_str(),
                    query_value(url, "SHOW fsync").c_str(), scratch.c_str());

        Driver driver(o, url);
        Clock::time_point start = Clock::now();
        driver.setup();
        driver.trade();
        driver.wait_durable();
        const std::uint64_t trades = driver.trades();
        const std::uint64_t trade_seq = driver.last_seq();
        std::printf("settle-bench phase=journal_trades seconds=%.3f requests=%llu trades=%llu\n",
                    seconds_since(start), static_cast<unsigned long long>(trade_seq),
                    static_cast<unsigned long long>(trades));
        std::fflush(stdout);

        cpx::projector::ProjectorConfig config;
        config.database_url = url;
        config.exchange = exchange_config(o);
        config.batch_requests_max = o.batch;
        config.snapshot_every = o.snapshot_every;
        config.parallel_reports_min = o.parallel_reports_min;
        cpx::projector::LedgerProjector projector(config);
        projector.start_from_database();
        cpx::projector::ProjectorStats before;
        snapshot_stats(projector.stats(), before);

        // (a) the trades.
        start = Clock::now();
        projector.project_available();
        print_projection("a_project_trades", seconds_since(start), trades, "trades", before,
                         projector.stats());
        if (!o.ceiling_sessions.empty()) {
            measure_ceiling(o, url, trades, projector.stats().batches.load() - before.batches);
        }
        snapshot_stats(projector.stats(), before);

        // The confirmations, journalled, then (a2) projected.
        start = Clock::now();
        driver.confirm();
        driver.wait_durable();
        std::printf("settle-bench phase=journal_confirmations seconds=%.3f requests=%llu\n",
                    seconds_since(start),
                    static_cast<unsigned long long>(driver.last_seq() - trade_seq));
        std::fflush(stdout);
        start = Clock::now();
        projector.project_available();
        print_projection("a2_project_confirmations", seconds_since(start), trades, "confirmations",
                         before, projector.stats());
        snapshot_stats(projector.stats(), before);

        // (b) the settlement run, in memory.
        cpx::exchange::SettlementRunResult result;
        const double settle_s = driver.settle(result);
        std::uint64_t redemptions = 0;
        for (const cpx::exchange::VoucherProgramView& v : driver.exchange().voucher_programs()) {
            redemptions += v.redemptions;
        }
        std::printf(
            "settle-bench phase=b_run_settlement_in_memory seconds=%.3f settled=%llu failed=%llu "
            "settled_per_s=%.0f paid_fen=%lld fee_fen=%lld voucher_redemptions=%llu\n",
            settle_s, static_cast<unsigned long long>(result.settled),
            static_cast<unsigned long long>(result.failed),
            static_cast<double>(result.settled) / settle_s,
            static_cast<long long>(result.amounts.paid_fen),
            static_cast<long long>(result.amounts.fee_fen),
            static_cast<unsigned long long>(redemptions));
        std::fflush(stdout);
        driver.wait_durable();

        // (c) the settlement, persisted.
        start = Clock::now();
        projector.project_available();
        print_projection("c_project_settlement", seconds_since(start), result.settled,
                         "trades_settled", before, projector.stats());

        if (o.check) {
            start = Clock::now();
            const cpx::projector::DatabaseCheck check = projector.check_against_database(false);
            const bool same_state =
                projector.replica().state_hash() == driver.exchange().state_hash();
            std::printf(
                "settle-bench phase=check seconds=%.3f ok=%d accounts=%llu "
                "open_obligations=%llu replica_hash_equal=%d%s%s\n",
                seconds_since(start), check.ok() ? 1 : 0,
                static_cast<unsigned long long>(check.accounts),
                static_cast<unsigned long long>(check.open_obligations), same_state ? 1 : 0,
                check.ok() ? "" : " first_problem=",
                check.ok() ? "" : check.problems.front().c_str());
            if (!check.ok() || !same_state) {
                status = 1;
            }
        }
        std::printf("settle-bench database_bytes=%s\n",
                    query_value(url, "SELECT pg_database_size(current_database())").c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpx-settle-bench: %s\n", e.what());
        status = 1;
    }
    if (!o.keep) {
        query_value(o.database_url, "DROP DATABASE IF EXISTS " + scratch + " WITH (FORCE)");
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cpx-settle-bench: %s\n", e.what());
        return 2;
    }
}
