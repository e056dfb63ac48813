// The same-guarantee baseline: baseline_worker's work (subscribe to $share/<group>/bench/+/data,
// publish each payload to bench/<id>/done), written by hand with Paho C the way a careful user
// gives it RouteMQ's guarantee: the result is confirmed by the broker before the input is
// acknowledged. Inputs arrive on MQTTAsync; each result goes out on a synchronous MQTTClient
// that has callbacks, so Paho's own thread reads the PUBACK and signals the condition variable
// the input's callback waits on; the callback returns (and Paho acknowledges the input) only
// then. A result the broker refuses or does not confirm within 30 s ends the process without
// acknowledging its input, which the broker then delivers again.
// Usage: baseline_confirmed_worker <port> <group> <qos> <client-id>. Prints "ready" once
// subscribed; stops on SIGTERM.

#include <MQTTAsync.h>
#include <MQTTClient.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace {

MQTTAsync input;
MQTTClient output;
int qos = 0;
std::string filter;
volatile std::sig_atomic_t stop = 0;

std::mutex mu;
std::condition_variable answered;
MQTTClient_deliveryToken last_answered = 0;
int failures = 0;

void on_delivered(void*, MQTTClient_deliveryToken token) {
    {
        std::lock_guard lock(mu);
        last_answered = token;
    }
    answered.notify_one();
}

void on_published(void*, int, int, MQTTProperties*, MQTTReasonCodes code) {
    if (code >= MQTTREASONCODE_UNSPECIFIED_ERROR) {
        std::lock_guard lock(mu);
        ++failures;
    }
}

int on_output_message(void*, char* topic, int, MQTTClient_message* m) {
    MQTTClient_freeMessage(&m);
    MQTTClient_free(topic);
    return 1;
}

int on_message(void*, char* topic, int topic_len, MQTTAsync_message* m) {
    std::string t = topic_len > 0 ? std::string(topic, static_cast<std::size_t>(topic_len))
                                  : std::string(topic);
    // bench/<id>/data -> bench/<id>/done
    const auto last = t.rfind('/');
    if (last != std::string::npos) {
        t = t.substr(0, last) + "/done";
        MQTTClient_message out = MQTTClient_message_initializer;
        out.payload = m->payload;
        out.payloadlen = m->payloadlen;
        out.qos = qos;
        MQTTClient_deliveryToken token = 0;
        MQTTResponse r = MQTTClient_publishMessage5(output, t.c_str(), &out, &token);
        const bool sent = r.reasonCode == MQTTREASONCODE_SUCCESS;
        MQTTResponse_free(r);
        if (!sent) {
            std::fprintf(stderr, "publish failed; exiting without acknowledging\n");
            _exit(75);
        }
        if (qos > 0) {
            std::unique_lock lock(mu);
            if (!answered.wait_for(lock, std::chrono::seconds(30),
                                   [&] { return last_answered == token || failures > 0; }) ||
                failures > 0) {
                std::fprintf(stderr, "result not confirmed; exiting without acknowledging\n");
                _exit(75);
            }
        }
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
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s <port> <group> <qos> <client-id>\n", argv[0]);
        return 2;
    }
    std::signal(SIGTERM, [](int) { stop = 1; });
    std::signal(SIGINT, [](int) { stop = 1; });
    qos = std::atoi(argv[3]);
    const std::string uri = std::string("tcp://127.0.0.1:") + argv[1];
    filter = std::string("$share/") + argv[2] + "/bench/+/data";

    MQTTClient_createOptions oco = MQTTClient_createOptions_initializer;
    oco.MQTTVersion = MQTTVERSION_5;
    const std::string out_id = std::string(argv[4]) + "-out";
    MQTTClient_createWithOptions(&output, uri.c_str(), out_id.c_str(), MQTTCLIENT_PERSISTENCE_NONE,
                                 nullptr, &oco);
    MQTTClient_setCallbacks(output, nullptr, nullptr, on_output_message, on_delivered);
    MQTTClient_setPublished(output, nullptr, on_published);
    MQTTClient_connectOptions oc = MQTTClient_connectOptions_initializer5;
    oc.cleanstart = 1;
    MQTTResponse r = MQTTClient_connect5(output, &oc, nullptr, nullptr);
    const bool up = r.reasonCode == MQTTREASONCODE_SUCCESS;
    MQTTResponse_free(r);
    if (!up) {
        return 1;
    }

    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.sendWhileDisconnected = 1;  // the same client options as the framework's
    co.maxBufferedMessages = 10000;
    MQTTAsync_createWithOptions(&input, uri.c_str(), argv[4], MQTTCLIENT_PERSISTENCE_NONE, nullptr,
                                &co);
    MQTTAsync_setCallbacks(input, nullptr, nullptr, on_message, nullptr);
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer5;
    conn.cleanstart = 1;
    conn.onSuccess5 = [](void*, MQTTAsync_successData5*) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess5 = on_subscribed;
        MQTTAsync_subscribe(input, filter.c_str(), qos, &ro);
    };
    if (MQTTAsync_connect(input, &conn) != MQTTASYNC_SUCCESS) {
        return 1;
    }
    while (!stop) {
        pause();
    }
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = 1000;
    MQTTAsync_disconnect(input, &d);
    MQTTAsync_destroy(&input);
    MQTTClient_disconnect5(output, 1000, MQTTREASONCODE_SUCCESS, nullptr);
    MQTTClient_destroy(&output);
    return 0;
}
