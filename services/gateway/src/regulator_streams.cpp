// The regulators' real-time streams, Audit.DropCopy and Audit.Alerts (regulator_hub.hpp).
// A stream authenticates like every audit call, by a Balances query of the caller's own
// account whose answer names its role; an operator's or a regulator's stream then joins
// the hub and receives what every later batch of the projector commits. Messages wait in
// the stream's own bounded queue, filled on the projector's writer thread and written
// one at a time by gRPC.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "cpx/audit/chain.hpp"
#include "cpx/exchange/payload.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/regulator_hub.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/projector/ledger_projector.hpp"
#include "identity_query.hpp"

namespace cpx::gateway {

namespace {

using grpc::StatusCode;

// The reasons of the streams' own endings (docs/API.md, "Audit").
constexpr std::string_view kNotARegulator = "NOT_A_REGULATOR";
constexpr std::string_view kNoProjection = "NO_DATABASE";
constexpr std::string_view kSlowConsumer = "SLOW_CONSUMER";
constexpr std::string_view kShuttingDown = "SHUTTING_DOWN";
constexpr std::string_view kCancelled = "CANCELLED";

void to_proto(const projector::CommittedTrade& in, cpx::v1::DropCopyMessage& out) {
    const exchange::Obligation& t = in.trade;
    out.set_trade_id(t.id);
    out.set_instrument_id(t.instrument);
    out.set_buyer_account_id(t.buyer);
    out.set_provider_account_id(t.provider);
    out.set_buy_order_id(t.buy_order);
    out.set_sell_order_id(t.sell_order);
    out.set_price(t.price);
    out.set_quantity(t.quantity);
    out.set_amount_fen(t.amount_fen);
    out.set_traded_ns(t.traded_ns);
    out.set_window_end_ns(t.window_end_ns);
    out.set_seq(t.created_seq);
    out.set_position(in.position);
    out.set_leaf_hash(audit::bytes_of(in.leaf_hash));
    out.set_chain_head(audit::bytes_of(in.head));
}

void to_proto(const surveillance::Alert& in, cpx::v1::AlertMessage& out) {
    out.set_rule(surveillance::rule_name(in.rule));
    out.set_seq(in.seq);
    out.set_idx(in.idx);
    out.set_ts_ns(in.ts_ns);
    out.set_account_id(in.account);
    out.set_instrument_id(in.instrument);
    for (const std::uint64_t order : in.orders) {
        out.add_order_ids(order);
    }
    for (const std::uint64_t trade : in.trades) {
        out.add_trade_ids(trade);
    }
    out.set_detail(in.detail);
}

// One stream. It lives from its call until gRPC's OnDone, which comes only after Finish;
// Finish waits for the exchange's answer to the authenticating query (the dispatcher
// still names the stream until then) and for the write in flight.
template <typename Message>
class RegulatorStream final : public grpc::ServerWriteReactor<Message>,
                              public Caller,
                              public RegulatorSubscriber {
  public:
    RegulatorStream(GatewayContext& gateway, RegulatorHub* hub,
                    grpc::CallbackServerContext* context)
        : gateway_(gateway), hub_(hub), context_(context) {}

    // Submits the query that authenticates the caller (identity_query.hpp).
    void start() {
        if (const auto refused =
                submit_identity_query(gateway_, *context_, token_of(this), payload_)) {
            refuse_unanswered(refused->status, refused->reason);
        }
    }

    // The dispatcher thread: the exchange's answer, after which nothing names the stream
    // there. Joining the hub does not wait: the hub's lock is held only to copy batches.
    void on_reply(const exchange::Outbound& reply) override {
        grpc::Status status;
        std::string_view reason;
        const exchange::Role role = payload_.balance.role;
        if (reply.code != exchange::Code::None) {
            status = error_status(reply.code, "");
            reason = exchange::code_name(reply.code);
        } else if (!sees_everything(role)) {
            status = rich_status(StatusCode::PERMISSION_DENIED, kNotARegulator,
                                 "only regulators and operators may subscribe");
            reason = kNotARegulator;
        } else if (hub_ == nullptr) {
            status = rich_status(StatusCode::UNAVAILABLE, kNoProjection,
                                 "this server projects no journal: it has no database");
            reason = kNoProjection;
        } else if (!hub_->add(this)) {
            status =
                rich_status(StatusCode::UNAVAILABLE, kShuttingDown, "the server is shutting down");
            reason = kShuttingDown;
        }
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            answered_ = true;
            if (!status.ok()) {
                decide_end(status, reason);
            }
        }
        pump();
    }

    void on_report(const exchange::Outbound&, const exchange::Outbound*, std::size_t) override {
        // A Balances query is answered by a reply; a report is never sent to it.
    }

    // The projector's writer thread, with the hub's lock held.
    void offer(const projector::CommittedBatch& batch) override {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (ending_) {
                return;
            }
            const std::size_t count = items(batch);
            if (count == 0) {
                return;
            }
            if (queue_.size() + count > gateway_.options.regulator_stream_slots) {
                decide_end(rich_status(StatusCode::RESOURCE_EXHAUSTED, kSlowConsumer,
                                       "slow consumer: catch up from PostgreSQL and "
                                       "subscribe again"),
                           kSlowConsumer);
            } else {
                fill(batch);
            }
        }
        pump();
    }

