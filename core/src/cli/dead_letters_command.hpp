#pragma once

#include <string>

#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// `routemq dead-letters list|show|replay|purge`, as parsed.
struct dead_letters_request {
    std::string action;
    /// One dead letter (show, replay, purge), or empty.
    std::string id;
    /// replay and purge: every one of a route (its pattern), or every one (`all`); list: filters.
    std::string route;
    std::string reason;
    bool all = false;
    bool json = false;
};

/// Runs it against the store of the application `s` names (MQTT_GROUP_NAME), replaying only to
/// topics of the routes of `r` (replay_problem); prints to stdout
/// (results) and stderr (progress, problems). Exit 0 when everything asked was done, 1 when
/// something was not (named), 2 on a request that makes no sense (thrown as config_error).
int dead_letters_command(const settings& s, const router& r, const dead_letters_request& request);

}  // namespace routemq::detail
