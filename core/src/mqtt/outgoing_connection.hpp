#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery/outbox.hpp"
#include "routemq/message.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// A second, outgoing-only connection whose QoS 1/2 publishes can be waited for from inside the
/// main client's message-arrived callback.
///
/// Why it exists: every MQTTAsync client of a process shares one receive thread, the one that
/// runs our handlers, so a handler cannot wait for the PUBACK of anything sent through MQTTAsync.
/// This class drives Paho's synchronous client (MQTTClient) instead: publish() writes to the
/// socket on the calling thread, and Paho's own thread for synchronous clients reads the broker's
/// answers and wakes confirm(), which blocks on a condition variable until then. A handler that
/// publishes its results here and confirms them before it returns gets its input acknowledged
/// only after its results are safe at the broker, and waiting costs no CPU.
///
/// The connection: same broker, TLS, credentials, MQTT version and keepalive as the main
/// connection (Paho's thread sends the pings); its own client id; a clean session (results not yet
/// confirmed are produced again, because the input they came from is redelivered). It connects
/// at the first publish, and again whenever it finds the connection lost (at a publish or during
/// confirm); publishes not yet confirmed are then sent again, so a confirmed result may reach
/// subscribers twice.
///
/// Thread safety: every member function may be called from any thread; calls on one instance
/// are serialized, so confirm() waits for what every thread published on this instance before
/// it, and blocks their publishes meanwhile. Other MQTTClient instances in the process, with or
/// without callbacks, share Paho's one thread with this one.
class outgoing_connection final : public outbox {
public:
    /// Logs to `log` (the process's default logger unless given: routemq::client passes its own).
    outgoing_connection(mqtt_settings mqtt, tls_settings tls, std::string client_id,
                        std::shared_ptr<spdlog::logger> log = spdlog::default_logger());
    ~outgoing_connection() override;
    outgoing_connection(const outgoing_connection&) = delete;
    outgoing_connection& operator=(const outgoing_connection&) = delete;

    /// Sends without waiting for the broker: QoS 0 is sent and forgotten, QoS 1/2 is remembered
    /// until acknowledged. Waits (at most a few seconds) only to connect or while the broker's
    /// Receive Maximum of publishes are unacknowledged. Throws routemq::publish_error, before
    /// anything is sent, when the broker would refuse the message (check_publish: topic name,
    /// properties, the Maximum Packet Size of its CONNACK), and routemq::mqtt_error when it
    /// cannot be sent.
    void publish(const std::string& topic, std::string_view payload, int qos = 0,
                 bool retain = false) override;
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                 const publish_properties& properties) override;

    /// Waits until the broker has answered (PUBACK, or PUBCOMP for QoS 2) every QoS 1/2 message
    /// published so far, reconnecting and sending again what a lost connection left
    /// unacknowledged. Not complete, with a log line saying why, when `timeout` passes first;
    /// what is unacknowledged then stays remembered for the next confirm(). An answer with a
    /// reason code of 0x80 or more (MQTT 5), or a message the broker closed the connection over
    /// 3 times in a row, is returned as refused and forgotten. Never throws.
    confirmation confirm(std::chrono::milliseconds timeout) noexcept override;

    /// Connects now unless connected (otherwise the first publish does, and the first handler
    /// pays for it); false when `timeout` passed first.
    bool connect(std::chrono::milliseconds timeout) noexcept;

    /// QoS 1/2 publishes not yet acknowledged.
    std::size_t unconfirmed() const;

    /// Disconnects; later calls connect again. Unconfirmed publishes are dropped with a warning.
    void disconnect(std::chrono::milliseconds timeout);

    /// Connections made (the first one included).
    std::size_t connects() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq::detail
