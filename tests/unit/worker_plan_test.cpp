#include "runtime/worker_plan.hpp"

#include <gtest/gtest.h>

#include "routemq/errors.hpp"

namespace {

void h(routemq::context&) {}

using plan = std::vector<routemq::detail::worker_spec>;

}  // namespace

TEST(WorkerPlan, OneDedicatedProcessPerRequiredWorker) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 3});
    r.on("local", &h);
    r.on("b/#", &h, {.shared = true, .worker_count = 2});
    const plan expected = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {2}}, {5, {2}}, {6, {1}}};
    EXPECT_EQ(routemq::detail::plan_workers(r, 0), expected);
    EXPECT_EQ(routemq::detail::unshared_routes(r), (std::vector<std::size_t>{1}));
}

TEST(WorkerPlan, OverrideGivesNProcessesServingEverySharedRoute) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 3});
    r.on("local", &h);
    r.on("b/#", &h, {.shared = true, .worker_count = 2});
    const plan expected = {{1, {0, 2}}, {2, {0, 2}}, {3, {1}}};
    EXPECT_EQ(routemq::detail::plan_workers(r, 2), expected);
}

TEST(WorkerPlan, NonSharedRoutesShareOneWorkerOfTheirOwn) {
    routemq::router r;
    r.on("a", &h);
    r.on("b", &h);
    const plan expected = {{1, {0, 1}}};
    EXPECT_EQ(routemq::detail::plan_workers(r, 0), expected);
    EXPECT_EQ(routemq::detail::plan_workers(r, 4), expected);
    EXPECT_EQ(routemq::detail::unshared_routes(r), (std::vector<std::size_t>{0, 1}));
}

TEST(WorkerPlan, NoRoutesNoWorkers) {
    routemq::router r;
    EXPECT_TRUE(routemq::detail::plan_workers(r, 0).empty());
    EXPECT_TRUE(routemq::detail::unshared_routes(r).empty());
}

TEST(WorkerPlan, PrintsSlotsAndRoutes) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true, .worker_count = 2});
    r.on("local", &h);
    EXPECT_EQ(routemq::detail::format_worker_plan(r, routemq::detail::plan_workers(r, 0)),
              "WORKERS (3 processes with --workers; the manager runs no routes)\n"
              "  w1     a/{x}\n"
              "  w2     a/{x}\n"
              "  w3     local  (not shared)\n");
}

TEST(WorkerPlan, ConcurrencyGivesAWorkerOneProcessPerHandlerSlot) {
    routemq::router r;
    r.on("jobs/{id}", &h, {.shared = true, .worker_count = 2, .concurrency = 3});
    r.on("local", &h);
    const plan expected = {{1, {0}, 1}, {2, {0}, 2}, {3, {0}, 3}, {4, {0}, 1},
                           {5, {0}, 2}, {6, {0}, 3}, {7, {1}, 1}};
    EXPECT_EQ(routemq::detail::plan_workers(r, 0), expected);
    EXPECT_EQ(expected[5].worker(), 4);
    EXPECT_EQ(routemq::detail::format_worker_plan(r, expected),
              "WORKERS (7 processes with --workers; the manager runs no routes)\n"
              "  w1-w3  jobs/{id}  (one worker, 3 handler slots)\n"
              "  w4-w6  jobs/{id}  (one worker, 3 handler slots)\n"
              "  w7     local  (not shared)\n");
}

TEST(WorkerPlan, ExtraSlotsOfAWorkerServeOnlyTheRoutesThatReachThem) {
    routemq::router r;
    r.on("a/{x}", &h, {.shared = true});
    r.on("b/{x}", &h, {.shared = true, .concurrency = 4});
    r.on("c/{x}", &h, {.shared = true, .concurrency = 2});
    const plan expected = {{1, {0, 1, 2}, 1}, {2, {1, 2}, 2}, {3, {1}, 3}, {4, {1}, 4}};
    EXPECT_EQ(routemq::detail::plan_workers(r, 1), expected);
    EXPECT_EQ(routemq::detail::format_worker_plan(r, expected),
              "WORKERS (4 processes with --workers; the manager runs no routes)\n"
              "  w1     a/{x}, b/{x}, c/{x}\n"
              "  w2     b/{x}, c/{x}  (handler slot 2 of worker w1)\n"
              "  w3-w4  b/{x}  (handler slots 3-4 of worker w1)\n");
}

