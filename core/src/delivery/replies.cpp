#include "delivery/replies.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "delivery/outbox.hpp"
#include "delivery/publish_check.hpp"

namespace routemq::detail {

reply_policy::reply_policy(const router& r, const handling_settings& handling)
    : router_(r),
      prefixes_(handling.reply_topic_prefixes),
      max_bytes_(handling.reply_topic_max_bytes == 0 ? kMaxMqttString
                                                     : handling.reply_topic_max_bytes) {
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        if (!r.routes()[i].options.accept_replies) {
            own_routes_.insert(r.routes()[i].pattern.filter(), i);
        }
    }
}

std::string reply_policy::problem(std::string_view response_topic) const {
    if (response_topic.size() > max_bytes_) {
        return fmt::format("it is {} bytes, more than REPLY_TOPIC_MAX_BYTES ({})",
                           response_topic.size(), max_bytes_);
    }
    if (auto why = topic_name_problem(response_topic); !why.empty()) {
        return why;
    }
    if (std::none_of(prefixes_.begin(), prefixes_.end(), [&](const std::string& prefix) {
            return response_topic.size() > prefix.size() && response_topic.starts_with(prefix);
        })) {
        return fmt::format("it is not under REPLY_TOPIC_PREFIXES ({})", fmt::join(prefixes_, ","));
    }
    std::vector<std::size_t> routes;
    own_routes_.match(response_topic, routes);
    if (!routes.empty()) {
        return fmt::format(
            "route '{}' of this application handles it (route option accept_replies allows it)",
            router_.routes()[routes.front()].pattern.text());
    }
    return "";
}

void send_status(publisher& out, const message& request, std::string_view status,
                 std::string_view payload) {
    if (request.response_topic.empty()) {
        return;
    }
    auto* box = dynamic_cast<outbox*>(&out);
    if (box == nullptr) {
        out.publish(request.response_topic, payload, 1, false);
        return;
    }
    publish_properties p;
    p.response_topic = {};
    p.correlation_data = request.correlation_data;
    p.user_properties.emplace_back("routemq-status", std::string(status));
    box->publish(request.response_topic, payload, 1, false, p);
}

}  // namespace routemq::detail
