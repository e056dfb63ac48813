#pragma once

#include <string>
#include <vector>

namespace chaos {

/// Several hosts on one machine: network namespaces made for one run (root only), joined by a
/// bridge in a namespace of its own, as machines on one switch. The broker is 10.77.0.1, host n
/// is 10.77.0.(10 + n), and the runner itself moves to 10.77.0.100, so that every connection it
/// watches crosses the bridge. Everything is removed with the object.
class test_network {
public:
    /// Makes the namespaces; throws routemq::error naming the command that failed.
    explicit test_network(int hosts);
    ~test_network();
    test_network(const test_network&) = delete;
    test_network& operator=(const test_network&) = delete;

    /// Moves this process into the runner's namespace; call it before any thread starts.
    void enter_runner_namespace() const;

    /// The command prefix that runs a program on the broker's host, or on host `n` (1-based).
    std::vector<std::string> on_broker() const;
    std::vector<std::string> on_host(int n) const;
    static std::string broker_address() { return "10.77.0.1"; }
    static std::string host_address(int n) { return "10.77.0." + std::to_string(10 + n); }

    /// Pulls host n's cable out of the switch (its own interface stays up: its connections just
    /// stop getting answers, as across a real partition), and puts it back.
    void cut(int n) const;
    void heal(int n) const;

    /// Why several hosts cannot be tried here (not root, no `ip`), or "" when they can.
    static std::string unavailable_reason();

private:
    std::string ns(const std::string& role) const;
    void ip(const std::vector<std::string>& args) const;

    std::string prefix_;
    std::vector<std::string> made_;
};

}  // namespace chaos
