#include "routing/overlaps.hpp"

#include <fmt/format.h>

#include "routing/subscriptions.hpp"

namespace routemq::detail {

std::vector<std::string> overlap_warnings(const router& r, const std::vector<std::size_t>& served) {
    std::vector<std::string> out;
    const auto& routes = r.routes();
    for (std::size_t i = 0; i < served.size(); ++i) {
        const auto& a = routes[served[i]];
        std::string others;
        for (std::size_t j = i + 1; j < served.size(); ++j) {
            const auto& b = routes[served[j]];
            if (!a.options.allow_overlap && !b.options.allow_overlap &&
                filters_overlap(a.pattern.filter(), b.pattern.filter())) {
                others += fmt::format("{}'{}'", others.empty() ? "" : ", ", b.pattern.text());
            }
        }
        if (!others.empty()) {
            out.push_back(
                fmt::format("route '{}' overlaps {}: a message matching several runs each of them "
                            "(route option allow_overlap = true if intended)",
                            a.pattern.text(), others));
        }
    }
    return out;
}

std::string duplicate_delivery_warning(const router& r, const std::vector<std::size_t>& served,
                                       std::string_view group_name) {
    const auto& routes = r.routes();
    std::string pairs;
    for (std::size_t i = 0; i < served.size(); ++i) {
        for (std::size_t j = i + 1; j < served.size(); ++j) {
            const auto& a = routes[served[i]];
            const auto& b = routes[served[j]];
            if (subscription_topic(a, group_name) != subscription_topic(b, group_name) &&
                filters_overlap(a.pattern.filter(), b.pattern.filter())) {
                pairs += fmt::format("{}'{}' and '{}'", pairs.empty() ? "" : ", ", a.pattern.text(),
                                     b.pattern.text());
            }
        }
    }
    if (pairs.empty()) {
        return {};
    }
    return fmt::format(
        "MQTT 3.1.1 with overlapping routes ({}): a broker that sends one copy per matching "
        "subscription (mosquitto with allow_duplicate_messages true, and any broker for shared "
        "subscriptions) makes each of them run once per copy; MQTT_PROTOCOL=5 tells the copies "
        "apart",
        pairs);
}

}  // namespace routemq::detail
