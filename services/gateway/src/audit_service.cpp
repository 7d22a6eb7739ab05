// The audit log's proofs for clients (proto/cpx/v1/audit.proto). Each call is first
// authenticated by the exchange, in sequence, with a Balances query of the caller's own
// account (any role may make it, and its answer names the caller's account and role);
// the dispatcher thread then hands the call to the audit worker and returns at once. The
// worker owns a connection to PostgreSQL, working as the role cpx_regulator (SELECT
// only), reads each proof or history in a read-only transaction (cpx/proofs/proofs.hpp),
// decides who may see which record, and answers.

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "cpx/exchange/payload.hpp"
#include "cpx/gateway/auth.hpp"
#include "cpx/gateway/caller.hpp"
#include "cpx/gateway/convert.hpp"
#include "cpx/gateway/doorbell.hpp"
#include "cpx/gateway/log.hpp"
#include "cpx/gateway/services.hpp"
#include "cpx/matching/mpsc_queue.hpp"
#include "cpx/proofs/proofs.hpp"
#include "cpx/store/database.hpp"
#include "identity_query.hpp"

namespace cpx::gateway {

namespace {

using grpc::StatusCode;

// The reasons of this service's own refusals (docs/API.md, "Audit").
constexpr std::string_view kInvalidRecordKind = "INVALID_RECORD_KIND";
constexpr std::string_view kInvalidRecordRef = "INVALID_RECORD_REF";
constexpr std::string_view kInvalidTreeSizes = "INVALID_TREE_SIZES";
constexpr std::string_view kNotACheckpoint = "NOT_A_CHECKPOINT";
constexpr std::string_view kCheckpointBeforeRecord = "CHECKPOINT_BEFORE_RECORD";
constexpr std::string_view kNoCheckpoint = "NO_CHECKPOINT";
constexpr std::string_view kUnknownRecord = "UNKNOWN_RECORD";
constexpr std::string_view kRecordNotCheckpointed = "RECORD_NOT_CHECKPOINTED";
constexpr std::string_view kNotOwnRecord = "NOT_OWN_RECORD";
constexpr std::string_view kNoDatabase = "NO_DATABASE";
constexpr std::string_view kDatabaseUnavailable = "DATABASE_UNAVAILABLE";
constexpr std::string_view kAuditQueueFull = "AUDIT_QUEUE_FULL";
constexpr std::string_view kAuditReadFailed = "AUDIT_READ_FAILED";
constexpr std::string_view kInvalidHistoryFilter = "INVALID_HISTORY_FILTER";
constexpr std::string_view kInvalidTimeRange = "INVALID_TIME_RANGE";
constexpr std::string_view kInvalidLimit = "INVALID_LIMIT";
constexpr std::string_view kUnknownOrder = "UNKNOWN_ORDER";
constexpr std::string_view kNotOwnAccount = "NOT_OWN_ACCOUNT";
constexpr std::string_view kAuditRoleUnavailable = "AUDIT_ROLE_UNAVAILABLE";

// The most reports one OrderHistory page carries.
constexpr std::uint32_t kHistoryPageMax = 1'000;

// How long the idle worker sleeps before it looks at its queue and its stop flag again
// on its own; a new call rings it awake at once.
constexpr std::int64_t kIdleWaitNs = 100'000'000;

// What the exchange said about the caller.
struct Who {
    exchange::AccountId account = 0;
    exchange::Role role = exchange::Role::None;

