#pragma once

// OpsServer: the HTTP/1.1 operations endpoint of a cpx process, for load balancers,
// orchestrators and Prometheus. It answers
//
//   GET /healthz  200 "ok\n" while the process runs;
//   GET /readyz   200 "ready\n" when the readiness callback returns true, else
//                 503 "not ready\n";
//   GET /metrics  200, Content-Type "text/plain; version=0.0.4; charset=utf-8", the
//                 registry's Prometheus exposition.
//
// HEAD is answered like GET without the body. Another method on one of these paths gets
// 405 with "Allow: GET, HEAD"; another path gets 404; a query string is ignored.
//
// The server runs on its own thread with its own event loop, so a slow or hostile
// client never delays the order path, and it defends itself: requests larger than the
// configured limits get 431 or 413, malformed requests get 400 (the connection is
// closed after each of these), a connection that does not deliver a complete request in
// time is closed, and connections beyond the configured number are closed on arrival.
// Keep-alive and pipelined requests are supported.
//
// The header includes no Boost header: users of the server do not compile Asio.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cpx/ops/metrics.hpp"

namespace cpx::ops {

struct OpsConfig {
    // A numeric IPv4 or IPv6 address to listen on. The default keeps the endpoint off
    // the network; a deployment that scrapes from another host sets "0.0.0.0" or a
    // specific interface.
    std::string address = "127.0.0.1";
    // 0 asks the kernel for a free port; OpsServer::port() tells which one it chose.
    std::uint16_t port = 0;
    // Called on the server's thread for each GET /readyz, so it must be thread-safe and
    // quick (an atomic load, typically). Empty means always ready.
    std::function<bool()> ready;
    // A connection must deliver each complete request within this time, counted from
    // its arrival or from the previous response; otherwise it is closed. The same limit
    // bounds the writing of each response to a client that does not read.
    std::uint32_t idle_timeout_ms = 5000;
    // The largest request line plus headers, and the largest request body, accepted.
    std::uint32_t header_limit_bytes = 8192;
    std::uint32_t body_limit_bytes = 8192;
    // Connections open at the same time; a connection beyond this is closed as soon as
    // it is accepted.
    std::size_t max_connections = 16;
};

// The members are meant for the thread that owns the server and may not be called
// concurrently with each other; all network work happens on the server's own thread.
class OpsServer {
  public:
    // registry must outlive the server. Throws std::invalid_argument when a limit in the
    // config is zero. Does not open a socket yet.
    OpsServer(OpsConfig config, const Registry& registry);
    // Calls stop().
    ~OpsServer();
    OpsServer(const OpsServer&) = delete;
    OpsServer& operator=(const OpsServer&) = delete;

    // Binds, listens and starts the server's thread; when it returns, connections are
    // being accepted. Throws std::runtime_error, naming the address and the reason, when
    // the address is invalid or cannot be bound; the server is then left stopped.
    // Throws std::logic_error when called again after a successful start: a server
    // starts at most once.
    void start();

    // Closes the listening socket and every connection, and joins the server's thread.
    // Idempotent; does nothing if start() never succeeded. Must not be called from a
    // readiness or metrics callback (it would wait for its own thread).
    void stop();

    // The bound port, once start() has returned; 0 before.
    std::uint16_t port() const noexcept;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cpx::ops
