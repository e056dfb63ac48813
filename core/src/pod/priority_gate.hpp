#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "pod/pod_region.hpp"

namespace routemq::detail {

/// The handler slots of a worker that serves routes of several priorities. Each priority has
/// processes of its own (lanes, see pod_plan.hpp), and each holds the message it received,
/// unacknowledged, until the gate lets its handler run: a free slot goes to the waiting message
/// of the highest priority, oldest first. The gate lives in the pod's shared region: a robust
/// process-shared lock over the members' cells, a futex per member to wake it.
///
/// A member whose handler returned keeps its slot for `linger` (lingering) unless a message of
/// the same or a higher priority waits: the next message of its lane is usually on its way
/// (Paho acknowledges after the handler returns, and the broker then sends the next), and
/// without it a waiting low-priority message would take the slot between two high ones. A
/// lingering slot is taken over at once by a message of higher priority, and by anyone once
/// `linger` has passed.
class priority_gate {
public:
    enum state : std::uint32_t { idle = 0, waiting = 1, running = 2, lingering = 3 };

    /// `members`: the slots of the worker's processes, its first process first; `self` one of
    /// them; `tokens` the worker's handler slots; `priority` this member's lane.
    priority_gate(std::shared_ptr<pod_region> metrics, std::vector<std::size_t> members,
                  std::size_t self, int tokens, int priority,
                  std::chrono::milliseconds linger = std::chrono::milliseconds(5));

    /// Blocks until this member may run a handler.
    void acquire();
    /// Its handler returned: the slot goes to the first waiting message of this priority or
    /// higher, or lingers.
    void release();

    /// Manager: member `gone` (any of `members`) has exited; what it held goes on.
    static void reclaim(const pod_region& metrics, const std::vector<std::size_t>& members,
                        std::size_t gone);

private:
    std::shared_ptr<pod_region> metrics_;
    std::vector<std::size_t> members_;
    std::size_t self_;
    int priority_;
    std::chrono::milliseconds linger_;
};

}  // namespace routemq::detail
