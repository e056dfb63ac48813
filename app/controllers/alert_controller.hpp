#pragma once

#include <routemq/context.hpp>

namespace app {

/// Device alerts on `alerts/{device_id}`.
class alert_controller {
public:
    /// Logs the alert at warning level with the device id.
    static void handle_alert(routemq::context& ctx);
};

}  // namespace app
