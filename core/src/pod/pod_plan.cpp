#include "pod/pod_plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

/// The patterns of `indexes`, comma-separated.
std::string pattern_list(const router& r, const std::vector<std::size_t>& indexes) {
    std::string out;
    for (auto index : indexes) {
        out += (out.empty() ? "" : ", ") + r.routes()[index].pattern.text();
    }
    return out;
}

/// "w3", or "w3-w9" for a run of process slots.
std::string slot_range(int first, int last) {
    return first == last ? fmt::format("w{}", first) : fmt::format("w{}-w{}", first, last);
}

/// The most concurrent of `routes`.
int concurrency_of(const router& r, const std::vector<std::size_t>& routes) {
    int most = 1;
    for (auto index : routes) {
        most = std::max(most, r.routes()[index].options.concurrency);
    }
    return most;
}

/// A worker serving `routes`, its processes numbered from `next_slot` on.
worker_plan plan_worker(const router& r, int number, const std::vector<std::size_t>& routes,
                        bool spare, int& next_slot) {
    worker_plan w{.number = number, .routes = routes, .spare = spare};
    for (auto p : {routemq::priority::high, routemq::priority::normal, routemq::priority::low}) {
        lane_plan lane{.priority = p};
        std::vector<std::size_t> of_lane;
        std::copy_if(routes.begin(), routes.end(), std::back_inserter(of_lane),
                     [&](auto index) { return r.routes()[index].options.priority == p; });
        for (int k = 1; k <= concurrency_of(r, of_lane) && !of_lane.empty(); ++k) {
            process_plan process{.slot = next_slot++, .handler_slot = k};
            std::copy_if(of_lane.begin(), of_lane.end(), std::back_inserter(process.routes),
                         [&](auto index) { return r.routes()[index].options.concurrency >= k; });
            lane.processes.push_back(std::move(process));
        }
        if (!lane.processes.empty()) {
            w.lanes.push_back(std::move(lane));
        }
    }
    w.gate_tokens = w.lanes.size() > 1 ? concurrency_of(r, routes) : 0;
    return w;
}

}  // namespace

std::vector<const process_plan*> worker_plan::processes() const {
    std::vector<const process_plan*> out;
    for (const auto& lane : lanes) {
        for (const auto& p : lane.processes) {
            out.push_back(&p);
        }
    }
    return out;
}

int worker_plan::first_slot() const noexcept {
    return lanes.front().processes.front().slot;
}

int worker_plan::last_slot() const noexcept {
    return lanes.back().processes.back().slot;
}

std::string counted(std::size_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string worker_plan::name() const {
    return fmt::format("worker {} ({})", number, slot_range(first_slot(), last_slot()));
}

std::size_t pod_plan::process_count() const noexcept {
    return workers.empty() ? 0 : static_cast<std::size_t>(workers.back().last_slot());
}

process_place pod_plan::at(int slot) const noexcept {
    for (const auto& w : workers) {
        if (slot < w.first_slot() || slot > w.last_slot()) {
            continue;
        }
        for (const auto& lane : w.lanes) {
            for (const auto& p : lane.processes) {
                if (p.slot == slot) {
                    return {&w, &lane, &p};
                }
            }
        }
    }
    return {};
}

std::vector<std::size_t> pod_plan::gate_members(int slot) const {
    std::vector<std::size_t> out;
    const auto place = at(slot);
    if (place.worker != nullptr && place.worker->gate_tokens > 0) {
        for (const auto* p : place.worker->processes()) {
            out.push_back(static_cast<std::size_t>(p->slot));
        }
    }
    return out;
}

const scaling_group* pod_plan::group_of(std::size_t route) const noexcept {
    const auto it = std::find_if(groups.begin(), groups.end(),
                                 [route](const scaling_group& g) { return g.route == route; });
    return it == groups.end() ? nullptr : &*it;
}

std::vector<std::size_t> routes_in_pools(const router& r, const pool_selection& pools) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        if (pools.empty() ||
            std::find(pools.begin(), pools.end(), r.routes()[i].options.pool) != pools.end()) {
            out.push_back(i);
        }
    }
    return out;
}

void check_pools(const router& r, const pool_selection& pools) {
    std::vector<std::string> known;
    for (const auto& rt : r.routes()) {
        if (std::find(known.begin(), known.end(), rt.options.pool) == known.end()) {
            known.push_back(rt.options.pool);
        }
    }
    for (const auto& pool : pools) {
        if (std::find(known.begin(), known.end(), pool) == known.end()) {
            std::string names;
            for (const auto& k : known) {
                names += (names.empty() ? "" : ", ") + k;
            }
            throw config_error(fmt::format(
                "WORKER_POOLS (or --pools): no route is in pool '{}'; the routes' pools are: {}",
                pool, names.empty() ? "none (no routes)" : names));
        }
    }
}

