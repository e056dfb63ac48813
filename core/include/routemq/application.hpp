#pragma once

#include <string>
#include <vector>

#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq {

/// Exit statuses of the `routemq` executable.
enum exit_status : int {
    kExitOk = 0,
    kExitFailure = 1,
    /// Invalid settings or command line.
    kExitConfig = 2,
    /// The broker refused a subscription at startup.
    kExitSubscribe = 3,
};

/// This machine's host name (the pod name under Kubernetes).
std::string host_name();

/// How the manager starts workers: this executable, re-run with these arguments plus
/// `--worker-slot <n>` (exec, never a bare fork of a threaded process).
struct worker_command {
    std::string executable;
    std::vector<std::string> args;
};

/// The processes a `routemq` run can be. Every one serves until SIGINT or SIGTERM, which the
/// caller must have blocked before any thread started (run_cli does), and returns an exit_status.

/// One process serving every route, shared ones through `$share/<group>/...` as a group of one.
int serve(const settings& s, const router& r);

/// The manager of `routemq --workers`: serves the non-shared routes and supervises the planned
/// worker processes (`worker_count` as for plan_workers).
int serve_with_workers(const settings& s, const router& r, int worker_count,
                       const worker_command& command);

/// One worker: serves the shared routes of `slot` in the plan, with a persistent session, and
/// counts into the manager's metrics region inherited as `metrics_fd` (-1: a region of its own).
int serve_worker(const settings& s, const router& r, int worker_count, int slot,
                 int metrics_fd = -1);

}  // namespace routemq
