#pragma once

#include <string_view>

#include "routemq/message.hpp"

namespace routemq::detail {

/// The `routemq-status` user property of the messages sent to a request's Response Topic.
inline constexpr std::string_view kStatusAccepted = "accepted";
inline constexpr std::string_view kStatusProgress = "progress";
inline constexpr std::string_view kStatusDone = "done";
inline constexpr std::string_view kStatusFailed = "failed";

/// Publishes `payload` (QoS 1) to the Response Topic of `request` with its Correlation Data and
/// `routemq-status: status`. Does nothing when `request` carries no Response Topic. Through a
/// publisher that is not the framework's outbox (a test double), only topic and payload go out.
void send_status(publisher& out, const message& request, std::string_view status,
                 std::string_view payload);

}  // namespace routemq::detail
