#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pod/route_workers.hpp"
#include "routemq/router.hpp"

namespace routemq::detail {

/// The route table as printed by `routemq routes`: pattern, filter, subscription topic, qos,
/// workers (`min-max` when it autoscales), handler slots, pool, priority and handler, one route
/// per line under a header; only the routes of `pools` when it is not empty.
std::string format_route_table(const router& r, std::string_view group_name,
                               const std::vector<std::string>& pools = {},
                               const scaling_defaults& scaling = {});

}  // namespace routemq::detail
