#include "middleware/json_required.hpp"

#include <routemq/errors.hpp>

namespace app {

routemq::middleware json_required() {
    return [](routemq::context& ctx, const routemq::handler& next) {
        (void)ctx.json();  // throws routemq::payload_error saying what is wrong with it
        next(ctx);
    };
}

}  // namespace app
