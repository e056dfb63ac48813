#include "routing/route_table.hpp"

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
        "HANDLER\n"
        "sensors/{id}/data  sensors/+/data  $share/grp/sensors/+/data  1    3        1      "
        "default  "
        "route_table_test::handle_data\n"
        "alerts/#           alerts/#        alerts/#                   0    -        -      "
        "default  "
        "alerts\n";
    EXPECT_EQ(table, expected);
}

TEST(RouteTable, ShowsPoolsAndOnlyTheSelectedOnes) {
    routemq::router r;
    r.on("gpu/{id}", &handle_data, {.shared = true, .concurrency = 2, .pool = "gpu", .name = "g"});
    r.on("mail/{id}", &handle_data, {.shared = true, .pool = "email", .name = "m"});
    const auto all = routemq::detail::format_route_table(r, "grp");
    EXPECT_NE(all.find("POOL"), std::string::npos) << all;
    EXPECT_NE(all.find("2      gpu    g\n"), std::string::npos) << all;
    EXPECT_NE(all.find("1      email  m\n"), std::string::npos) << all;
    const auto gpu = routemq::detail::format_route_table(r, "grp", {"gpu"});
    EXPECT_EQ(gpu.find("mail/{id}"), std::string::npos) << gpu;
    EXPECT_NE(gpu.find("gpu/{id}"), std::string::npos) << gpu;
}
