// The baseline requester: a minimal hand-written Paho C (MQTT 5) caller, what routemq::client is
// measured against in the round-trip case. It subscribes to a response topic of its own, and for
// each request publishes (QoS 1) with that Response Topic and a Correlation Data of its own, then
// waits for the message carrying the same Correlation Data. One request at a time.
// Usage: baseline_requester <port> <client-id> <warm-up> <count> [--two-connections]; prints what
// bench::measure_round_trips prints. --two-connections: the requests leave on a second
// connection (<client-id>-out), as routemq::client's do; see baseline_responder for why.

#include <MQTTAsync.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "round_trips.hpp"

namespace {

MQTTAsync client;    // receives the answers
MQTTAsync requests;  // publishes the requests: `client`, or a second connection
std::string response_topic;

std::mutex mu;
std::condition_variable cv;
bool subscribed = false;
std::string expected;  // Correlation Data of the request in flight
bool answered = false;
std::string answer;

void take(MQTTAsync_message* m) {
    MQTTProperty* c =
        MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
    if (c == nullptr) {
        return;
    }
    const std::string_view correlation(c->value.data.data,
                                       static_cast<std::size_t>(c->value.data.len));
    std::lock_guard lock(mu);
    if (!answered && correlation == expected) {
        answer.assign(static_cast<const char*>(m->payload),
                      static_cast<std::size_t>(m->payloadlen));
        answered = true;
        cv.notify_one();
    }
}

int on_message(void*, char* topic, int, MQTTAsync_message* m) {
    try {
        take(m);
    } catch (...) {
        // out of memory: this answer is lost and its request times out; nothing may unwind
        // into Paho
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

void on_subscribed(void*, MQTTAsync_successData5*) {
    std::lock_guard lock(mu);
    subscribed = true;
    cv.notify_one();
}

/// One request: publishes `payload` to `topic` and waits up to 5 s for its answer.
std::optional<std::string> ask(const std::string& topic, const std::string& payload,
                               const std::string& correlation) {
    std::unique_lock lock(mu);
    expected = correlation;
    answered = false;
    lock.unlock();

    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = const_cast<char*>(payload.data());
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = 1;
    MQTTProperty p{};
    p.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
    p.value.data.data = response_topic.data();
    p.value.data.len = static_cast<int>(response_topic.size());
    MQTTProperties_add(&m.properties, &p);  // copies the bytes
    p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
    p.value.data.data = const_cast<char*>(correlation.data());
    p.value.data.len = static_cast<int>(correlation.size());
    MQTTProperties_add(&m.properties, &p);
    // Paho passes a message's properties on only through the response options.
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    const int rc = MQTTAsync_sendMessage(requests, topic.c_str(), &m, &ro);
    MQTTProperties_free(&m.properties);  // Paho sends a copy
    if (rc != MQTTASYNC_SUCCESS) {
        return std::nullopt;
    }

    lock.lock();
    if (!cv.wait_for(lock, std::chrono::seconds(5), [] { return answered; })) {
        return std::nullopt;
    }
    return answer;
}

}  // namespace

int main(int argc, char** argv) {
    const bool two = argc == 6 && std::string(argv[5]) == "--two-connections";
    if (argc != 5 && !two) {
        std::fprintf(stderr, "usage: %s <port> <client-id> <warm-up> <count> [--two-connections]\n",
                     argv[0]);
        return 2;
    }
    const std::string uri = std::string("tcp://127.0.0.1:") + argv[1];
    response_topic = std::string("routemq/replies/bench-") + argv[2];
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    MQTTAsync_createWithOptions(&client, uri.c_str(), argv[2], MQTTCLIENT_PERSISTENCE_NONE, nullptr,
                                &co);
    requests = client;
    if (two) {
        const std::string out_id = std::string(argv[2]) + "-out";
        MQTTAsync_createWithOptions(&requests, uri.c_str(), out_id.c_str(),
                                    MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
        MQTTAsync_connectOptions out = MQTTAsync_connectOptions_initializer5;
        out.cleanstart = 1;
        if (MQTTAsync_connect(requests, &out) != MQTTASYNC_SUCCESS) {
            return 1;
        }
        for (int i = 0; i < 1000 && !MQTTAsync_isConnected(requests); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    MQTTAsync_setCallbacks(client, nullptr, nullptr, on_message, nullptr);
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer5;
    conn.cleanstart = 1;
    conn.onSuccess5 = [](void*, MQTTAsync_successData5*) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess5 = on_subscribed;
        MQTTAsync_subscribe(client, response_topic.c_str(), 1, &ro);
    };
    if (MQTTAsync_connect(client, &conn) != MQTTASYNC_SUCCESS) {
        return 1;
    }
    {
        std::unique_lock lock(mu);
        if (!cv.wait_for(lock, std::chrono::seconds(10), [] { return subscribed; })) {
            std::fprintf(stderr, "no subscription to %s\n", response_topic.c_str());
            return 1;
        }
    }
    long long next = 0;
    const int rc =
        bench::measure_round_trips(std::atoi(argv[3]), std::atoi(argv[4]),
                                   [&](const std::string& topic, const std::string& payload) {
                                       return ask(topic, payload, std::to_string(next++));
                                   });
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = 1000;
    MQTTAsync_disconnect(client, &d);
    MQTTAsync_destroy(&client);
    if (two) {
        MQTTAsync_disconnect(requests, &d);
        MQTTAsync_destroy(&requests);
    }
    return rc;
}
