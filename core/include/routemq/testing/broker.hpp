#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "routemq/settings.hpp"
#include "routemq/testing/process.hpp"

namespace routemq::testing {

/// How a test broker is set up beyond the defaults (anonymous clients, no persistence, no limit
/// on a session's queue).
struct broker_options {
    /// Lines appended to the generated mosquitto.conf (`allow_duplicate_messages true\n`).
    std::string extra_config = {};
    /// Keep sessions and queued messages across stop() and start(), in a directory of its own.
    bool persistence = false;
    /// false: every CONNECT is refused, as with a bad user name or password.
    bool allow_anonymous = true;
    /// The mosquitto to run; empty: `mosquitto` on the PATH, else /usr/sbin/mosquitto or
    /// /usr/local/sbin/mosquitto.
    std::string executable = {};
    /// Where it listens: 127.0.0.1 and a free port by default. Another address is for a broker on
    /// a network of the test's own (a network namespace, see `launcher`); `port` 0 picks a free
    /// port of 127.0.0.1.
    std::string host = "127.0.0.1";
    int port = 0;
    /// A command mosquitto runs under, such as {"/usr/sbin/ip", "netns", "exec", "broker-ns"}.
    std::vector<std::string> launcher = {};
};

/// A real mosquitto for integration tests, on a free port of 127.0.0.1: started by the
/// constructor, which returns once it accepts connections, and stopped with the object.
///
///     routemq::testing::broker broker;
///     routemq::testing::process app({"build/release/routemq", "--env-file", "/dev/null"},
///                                   broker.env());
class broker {
public:
    /// Starts mosquitto; throws routemq::error, with its output, when it does not start.
    broker();
    explicit broker(broker_options options);
    /// A broker whose mosquitto.conf ends with `extra_config`.
    explicit broker(std::string extra_config);
    ~broker();
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;

    /// Where it listens: 127.0.0.1 and port().
    const std::string& host() const noexcept { return host_; }
    int port() const noexcept { return port_; }
    /// The settings that point a RouteMQ application at it (MQTT_BROKER, MQTT_PORT): a
    /// process's `env`, or the variables for routemq::load_settings.
    std::map<std::string, std::string> env() const;
    /// The default settings with env() applied: for a routemq::client talking to the
    /// application under test.
    routemq::settings settings() const;

    /// Stops it (SIGTERM) and waits for it to exit; a broker crash or restart test.
    void stop();
    /// Starts it again, on the same port; throws routemq::error when it does not come back.
    void start();
    bool running() const;
    /// The mosquitto process's pid, -1 while stopped: a test that pauses it (SIGSTOP) to see
    /// what waits for a broker that neither answers nor closes connections.
    int pid() const noexcept;
    /// Everything mosquitto has logged (connections, subscriptions, errors), including before
    /// the last stop().
    std::string log() const;

private:
    bool launch();

    std::string host_;
    int port_ = 0;
    broker_options options_;
    std::string executable_;
    std::string config_path_;
    std::string persistence_dir_;
    std::unique_ptr<process> process_;
    std::string last_log_;
};

}  // namespace routemq::testing
