#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pod/route_workers.hpp"
#include "routemq/router.hpp"

namespace routemq::detail {

/// The processes `routemq --workers` runs, as a tree: a pod has workers, a worker has lanes (one
/// per priority it serves), a lane has processes, one per handler slot. Built once, by
/// plan_pod(), as a pure function of the routes and the settings; the manager, its workers, the
/// control socket and the metrics all read this one plan. docs/workers.md has the glossary.

/// One process: runs one handler at a time (Paho C runs every callback of a process on one
/// thread, and a message is acknowledged when its handler returns).
struct process_plan {
    /// Pod-wide, 1-based and stable: its name is `w<slot>`, which ends its client id (a restart
    /// reuses the session), and it indexes its cells in the pod region.
    int slot = 0;
    /// Which handler slot of its lane it is (1-based): slot k serves the lane's routes whose
    /// `concurrency` is at least k.
    int handler_slot = 1;
    /// Indexes into router::routes().
    std::vector<std::size_t> routes{};

    bool operator==(const process_plan&) const = default;
};

/// The processes of a worker that serve one priority.
struct lane_plan {
    routemq::priority priority = routemq::priority::normal;
    std::vector<process_plan> processes{};

    bool operator==(const lane_plan&) const = default;
};

/// A worker: the processes that serve one set of routes together, started, scaled and counted
/// as one.
struct worker_plan {
    /// 1-based within the pod.
    int number = 0;
    /// Every route it serves, in registration order.
    std::vector<std::size_t> routes{};
    /// Past its route's min_workers: started only when the route is busy (and once at startup,
    /// to release what a previous run left in its sessions).
    bool spare = false;
    /// With more than one lane: the handler slots its lanes share through a priority gate, the
    /// highest priority first. 0: one lane, no gate.
    int gate_tokens = 0;
    /// Highest priority first.
    std::vector<lane_plan> lanes{};

    /// Its processes, lane by lane.
    std::vector<const process_plan*> processes() const;
    int first_slot() const noexcept;
    int last_slot() const noexcept;
    /// `worker 2 (w3-w4)`, as logs name it.
    std::string name() const;

    bool operator==(const worker_plan&) const = default;
};

/// The workers that serve one shared route alone and scale together (autoscaling, `routemq ctl
/// scale`).
struct scaling_group {
    std::size_t route = 0;
    /// Worker numbers, in the order they are added.
    std::vector<int> workers{};
    worker_range range{};

    bool operator==(const scaling_group&) const = default;
};

/// Where a process sits in the plan.
struct process_place {
    const worker_plan* worker = nullptr;
    const lane_plan* lane = nullptr;
    const process_plan* process = nullptr;
};

struct pod_plan {
    std::vector<worker_plan> workers;
    std::vector<scaling_group> groups;

    std::size_t process_count() const noexcept;
    /// The process with pod-wide slot `slot`; every pointer null when there is none.
    process_place at(int slot) const noexcept;
    const worker_plan& worker(int number) const { return workers.at(number - 1); }
    /// The slots of the processes sharing `slot`'s priority gate (its worker's), first first;
    /// empty when its worker has no gate.
    std::vector<std::size_t> gate_members(int slot) const;
    /// The scaling group of `route`, or null.
    const scaling_group* group_of(std::size_t route) const noexcept;
};

/// The pools an instance serves (WORKER_POOLS, --pools); empty: every pool.
using pool_selection = std::vector<std::string>;

/// The routes in `pools` (every route when it is empty), in registration order.
std::vector<std::size_t> routes_in_pools(const router& r, const pool_selection& pools);

/// Throws config_error when a selected pool has no route: a typo would otherwise start an
/// instance that serves nothing.
void check_pools(const router& r, const pool_selection& pools);

/// The plan of a route table.
///
/// A worker of routes whose highest `concurrency` is N has N processes (one lane); with routes of
/// several priorities, a lane per priority with as many processes as that priority's highest
/// concurrency, sharing the worker's N handler slots through a gate.
///
/// With `worker_count` 0 (the default), each shared route has workers of its own: its
/// `worker_count`, or for an autoscaled route its `max`, those past `min` spare, so the plan and
/// the region sized from it never change while running. With `worker_count` N > 0, N workers
/// each serve every shared route. Then, when there are non-shared routes, one more worker serves
/// all of them (they must not be subscribed twice). The manager itself runs no application code.
/// Only the routes of `pools` are planned.
pod_plan plan_pod(const router& r, int worker_count, const pool_selection& pools = {},
                  const scaling_defaults& scaling = {});

/// Every non-shared route of `pools`: what the last worker of the plan serves.
std::vector<std::size_t> unshared_routes(const router& r, const pool_selection& pools = {});

/// `1 worker`, `5 processes`: how logs and `routemq routes` count.
std::string counted(std::size_t n, const char* one, const char* many);

/// The plan as printed by `routemq routes`: workers, their processes and routes.
std::string format_pod_plan(const router& r, const pod_plan& plan);

}  // namespace routemq::detail
