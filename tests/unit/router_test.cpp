#include <gtest/gtest.h>

#include <routemq/errors.hpp>
#include <routemq/router.hpp>

namespace router_test {

// External linkage, so the handler's name can be found (dladdr).
void noop(routemq::context&) {}

}  // namespace router_test

namespace {

// Internal linkage: a local symbol, in the symbol table but not among the exported ones.
void unexported(routemq::context&) {}
void overloaded(routemq::context&) {}
[[maybe_unused]] void overloaded(int) {}

}  // namespace

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

TEST(Router, NamesHandlersInAnAnonymousNamespace) {
    routemq::router r;
    r.on("a", &unexported);
    r.on("b", static_cast<void (*)(routemq::context&)>(&overloaded));
    EXPECT_EQ(r.routes()[0].handler_name, "(anonymous namespace)::unexported");
    EXPECT_EQ(r.routes()[1].handler_name, "(anonymous namespace)::overloaded");
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
        EXPECT_NE(std::string(e.what()).find("max_workers 4 needs shared = true"),
                  std::string::npos)
            << e.what();
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

namespace {

/// The message of the route_error that registering with `add` throws; empty when none is thrown.
template <class Add>
std::string refusal(Add add) {
    try {
        add();
    } catch (const routemq::route_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST(Router, RefusesOneFilterRegisteredSharedAndNotShared) {
    routemq::router r;
    auto sensors = r.group({.prefix = "sensors"});
    sensors.on("{id}/data", &noop, {.shared = true});
    const auto message = refusal([&] { r.on("sensors/+/data", &noop); });
    EXPECT_NE(message.find("routes 'sensors/{id}/data' (shared) and 'sensors/+/data' (not shared) "
                           "have the same MQTT filter 'sensors/+/data'"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("every message would run twice"), std::string::npos) << message;
    EXPECT_NE(message.find("Keep one of them"), std::string::npos) << message;
    EXPECT_NE(message.find("give them different filters"), std::string::npos) << message;

    // The other way round, and the same text twice.
    r.on("alerts/{id}", &noop);
    const auto twice = refusal([&] { r.on("alerts/{id}", &noop, {.shared = true}); });
    EXPECT_NE(twice.find("invalid route 'alerts/{id}': route 'alerts/{id}' is registered twice, "
                         "once shared and once not"),
              std::string::npos)
        << twice;
    EXPECT_NE(twice.find("give them different filters"), std::string::npos) << twice;
    EXPECT_EQ(r.routes().size(), 2u);
}

TEST(Router, RefusesTheSameFilterTwiceEvenWithAllowOverlap) {
    routemq::router r;
    r.on("a/{x}", &noop);
    const auto message = refusal([&] { r.on("a/+", &noop); });
    EXPECT_NE(message.find("routes 'a/{x}' and 'a/+' have the same MQTT filter 'a/+' (both not "
                           "shared)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("every message would run both handlers"), std::string::npos) << message;
    EXPECT_NE(message.find("Register one route whose handler does both (or put the common part in "
                           "middleware)"),
              std::string::npos)
        << message;

    // allow_overlap is for different filters that overlap; the same filter twice is refused.
    r.on("j/{id}", &noop, {.shared = true, .allow_overlap = true});
    const auto shared = refusal(
        [&] { r.on("j/{id}", &noop, {.shared = true, .worker_count = 2, .allow_overlap = true}); });
    EXPECT_NE(shared.find("route 'j/{id}' is registered twice, both shared: every message would "
                          "run both handlers, or, with --workers, only the one"),
              std::string::npos)
        << shared;
    EXPECT_NE(shared.find("Register one route whose handler does both"), std::string::npos)
        << shared;
    EXPECT_NE(shared.find("allow_overlap does not allow this"), std::string::npos) << shared;
    EXPECT_EQ(r.routes().size(), 2u);

    // Different filters that overlap are still fine, with or without a share group.
    r.on("a/#", &noop, {.allow_overlap = true});
    r.on("a/b", &noop, {.shared = true});
    r.on("j/+/#", &noop);
    EXPECT_EQ(r.routes().size(), 5u);
}

TEST(Router, RefusesWorkerOptionsOnARouteThatIsNotShared) {
    routemq::router r;
    const auto workers = refusal([&] { r.on("w/unshared", &noop, {.worker_count = 3}); });
    EXPECT_NE(workers.find("invalid route 'w/unshared': worker_count 3 needs shared = true"),
              std::string::npos)
        << workers;
    EXPECT_NE(workers.find("add .shared = true for it to apply"), std::string::npos) << workers;

    const auto slots = refusal([&] { r.on("c/unshared", &noop, {.concurrency = 4}); });
    EXPECT_NE(slots.find("invalid route 'c/unshared': concurrency 4 needs shared = true"),
              std::string::npos)
        << slots;
    EXPECT_NE(slots.find("add .shared = true for it to apply"), std::string::npos) << slots;

    const auto least = refusal([&] { r.on("s/unshared", &noop, {.min_workers = 2}); });
    EXPECT_NE(least.find("invalid route 's/unshared': min_workers 2 needs shared = true"),
              std::string::npos)
        << least;
    EXPECT_NE(least.find("add .shared = true for autoscaling to apply"), std::string::npos)
        << least;
    const auto range =
        refusal([&] { r.on("s/unshared", &noop, {.min_workers = 1, .max_workers = 4}); });
    EXPECT_NE(range.find("min_workers 1 and max_workers 4 need shared = true"), std::string::npos)
        << range;
    EXPECT_TRUE(r.routes().empty());

    // Their defaults, said out loud, are fine.
    r.on("d/unshared", &noop,
         {.worker_count = 1, .min_workers = 0, .max_workers = 0, .concurrency = 1});
    r.on("d/shared", &noop,
         {.shared = true, .worker_count = 2, .min_workers = 1, .max_workers = 4, .concurrency = 2});
    EXPECT_EQ(r.routes().size(), 2u);
}
