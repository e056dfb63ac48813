// A worker for confirm_test: subscribes flood/in/+ (QoS 1, persistent session) and, for every
// input flood/in/<n>, publishes the result flood/out/<n> (QoS 1) before it returns.
//
//   routemq_confirm_worker <port> <client id> confirm   results through a outgoing_connection,
//                                                       confirmed before the input is acked
//   routemq_confirm_worker <port> <client id> plain     results through the main MQTTAsync
//                                                       client, as handlers publish today
//
// Prints "ready" once subscribed; runs until SIGTERM or SIGINT.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "mqtt/main_connection.hpp"
#include "mqtt/outgoing_connection.hpp"

namespace {

std::atomic<bool> stop{false};

void on_signal(int) {
    stop = true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s <port> <client id> confirm|plain\n", argv[0]);
        return 2;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    spdlog::set_level(spdlog::level::warn);
    const std::string client_id = argv[2];
    const bool confirmed = std::string(argv[3]) == "confirm";

    routemq::mqtt_settings s;
    s.broker = "127.0.0.1";
    s.port = std::stoi(argv[1]);
    s.protocol = routemq::mqtt_protocol::v5;
    s.keepalive = std::chrono::seconds(30);
    s.reconnect_max = std::chrono::seconds(2);
    s.session_expiry = std::chrono::seconds(300);

    routemq::detail::outgoing_connection out(s, {}, client_id + "-out");
    routemq::detail::main_connection* in_ptr = nullptr;
    routemq::detail::subscription sub;
    sub.topic = "flood/in/+";
    sub.qos = 1;
    sub.id = 1;
    routemq::detail::main_connection in(
        s, {}, {client_id, /*persistent_session=*/true}, {sub}, [&](const routemq::message& m) {
            const auto n = m.topic.substr(m.topic.rfind('/') + 1);
            if (!confirmed) {
                in_ptr->publish("flood/out/" + n, n, 1);
                return;
            }
            out.publish("flood/out/" + n, n, 1);
            if (!out.confirm(std::chrono::seconds(10))) {
                throw std::runtime_error("result of " + m.topic + " not confirmed");
            }
        });
    in_ptr = &in;
    in.start();
    if (!in.wait_subscribed(std::chrono::seconds(10)).complete) {
        std::fprintf(stderr, "not subscribed\n");
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    while (!stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    in.unsubscribe_all(std::chrono::seconds(2));
    in.disconnect(std::chrono::seconds(2), /*end_session=*/true);
    return 0;
}
