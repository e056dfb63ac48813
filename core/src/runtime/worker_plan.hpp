#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routemq/router.hpp"
#include "routing/route_workers.hpp"

namespace routemq::detail {

/// One worker process of `routemq --workers`.
struct worker_spec {
    /// 1-based, stable: the process's client id ends in `-w<slot>` and a restart reuses it.
    int slot = 0;
    /// Indexes into router::routes() of the routes this process subscribes to: shared routes, or
    /// (in the one worker for them) every non-shared route.
    std::vector<std::size_t> routes;
    /// Which of its worker's handler slots this process is: 1 for the worker's first process,
    /// 2 to N for the extra slots of a route with `concurrency` N (they serve only the routes
    /// whose concurrency reaches them).
    int handler_slot = 1;

    /// A worker of an autoscaled route beyond its min_workers: the manager starts it when the
    /// route is busy (and once at startup, to release what a previous run left in its session).
    bool spare = false;

    /// Priorities: in a worker serving routes of several priorities, each priority has
    /// processes of its own (its lane: `priority`, handler slots counted per lane), and the
    /// worker's processes share `gate_tokens` handler slots, which go to the waiting message of
    /// the highest priority first. 0: no gate (one priority).
    routemq::priority priority = routemq::priority::normal;
    int gate_tokens = 0;
    /// The worker's first process when it has lanes (0: the slot - handler_slot + 1 rule).
    int worker_slot = 0;

    /// The process slot of the worker this process belongs to (its first process).
    int worker() const noexcept { return worker_slot > 0 ? worker_slot : slot - handler_slot + 1; }

    bool operator==(const worker_spec&) const = default;
};

/// The pools an instance serves (WORKER_POOLS, --pools); empty: every pool.
using pool_selection = std::vector<std::string>;

/// The routes in `pools` (every route when it is empty), in registration order.
std::vector<std::size_t> routes_in_pools(const router& r, const pool_selection& pools);

/// Throws config_error when a selected pool has no route: a typo would otherwise start an
/// instance that serves nothing.
void check_pools(const router& r, const pool_selection& pools);

/// The worker processes for a route table: a pure function.
///
/// A worker is one process per handler slot: a process acknowledges a message when its handler
/// returns, and Paho C runs every client's callbacks of a process on one thread, so one process
/// can hold one unacknowledged message in hand. A worker of routes whose highest `concurrency` is
/// N has N processes, consecutive slots; slot k serves the routes whose concurrency is at least k.
///
/// With `worker_count` 0 (the default), one worker per required worker: the sum of
/// `worker_count` over shared routes, each dedicated to one route, so a slow route cannot starve
/// another. With `worker_count` N > 0, N workers that each serve every shared route. Then, when
/// there are non-shared routes, one more worker that serves all of them (they must not be
/// subscribed twice). The manager itself runs no application code. Only the routes of `pools`
/// are planned. An autoscaled route (route_workers) gets its `max` workers, those past `min`
/// marked spare: the plan, and the shared region sized from it, never change while running.
std::vector<worker_spec> plan_workers(const router& r, int worker_count,
                                      const pool_selection& pools = {},
                                      const scaling_defaults& scaling = {});

/// The slots of the processes sharing `spec`'s priority gate (its worker's), first first; empty
/// when it has none.
std::vector<std::size_t> gate_members(const std::vector<worker_spec>& plan,
                                      const worker_spec& spec);

/// Every non-shared route of `pools`: what the last worker of the plan serves.
std::vector<std::size_t> unshared_routes(const router& r, const pool_selection& pools = {});

/// The plan as printed by `routemq routes`: processes and routes per worker.
std::string format_worker_plan(const router& r, const std::vector<worker_spec>& plan);

}  // namespace routemq::detail
