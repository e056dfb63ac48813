#pragma once

#include <functional>

#include "routemq/router.hpp"

namespace routemq {

/// Registers an application's routes on a router.
using route_registrar = std::function<void(router&)>;

/// Exit statuses of the `routemq` executable.
enum class exit_status : int {
    ok = 0,
    failure = 1,
    /// Invalid settings, routes or command line.
    config = 2,
    /// The broker refused a subscription at startup.
    subscribe = 3,
    /// A worker whose broker did not confirm what a message produced (its results or its dead
    /// letter) within 30 s: the message is not acknowledged, so it is delivered again. Counted
    /// against the message like a crash (POISON_MAX_CRASHES).
    unconfirmed = 75,
};

/// The number a process exits with.
constexpr int code(exit_status s) noexcept {
    return static_cast<int>(s);
}

/// The `routemq` command line: `routemq [--env-file F] [--workers [N]]` serves the application,
/// `routemq routes` prints the route table and the worker plan, `routemq settings` the
/// configuration table, `routemq healthcheck` probes the running endpoint.
/// Returns the process exit status (see exit_status).
int run_cli(int argc, char** argv, const route_registrar& routes);

}  // namespace routemq
