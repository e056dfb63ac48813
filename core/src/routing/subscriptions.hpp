#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routemq/router.hpp"

namespace routemq::detail {

/// One MQTT subscription: every served route with the same subscription topic shares it. The
/// dispatcher reads `routes`; the client sends the rest.
struct subscription {
    /// What is sent to the broker: the filter, or `$share/<group>/<filter>` for shared routes.
    std::string topic;
    /// The highest qos of its routes.
    int qos = 0;
    /// MQTT 5 subscription identifier: its 1-based position in the plan.
    int id = 0;
    /// MQTT 5 No Local: the broker does not send this client's own publishes back.
    bool no_local = false;
    /// Indexes into router::routes(), in registration order.
    std::vector<std::size_t> routes;
    /// Not a route's: a broker that refuses it is logged, and the process serves on.
    bool optional = false;
};

/// The subscriptions for the routes `served` (indexes into r.routes()) of one process, in
/// identifier order; a pure function. Throws routemq::route_error when two routes sharing a
/// subscription disagree on no_local (one subscription cannot be both).
std::vector<subscription> plan_subscriptions(const router& r,
                                             const std::vector<std::size_t>& served,
                                             std::string_view group_name);

/// The subscription topic of a route: its filter, or `$share/<group>/<filter>` when shared.
std::string subscription_topic(const route& r, std::string_view group_name);

/// The topic with a leading `$share/<group>/` removed (brokers should not send it, some do).
std::string_view strip_share_prefix(std::string_view topic) noexcept;

/// Every route index of `r`, in order.
std::vector<std::size_t> every_route(const router& r);

}  // namespace routemq::detail
