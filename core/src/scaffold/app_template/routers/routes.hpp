#pragma once

#include <routemq/router.hpp>

namespace routers {

/// Every route of the application: one call per area.
void register_all(routemq::router& r);

}  // namespace routers
