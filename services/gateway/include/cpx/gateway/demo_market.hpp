#pragma once
// The demo market behind `cpxd --demo`: a client of cpxd's public API, like any other.
// With the operator's key it lists compute instruments in several hubs and delivery
// windows and a token bundle, admits providers (registering their accelerators) and
// buyers (funding them), then trades as they would: providers offer near the
// reference price, buyers bid and sometimes take, and old orders are cancelled. On a
// durable exchange that has the demo market already, it resumes trading on it.
//
// It also runs the rest of a deal's life, so that a person watching sees it: every few
// seconds each provider confirms what it delivered in windows that have begun (now and
// then only part of it), and the operator runs settlement when something is due. A
// Hohhot spot product, whose delivery window is a short interval starting at the
// listing, settles within minutes when the exchange's dispute period is short (as
// scripts/run.sh sets it), and the Hohhot Big Data Bureau's voucher program pays 30% of
// the compute its buyers were delivered in the Hohhot hub.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace cpx::v1 {
class ListInstrumentsResponse;
}

namespace cpx::gateway {

class DemoMarket {
  public:
    // spot_window_ns: the length of the Hohhot spot product's delivery window (the
    // window starts at the whole multiple of it before the listing).
    DemoMarket(std::string target, std::string operator_key, std::uint32_t orders_per_second,
               std::int64_t spot_window_ns);
    ~DemoMarket();
    DemoMarket(const DemoMarket&) = delete;
    DemoMarket& operator=(const DemoMarket&) = delete;

    // Sets the market up (synchronously; throws std::runtime_error if cpxd refuses),
    // then trades on a thread of its own until stop().
    void start();
    void stop();
    std::uint64_t orders_placed() const { return orders_.load(std::memory_order_relaxed); }

  private:
    struct State;
    // The exchange lists instruments already (a restart of a durable exchange): trade
    // on the demo's instruments and accounts if they are there.
    void resume(const cpx::v1::ListInstrumentsResponse& listed);
    void run();
    // One round of delivery and settlement: bounded work, between orders.
    void settle_round();
    // Registers more spot capacity for the Hohhot provider when little is left unsold.
    void top_up_spot();
    // Logs the voucher program's payments when they changed since the last log.
    void log_program();

    std::string target_;
    std::string operator_key_;
    std::uint32_t orders_per_second_;
    std::int64_t spot_window_ns_;
    std::unique_ptr<State> state_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> orders_{0};
};

}  // namespace cpx::gateway
