#pragma once

#include <functional>

#include "routemq/router.hpp"

namespace routemq {

/// Registers an application's routes on a router.
using route_registrar = std::function<void(router&)>;

/// The `routemq` command line: `routemq [--env-file F] [--workers [N]]` serves the application,
/// `routemq routes` prints the route table, `routemq settings` the configuration table.
/// Returns the process exit status (see exit_status).
int run_cli(int argc, char** argv, const route_registrar& routes);

}  // namespace routemq
