#pragma once

// Calls by method name with raw bytes, through grpc::GenericStub: for the services
// without a generated stub here (health checking, reflection) and for bytes no
// generated stub would send (invalid protobuf).

#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "gateway_fixture.hpp"

namespace cpx::gateway::test {

inline grpc::ByteBuffer to_buffer(const std::string& bytes) {
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
}

inline std::string to_bytes(const grpc::ByteBuffer& buffer) {
    std::vector<grpc::Slice> slices;
    std::string out;
    if (!buffer.Dump(&slices).ok()) {
        return out;
    }
    for (const grpc::Slice& s : slices) {
        out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return out;
}

struct GenericAnswer {
    grpc::Status status;
    std::string bytes;
    bool completed = false;  // the call ended (with any status) before the deadline
};

// Waits for `tag` on the queue; false when something else (or nothing) came.
inline bool await_tag(grpc::CompletionQueue& cq, void* tag, bool& ok,
                      std::chrono::system_clock::time_point deadline) {
    void* got = nullptr;
    const auto result = cq.AsyncNext(&got, &ok, deadline);
    return result == grpc::CompletionQueue::GOT_EVENT && got == tag;
}

inline void drain(grpc::CompletionQueue& cq) {
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
    }
}

// One message to `method` (for example "/cpx.v1.OrderEntry/PlaceOrder"), one answer.
// Works for a streaming method too: the message is sent and the client half-closes.
inline GenericAnswer generic_unary(const std::shared_ptr<grpc::Channel>& channel,
                                   const std::string& method, const std::string& request,
                                   const std::string& key = "") {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    if (!key.empty()) {
        context.AddMetadata("x-api-key", key);
    }
    context.set_deadline(deadline_in(kCallTimeout));
    grpc::CompletionQueue cq;
    const grpc::ByteBuffer request_buffer = to_buffer(request);
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
        stub.PrepareUnaryCall(&context, method, request_buffer, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    GenericAnswer answer;
    int tag = 0;
    call->Finish(&response, &answer.status, &tag);
    bool ok = false;
    answer.completed = await_tag(cq, &tag, ok, deadline_in(kCallTimeout + kCallTimeout));
    if (!answer.completed) {
        context.TryCancel();
    }
    drain(cq);
    if (answer.completed && answer.status.ok()) {
        answer.bytes = to_bytes(response);
    }
    return answer;
}

// A bidirectional call by name: writes every request, half-closes, reads until the
// server ends the call.
struct GenericStreamAnswer {
    grpc::Status status;
    std::vector<std::string> responses;
    bool completed = false;
};

inline GenericStreamAnswer generic_bidi(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& method,
                                        const std::vector<std::string>& requests) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(deadline_in(kCallTimeout));
    const auto give_up = deadline_in(kCallTimeout + kCallTimeout);
    grpc::CompletionQueue cq;
    GenericStreamAnswer answer;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub.PrepareCall(&context, method, &cq);
    int start = 0;
    int write = 0;
    int writes_done = 0;
    int read = 0;
    int finish = 0;
    bool ok = false;
    call->StartCall(&start);
    bool alive = await_tag(cq, &start, ok, give_up) && ok;
    for (const std::string& r : requests) {
        if (!alive) {
            break;
        }
        call->Write(to_buffer(r), &write);
        alive = await_tag(cq, &write, ok, give_up) && ok;
    }
    if (alive) {
        call->WritesDone(&writes_done);
        alive = await_tag(cq, &writes_done, ok, give_up) && ok;
    }
    while (alive) {
        grpc::ByteBuffer response;
        call->Read(&response, &read);
        if (!await_tag(cq, &read, ok, give_up) || !ok) {
            break;
        }
        answer.responses.push_back(to_bytes(response));
    }
    call->Finish(&answer.status, &finish);
    answer.completed = await_tag(cq, &finish, ok, give_up);
    if (!answer.completed) {
        context.TryCancel();
    }
    drain(cq);
    return answer;
}

}  // namespace cpx::gateway::test
