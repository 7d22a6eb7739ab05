#include "cpx/ops/http_server.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>

// GCC 12 reports a false "may be used uninitialized" inside Beast's parser (a
// boost::optional it returns) once the parser is inlined into our code with
// optimisation; it ignores that the code is in a system header. The pragma silences that
// one warning for Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

namespace cpx::ops {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::string_view kPlainText = "text/plain; charset=utf-8";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

// A failed accept that is not a cancellation is usually the process running out of file
// descriptors or memory; accepting again at once would fail again and spin the thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

Response make_response(http::status status, unsigned version, std::string_view content_type,
                       std::string body) {
    Response response{status, version};
    response.set(http::field::content_type,
                 beast::string_view{content_type.data(), content_type.size()});
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

// The answer to a request the parser refused, or nothing when the connection should be
// closed without one: a timeout, a socket error, or a client that hung up (between
// requests or in the middle of one).
std::optional<http::status> refusal_status(const beast::error_code& error) {
    if (error == http::error::header_limit || error == http::error::buffer_overflow) {
        return http::status::request_header_fields_too_large;
    }
    if (error == http::error::body_limit) {
        return http::status::payload_too_large;
    }
    if (error == http::error::end_of_stream || error == http::error::partial_message) {
        return std::nullopt;
    }
    if (error.category() == http::make_error_code(http::error::bad_method).category()) {
        return http::status::bad_request;
    }
    return std::nullopt;
}

}  // namespace

class OpsServer::Impl {
  public:
    Impl(OpsConfig config, const Registry& registry)
        : config_(std::move(config)), registry_(registry) {
        if (config_.idle_timeout_ms == 0 || config_.header_limit_bytes == 0 ||
            config_.body_limit_bytes == 0 || config_.max_connections == 0) {
            throw std::invalid_argument(
                "OpsConfig: idle_timeout_ms, header_limit_bytes, body_limit_bytes and "
                "max_connections must be positive");
        }
    }

    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void start();
    void stop();
    std::uint16_t port() const noexcept { return port_; }

  private:
    class Session;

    void accept();
    void on_accept(const beast::error_code& error, tcp::socket socket);
    void close_everything();
    void run();
    Response respond(const Request& request) const;

    OpsConfig config_;
    const Registry& registry_;
    // One thread runs the loop; the hint lets Asio skip its internal locking.
    asio::io_context io_context_{1};
    tcp::acceptor acceptor_{io_context_};
    asio::steady_timer accept_retry_timer_{io_context_};
    // The open connections, so that stop() can close them. Touched only on the server's
    // thread: a session adds itself when constructed and removes itself when destroyed.
    std::unordered_set<Session*> sessions_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    // Set by the first successful start(); the event loop cannot be run a second time.
    bool started_ = false;
};

// One connection. It is owned by the completion handler of its pending operation (each
// handler holds a shared_ptr), so it is destroyed, and its socket closed, as soon as it
// stops starting operations. It lives on the server's thread only.
class OpsServer::Impl::Session : public std::enable_shared_from_this<Session> {
  public:
    Session(Impl& server, tcp::socket socket)
        : server_(server),
          stream_(std::move(socket)),
          buffer_(std::size_t{server.config_.header_limit_bytes} +
                  server.config_.body_limit_bytes) {
        server_.sessions_.insert(this);
    }

    ~Session() { server_.sessions_.erase(this); }

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() { read_request(); }

    // Closes the socket at once; the pending operation completes with an error and
    // releases the session.
    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

  private:
    std::chrono::milliseconds timeout() const {
        return std::chrono::milliseconds{server_.config_.idle_timeout_ms};
    }

    void read_request() {
        // A parser reads one message only, so each request gets a fresh one.
        parser_.emplace();
        parser_->header_limit(server_.config_.header_limit_bytes);
        parser_->body_limit(std::uint64_t{server_.config_.body_limit_bytes});
        // The deadline covers the whole request, so a client that trickles bytes
        // (slowloris) is cut off as surely as one that sends nothing.
        stream_.expires_after(timeout());
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                             self->on_read(error);
                         });
    }

    void on_read(const beast::error_code& error) {
        if (error) {
            // After a parse error the stream cannot be resynchronised, so an answered
            // refusal also ends the connection.
            if (const auto status = refusal_status(error)) {
                write_response(make_response(*status, 11, kPlainText,
                                             std::string(http::obsolete_reason(*status)) + "\n"),
                               true);
            } else {
                close();
            }
            return;
        }
        const Request& request = parser_->get();
        Response response;
        try {
            response = server_.respond(request);
        } catch (const std::exception& exception) {
            response = make_response(http::status::internal_server_error, request.version(),
                                     kPlainText, std::string(exception.what()) + "\n");
        }
        write_response(std::move(response), !request.keep_alive());
    }

    void write_response(Response response, bool close_after) {
        response_ = std::move(response);
        response_.keep_alive(!close_after);
        stream_.expires_after(timeout());
        http::async_write(
            stream_, response_,
            [self = shared_from_this(), close_after](beast::error_code error, std::size_t) {
                if (error) {
                    self->close();
                } else if (close_after) {
                    self->linger();
                } else {
                    self->read_request();
                }
            });
    }

    // Closing a socket that still has unread input makes the kernel send a reset, which
    // can destroy the response before the client reads it (a refused oversized request
    // typically leaves input unread). So the session first shuts down its sending side,
    // then reads and discards until the client closes or the deadline passes.
    void linger() {
        beast::error_code error;
        stream_.socket().shutdown(tcp::socket::shutdown_send, error);
        if (error) {
            close();
            return;
        }
        stream_.expires_after(timeout());
        drain();
    }

    void drain() {
        stream_.async_read_some(asio::buffer(drain_buffer_),
                                [self = shared_from_this()](beast::error_code error, std::size_t) {
                                    if (error) {
                                        self->close();
                                    } else {
                                        self->drain();
                                    }
                                });
    }

    Impl& server_;
    beast::tcp_stream stream_;
    // Bytes read but not parsed yet, e.g. a pipelined next request. Its maximum bounds
    // what one connection can make the server hold.
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    // The response being written; async_write needs it to outlive the call.
    Response response_;
    std::array<char, 512> drain_buffer_{};
};

