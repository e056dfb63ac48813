#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "routemq/message.hpp"

namespace routemq::detail {

/// Where a process's outgoing messages go: what handlers publish and dead letters. Unlike a plain
/// publisher it can wait for the broker to have them, which the dispatcher does before a message
/// is acknowledged.
class outbox : public publisher {
public:
    using publisher::publish;
    /// Publishes with MQTT 5 user properties (not sent under MQTT 3.1.1); throws
    /// routemq::mqtt_error when it cannot be queued.
    virtual void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                         const user_properties& properties) = 0;
    /// Waits until the broker acknowledged every QoS 1/2 message published since the last call;
    /// false when `timeout` passed or the connection failed first.
    virtual bool confirm(std::chrono::milliseconds timeout) = 0;
};

}  // namespace routemq::detail
