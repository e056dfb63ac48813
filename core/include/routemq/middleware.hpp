#pragma once

#include <functional>

#include "routemq/context.hpp"

namespace routemq {

/// A route's handler: does the work for one message.
using handler = std::function<void(context&)>;

/// A layer of the onion around a handler. Call `next(ctx)` to go on; return without calling it
/// to short-circuit (the handler and inner middleware do not run). Throwing
/// routemq::payload_error rejects the message as a bad payload.
using middleware = std::function<void(context&, const handler& next)>;

}  // namespace routemq
