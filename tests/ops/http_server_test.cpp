// OpsServer over real loopback sockets: the three endpoints, HTTP semantics (status
// codes, keep-alive, pipelining, HEAD), and its defences against hostile clients.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpx/ops/http_server.hpp"
#include "cpx/ops/metrics.hpp"
#include "test_client.hpp"

namespace cpx::ops {
namespace {

using testing::Outcome;
using testing::request_text;
using testing::TestClient;
using namespace std::chrono_literals;

class OpsHttp : public ::testing::Test {
  protected:
    OpsServer& start_server(OpsConfig config = {}) {
        server_ = std::make_unique<OpsServer>(std::move(config), registry_);
        server_->start();
        return *server_;
    }

    std::uint16_t port() const { return server_->port(); }

    // Sends one request on a new connection and returns the response, or fails the test.
    testing::Response fetch(std::string_view target, std::string_view method = "GET") {
        TestClient client(port());
        EXPECT_TRUE(client.send(request_text(method, target)));
        auto response = client.read_response(method == "HEAD");
        if (!response) {
            ADD_FAILURE() << "no response to " << method << " " << target;
            return {};
        }
        return *response;
    }

    Registry registry_;
    std::unique_ptr<OpsServer> server_;
};

std::string header(const testing::Response& response, testing::http::field field) {
    const auto value = response[field];
    return std::string(value.data(), value.size());
}

TEST_F(OpsHttp, HealthzAnswersOk) {
    start_server();
    ASSERT_NE(port(), 0);
    const auto response = fetch("/healthz");
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response.body(), "ok\n");
    EXPECT_EQ(header(response, testing::http::field::content_type), "text/plain; charset=utf-8");
}

TEST_F(OpsHttp, ReadinessFollowsTheCallback) {
    std::atomic<bool> ready{false};
    OpsConfig config;
    config.ready = [&ready] { return ready.load(); };
    start_server(std::move(config));

    TestClient client(port());
    const auto ask = [&client] {
        EXPECT_TRUE(client.send(request_text("GET", "/readyz")));
        return client.read_response();
    };
    auto response = ask();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 503u);
    EXPECT_EQ(response->body(), "not ready\n");

    ready = true;
    response = ask();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200u);
    EXPECT_EQ(response->body(), "ready\n");

    ready = false;
    response = ask();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 503u);
}

TEST_F(OpsHttp, ReadinessWithoutCallbackIsReady) {
    start_server();
    const auto response = fetch("/readyz");
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response.body(), "ready\n");
}

TEST_F(OpsHttp, MetricsEndpointServesPrometheusText) {
    registry_.register_counter("cpx_orders_total", "Orders received.").add(3);
    registry_.register_histogram("cpx_latency_ns", "Latency.", {1000, 10000}).observe(1500);
    start_server();
    const auto response = fetch("/metrics");
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(header(response, testing::http::field::content_type),
              "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(response.body(), registry_.render());
    EXPECT_NE(response.body().find("\ncpx_orders_total 3\n"), std::string::npos);
    EXPECT_NE(response.body().find("cpx_latency_ns_bucket{le=\"10000\"} 1\n"), std::string::npos);
}

TEST_F(OpsHttp, MetricsAreReadAtEachScrape) {
    Counter& counter = registry_.register_counter("cpx_orders_total", "Orders received.");
    start_server();
    counter.add(1);
    EXPECT_NE(fetch("/metrics").body().find("cpx_orders_total 1\n"), std::string::npos);
    counter.add(1);
    EXPECT_NE(fetch("/metrics").body().find("cpx_orders_total 2\n"), std::string::npos);
}

TEST_F(OpsHttp, HeadIsAnsweredWithoutBody) {
    registry_.register_counter("cpx_orders_total", "Orders received.").add(3);
    start_server();
    TestClient client(port());
    ASSERT_TRUE(client.send(request_text("HEAD", "/metrics")));
    const auto head = client.read_response(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->result_int(), 200u);
    EXPECT_EQ(header(*head, testing::http::field::content_length),
              std::to_string(registry_.render().size()));
    // If the server had sent a body anyway, the next response on this connection would
    // be misparsed.
    ASSERT_TRUE(client.send(request_text("GET", "/healthz")));
    const auto next = client.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body(), "ok\n");
}

