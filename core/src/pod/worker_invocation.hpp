#pragma once

#include <string>
#include <vector>

#include "pod/pod_plan.hpp"

namespace CLI {
class App;
}

namespace routemq::detail {

/// How the manager starts a worker and how that worker learns its part: the one place where the
/// worker command line is both written (argv) and read (add_options).
struct worker_invocation {
    /// This program, re-run by exec: a fork of the threaded manager may only exec.
    std::string executable;
    /// `--env-file` as given to the manager (absolute), or empty.
    std::string env_file;
    /// As for plan_pod: 0 follows the plan, N runs N workers serving every shared route.
    int worker_count = 0;
    /// The pools served (WORKER_POOLS or --pools); passed on so a worker plans the same.
    std::vector<std::string> pools;
    /// AUTOSCALE_MIN_WORKERS and AUTOSCALE_MAX_WORKERS; passed on so a worker plans the same.
    scaling_defaults scaling;
    /// The worker process's slot in the plan (1-based); 0 in a process that is not a worker.
    int slot = 0;
    /// The inherited metrics region, or -1 (a worker started by hand counts into its own).
    int metrics_fd = -1;
    /// A successor: connect only after kGoByte arrives here (EOF: exit); -1 otherwise.
    int hold_fd = -1;

    /// The command line of process `worker_slot`, which finds the region as kRegionFd (and,
    /// when `held`, waits on kHandoverFd before it connects; protocol.hpp).
    std::vector<std::string> argv(int worker_slot, bool held = false) const;

    /// Registers the options only a manager passes (hidden from --help), filling `into`.
    static void add_options(CLI::App& app, worker_invocation& into);
};

}  // namespace routemq::detail
