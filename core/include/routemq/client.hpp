#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "routemq/settings.hpp"

namespace spdlog {
class logger;
}

namespace routemq {

/// One message sent back to a request's caller: `routemq-status` (accepted, progress, done or
/// failed) and its payload.
struct request_status {
    std::string status;
    std::string payload;
};

/// How a request ended.
struct request_result {
    /// False when no final answer (done or failed) came within the timeout.
    bool answered = false;
    /// `done` or `failed`; empty when not answered.
    std::string status;
    /// The handler's reply (done), or `{"reason": ..., "error": ...}` (failed).
    std::string payload;
};

/// How a client connects and where it logs.
struct client_options {
    /// Ends its client id: `<MQTT_CLIENT_ID>-<instance>-<name>-<pid>`.
    std::string name = "client";
    /// How long the constructor waits for the broker.
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
    /// Where its connections log (connected, lost, reconnecting, refused). None: they log
    /// nothing, and the application's own log stays its own; `spdlog::default_logger()` puts
    /// their lines there.
    std::shared_ptr<spdlog::logger> log = {};
};

/// The caller's side of request/response (MQTT 5): submits work to the routes of a RouteMQ
/// application and waits for the answer, over connections of its own (one that receives on a
/// response topic unique to this client, one that publishes). Safe to use from several threads
/// at once; every request carries its own Correlation Data.
class client {
public:
    /// Connects with `s` (broker, TLS, credentials; MQTT 5 is required); throws
    /// routemq::mqtt_error when it cannot subscribe to its response topic within the options'
    /// connect_timeout.
    explicit client(const settings& s, client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Publishes `payload` to `topic` as a request (QoS 1, confirmed by the broker) and waits up
    /// to `timeout` for its final answer, calling `on_status` (on this thread) for each status
    /// that comes before it.
    request_result request(const std::string& topic, std::string_view payload,
                           std::chrono::milliseconds timeout,
                           const std::function<void(const request_status&)>& on_status = {});

    /// The topic this client's answers arrive on.
    const std::string& response_topic() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq
