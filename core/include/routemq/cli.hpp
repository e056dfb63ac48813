#pragma once

#include <functional>
#include <string>

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

/// What the command line knows of the application.
struct cli_options {
    /// The application's name: the default of MQTT_CLIENT_ID and MQTT_GROUP_NAME (two
    /// applications on one broker must not share client ids, or each takes the other's
    /// sessions), the name `deploy k8s` gives its objects, and the help's title. 1-64 letters,
    /// digits, '-', '_' or '.'.
    std::string name = "routemq";
};

/// The command line: `APP [--env-file F] [--workers [N]]` serves the application, `APP routes`
/// prints the route table and the worker plan, `APP settings` the configuration table, `APP
/// healthcheck` probes the running endpoint, `APP deploy k8s` prints Kubernetes manifests for it,
/// `APP new ...` writes an application or parts of one (`routemq --help` lists them all).
/// Returns the process exit status (see exit_status).
int run_cli(int argc, char** argv, const route_registrar& routes, const cli_options& options = {});

}  // namespace routemq
