#pragma once

#include <memory>
#include <string>

#include "support/process.hpp"

namespace test {

/// A real mosquitto on a free loopback port, stopped with the object.
class mosquitto_broker {
public:
    /// `extra_config` is appended to the generated mosquitto.conf.
    explicit mosquitto_broker(std::string extra_config = "");
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
    std::string extra_config_;
    std::unique_ptr<child_process> process_;
    std::string last_log_;
};

}  // namespace test