    bool sees_everything() const { return gateway::sees_everything(role); }
};

// A refusal decided on the worker: its code, reason and message. OK means answered.
struct Outcome {
    StatusCode code = StatusCode::OK;
    std::string_view reason;
    std::string message;
};

Outcome refusal(StatusCode code, std::string_view reason, std::string message) {
    return Outcome{code, reason, std::move(message)};
}

void to_proto(const audit::Checkpoint& in, cpx::v1::Checkpoint& out) {
    out.set_tree_size(in.tree_size);
    out.set_root(audit::bytes_of(in.root));
    out.set_ts_ns(in.ts_ns);
    out.set_signature(
        std::string(reinterpret_cast<const char*>(in.signature.data()), in.signature.size()));
}

// The reports of an OrderHistory page, each with the time of the commit that acknowledged
// it (acknowledged_ns(), db/migrations/0009_order_lifecycle.sql).
constexpr const char* kHistoryColumns =
    "SELECT r.seq, r.idx, r.account, r.report_seq, r.order_id, r.client_order_id, "
    "r.instrument, r.side, r.exec, r.status, r.code, r.price, r.quantity, r.leaves, r.filled, "
    "array_to_string(r.trade_ids, ','), coalesce(r.received_ns, 0), r.sequenced_ns, "
    "coalesce(acknowledged_ns(r.seq), 0), r.mass_cancel FROM execution_reports r ";

// The proto's enums share the exchange's values, which the table stores.
static_assert(static_cast<int>(exchange::ExecType::New) == cpx::v1::EXEC_TYPE_NEW);
static_assert(static_cast<int>(exchange::ExecType::Trade) == cpx::v1::EXEC_TYPE_TRADE);
static_assert(static_cast<int>(exchange::ExecType::Cancelled) == cpx::v1::EXEC_TYPE_CANCELLED);
static_assert(static_cast<int>(exchange::ExecType::Replaced) == cpx::v1::EXEC_TYPE_REPLACED);
static_assert(static_cast<int>(exchange::ExecType::Rejected) == cpx::v1::EXEC_TYPE_REJECTED);
static_assert(static_cast<int>(exchange::ExecType::Expired) == cpx::v1::EXEC_TYPE_EXPIRED);
static_assert(static_cast<int>(exchange::OrderStatus::New) == cpx::v1::ORDER_STATUS_NEW);
static_assert(static_cast<int>(exchange::OrderStatus::PartiallyFilled) ==
              cpx::v1::ORDER_STATUS_PARTIALLY_FILLED);
static_assert(static_cast<int>(exchange::OrderStatus::Filled) == cpx::v1::ORDER_STATUS_FILLED);
static_assert(static_cast<int>(exchange::OrderStatus::Cancelled) ==
              cpx::v1::ORDER_STATUS_CANCELLED);
static_assert(static_cast<int>(exchange::OrderStatus::Rejected) == cpx::v1::ORDER_STATUS_REJECTED);
static_assert(static_cast<int>(exchange::OrderStatus::Expired) == cpx::v1::ORDER_STATUS_EXPIRED);

// `counterparty_times`: whether the reader may see when another account's command was
// received. A maker's trade report is caused by the taker's command, whose receipt time
// (and so its wait for the sequencer) is the taker's business, not the maker's: only
// operators and regulators see it.
void to_event(const pqxx::row& row, bool counterparty_times, cpx::v1::OrderEvent& out) {
    out.set_seq(row[0].as<std::uint64_t>());
    out.set_idx(row[1].as<std::uint32_t>());
    out.set_account_id(row[2].as<std::uint64_t>());
    out.set_session_seq(row[3].as<std::uint64_t>());
    out.set_order_id(row[4].as<std::uint64_t>());
    out.set_client_order_id(row[5].as<std::string>());
    out.set_instrument_id(row[6].as<std::uint32_t>());
    out.set_side(gateway::to_proto(static_cast<matching::Side>(row[7].as<int>())));
    // The table's values are the exchange's, which the proto's enums share.
    out.set_exec_type(static_cast<cpx::v1::ExecType>(row[8].as<int>()));
    out.set_status(static_cast<cpx::v1::OrderStatus>(row[9].as<int>()));
    const auto code = static_cast<exchange::Code>(row[10].as<int>());
    if (code != exchange::Code::None) {
        out.set_reason(std::string(exchange::code_name(code)));
    }
    out.set_price_fen(row[11].as<std::int64_t>());
    out.set_quantity(row[12].as<std::int64_t>());
    out.set_leaves_quantity(row[13].as<std::int64_t>());
    out.set_filled_quantity(row[14].as<std::int64_t>());
    const std::string trades = row[15].as<std::string>();
    for (std::size_t at = 0; at < trades.size();) {
        const std::size_t comma = std::min(trades.find(',', at), trades.size());
        out.add_trade_ids(std::stoull(trades.substr(at, comma - at)));
        at = comma + 1;
    }
    if (counterparty_times || out.exec_type() != cpx::v1::EXEC_TYPE_TRADE) {
        out.set_received_ns(row[16].as<std::int64_t>());
    }
    out.set_sequenced_ns(row[17].as<std::int64_t>());
    out.set_acknowledged_ns(row[18].as<std::int64_t>());
    out.set_mass_cancel(row[19].as<bool>());
}

}  // namespace

// A call the worker answers: it reads through the transaction it is given and finishes
// the call, or throws and lets the worker finish it with the failure.
class AuditJob {
  public:
    virtual void run(pqxx::transaction_base& tx) = 0;
    virtual void fail(const grpc::Status& status, std::string_view reason) = 0;

