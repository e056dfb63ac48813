#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace routemq::detail {

/// How one run of a route's handler chain ended.
enum class outcome { handled, bad_payload, handler_error };

/// Why a message went to the dead-letter topic.
enum class dead_letter_reason {
    /// The handler threw on every attempt.
    failed,
    /// The payload could not be read (routemq::payload_error): retrying would not help.
    payload,
    /// The message killed POISON_MAX_CRASHES workers (crash or timeout).
    poison,
};

/// The name used in logs, metrics and the dead letter's `routemq-reason` property.
constexpr std::string_view reason_name(dead_letter_reason r) noexcept {
    switch (r) {
        case dead_letter_reason::failed:
            return "failed";
        case dead_letter_reason::payload:
            return "payload";
        case dead_letter_reason::poison:
            return "poison";
    }
    return "unknown";
}

/// What the dispatcher reports and asks about the process around it. The pod's shared metrics
/// region implements it for a running process (metrics/slot_counters.hpp); tests pass a plain one.
class dispatch_counters {
public:
    virtual ~dispatch_counters() = default;
    /// A delivery arrived.
    virtual void received() noexcept = 0;
    /// A delivery matched none of the routes it could be for.
    virtual void no_route() noexcept = 0;
    /// Route `route` (an index into router::routes()) ran for `duration_ns`.
    virtual void ran(std::size_t route, outcome result, std::uint64_t duration_ns) noexcept = 0;
    /// A failed run of `route` is about to be retried.
    virtual void retried(std::size_t route) noexcept = 0;
    /// A message of `route` was published to the dead-letter topic and acknowledged.
    virtual void dead_lettered(std::size_t route, dead_letter_reason why) noexcept = 0;
    /// The broker refused `count` publishes of a message of `route` (a result, a reply, a dead
    /// letter): a reason code of 0x80 or more, or the connection closed over it.
    virtual void publishes_refused(std::size_t /*route*/, std::size_t /*count*/) noexcept {}
    /// A request to `route` named a Response Topic outside the reply policy: handled, not
    /// answered.
    virtual void reply_refused(std::size_t /*route*/) noexcept {}

    /// A handler of `route` starts on a message (`digest` of route, topic and payload): the
    /// manager watches its time against `timeout` (0: none) and names it if the process dies.
    virtual void begin(std::size_t /*route*/, std::string_view /*topic*/, std::uint64_t /*digest*/,
                       std::chrono::milliseconds /*timeout*/) noexcept {}
    /// The handler that began last returned.
    virtual void end() noexcept {}
    /// How many workers the message with `digest` killed so far, and how the last one died.
    virtual int crashes(std::uint64_t /*digest*/, std::string& /*last_cause*/) const { return 0; }
};

}  // namespace routemq::detail
