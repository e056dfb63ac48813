#include "dead_letters/store.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "delivery/publish_check.hpp"
#include "mqtt/main_connection.hpp"
#include "mqtt/outgoing_connection.hpp"
#include "pod/protocol.hpp"
#include "routemq/errors.hpp"
#include "runtime/host.hpp"

namespace routemq::detail {
namespace {

using namespace std::chrono_literals;

/// How long a replay or a removal waits for the broker.
constexpr auto kConfirmTimeout = 10s;
/// How far ahead of this clock a kept dead letter's id may be dated (another host's clock).
constexpr std::chrono::milliseconds kFutureTolerance = 24h;

}  // namespace

struct dead_letter_store::impl {
    std::string prefix;
    std::string marker_topic;
    store_options options;
    mqtt_settings mqtt;

    mutable std::mutex mu;
    std::condition_variable arrived;
    std::map<std::string, dead_letter> kept;  // by id: oldest first
    /// The marker came back: `kept` holds every dead letter kept when it subscribed. A new
    /// connection (after a lost one) subscribes anew, so both start over: what was removed
    /// meanwhile would otherwise stay in `kept`.
    bool marker_seen = false;
    bool marker_sent = false;
    bool was_connected = false;

    std::mutex out_mu;  // one replay or removal at a time on `out`
    std::unique_ptr<outgoing_connection> out;
    std::unique_ptr<main_connection> in;

    void receive(const message& m) {
        std::lock_guard lock(mu);
        if (m.topic == marker_topic) {
            marker_seen = true;
            arrived.notify_all();
            return;
        }
        if (m.payload.empty()) {  // removed (replayed, purged or evicted), by anyone
            if (m.topic.size() > prefix.size()) {
                kept.erase(m.topic.substr(prefix.size() + 1));
            }
            return;
        }
        auto d = read_dead_letter(m, prefix, options.keep_payloads);
        const auto now_ms = unix_time_ms();
        if (d && d->when_ms > now_ms + kFutureTolerance.count()) {
            // Never the oldest, so never removed by the bound, and enough of them would have the
            // bound remove every real one: not a dead letter any worker kept.
            options.log->warn(
                "ignoring '{}' in the dead-letter store: its id is dated more than a day ahead",
                printable_topic(m.topic));
        } else if (d) {
            auto id = d->id;
            kept.insert_or_assign(std::move(id), std::move(*d));
        } else {
            options.log->warn("ignoring '{}' in the dead-letter store: not a kept dead letter",
                              m.topic);
        }
    }

    void connection_changed(const client_state& st) {
        std::lock_guard lock(mu);
        if (st.connected && !was_connected && (marker_sent || !kept.empty())) {
            kept.clear();
            marker_seen = false;
            marker_sent = false;
        }
        was_connected = st.connected;
    }

    /// Sends and waits; returns why it failed, empty when the broker took everything. An answer
    /// that came late for an earlier publish (to another topic) is not this one's.
    std::string publish_confirmed(const std::string& topic, std::string_view payload, bool retain,
                                  const publish_properties& properties, bool needs_subscriber) {
        try {
            out->publish(topic, payload, 1, retain, properties);
        } catch (const std::exception& e) {
            return e.what();
        }
        const auto c = out->confirm(kConfirmTimeout);
        if (!c.complete) {
            return fmt::format("the broker did not confirm the publish to '{}' within {} s", topic,
                               kConfirmTimeout.count());
        }
        for (const auto& r : c.refused) {
            if (r.topic == topic) {
                return fmt::format("the broker refused the publish to '{}': {}", topic, r.reason);
            }
        }
        if (needs_subscriber &&
            std::find(c.unheard.begin(), c.unheard.end(), topic) != c.unheard.end()) {
            return fmt::format(
                "nobody subscribes to '{}' (the broker answered 0x10, No matching subscribers): "
                "start the application, or check its routes, then replay again",
                topic);
        }
        return "";
    }