    // Any thread, with the hub's lock held.
    void end(const grpc::Status& status, std::string_view reason) override {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            decide_end(status, reason);
        }
        pump();
    }

    // gRPC threads.
    void OnWriteDone(bool ok) override {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            writing_ = false;
            if (!ok) {
                decide_end(grpc::Status(StatusCode::CANCELLED, "the stream was cancelled"),
                           kCancelled);
            }
        }
        pump();
    }
    void OnCancel() override {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            decide_end(grpc::Status(StatusCode::CANCELLED, "the client cancelled the stream"),
                       kCancelled);
        }
        pump();
    }
    void OnDone() override {
        // Once the hub lets go, nothing can call the stream any more.
        if (hub_ != nullptr) {
            hub_->remove(this);
        }
        delete this;
    }

  private:
    std::size_t items(const projector::CommittedBatch& batch) const {
        if constexpr (std::is_same_v<Message, cpx::v1::DropCopyMessage>) {
            return batch.trades.size();
        } else {
            return batch.alerts.size();
        }
    }

    void fill(const projector::CommittedBatch& batch) {
        if constexpr (std::is_same_v<Message, cpx::v1::DropCopyMessage>) {
            for (const projector::CommittedTrade& trade : batch.trades) {
                to_proto(trade, queue_.emplace_back());
            }
        } else {
            for (const surveillance::Alert& alert : batch.alerts) {
                to_proto(alert, queue_.emplace_back());
            }
        }
    }

    // With the lock held: the first decision to end wins, and what was still queued is
    // dropped (the subscriber catches up from PostgreSQL).
    void decide_end(const grpc::Status& status, std::string_view reason) {
        if (ending_) {
            return;
        }
        ending_ = true;
        end_status_ = status;
        end_reason_ = std::string(reason);
        queue_.clear();
    }

    // Ends a stream the exchange never heard of: nothing else can name it yet.
    void refuse_unanswered(const grpc::Status& status, std::string_view reason) {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            answered_ = true;
            decide_end(status, reason);
        }
        pump();
    }

    // Starts the next write, or the finish, when it is due and nobody else has started
    // it: the decision is made under the lock, the call to gRPC outside it.
    void pump() {
        enum class Action : std::uint8_t { None, Write, Finish };
        Action action = Action::None;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (finished_ || writing_) {
                return;
            }
            if (ending_) {
                if (answered_) {
                    finished_ = true;
                    action = Action::Finish;
                }
            } else if (!queue_.empty()) {
                in_flight_ = std::move(queue_.front());
                queue_.pop_front();
                writing_ = true;
                action = Action::Write;
            }
        }
        if (action == Action::Write) {
            this->StartWrite(&in_flight_);
        } else if (action == Action::Finish) {
            // Only this thread touches the context now: the finish is claimed once.
            context_->AddTrailingMetadata("cpx-reason", end_reason_);
            this->Finish(end_status_);
        }
    }

    GatewayContext& gateway_;
    RegulatorHub* hub_;
    grpc::CallbackServerContext* context_;
    exchange::Payload payload_;  // the Balances answer, written by the exchange

    std::mutex mutex_;
    std::deque<Message> queue_;
    Message in_flight_;      // the message being written; untouched while writing_
    bool answered_ = false;  // the dispatcher is done with the stream
    bool writing_ = false;
    bool ending_ = false;
    bool finished_ = false;
    grpc::Status end_status_;  // written once, when ending_ is set
    std::string end_reason_;
};

}  // namespace

bool RegulatorHub::add(RegulatorSubscriber* subscriber) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
        return false;
    }
    subscribers_.push_back(subscriber);
    return true;
}

void RegulatorHub::remove(RegulatorSubscriber* subscriber) {
    const std::lock_guard<std::mutex> lock(mutex_);
    subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), subscriber),
                       subscribers_.end());
}

void RegulatorHub::publish(const projector::CommittedBatch& batch) {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (RegulatorSubscriber* subscriber : subscribers_) {
        subscriber->offer(batch);
    }
}

void RegulatorHub::close() {
    const std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (RegulatorSubscriber* subscriber : subscribers_) {
        subscriber->end(
            rich_status(StatusCode::UNAVAILABLE, kShuttingDown, "the server is shutting down"),
            kShuttingDown);
    }
}

std::size_t RegulatorHub::subscribers() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return subscribers_.size();
}

grpc::ServerWriteReactor<cpx::v1::DropCopyMessage>* AuditService::DropCopy(
    grpc::CallbackServerContext* context, const cpx::v1::DropCopyRequest* /*request*/) {
    auto* stream = new RegulatorStream<cpx::v1::DropCopyMessage>(context_, hub_, context);
    stream->start();
    return stream;
}

grpc::ServerWriteReactor<cpx::v1::AlertMessage>* AuditService::Alerts(
    grpc::CallbackServerContext* context, const cpx::v1::AlertsRequest* /*request*/) {
    auto* stream = new RegulatorStream<cpx::v1::AlertMessage>(context_, hub_, context);
    stream->start();
    return stream;
}

}  // namespace cpx::gateway
