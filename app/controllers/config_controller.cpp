#include "controllers/config_controller.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>

namespace app {

void config_controller::update(routemq::context& ctx) {
    const auto& config = ctx.json();
    if (!config.is_object()) {
        throw routemq::payload_error("expected a JSON object");
    }
    spdlog::info("configuration updated: {}", config.dump());
}

}  // namespace app
