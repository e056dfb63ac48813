#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "routemq/message.hpp"
#include "routemq/pattern.hpp"

namespace routemq {

namespace detail {
struct trace_context;
struct context_access;
}  // namespace detail

/// Everything a handler (and its middleware) sees of one delivery to one route. The framework
/// makes one per run (routemq::testing::harness does in tests).
class context {
public:
    ~context();
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    /// The concrete topic the message was published on.
    const std::string& topic() const noexcept { return msg_.topic; }
    /// The pattern of the route handling it, as registered (`sensors/{device_id}/data`).
    const std::string& pattern() const noexcept { return pattern_; }
    /// Values captured by `{name}` levels.
    const routemq::params& params() const noexcept { return params_; }
    /// Shorthand for params().at(name).
    std::string_view param(std::string_view name) const { return params_.at(name); }

    /// The payload bytes, untouched.
    std::string_view payload() const noexcept { return msg_.payload; }
    /// The payload parsed as JSON on first use; throws routemq::payload_error when it is not, or
    /// when it nests arrays and objects deeper than JSON_MAX_DEPTH.
    const nlohmann::json& json() const;
    /// True when the payload parses as JSON.
    bool is_json() const noexcept;
    /// The payload as a `T`, read by nlohmann's `from_json` (`json().get<T>()`): a type of
    /// yours with `NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE`, a standard container, a number. Throws
    /// routemq::payload_error when the payload is not JSON or does not fit `T`, so a bad payload
    /// is counted and handled like any other. Defined in routemq/json.hpp (routemq/routemq.hpp
    /// includes it).
    template <class T>
    T json_as() const;

    int qos() const noexcept { return msg_.qos; }
    bool retain() const noexcept { return msg_.retain; }
    const routemq::user_properties& user_properties() const noexcept {
        return msg_.user_properties;
    }
    const message& raw() const noexcept { return msg_; }

    /// True when the message is an MQTT 5 request: it carries a Response Topic.
    bool is_request() const noexcept { return !msg_.response_topic.empty(); }
    /// Answers a request: publishes `payload` to its Response Topic with its Correlation Data and
    /// the user property `routemq-status: done` (QoS 1). Returns false, publishing nothing, when
    /// the message is not a request. A request whose handler returns without replying gets an
    /// empty `done` reply, so its caller never waits in vain.
    bool reply(std::string_view payload);
    bool reply(const std::string& payload) { return reply(std::string_view(payload)); }
    bool reply(const char* payload) { return reply(std::string_view(payload)); }
    /// Answers with `payload` serialized (`dump()`).
    bool reply(const nlohmann::json& payload);
    /// Tells a request's caller how far the work is: `{"progress": fraction, "note": note}` with
    /// `routemq-status: progress` to the Response Topic. False when not a request.
    bool progress(double fraction, std::string_view note = {});
    /// Whether reply() was called.
    bool replied() const noexcept { return replied_; }

    /// W3C Trace Context (see docs/tracing.md). The trace this run belongs to: the incoming
    /// message's `traceparent` user property's trace id, or a new one when it carries none
    /// (32 lowercase hex digits). Empty for a context made outside the dispatcher (in a test).
    std::string_view trace_id() const noexcept;
    /// This run's span (16 hex digits): everything the run publishes names it as its parent.
    std::string_view span_id() const noexcept;
    /// The span the incoming `traceparent` named as parent; empty when the trace started here.
    std::string_view parent_span_id() const noexcept;
    /// `00-<trace_id>-<span_id>-<flags>`: the `traceparent` this run's publishes carry, for
    /// your own tracing to continue from. Empty for a context made outside the dispatcher.
    std::string traceparent() const;

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
    friend struct detail::context_access;
    /// `json_max_depth`: the deepest nesting json() accepts (JSON_MAX_DEPTH).
    context(const message& msg, const std::string& route_pattern, publisher& client,
            std::string_view process_name, int json_max_depth);

    const message& msg_;
    const std::string& pattern_;
    routemq::params params_;
    publisher& client_;
    std::string_view process_;
    int json_max_depth_;
    /// The dispatcher's span for this run (null outside the dispatcher).
    const detail::trace_context* trace_;
    bool replied_ = false;
    mutable std::unique_ptr<nlohmann::json> json_;
    mutable std::string json_error_;
};

}  // namespace routemq