void OpsServer::Impl::start() {
    if (started_) {
        throw std::logic_error("OpsServer::start called twice");
    }
    const std::string where = config_.address + ":" + std::to_string(config_.port);
    beast::error_code error;
    const asio::ip::address address = asio::ip::make_address(config_.address, error);
    if (error) {
        throw std::runtime_error("ops server: invalid listen address '" + config_.address +
                                 "': " + error.message());
    }
    const tcp::endpoint endpoint{address, config_.port};
    const auto fail = [&](std::string_view step) {
        beast::error_code ignored;
        acceptor_.close(ignored);
        throw std::runtime_error("ops server: cannot " + std::string(step) + " " + where + ": " +
                                 error.message());
    };
    acceptor_.open(endpoint.protocol(), error);
    if (error) {
        fail("open a socket for");
    }
    // Lets a restarted process bind again while connections of the previous one are in
    // TIME_WAIT; on Linux it never lets two live listeners share a port.
    acceptor_.set_option(asio::socket_base::reuse_address(true), error);
    if (error) {
        fail("set SO_REUSEADDR for");
    }
    acceptor_.bind(endpoint, error);
    if (error) {
        fail("bind");
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
        fail("listen on");
    }
    port_ = acceptor_.local_endpoint(error).port();
    if (error) {
        fail("read the bound port of");
    }
    accept();
    thread_ = std::thread([this] { run(); });
    started_ = true;
}

void OpsServer::Impl::stop() {
    if (!thread_.joinable()) {
        return;
    }
    // Closing everything from the server's own thread avoids racing its handlers; once
    // nothing is pending, run() returns and the thread ends.
    asio::post(io_context_, [this] { close_everything(); });
    thread_.join();
}

void OpsServer::Impl::run() {
    // The handlers catch what they expect; this keeps an unexpected exception (such as
    // std::bad_alloc) from terminating the whole process through the server's thread.
    for (;;) {
        try {
            io_context_.run();
            return;
        } catch (const std::exception& exception) {
            std::fprintf(stderr, "cpx ops server: %s\n", exception.what());
        }
    }
}

void OpsServer::Impl::close_everything() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_timer_.cancel();
    for (Session* session : sessions_) {
        session->close();
    }
}

void OpsServer::Impl::accept() {
    acceptor_.async_accept(io_context_, [this](beast::error_code error, tcp::socket socket) {
        on_accept(error, std::move(socket));
    });
}

void OpsServer::Impl::on_accept(const beast::error_code& error, tcp::socket socket) {
    if (!acceptor_.is_open()) {
        return;
    }
    if (error) {
        accept_retry_timer_.expires_after(kAcceptRetryDelay);
        accept_retry_timer_.async_wait([this](beast::error_code wait_error) {
            if (!wait_error) {
                accept();
            }
        });
        return;
    }
    if (sessions_.size() >= config_.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
    } else {
        std::make_shared<Session>(*this, std::move(socket))->start();
    }
    accept();
}

Response OpsServer::Impl::respond(const Request& request) const {
    const beast::string_view raw_target = request.target();
    std::string_view path{raw_target.data(), raw_target.size()};
    path = path.substr(0, path.find('?'));
    const bool is_healthz = path == "/healthz";
    const bool is_readyz = path == "/readyz";
    const bool is_metrics = path == "/metrics";
    if (!is_healthz && !is_readyz && !is_metrics) {
        return make_response(http::status::not_found, request.version(), kPlainText, "not found\n");
    }
    const bool is_head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !is_head) {
        Response response = make_response(http::status::method_not_allowed, request.version(),
                                          kPlainText, "method not allowed\n");
        response.set(http::field::allow, "GET, HEAD");
        return response;
    }
    Response response;
    if (is_healthz) {
        response = make_response(http::status::ok, request.version(), kPlainText, "ok\n");
    } else if (is_readyz) {
        const bool ready = !config_.ready || config_.ready();
        response = ready ? make_response(http::status::ok, request.version(), kPlainText, "ready\n")
                         : make_response(http::status::service_unavailable, request.version(),
                                         kPlainText, "not ready\n");
    } else {
        response =
            make_response(http::status::ok, request.version(), kPrometheusText, registry_.render());
    }
    if (is_head) {
        // Content-Length keeps the size of the body a GET would have received.
        response.body().clear();
    }
    return response;
}

OpsServer::OpsServer(OpsConfig config, const Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(config), registry)) {}

OpsServer::~OpsServer() {
    stop();
}

void OpsServer::start() {
    impl_->start();
}

void OpsServer::stop() {
    impl_->stop();
}

std::uint16_t OpsServer::port() const noexcept {
    return impl_->port();
}

}  // namespace cpx::ops
