#pragma once

#include <routemq/router.hpp>

namespace routers {

/// Sensor data and alerts.
void sensor_routes(routemq::router& r);

}  // namespace routers
