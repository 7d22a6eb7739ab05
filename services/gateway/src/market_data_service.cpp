// Market-data streams: a subscriber registers with the dispatcher thread, which sends
// its snapshot and then every delta or trade of the instrument.

#include <atomic>

#include "cpx/gateway/market_data.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/gateway/write_ring.hpp"

namespace cpx::gateway {

namespace {

// One market-data stream. Two parties may still name it when gRPC is done with it:
// gRPC itself (OnDone) and the dispatcher (a pending unsubscribe), so it counts them
// and the last one deletes it.
template <typename Message>
class MarketStream final : public grpc::ServerWriteReactor<Message>, public MarketSubscriber {
  public:
    MarketStream(GatewayContext& gateway, Feed feed, exchange::InstrumentId instrument)
        : gateway_(gateway),
          feed_(feed),
          instrument_(instrument),
          ring_(
              gateway.options.market_write_slots,
              [this](const Message* message) { this->StartWrite(message); },
              [this](const grpc::Status& status) { this->Finish(status); }) {
        gateway_.pipeline.dispatcher().post(
            Dispatcher::Control{Dispatcher::Control::Kind::Subscribe, this});
    }

    // gRPC threads.
    void OnWriteDone(bool /*ok*/) override { ring_.on_write_done(); }
    void OnCancel() override {
        refs_.fetch_add(1, std::memory_order_acq_rel);
        gateway_.pipeline.dispatcher().post(
            Dispatcher::Control{Dispatcher::Control::Kind::Unsubscribe, this});
    }
    void OnDone() override { release(); }

    // Dispatcher thread.
    Feed feed() const override { return feed_; }
    exchange::InstrumentId instrument() const override { return instrument_; }
    cpx::v1::DepthUpdate* next_depth() override {
        if constexpr (std::is_same_v<Message, cpx::v1::DepthUpdate>) {
            return closed_ ? nullptr : ring_.producing();
        } else {
            return nullptr;
        }
    }
    cpx::v1::TradeTick* next_trade() override {
        if constexpr (std::is_same_v<Message, cpx::v1::TradeTick>) {
            return closed_ ? nullptr : ring_.producing();
        } else {
            return nullptr;
        }
    }
    void publish() override { ring_.publish(); }
    void close(bool not_found) override {
        if (closed_) {
            return;
        }
        closed_ = true;
        ring_.finish(not_found ? grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown instrument")
                               : grpc::Status(grpc::StatusCode::CANCELLED, "stream ended"));
    }
    void unsubscribed() override {
        close(false);
        release();  // the reference OnCancel took for the unsubscribe
    }

  private:
    void release() {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    GatewayContext& gateway_;
    Feed feed_;
    exchange::InstrumentId instrument_;
    WriteRing<Message> ring_;
    std::atomic<int> refs_{1};
    bool closed_ = false;  // dispatcher thread only
};

}  // namespace

grpc::ServerWriteReactor<cpx::v1::DepthUpdate>* MarketDataService::StreamDepth(
    grpc::CallbackServerContext* /*context*/, const cpx::v1::DepthRequest* request) {
    return new MarketStream<cpx::v1::DepthUpdate>(context_, MarketSubscriber::Feed::Depth,
                                                  request->instrument_id());
}

grpc::ServerWriteReactor<cpx::v1::TradeTick>* MarketDataService::StreamTrades(
    grpc::CallbackServerContext* /*context*/, const cpx::v1::TradesRequest* request) {
    return new MarketStream<cpx::v1::TradeTick>(context_, MarketSubscriber::Feed::Trades,
                                                request->instrument_id());
}

}  // namespace cpx::gateway
