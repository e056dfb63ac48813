#include "controllers/alert_controller.hpp"

#include <spdlog/spdlog.h>

namespace app {

void alert_controller::handle_alert(routemq::context& ctx) {
    spdlog::warn("alert from device {}: {}", ctx.param("device_id"), ctx.payload());
}

}  // namespace app
