#pragma once

// What the snippets in docs/ may use without defining it: the public API, routemq::testing and
// GoogleTest (docs/testing.md), and the names of the example application they refer to (declared
// only; the snippets are compiled, not linked). A snippet's own #include of these is then a no-op.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <routemq/routemq.hpp>
#include <routemq/testing.hpp>
#include <string>

#include "routers/routes.hpp"

struct sensor_controller {
    static void process_data(routemq::context& ctx);
};
struct device_controller {
    static void status(routemq::context& ctx);
};
struct order_book {
    void place(routemq::context& ctx);
};
namespace orders {
void place(routemq::context& ctx);
}
routemq::middleware log_requests();
routemq::middleware json_required();
