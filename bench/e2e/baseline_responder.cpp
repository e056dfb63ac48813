// The baseline responder: a minimal hand-written Paho C (MQTT 5) answerer doing the same work as
// the framework's bench/{id}/request route. It subscribes to $share/<group>/bench/+/request and
// publishes each request's payload to its Response Topic with the same Correlation Data, at the
// same QoS. Usage: baseline_responder <port> <group> <qos> <client-id> [--two-connections].
// Prints "ready" once subscribed; stops on SIGTERM.
//
// With one connection (the minimal program) the PUBACK of a request and its answer leave on the
// same socket one after the other, and Nagle's algorithm holds the answer until the broker's
// delayed ACK of the PUBACK (~40 ms on Linux; Paho C offers no TCP_NODELAY). With
// --two-connections the answers leave on a second connection (<client-id>-out), as a RouteMQ
// worker's results do.

#include <MQTTAsync.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

MQTTAsync client;   // receives the requests
MQTTAsync answers;  // publishes the answers: `client`, or a second connection
int qos = 1;
std::string filter;
volatile std::sig_atomic_t stop = 0;

void answer(MQTTAsync_message* m) {
    MQTTProperty* to = MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
    if (to == nullptr) {
        return;  // not a request
    }
    const std::string response_topic(to->value.data.data,
                                     static_cast<std::size_t>(to->value.data.len));
    MQTTAsync_message out = MQTTAsync_message_initializer;
    out.payload = m->payload;
    out.payloadlen = m->payloadlen;
    out.qos = qos;
    MQTTProperty* correlation =
        MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
    if (correlation != nullptr) {
        MQTTProperties_add(&out.properties, correlation);  // copies the bytes
    }
    // Paho passes a message's properties on only through the response options.
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    while (MQTTAsync_sendMessage(answers, response_topic.c_str(), &out, &ro) != MQTTASYNC_SUCCESS &&
           !stop) {
        usleep(100);  // Paho's queue is full: wait for it to drain, do not drop
    }
    MQTTProperties_free(&out.properties);  // Paho sent a copy
}

int on_message(void*, char* topic, int, MQTTAsync_message* m) {
    try {
        answer(m);
    } catch (...) {
        // out of memory: the request stays unanswered; nothing may unwind into Paho
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

void on_subscribed(void*, MQTTAsync_successData5*) {
    std::printf("ready\n");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const bool two = argc == 6 && std::string(argv[5]) == "--two-connections";
    if (argc != 5 && !two) {
        std::fprintf(stderr, "usage: %s <port> <group> <qos> <client-id> [--two-connections]\n",
                     argv[0]);
        return 2;
    }
    std::signal(SIGTERM, [](int) { stop = 1; });
    std::signal(SIGINT, [](int) { stop = 1; });
    qos = std::atoi(argv[3]);
    const std::string uri = std::string("tcp://127.0.0.1:") + argv[1];
    filter = std::string("$share/") + argv[2] + "/bench/+/request";
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.sendWhileDisconnected = 1;  // the same client options as baseline_worker
    co.maxBufferedMessages = 10000;
    MQTTAsync_createWithOptions(&client, uri.c_str(), argv[4], MQTTCLIENT_PERSISTENCE_NONE, nullptr,
                                &co);
    answers = client;
    if (two) {
        const std::string out_id = std::string(argv[4]) + "-out";
        MQTTAsync_createWithOptions(&answers, uri.c_str(), out_id.c_str(),
                                    MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
        MQTTAsync_connectOptions out = MQTTAsync_connectOptions_initializer5;
        out.cleanstart = 1;
        if (MQTTAsync_connect(answers, &out) != MQTTASYNC_SUCCESS) {
            return 1;
        }
        for (int i = 0; i < 1000 && !MQTTAsync_isConnected(answers); ++i) {
            usleep(10000);
        }
    }
    MQTTAsync_setCallbacks(client, nullptr, nullptr, on_message, nullptr);
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer5;
    conn.cleanstart = 1;
    conn.onSuccess5 = [](void*, MQTTAsync_successData5*) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess5 = on_subscribed;
        MQTTAsync_subscribe(client, filter.c_str(), qos, &ro);
    };
    if (MQTTAsync_connect(client, &conn) != MQTTASYNC_SUCCESS) {
        return 1;
    }
    while (!stop) {
        pause();
    }
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = 1000;
    MQTTAsync_disconnect(client, &d);
    MQTTAsync_destroy(&client);
    if (two) {
        MQTTAsync_disconnect(answers, &d);
        MQTTAsync_destroy(&answers);
    }
    return 0;
}
