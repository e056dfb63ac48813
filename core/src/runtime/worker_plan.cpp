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
                                      const pool_selection& pools) {
    std::vector<std::size_t> shared;
    for (auto i : routes_in_pools(r, pools)) {
        if (r.routes()[i].options.shared) {
            shared.push_back(i);
        }
    }
    std::vector<worker_spec> plan;
    int slot = 1;
    // One worker serving `routes`: a process per handler slot of its most concurrent route.
    const auto add_worker = [&](const std::vector<std::size_t>& routes) {
        int most = 1;
        for (auto index : routes) {
            most = std::max(most, r.routes()[index].options.concurrency);
        }
        for (int k = 1; k <= most; ++k) {
            std::vector<std::size_t> mine;
            for (auto index : routes) {
                if (r.routes()[index].options.concurrency >= k) {
                    mine.push_back(index);
                }
            }
            plan.push_back({slot++, std::move(mine), k});
        }
    };
    if (!shared.empty() && worker_count > 0) {
        for (int n = 0; n < worker_count; ++n) {
            add_worker(shared);
        }
    } else {
        for (auto index : shared) {
            for (int n = 0; n < r.routes()[index].options.worker_count; ++n) {
                add_worker({index});
            }
        }
    }
    if (auto unshared = unshared_routes(r, pools); !unshared.empty()) {
        add_worker(unshared);  // concurrency is 1 on them (the router refuses more)
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

std::string format_worker_plan(const router& r, const std::vector<worker_spec>& plan) {
    std::string out =
        fmt::format("WORKERS ({} process{} with --workers; the manager runs no routes)\n",
                    plan.size(), plan.size() == 1 ? "" : "es");
    if (plan.empty()) {
        return out + "  none: no routes\n";
    }
    // One line per run of processes of one worker that serve the same routes.
    for (std::size_t i = 0; i < plan.size();) {
        std::size_t end = i + 1;
        while (end < plan.size() && plan[end].worker() == plan[i].worker() &&
               plan[end].routes == plan[i].routes) {
            ++end;
        }
        const auto& first = plan[i];
        const auto& last = plan[end - 1];
        std::string note;
        if (!r.routes()[first.routes.front()].options.shared) {
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
