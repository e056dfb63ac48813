#pragma once

#include "routemq/router.hpp"

namespace routemq::detail {

/// The defaults of the route options min_workers and max_workers (AUTOSCALE_MIN_WORKERS,
/// AUTOSCALE_MAX_WORKERS); the manager passes them to its workers with the rest of the plan.
struct scaling_defaults {
    int min_workers = 1;
    int max_workers = 0;
};

/// How many workers a shared route has: fixed (`worker_count`, min = max), or between `min` and
/// `max` (autoscaled).
struct worker_range {
    int min = 1;
    int max = 1;
    bool autoscaled = false;

    bool operator==(const worker_range&) const = default;
};
worker_range route_workers(const route_options& options, const scaling_defaults& defaults);

}  // namespace routemq::detail
