#pragma once

#include <routemq/router.hpp>

namespace routers {

/// Configuration pushed to the application.
void config_routes(routemq::router& r);

}  // namespace routers
