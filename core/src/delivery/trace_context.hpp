#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "delivery/outbox.hpp"
#include "routemq/message.hpp"

namespace routemq::detail {

/// The MQTT 5 user properties that carry W3C Trace Context, named as the HTTP headers are.
inline constexpr std::string_view kTraceparentProperty = "traceparent";
inline constexpr std::string_view kTracestateProperty = "tracestate";

/// The fields of a valid `traceparent` value, as the lowercase hex digits it carried.
struct traceparent_fields {
    std::array<char, 32> trace_id{};
    std::array<char, 16> parent_id{};
    std::array<char, 2> flags{};
};

/// Parses a `traceparent` value strictly (W3C Trace Context): `00-<trace-id>-<parent-id>-<flags>`,
/// 32, 16 and 2 lowercase hex digits, neither id all zeros, nothing around it. A later version
/// (two hex digits other than `ff`) is read with the same layout, followed by nothing or by `-`
/// and whatever that version adds, as the specification asks. nullopt for anything else.
std::optional<traceparent_fields> parse_traceparent(std::string_view value) noexcept;

/// The trace that the current delivery, and the span that the current handler run, belong to.
struct trace_context {
    std::array<char, 32> trace_id{};
    /// The handler run's span: the parent-id of everything it publishes (when has_span).
    std::array<char, 16> span_id{};
    /// The parent-id of the incoming `traceparent` (when has_parent; else the trace started here).
    std::array<char, 16> parent_id{};
    std::array<char, 2> flags{};
    bool has_span = false;
    bool has_parent = false;
    /// The delivery's user properties, whose `tracestate` values are carried unchanged; null
    /// when its `traceparent` was absent or invalid (a `tracestate` is meaningless without it).
    const routemq::user_properties* tracestate_from = nullptr;

    std::string_view trace_id_text() const noexcept { return {trace_id.data(), trace_id.size()}; }
    std::string_view span_id_text() const noexcept {
        return has_span ? std::string_view(span_id.data(), span_id.size()) : std::string_view();
    }
    std::string_view parent_id_text() const noexcept {
        return has_parent ? std::string_view(parent_id.data(), parent_id.size())
                          : std::string_view();
    }
    /// `00-<trace-id>-<span-id>-<flags>`: what the span's publishes carry ("" without a span).
    std::string traceparent() const;
};

/// The trace of a delivery: its `traceparent`'s when it carries exactly one valid one (its
/// `tracestate` goes along), else a new random trace id with flags `01` (sampled). An invalid or
/// repeated `traceparent` is logged at debug level, naming `topic`. No span yet.
trace_context begin_trace(const message& msg, std::string_view topic) noexcept;

/// A new span (a random, non-zero span id) in the current trace of this thread, or in a new
/// trace when there is none.
trace_context start_span() noexcept;

/// The trace (and span) in force on this thread, or null: set by trace_scope while the
/// dispatcher handles a delivery. Log lines and publishes on this thread carry it.
const trace_context* current_trace() noexcept;

/// Makes `t` the current trace of this thread for its lifetime (the previous one comes back).
class trace_scope {
public:
    explicit trace_scope(const trace_context& t) noexcept;
    ~trace_scope();
    trace_scope(const trace_scope&) = delete;
    trace_scope& operator=(const trace_scope&) = delete;

private:
    const trace_context* previous_;
};

/// Appends `traceparent` (and the carried `tracestate` values) for the span of `t`; nothing when
/// `t` has no span.
void add_trace_properties(const trace_context& t, routemq::user_properties& to);

/// An outbox that adds the current span's trace properties (add_trace_properties) to whatever is
/// published through it on a thread where a span is current, and passes everything else
/// through. A process's endpoint puts one in front of its outgoing connection for the process's
/// life, so that what a handler publishes, and what the dispatcher publishes for its message
/// (request statuses, dead letters), carries the trace; a publisher a handler keeps
/// (`ctx.client()`) stays valid after the handler returns.
class tracing_outbox final : public outbox {
public:
    explicit tracing_outbox(outbox& out) : out_(out) {}
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain) override;
    void publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                 const publish_properties& properties) override;
    confirmation confirm(std::chrono::milliseconds timeout) noexcept override {
        return out_.confirm(timeout);
    }

private:
    outbox& out_;
};

}  // namespace routemq::detail