  protected:
    ~AuditJob() = default;
};

class AuditWorker {
  public:
    AuditWorker(std::string database_url, std::size_t capacity)
        : database_url_(std::move(database_url)), queue_(capacity) {
        thread_ = std::thread([this] { run(); });
    }
    ~AuditWorker() { stop(); }
    AuditWorker(const AuditWorker&) = delete;
    AuditWorker& operator=(const AuditWorker&) = delete;

    // The dispatcher thread: never waits. False when the queue is full or the worker
    // stopped; the caller then refuses the call itself.
    bool try_submit(AuditJob* job) {
        if (stopping_.load(std::memory_order_acquire) || !queue_.try_push(job)) {
            return false;
        }
        bell_.ring();
        return true;
    }

    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        stopping_.store(true, std::memory_order_release);
        bell_.ring();
        thread_.join();
    }

  private:
    void run() {
        for (;;) {
            AuditJob* job = nullptr;
            while (queue_.try_pop(job)) {
                answer(*job);
            }
            // A job pushed just before the flag was seen is still answered: the queue
            // is looked at once more after the flag.
            if (stopping_.load(std::memory_order_acquire)) {
                while (queue_.try_pop(job)) {
                    answer(*job);
                }
                if (queue_.size_approx() == 0) {
                    return;
                }
                continue;
            }
            bell_.wait(kIdleWaitNs, [this] {
                return queue_.size_approx() != 0 || stopping_.load(std::memory_order_acquire);
            });
        }
    }

    void answer(AuditJob& job) {
        if (!connection_) {
            std::unique_ptr<pqxx::connection> connection;
            try {
                connection = store::connect(database_url_);
            } catch (const std::exception& e) {
                log_event("error", "audit_database_unavailable",
                          {field("error", std::string_view(e.what()))});
                job.fail(rich_status(StatusCode::UNAVAILABLE, kDatabaseUnavailable,
                                     "the audit log's database cannot be reached; retry"),
                         kDatabaseUnavailable);
                return;
            }
            try {
                // The record is read as the regulator's role, which can change nothing,
                // whatever the connecting user may do.
                store::use_regulator_role(*connection);
            } catch (const std::exception& e) {
                // A deployment whose connecting user is not a member of cpx_regulator
                // (docs/OPERATIONS.md): the operators must grant it; retrying does not help.
                log_event("error", "audit_role_unavailable",
                          {field("error", std::string_view(e.what()))});
                job.fail(rich_status(StatusCode::FAILED_PRECONDITION, kAuditRoleUnavailable,
                                     "the audit service cannot work as the role cpx_regulator"),
                         kAuditRoleUnavailable);
                return;
            }
            connection_ = std::move(connection);
        }
        try {
            proofs::ReadTransaction tx(*connection_);
            job.run(tx);
        } catch (const pqxx::broken_connection& e) {
            // The next call connects again.
            connection_.reset();
            log_event("error", "audit_database_unavailable",
                      {field("error", std::string_view(e.what()))});
            job.fail(rich_status(StatusCode::UNAVAILABLE, kDatabaseUnavailable,
                                 "the audit log's database connection was lost; retry"),
                     kDatabaseUnavailable);
        } catch (const std::exception& e) {
            log_event("error", "audit_read_failed", {field("error", std::string_view(e.what()))});
            job.fail(rich_status(StatusCode::INTERNAL, kAuditReadFailed,
                                 "the audit log could not be read"),
                     kAuditReadFailed);
        }
    }

