#include "cpx/gateway/dispatcher.hpp"

#include <algorithm>
#include <cassert>
#include <thread>

namespace cpx::gateway {

using exchange::Outbound;
using exchange::OutKind;

Dispatcher::Dispatcher(std::size_t control_capacity) : controls_(control_capacity) {
    pending_fills_.reserve(4096);
    touched_.reserve(1024);
}

void Dispatcher::post(const Control& control) {
    while (!controls_.try_push(control)) {
        std::this_thread::yield();
    }
    bell_->ring();
}

void Dispatcher::run_controls() {
    Control c;
    bool flushed = false;
    while (controls_.try_pop(c)) {
        if (!flushed) {
            // A new subscriber's snapshot must follow every delta already sent.
            market_.flush();
            flushed = true;
        }
        if (c.kind == Control::Kind::CloseAll) {
            close_all();
        } else if (c.kind == Control::Kind::Subscribe) {
            market_.subscribe(c.subscriber);
        } else {
            market_.unsubscribe(c.subscriber);
            c.subscriber->unsubscribed();
        }
    }
}

void Dispatcher::handle(const Outbound* records, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const Outbound& r = records[i];
        switch (r.kind) {
            case OutKind::Reply:
                // A request without a caller (applied before the pipeline started, or a
                // Tick) has nobody to answer.
                if (r.token != 0) {
                    caller_of(r.token)->on_reply(r);
                }
                break;
            case OutKind::Report:
            case OutKind::MassCancelDone:
                assert(!pending_);
                if (r.fill_count == 0) {
                    dispatch_report(r, nullptr, 0);
                } else {
                    pending_header_ = r;
                    pending_fills_.clear();
                    pending_ = true;
                }
                break;
            case OutKind::Fill:
                assert(pending_);
                pending_fills_.push_back(r);
                if (pending_fills_.size() == pending_header_.fill_count) {
                    pending_ = false;
                    dispatch_report(pending_header_, pending_fills_.data(), pending_fills_.size());
                }
                break;
            case OutKind::Market:
                if (trades_ != nullptr && r.market == exchange::MarketKind::Trade) {
                    trades_->add();
                }
                market_.on_market(r);
                break;
        }
    }
}

void Dispatcher::dispatch_report(const Outbound& header, const Outbound* fills,
                                 std::size_t fill_count) {
    ++reports_delivered_;
    if (header.token != 0) {
        caller_of(header.token)->on_report(header, fills, fill_count);
    }
    if (header.targeted) {
        return;
    }
    // Every stream of the account sees every report of it, so that its sequence
    // numbers have no gaps; the stream that asked already has it through its token.
    const auto it = sessions_.find(header.account);
    if (it == sessions_.end()) {
        return;
    }
    for (SessionStream* stream : it->second) {
        if (token_of(stream) != header.token) {
            stream->on_report(header, fills, fill_count);
        }
    }
}

void Dispatcher::touch(SessionStream* stream) {
    if (std::find(touched_.begin(), touched_.end(), stream) == touched_.end()) {
        touched_.push_back(stream);
    }
}

void Dispatcher::end_round() {
    for (SessionStream* stream : touched_) {
        stream->flush();
    }
    touched_.clear();
    market_.flush();
}

void Dispatcher::on_timer(std::int64_t now_ns) {
    // A stream may end itself in on_timer (heartbeat timeout), which unregisters it
    // later, through the exchange; a copy keeps this walk safe.
    std::vector<SessionStream*> all;
    all.reserve(sessions_count_);
    for (const auto& [account, streams] : sessions_) {
        all.insert(all.end(), streams.begin(), streams.end());
    }
    for (SessionStream* stream : all) {
        stream->on_timer(now_ns);
    }
}

void Dispatcher::register_session(SessionStream* stream) {
    sessions_[stream->account()].push_back(stream);
    ++sessions_count_;
}

void Dispatcher::unregister_session(SessionStream* stream) {
    const auto it = sessions_.find(stream->account());
    if (it == sessions_.end()) {
        return;
    }
    auto& list = it->second;
    const auto found = std::find(list.begin(), list.end(), stream);
    if (found == list.end()) {
        return;
    }
    list.erase(found);
    --sessions_count_;
    if (list.empty()) {
        sessions_.erase(it);
    }
    touched_.erase(std::remove(touched_.begin(), touched_.end(), stream), touched_.end());
}

void Dispatcher::close_all() {
    market_.close_all();
    on_timer(-1);
}

}  // namespace cpx::gateway
