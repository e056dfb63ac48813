#include "routemq/testing/mqtt_client.hpp"

#include <MQTTClient.h>

#include <algorithm>

#include "routemq/errors.hpp"

namespace routemq::testing {

namespace {

/// Hands `m` to Paho on the client's protocol (MQTT 5: with its properties, freed afterwards);
/// Paho's return code.
int send_message(MQTTClient client, bool mqtt5, const std::string& topic, MQTTClient_message& m,
                 MQTTClient_deliveryToken* token) {
    if (!mqtt5) {
        return MQTTClient_publishMessage(client, topic.c_str(), &m, token);
    }
    MQTTResponse response = MQTTClient_publishMessage5(client, topic.c_str(), &m, token);
    const int rc = response.reasonCode;
    MQTTResponse_free(response);
    MQTTProperties_free(&m.properties);
    return rc;
}

/// Adds MQTT 5 user properties to `m` (Paho copies the bytes; send_message frees them).
void add_user_properties(MQTTClient_message& m,
                         const std::vector<std::pair<std::string, std::string>>& properties) {
    for (const auto& [name, value] : properties) {
        MQTTProperty p{};
        p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
        p.value.data.data = const_cast<char*>(name.data());
        p.value.data.len = static_cast<int>(name.size());
        p.value.value.data = const_cast<char*>(value.data());
        p.value.value.len = static_cast<int>(value.size());
        MQTTProperties_add(&m.properties, &p);
    }
}

}  // namespace

int mqtt_client::on_message(void* ctx, char* topic, int topic_len, void* raw) {
    auto* self = static_cast<mqtt_client*>(ctx);
    auto* m = static_cast<MQTTClient_message*>(raw);
    received r{
        topic_len > 0 ? std::string(topic, static_cast<std::size_t>(topic_len))
                      : std::string(topic),
        std::string(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen))};
    for (int i = 0; i < m->properties.count; ++i) {
        const auto& p = m->properties.array[i];
        if (p.identifier == MQTTPROPERTY_CODE_USER_PROPERTY) {
            r.properties.emplace_back(
                std::string(p.value.data.data, static_cast<std::size_t>(p.value.data.len)),
                std::string(p.value.value.data, static_cast<std::size_t>(p.value.value.len)));
        } else if (p.identifier == MQTTPROPERTY_CODE_CORRELATION_DATA) {
            r.correlation_data.assign(p.value.data.data,
                                      static_cast<std::size_t>(p.value.data.len));
        }
    }
    {
        std::lock_guard lock(self->mu_);
        self->inbox_.push_back(std::move(r));
    }
    self->cv_.notify_all();
    MQTTClient_freeMessage(&m);
    MQTTClient_free(topic);
    return 1;
}

mqtt_client::mqtt_client(int port, const std::string& client_id, bool receive, bool mqtt5)
    : mqtt_client("127.0.0.1", port, client_id, receive, mqtt5) {}

mqtt_client::mqtt_client(const std::string& host, int port, const std::string& client_id,
                         bool receive, bool mqtt5)
    : mqtt5_(mqtt5) {
    // An IPv6 address goes in brackets (as the framework's broker_uri does).
    const bool ipv6 = host.find(':') != std::string::npos;
    const auto uri = "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    MQTTClient client = nullptr;
    MQTTClient_createOptions co = MQTTClient_createOptions_initializer;
    co.MQTTVersion = mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    if (MQTTClient_createWithOptions(&client, uri.c_str(), client_id.c_str(),
                                     MQTTCLIENT_PERSISTENCE_NONE, nullptr,
                                     &co) != MQTTCLIENT_SUCCESS) {
        throw routemq::error("mqtt_client: create failed");
    }
    handle_ = client;
    if (receive) {
        MQTTClient_setCallbacks(
            client, this, nullptr,
            [](void* ctx, char* topic, int len, MQTTClient_message* m) {
                return on_message(ctx, topic, len, m);
            },
            nullptr);
    }
    MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
    if (mqtt5) {
        opts = MQTTClient_connectOptions_initializer5;
        opts.cleanstart = 1;
    } else {
        opts.cleansession = 1;
    }
    opts.keepAliveInterval = 30;
    opts.maxInflightMessages = 1000;
    int rc = MQTTCLIENT_SUCCESS;
    if (mqtt5) {
        MQTTResponse response = MQTTClient_connect5(client, &opts, nullptr, nullptr);
        rc = response.reasonCode;
        MQTTResponse_free(response);
    } else {
        rc = MQTTClient_connect(client, &opts);
    }
    if (rc != MQTTCLIENT_SUCCESS) {
        MQTTClient_destroy(&client);
        throw routemq::error("mqtt_client: connect to " + uri + " failed: " + std::to_string(rc));
    }
}

mqtt_client::~mqtt_client() {
    auto client = static_cast<MQTTClient>(handle_);
    MQTTClient_disconnect(client, 1000);
    MQTTClient_destroy(&client);
}

