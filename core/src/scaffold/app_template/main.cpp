#include <routemq/routemq.hpp>

#include "routers/routes.hpp"

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, routers::register_all, {.name = "@APP@"});
}
