#include "device_routes.hpp"

#include "controllers/device_controller.hpp"

namespace routers {

void device_routes(routemq::router& r) {
    r.on("devices/{device_id}/command", &app::device_controller::command, {.qos = 1});
}

}  // namespace routers
