#include "network.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <routemq/errors.hpp>
#include <routemq/testing/process.hpp>

namespace chaos {
namespace {

std::string find_ip() {
    for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
        if (access(path, X_OK) == 0) {
            return path;
        }
    }
    return "";
}

}  // namespace

std::string test_network::unavailable_reason() {
    if (geteuid() != 0) {
        return "several hosts need root (network namespaces): run as root";
    }
    if (find_ip().empty()) {
        return "several hosts need iproute2's ip (apt-get install iproute2)";
    }
    return "";
}

test_network::test_network(int hosts) : prefix_("rmqchaos" + std::to_string(getpid())) {
    // What an interrupted run left behind: rmqchaos<pid>-* of a pid that is gone.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
        const auto name = entry.path().filename().string();
        const auto dash = name.find('-');
        if (name.rfind("rmqchaos", 0) == 0 && dash != std::string::npos &&
            kill(std::atoi(name.substr(8, dash - 8).c_str()), 0) != 0) {
            routemq::testing::process({find_ip(), "netns", "del", name})
                .wait(std::chrono::seconds(5));
        }
    }
    try {
        std::vector<std::pair<std::string, std::string>> members = {{"broker", broker_address()},
                                                                    {"runner", "10.77.0.100"}};
        for (int n = 1; n <= hosts; ++n) {
            members.emplace_back("h" + std::to_string(n), host_address(n));
        }
        ip({"netns", "add", ns("lan")});
        made_.push_back(ns("lan"));
        ip({"-n", ns("lan"), "link", "add", "br0", "type", "bridge"});
        ip({"-n", ns("lan"), "link", "set", "br0", "up"});
        for (const auto& [role, address] : members) {
            ip({"netns", "add", ns(role)});
            made_.push_back(ns(role));
            const auto port = "v-" + role;
            ip({"-n", ns("lan"), "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", ns(role)});
            ip({"-n", ns("lan"), "link", "set", port, "master", "br0", "up"});
            ip({"-n", ns(role), "addr", "add", address + "/24", "dev", "eth0"});
            ip({"-n", ns(role), "link", "set", "eth0", "up"});
            ip({"-n", ns(role), "link", "set", "lo", "up"});
        }
    } catch (...) {
        for (const auto& name : made_) {
            routemq::testing::process({find_ip(), "netns", "del", name})
                .wait(std::chrono::seconds(5));
        }
        throw;
    }
}

test_network::~test_network() {
    for (const auto& name : made_) {
        routemq::testing::process({find_ip(), "netns", "del", name}).wait(std::chrono::seconds(5));
    }
}

void test_network::enter_runner_namespace() const {
    const auto path = "/run/netns/" + ns("runner");
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) {
            close(fd);
        }
        throw routemq::error("cannot enter " + path + ": " + why);
    }
    close(fd);
}

std::vector<std::string> test_network::on_broker() const {
    return {find_ip(), "netns", "exec", ns("broker")};
}

std::vector<std::string> test_network::on_host(int n) const {
    return {find_ip(), "netns", "exec", ns("h" + std::to_string(n))};
}

void test_network::cut(int n) const {
    ip({"-n", ns("lan"), "link", "set", "v-h" + std::to_string(n), "down"});
}

void test_network::heal(int n) const {
    ip({"-n", ns("lan"), "link", "set", "v-h" + std::to_string(n), "up"});
}

std::string test_network::ns(const std::string& role) const {
    return prefix_ + "-" + role;
}

void test_network::ip(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {find_ip()};
    argv.insert(argv.end(), args.begin(), args.end());
    routemq::testing::process p(argv);
    const auto status = p.wait(std::chrono::seconds(10));
    if (status != 0) {
        std::string command;
        for (const auto& a : argv) {
            command += (command.empty() ? "" : " ") + a;
        }
        throw routemq::error(command + " failed: " + p.output());
    }
}

}  // namespace chaos
