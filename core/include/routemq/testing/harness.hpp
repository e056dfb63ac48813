#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "routemq/cli.hpp"
#include "routemq/message.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

/// Testing an application's routes: an in-process harness (this header) and, for integration
/// tests, a mosquitto fixture, child processes and a plain MQTT client (routemq/testing/*.hpp).
/// Link `routemq::testing`; it works with any test framework (docs/testing.md).
namespace routemq::testing {

/// A message as a client publishes it, to hand to harness::deliver.
struct delivery {
    std::string topic;
    std::string payload = {};
    /// The QoS it is published with; each route sees at most its own subscription's QoS, as a
    /// broker delivers it.
    int qos = 0;
    bool retain = false;
    /// MQTT 5 user properties, in order.
    routemq::user_properties user_properties = {};
    /// MQTT 5 request/response: set a response topic to make it a request (ctx.reply).
    std::string response_topic = {};
    std::string correlation_data = {};
};

/// One message the application published while handling a delivery.
struct published_message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    routemq::user_properties user_properties = {};
    std::string correlation_data = {};

    /// The value of user property `name`, or "" when it has none.
    std::string property(std::string_view name) const;
    /// The payload parsed as JSON; throws nlohmann::json::parse_error when it is not.
    nlohmann::json json() const;
};

/// How one run of a route's handler chain (middleware and handler) ended.
enum class outcome {
    handled,
    /// It threw routemq::payload_error (ctx.json() on a payload that is not JSON does): not
    /// retried.
    bad_payload,
    /// It threw anything else: retried per the route's retry policy.
    handler_error,
};

/// One run of a route: a retry is a run of its own.
struct route_run {
    /// The route's pattern as registered (`sensors/{device_id}/data`).
    std::string pattern;
    /// The handler's name, as `routemq routes` shows it.
    std::string handler;
    routemq::testing::outcome outcome = outcome::handled;
    /// 1 for the first run of the route on this delivery, 2 for its first retry, ...
    int attempt = 1;
};

/// A message the framework gave up on, as published to the dead-letter topic.
struct dead_letter {
    /// Where it went (`dead-letter/sensors/1/data`).
    std::string topic;
    /// The original payload.
    std::string payload;
    /// `failed` (every attempt threw), `payload` (routemq::payload_error) or `poison`.
    std::string reason;
    /// The pattern of the route that gave up.
    std::string route;
    /// The exception's message.
    std::string error;
    int attempts = 0;
};

/// What happened to one delivery.
struct result {
    /// What handlers published (ctx.publish), in order. Replies and dead letters are apart.
    std::vector<published_message> published;
    /// What went to a request's response topic, in order: `accepted`, any `progress`, then `done`
    /// (ctx.reply, or empty when the handler returned without replying) or `failed`.
    std::vector<published_message> replies;
    std::vector<routemq::testing::dead_letter> dead_letters;
    /// Every run of every route, in order.
    std::vector<route_run> runs;
    /// The waits before retries, as the dispatcher computed them (the harness does not sleep).
    std::vector<std::chrono::milliseconds> retry_waits;
    /// What was logged while it was handled, one `[level] message` a line (at the default
    /// logger's level; the lines go to the logger's own sinks too).
    std::vector<std::string> log;
    /// Copies the broker sends the application: one per matching subscription (MQTT 5).
    int deliveries = 0;
    /// True when no route matches the topic: nothing ran.
    bool no_route = false;

    /// The patterns of the routes that ran, each once, in the order they first ran.
    std::vector<std::string> routes() const;
    /// How many runs ended `o`.
    int count(routemq::testing::outcome o) const;
    /// True when a route ran and nothing was dead-lettered: every route that ran ended handled.
    bool handled() const;
    /// The `routemq-status` of each reply, in order.
    std::vector<std::string> statuses() const;
    /// What handlers published to topics matching the MQTT `filter` (`sensors/+/processed`).
    std::vector<published_message> published_to(std::string_view filter) const;
    /// True when a log line contains `text`.
    bool logged(std::string_view text) const;
};

/// How a harness is set up.
struct harness_options {
    /// Settings as in `.env` (`RETRY_ATTEMPTS`, `DEAD_LETTER_TOPIC`, `JSON_MAX_DEPTH`,
    /// `MQTT_GROUP_NAME`, ...), validated like the application's; unset ones take their defaults.
    routemq::env_map settings = {};
    /// What ctx.process_name() answers: `main`, or a worker's name such as `w1`.
    std::string process_name = "main";
};

/// Runs an application's routes in process, without a broker: deliver() hands a message to the
/// same dispatcher a RouteMQ process runs, so middleware, params, retries, dead letters and
/// request replies behave as they do in production, and returns what happened.
///
/// Routing follows MQTT 5, the default: every route whose filter matches the topic runs once
/// (one copy per matching subscription, as the broker sends them). What handlers publish is
/// recorded, not delivered back to the routes. No threads, sockets or sleeps of its own: a
/// retried handler runs again at once (result::retry_waits has the waits it would have had).
/// Not for use from several threads at once.
///
///     routemq::testing::harness app(routers::register_all);
///     auto r = app.deliver({.topic = "sensors/7/data", .payload = R"({"temp": 21})", .qos = 1});
///     // r.routes() == {"sensors/{device_id}/data"}, r.published[0].topic == "sensors/7/processed"
class harness {
public:
    /// Registers the application's routes (as routemq::run_cli does) and plans their
    /// subscriptions. Throws what the application's startup would: routemq::route_error for a
    /// bad route, routemq::config_error for a bad setting.
    explicit harness(const route_registrar& register_routes, harness_options options = {});
    ~harness();
    harness(const harness&) = delete;
    harness& operator=(const harness&) = delete;

    /// Publishes `message` to the application and returns once every route that matches it has
    /// run (retries included). Throws routemq::error when the topic could not be published (empty,
    /// or with a wildcard) or the QoS is not 0, 1 or 2; never for what the handlers do.
    result deliver(const delivery& message);

    /// The registered routes, compiled (pattern, options, handler name).
    const std::vector<routemq::route>& routes() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace routemq::testing
