#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace routemq::testing {

/// A child process (fork and exec) whose stdout and stderr go to a log file: the application
/// under test, a broker, a command-line client. Killed (SIGKILL) if it still runs when the object
/// goes, and its log file removed.
class process {
public:
    /// Starts `argv` (argv[0] is a path; the PATH is not searched) with the current environment
    /// plus `env` (which wins), writing its output to `log_path`, or to a fresh file in the temp
    /// directory when empty. Throws routemq::error when it cannot start.
    explicit process(std::vector<std::string> argv,
                     const std::map<std::string, std::string>& env = {}, std::string log_path = {});
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// Sends `sig` (SIGTERM, SIGINT, SIGKILL, ...).
    void signal(int sig) const;
    /// Waits for it to exit: its exit status, 128 + the signal when a signal ended it, or nullopt
    /// when it still runs after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    /// Everything it has written so far.
    std::string output() const;
    /// Waits until its output contains `needle` `times` times; false when `timeout` passed first.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout,
                         int times = 1) const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

/// How many times `needle` occurs in `text`, not overlapping (lines of a process's output).
int count_occurrences(const std::string& text, const std::string& needle);

/// A fresh path in the temp directory (`$TMPDIR`, else /tmp), ending in `stem`; nothing is
/// created.
std::string temp_path(const std::string& stem);

/// A TCP port on 127.0.0.1 that nothing listens on right now (for an application's HTTP_PORT).
int free_loopback_port();

}  // namespace routemq::testing
