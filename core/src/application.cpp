#include "routemq/application.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

#include "routemq/dispatcher.hpp"
#include "routemq/mqtt_client.hpp"

namespace routemq {
namespace {

/// Waits up to `timeout` for SIGINT or SIGTERM (blocked by the caller); 0 when none came.
int wait_for_stop_signal(std::chrono::milliseconds timeout) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

client_options client_options_from(const settings& s, const std::string& role) {
    client_options o;
    o.host = s.mqtt_broker;
    o.port = s.mqtt_port;
    o.client_id = fmt::format("{}-{}-{}", s.mqtt_client_id, host_name(), role);
    o.username = s.mqtt_username;
    o.password = s.mqtt_password;
    o.protocol = s.mqtt_protocol;
    o.keepalive_seconds = s.mqtt_keepalive;
    o.reconnect_max_seconds = s.mqtt_reconnect_max_seconds;
    o.tls = s.mqtt_tls;
    o.tls_ca_file = s.mqtt_tls_ca_file;
    o.tls_cert_file = s.mqtt_tls_cert_file;
    o.tls_key_file = s.mqtt_tls_key_file;
    o.tls_verify = s.mqtt_tls_verify;
    return o;
}

}  // namespace

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
        return "localhost";
    }
    return buf;
}

int serve(const settings& s, const router& r, const std::string& role) {
    dispatcher d(r, s.mqtt_group_name, role);
    for (const auto& line : d.overlap_warnings()) {
        spdlog::warn("{}", line);
    }
    if (d.subscriptions().empty()) {
        spdlog::warn("no routes registered; nothing to subscribe to");
    }
    std::vector<subscription_request> requests;
    for (const auto& sub : d.subscriptions()) {
        requests.push_back({sub.topic, sub.qos, sub.id});
    }
    mqtt_client* self = nullptr;
    mqtt_client client(client_options_from(s, role), std::move(requests),
                       [&](const message& m) { d.dispatch(m, *self); });
    self = &client;
    client.start();

    int sig = 0;
    while (true) {
        auto result = client.wait_subscribed(std::chrono::milliseconds(0));
        if (result.complete) {
            if (!result.refused.empty()) {
                spdlog::error("stopping: the broker refused {} of {} subscriptions",
                              result.refused.size(), d.subscriptions().size());
                client.disconnect(std::chrono::seconds(2));
                return kExitSubscribe;
            }
            break;
        }
        if ((sig = wait_for_stop_signal(std::chrono::milliseconds(100))) != 0) {
            break;
        }
    }
    if (sig == 0) {
        spdlog::info("serving {} routes on {} subscriptions", r.routes().size(),
                     d.subscriptions().size());
        while ((sig = wait_for_stop_signal(std::chrono::seconds(3600))) == 0) {
        }
    }
    spdlog::info("received {}; stopping", strsignal(sig));
    client.disconnect(std::chrono::seconds(5));
    const auto& st = d.stats();
    spdlog::info(
        "stopped: {} received, {} handled, {} without route, {} bad payload, {} handler "
        "errors",
        st.received.load(), st.handled.load(), st.no_route.load(), st.bad_payload.load(),
        st.handler_error.load());
    return kExitOk;
}

}  // namespace routemq
