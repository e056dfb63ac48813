#pragma once

#include <string>
#include <vector>

#include "routemq/router.hpp"

namespace routemq::detail {

/// One line per served route whose filter overlaps later served routes (some topic matches
/// both), naming them. Pairs where either route sets allow_overlap are left out. The filters of
/// a pair always differ: the router refuses one filter twice, allow_overlap or not.
std::vector<std::string> overlap_warnings(const router& r, const std::vector<std::size_t>& served);

/// Under MQTT 3.1.1 a delivery does not say which subscription it is for, so a broker that sends
/// one copy per matching subscription (mosquitto with allow_duplicate_messages true; every broker
/// for shared subscriptions) runs overlapping routes once per copy. Empty when no two served
/// routes with different subscriptions overlap; else one line naming them and the remedy.
std::string duplicate_delivery_warning(const router& r, const std::vector<std::size_t>& served,
                                       std::string_view group_name);

}  // namespace routemq::detail
