#include "routes.hpp"

#include "config_routes.hpp"
#include "device_routes.hpp"
#include "sensor_routes.hpp"
// routemq new routes: includes above this line

namespace routers {

void register_all(routemq::router& r) {
    sensor_routes(r);
    config_routes(r);
    device_routes(r);
    // routemq new routes: calls above this line
}

}  // namespace routers
