#pragma once

#include <memory>
#include <string>

#include "support/process.hpp"

namespace test {

/// How a test broker is configured beyond the defaults (anonymous clients, no persistence, no
/// per-client queue limit).
struct broker_options {
    /// Appended to the generated mosquitto.conf.
    std::string extra_config{};
    /// Keep sessions and queued messages across stop()/start() (in a directory of its own).
    bool persistence = false;
    /// false: every CONNECT is refused (mosquitto 2 has no password file here), as with a bad
    /// user name or password.
    bool allow_anonymous = true;
};

/// A real mosquitto on a free loopback port, stopped with the object.
class mosquitto_broker {
public:
    /// `extra_config` is appended to the generated mosquitto.conf.
    explicit mosquitto_broker(std::string extra_config = "");
    explicit mosquitto_broker(broker_options options);
    ~mosquitto_broker();

    int port() const { return port_; }
    /// Stops the broker (SIGTERM) and waits for it to exit.
    void stop();
    /// Starts it again on the same port.
    void start();
    std::string log() const;

private:
    bool launch();

    int port_ = 0;
    std::string config_path_;
    broker_options options_;
    std::string persistence_dir_;
    std::unique_ptr<child_process> process_;
    std::string last_log_;
};

}  // namespace test
