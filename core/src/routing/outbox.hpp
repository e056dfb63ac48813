#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routemq/message.hpp"

namespace routemq::detail {

/// MQTT 5 properties of one outgoing message (ignored under MQTT 3.1.1).
struct publish_properties {
    std::vector<std::pair<std::string, std::string>> user_properties;
    /// Request/response: where the answer goes, and what ties it to the request.
    std::string response_topic;
    std::string correlation_data;
};

/// Where a process's outgoing messages go: what handlers publish and dead letters. Unlike a plain
/// publisher it can wait for the broker to have them, which the dispatcher does before a message
/// is acknowledged.
class outbox : public publisher {
public:
    using publisher::publish;
    /// Publishes with MQTT 5 properties (not sent under MQTT 3.1.1); throws
    /// routemq::mqtt_error when it cannot be sent.
    virtual void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                         const publish_properties& properties) = 0;
    /// Waits until the broker acknowledged every QoS 1/2 message published so far; false when
    /// `timeout` passed first. Never throws.
    virtual bool confirm(std::chrono::milliseconds timeout) noexcept = 0;
};

}  // namespace routemq::detail
