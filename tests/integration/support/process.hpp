#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace test {

/// A child process (fork + exec) whose stdout and stderr go to a log file.
class child_process {
public:
    /// Starts `argv` with the current environment plus `env` (which wins).
    child_process(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                  std::string log_path);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig) const;
    /// Waits for exit; the exit code, 128+signal when killed, or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    /// Everything the process has written so far.
    std::string output() const;
    /// Waits until the output contains `needle` `times` times, or the timeout passes.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout,
                         int times = 1) const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

/// Counts the non-overlapping occurrences of `needle` in `text`.
int count_occurrences(const std::string& text, const std::string& needle);

/// A fresh file path under the system temp directory.
std::string temp_path(const std::string& stem);

}  // namespace test