void mqtt_client::subscribe(const std::string& filter, int qos) {
    if (mqtt5_) {
        MQTTResponse response = MQTTClient_subscribe5(static_cast<MQTTClient>(handle_),
                                                      filter.c_str(), qos, nullptr, nullptr);
        const bool ok = response.reasonCode == qos;
        MQTTResponse_free(response);
        if (!ok) {
            throw routemq::error("mqtt_client: subscribe to " + filter + " failed");
        }
        return;
    }
    if (MQTTClient_subscribe(static_cast<MQTTClient>(handle_), filter.c_str(), qos) !=
        MQTTCLIENT_SUCCESS) {
        throw routemq::error("mqtt_client: subscribe to " + filter + " failed");
    }
}

void mqtt_client::publish(const std::string& topic, const std::string& payload, int qos,
                          const std::vector<std::pair<std::string, std::string>>& properties) {
    if (!properties.empty() && !mqtt5_) {
        throw routemq::error("mqtt_client: user properties need MQTT 5");
    }
    MQTTClient_message m = MQTTClient_message_initializer;
    m.payload = const_cast<char*>(payload.data());
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = qos;
    MQTTClient_deliveryToken token = 0;
    auto client = static_cast<MQTTClient>(handle_);
    add_user_properties(m, properties);  // none unless mqtt5_ (checked above)
    const int rc = send_message(client, mqtt5_, topic, m, &token);
    if (rc != MQTTCLIENT_SUCCESS ||
        MQTTClient_waitForCompletion(client, token, 5000) != MQTTCLIENT_SUCCESS) {
        throw routemq::error("mqtt_client: publish to " + topic + " failed");
    }
}

void mqtt_client::publish_request(const std::string& topic, const std::string& payload,
                                  const std::string& response_topic,
                                  const std::string& correlation_data) {
    if (!mqtt5_) {
        throw routemq::error("mqtt_client: requests need MQTT 5");
    }
    MQTTClient_message m = MQTTClient_message_initializer;
    m.payload = const_cast<char*>(payload.data());
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = 1;
    MQTTProperty p{};
    p.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
    p.value.data.data = const_cast<char*>(response_topic.data());
    p.value.data.len = static_cast<int>(response_topic.size());
    MQTTProperties_add(&m.properties, &p);
    p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
    p.value.data.data = const_cast<char*>(correlation_data.data());
    p.value.data.len = static_cast<int>(correlation_data.size());
    MQTTProperties_add(&m.properties, &p);
    auto client = static_cast<MQTTClient>(handle_);
    MQTTClient_deliveryToken token = 0;
    const int rc = send_message(client, /*mqtt5=*/true, topic, m, &token);
    if (rc != MQTTCLIENT_SUCCESS ||
        MQTTClient_waitForCompletion(client, token, 5000) != MQTTCLIENT_SUCCESS) {
        throw routemq::error("mqtt_client: request to " + topic + " failed");
    }
}

void mqtt_client::publish_many(const std::vector<received>& messages, int window,
                               const std::function<void(std::size_t)>& after_window) {
    auto client = static_cast<MQTTClient>(handle_);
    std::size_t done = 0;
    while (done < messages.size()) {
        const std::size_t end = std::min(messages.size(), done + static_cast<std::size_t>(window));
        MQTTClient_deliveryToken last = 0;
        for (std::size_t i = done; i < end; ++i) {
            MQTTClient_message m = MQTTClient_message_initializer;
            m.payload = const_cast<char*>(messages[i].payload.data());
            m.payloadlen = static_cast<int>(messages[i].payload.size());
            m.qos = 1;
            if (!messages[i].properties.empty() && !mqtt5_) {
                throw routemq::error("mqtt_client: user properties need MQTT 5");
            }
            add_user_properties(m, messages[i].properties);
            if (send_message(client, mqtt5_, messages[i].topic, m, &last) != MQTTCLIENT_SUCCESS) {
                throw routemq::error("mqtt_client: publish to " + messages[i].topic + " failed");
            }
        }
        // Acknowledgements arrive in order: the window's last one means all of it.
        if (MQTTClient_waitForCompletion(client, last, 10000) != MQTTCLIENT_SUCCESS) {
            throw routemq::error("mqtt_client: no acknowledgement from the broker");
        }
        done = end;
        if (after_window) {
            after_window(done);
        }
    }
}

std::optional<received> mqtt_client::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !inbox_.empty(); })) {
        return std::nullopt;
    }
    auto r = std::move(inbox_.front());
    inbox_.pop_front();
    return r;
}

std::vector<received> mqtt_client::collect(std::size_t n, std::chrono::milliseconds timeout) {
    std::vector<received> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        if (auto r = next(left)) {
            out.push_back(std::move(*r));
        }
    }
    return out;
}

std::vector<received> mqtt_client::drain(std::chrono::milliseconds quiet) {
    std::vector<received> out;
    while (auto r = next(quiet)) {
        out.push_back(std::move(*r));
    }
    return out;
}

}  // namespace routemq::testing
