#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "routemq/message.hpp"

namespace routemq::testing {

/// A message an mqtt_client received (or one to publish_many).
struct received {
    std::string topic;
    std::string payload;
    /// MQTT 5 user properties and Correlation Data (a client made with `mqtt5`).
    std::vector<std::pair<std::string, std::string>> properties = {};
    std::string correlation_data = {};

    /// The value of user property `name`, or "" when absent.
    std::string property(const std::string& name) const {
        return routemq::property_value(properties, name);
    }
};

/// The other side of an integration test: a plain MQTT client (Paho's synchronous one, not the
/// framework's) on 127.0.0.1:`port`, for instance a routemq::testing::broker's, that publishes
/// to the application and collects what it publishes. Connects with a clean session; throws
/// routemq::error when the broker refuses it, or a subscribe or publish fails.
///
///     routemq::testing::mqtt_client user(broker.port(), "user");
///     user.subscribe("sensors/+/processed");
///     user.publish("sensors/42/data", R"({"temp": 21.5})");
///     auto out = user.next(std::chrono::seconds(5));  // nullopt when nothing came
class mqtt_client {
public:
    /// A client that only publishes (`receive` false) runs Paho synchronously, which completes
    /// QoS 1 publishes as fast as the broker answers.
    /// `mqtt5`: speak MQTT 5 (received messages carry their user properties and correlation
    /// data; publish_request needs it). Otherwise MQTT 3.1.1.
    mqtt_client(int port, const std::string& client_id, bool receive = true, bool mqtt5 = false);
    /// The same on `host` (an IPv4 address or a name) rather than 127.0.0.1: a broker's host().
    mqtt_client(const std::string& host, int port, const std::string& client_id,
                bool receive = true, bool mqtt5 = false);
    ~mqtt_client();
    mqtt_client(const mqtt_client&) = delete;
    mqtt_client& operator=(const mqtt_client&) = delete;

    /// Subscribes and returns once the broker granted it.
    void subscribe(const std::string& filter, int qos = 1);
    /// Publishes and, at QoS 1 or 2, returns once the broker acknowledged it.
    /// `properties`: MQTT 5 user properties to send (a client made with `mqtt5` only).
    void publish(const std::string& topic, const std::string& payload, int qos = 1,
                 const std::vector<std::pair<std::string, std::string>>& properties = {});
    /// MQTT 5 only: publishes a request (QoS 1) with a Response Topic and Correlation Data.
    void publish_request(const std::string& topic, const std::string& payload,
                         const std::string& response_topic, const std::string& correlation_data);
    /// Publishes many QoS 1 messages, `window` at a time in flight, waiting for the broker's
    /// acknowledgement of each window; `after_window(n)` runs after the first n were acknowledged.
    void publish_many(const std::vector<received>& messages, int window = 100,
                      const std::function<void(std::size_t)>& after_window = {});

    /// The next message, or nullopt when none arrives within `timeout`.
    std::optional<received> next(std::chrono::milliseconds timeout);
    /// Messages until `n` have arrived or `timeout` passes.
    std::vector<received> collect(std::size_t n, std::chrono::milliseconds timeout);
    /// Every message that arrives until none has for `quiet`.
    std::vector<received> drain(std::chrono::milliseconds quiet);

private:
    static int on_message(void* ctx, char* topic, int topic_len, void* message);

    void* handle_ = nullptr;
    bool mqtt5_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<received> inbox_;
};

}  // namespace routemq::testing
