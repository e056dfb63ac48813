#include "routing/replies.hpp"

#include "routing/outbox.hpp"

namespace routemq::detail {

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