TEST_F(OpsHttp, UnknownPathIs404) {
    start_server();
    for (const char* target : {"/", "/nope", "/healthzz", "/metrics/", "/HEALTHZ"}) {
        EXPECT_EQ(fetch(target).result_int(), 404u) << target;
    }
}

TEST_F(OpsHttp, QueryStringIsIgnored) {
    start_server();
    EXPECT_EQ(fetch("/healthz?verbose=1").result_int(), 200u);
}

TEST_F(OpsHttp, PostIs405) {
    start_server();
    TestClient client(port());
    ASSERT_TRUE(
        client.send("POST /metrics HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 5\r\n\r\nhello"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 405u);
    EXPECT_NE(header(*response, testing::http::field::allow).find("GET"), std::string::npos);
    for (const char* method : {"DELETE", "PUT", "OPTIONS", "BREW"}) {
        EXPECT_EQ(fetch("/healthz", method).result_int(), 405u) << method;
    }
}

TEST_F(OpsHttp, KeepAliveServesSeveralRequestsOnOneConnection) {
    start_server();
    TestClient client(port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(client.send(request_text("GET", "/healthz")));
        const auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 200u);
        EXPECT_TRUE(response->keep_alive());
    }
    ASSERT_TRUE(client.send(request_text("GET", "/healthz", "Connection: close\r\n")));
    const auto last = client.read_response();
    ASSERT_TRUE(last);
    EXPECT_FALSE(last->keep_alive());
    EXPECT_EQ(client.wait_for_close(testing::kReplyTimeout), Outcome::closed);
}

TEST_F(OpsHttp, ClientThatFinishesIsClosedWithoutAnotherResponse) {
    start_server();
    TestClient client(port());
    ASSERT_TRUE(client.send(request_text("GET", "/healthz")));
    ASSERT_TRUE(client.read_response());
    client.finish_sending();
    EXPECT_EQ(client.wait_for_close(testing::kReplyTimeout), Outcome::closed);
}

