#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "routemq/message.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"
#include "routing/topic_trie.hpp"

namespace routemq::detail {

/// The `routemq-status` user property of the messages sent to a request's Response Topic.
inline constexpr std::string_view kStatusAccepted = "accepted";
inline constexpr std::string_view kStatusProgress = "progress";
inline constexpr std::string_view kStatusDone = "done";
inline constexpr std::string_view kStatusFailed = "failed";

/// Where a worker may publish a request's replies and statuses. A request's Response Topic is
/// chosen by whoever sent it, and the worker publishes there with its own rights: unchecked, any
/// client could make it publish into another route of the application (a confused deputy) or
/// to a topic the broker refuses.
class reply_policy {
public:
    /// REPLY_TOPIC_PREFIXES and REPLY_TOPIC_MAX_BYTES from `handling`; the routes of `r` that do
    /// not accept_replies are topics no reply goes to.
    reply_policy(const router& r, const handling_settings& handling);

    /// Why no reply may go to `response_topic`, or empty when it may: a valid topic name, at most
    /// REPLY_TOPIC_MAX_BYTES, under one of REPLY_TOPIC_PREFIXES, not handled by a route without
    /// accept_replies.
    std::string problem(std::string_view response_topic) const;

private:
    const router& router_;
    std::vector<std::string> prefixes_;
    std::size_t max_bytes_;
    topic_trie own_routes_;
};

/// Publishes `payload` (QoS 1) to the Response Topic of `request` with its Correlation Data and
/// `routemq-status: status`. Does nothing when `request` carries no Response Topic. Through a
/// publisher that is not the framework's outbox (a test double), only topic and payload go out.
void send_status(publisher& out, const message& request, std::string_view status,
                 std::string_view payload);

}  // namespace routemq::detail
