#pragma once

#include <routemq/context.hpp>

namespace app {

/// Commands to devices on `devices/{device_id}/command`, answered (MQTT 5 request/response).
class device_controller {
public:
    /// Accepts `{"action": "ping" | "reboot"}`; replies `{"device_id", "action", "result"}`.
    static void command(routemq::context& ctx);
};

}  // namespace app
