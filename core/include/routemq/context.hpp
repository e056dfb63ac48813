#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "routemq/message.hpp"
#include "routemq/pattern.hpp"

namespace routemq {

/// Everything a handler (and its middleware) sees of one delivery to one route.
class context {
public:
    /// `json_max_depth`: the deepest nesting json() accepts (JSON_MAX_DEPTH).
    context(const message& msg, const std::string& route_pattern, publisher& client,
            std::string_view process_name, int json_max_depth = 64);
    ~context();
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    /// The concrete topic the message was published on.
    const std::string& topic() const noexcept { return msg_.topic; }
    /// The pattern of the route handling it, as registered (`sensors/{device_id}/data`).
    const std::string& pattern() const noexcept { return pattern_; }
    /// Values captured by `{name}` levels.
    const routemq::params& params() const noexcept { return params_; }
    routemq::params& params() noexcept { return params_; }
    /// Shorthand for params().at(name).
    std::string_view param(std::string_view name) const { return params_.at(name); }

    /// The payload bytes, untouched.
    std::string_view payload() const noexcept { return msg_.payload; }
    /// The payload parsed as JSON on first use; throws routemq::payload_error when it is not, or
    /// when it nests arrays and objects deeper than JSON_MAX_DEPTH.
    const nlohmann::json& json() const;
    /// True when the payload parses as JSON.
    bool is_json() const noexcept;

    int qos() const noexcept { return msg_.qos; }
    bool retain() const noexcept { return msg_.retain; }
    const routemq::user_properties& user_properties() const noexcept {
        return msg_.user_properties;
    }
    const message& raw() const noexcept { return msg_; }

    /// The process handling this message (`main`, `w3`).
    std::string_view process_name() const noexcept { return process_; }

    /// The client, for publishing from a handler.
    publisher& client() noexcept { return client_; }

    /// Publishes `payload` as it is: a std::string, a string literal or a std::string_view.
    /// Throws routemq::mqtt_error when the message cannot be queued.
    void publish(const std::string& topic, std::string_view payload, int qos = 0,
                 bool retain = false);
    void publish(const std::string& topic, const std::string& payload, int qos = 0,
                 bool retain = false) {
        publish(topic, std::string_view(payload), qos, retain);
    }
    void publish(const std::string& topic, const char* payload, int qos = 0, bool retain = false) {
        publish(topic, std::string_view(payload), qos, retain);
    }
    /// Publishes `payload` serialized (`dump()`), for example `nlohmann::json{{"ok", true}}`.
    void publish(const std::string& topic, const nlohmann::json& payload, int qos = 0,
                 bool retain = false);

private:
    const message& msg_;
    const std::string& pattern_;
    routemq::params params_;
    publisher& client_;
    std::string_view process_;
    int json_max_depth_;
    mutable std::unique_ptr<nlohmann::json> json_;
    mutable std::string json_error_;
};

}  // namespace routemq
