#include "middleware/log_requests.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <string_view>

namespace app {
namespace {

/// A client chooses the topic, up to 65,535 bytes: a log line shows its start and its length.
std::string shown(std::string_view topic) {
    constexpr std::size_t kShown = 120;
    return topic.size() <= kShown
               ? std::string(topic)
               : fmt::format("{}... ({} bytes)", topic.substr(0, kShown), topic.size());
}

}  // namespace

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
            spdlog::info("{} via {} failed after {:.3f} ms", shown(ctx.topic()), ctx.pattern(),
                         elapsed_ms());
            throw;
        }
        spdlog::info("{} via {} handled in {:.3f} ms", shown(ctx.topic()), ctx.pattern(),
                     elapsed_ms());
    };
}

}  // namespace app
