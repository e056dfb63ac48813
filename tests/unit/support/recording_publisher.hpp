#pragma once

#include <algorithm>
#include <routemq/message.hpp>
#include <string>
#include <vector>

#include "delivery/outbox.hpp"

namespace test {

/// Records what a handler publishes (and dead letters), for unit tests that need no broker. Its
/// confirm() answers `confirms`, counts the calls and reports publishes to a topic listed in
/// `refusing` as refused by the broker (Not authorized, 0x87), as an ACL would.
class recording_publisher : public routemq::detail::outbox {
public:
    struct sent {
        std::string topic;
        std::string payload;
        int qos;
        bool retain;
        routemq::user_properties properties = {};
        std::string correlation_data = {};

        /// The value of user property `name`, or "" when absent.
        std::string property(const std::string& name) const {
            return routemq::property_value(properties, name);
        }
    };
    std::vector<sent> messages;
    bool confirms = true;
    int confirm_calls = 0;
    std::vector<std::string> refusing;

    void publish(const std::string& topic, std::string_view payload, int qos,
                 bool retain) override {
        publish(topic, payload, qos, retain, {});
    }
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                 const routemq::detail::publish_properties& properties) override {
        messages.push_back({topic, std::string(payload), qos, retain, properties.user_properties,
                            properties.correlation_data});
        if (std::find(refusing.begin(), refusing.end(), topic) != refusing.end()) {
            refused_.push_back(
                {.topic = topic, .reason_code = 0x87, .reason = "Not authorized (0x87)"});
        }
    }
    routemq::detail::confirmation confirm(std::chrono::milliseconds) noexcept override {
        ++confirm_calls;
        routemq::detail::confirmation c{.complete = confirms, .refused = {}};
        c.refused.swap(refused_);
        return c;
    }

private:
    std::vector<routemq::detail::refused_publish> refused_;
};

}  // namespace test
