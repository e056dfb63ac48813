#include "sensor_routes.hpp"

#include "controllers/alert_controller.hpp"
#include "controllers/sensor_controller.hpp"
#include "middleware/json_required.hpp"
#include "middleware/log_requests.hpp"

namespace routers {

void sensor_routes(routemq::router& r) {
    auto sensors = r.group({.prefix = "sensors", .middleware = {app::log_requests()}});
    // High volume, shared: its own pool, so it deploys and scales apart from the rest
    // (k8s/pools/). The other routes stay in pool "default".
    sensors.on("{device_id}/data", &app::sensor_controller::process_data,
               {.qos = 1,
                .shared = true,
                .worker_count = 3,
                .pool = "ingest",
                .middleware = {app::json_required()}});

    r.on("alerts/{device_id}", &app::alert_controller::handle_alert, {.qos = 1});
}

}  // namespace routers
