#include "cli/route_table.hpp"

#include <gtest/gtest.h>

namespace route_table_test {
void handle_data(routemq::context&) {}
}  // namespace route_table_test

using route_table_test::handle_data;

TEST(RouteTable, PrintsEveryColumn) {
    routemq::router r;
    r.on("sensors/{id}/data", &handle_data, {.qos = 1, .shared = true, .worker_count = 3});
    r.on("alerts/#", &handle_data, {.name = "alerts"});
    const auto table = routemq::detail::format_route_table(r, "grp");
    const std::string expected =
        "PATTERN            FILTER          SUBSCRIPTION               QOS  WORKERS  SLOTS  POOL   "
        "  "
        "PRIORITY  HANDLER\n"
        "sensors/{id}/data  sensors/+/data  $share/grp/sensors/+/data  1    3        1      "
        "default  "
        "normal    route_table_test::handle_data\n"
        "alerts/#           alerts/#        alerts/#                   0    -        -      "
        "default  "
        "normal    alerts\n";
    EXPECT_EQ(table, expected);
}

TEST(RouteTable, ShowsPoolsAndOnlyTheSelectedOnes) {
    routemq::router r;
    r.on("gpu/{id}", &handle_data, {.shared = true, .concurrency = 2, .pool = "gpu", .name = "g"});
    r.on("mail/{id}", &handle_data, {.shared = true, .pool = "email", .name = "m"});
    const auto all = routemq::detail::format_route_table(r, "grp");
    EXPECT_NE(all.find("POOL"), std::string::npos) << all;
    EXPECT_NE(all.find("2      gpu    normal    g\n"), std::string::npos) << all;
    EXPECT_NE(all.find("1      email  normal    m\n"), std::string::npos) << all;
    const auto gpu = routemq::detail::format_route_table(r, "grp", {"gpu"});
    EXPECT_EQ(gpu.find("mail/{id}"), std::string::npos) << gpu;
    EXPECT_NE(gpu.find("gpu/{id}"), std::string::npos) << gpu;
}

TEST(RouteTable, ShowsTheWorkerRangeOfAnAutoscaledRouteAndThePriority) {
    routemq::router r;
    r.on("jobs/{id}", &handle_data,
         {.shared = true, .min_workers = 2, .max_workers = 6, .priority = routemq::priority::high});
    r.on("fixed/{id}", &handle_data, {.shared = true, .worker_count = 3});
    const auto table = routemq::detail::format_route_table(r, "grp");
    EXPECT_NE(table.find("2-6      1      default  high"), std::string::npos) << table;
    EXPECT_NE(table.find("3        1      default  normal"), std::string::npos) << table;
    const auto defaults = routemq::detail::format_route_table(r, "grp", {}, {1, 4});
    EXPECT_NE(defaults.find("3-4      1      default  normal"), std::string::npos)
        << "worker_count is the floor of a route autoscaled by the defaults\n"
        << defaults;
}
