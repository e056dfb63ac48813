#include "runtime/endpoint.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "routemq/application.hpp"

namespace routemq::detail {
namespace {

/// The client id of a process: `<MQTT_CLIENT_ID>-<instance>-<role>`.
std::string client_id(const settings& s, const std::string& role) {
    return fmt::format("{}-{}-{}", s.mqtt_client_id,
                       s.instance_name.empty() ? host_name() : s.instance_name, role);
}

client_options options_for(const settings& s, const std::string& role, bool persistent) {
    client_options o;
    o.host = s.mqtt_broker;
    o.port = s.mqtt_port;
    o.client_id = client_id(s, role);
    o.username = s.mqtt_username;
    o.password = s.mqtt_password;
    o.protocol = s.mqtt_protocol;
    o.keepalive_seconds = s.mqtt_keepalive;
    o.reconnect_max_seconds = s.mqtt_reconnect_max_seconds;
    o.clean_start = !persistent;
    o.session_expiry_seconds = persistent ? s.mqtt_session_expiry : 0;
    o.tls = s.mqtt_tls;
    o.tls_ca_file = s.mqtt_tls_ca_file;
    o.tls_cert_file = s.mqtt_tls_cert_file;
    o.tls_key_file = s.mqtt_tls_key_file;
    o.tls_verify = s.mqtt_tls_verify;
    return o;
}

std::vector<subscription_request> requests_for(const dispatcher& d) {
    std::vector<subscription_request> out;
    for (const auto& sub : d.subscriptions()) {
        out.push_back({sub.topic, sub.qos, sub.id});
    }
    return out;
}

}  // namespace

endpoint::endpoint(const settings& s, const router& r, const std::string& role,
                   std::vector<std::size_t> routes, bool persistent_session,
                   std::shared_ptr<shared_metrics> metrics, std::size_t slot)
    : dispatcher_(r, s.mqtt_group_name, role, std::move(routes), metrics, slot),
      client_(options_for(s, role, persistent_session), requests_for(dispatcher_),
              [this](const message& m) { dispatcher_.dispatch(m, client_); }) {
    for (const auto& line : dispatcher_.overlap_warnings()) {
        spdlog::warn("{}", line);
    }
    auto& cells = metrics->process(slot);
    cells.expected.store(1);
    cells.pid.store(getpid());
    client_.on_state_change([this, &cells](const client_state& st) {
        cells.connected.store(st.connected ? 1 : 0);
        cells.subscribed.store(st.subscribed ? 1 : 0);
        // The slot outlives this process (a restarted worker reuses it): add, never overwrite.
        const auto before = reconnects_seen_.exchange(st.reconnects);
        if (st.reconnects > before) {
            cells.reconnects.fetch_add(st.reconnects - before);
        }
    });
}

void endpoint::stop(std::chrono::milliseconds timeout, bool unsubscribe_first) {
    if (unsubscribe_first) {
        // Returns once the broker answered: any handler running when it was sent has finished,
        // because Paho reads the answer on the thread that runs handlers.
        client_.unsubscribe_all(timeout);
        // Messages the broker had already queued for this session still arrive; handle them
        // rather than drop them with the session.
        client_.wait_quiet(std::chrono::milliseconds(300), timeout);
    }
    client_.disconnect(std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(2)),
                       /*end_session=*/true);
}

void endpoint::log_stats() const {
    const auto st = dispatcher_.stats();
    // A worker's slot outlives restarts, so these are the slot's totals.
    spdlog::info(
        "stopped: {} received, {} handled, {} without route, {} bad payload, {} handler errors "
        "(totals of this slot)",
        st.received, st.handled, st.no_route, st.bad_payload, st.handler_error);
}

}  // namespace routemq::detail
