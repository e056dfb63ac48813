#pragma once

#include <string>

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

/// Serves every route of `r` in this process until SIGINT or SIGTERM, which the caller must
/// have blocked in every thread (run_cli does). Returns an exit_status.
int serve(const settings& s, const router& r, const std::string& role = "main");

}  // namespace routemq
