#pragma once

#include <routemq/message.hpp>
#include <string>
#include <vector>

#include "routing/outbox.hpp"

namespace test {

/// Records what a handler publishes (and dead letters), for unit tests that need no broker. Its
/// confirm() answers `confirms` and counts the calls.
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

    void publish(const std::string& topic, std::string_view payload, int qos,
                 bool retain) override {
        messages.push_back({topic, std::string(payload), qos, retain});
    }
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                 const routemq::detail::publish_properties& properties) override {
        messages.push_back({topic, std::string(payload), qos, retain, properties.user_properties,
                            properties.correlation_data});
    }
    bool confirm(std::chrono::milliseconds) noexcept override {
        ++confirm_calls;
        return confirms;
    }
};

}  // namespace test
