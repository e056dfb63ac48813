#include "routing/subscriptions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "routemq/errors.hpp"

namespace routemq::detail {

std::string_view strip_share_prefix(std::string_view topic) noexcept {
    constexpr std::string_view kShare = "$share/";
    if (topic.substr(0, kShare.size()) != kShare) {
        return topic;
    }
    auto group_end = topic.find('/', kShare.size());
    return group_end == std::string_view::npos ? topic : topic.substr(group_end + 1);
}

std::string subscription_topic(const route& r, std::string_view group_name) {
    if (r.options.shared) {
        return fmt::format("$share/{}/{}", group_name, r.pattern.filter());
    }
    return r.pattern.filter();
}

std::vector<std::size_t> every_route(const router& r) {
    std::vector<std::size_t> all(r.routes().size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
}

std::vector<subscription> plan_subscriptions(const router& r,
                                             const std::vector<std::size_t>& served,
                                             std::string_view group_name) {
    std::vector<subscription> out;
    for (auto index : served) {
        const auto& rt = r.routes().at(index);
        auto topic = subscription_topic(rt, group_name);
        auto same = std::find_if(out.begin(), out.end(),
                                 [&](const subscription& s) { return s.topic == topic; });
        if (same == out.end()) {
            const int id = static_cast<int>(out.size()) + 1;
            out.push_back({std::move(topic), rt.options.qos, id, rt.options.no_local, {index}});
            continue;
        }
        if (same->no_local != rt.options.no_local) {
            throw route_error(fmt::format(
                "routes '{}' and '{}' subscribe to '{}' but only one sets no_local; one "
                "subscription cannot be both",
                r.routes()[same->routes.front()].pattern.text(), rt.pattern.text(), same->topic));
        }
        same->qos = std::max(same->qos, rt.options.qos);
        same->routes.push_back(index);
    }
    return out;
}

}  // namespace routemq::detail
