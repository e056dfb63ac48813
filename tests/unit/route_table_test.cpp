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
        "PATTERN            FILTER          SUBSCRIPTION               QOS  WORKERS  SLOTS  "
        "HANDLER\n"
        "sensors/{id}/data  sensors/+/data  $share/grp/sensors/+/data  1    3        1      "
        "route_table_test::handle_data\n"
        "alerts/#           alerts/#        alerts/#                   0    -        -      "
        "alerts\n";
    EXPECT_EQ(table, expected);
}
