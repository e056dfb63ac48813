#include "runtime/endpoint.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "dead_letters/dead_letter.hpp"
#include "pod/protocol.hpp"
#include "routing/overlaps.hpp"

namespace routemq::detail {
namespace {

/// Where mosquitto publishes how many messages it dropped (retained, whenever it changes).
constexpr std::string_view kBrokerDroppedTopic = "$SYS/broker/publish/messages/dropped";

/// The subscriptions of a process's client: its routes', and for the first process of the pod
/// (the single process, or worker w1) the broker's dropped-messages count, optional since a
/// broker may not have it or refuse it.
std::vector<subscription> client_subscriptions(std::vector<subscription> routes, std::size_t slot) {
    if (slot <= 1) {
        routes.push_back(
            {.topic = std::string(kBrokerDroppedTopic), .qos = 0, .routes = {}, .optional = true});
    }
    return routes;
}

}  // namespace

endpoint::endpoint(const settings& s, const router& r, const std::string& role,
                   std::vector<std::size_t> routes, bool persistent_session,
                   std::shared_ptr<pod_region> metrics, std::size_t slot,
                   std::unique_ptr<priority_gate> gate)
    : counters_(metrics, slot),
      gate_(std::move(gate)),
      dispatcher_(r, routes, plan_subscriptions(r, routes, s.mqtt.group_name), role, counters_,
                  s.handling),
      out_(s.mqtt, s.tls, outgoing_client_id(s.mqtt, role)),
      client_(s.mqtt, s.tls, {incoming_client_id(s.mqtt, role), persistent_session},
              client_subscriptions(dispatcher_.subscriptions(), slot),
              [this](const message& m) { handle(m); }) {
    dispatcher_.set_origin(client_.identity().client_id);
    if (s.handling.dead_letter_max > 0 && s.mqtt.protocol == mqtt_protocol::v5) {
        dispatcher_.keep_dead_letters(dead_letter_store_prefix(s.mqtt));
    }
    for (const auto& line : overlap_warnings(r, routes)) {
        spdlog::warn("{}", line);
    }
    if (s.mqtt.protocol == mqtt_protocol::v3_1_1) {
        if (auto line = duplicate_delivery_warning(r, routes, s.mqtt.group_name); !line.empty()) {
            spdlog::warn("{}", line);
        }
    }
    auto& cells = metrics->process(slot);
    cells.pid.store(getpid());
    client_.on_state_change([this, &cells](const client_state& st) {
        cells.connected.store(st.connected ? 1 : 0);
        cells.subscribed.store(st.subscribed ? 1 : 0);
        // The slot outlives this process (a restarted worker reuses it): add, never overwrite.
        const auto before = reconnects_seen_.exchange(st.reconnects);
        if (st.reconnects > before) {
            cells.reconnects.fetch_add(st.reconnects - before);
        }
        const auto failures_before = connect_failures_seen_.exchange(st.connect_failures);
        if (st.connect_failures > failures_before) {
            cells.connect_failures.fetch_add(st.connect_failures - failures_before);
        }
        cells.connect_error.store(st.error);
    });
}

void endpoint::handle(const message& m) {
    if (m.topic == kBrokerDroppedTopic) {
        std::uint64_t dropped = 0;
        const auto* end = m.payload.data() + m.payload.size();
        if (std::from_chars(m.payload.data(), end, dropped).ptr == end) {
            counters_.metrics().manager().broker_dropped_plus_one.store(dropped + 1);
        }
        return;
    }
    if (!gate_) {
        dispatcher_.dispatch(m, traced_out_);
        return;
    }
    // The message stays unacknowledged while it waits: Paho acknowledges when this returns.
    gate_->acquire();
    struct give_back {
        priority_gate& gate;
        ~give_back() { gate.release(); }
    } done{*gate_};
    dispatcher_.dispatch(m, traced_out_);
}

void endpoint::stop(std::chrono::milliseconds timeout, bool unsubscribe_first, bool end_session,
                    const std::function<bool()>& abandon) {
    if (unsubscribe_first) {
        // Returns once the broker answered: any handler running when it was sent has finished,
        // because Paho reads the answer on the thread that runs handlers.
        const bool answered = client_.unsubscribe_all(timeout, abandon);
        // Messages the broker had already queued for this session still arrive; handle them
        // rather than drop them with the session.
        if (!answered || !client_.wait_quiet(std::chrono::milliseconds(300), timeout, abandon)) {
            spdlog::warn(
                "the manager is gone: leaving what the broker still holds for this worker in its "
                "session, for the worker that takes this slot over");
            end_session = false;
        }
    }
    client_.disconnect(std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(2)),
                       end_session);
    // Every result of an acknowledged message was confirmed before its acknowledgement.
    out_.disconnect(std::chrono::milliseconds(500));
}

std::optional<std::chrono::steady_clock::time_point> endpoint::handler_deadline() const {
    const auto work = counters_.metrics().work(counters_.slot());
    if (work.route == 0 || work.timeout_ms <= 0) {
        return std::nullopt;
    }
    // started_ms is on the region's clock (CLOCK_MONOTONIC, like steady_clock on Linux).
    const auto left = work.started_ms + work.timeout_ms - region_clock_ms();
    return std::chrono::steady_clock::now() +
           std::chrono::milliseconds(std::max<std::int64_t>(0, left));
}

void endpoint::log_stats() const {
    const auto& m = counters_.metrics();
    const auto slot = counters_.slot();
    std::uint64_t handled = 0;
    std::uint64_t bad_payload = 0;
    std::uint64_t handler_error = 0;
    for (auto index : dispatcher_.served()) {
        const auto& cells = m.route(slot, index);
        handled += cells.handled.load();
        bad_payload += cells.bad_payload.load();
        handler_error += cells.handler_error.load();
    }
    // A worker's slot outlives restarts, so these are the slot's totals.
    spdlog::info(
        "stopped: {} received, {} handled, {} without route, {} bad payload, {} handler errors "
        "(totals of this slot)",
        m.process(slot).received.load(), handled, m.process(slot).no_route.load(), bad_payload,
        handler_error);
}

}  // namespace routemq::detail