TEST(WorkerPlan, PoolsSelectTheRoutesPlanned) {
    routemq::router r;
    r.on("gpu/{id}", &h, {.shared = true, .worker_count = 2, .pool = "gpu"});
    r.on("mail/{id}", &h, {.shared = true, .pool = "email"});
    r.on("mail/admin", &h, {.pool = "email"});
    r.on("other/{id}", &h, {.shared = true});
    EXPECT_EQ(routemq::detail::plan_workers(r, 0, {"gpu"}), (plan{{1, {0}}, {2, {0}}}));
    EXPECT_EQ(routemq::detail::plan_workers(r, 0, {"email"}), (plan{{1, {1}}, {2, {2}}}));
    EXPECT_EQ(routemq::detail::plan_workers(r, 1, {"gpu", "default"}), (plan{{1, {0, 3}}}));
    EXPECT_EQ(routemq::detail::plan_workers(r, 0).size(), 5u) << "no selection: every pool";
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

TEST(WorkerPlan, AnAutoscaledRouteReservesItsMaximumAndMarksWorkersPastItsMinimumSpare) {
    routemq::router r;
    r.on("jobs/{id}", &h, {.shared = true, .min_workers = 1, .max_workers = 3, .concurrency = 2});
    r.on("fixed", &h, {.shared = true, .worker_count = 2});
    const plan expected = {{1, {0}, 1, false}, {2, {0}, 2, false}, {3, {0}, 1, true},
                           {4, {0}, 2, true},  {5, {0}, 1, true},  {6, {0}, 2, true},
                           {7, {1}, 1, false}, {8, {1}, 1, false}};
    EXPECT_EQ(routemq::detail::plan_workers(r, 0), expected);
    EXPECT_EQ(routemq::detail::format_worker_plan(r, routemq::detail::plan_workers(r, 0)),
              "WORKERS (8 processes with --workers, 4 of them started only when busy; the "
              "manager runs no routes)\n"
              "  w1-w6  jobs/{id}  (autoscaled: 1 to 3 workers of 2 handler slots)\n"
              "  w7     fixed\n"
              "  w8     fixed\n");
    // --workers N: N workers serve every shared route; nothing scales.
    EXPECT_EQ(routemq::detail::plan_workers(r, 1), (plan{{1, {0, 1}, 1}, {2, {0}, 2}}));
}

TEST(WorkerPlan, TheSettingsDefaultsMakeEverySharedRouteWithoutItsOwnLimitsAutoscale) {
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
    EXPECT_EQ(routemq::detail::plan_workers(r, 0, {}, on).size(), 5u + 4 + 1 + 4 + 1);
}

TEST(WorkerPlan, AWorkerServingSeveralPrioritiesHasALaneOfProcessesPerPriorityAndOneGate) {
    routemq::router r;
    r.on("bulk/{id}", &h, {.shared = true, .concurrency = 2, .priority = routemq::priority::low});
    r.on("urgent/{id}", &h, {.shared = true, .priority = routemq::priority::high});
    r.on("plain/{id}", &h, {.shared = true});
    const auto got = routemq::detail::plan_workers(r, 1);
    ASSERT_EQ(got.size(), 4u);
    using routemq::priority;
    // Highest first: urgent, then plain, then bulk's two handler slots; two handler slots shared.
    EXPECT_EQ(got[0].routes, (std::vector<std::size_t>{1}));
    EXPECT_EQ(got[0].priority, priority::high);
    EXPECT_EQ(got[1].routes, (std::vector<std::size_t>{2}));
    EXPECT_EQ(got[1].priority, priority::normal);
    EXPECT_EQ(got[2].routes, (std::vector<std::size_t>{0}));
    EXPECT_EQ(got[3].routes, (std::vector<std::size_t>{0}));
    EXPECT_EQ(got[3].handler_slot, 2);
    EXPECT_EQ(got[3].priority, priority::low);
    for (const auto& w : got) {
        EXPECT_EQ(w.gate_tokens, 2);
        EXPECT_EQ(w.worker(), 1);
    }
    EXPECT_EQ(routemq::detail::gate_members(got, got[2]), (std::vector<std::size_t>{1, 2, 3, 4}));
    // One route per worker (the plan without --workers N): one priority each, no gate.
    for (const auto& w : routemq::detail::plan_workers(r, 0)) {
        EXPECT_EQ(w.gate_tokens, 0);
        EXPECT_TRUE(routemq::detail::gate_members(routemq::detail::plan_workers(r, 0), w).empty());
    }
}
