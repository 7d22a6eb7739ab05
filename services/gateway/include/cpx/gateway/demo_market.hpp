#pragma once
// The demo market behind `cpxd --demo`: a client of cpxd's public API, like any other.
// With the operator's key it lists compute instruments in several hubs and delivery
// windows and a token bundle, admits providers (registering their accelerators) and
// buyers (funding them), then trades as they would: providers offer near the
// reference price, buyers bid and sometimes take, and old orders are cancelled. On a
// durable exchange that has the demo market already, it resumes trading on it.

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
    DemoMarket(std::string target, std::string operator_key, std::uint32_t orders_per_second);
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

    std::string target_;
    std::string operator_key_;
    std::uint32_t orders_per_second_;
    std::unique_ptr<State> state_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> orders_{0};
};

}  // namespace cpx::gateway
