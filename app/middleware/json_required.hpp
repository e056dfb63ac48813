#pragma once

#include <routemq/middleware.hpp>

namespace app {

/// Rejects a payload that is not JSON before the handler runs (logged and counted as a bad
/// payload); the handler can then use ctx.json() knowing it parses.
routemq::middleware json_required();

}  // namespace app
