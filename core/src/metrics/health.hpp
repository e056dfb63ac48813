#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pod/pod_region.hpp"

namespace routemq::detail {

/// Whether the pod should receive work, and if not, why.
struct readiness {
    bool ready = false;
    /// One entry per reason, e.g. `w2: not running`, `main: not connected to the broker`.
    std::vector<std::string> missing;
};

/// Ready when not stopping and every process whose slot counts for readiness (the single
/// process, or each worker process in service: counts_for_readiness in pod/protocol.hpp) runs,
/// is connected and has every subscription granted.
readiness check_readiness(const pod_region& m);

/// Records a turn of the manager's main loop (call at least every second).
void heartbeat(const pod_region& m) noexcept;

/// Whether the manager's main loop turned within `max_silence`, or it is stopping (and busy
/// waiting for its workers).
bool alive(const pod_region& m, std::chrono::milliseconds max_silence) noexcept;

}  // namespace routemq::detail