    std::string database_url_;
    matching::MpscQueue<AuditJob*> queue_;
    Doorbell bell_;
    std::atomic<bool> stopping_{false};
    std::unique_ptr<pqxx::connection> connection_;  // the worker thread's only
    std::thread thread_;
};

namespace {

// One audit call: authenticated by the exchange (on_reply, on the dispatcher thread),
// then answered on the worker (run). `work` reads the proof and fills the response, or
// says why it refuses; it runs on the worker only.
template <typename Response>
class AuditCall final : public grpc::ServerUnaryReactor, public Caller, public AuditJob {
  public:
    using Work = std::function<Outcome(pqxx::transaction_base&, const Who&, Response&)>;

    AuditCall(GatewayContext& gateway, AuditWorker* worker, grpc::CallbackServerContext* context,
              Response* response)
        : gateway_(gateway), worker_(worker), context_(context), response_(response) {}

    void set_work(Work work) { work_ = std::move(work); }

    // Submits the query that authenticates the caller (identity_query.hpp).
    void start() {
        if (const auto refused =
                submit_identity_query(gateway_, *context_, token_of(this), payload_)) {
            fail(refused->status, refused->reason);
        }
    }

    // Refuses the call before it reaches the exchange, for inputs refused whatever the
    // caller may see.
    grpc::ServerUnaryReactor* refuse(std::string_view reason, std::string_view message) {
        fail(invalid_argument(reason, message), reason);
        return this;
    }

    void fail(const grpc::Status& status, std::string_view reason) override {
        context_->AddTrailingMetadata("cpx-reason", std::string(reason));
        Finish(status);
    }

    // The dispatcher thread: it must not wait, so the call only changes hands here.
    void on_reply(const exchange::Outbound& reply) override {
        if (reply.code != exchange::Code::None) {
            fail(error_status(reply.code, ""), exchange::code_name(reply.code));
            return;
        }
        who_ = Who{payload_.balance.account, payload_.balance.role};
        if (worker_ == nullptr) {
            fail(rich_status(StatusCode::UNAVAILABLE, kNoDatabase,
                             "this server keeps no audit log: it has no database"),
                 kNoDatabase);
            return;
        }
        if (!worker_->try_submit(this)) {
            fail(rich_status(StatusCode::RESOURCE_EXHAUSTED, kAuditQueueFull,
                             "too many audit calls are waiting; retry"),
                 kAuditQueueFull);
        }
    }

    void on_report(const exchange::Outbound&, const exchange::Outbound*, std::size_t) override {
        Finish(grpc::Status(StatusCode::INTERNAL, "unexpected report"));
    }

    // The worker thread.
    void run(pqxx::transaction_base& tx) override {
        const Outcome outcome = work_(tx, who_, *response_);
        if (outcome.code != StatusCode::OK) {
            // Nothing half-built goes out with a refusal.
            response_->Clear();
            fail(rich_status(outcome.code, outcome.reason, outcome.message), outcome.reason);
            return;
        }
        Finish(grpc::Status::OK);
    }

