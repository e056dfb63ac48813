#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace test {

/// Starts `executable` (routemq or the test app) against a broker on `port`, with no .env and
/// the given extra arguments and settings.
std::unique_ptr<child_process> start_app(const std::string& executable, int port,
                                         std::vector<std::string> args = {},
                                         std::map<std::string, std::string> env = {});

/// Pid of worker `slot` as last logged by the manager ("worker w2 started (pid 123)"), or -1.
int worker_pid(const std::string& manager_output, int slot);

/// True while `pid` is a live process (a zombie counts as gone).
bool process_alive(int pid);

}  // namespace test
