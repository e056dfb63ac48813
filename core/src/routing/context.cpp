#include "routemq/context.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "routemq/errors.hpp"

namespace routemq {

context::context(const message& msg, const std::string& route_pattern, publisher& client,
                 std::string_view process_name)
    : msg_(msg), pattern_(route_pattern), client_(client), process_(process_name) {}

context::~context() = default;

const nlohmann::json& context::json() const {
    if (!json_ && json_error_.empty()) {
        auto parsed = nlohmann::json::parse(msg_.payload, nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) {
            json_error_ = "payload is not valid JSON";
        } else {
            json_ = std::make_unique<nlohmann::json>(std::move(parsed));
        }
    }
    if (!json_) {
        throw payload_error(fmt::format("{} ({} bytes)", json_error_, msg_.payload.size()));
    }
    return *json_;
}

bool context::is_json() const noexcept {
    try {
        json();
        return true;
    } catch (...) {
        return false;
    }
}

void context::publish(const std::string& topic, std::string_view payload, int qos, bool retain) {
    client_.publish(topic, payload, qos, retain);
}

void context::publish(const std::string& topic, const nlohmann::json& payload, int qos,
                      bool retain) {
    client_.publish(topic, payload.dump(), qos, retain);
}

}  // namespace routemq
