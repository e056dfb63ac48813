#include "runtime/worker_plan.hpp"

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

/// "w3", or "w3-w9" for a run of slots.
std::string slot_range(int first, int last) {
    return first == last ? fmt::format("w{}", first) : fmt::format("w{}-w{}", first, last);
}

}  // namespace

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

std::vector<worker_spec> plan_workers(const router& r, int worker_count,
                                      const pool_selection& pools,
                                      const scaling_defaults& scaling) {
    std::vector<std::size_t> shared;
    for (auto i : routes_in_pools(r, pools)) {
        if (r.routes()[i].options.shared) {
            shared.push_back(i);
        }
    }
    std::vector<worker_spec> plan;
    int slot = 1;
    // One worker serving `routes`: a process per handler slot of its most concurrent route.
    // One worker serving `routes`: a process per handler slot of its most concurrent route; with
    // routes of several priorities, that many per priority (a lane each, highest first), sharing
    // the worker's handler slots through a gate.
    const auto add_worker = [&](const std::vector<std::size_t>& routes, bool spare) {
        const auto concurrency = [&](const std::vector<std::size_t>& of) {
            int most = 1;
            for (auto index : of) {
                most = std::max(most, r.routes()[index].options.concurrency);
            }
            return most;
        };
        std::vector<routemq::priority> lanes;
        for (auto p :
             {routemq::priority::high, routemq::priority::normal, routemq::priority::low}) {
            if (std::any_of(routes.begin(), routes.end(),
                            [&](auto index) { return r.routes()[index].options.priority == p; })) {
                lanes.push_back(p);
            }
        }
        const int first = slot;
        const int tokens = lanes.size() > 1 ? concurrency(routes) : 0;
        for (auto lane : lanes) {
            std::vector<std::size_t> of_lane;
            for (auto index : routes) {
                if (r.routes()[index].options.priority == lane) {
                    of_lane.push_back(index);
                }
            }
            for (int k = 1; k <= concurrency(of_lane); ++k) {
                std::vector<std::size_t> mine;
                for (auto index : of_lane) {
                    if (r.routes()[index].options.concurrency >= k) {
                        mine.push_back(index);
                    }
                }
                worker_spec spec{slot++, std::move(mine), k, spare};
                if (tokens > 0) {
                    spec.priority = lane;
                    spec.gate_tokens = tokens;
                    spec.worker_slot = first;
                }
                plan.push_back(std::move(spec));
            }
        }
    };
    if (!shared.empty() && worker_count > 0) {
        for (int n = 0; n < worker_count; ++n) {
            add_worker(shared, false);
        }
    } else {
        for (auto index : shared) {
            const auto range = route_workers(r.routes()[index].options, scaling);
            for (int n = 0; n < range.max; ++n) {
                add_worker({index}, n >= range.min);
            }
        }
    }
    if (auto unshared = unshared_routes(r, pools); !unshared.empty()) {
        add_worker(unshared, false);  // concurrency is 1 on them (the router refuses more)
    }
    return plan;
}

std::vector<std::size_t> gate_members(const std::vector<worker_spec>& plan,
                                      const worker_spec& spec) {
    std::vector<std::size_t> out;
    for (const auto& w : plan) {
        if (spec.gate_tokens > 0 && w.gate_tokens > 0 && w.worker() == spec.worker()) {
            out.push_back(static_cast<std::size_t>(w.slot));
        }
    }
    return out;
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

std::string format_worker_plan(const router& r, const std::vector<worker_spec>& plan) {
    const auto spares =
        std::count_if(plan.begin(), plan.end(), [](const worker_spec& w) { return w.spare; });
    std::string out =
        fmt::format("WORKERS ({} process{} with --workers{}; the manager runs no routes)\n",
                    plan.size(), plan.size() == 1 ? "" : "es",
                    spares == 0 ? "" : fmt::format(", {} of them started only when busy", spares));
    if (plan.empty()) {
        return out + "  none: no routes\n";
    }
    for (std::size_t i = 0; i < plan.size();) {
        // An autoscaled route: one line for all its workers, the spare ones included.
        std::size_t end = i;
        while (end < plan.size() && plan[end].routes == plan[i].routes &&
               plan[end].routes.size() == 1 && r.routes()[plan[i].routes.front()].options.shared) {
            ++end;
        }
        if (std::any_of(plan.begin() + static_cast<std::ptrdiff_t>(i),
                        plan.begin() + static_cast<std::ptrdiff_t>(end),
                        [](const worker_spec& w) { return w.spare; })) {
            int workers = 0;
            int fixed = 0;
            for (auto k = i; k < end; ++k) {
                workers += plan[k].handler_slot == 1 ? 1 : 0;
                fixed += plan[k].handler_slot == 1 && !plan[k].spare ? 1 : 0;
            }
            const auto slots = static_cast<int>(end - i) / workers;
            out += fmt::format("  {:<6} {}  (autoscaled: {} to {} workers{})\n",
                               slot_range(plan[i].slot, plan[end - 1].slot),
                               pattern_list(r, plan[i].routes), fixed, workers,
                               slots == 1 ? "" : fmt::format(" of {} handler slots", slots));
            i = end;
            continue;
        }
        // One line per run of processes of one worker that serve the same routes.
        end = i + 1;
        while (end < plan.size() && plan[end].worker() == plan[i].worker() &&
               plan[end].routes == plan[i].routes) {
            ++end;
        }
        const auto& first = plan[i];
        const auto& last = plan[end - 1];
        std::string note;
        if (first.gate_tokens > 0) {
            note = fmt::format(
                "  ({} priority{}; worker w{} runs {} handler{} at a time, highest "
                "priority first)",
                priority_name(first.priority),
                r.routes()[first.routes.front()].options.shared ? "" : ", not shared",
                first.worker(), first.gate_tokens, first.gate_tokens == 1 ? "" : "s");
        } else if (!r.routes()[first.routes.front()].options.shared) {
            note = "  (not shared)";
        } else if (first.handler_slot == 1 && end - i > 1) {
            note = fmt::format("  (one worker, {} handler slots)", end - i);
        } else if (first.handler_slot > 1) {
            note = fmt::format("  (handler slot{} {} of worker w{})", end - i > 1 ? "s" : "",
                               first.handler_slot == last.handler_slot
                                   ? std::to_string(first.handler_slot)
                                   : fmt::format("{}-{}", first.handler_slot, last.handler_slot),
                               first.worker());
        }
        out += fmt::format("  {:<6} {}{}\n", slot_range(first.slot, last.slot),
                           pattern_list(r, first.routes), note);
        i = end;
    }
    return out;
}

}  // namespace routemq::detail
