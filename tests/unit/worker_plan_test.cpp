#include "runtime/worker_plan.hpp"

#include <gtest/gtest.h>

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
    r.on("a", &h, {.worker_count = 5});  // worker_count without shared means nothing
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
              "WORKERS (3 with --workers; the manager runs no routes)\n"
              "  w1     a/{x}\n"
              "  w2     a/{x}\n"
              "  w3     local  (not shared)\n");
}
