#include "routemq/context.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "delivery/replies.hpp"
#include "delivery/trace_context.hpp"
#include "routemq/errors.hpp"

namespace routemq {
namespace {

/// Whether `text` nests arrays and objects deeper than `max` (strings skipped). Checked before
/// parsing: what parses is later walked recursively (dump(), a handler's own code), and a
/// 100,000-deep document would overflow the stack there.
bool nests_deeper_than(std::string_view text, int max) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                return true;
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

}  // namespace

context::context(const message& msg, const std::string& route_pattern, publisher& client,
                 std::string_view process_name, int json_max_depth)
    : msg_(msg),
      pattern_(route_pattern),
      client_(client),
      process_(process_name),
      json_max_depth_(json_max_depth),
      trace_(detail::current_trace()) {}

context::~context() = default;

const nlohmann::json& context::json() const {
    if (!json_ && json_error_.empty() && nests_deeper_than(msg_.payload, json_max_depth_)) {
        json_error_ = fmt::format("payload nests deeper than JSON_MAX_DEPTH ({})", json_max_depth_);
    }
    if (!json_ && json_error_.empty()) {
        // nlohmann stops at a NUL as at the end of the input, so `{}\0junk` would parse; JSON
        // has no NUL anywhere, not even in a string (control characters there are escaped).
        auto parsed =
            msg_.payload.find('\0') != std::string::npos
                ? nlohmann::json(nlohmann::json::value_t::discarded)
                : nlohmann::json::parse(msg_.payload, nullptr, /*allow_exceptions=*/false);
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

std::string_view context::trace_id() const noexcept {
    return trace_ != nullptr ? trace_->trace_id_text() : std::string_view();
}

std::string_view context::span_id() const noexcept {
    return trace_ != nullptr ? trace_->span_id_text() : std::string_view();
}

std::string_view context::parent_span_id() const noexcept {
    return trace_ != nullptr ? trace_->parent_id_text() : std::string_view();
}

std::string context::traceparent() const {
    return trace_ != nullptr ? trace_->traceparent() : std::string();
}

bool context::reply(std::string_view payload) {
    if (!is_request()) {
        return false;
    }
    detail::send_status(client_, msg_, detail::kStatusDone, payload);
    replied_ = true;
    return true;
}

bool context::reply(const nlohmann::json& payload) {
    return reply(std::string_view(payload.dump()));
}

bool context::progress(double fraction, std::string_view note) {
    if (!is_request()) {
        return false;
    }
    const nlohmann::json body = {{"progress", fraction}, {"note", note}};
    detail::send_status(client_, msg_, detail::kStatusProgress, body.dump());
    return true;
}

}  // namespace routemq
