#include "routes.hpp"

// routemq new routes: includes above this line

namespace routers {

void register_all(routemq::router& r) {
    // routemq new routes: calls above this line
}

}  // namespace routers
