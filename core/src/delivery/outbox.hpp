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
    std::vector<std::pair<std::string, std::string>> user_properties = {};
    /// Request/response: where the answer goes, and what ties it to the request.
    std::string response_topic = {};
    std::string correlation_data = {};
};

/// A QoS 1/2 publish the broker did not take: it answered with a reason code of 0x80 or more
/// (MQTT 5), or closed the connection each time the message was sent.
struct refused_publish {
    std::string topic;
    /// The broker's reason code; 0 when it closed the connection instead.
    int reason_code = 0;
    /// The reason in words, with the code (`Not authorized (0x87)`).
    std::string reason;
};

/// What confirm() found: every QoS 1/2 publish answered in time, and those the broker refused.
struct confirmation {
    /// Every publish answered by the broker (a refusal is an answer) before the timeout.
    bool complete = false;
    std::vector<refused_publish> refused;
    /// Topics of publishes the broker took but sent to nobody (MQTT 5 reason code 0x10, No
    /// matching subscribers), since the last confirm(): a success, which a replay still wants
    /// to know about.
    std::vector<std::string> unheard = {};
    /// Answered in time, and every answer a success.
    explicit operator bool() const noexcept { return complete && refused.empty(); }
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
    /// Waits until the broker answered every QoS 1/2 message published so far: `complete` is
    /// false when `timeout` passed first, and `refused` lists what the broker answered with a
    /// failure since the last confirm() (never counted as confirmed). Never throws.
    virtual confirmation confirm(std::chrono::milliseconds timeout) noexcept = 0;
};

}  // namespace routemq::detail
