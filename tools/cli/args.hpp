#pragma once
// The command line of `cpx`: global options, then a command and its --key value
// options. Every option value is checked here, so that a typo gets a clear message
// before anything reaches the exchange.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cpx::cli {

// A usage error: printed with the command's help, exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Args {
  public:
    Args(std::string command, std::map<std::string, std::string> options)
        : command_(std::move(command)), options_(std::move(options)) {}

    const std::string& command() const { return command_; }
    bool has(const std::string& key) const;
    bool flag(const std::string& key) const;         // present without value, or true/false
    std::string text(const std::string& key) const;  // required
    std::string text_or(const std::string& key, const std::string& fallback) const;
    std::int64_t integer(const std::string& key) const;  // required
    std::int64_t integer_or(const std::string& key, std::int64_t fallback) const;
    // Money: "15.20" (CNY) or "1520fen"; returned in fen, exactly, no floating point.
    std::int64_t fen(const std::string& key) const;
    // A time: nanoseconds since the epoch, or an ISO-8601 UTC time "2026-12-01T08:00:00Z".
    std::int64_t time_ns(const std::string& key) const;
    // Options nobody asked for: a typo.
    void reject_unknown(const std::vector<std::string>& known) const;

  private:
    std::string command_;
    std::map<std::string, std::string> options_;
};

struct Global {
    std::string target = "127.0.0.1:7070";
    std::string api_key;
    bool json = false;
    std::uint32_t timeout_ms = 5'000;
    std::string tls_ca_file;  // TLS on when set
};

// Splits argv into global options (before the command) and the command's.
std::pair<Global, Args> parse(int argc, const char* const* argv);

std::int64_t parse_fen(const std::string& text);
std::int64_t parse_time_ns(const std::string& text);

}  // namespace cpx::cli
