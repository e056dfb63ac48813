#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// What `routemq asyncapi` describes besides the routes.
struct asyncapi_options {
    /// info.title and info.version of the document.
    std::string title;
    std::string version;
    /// Only the routes of these pools (`--pools`, WORKER_POOLS); empty: every route.
    std::vector<std::string> pools = {};
};

/// The AsyncAPI 3.0 document of an application, a pure function of its routes and settings: one
/// channel per route (its `{name}` levels, and its `+` and `#` levels, as channel parameters),
/// one receive operation per route with its MQTT binding (qos, the subscription the broker sees
/// and, for a shared route, the share group), the broker of MQTT_BROKER, MQTT_PORT, MQTT_TLS and
/// MQTT_PROTOCOL as its server and, under MQTT 5, the reply every route sends to a request's
/// Response Topic (docs/asyncapi.md). Keys keep the order of the specification's examples.
nlohmann::ordered_json asyncapi_document(const router& r, const settings& s,
                                         const asyncapi_options& options);

/// The channel key of each route of `r` (indexes as in r.routes()): its pattern's levels
/// joined by '.', each reduced to the characters AsyncAPI allows in a key; made unique.
std::vector<std::string> asyncapi_channel_ids(const router& r);

}  // namespace routemq::detail