    void OnDone() override { delete this; }

  private:
    GatewayContext& gateway_;
    AuditWorker* worker_;
    grpc::CallbackServerContext* context_;
    Response* response_;
    Work work_;
    exchange::Payload payload_;
    Who who_;
};

template <typename Response>
AuditCall<Response>* make_audit_call(GatewayContext& gateway, AuditWorker* worker,
                                     grpc::CallbackServerContext* context, Response* response) {
    return new AuditCall<Response>(gateway, worker, context, response);
}

// The refusals of a proof that the caller may see.
Outcome outcome_of(proofs::Status status) {
    switch (status) {
        case proofs::Status::Ok:
            return Outcome{};
        case proofs::Status::NoCheckpoint:
            return refusal(StatusCode::NOT_FOUND, kNoCheckpoint, "no checkpoint is signed yet");
        case proofs::Status::UnknownCheckpoint:
            return refusal(StatusCode::INVALID_ARGUMENT, kNotACheckpoint,
                           "no checkpoint has this tree size");
        case proofs::Status::UnknownRecord:
            return refusal(StatusCode::NOT_FOUND, kUnknownRecord,
                           "the audit log has no such record (yet)");
        case proofs::Status::NotCheckpointed:
            return refusal(StatusCode::NOT_FOUND, kRecordNotCheckpointed,
                           "no checkpoint covers the record yet; retry later");
        case proofs::Status::CheckpointBeforeRecord:
            return refusal(StatusCode::INVALID_ARGUMENT, kCheckpointBeforeRecord,
                           "the checkpoint is older than the record");
        case proofs::Status::OldAfterNew:
            return refusal(StatusCode::INVALID_ARGUMENT, kInvalidTreeSizes,
                           "old_size is larger than new_size");
    }
    return refusal(StatusCode::INTERNAL, kAuditReadFailed, "unknown proof status");
}

std::unique_ptr<AuditWorker> make_worker(const GatewayContext& context,
                                         const std::string& database_url) {
    if (database_url.empty()) {
        return nullptr;
    }
    return std::make_unique<AuditWorker>(database_url, context.options.audit_queue_capacity);
}

}  // namespace

AuditService::AuditService(GatewayContext& context, const std::string& database_url,
                           RegulatorHub* hub)
    : context_(context), hub_(hub), worker_(make_worker(context, database_url)) {}

AuditService::~AuditService() {
    stop();
}

void AuditService::stop() {
    if (worker_) {
        worker_->stop();
    }
}

grpc::ServerUnaryReactor* AuditService::GetCheckpoint(grpc::CallbackServerContext* context,
                                                      const cpx::v1::GetCheckpointRequest* request,
                                                      cpx::v1::Checkpoint* response) {
    auto* call = make_audit_call(context_, worker_.get(), context, response);
    const std::uint64_t tree_size = request->tree_size();
    call->set_work([tree_size](pqxx::transaction_base& tx, const Who&, cpx::v1::Checkpoint& out) {
        const std::optional<audit::Checkpoint> checkpoint =
            tree_size == 0 ? proofs::newest_checkpoint(tx) : proofs::checkpoint_at(tx, tree_size);
        if (!checkpoint) {
            return outcome_of(tree_size == 0 ? proofs::Status::NoCheckpoint
                                             : proofs::Status::UnknownCheckpoint);
        }
        to_proto(*checkpoint, out);
        return Outcome{};
    });
    call->start();
    return call;
}

