#pragma once

#include <string>
#include <string_view>

#include "routemq/context.hpp"

namespace routemq::detail {

/// What only the framework does with a context: make one for a run, and lend it the route's
/// parameters.
struct context_access {
    static context make(const message& msg, const std::string& route_pattern, publisher& client,
                        std::string_view process_name, int json_max_depth = 64) {
        return context(msg, route_pattern, client, process_name, json_max_depth);
    }
    static routemq::params& params(context& ctx) noexcept { return ctx.params_; }
};

}  // namespace routemq::detail
