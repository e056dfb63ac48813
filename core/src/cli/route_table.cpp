#include "cli/route_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "routing/subscriptions.hpp"

namespace routemq::detail {

std::string format_route_table(const router& r, std::string_view group_name,
                               const std::vector<std::string>& pools,
                               const scaling_defaults& scaling) {
    using row = std::array<std::string, 9>;
    std::vector<row> rows{{"PATTERN", "FILTER", "SUBSCRIPTION", "QOS", "WORKERS", "SLOTS", "POOL",
                           "PRIORITY", "HANDLER"}};
    for (const auto& rt : r.routes()) {
        if (!pools.empty() &&
            std::find(pools.begin(), pools.end(), rt.options.pool) == pools.end()) {
            continue;  // not served by this instance
        }
        const auto workers = route_workers(rt.options, scaling);
        rows.push_back({rt.pattern.text(), rt.pattern.filter(), subscription_topic(rt, group_name),
                        std::to_string(rt.options.qos),
                        !rt.options.shared   ? "-"
                        : workers.autoscaled ? fmt::format("{}-{}", workers.min, workers.max)
                                             : std::to_string(workers.max),
                        rt.options.shared ? std::to_string(rt.options.concurrency) : "-",
                        rt.options.pool, priority_name(rt.options.priority), rt.handler_name});
    }
    std::array<std::size_t, 9> width{};
    for (const auto& cells : rows) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            width[i] = std::max(width[i], cells[i].size());
        }
    }
    std::string out;
    for (const auto& cells : rows) {
        std::string line;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            line += i + 1 == cells.size() ? cells[i] : fmt::format("{:<{}}  ", cells[i], width[i]);
        }
        out += line + '\n';
    }
    return out;
}

}  // namespace routemq::detail
