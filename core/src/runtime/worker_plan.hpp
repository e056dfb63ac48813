#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routemq/router.hpp"

namespace routemq::detail {

/// One worker process of `routemq --workers`.
struct worker_spec {
    /// 1-based, stable: the worker's client id ends in `-w<slot>` and a restart reuses it.
    int slot = 0;
    /// Indexes into router::routes() of the routes this worker subscribes to: shared routes, or
    /// (in the one worker for them) every non-shared route.
    std::vector<std::size_t> routes;

    bool operator==(const worker_spec&) const = default;
};

/// The worker processes for a route table: a pure function.
///
/// With `worker_count` 0 (the default), one process per required worker: the sum of
/// `worker_count` over shared routes, each process dedicated to one route, so a slow route cannot
/// starve another. With `worker_count` N > 0, N processes that each serve every shared route.
/// Then, when there are non-shared routes, one more worker that serves all of them (they must
/// not be subscribed twice). The manager itself runs no application code.
std::vector<worker_spec> plan_workers(const router& r, int worker_count);

/// Every non-shared route: what the last worker of the plan serves.
std::vector<std::size_t> unshared_routes(const router& r);

/// The plan as printed by `routemq routes`: slot, client id suffix and routes per worker.
std::string format_worker_plan(const router& r, const std::vector<worker_spec>& plan);

}  // namespace routemq::detail
