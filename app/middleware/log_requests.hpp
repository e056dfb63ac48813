#pragma once

#include <routemq/middleware.hpp>

namespace app {

/// Logs each message handled: topic, route, outcome and how long the inner layers took.
routemq::middleware log_requests();

}  // namespace app
