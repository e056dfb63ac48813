#pragma once

#include <routemq/context.hpp>

namespace app {

/// Sensor readings: `sensors/{device_id}/data` carries `{"temp": <number>, ...}`.
class sensor_controller {
public:
    /// Validates the reading and publishes it to `sensors/{device_id}/processed` with the
    /// device id and the name of the process that handled it.
    static void process_data(routemq::context& ctx);
};

}  // namespace app
