#include "control/commands.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "control/control.hpp"

namespace routemq::detail {

/// One `routemq ctl` command: `workers`, `scale ROUTE N`, `recycle w<N>` or `reload`.
std::string control_answer(std::string_view command, const pod_region& pod, const router& r,
                           supervisor& workers,
                           const std::function<std::string()>& settings_problem) {
    using nlohmann::json;
    if (command == "workers") {
        return workers_report(pod, workers.plan(), r);
    }
    if (command == "reload") {
        if (const auto problem = settings_problem(); !problem.empty()) {
            spdlog::error("reload refused, the workers keep running as they are: {}", problem);
            return json{
                {"error", "reload refused, the workers keep running as they are: " + problem}}
                .dump();
        }
        workers.reload();
        return json{{"reloading", workers.plan().process_count()}}.dump();
    }
    if (command.rfind("scale ", 0) == 0) {
        // "scale ROUTE N": the route by its pattern (as `routemq routes` prints it) or its name.
        const auto space = command.rfind(' ');
        const std::string name(command.substr(6, space > 6 ? space - 6 : 0));
        int count = 0;
        const auto number = command.substr(space + 1);
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
        if (space <= 6 || ec != std::errc() || end != number.data() + number.size()) {
            return json{{"error",
                         "scale takes a route and a number of workers, e.g. scale "
                         "'jobs/{id}' 4"}}
                .dump();
        }
        std::vector<std::size_t> matches;
        for (std::size_t i = 0; i < r.routes().size(); ++i) {
            const auto& rt = r.routes()[i];
            if (rt.pattern.text() == name || rt.options.name == name || rt.handler_name == name) {
                matches.push_back(i);
            }
        }
        if (matches.size() != 1) {
            return json{{"error", fmt::format("{} route is '{}' (give the pattern as `routemq "
                                              "routes` prints it, or the route's name)",
                                              matches.empty() ? "no" : "more than one", name)}}
                .dump();
        }
        std::string why;
        if (!workers.scale(matches.front(), count, why)) {
            return json{{"error", fmt::format("cannot scale '{}' to {}: {}", name, count, why)}}
                .dump();
        }
        return json{{"scaled", name}, {"workers", count}}.dump();
    }
    if (command.rfind("recycle ", 0) == 0) {
        const std::string name(command.substr(8));
        int slot = 0;
        if (name.size() > 1 && name[0] == 'w') {
            std::from_chars(name.data() + 1, name.data() + name.size(), slot);
        }
        std::string why;
        if (slot > 0 && workers.recycle(slot, "is recycled (routemq ctl)", why)) {
            return json{{"recycling", name}}.dump();
        }
        return json{
            {"error", why.empty() ? fmt::format("'{}' is not a process (w1, w2, ...)", name) : why}}
            .dump();
    }
    return json{{"error", fmt::format("unknown command '{}'; this manager knows: workers, "
                                      "scale ROUTE N, recycle wN, reload",
                                      command)}}
        .dump();
}

}  // namespace routemq::detail
