#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "routemq/message.hpp"

namespace routemq {

/// How to reach the broker.
struct client_options {
    std::string host = "localhost";
    int port = 1883;
    std::string client_id;
    std::string username;
    std::string password;
    /// 5, or 4 for MQTT 3.1.1.
    int protocol = 5;
    int keepalive_seconds = 60;
    int reconnect_max_seconds = 30;
    /// Clean start; with false the broker keeps the session for session_expiry_seconds (MQTT 5).
    bool clean_start = true;
    int session_expiry_seconds = 0;
    bool tls = false;
    std::string tls_ca_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    bool tls_verify = true;
};

/// A subscription the client keeps: it is (re)made after every connect.
struct subscription_request {
    std::string topic;
    int qos = 0;
    /// MQTT 5 subscription identifier (> 0), ignored under 3.1.1.
    int id = 0;
};

/// The outcome of subscribing everything after one connect.
struct subscribe_result {
    bool complete = false;
    /// One line per refused subscription: topic and the broker's reason.
    std::vector<std::string> refused;
};

/// The client's connection, as reported to a state handler.
struct client_state {
    bool connected = false;
    /// Connected and every subscription granted by the broker.
    bool subscribed = false;
    /// Connections made again after one was lost.
    std::uint64_t reconnects = 0;
};

/// A small RAII wrapper over Paho's asynchronous C client (MQTTAsync).
///
/// It connects, reconnects automatically with a doubling wait, re-subscribes after every
/// connect, and calls the message handler on Paho's thread; Paho acknowledges a QoS 1/2 message
/// after the handler returns. Nothing the handler throws reaches Paho.
class mqtt_client : public publisher {
public:
    using message_handler = std::function<void(const message&)>;
    using state_handler = std::function<void(const client_state&)>;

    mqtt_client(client_options options, std::vector<subscription_request> subscriptions,
                message_handler on_message);
    ~mqtt_client() override;
    mqtt_client(const mqtt_client&) = delete;
    mqtt_client& operator=(const mqtt_client&) = delete;

    /// Called whenever the client_state changes, on Paho's thread or the caller's; must not
    /// throw. Set it before start().
    void on_state_change(state_handler handler);

    /// Starts connecting; returns at once. Failed attempts are retried until disconnect().
    void start();

    /// Waits until connected and every subscription has been answered by the broker (or the
    /// timeout passes, then `complete` is false).
    subscribe_result wait_subscribed(std::chrono::milliseconds timeout);

    bool connected() const;

    /// Publishes; throws routemq::mqtt_error when the message cannot be queued.
    void publish(const std::string& topic, std::string_view payload, int qos = 0,
                 bool retain = false) override;

    /// Unsubscribes everything and waits for the broker's answer (or the timeout).
    void unsubscribe_all(std::chrono::milliseconds timeout);

    /// Waits until no message has arrived for `quiet` (or `timeout` passes): after
    /// unsubscribe_all, this lets messages the broker had already queued for this client arrive
    /// and be handled before the session ends.
    void wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout);

    /// Disconnects (MQTT 5: with session expiry 0 when `end_session`) and stops reconnecting.
    void disconnect(std::chrono::milliseconds timeout, bool end_session = true);

    const client_options& options() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq
