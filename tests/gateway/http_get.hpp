#pragma once

// A plain HTTP/1.1 GET over a loopback TCP socket, for cpxd's operations endpoint
// (/healthz, /readyz, /metrics). Every wait polls with the time left, so a server that
// hangs fails the test instead of hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cpx::gateway::test {

struct HttpResponse {
    int status = 0;
    std::string body;
};

inline std::optional<HttpResponse> http_get(
    std::uint16_t port, const std::string& path,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    const auto left_ms = [&] {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<std::int64_t>(0, left.count()));
    };
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return std::nullopt;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string raw;
    bool complete = false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        const std::string request =
            "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
            while (true) {
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, left_ms()) <= 0) {
                    break;
                }
                char buffer[4'096];
                const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n <= 0) {
                    complete = n == 0;
                    break;
                }
                raw.append(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
    const auto header_end = raw.find("\r\n\r\n");
    if (!complete || raw.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos) {
        return std::nullopt;
    }
    HttpResponse response;
    response.status = std::stoi(raw.substr(9, 3));
    response.body = raw.substr(header_end + 4);
    return response;
}

// The value of an unlabelled sample ("name value") in a Prometheus exposition, or -1.
inline std::int64_t metric_value(const std::string& exposition, const std::string& name) {
    std::size_t at = 0;
    while ((at = exposition.find(name + " ", at)) != std::string::npos) {
        if (at == 0 || exposition[at - 1] == '\n') {
            return std::stoll(exposition.substr(at + name.size() + 1));
        }
        at += name.size();
    }
    return -1;
}

}  // namespace cpx::gateway::test
