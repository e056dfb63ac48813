#include "pod/route_workers.hpp"

#include <algorithm>

namespace routemq::detail {

worker_range route_workers(const route_options& options, const scaling_defaults& defaults) {
    const int max = options.max_workers > 0 ? options.max_workers : defaults.max_workers;
    if (!options.shared || max <= 0) {
        return {options.worker_count, options.worker_count, false};
    }
    // Without min_workers the floor is what the route asked for (worker_count), or
    // AUTOSCALE_MIN_WORKERS when that is more, but never above the route's own max_workers. A
    // default max below the floor is raised to it. (A route's own min above its own max is
    // refused at registration.)
    int min = options.min_workers;
    if (min == 0) {
        min = std::max(defaults.min_workers, options.worker_count);
        if (options.max_workers > 0) {
            min = std::min(min, options.max_workers);
        }
    }
    const int top = std::max(max, min);
    return {min, top, min < top};
}

}  // namespace routemq::detail
