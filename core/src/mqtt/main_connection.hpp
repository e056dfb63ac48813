#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "routemq/message.hpp"
#include "routemq/settings.hpp"
#include "routing/subscriptions.hpp"

namespace routemq::detail {

/// Who a client is to the broker.
struct client_identity {
    std::string client_id;
    /// Clean start off and the settings' session expiry (MQTT 5), so the broker keeps queuing
    /// for this client while it is gone; else a clean session that ends with the connection.
    bool persistent_session = false;
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
    /// Connection attempts that failed.
    std::uint64_t connect_failures = 0;
    /// Why not connected (the last failed attempt or the lost connection); empty when connected.
    std::string error;
};

/// A process's main connection: a small RAII wrapper over Paho's asynchronous C client
/// (MQTTAsync), which subscribes, receives and acknowledges. With outgoing_connection, the only
/// code that talks to Paho. (The framework's words: a *connection* is one of these two; the
/// *client* is routemq::client, an application's requester; the test client is
/// routemq::testing::mqtt_client.)
///
/// It connects, reconnects with a wait that starts at 100 ms and doubles up to
/// MQTT_RECONNECT_MAX_SECONDS (a thread of its own makes the attempts), logs every failed attempt
/// with its reason in words and the next wait, re-subscribes after every connect, and calls the
/// message handler on Paho's thread; Paho acknowledges a QoS 1/2 message after the handler returns.
/// Every callback Paho calls is noexcept: nothing reaches its C code.
class main_connection : public publisher {
public:
    using message_handler = std::function<void(const message&)>;
    using state_handler = std::function<void(const client_state&)>;

    /// Logs to `log` (the process's default logger unless given: routemq::client passes its own).
    main_connection(mqtt_settings mqtt, tls_settings tls, client_identity identity,
                    std::vector<subscription> subscriptions, message_handler on_message,
                    std::shared_ptr<spdlog::logger> log = spdlog::default_logger());
    ~main_connection() override;
    main_connection(const main_connection&) = delete;
    main_connection& operator=(const main_connection&) = delete;

    /// Called whenever the client_state changes, on Paho's thread or the caller's; must not
    /// throw. Set it before start().
    void on_state_change(state_handler handler);

    /// Starts connecting; returns at once. Failed attempts are retried until disconnect().
    void start();

    /// Waits until connected and every subscription has been answered by the broker (or the
    /// timeout passes, then `complete` is false).
    subscribe_result wait_subscribed(std::chrono::milliseconds timeout);

    bool connected() const;

    /// Publishes; throws routemq::mqtt_error when the message cannot be queued. QoS 1/2
    /// publishes beyond the broker's Receive Maximum wait in the client (see client.cpp).
    void publish(const std::string& topic, std::string_view payload, int qos = 0,
                 bool retain = false) override;

    /// Unsubscribes everything and waits for the broker's answer (or the timeout); false when
    /// `abandon` (asked every 20 ms) gave up waiting.
    bool unsubscribe_all(std::chrono::milliseconds timeout,
                         const std::function<bool()>& abandon = {});

    /// Waits until no message has arrived for `quiet` (or `timeout` passes): after
    /// unsubscribe_all, this lets messages the broker had already queued for this client arrive
    /// and be handled before the session ends.
    /// Returns false when `abandon` says so (asked every 20 ms), even with a message in hand.
    bool wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout,
                    const std::function<bool()>& abandon = {});

    /// Lets queued publishes reach the broker, then disconnects (MQTT 5: with session expiry 0
    /// when `end_session`) and stops reconnecting; all within `timeout`.
    void disconnect(std::chrono::milliseconds timeout, bool end_session = true);

    const client_identity& identity() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq::detail
