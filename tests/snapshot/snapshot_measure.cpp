// Measures the exchange's snapshot at production size: ORDERS resting orders (default
// 1,000,000) over 200 accounts, a full client-id window of 2^20 ids that has wrapped,
// and one report per order in the accounts' logs. Prints the time to build the state by
// applying requests (what a full replay costs, less the journal reading), the snapshot's
// size, and the time to save it, to construct a fresh Exchange and to load it.
//
//   cpx_snapshot_measure [orders]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cpx/matching/snapshot_io.hpp"
#include "scale_market.hpp"

using namespace cpx::exchange;
using namespace cpx::exchange::test;

namespace {

class NullSink final : public OutboundSink {
  public:
    void deliver(const Outbound&) override { ++count; }
    std::uint64_t count = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t orders = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    ExchangeConfig config;  // production defaults: 2^20 orders, 2^20 client ids
    NullSink sink;
    Exchange a(config, sink);
    auto start = std::chrono::steady_clock::now();
    ScaleMarket market(a, 200);
    market.rest(orders);
    const std::uint64_t window = config.client_id_window;
    market.fill_ids(window > orders ? window - orders + 10'000 : 10'000);
    const double build_s = seconds_since(start);

    std::string bytes;
    start = std::chrono::steady_clock::now();
    a.save_snapshot(bytes);
    const double save_s = seconds_since(start);

    start = std::chrono::steady_clock::now();
    auto b = std::make_unique<Exchange>(config, sink);
    const double construct_s = seconds_since(start);
    std::string error;
    start = std::chrono::steady_clock::now();
    const bool ok = b->load_snapshot(bytes, error);
    const double load_s = seconds_since(start);
    if (!ok) {
        std::fprintf(stderr, "load failed: %s\n", error.c_str());
        return 1;
    }
    // The engine's part alone.
    std::string engine_bytes;
    cpx::matching::SnapshotWriter engine_writer(engine_bytes);
    engine_writer.begin();
    a.engine().save(engine_writer);
    engine_writer.finish();
    struct NoEvents final : cpx::matching::EventSink {
        void publish(const cpx::matching::Event*, std::size_t) override {}
    } no_events;
    cpx::matching::Engine engine(cpx::matching::EngineConfig{config.order_capacity}, no_events);
    start = std::chrono::steady_clock::now();
    cpx::matching::SnapshotReader engine_reader(engine_bytes);
    const bool engine_ok = engine_reader.open() && engine.load(engine_reader);
    const double engine_load_s = seconds_since(start);

    const bool same = a.state_hash() == b->state_hash();
    std::string again;
    b->save_snapshot(again);
    std::printf("resting orders      %u\n", a.engine().resting_orders());
    std::printf("build by apply      %.3f s\n", build_s);
    std::printf("snapshot size       %zu bytes (%.1f MB)\n", bytes.size(),
                static_cast<double>(bytes.size()) / 1e6);
    std::printf("save                %.3f s\n", save_s);
    std::printf("construct Exchange  %.3f s\n", construct_s);
    std::printf("load                %.3f s\n", load_s);
    std::printf("engine part         %zu bytes, load %.3f s (%s)\n", engine_bytes.size(),
                engine_load_s, engine_ok ? "ok" : "FAILED");
    std::printf("state hash equal    %s; re-saved bytes equal %s\n", same ? "yes" : "NO",
                again == bytes ? "yes" : "NO");
    return same && again == bytes ? 0 : 1;
}
