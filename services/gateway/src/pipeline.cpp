#include "cpx/gateway/pipeline.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <limits>
#include <thread>

#include "clocks.hpp"

namespace cpx::gateway {

namespace {

constexpr std::size_t kBatch = 256;
constexpr std::size_t kPrefetchAhead = 8;

// A counter with one writer: a load and a store, no read-modify-write.
void count(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

Pipeline::OutputSink::OutputSink(const PipelineConfig& config,
                                 matching::SpscQueue<exchange::Outbound>& queue,
                                 Dispatcher& dispatcher, RequestJournal* journal)
    : queue_(queue),
      dispatcher_(dispatcher),
      journal_(journal),
      direct_(config.dispatch == DispatchMode::Sequencer),
      held_(journal != nullptr ? config.held_capacity : 0),
      held_mask_(config.held_capacity - 1) {
    assert((config.held_capacity & (config.held_capacity - 1)) == 0);
}

void Pipeline::OutputSink::deliver(const exchange::Outbound& out) {
    if (replaying_) {
        // A replayed request's callers are gone; its market output is still the book.
        if (out.kind == exchange::OutKind::Market) {
            dispatcher_.handle(&out, 1);
        }
        return;
    }
    if (journal_ == nullptr) {
        forward(out);
        return;
    }
    // The ring is full only when the journal is behind by held_capacity records. Every
    // request whose output is held was appended before it was applied, so the journal
    // gets there without the sequencer's help.
    while (held_count_ == held_.size()) {
        if (release_durable() == 0) {
            std::this_thread::yield();
        }
    }
    held_[(held_head_ + held_count_) & held_mask_] = Held{tag_, out};
    ++held_count_;
    held_count_approx_.store(held_count_, std::memory_order_relaxed);
}

std::size_t Pipeline::OutputSink::release_durable() {
    if (held_count_ == 0) {
        return 0;
    }
    const std::uint64_t durable = journal_->durable_seq();
    std::size_t sent = 0;
    while (held_count_ != 0 && held_[held_head_].seq <= durable) {
        forward(held_[held_head_].out);
        held_head_ = (held_head_ + 1) & held_mask_;
        --held_count_;
        ++sent;
    }
    held_count_approx_.store(held_count_, std::memory_order_relaxed);
    return sent;
}

bool Pipeline::OutputSink::release_ready() const {
    return held_count_ != 0 && held_[held_head_].seq <= journal_->durable_seq();
}

std::size_t Pipeline::OutputSink::drop_held() {
    const std::size_t dropped = held_count_;
    held_head_ = 0;
    held_count_ = 0;
    held_count_approx_.store(0, std::memory_order_relaxed);
    return dropped;
}

void Pipeline::OutputSink::forward(const exchange::Outbound& out) {
    if (direct_) {
        dispatcher_.handle(&out, 1);
        return;
    }
    // Output is never dropped: when the dispatcher falls behind, the sequencer waits. The
    // sequencer rings the dispatcher once per batch, after the batch; a batch whose output
    // fills the queue must ring before it waits, or it would wait for a dispatcher that
    // went to sleep before the first record (until the dispatcher's timer wakes it).
    while (!queue_.try_push(out)) {
        dispatcher_.bell().ring();
        std::this_thread::yield();
    }
}

Pipeline::Pipeline(const PipelineConfig& config, RequestJournal* journal)
    : config_(config),
      journal_(journal),
      requests_(config.request_queue_capacity),
      outbound_(config.outbound_queue_capacity),
      dispatcher_(config.control_queue_capacity),
      sink_(config, outbound_, dispatcher_, journal),
      exchange_(std::make_unique<exchange::Exchange>(config.exchange, sink_)),
      drained_(kBatch) {
    assert(config.dispatch == DispatchMode::Sequencer || config.dispatch == DispatchMode::Thread ||
           config.dispatch == DispatchMode::Adaptive);
    if (config.dispatch == DispatchMode::Sequencer) {
        dispatcher_.share_bell(&sequencer_bell_);
    }
}

Pipeline::~Pipeline() {
    stop();
}

void Pipeline::start() {
    if (running_.exchange(true)) {
        return;
    }
    stop_sequencer_.store(false);
    sequencer_done_.store(false);
    if (config_.dispatch == DispatchMode::Sequencer) {
        sequencer_ = std::thread([this] { run_combined(); });
    } else {
        dispatcher_thread_ = std::thread([this] { run_dispatcher(); });
        sequencer_ = std::thread([this] { run_sequencer(); });
    }
}

void Pipeline::stop() {
    if (!running_.load()) {
        return;
    }
    stop_sequencer_.store(true, std::memory_order_release);
    sequencer_bell_.ring();
    sequencer_.join();
    if (dispatcher_thread_.joinable()) {
        dispatcher_thread_.join();
    }
    running_.store(false, std::memory_order_release);
}

void Pipeline::submit(const exchange::Request& request) {
    while (!requests_.try_push(request)) {
        std::this_thread::yield();
    }
    sequencer_bell_.ring();
}

void Pipeline::submit_quietly(const exchange::Request& request) {
    while (!requests_.try_push(request)) {
        // The sequencer may be asleep with a full queue in front of it only if nobody
        // rang; ring before waiting.
        sequencer_bell_.ring();
        std::this_thread::yield();
    }
}

void Pipeline::submit_from_dispatcher(const exchange::Request& request) {
    if (!deferred_.empty() || !requests_.try_push(request)) {
        deferred_.push_back(request);
        note_deferred();
        return;
    }
    sequencer_bell_.ring();
}

void Pipeline::retry_deferred() {
    std::size_t sent = 0;
    while (sent < deferred_.size() && requests_.try_push(deferred_[sent])) {
        ++sent;
    }
    if (sent > 0) {
        deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<std::ptrdiff_t>(sent));
        note_deferred();
        sequencer_bell_.ring();
    }
}

bool Pipeline::try_take_dispatch() {
    bool expected = false;
    return dispatch_taken_.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                                   std::memory_order_relaxed);
}

void Pipeline::take_dispatch() {
    // Only the sequencer competes, for one light round at a time.
    while (!try_take_dispatch()) {
        std::this_thread::yield();
    }
}

void Pipeline::give_dispatch() {
    dispatch_taken_.store(false, std::memory_order_release);
}

void Pipeline::drain_outbound() {
    while (true) {
        const std::size_t n = outbound_.pop_batch(drained_.data(), drained_.size());
        if (n == 0) {
            return;
        }
        dispatcher_.handle(drained_.data(), n);
    }
}

bool Pipeline::begin_inline_round(std::size_t n) {
    if (config_.dispatch != DispatchMode::Adaptive || n > config_.dispatch_inline_max ||
        requests_.size_approx() != 0 || !try_take_dispatch()) {
        return false;
    }
    // Output queued in earlier rounds is answered first, so that answers keep their order.
    drain_outbound();
    sink_.set_direct(true);
    return true;
}

void Pipeline::end_inline_round() {
    dispatcher_.end_round();
    sink_.set_direct(false);
    retry_deferred();
    const bool more = !deferred_.empty() || dispatcher_.controls_pending();
    give_dispatch();
    if (more) {
        dispatcher_.bell().ring();
    }
}

void Pipeline::replay(const exchange::Request& request) {
    assert(!running_.load());
    last_ns_ = std::max(last_ns_, request.ts_ns);
    sink_.set_replaying(true);
    exchange_->apply(request);
    sink_.set_replaying(false);
}

void Pipeline::reset_exchange() {
    assert(!running_.load());
    exchange_.reset();
    exchange_ = std::make_unique<exchange::Exchange>(config_.exchange, sink_);
}

void Pipeline::rebuild_market_data() {
    assert(!running_.load());
    const matching::Engine& engine = exchange_->engine();
    for (const matching::InstrumentId id : engine.instruments()) {
        exchange::Outbound out;
        out.kind = exchange::OutKind::Market;
        out.instrument = id;
        out.ts_ns = last_ns_;
        out.market = exchange::MarketKind::State;
        out.state = engine.state(id).value_or(matching::TradingState::Closed);
        dispatcher_.handle(&out, 1);
        out.market = exchange::MarketKind::Level;
        for (const matching::Side side : {matching::Side::Buy, matching::Side::Sell}) {
            out.side = side;
            for (const matching::LevelView& level :
                 engine.depth(id, side, std::numeric_limits<std::size_t>::max())) {
                out.price = level.price;
                out.quantity = level.total;
                out.order_count = level.order_count;
                dispatcher_.handle(&out, 1);
            }
        }
    }
    dispatcher_.end_round();
}

void Pipeline::apply_before_start(exchange::Request request) {
    assert(!running_.load());
    last_ns_ = std::max(last_ns_, wall_clock_ns());
    request.ts_ns = last_ns_;
    if (journal_ != nullptr && exchange::changes_state(request.type)) {
        journal_->append(request);
        ++since_checkpoint_;
    }
    sink_.set_replaying(true);
    exchange_->apply(request);
    sink_.set_replaying(false);
}

void Pipeline::apply_batch(exchange::Request* batch, std::size_t count) {
    // One clock read per batch: every request of it is stamped with the same time,
    // which never goes back.
    last_ns_ = std::max(last_ns_, wall_clock_ns());
    // The exchange's first memory read for a request is usually a cache miss; asking for
    // it a few requests ahead overlaps the misses with the work in between.
    for (std::size_t i = 0; i < std::min(count, kPrefetchAhead); ++i) {
        exchange_->prefetch(batch[i]);
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (i + kPrefetchAhead < count) {
            exchange_->prefetch(batch[i + kPrefetchAhead]);
        }
        exchange::Request& r = batch[i];
        r.ts_ns = last_ns_;
        if (journal_ != nullptr) {
            // Appended before it is applied, so that its output, held under its number,
            // always has the journal working towards it. A query changes nothing and is
            // not journalled; its answer waits for what it saw to be durable.
            if (exchange::changes_state(r.type)) {
                sink_.set_tag(journal_->next_seq());
                journal_->append(r);
                ++since_checkpoint_;
            } else {
                sink_.set_tag(journal_->next_seq() - 1);
            }
        }
        exchange_->apply(r);
        if (journal_ != nullptr && since_checkpoint_ >= config_.checkpoint_every) {
            journal_->checkpoint(exchange_->state_hash());
            since_checkpoint_ = 0;
        }
    }
    applied_.fetch_add(count, std::memory_order_relaxed);
}

void Pipeline::apply_tick() {
    // A tick that would expire nothing changes nothing: it is neither applied nor
    // journalled, and the journal stays quiet while the market is.
    const std::int64_t now = std::max(last_ns_, wall_clock_ns());
    if (!exchange_->tick_due(now)) {
        return;
    }
    exchange::Request tick;
    tick.type = exchange::RequestType::Tick;
    apply_batch(&tick, 1);
}

bool Pipeline::release_durable() {
    if (journal_ == nullptr || sink_.release_durable() == 0) {
        return false;
    }
    if (config_.dispatch == DispatchMode::Sequencer) {
        dispatcher_.end_round();
    } else if (!sink_.direct()) {
        dispatcher_.bell().ring();
    }
    return true;
}

void Pipeline::finish_journal() {
    if (journal_ == nullptr) {
        return;
    }
    if (since_checkpoint_ > 0) {
        journal_->checkpoint(exchange_->state_hash());
        since_checkpoint_ = 0;
    }
    const std::int64_t deadline = steady_ns() + config_.stop_durable_wait_ns;
    while (sink_.holding() && steady_ns() < deadline) {
        if (!release_durable()) {
            sequencer_bell_.wait(1'000'000, [this] { return sink_.release_ready(); });
        }
    }
    sink_.drop_held();
}

void Pipeline::run_sequencer() {
    exchange::Request batch[kBatch];
    std::int64_t last_tick_ns = steady_ns();
    int idle_spins = 0;
    while (true) {
        const std::size_t n = requests_.pop_batch(batch, kBatch);
        const bool inline_round = (n > 0 || sink_.release_ready()) && begin_inline_round(n);
        const bool released = release_durable();
        if (n > 0) {
            apply_batch(batch, n);
            release_durable();
        }
        if (inline_round) {
            end_inline_round();
        } else if (n > 0) {
            // One wake of the dispatcher per batch, after all of its output is queued.
            dispatcher_.bell().ring();
        }
        if (n > 0) {
            count(inline_round ? rounds_inline_ : rounds_handed_);
            idle_spins = 0;
            continue;
        }
        if (released) {
            idle_spins = 0;
            continue;
        }
        if (stop_sequencer_.load(std::memory_order_acquire) && requests_.size_approx() == 0) {
            break;
        }
        if (steady_ns() - last_tick_ns >= config_.tick_interval_ns) {
            last_tick_ns = steady_ns();
            apply_tick();
            dispatcher_.bell().ring();
        }
        // Spin briefly for latency, then sleep until a producer rings or the next tick
        // is due.
        if (++idle_spins > config_.idle_spins) {
            sequencer_bell_.wait(config_.tick_interval_ns - (steady_ns() - last_tick_ns), [this] {
                return requests_.size_approx() != 0 || sink_.release_ready() ||
                       stop_sequencer_.load(std::memory_order_acquire);
            });
            idle_spins = 0;
        } else {
            std::this_thread::yield();
        }
    }
    finish_journal();
    sequencer_done_.store(true, std::memory_order_release);
    dispatcher_.bell().ring();
}

void Pipeline::run_dispatcher() {
    exchange::Outbound batch[kBatch];
    std::int64_t last_timer_ns = steady_ns();
    int idle_spins = 0;
    while (true) {
        take_dispatch();
        retry_deferred();
        dispatcher_.run_controls();
        std::size_t total = 0;
        // Drain what is there, then end the round: messages leave in batches under load
        // and one by one when it is light.
        while (true) {
            const std::size_t n = outbound_.pop_batch(batch, kBatch);
            if (n == 0) {
                break;
            }
            dispatcher_.handle(batch, n);
            total += n;
            if (total >= 16 * kBatch) {
                break;
            }
        }
        if (total > 0) {
            dispatcher_.end_round();
            idle_spins = 0;
        }
        if (steady_ns() - last_timer_ns >= config_.timer_interval_ns) {
            last_timer_ns = steady_ns();
            dispatcher_.on_timer(last_timer_ns);
            dispatcher_.end_round();
        }
        const bool deferred = !deferred_.empty();
        give_dispatch();
        if (total > 0) {
            continue;
        }
        if (sequencer_done_.load(std::memory_order_acquire) && outbound_.size_approx() == 0 &&
            !deferred) {
            break;
        }
        if (++idle_spins > config_.idle_spins) {
            dispatcher_.bell().wait(config_.timer_interval_ns - (steady_ns() - last_timer_ns),
                                    [this] {
                                        return outbound_.size_approx() != 0 ||
                                               deferred_pending_.load(std::memory_order_acquire) ||
                                               dispatcher_.controls_pending() ||
                                               sequencer_done_.load(std::memory_order_acquire);
                                    });
            idle_spins = 0;
        } else {
            std::this_thread::yield();
        }
    }
}

void Pipeline::run_combined() {
    exchange::Request batch[kBatch];
    std::int64_t last_tick_ns = steady_ns();
    std::int64_t last_timer_ns = last_tick_ns;
    int idle_spins = 0;
    while (true) {
        retry_deferred();
        dispatcher_.run_controls();
        const std::size_t n = requests_.pop_batch(batch, kBatch);
        const bool released = release_durable();
        if (n > 0) {
            apply_batch(batch, n);
            if (!release_durable()) {
                dispatcher_.end_round();
            }
            count(rounds_inline_);
            idle_spins = 0;
        }
        const std::int64_t now = steady_ns();
        if (now - last_tick_ns >= config_.tick_interval_ns) {
            last_tick_ns = now;
            apply_tick();
            dispatcher_.end_round();
        }
        if (now - last_timer_ns >= config_.timer_interval_ns) {
            last_timer_ns = now;
            dispatcher_.on_timer(now);
            dispatcher_.end_round();
        }
        if (n > 0 || released) {
            continue;
        }
        if (stop_sequencer_.load(std::memory_order_acquire) && requests_.size_approx() == 0 &&
            deferred_.empty()) {
            break;
        }
        if (++idle_spins > config_.idle_spins) {
            sequencer_bell_.wait(config_.tick_interval_ns - (steady_ns() - last_tick_ns), [this] {
                return requests_.size_approx() != 0 || !deferred_.empty() ||
                       dispatcher_.controls_pending() || sink_.release_ready() ||
                       stop_sequencer_.load(std::memory_order_acquire);
            });
            idle_spins = 0;
        } else {
            std::this_thread::yield();
        }
    }
    finish_journal();
    dispatcher_.end_round();
    sequencer_done_.store(true, std::memory_order_release);
}

}  // namespace cpx::gateway
