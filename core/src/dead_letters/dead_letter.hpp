#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/outbox.hpp"
#include "routemq/message.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

// The dead-letter store: every dead letter is also kept as a retained message of its own, on
// `routemq/dead-letters/<MQTT_GROUP_NAME>/<id>`, and removed by an empty retained message on the
// same topic. The broker is the store (its persistence makes it durable); the pod's manager
// indexes it, bounds it and serves it to the dashboard; `routemq dead-letters` lists, shows,
// replays and purges it. This file is the one home of the store's format: its topics, ids and
// properties.

/// `routemq/dead-letters/<MQTT_GROUP_NAME>`: where the application's dead letters are kept.
std::string dead_letter_store_prefix(const mqtt_settings& mqtt);
/// `<prefix>/+`: every kept dead letter of the application.
std::string dead_letter_store_filter(const mqtt_settings& mqtt);
/// `<prefix>/<id>`.
std::string dead_letter_store_topic(const mqtt_settings& mqtt, std::string_view id);

/// `routemq/markers/<client id>`: where a store connection sends itself the message that says
/// every retained dead letter has arrived.
std::string dead_letter_marker_topic(std::string_view client_id);

/// A dead letter's id: `<unix milliseconds, 13 digits>-<16 hex digits>`. Sorting ids sorts dead
/// letters by age; the hex part (the message's digest mixed with a per-process counter) tells
/// apart dead letters of the same millisecond.
std::string dead_letter_id(std::int64_t unix_ms, std::uint64_t unique);
/// Whether `id` has that form (a topic level a client may send is checked before it is used).
bool is_dead_letter_id(std::string_view id) noexcept;
/// The milliseconds an id starts with.
std::int64_t dead_letter_time(std::string_view id) noexcept;

/// Why, where and how a message was dead-lettered, as the worker that gave up saw it.
struct dead_letter_facts {
    std::string reason = {};
    std::string route = {};
    std::string error = {};
    int attempts = 0;
    std::string process = {};
};

/// The facts as user properties, what every dead letter carries: `routemq-reason`, `-route`,
/// `-error`, `-attempts`, `-topic` (the original topic), `-process`.
routemq::user_properties fact_properties(const dead_letter_facts& facts, std::string_view topic);

/// Whether `topic` is one of the framework's own (the store, its markers), which no route of the
/// application runs on.
bool is_framework_topic(std::string_view topic) noexcept;

/// The properties of a kept dead letter: the facts (`routemq-reason`, `-route`, `-error`,
/// `-attempts`, `-topic`, `-process`), the original Response Topic and Correlation Data (as
/// `routemq-response-topic` and `routemq-correlation-data`, hex, so that nobody answers the kept
/// copy), then `routemq-properties: N` followed by the original message's N user properties.
publish_properties kept_properties(const message& original, std::string_view topic,
                                   const dead_letter_facts& facts);

/// One kept dead letter.
struct dead_letter {
    std::string id = {};
    std::int64_t when_ms = 0;
    dead_letter_facts facts = {};
    /// The topic it was first published to, and its payload's size.
    std::string topic = {};
    std::size_t size = 0;
    /// The original message: payload (empty when not kept), user properties, Response Topic and
    /// Correlation Data; what a replay publishes again.
    std::string payload = {};
    bool payload_kept = false;
    routemq::user_properties properties = {};
    std::string response_topic = {};
    std::string correlation_data = {};
};

/// The dead letter a message on the store's `filter_prefix` is, or nothing when it is not one
/// (an empty payload removes, another topic, or properties that are not a kept dead letter's).
std::optional<dead_letter> read_dead_letter(const message& m, std::string_view prefix,
                                            bool keep_payload);

/// What a replay publishes: the original user properties, Response Topic and Correlation Data.
publish_properties replay_properties(const dead_letter& d);

/// Why the application of `r` does not replay `d`, empty when it does: only to a topic one of its
/// routes handles. Anyone who may publish to the store could put a dead letter there; a replay
/// must not carry it, with the application's credentials, to a topic of somebody else's. A router
/// without routes (the installed `routemq` tool) cannot tell, and checks nothing.
std::string replay_problem(const router& r, const dead_letter& d);

/// Which dead letters `list` and the dashboard show: by route pattern and reason, empty for any.
struct dead_letter_filter {
    std::string route = {};
    std::string reason = {};
    bool matches(const dead_letter& d) const noexcept;
};

/// The ids to remove so that at most `max` are kept: the oldest first.
std::vector<std::string> ids_to_evict(const std::map<std::string, dead_letter>& kept,
                                      std::size_t max);

/// `{id, when_ms, route, reason, attempts, error, topic, size}`; with `whole`, also the payload
/// (`payload` when it is UTF-8 text, else `payload_base64`), `properties`, `response_topic` and
/// `correlation_data_hex`.
nlohmann::json to_json(const dead_letter& d, bool whole);

}  // namespace routemq::detail
