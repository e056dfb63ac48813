#pragma once

#include "pod/worker_invocation.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// What one `routemq` process is.
enum class role {
    /// `routemq`: one process serving every route, shared ones as a group of one.
    single,
    /// `routemq --workers`: serves the non-shared routes and supervises the planned workers.
    manager,
    /// Started by a manager: serves the shared routes of its slot with a persistent session.
    worker,
};

/// Runs `role` through the one lifecycle every role shares: start its parts, wait until they
/// are ready or a stop signal comes, tick (supervision, liveness) until SIGINT/SIGTERM, stop
/// with the grace period. `invocation` says how to start workers (manager) or which worker this
/// is (worker). The caller must have blocked SIGINT/SIGTERM before any thread started.
/// Returns an exit_status.
int run(role what, const settings& s, const router& r, const worker_invocation& invocation);

}  // namespace routemq::detail
