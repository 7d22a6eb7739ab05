#pragma once

// A small blocking HTTP client for the OpsServer tests. It speaks over a real loopback
// socket, sends arbitrary bytes (so tests can be hostile), and never waits without a
// deadline: every read first polls the socket with the time left, so a server that hangs
// fails a test instead of hanging it.

#include <poll.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// GCC 12 reports a false "may be used uninitialized" inside Beast's parser (a
// boost::optional it returns) once the parser is inlined into our code with
// optimisation; it ignores that the code is in a system header. The pragma silences that
// one warning for Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

namespace cpx::ops::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;

// Generous on purpose: a loaded 2-core machine running sanitizer builds can delay a
// reply by far more than the server needs. Tests that expect a reply return as soon as it
// arrives, so the margin costs nothing when things work.
constexpr std::chrono::milliseconds kReplyTimeout{1500};

// What the server did while the client waited for input.
enum class Outcome { data, closed, timed_out };

// A GET-style request without a body, with the Host header HTTP/1.1 requires.
inline std::string request_text(std::string_view method, std::string_view target,
                                std::string_view extra_headers = "") {
    std::string text;
    text += method;
    text += ' ';
    text += target;
    text += " HTTP/1.1\r\nHost: localhost\r\n";
    text += extra_headers;
    text += "\r\n";
    return text;
}

class TestClient {
  public:
    // Connects to 127.0.0.1:port; throws boost::system::system_error when refused.
    explicit TestClient(std::uint16_t port) : socket_(io_context_) {
        socket_.connect(tcp::endpoint{asio::ip::make_address_v4("127.0.0.1"), port});
    }

    // Returns false when the server has already closed the connection.
    bool send(std::string_view bytes) {
        beast::error_code error;
        asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), error);
        return !error;
    }

    // Reads one response. Returns nothing when the connection closes, the bytes are not
    // HTTP, or the timeout passes first. head says the request was HEAD, whose response
    // announces a body it does not carry.
    std::optional<Response> read_response(bool head = false,
                                          std::chrono::milliseconds timeout = kReplyTimeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        http::response_parser<http::string_body> parser;
        parser.eager(true);
        parser.skip(head);
        for (;;) {
            if (!pending_.empty()) {
                beast::error_code error;
                const std::size_t used =
                    parser.put(asio::buffer(pending_.data(), pending_.size()), error);
                pending_.erase(0, used);
                if (parser.is_done()) {
                    return parser.release();
                }
                if (error && error != http::error::need_more) {
                    return std::nullopt;
                }
                if (!error && used > 0) {
                    continue;
                }
            }
            if (read_more(deadline) != Outcome::data) {
                return std::nullopt;
            }
        }
    }

    // Waits for the server to close the connection, discarding what it sends. Returns
    // closed if it closes without sending a byte first, data if anything arrived before
    // the close, timed_out if the connection is still open at the timeout.
    Outcome wait_for_close(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        bool received = !pending_.empty();
        for (;;) {
            const Outcome outcome = read_more(deadline);
            if (outcome != Outcome::data) {
                return outcome == Outcome::closed && received ? Outcome::data : outcome;
            }
            received = true;
        }
    }

    // Tells the server this client will send nothing more, as a polite client does
    // before closing.
    void finish_sending() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }

  private:
    // Appends what arrives before the deadline to pending_.
    Outcome read_more(std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return Outcome::timed_out;
            }
            pollfd descriptor{socket_.native_handle(), POLLIN, 0};
            const int ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) {
                continue;
            }
            if (ready < 0) {
                return Outcome::closed;
            }
            if (ready == 0) {
                return Outcome::timed_out;
            }
            // poll said readable (or hung up), so this read does not block.
            std::array<char, 4096> chunk;
            beast::error_code error;
            const std::size_t n = socket_.read_some(asio::buffer(chunk), error);
            if (error) {
                return Outcome::closed;
            }
            pending_.append(chunk.data(), n);
            return Outcome::data;
        }
    }

    asio::io_context io_context_;
    tcp::socket socket_;
    // Bytes received but not yet parsed: the start of the next pipelined response.
    std::string pending_;
};

}  // namespace cpx::ops::testing
