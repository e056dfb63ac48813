#include "controllers/sensor_controller.hpp"

#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>
#include <string>

namespace app {

void sensor_controller::process_data(routemq::context& ctx) {
    const auto& reading = ctx.json();
    if (!reading.is_object() || !reading.contains("temp") || !reading["temp"].is_number()) {
        throw routemq::payload_error(R"(expected {"temp": <number>, ...})");
    }
    const auto device_id = std::string(ctx.param("device_id"));
    nlohmann::json processed = {
        {"device_id", device_id},
        {"reading", reading},
        {"temp_f", reading["temp"].get<double>() * 9.0 / 5.0 + 32.0},
        {"processed_by", ctx.process_name()},
    };
    ctx.publish("sensors/" + device_id + "/processed", processed, 1);
}

}  // namespace app
