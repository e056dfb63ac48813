#include "controllers/device_controller.hpp"

#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>
#include <string>

namespace app {

void device_controller::command(routemq::context& ctx) {
    const auto& body = ctx.json();
    if (!body.is_object() || !body.contains("action") || !body["action"].is_string()) {
        throw routemq::payload_error(R"(expected {"action": "ping" | "reboot"})");
    }
    const auto action = body["action"].get<std::string>();
    if (action != "ping" && action != "reboot") {
        throw routemq::payload_error("unknown action '" + action + "'");
    }
    ctx.progress(0.5, "sent to the device");
    ctx.reply(nlohmann::json{{"device_id", ctx.param("device_id")},
                             {"action", action},
                             {"result", action == "ping" ? "pong" : "rebooting"}});
}

}  // namespace app
