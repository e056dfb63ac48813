#include "pod/pod_plan.hpp"

#include <gtest/gtest.h>

#include "routemq/errors.hpp"

namespace {

void h(routemq::context&) {}

/// One process of a plan, flattened: its slot, worker, handler slot, routes, and whether its
/// worker is spare.
struct row {
    int slot = 0;
    int worker = 0;
    std::vector<std::size_t> routes{};
    int handler_slot = 1;
    bool spare = false;

    bool operator==(const row&) const = default;
    friend std::ostream& operator<<(std::ostream& os, const row& r) {
        os << "{w" << r.slot << " of worker " << r.worker << ", routes";
        for (auto i : r.routes) {
            os << ' ' << i;
        }
        return os << ", handler slot " << r.handler_slot << (r.spare ? ", spare}" : "}");
    }
};
using rows = std::vector<row>;

rows flat(const routemq::detail::pod_plan& plan) {
    rows out;
    for (const auto& w : plan.workers) {
        for (const auto* p : w.processes()) {
            out.push_back({p->slot, w.number, p->routes, p->handler_slot, w.spare});
        }
    }
    return out;
}

rows plan(const routemq::router& r, int worker_count,
          const routemq::detail::pool_selection& pools = {}) {
    return flat(routemq::detail::plan_pod(r, worker_count, pools));
}

}  // namespace

TEST(PodPlan, OneDedicatedWorkerPerRequiredWorker) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 3});
    r.on("local", &h);
    r.on("b/#", &h, {.shared = true, .worker_count = 2});
    EXPECT_EQ(plan(r, 0),
              (rows{{1, 1, {0}}, {2, 2, {0}}, {3, 3, {0}}, {4, 4, {2}}, {5, 5, {2}}, {6, 6, {1}}}));
    EXPECT_EQ(routemq::detail::unshared_routes(r), (std::vector<std::size_t>{1}));
}

TEST(PodPlan, OverrideGivesNWorkersServingEverySharedRoute) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 3});
    r.on("local", &h);
    r.on("b/#", &h, {.shared = true, .worker_count = 2});
    EXPECT_EQ(plan(r, 2), (rows{{1, 1, {0, 2}}, {2, 2, {0, 2}}, {3, 3, {1}}}));
    EXPECT_TRUE(routemq::detail::plan_pod(r, 2).groups.empty())
        << "no worker serves one shared route alone: nothing scales";
}

TEST(PodPlan, NonSharedRoutesShareOneWorkerOfTheirOwn) {
    routemq::router r;
    r.on("a", &h);
    r.on("b", &h);
    EXPECT_EQ(plan(r, 0), (rows{{1, 1, {0, 1}}}));
    EXPECT_EQ(plan(r, 4), (rows{{1, 1, {0, 1}}}));
    EXPECT_EQ(routemq::detail::unshared_routes(r), (std::vector<std::size_t>{0, 1}));
}

TEST(PodPlan, NoRoutesNoWorkers) {
    routemq::router r;
    const auto p = routemq::detail::plan_pod(r, 0);
    EXPECT_TRUE(p.workers.empty());
    EXPECT_EQ(p.process_count(), 0u);
    EXPECT_EQ(p.at(1).process, nullptr);
    EXPECT_EQ(routemq::detail::format_pod_plan(r, p),
              "WORKERS (0 workers, 0 processes with --workers; the manager runs no routes)\n"
              "  none: no routes\n");
}

TEST(PodPlan, PrintsWorkersProcessesAndRoutes) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 2});
    r.on("local", &h);
    EXPECT_EQ(routemq::detail::format_pod_plan(r, routemq::detail::plan_pod(r, 0)),
              "WORKERS (3 workers, 3 processes with --workers; the manager runs no routes)\n"
              "  worker 1    w1      a/{x}\n"
              "  worker 2    w2      a/{x}\n"
              "  worker 3    w3      local  (not shared)\n");
}

TEST(PodPlan, ConcurrencyGivesAWorkerOneProcessPerHandlerSlot) {
    routemq::router r;
    r.on("jobs/{id}", &h, {.shared = true, .worker_count = 2, .concurrency = 3});
    r.on("local", &h);
    const auto p = routemq::detail::plan_pod(r, 0);
    EXPECT_EQ(flat(p), (rows{{1, 1, {0}, 1},
                             {2, 1, {0}, 2},
                             {3, 1, {0}, 3},
                             {4, 2, {0}, 1},
                             {5, 2, {0}, 2},
                             {6, 2, {0}, 3},
                             {7, 3, {1}, 1}}));
    EXPECT_EQ(p.at(6).worker->number, 2);
    EXPECT_EQ(p.at(6).process->handler_slot, 3);
    EXPECT_EQ(routemq::detail::format_pod_plan(r, p),
              "WORKERS (3 workers, 7 processes with --workers; the manager runs no routes)\n"
              "  worker 1    w1-w3   jobs/{id}  (3 handler slots)\n"
              "  worker 2    w4-w6   jobs/{id}  (3 handler slots)\n"
              "  worker 3    w7      local  (not shared)\n");
}

