#pragma once

#include <string>
#include <string_view>

#include "routemq/router.hpp"

namespace routemq::detail {

/// The route table as printed by `routemq routes`: pattern, filter, subscription topic, qos,
/// workers and handler, one route per line under a header.
std::string format_route_table(const router& r, std::string_view group_name);

}  // namespace routemq::detail