grpc::ServerUnaryReactor* AuditService::ProveInclusion(
    grpc::CallbackServerContext* context, const cpx::v1::ProveInclusionRequest* request,
    cpx::v1::InclusionProof* response) {
    auto* call = make_audit_call(context_, worker_.get(), context, response);
    const cpx::v1::AuditRecordKind proto_kind = request->kind();
    if (proto_kind != cpx::v1::AUDIT_RECORD_KIND_JOURNAL &&
        proto_kind != cpx::v1::AUDIT_RECORD_KIND_TRANSFER &&
        proto_kind != cpx::v1::AUDIT_RECORD_KIND_TRADE) {
        return call->refuse(kInvalidRecordKind,
                            "kind must be AUDIT_RECORD_KIND_JOURNAL, _TRANSFER or _TRADE");
    }
    if (request->ref() == 0) {
        return call->refuse(kInvalidRecordRef, "ref is required");
    }
    // The proto's values are the audit log's kinds (audit_record_kinds).
    const auto kind = static_cast<audit::RecordKind>(proto_kind);
    const std::uint64_t ref = request->ref();
    const std::uint64_t tree_size = request->tree_size();
    call->set_work([proto_kind, kind, ref, tree_size](pqxx::transaction_base& tx, const Who& who,
                                                      cpx::v1::InclusionProof& out) {
        // Whether the caller may see the record is settled before anything else is
        // said about it, and a record that does not exist is refused like another
        // account's, so that refs reveal nothing.
        if (!who.sees_everything()) {
            const std::optional<std::vector<std::uint64_t>> involved =
                kind == audit::RecordKind::Journal ? std::nullopt
                                                   : proofs::involved_accounts(tx, kind, ref);
            if (!involved ||
                std::find(involved->begin(), involved->end(), who.account) == involved->end()) {
                return refusal(StatusCode::PERMISSION_DENIED, kNotOwnRecord,
                               "the record does not involve the caller's account");
            }
        }
        proofs::InclusionProof proof;
        const proofs::Status status = proofs::prove_inclusion(tx, kind, ref, tree_size, proof);
        if (status != proofs::Status::Ok) {
            // Without a checkpoint at all, the record is simply not covered yet.
            return outcome_of(
                status == proofs::Status::NoCheckpoint ? proofs::Status::NotCheckpointed : status);
        }
        out.set_kind(proto_kind);
        out.set_ref(ref);
        out.set_position(proof.position);
        out.set_record(proof.record);
        out.set_leaf_hash(audit::bytes_of(proof.leaf_hash));
        for (const audit::Digest& node : proof.path) {
            out.add_path(audit::bytes_of(node));
        }
        to_proto(proof.checkpoint, *out.mutable_checkpoint());
        return Outcome{};
    });
    call->start();
    return call;
}

grpc::ServerUnaryReactor* AuditService::ProveConsistency(
    grpc::CallbackServerContext* context, const cpx::v1::ProveConsistencyRequest* request,
    cpx::v1::ConsistencyProof* response) {
    auto* call = make_audit_call(context_, worker_.get(), context, response);
    const std::uint64_t old_size = request->old_size();
    const std::uint64_t new_size = request->new_size();
    if (old_size == 0) {
        return call->refuse(kInvalidTreeSizes, "old_size must be a checkpoint's tree size");
    }
    if (new_size != 0 && old_size > new_size) {
        return call->refuse(kInvalidTreeSizes, "old_size is larger than new_size");
    }
    call->set_work([old_size, new_size](pqxx::transaction_base& tx, const Who&,
                                        cpx::v1::ConsistencyProof& out) {
        proofs::ConsistencyProof proof;
        const proofs::Status status = proofs::prove_consistency(tx, old_size, new_size, proof);
        if (status != proofs::Status::Ok) {
            return outcome_of(status);
        }
        to_proto(proof.old_checkpoint, *out.mutable_old_checkpoint());
        to_proto(proof.new_checkpoint, *out.mutable_new_checkpoint());
        for (const audit::Digest& node : proof.path) {
            out.add_path(audit::bytes_of(node));
        }
        return Outcome{};
    });
    call->start();
    return call;
}