TEST(PodPlan, ExtraSlotsOfAWorkerServeOnlyTheRoutesThatReachThem) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true});
    r.on("b/{x}", &h, {.shared = true, .concurrency = 4});
    r.on("c/{x}", &h, {.shared = true, .concurrency = 2});
    const auto p = routemq::detail::plan_pod(r, 1);
    EXPECT_EQ(flat(p),
              (rows{{1, 1, {0, 1, 2}, 1}, {2, 1, {1, 2}, 2}, {3, 1, {1}, 3}, {4, 1, {1}, 4}}));
    EXPECT_EQ(routemq::detail::format_pod_plan(r, p),
              "WORKERS (1 worker, 4 processes with --workers; the manager runs no routes)\n"
              "  worker 1    w1-w4   a/{x}, b/{x}, c/{x}  (4 handler slots)\n"
              "              w1      a/{x}, b/{x}, c/{x}\n"
              "              w2      b/{x}, c/{x}\n"
              "              w3-w4   b/{x}\n");
}

TEST(PodPlan, PoolsSelectTheRoutesPlanned) {
    routemq::router r;
    r.on("gpu/{id}", &h, {.shared = true, .worker_count = 2, .pool = "gpu"});
    r.on("mail/{id}", &h, {.shared = true, .pool = "email"});
    r.on("mail/admin", &h, {.pool = "email"});
    r.on("other/{id}", &h, {.shared = true});
    EXPECT_EQ(plan(r, 0, {"gpu"}), (rows{{1, 1, {0}}, {2, 2, {0}}}));
    EXPECT_EQ(plan(r, 0, {"email"}), (rows{{1, 1, {1}}, {2, 2, {2}}}));
    EXPECT_EQ(plan(r, 1, {"gpu", "default"}), (rows{{1, 1, {0, 3}}}));
    EXPECT_EQ(plan(r, 0).size(), 5u) << "no selection: every pool";
    EXPECT_EQ(routemq::detail::routes_in_pools(r, {"email"}), (std::vector<std::size_t>{1, 2}));
    EXPECT_NO_THROW(routemq::detail::check_pools(r, {"gpu", "email", "default"}));
    try {
        routemq::detail::check_pools(r, {"gpus"});
        FAIL() << "an unknown pool accepted";
    } catch (const routemq::config_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "WORKER_POOLS (or --pools): no route is in pool 'gpus'; the routes' pools are: "
                  "gpu, email, default");
    }
}

TEST(PodPlan, AnAutoscaledRouteReservesItsMaximumAndMarksWorkersPastItsMinimumSpare) {
    routemq::router r;
    r.on("jobs/{id}", &h, {.shared = true, .min_workers = 1, .max_workers = 3, .concurrency = 2});
    r.on("fixed", &h, {.shared = true, .worker_count = 2});
    const auto p = routemq::detail::plan_pod(r, 0);
    EXPECT_EQ(flat(p), (rows{{1, 1, {0}, 1, false},
                             {2, 1, {0}, 2, false},
                             {3, 2, {0}, 1, true},
                             {4, 2, {0}, 2, true},
                             {5, 3, {0}, 1, true},
                             {6, 3, {0}, 2, true},
                             {7, 4, {1}, 1, false},
                             {8, 5, {1}, 1, false}}));
    ASSERT_EQ(p.groups.size(), 2u);
    EXPECT_EQ(p.groups[0], (routemq::detail::scaling_group{
                               .route = 0, .workers = {1, 2, 3}, .range = {1, 3, true}}));
    EXPECT_EQ(p.groups[1], (routemq::detail::scaling_group{
                               .route = 1, .workers = {4, 5}, .range = {2, 2, false}}));
    EXPECT_EQ(routemq::detail::format_pod_plan(r, p),
              "WORKERS (5 workers, 8 processes with --workers, 2 of them started only when busy; "
              "the manager runs no routes)\n"
              "  workers 1-3 w1-w6   jobs/{id}  (autoscaled: 1 to 3 workers of 2 handler slots)\n"
              "  worker 4    w7      fixed\n"
              "  worker 5    w8      fixed\n");
    // --workers N: N workers serve every shared route; nothing scales.
    EXPECT_EQ(plan(r, 1), (rows{{1, 1, {0, 1}, 1}, {2, 1, {0}, 2}}));
}

