// Memory per resting order, all indexes included: builds an engine sized to N orders
// (one million unless told otherwise), lists the benchmark instrument, fills the book
// with N resting orders spread over many price levels on both sides, and reports
// Engine::memory_bytes() / N and the growth of the process's resident set per order.
//
// The resident set is read from /proc/self/statm before the engine is built, after it
// is built and after it is filled; nothing else is allocated in between (the commands
// are made one at a time on the stack and the sink only counts), so the growth is the
// engine's. memory_bytes() counts capacity, so it includes memory the kernel has not
// handed out yet (the GTD expiry heap is reserved but untouched when no order has an
// expiry); the resident set counts what was really touched.
//
// Usage: cpx-bench-memory [orders] [levels per side]

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cpx/matching/engine.hpp"
#include "flow.hpp"
#include "handoff.hpp"

namespace {

using cpx::matching::Command;
using cpx::matching::CommandType;
using cpx::matching::Price;
using cpx::matching::Side;

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size_pages = 0;
    std::uint64_t resident_pages = 0;
    statm >> size_pages >> resident_pages;
    return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

// Bytes per order with two decimals, in integers.
void print_per_order(const char* label, std::uint64_t bytes, std::uint64_t orders) {
    const std::uint64_t hundredths = bytes * 100 / orders;
    std::printf("%-44s %12lu bytes  %4lu.%02lu bytes/order\n", label,
                static_cast<unsigned long>(bytes), static_cast<unsigned long>(hundredths / 100),
                static_cast<unsigned long>(hundredths % 100));
}

bool parse(const char* text, std::uint32_t& out) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(text, &end, 10);
    if (end == text || *end != '\0' || value == 0 || value > 100'000'000ul) {
        return false;
    }
    out = static_cast<std::uint32_t>(value);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint32_t orders = 1'000'000;
    std::uint32_t levels = 20'000;
    if ((argc > 1 && !parse(argv[1], orders)) || (argc > 2 && !parse(argv[2], levels)) ||
        argc > 3) {
        std::fprintf(stderr, "usage: %s [orders] [levels per side]\n", argv[0]);
        return 2;
    }
    const cpx::matching::InstrumentSpec spec = cpx::bench::flow_instrument();
    const Price mid = spec.reference_price;
    if (levels >= mid - spec.price_min || levels > spec.price_max - mid) {
        std::fprintf(stderr, "%u levels per side do not fit in the instrument's ladder\n", levels);
        return 2;
    }

    const std::uint64_t rss_start = resident_bytes();
    cpx::bench::CountingSink sink;
    cpx::matching::Engine engine(cpx::matching::EngineConfig{orders}, sink);
    if (engine.add_instrument(spec) != cpx::matching::Reason::None) {
        std::fprintf(stderr, "the benchmark instrument was refused\n");
        return 1;
    }
    const std::uint64_t rss_built = resident_bytes();

    for (std::uint32_t k = 0; k < orders; ++k) {
        Command c;
        c.type = CommandType::NewOrder;
        c.instrument = spec.id;
        c.order_id = k + 1;
        c.account = 1 + k % 4'096;
        c.side = k % 2 == 0 ? Side::Buy : Side::Sell;
        c.tif = cpx::matching::TimeInForce::GTC;
        // Bids below the mid and asks above it, so nothing trades and every order rests.
        const Price distance = 1 + static_cast<Price>((k / 2) % levels);
        c.price = c.side == Side::Buy ? mid - distance : mid + distance;
        c.quantity = 1 + k % 10;
        c.ts_ns = 1'767'225'600'000'000'000 + static_cast<std::int64_t>(k);
        engine.apply(c);
    }
    const std::uint64_t rss_filled = resident_bytes();
    if (engine.resting_orders() != orders) {
        std::fprintf(stderr, "only %u of %u orders rest\n", engine.resting_orders(), orders);
        return 1;
    }

    std::printf(
        "%u resting orders over %u price levels per side; engine capacity %u orders; "
        "ladder of %ld ticks per side\n",
        orders, levels, orders, static_cast<long>(spec.price_max - spec.price_min + 1));
    print_per_order("Engine::memory_bytes()", engine.memory_bytes(), orders);
    print_per_order("resident set growth, empty engine built", rss_built - rss_start, orders);
    print_per_order("resident set growth, engine built and filled", rss_filled - rss_start, orders);
    print_per_order("resident set growth while filling", rss_filled - rss_built, orders);
    return 0;
}
