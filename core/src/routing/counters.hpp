#pragma once

#include <cstddef>
#include <cstdint>

namespace routemq::detail {

/// How one run of a route's handler chain ended.
enum class outcome { handled, bad_payload, handler_error };

/// What the dispatcher counts. The pod's shared metrics region implements it for a running
/// process (metrics/slot_counters.hpp); tests pass a plain one.
class dispatch_counters {
public:
    virtual ~dispatch_counters() = default;
    /// A delivery arrived.
    virtual void received() noexcept = 0;
    /// A delivery matched none of the routes it could be for.
    virtual void no_route() noexcept = 0;
    /// Route `route` (an index into router::routes()) ran for `duration_ns`.
    virtual void ran(std::size_t route, outcome result, std::uint64_t duration_ns) noexcept = 0;
};

}  // namespace routemq::detail
