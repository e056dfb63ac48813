#include "middleware/log_requests.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace app {

routemq::middleware log_requests() {
    return [](routemq::context& ctx, const routemq::handler& next) {
        const auto start = std::chrono::steady_clock::now();
        auto elapsed_ms = [&] {
            return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             start)
                .count();
        };
        try {
            next(ctx);
        } catch (...) {
            spdlog::info("{} via {} failed after {:.3f} ms", ctx.topic(), ctx.pattern(),
                         elapsed_ms());
            throw;
        }
        spdlog::info("{} via {} handled in {:.3f} ms", ctx.topic(), ctx.pattern(), elapsed_ms());
    };
}

}  // namespace app
