#include "support/app_runner.hpp"

#include <signal.h>

#include <fstream>
#include <regex>

#include "support/http.hpp"
#include "support/test_client.hpp"

namespace test {

std::unique_ptr<child_process> start_app(const std::string& executable, int port,
                                         std::vector<std::string> args,
                                         std::map<std::string, std::string> env) {
    env.emplace("MQTT_BROKER", "127.0.0.1");
    env.emplace("MQTT_PORT", std::to_string(port));
    env.emplace("MQTT_GROUP_NAME", "itest");
    env.emplace("LOG_LEVEL", "debug");
    // Tests run in parallel: never the default 0.0.0.0:8080.
    env.emplace("HTTP_HOST", "127.0.0.1");
    env.emplace("HTTP_PORT", std::to_string(free_loopback_port()));
    std::vector<std::string> argv = {executable, "--env-file", "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<child_process>(argv, env, temp_path("app.log"));
}

void publish_readings(int broker_port, int count,
                      const std::function<void(std::size_t)>& after_window) {
    std::vector<received> readings;
    for (int i = 0; i < count; ++i) {
        readings.push_back({"sensors/" + std::to_string(i) + "/data",
                            "{\"temp\":" + std::to_string(i % 40) + "}"});
    }
    test_client pub(broker_port, "itest-publisher", /*receive=*/false);
    pub.publish_many(readings, 100, after_window);
}

int worker_pid(const std::string& manager_output, int slot) {
    const std::regex started("process w" + std::to_string(slot) + R"( started \(pid (\d+)\))");
    int pid = -1;
    for (auto it = std::sregex_iterator(manager_output.begin(), manager_output.end(), started);
         it != std::sregex_iterator(); ++it) {
        pid = std::stoi((*it)[1]);
    }
    return pid;
}

bool process_alive(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) {
        return false;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    stat >> pid_field >> comm >> state;
    return stat && state != "Z";
}

}  // namespace test
