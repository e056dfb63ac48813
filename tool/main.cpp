// The `routemq` tool the package installs: the framework's command line with no routes of its
// own. It starts applications (`routemq new app`, `new controller`, `new routes`) and talks to
// running ones (`ctl`, `request`, `healthcheck`); an application's own executable has the same
// commands and its routes.
#include <routemq/routemq.hpp>

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router&) {});
}
