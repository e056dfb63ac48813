#include "routing/route_workers.hpp"

#include <algorithm>

namespace routemq::detail {

worker_range route_workers(const route_options& options, const scaling_defaults& defaults) {
    const int max = options.max_workers > 0 ? options.max_workers : defaults.max_workers;
    if (!options.shared || max <= 0) {
        return {options.worker_count, options.worker_count, false};
    }
    // An explicit min_workers raises a default max (a route's own pair is checked at
    // registration); the default min yields to the max.
    if (options.min_workers > 0) {
        return {options.min_workers, std::max(max, options.min_workers), true};
    }
    return {std::min(defaults.min_workers, max), max, true};
}

}  // namespace routemq::detail