TEST(PodPlan, TheSettingsDefaultsMakeEverySharedRouteWithoutItsOwnLimitsAutoscale) {
    routemq::router r;
    r.on("a", &h, {.shared = true, .worker_count = 5});
    r.on("b", &h, {.shared = true, .min_workers = 3});
    r.on("c", &h, {.shared = true, .max_workers = 1});
    r.on("local", &h);
    r.on("plain", &h, {.shared = true});
    using routemq::detail::route_workers;
    const routemq::detail::scaling_defaults off{1, 0};
    const routemq::detail::scaling_defaults on{2, 4};
    const auto range = [](const routemq::detail::worker_range& w) {
        return std::tuple(w.min, w.max, w.autoscaled);
    };
    EXPECT_EQ(range(route_workers(r.routes()[0].options, off)), std::tuple(5, 5, false));
    EXPECT_EQ(range(route_workers(r.routes()[0].options, on)), std::tuple(5, 5, false))
        << "worker_count is the floor, and a default max below it is raised to it";
    EXPECT_EQ(range(route_workers(r.routes()[1].options, off)), std::tuple(1, 1, false))
        << "min_workers alone does not make a route autoscale";
    EXPECT_EQ(range(route_workers(r.routes()[1].options, on)), std::tuple(3, 4, true));
    EXPECT_EQ(range(route_workers(r.routes()[2].options, on)), std::tuple(1, 1, false))
        << "the default min yields to the route's own max";
    EXPECT_EQ(range(route_workers(r.routes()[3].options, on)), std::tuple(1, 1, false))
        << "a route that is not shared never scales";
    EXPECT_EQ(range(route_workers(r.routes()[4].options, on)), std::tuple(2, 4, true))
        << "a shared route without limits of its own takes the defaults";
    EXPECT_EQ(routemq::detail::plan_pod(r, 0, {}, on).process_count(), 5u + 4 + 1 + 4 + 1);
}

TEST(PodPlan, AWorkerServingSeveralPrioritiesHasALaneOfProcessesPerPriorityAndOneGate) {
    routemq::router r;
    r.on("bulk/{id}", &h, {.shared = true, .concurrency = 2, .priority = routemq::priority::low});
    r.on("urgent/{id}", &h, {.shared = true, .priority = routemq::priority::high});
    r.on("plain/{id}", &h, {.shared = true});
    const auto p = routemq::detail::plan_pod(r, 1);
    ASSERT_EQ(p.workers.size(), 1u);
    const auto& w = p.workers.front();
    using routemq::priority;
    // Highest first: urgent, then plain, then bulk's two handler slots; two handler slots shared.
    ASSERT_EQ(w.lanes.size(), 3u);
    EXPECT_EQ(w.lanes[0], (routemq::detail::lane_plan{priority::high, {{1, 1, {1}}}}));
    EXPECT_EQ(w.lanes[1], (routemq::detail::lane_plan{priority::normal, {{2, 1, {2}}}}));
    EXPECT_EQ(w.lanes[2], (routemq::detail::lane_plan{priority::low, {{3, 1, {0}}, {4, 2, {0}}}}));
    EXPECT_EQ(w.gate_tokens, 2);
    EXPECT_EQ(p.gate_members(3), (std::vector<std::size_t>{1, 2, 3, 4}));
    EXPECT_EQ(p.at(4).lane->priority, priority::low);
    EXPECT_EQ(routemq::detail::format_pod_plan(r, p),
              "WORKERS (1 worker, 4 processes with --workers; the manager runs no routes)\n"
              "  worker 1    w1-w4   bulk/{id}, urgent/{id}, plain/{id}  (2 handler slots shared "
              "by 3 priorities, highest first)\n"
              "    high      w1      urgent/{id}\n"
              "    normal    w2      plain/{id}\n"
              "    low       w3-w4   bulk/{id}\n");
    // One route per worker (the plan without --workers N): one priority each, no gate.
    const auto own = routemq::detail::plan_pod(r, 0);
    for (const auto& x : own.workers) {
        EXPECT_EQ(x.gate_tokens, 0);
        EXPECT_EQ(x.lanes.size(), 1u);
        EXPECT_TRUE(own.gate_members(x.first_slot()).empty());
    }
}
