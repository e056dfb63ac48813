#include <gtest/gtest.h>

#include <routemq/errors.hpp>
#include <routemq/router.hpp>

namespace router_test {

// External linkage, so the handler's name can be found (dladdr).
void noop(routemq::context&) {}

}  // namespace router_test

using router_test::noop;

TEST(Router, RegistersWithOptions) {
    routemq::router r;
    r.on("sensors/{id}/data", &noop, {.qos = 1, .shared = true, .worker_count = 3});
    ASSERT_EQ(r.routes().size(), 1u);
    const auto& rt = r.routes()[0];
    EXPECT_EQ(rt.pattern.text(), "sensors/{id}/data");
    EXPECT_EQ(rt.pattern.filter(), "sensors/+/data");
    EXPECT_EQ(rt.options.qos, 1);
    EXPECT_TRUE(rt.options.shared);
    EXPECT_EQ(rt.options.worker_count, 3);
}

TEST(Router, NamesHandlers) {
    routemq::router r;
    r.on("a", &noop);
    r.on("b", [](routemq::context&) {});
    r.on("c", &noop, {.name = "custom"});
    EXPECT_EQ(r.routes()[0].handler_name, "router_test::noop");
    EXPECT_NE(r.routes()[1].handler_name.find("lambda"), std::string::npos);
    EXPECT_EQ(r.routes()[2].handler_name, "custom");
}

TEST(Router, RejectsBadOptionsNamingThePattern) {
    routemq::router r;
    EXPECT_THROW(r.on("a/{x}/{x}", &noop), routemq::pattern_error);
    try {
        r.on("q/bad", &noop, {.qos = 3});
        FAIL() << "qos 3 accepted";
    } catch (const routemq::route_error& e) {
        EXPECT_NE(std::string(e.what()).find("'q/bad'"), std::string::npos);
    }
    EXPECT_THROW(r.on("w/bad", &noop, {.shared = true, .worker_count = 0}), routemq::route_error);
    EXPECT_THROW(r.on("h/bad", routemq::handler{}), routemq::route_error);
    EXPECT_THROW(r.on("c/bad", &noop, {.shared = true, .concurrency = 0}), routemq::route_error);
    EXPECT_THROW(r.on("c/bad", &noop, {.shared = true, .concurrency = 257}), routemq::route_error);
    try {
        r.on("c/unshared", &noop, {.concurrency = 4});
        FAIL() << "concurrency without a share group accepted";
    } catch (const routemq::route_error& e) {
        EXPECT_NE(std::string(e.what()).find("needs shared = true"), std::string::npos) << e.what();
    }
    EXPECT_THROW(r.on("p/bad", &noop, {.pool = ""}), routemq::route_error);
    EXPECT_THROW(r.on("p/bad", &noop, {.pool = "a b"}), routemq::route_error);
    EXPECT_THROW(r.on("s/bad", &noop, {.shared = true, .min_workers = 3, .max_workers = 2}),
                 routemq::route_error);
    EXPECT_THROW(r.on("s/bad", &noop, {.shared = true, .max_workers = 257}), routemq::route_error);
    EXPECT_THROW(r.on("s/bad", &noop, {.shared = true, .min_workers = -1}), routemq::route_error);
    try {
        r.on("s/unshared", &noop, {.max_workers = 4});
        FAIL() << "autoscaling without a share group accepted";
    } catch (const routemq::route_error& e) {
        EXPECT_NE(std::string(e.what()).find("need shared = true"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(r.routes().empty());
}

TEST(Router, GroupsJoinPrefixesAndNest) {
    routemq::router r;
    auto g = r.group({.prefix = "sensors/"});
    g.on("{id}/data", &noop);
    g.on("/status", &noop);
    auto inner = g.group({.prefix = "/{id}/cfg"});
    inner.on("set", &noop);
    inner.on("", &noop);
    ASSERT_EQ(r.routes().size(), 4u);
    EXPECT_EQ(r.routes()[0].pattern.text(), "sensors/{id}/data");
    EXPECT_EQ(r.routes()[1].pattern.text(), "sensors/status");
    EXPECT_EQ(r.routes()[2].pattern.text(), "sensors/{id}/cfg/set");
    EXPECT_EQ(r.routes()[3].pattern.text(), "sensors/{id}/cfg");
}
