#include "middleware/json_required.hpp"

#include <routemq/errors.hpp>

namespace app {

routemq::middleware json_required() {
    return [](routemq::context& ctx, const routemq::handler& next) {
        if (!ctx.is_json()) {
            throw routemq::payload_error("JSON required: payload is not valid JSON");
        }
        next(ctx);
    };
}

}  // namespace app
