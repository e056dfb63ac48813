#pragma once

#include <functional>
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

/// Publishes `count` QoS 1 readings `{"temp": ..}` on sensors/<i>/data, i = 0..count-1, as the
/// example application expects; `after_window(n)` runs after the first n were acknowledged.
void publish_readings(int broker_port, int count,
                      const std::function<void(std::size_t)>& after_window = {});

/// Pid of process `slot` as last logged by the manager ("process w2 started (pid 123)"), or -1.
int worker_pid(const std::string& manager_output, int slot);

/// True while `pid` is a live process (a zombie counts as gone).
bool process_alive(int pid);

}  // namespace test
