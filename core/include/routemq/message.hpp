#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace routemq {

/// MQTT 5 user properties, in the order they were sent.
using user_properties = std::vector<std::pair<std::string, std::string>>;

/// The value of the first user property `name`, or "" when there is none.
inline std::string property_value(const user_properties& properties, std::string_view name) {
    for (const auto& [k, v] : properties) {
        if (k == name) {
            return v;
        }
    }
    return "";
}

/// One delivery as it came from the broker.
struct message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    routemq::user_properties user_properties;
    /// MQTT 5 subscription identifiers carried by this delivery (empty under 3.1.1).
    std::vector<int> subscription_ids;
    /// MQTT 5 request/response: where the sender wants the answer (empty: not a request), and
    /// the bytes that tie the answer to the request.
    std::string response_topic = {};
    std::string correlation_data = {};
};

/// Something that can publish: the MQTT client, or a test double in unit tests.
class publisher {
public:
    virtual ~publisher() = default;
    /// Queues a message for the broker; throws routemq::mqtt_error when it cannot be queued.
    virtual void publish(const std::string& topic, std::string_view payload, int qos = 0,
                         bool retain = false) = 0;
};

}  // namespace routemq
