#include "config_routes.hpp"

#include "controllers/config_controller.hpp"
#include "middleware/json_required.hpp"

namespace routers {

void config_routes(routemq::router& r) {
    r.on("config/update", &app::config_controller::update,
         {.qos = 1, .middleware = {app::json_required()}});
}

}  // namespace routers
