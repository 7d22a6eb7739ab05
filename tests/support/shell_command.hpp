#pragma once
// Runs a command line through the shell, as a user types it, and collects its exit
// status and everything it printed (standard error joined to standard output): for the
// tests of the built command-line programs.

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace cpx::test {

struct ShellRun {
    int status = -1;     // the exit status, -1 if the command did not exit
    std::string output;  // standard output and standard error
};

inline ShellRun run_shell(const std::string& command_line) {
    ShellRun run;
    FILE* out = ::popen((command_line + " 2>&1").c_str(), "r");
    if (out == nullptr) {
        return run;
    }
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, out) != nullptr) {
        run.output += buffer;
    }
    const int status = ::pclose(out);
    if (WIFEXITED(status)) {
        run.status = WEXITSTATUS(status);
    }
    return run;
}

}  // namespace cpx::test