grpc::ServerUnaryReactor* AuditService::OrderHistory(grpc::CallbackServerContext* context,
                                                     const cpx::v1::OrderHistoryRequest* request,
                                                     cpx::v1::OrderHistoryResponse* response) {
    auto* call = make_audit_call(context_, worker_.get(), context, response);
    const std::uint64_t order_id = request->order_id();
    const std::uint64_t account_id = request->account_id();
    const std::int64_t from_ns = request->from_ns();
    const std::int64_t to_ns = request->to_ns();
    if (order_id != 0 && (account_id != 0 || from_ns != 0 || to_ns != 0)) {
        return call->refuse(kInvalidHistoryFilter,
                            "account_id, from_ns and to_ns go with order_id 0 only");
    }
    if (from_ns < 0 || to_ns < 0 || (to_ns != 0 && to_ns <= from_ns)) {
        return call->refuse(kInvalidTimeRange,
                            "from_ns and to_ns must not be negative, and to_ns (when set) must "
                            "be after from_ns");
    }
    if (request->limit() > kHistoryPageMax) {
        return call->refuse(kInvalidLimit, "limit is at most 1000");
    }
    const std::uint32_t limit = request->limit() == 0 ? kHistoryPageMax : request->limit();
    const std::uint64_t after_seq = request->after_seq();
    // idx is an integer column; the whole uint32 range is compared as bigint.
    const std::int64_t after_idx_wide = request->after_idx();
    call->set_work([=](pqxx::transaction_base& tx, const Who& who,
                       cpx::v1::OrderHistoryResponse& out) {
        // PostgreSQL's bigints are signed: ids past them match nothing.
        const auto as_bigint = [](std::uint64_t v) {
            return static_cast<std::int64_t>(std::min<std::uint64_t>(
                v, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
        };
        pqxx::result rows;
        if (order_id != 0) {
            // Everyone but operators and regulators reads the reports of its own account
            // only: a refused cancel may name another account's order (or one not made
            // yet), and that order's reports are not the canceller's to read. Another
            // account's order is answered like one that does not exist.
            const std::int64_t only_account =
                who.sees_everything() ? 0 : static_cast<std::int64_t>(who.account);
            rows = tx.exec_params(
                std::string(kHistoryColumns) +
                    "WHERE r.order_id = $1 AND ($2 = 0 OR r.account = $2) "
                    "AND (r.seq, r.idx) > ($3, $4::bigint) ORDER BY r.seq, r.idx LIMIT $5",
                as_bigint(order_id), only_account, as_bigint(after_seq), after_idx_wide, limit + 1);
            if (rows.empty() && after_seq == 0 && after_idx_wide == 0) {
                return refusal(StatusCode::NOT_FOUND, kUnknownOrder,
                               "the record has no such order of the caller's (yet)");
            }
        } else {
            const std::uint64_t account = account_id == 0 ? who.account : account_id;
            if (!who.sees_everything() && account != who.account) {
                return refusal(StatusCode::PERMISSION_DENIED, kNotOwnAccount,
                               "an account reads its own order history only");
            }
            rows = tx.exec_params(
                std::string(kHistoryColumns) +
                    "WHERE r.account = $1 AND r.sequenced_ns >= $2 AND r.sequenced_ns < $3 "
                    "AND (r.seq, r.idx) > ($4, $5::bigint) ORDER BY r.seq, r.idx LIMIT $6",
                as_bigint(account), from_ns,
                to_ns == 0 ? std::numeric_limits<std::int64_t>::max() : to_ns, as_bigint(after_seq),
                after_idx_wide, limit + 1);
        }
        const std::size_t shown = std::min<std::size_t>(rows.size(), limit);
        for (std::size_t i = 0; i < shown; ++i) {
            to_event(rows[static_cast<pqxx::result::size_type>(i)], who.sees_everything(),
                     *out.add_events());
        }
        out.set_more(rows.size() > limit);
        return Outcome{};
    });
    call->start();
    return call;
}

}  // namespace cpx::gateway
