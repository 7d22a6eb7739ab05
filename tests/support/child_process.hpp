#pragma once
// A program a test spawns as a separate process (cpxd, as an operator runs it), with its
// standard error on a pipe the test reads: to wait for a log line, to kill it, and to
// read what it said when a check fails.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace cpx::test {

using namespace std::chrono_literals;

// A child process with its standard error on a pipe this test reads.
class Child {
  public:
    explicit Child(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            return;
        }
        read_fd_ = fds[0];
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        std::vector<char*> argv;
        for (const std::string& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
        }
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
    }
    ~Child() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        if (read_fd_ >= 0) {
            ::close(read_fd_);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    const std::string& stderr_text() const { return text_; }

    // Reads standard error until a line contains `needle` (true) or the time is up.
    bool wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (text_.find(needle) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !read_some(left)) {
                return text_.find(needle) != std::string::npos;
            }
        }
        return true;
    }

    // Waits for the exit and returns its wait status, reading standard error meanwhile.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                while (read_some(10ms)) {
                }
                return status;
            }
            read_some(10ms);
        }
        return std::nullopt;
    }

  private:
    bool read_some(std::chrono::milliseconds timeout) {
        pollfd p{read_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            return false;
        }
        char buffer[4'096];
        const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
        if (n <= 0) {
            return false;
        }
        text_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int read_fd_ = -1;
    bool exited_ = false;
    std::string text_;
};

// The number after "key": in a JSON log line, or -1.
inline std::int64_t json_number(const std::string& line, const std::string& key) {
    const std::string field = "\"" + key + "\":";
    const std::size_t at = line.find(field);
    if (at == std::string::npos) {
        return -1;
    }
    const std::size_t begin = at + field.size();
    const std::size_t end = line.find_first_not_of("0123456789", begin);
    if (end == begin) {
        return -1;
    }
    return std::stoll(line.substr(begin, end - begin));
}

}  // namespace cpx::test
