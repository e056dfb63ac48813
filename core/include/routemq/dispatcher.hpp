#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routemq/message.hpp"
#include "routemq/router.hpp"

namespace routemq {

/// One MQTT subscription: every route with the same subscription topic shares it.
struct subscription {
    /// What is sent to the broker: the filter, or `$share/<group>/<filter>` for shared routes.
    std::string topic;
    /// The highest qos of its routes.
    int qos = 0;
    /// MQTT 5 subscription identifier (1-based position in the list).
    int id = 0;
    /// Indexes into router::routes().
    std::vector<std::size_t> routes;
};

/// What happened to this process's deliveries so far (a snapshot of its metrics slot).
struct dispatch_stats {
    std::uint64_t received = 0;
    std::uint64_t handled = 0;
    std::uint64_t no_route = 0;
    std::uint64_t bad_payload = 0;
    std::uint64_t handler_error = 0;
};

namespace detail {
class shared_metrics;
}

/// Chooses the routes for each delivery and runs them, catching every failure.
class dispatcher {
public:
    /// Serves every route of `r`, counting into a metrics region of its own.
    dispatcher(const router& r, std::string group_name, std::string process_name);
    /// Serves exactly `served` (indexes into r.routes()), counting into `slot` of `metrics`
    /// (shared with the other processes of the pod; a region of its own when null).
    dispatcher(const router& r, std::string group_name, std::string process_name,
               std::vector<std::size_t> served,
               std::shared_ptr<detail::shared_metrics> metrics = nullptr, std::size_t slot = 0);

    /// The subscriptions to make for the served routes, in identifier order.
    const std::vector<subscription>& subscriptions() const noexcept { return subscriptions_; }

    /// Runs every route the delivery is for, once each. Never throws: bad payloads, handler
    /// errors and unmatched topics are logged and counted.
    void dispatch(const message& msg, publisher& client) noexcept;

    dispatch_stats stats() const noexcept;
    const std::string& process_name() const noexcept { return process_; }

    /// One line per pair of served routes whose filters can match the same topic.
    std::vector<std::string> overlap_warnings() const;

private:
    void run_route(std::size_t index, std::string_view topic, const message& msg,
                   publisher& client) noexcept;

    const router& router_;
    std::string group_;
    std::string process_;
    std::vector<std::size_t> served_;
    std::vector<subscription> subscriptions_;
    std::shared_ptr<detail::shared_metrics> metrics_;
    std::size_t slot_;
};

/// The topic with a leading `$share/<group>/` removed (brokers should not send it, some do).
std::string_view strip_share_prefix(std::string_view topic) noexcept;

/// The subscription topic of a route: its filter, or `$share/<group>/<filter>` when shared.
std::string subscription_topic(const route& r, std::string_view group_name);

}  // namespace routemq
