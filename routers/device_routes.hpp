#pragma once

#include <routemq/router.hpp>

namespace routers {

/// Commands to devices, answered to the caller.
void device_routes(routemq::router& r);

}  // namespace routers