pod_plan plan_pod(const router& r, int worker_count, const pool_selection& pools,
                  const scaling_defaults& scaling) {
    std::vector<std::size_t> shared;
    for (auto i : routes_in_pools(r, pools)) {
        if (r.routes()[i].options.shared) {
            shared.push_back(i);
        }
    }
    pod_plan plan;
    int next_slot = 1;
    const auto add = [&](const std::vector<std::size_t>& routes, bool spare) {
        plan.workers.push_back(
            plan_worker(r, static_cast<int>(plan.workers.size()) + 1, routes, spare, next_slot));
    };
    if (!shared.empty() && worker_count > 0) {
        for (int n = 0; n < worker_count; ++n) {
            add(shared, false);
        }
    } else {
        for (auto index : shared) {
            const auto range = route_workers(r.routes()[index].options, scaling);
            for (int n = 0; n < range.max; ++n) {
                add({index}, n >= range.min);
            }
        }
    }
    if (auto unshared = unshared_routes(r, pools); !unshared.empty()) {
        add(unshared, false);  // concurrency is 1 on them (the router refuses more)
    }
    // The workers serving one shared route alone scale together; the spare ones make the route
    // autoscaled.
    for (auto index : shared) {
        scaling_group g{.route = index};
        int fixed = 0;
        for (const auto& w : plan.workers) {
            if (w.routes == std::vector<std::size_t>{index} && w.gate_tokens == 0) {
                g.workers.push_back(w.number);
                fixed += w.spare ? 0 : 1;
            }
        }
        if (!g.workers.empty()) {
            g.range.min = fixed;
            g.range.max = static_cast<int>(g.workers.size());
            g.range.autoscaled = g.range.min < g.range.max;
            plan.groups.push_back(std::move(g));
        }
    }
    return plan;
}

std::vector<std::size_t> unshared_routes(const router& r, const pool_selection& pools) {
    std::vector<std::size_t> out;
    for (auto i : routes_in_pools(r, pools)) {
        if (!r.routes()[i].options.shared) {
            out.push_back(i);
        }
    }
    return out;
}

std::string format_pod_plan(const router& r, const pod_plan& plan) {
    const auto spares = std::count_if(plan.workers.begin(), plan.workers.end(),
                                      [](const worker_plan& w) { return w.spare; });
    std::string out =
        fmt::format("WORKERS ({}, {} with --workers{}; the manager runs no routes)\n",
                    counted(plan.workers.size(), "worker", "workers"),
                    counted(plan.process_count(), "process", "processes"),
                    spares == 0 ? "" : fmt::format(", {} of them started only when busy", spares));
    if (plan.workers.empty()) {
        return out + "  none: no routes\n";
    }
    const auto line = [&](const std::string& label, int first, int last, const std::string& routes,
                          const std::string& note) {
        out += fmt::format("  {:<11} {:<7} {}{}\n", label, slot_range(first, last), routes,
                           note.empty() ? "" : "  (" + note + ")");
    };
    for (std::size_t i = 0; i < plan.workers.size();) {
        const auto& w = plan.workers[i];
        // An autoscaled route: one line for all its workers, the spare ones included.
        if (const auto* g = w.routes.size() == 1 ? plan.group_of(w.routes.front()) : nullptr;
            g != nullptr && g->range.autoscaled && g->workers.front() == w.number) {
            const auto& last = plan.worker(g->workers.back());
            const auto slots = w.processes().size();
            line(fmt::format("workers {}-{}", w.number, last.number), w.first_slot(),
                 last.last_slot(), pattern_list(r, w.routes),
                 fmt::format("autoscaled: {} to {} workers{}", g->range.min, g->range.max,
                             slots == 1 ? "" : fmt::format(" of {} handler slots", slots)));
            i += g->workers.size();
            continue;
        }
        const auto processes = w.processes();
        const bool uniform = w.lanes.size() == 1 &&
                             std::all_of(processes.begin(), processes.end(),
                                         [&](const auto* p) { return p->routes == w.routes; });
        std::string note;
        if (w.gate_tokens > 0) {
            note = fmt::format(
                "{} shared by {} priorities, highest first",
                counted(static_cast<std::size_t>(w.gate_tokens), "handler slot", "handler slots"),
                w.lanes.size());
        } else if (processes.size() > 1) {
            note = counted(processes.size(), "handler slot", "handler slots");
        }
        if (!r.routes()[w.routes.front()].options.shared) {
            note = note.empty() ? "not shared" : "not shared, " + note;
        }
        line(fmt::format("worker {}", w.number), w.first_slot(), w.last_slot(),
             pattern_list(r, w.routes), note);
        if (!uniform) {
            // Its lanes, and runs of processes serving the same routes.
            for (const auto& lane : w.lanes) {
                for (std::size_t k = 0; k < lane.processes.size();) {
                    auto end = k + 1;
                    while (end < lane.processes.size() &&
                           lane.processes[end].routes == lane.processes[k].routes) {
                        ++end;
                    }
                    out += fmt::format(
                        "    {:<9} {:<7} {}\n",
                        w.lanes.size() > 1 ? priority_name(lane.priority) : "",
                        slot_range(lane.processes[k].slot, lane.processes[end - 1].slot),
                        pattern_list(r, lane.processes[k].routes));
                    k = end;
                }
            }
        }
        ++i;
    }
    return out;
}

}  // namespace routemq::detail
