#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace test {

/// A message the test client received.
struct received {
    std::string topic;
    std::string payload;
};

/// A plain Paho MQTTClient (MQTT 3.1.1) that publishes and collects what it receives: the
/// "user" side of an integration test, independent of the framework's own client.
class test_client {
public:
    /// A client that only publishes (`receive` false) runs Paho synchronously, which completes
    /// QoS 1 publishes as fast as the broker answers.
    test_client(int port, const std::string& client_id, bool receive = true);
    ~test_client();
    test_client(const test_client&) = delete;
    test_client& operator=(const test_client&) = delete;

    void subscribe(const std::string& filter, int qos = 1);
    void publish(const std::string& topic, const std::string& payload, int qos = 1);
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
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<received> inbox_;
};

}  // namespace test
