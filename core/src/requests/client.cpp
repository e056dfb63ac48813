#include "routemq/client.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>

#include "delivery/trace_context.hpp"
#include "mqtt/main_connection.hpp"
#include "mqtt/outgoing_connection.hpp"
#include "pod/protocol.hpp"
#include "routemq/errors.hpp"

namespace routemq {

struct client::impl {
    std::string id;
    std::string response_topic;
    std::mutex mu;
    std::condition_variable cv;
    /// Statuses received, by correlation data, until their request() takes them.
    std::map<std::string, std::deque<request_status>, std::less<>> inbox;
    std::atomic<std::uint64_t> next{0};
    std::string nonce;
    std::unique_ptr<detail::outgoing_connection> out;
    std::unique_ptr<detail::main_connection> in;

    void arrived(const message& m) {
        std::string status;
        for (const auto& [k, v] : m.user_properties) {
            if (k == "routemq-status") {
                status = v;
            }
        }
        {
            std::lock_guard lock(mu);
            auto it = inbox.find(m.correlation_data);
            if (it == inbox.end()) {
                return;  // a request that timed out, or not ours
            }
            it->second.push_back({status, m.payload});
        }
        cv.notify_all();
    }
};

client::client(const settings& s, client_options options) : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    const auto& name = options.name;
    const auto connect_timeout = options.connect_timeout;
    // No logger given: one that drops everything, so the caller's own log stays its own.
    auto log = options.log != nullptr
                   ? options.log
                   : std::make_shared<spdlog::logger>(
                         "routemq::client", std::make_shared<spdlog::sinks::null_sink_mt>());
    if (s.mqtt.protocol != mqtt_protocol::v5) {
        throw config_error("routemq::client needs MQTT_PROTOCOL=5 (request/response is MQTT 5)");
    }
    // `<pod id>-<name>-<pid>`: a client of its own per process, whatever else runs there.
    const auto role = fmt::format("{}-{}", name, getpid());
    m.id = detail::incoming_client_id(s.mqtt, role);
    std::random_device random;
    m.nonce = fmt::format("{:08x}", random());
    m.response_topic = fmt::format("routemq/replies/{}-{}", m.id, m.nonce);
    detail::subscription replies;
    replies.topic = m.response_topic;
    replies.qos = 1;
    replies.id = 1;
    m.out = std::make_unique<detail::outgoing_connection>(
        s.mqtt, s.tls, detail::outgoing_client_id(s.mqtt, role), log);
    m.in = std::make_unique<detail::main_connection>(
        s.mqtt, s.tls, detail::client_identity{m.id, false},
        std::vector<detail::subscription>{replies}, [&m](const message& msg) { m.arrived(msg); },
        log);
    m.in->start();
    const auto subscribed = m.in->wait_subscribed(connect_timeout);
    if (!subscribed.complete) {
        throw mqtt_error(fmt::format("no connection to {}:{} within {} ms", s.mqtt.broker,
                                     s.mqtt.port, connect_timeout.count()));
    }
    if (!subscribed.refused.empty()) {
        throw mqtt_error(fmt::format("cannot subscribe to the response topic '{}' at {}:{}",
                                     m.response_topic, s.mqtt.broker, s.mqtt.port));
    }
}

client::~client() {
    impl_->in->disconnect(std::chrono::seconds(1));
    impl_->out->disconnect(std::chrono::seconds(1));
}

const std::string& client::response_topic() const noexcept {
    return impl_->response_topic;
}

request_result client::request(const std::string& topic, std::string_view payload,
                               std::chrono::milliseconds timeout,
                               const std::function<void(const request_status&)>& on_status) {
    auto& m = *impl_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto correlation = fmt::format("{}-{}", m.nonce, m.next.fetch_add(1));
    {
        std::lock_guard lock(m.mu);
        m.inbox[correlation];
    }
    struct forget {
        impl& m;
        const std::string& key;
        ~forget() {
            std::lock_guard lock(m.mu);
            m.inbox.erase(key);
        }
    } cleanup{m, correlation};

    detail::publish_properties p;
    p.response_topic = m.response_topic;
    p.correlation_data = correlation;
    if (const auto* trace = detail::current_trace(); trace != nullptr) {
        detail::add_trace_properties(*trace, p.user_properties);  // a request from a handler
    }
    m.out->publish(topic, payload, 1, false, p);
    if (const auto taken = m.out->confirm(timeout); !taken) {
        throw mqtt_error(taken.refused.empty()
                             ? fmt::format("the broker did not take the request to '{}'", topic)
                             : fmt::format("the broker refused the request to '{}': {}", topic,
                                           taken.refused.front().reason));
    }
    std::unique_lock lock(m.mu);
    while (true) {
        auto& queue = m.inbox[correlation];
        while (!queue.empty()) {
            auto next = std::move(queue.front());
            queue.pop_front();
            if (next.status == "done" || next.status == "failed") {
                return {true, std::move(next.status), std::move(next.payload)};
            }
            if (on_status) {
                lock.unlock();
                on_status(next);
                lock.lock();
            }
        }
        if (m.cv.wait_until(lock, deadline) == std::cv_status::timeout &&
            m.inbox[correlation].empty()) {
            return {};
        }
    }
}

}  // namespace routemq
