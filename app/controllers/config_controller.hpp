#pragma once

#include <routemq/context.hpp>

namespace app {

/// Configuration pushed to the application on `config/update`.
class config_controller {
public:
    /// Logs the new configuration (a JSON object).
    static void update(routemq::context& ctx);
};

}  // namespace app
