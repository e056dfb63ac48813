#pragma once

#include <routemq/message.hpp>
#include <string>
#include <vector>

namespace test {

/// Records what a handler publishes, for unit tests that need no broker.
class recording_publisher : public routemq::publisher {
public:
    struct sent {
        std::string topic;
        std::string payload;
        int qos;
        bool retain;
    };
    std::vector<sent> messages;

    void publish(const std::string& topic, std::string_view payload, int qos,
                 bool retain) override {
        messages.push_back({topic, std::string(payload), qos, retain});
    }
};

}  // namespace test