TEST_F(OpsHttp, Http10ConnectionIsClosedAfterTheResponse) {
    start_server();
    TestClient client(port());
    ASSERT_TRUE(client.send("GET /healthz HTTP/1.0\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 200u);
    EXPECT_EQ(client.wait_for_close(testing::kReplyTimeout), Outcome::closed);
}

TEST_F(OpsHttp, PipelinedRequestsAreAnsweredInOrder) {
    start_server();
    TestClient client(port());
    ASSERT_TRUE(client.send(request_text("GET", "/healthz") + request_text("GET", "/nope") +
                            request_text("GET", "/readyz")));
    const auto first = client.read_response();
    const auto second = client.read_response();
    const auto third = client.read_response();
    ASSERT_TRUE(first && second && third);
    EXPECT_EQ(first->body(), "ok\n");
    EXPECT_EQ(second->result_int(), 404u);
    EXPECT_EQ(third->body(), "ready\n");
}

TEST_F(OpsHttp, OversizedHeaderIsRefusedAndServerKeepsServing) {
    OpsConfig config;
    config.header_limit_bytes = 8192;
    start_server(std::move(config));
    TestClient client(port());
    client.send(request_text("GET", "/healthz", "X-Big: " + std::string(16 * 1024, 'a') + "\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 431u);
    EXPECT_EQ(client.wait_for_close(testing::kReplyTimeout), Outcome::closed);

    // A header just under the limit is still served.
    TestClient modest(port());
    ASSERT_TRUE(
        modest.send(request_text("GET", "/healthz", "X-Big: " + std::string(7000, 'a') + "\r\n")));
    const auto served = modest.read_response();
    ASSERT_TRUE(served);
    EXPECT_EQ(served->result_int(), 200u);
}

TEST_F(OpsHttp, OversizedBodyIsRefusedWith413) {
    OpsConfig config;
    config.body_limit_bytes = 1024;
    start_server(std::move(config));
    TestClient client(port());
    client.send(request_text("GET", "/healthz", "Content-Length: 100000\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 413u);
    EXPECT_EQ(fetch("/healthz").result_int(), 200u);
}

TEST_F(OpsHttp, MalformedRequestIsAnswered400) {
    start_server();
    for (const char* bytes : {
             "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
             "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
             "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
             "G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
         }) {
        TestClient client(port());
        ASSERT_TRUE(client.send(bytes));
        const auto response = client.read_response();
        ASSERT_TRUE(response) << bytes;
        EXPECT_EQ(response->result_int(), 400u) << bytes;
        EXPECT_FALSE(response->keep_alive()) << bytes;
        EXPECT_EQ(client.wait_for_close(testing::kReplyTimeout), Outcome::closed) << bytes;
    }
}

TEST_F(OpsHttp, GarbageBytesDoNotCrashTheServer) {
    OpsConfig config;
    // Incomplete garbage is closed by the timeout; keep it short so the test is quick.
    config.idle_timeout_ms = 300;
    start_server(std::move(config));

    std::vector<std::string> payloads = {
        std::string("\x00\x01\x02\xff\r\n\r\n", 8),
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        "HELLO WORLD",
        "GET /healthz HTTP/1.1\r\nHost: x\r\n",
    };
    std::mt19937 random(12345);
    for (int i = 0; i < 4; ++i) {
        std::string bytes(2048, '\0');
        for (char& c : bytes) {
            c = static_cast<char>(random() & 0xff);
        }
        payloads.push_back(std::move(bytes));
    }

    // All connections are open at once, so the slow cases wait out one timeout together.
    std::vector<std::unique_ptr<TestClient>> clients;
    for (const std::string& payload : payloads) {
        clients.push_back(std::make_unique<TestClient>(port()));
        clients.back()->send(payload);
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        // Each is refused with a 4xx, or closed without an answer; never served, never
        // left hanging.
        const auto response = clients[i]->read_response();
        if (response) {
            EXPECT_GE(response->result_int(), 400u) << "payload " << i;
            EXPECT_LT(response->result_int(), 500u) << "payload " << i;
        }
        EXPECT_NE(clients[i]->wait_for_close(testing::kReplyTimeout), Outcome::timed_out)
            << "payload " << i;
    }
    EXPECT_EQ(fetch("/healthz").result_int(), 200u);
}

TEST_F(OpsHttp, IdleConnectionIsClosedAfterTimeout) {
    OpsConfig config;
    config.idle_timeout_ms = 200;
    start_server(std::move(config));
    const auto start = std::chrono::steady_clock::now();
    TestClient client(port());
    EXPECT_EQ(client.wait_for_close(1500ms), Outcome::closed);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST_F(OpsHttp, IncompleteRequestIsClosedAfterTimeout) {
    OpsConfig config;
    config.idle_timeout_ms = 200;
    start_server(std::move(config));
    TestClient client(port());
    ASSERT_TRUE(client.send("GET /healthz HTTP/1.1\r\nHost: loc"));
    EXPECT_EQ(client.wait_for_close(1500ms), Outcome::closed);
}

TEST_F(OpsHttp, ConnectionCapIsEnforced) {
    OpsConfig config;
    config.max_connections = 2;
    start_server(std::move(config));

    // Two served connections hold both places.
    std::vector<std::unique_ptr<TestClient>> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(std::make_unique<TestClient>(port()));
        ASSERT_TRUE(held.back()->send(request_text("GET", "/healthz")));
        ASSERT_TRUE(held.back()->read_response());
    }

    TestClient extra(port());
    EXPECT_EQ(extra.wait_for_close(testing::kReplyTimeout), Outcome::closed);

    // Once a place is free, new connections are served again. The server learns of the
    // close asynchronously, so a connection that arrives first may still be refused.
    held.front().reset();
    bool served = false;
    const auto deadline = std::chrono::steady_clock::now() + 1500ms;
    while (!served && std::chrono::steady_clock::now() < deadline) {
        TestClient next(port());
        next.send(request_text("GET", "/healthz"));
        const auto response = next.read_response(false, 500ms);
        served = response && response->result_int() == 200u;
    }
    EXPECT_TRUE(served);

    ASSERT_TRUE(held.back()->send(request_text("GET", "/healthz")));
    EXPECT_TRUE(held.back()->read_response());
}

TEST_F(OpsHttp, StopClosesConnectionsAndTheListeningSocket) {
    OpsConfig config;
    // Far longer than the test: the connection must close because of stop(), not
    // because it idled out.
    config.idle_timeout_ms = 30'000;
    OpsServer& server = start_server(std::move(config));
    const std::uint16_t bound_port = port();
    TestClient client(bound_port);
    ASSERT_TRUE(client.send(request_text("GET", "/healthz")));
    ASSERT_TRUE(client.read_response());

    const auto stop_start = std::chrono::steady_clock::now();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - stop_start, 1500ms);
    EXPECT_EQ(client.wait_for_close(testing::kReplyTimeout), Outcome::closed);
    EXPECT_THROW(TestClient{bound_port}, boost::system::system_error);
    server.stop();
}

TEST_F(OpsHttp, FailingCallbackAnswers500AndServerKeepsServing) {
    registry_.register_callback_gauge("cpx_depth", "Depth.", {}, []() -> std::int64_t {
        throw std::runtime_error("queue gone");
    });
    start_server();
    const auto response = fetch("/metrics");
    EXPECT_EQ(response.result_int(), 500u);
    EXPECT_EQ(fetch("/healthz").result_int(), 200u);
}

TEST(OpsServerLifecycle, StartThrowsWhenThePortIsTaken) {
    Registry registry;
    OpsServer first(OpsConfig{}, registry);
    first.start();
    OpsConfig config;
    config.port = first.port();
    OpsServer second(std::move(config), registry);
    try {
        second.start();
        FAIL() << "a second server bound a port in use";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("bind"), std::string::npos) << error.what();
    }
    EXPECT_EQ(second.port(), 0);
}

TEST(OpsServerLifecycle, StartThrowsOnAnInvalidAddress) {
    Registry registry;
    OpsConfig config;
    config.address = "not-an-address";
    OpsServer server(std::move(config), registry);
    EXPECT_THROW(server.start(), std::runtime_error);
}

TEST(OpsServerLifecycle, StartingTwiceIsRefused) {
    Registry registry;
    OpsServer server(OpsConfig{}, registry);
    server.start();
    EXPECT_THROW(server.start(), std::logic_error);
}

TEST(OpsServerLifecycle, ZeroLimitsAreRefused) {
    Registry registry;
    OpsConfig no_connections;
    no_connections.max_connections = 0;
    EXPECT_THROW(OpsServer(std::move(no_connections), registry), std::invalid_argument);
    OpsConfig no_timeout;
    no_timeout.idle_timeout_ms = 0;
    EXPECT_THROW(OpsServer(std::move(no_timeout), registry), std::invalid_argument);
}

TEST(OpsServerLifecycle, DestructorStopsARunningServer) {
    Registry registry;
    std::uint16_t bound_port = 0;
    {
        OpsServer server(OpsConfig{}, registry);
        server.start();
        bound_port = server.port();
    }
    EXPECT_THROW(TestClient{bound_port}, boost::system::system_error);
}

}  // namespace
}  // namespace cpx::ops