    std::string remove(std::string_view id) {
        const auto topic = fmt::format("{}/{}", prefix, id);
        if (auto problem = publish_confirmed(topic, "", true, {}, false); !problem.empty()) {
            return problem;
        }
        std::lock_guard lock(mu);
        kept.erase(std::string(id));
        return "";
    }
};

dead_letter_store::dead_letter_store(const settings& s, store_options options)
    : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    if (s.mqtt.protocol != mqtt_protocol::v5) {
        throw config_error(
            "the dead-letter store needs MQTT_PROTOCOL=5 (a kept dead letter's facts are user "
            "properties)");
    }
    if (!options.id.empty() && !is_dead_letter_id(options.id)) {
        throw config_error(
            fmt::format("'{}' is not a dead letter's id (13 digits, '-', 16 hex digits: "
                        "1765140000123-9f86d081a1b2c3d4)",
                        options.id));
    }
    m.options = std::move(options);
    m.mqtt = s.mqtt;
    m.prefix = dead_letter_store_prefix(s.mqtt);
    // `<name>-<pid>-<n>`: each store of a process a client id of its own (the dashboard opens one
    // per request, and two at once must not take each other's session).
    static std::atomic<unsigned> stores{0};
    const auto role = fmt::format("{}-{}-{}", m.options.name, getpid(), stores.fetch_add(1));
    const auto id = incoming_client_id(s.mqtt, role);
    m.marker_topic = dead_letter_marker_topic(id);
    // QoS 0: the retained dead letters arrive at once, as one burst, and a broker's limit on what
    // it queues per client (mosquitto's max_queued_messages, 1,000 by default) counts QoS 1 and
    // 2 only; at QoS 1 it would cut the burst short. What a lost connection drops, the reload
    // after it brings back (connection_changed).
    subscription store{.topic = m.options.id.empty()
                                    ? dead_letter_store_filter(s.mqtt)
                                    : dead_letter_store_topic(s.mqtt, m.options.id),
                       .qos = 0,
                       .id = 1,
                       .routes = {}};
    subscription marker{.topic = m.marker_topic, .qos = 0, .id = 2, .routes = {}};
    m.out = std::make_unique<outgoing_connection>(s.mqtt, s.tls, outgoing_client_id(s.mqtt, role),
                                                  m.options.log);
    m.in = std::make_unique<main_connection>(
        s.mqtt, s.tls, client_identity{id, false}, std::vector<subscription>{store, marker},
        [&m](const message& msg) { m.receive(msg); }, m.options.log);
    m.in->on_state_change([&m](const client_state& st) { m.connection_changed(st); });
    m.in->start();
}

dead_letter_store::~dead_letter_store() {
    impl_->in->disconnect(1s);
    impl_->out->disconnect(1s);
}

bool dead_letter_store::wait_loaded(std::chrono::milliseconds timeout) {
    auto& m = *impl_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::lock_guard out_lock(m.out_mu);  // one marker at a time
    bool sent = false;
    {
        std::lock_guard lock(m.mu);
        sent = m.marker_sent;
    }
    if (!sent) {
        const auto subscribed = m.in->wait_subscribed(timeout);
        if (!subscribed.complete) {
            return false;
        }
        if (!subscribed.refused.empty()) {
            throw mqtt_error(
                fmt::format("the broker refused the dead-letter store's subscription: {}",
                            subscribed.refused.front()));
        }
        // Retained messages are queued for this connection when it subscribes, so the marker,
        // published after the broker answered the subscription, arrives after every one of them.
        if (auto problem = m.publish_confirmed(m.marker_topic, "loaded", false, {}, false);
            !problem.empty()) {
            throw mqtt_error(problem);
        }
        std::lock_guard lock(m.mu);
        m.marker_sent = true;
    }
    std::unique_lock lock(m.mu);
    if (m.arrived.wait_until(lock, deadline, [&m] { return m.marker_seen; })) {
        return true;
    }
    m.marker_sent = false;  // not back in time: the next call sends another (one lost with a
                            // connection would never come)
    return false;
}

void dead_letter_store::load(std::chrono::milliseconds timeout) {
    if (!wait_loaded(timeout)) {
        throw mqtt_error(fmt::format(
            "no answer from the broker at {}:{} within {} s", impl_->mqtt.broker, impl_->mqtt.port,
            std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
    }
}

bool dead_letter_store::loaded() const {
    std::lock_guard lock(impl_->mu);
    return impl_->marker_seen;
}

std::vector<dead_letter> dead_letter_store::list(const dead_letter_filter& filter) const {
    std::lock_guard lock(impl_->mu);
    std::vector<dead_letter> out;
    for (const auto& [id, d] : impl_->kept) {
        if (filter.matches(d)) {
            out.push_back(d);
        }
    }
    return out;
}

std::optional<dead_letter> dead_letter_store::find(std::string_view id) const {
    std::lock_guard lock(impl_->mu);
    const auto it = impl_->kept.find(std::string(id));
    if (it == impl_->kept.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::size_t dead_letter_store::size() const {
    std::lock_guard lock(impl_->mu);
    return impl_->kept.size();
}

std::string dead_letter_store::replay(const dead_letter& d) {
    auto& m = *impl_;
    if (!d.payload_kept) {
        return "this store does not keep payloads";  // a programming error, said plainly
    }
    std::lock_guard out_lock(m.out_mu);
    if (auto problem = m.publish_confirmed(d.topic, d.payload, false, replay_properties(d), true);
        !problem.empty()) {
        return problem;
    }
    if (auto problem = m.remove(d.id); !problem.empty()) {
        return fmt::format(
            "replayed, but not removed from the store ({}); it may be replayed again", problem);
    }
    return "";
}

std::string dead_letter_store::purge(std::string_view id) {
    std::lock_guard out_lock(impl_->out_mu);
    return impl_->remove(id);
}

std::size_t dead_letter_store::evict(std::size_t max) {
    auto& m = *impl_;
    std::vector<std::string> ids;
    {
        std::lock_guard lock(m.mu);
        ids = ids_to_evict(m.kept, max);
    }
    std::size_t removed = 0;
    std::lock_guard out_lock(m.out_mu);
    for (const auto& id : ids) {
        if (const auto problem = m.remove(id); !problem.empty()) {
            m.options.log->warn("cannot evict dead letter {} from the store: {}", id, problem);
            break;
        }
        ++removed;
    }
    return removed;
}

}  // namespace routemq::detail
