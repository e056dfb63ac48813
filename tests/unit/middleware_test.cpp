#include <gtest/gtest.h>

#include <routemq/errors.hpp>
#include <routemq/router.hpp>
#include <string>
#include <vector>

#include "support/recording_publisher.hpp"
#include "support/test_dispatcher.hpp"

namespace {

routemq::middleware tag(std::vector<std::string>& trace, std::string name) {
    return [&trace, name](routemq::context& ctx, const routemq::handler& next) {
        trace.push_back(name + ">");
        next(ctx);
        trace.push_back("<" + name);
    };
}

void deliver(const routemq::router& r, const std::string& topic, const std::string& payload = "") {
    test::test_dispatcher d(r, "g", "main");
    test::recording_publisher out;
    routemq::message m;
    m.topic = topic;
    m.payload = payload;
    d.dispatch(m, out);
}

}  // namespace

TEST(Middleware, GroupWrapsRouteAndFirstListedIsOutermost) {
    std::vector<std::string> trace;
    routemq::router r;
    auto outer = r.group({.prefix = "a", .middleware = {tag(trace, "g1"), tag(trace, "g2")}});
    auto inner = outer.group({.prefix = "b", .middleware = {tag(trace, "n1")}});
    inner.on("c", [&](routemq::context&) { trace.push_back("handler"); },
             {.middleware = {tag(trace, "r1"), tag(trace, "r2")}});
    deliver(r, "a/b/c");
    const std::vector<std::string> expected = {"g1>", "g2>", "n1>", "r1>", "r2>", "handler",
                                               "<r2", "<r1", "<n1", "<g2", "<g1"};
    EXPECT_EQ(trace, expected);
}

TEST(Middleware, NotCallingNextShortCircuits) {
    std::vector<std::string> trace;
    routemq::router r;
    auto stop = [&](routemq::context&, const routemq::handler&) { trace.push_back("stop"); };
    r.on("x", [&](routemq::context&) { trace.push_back("handler"); },
         {.middleware = {tag(trace, "outer"), stop, tag(trace, "inner")}});
    deliver(r, "x");
    const std::vector<std::string> expected = {"outer>", "stop", "<outer"};
    EXPECT_EQ(trace, expected);
}

TEST(Middleware, SeesParamsAndCanRejectPayload) {
    routemq::router r;
    bool handled = false;
    auto require_digits = [](routemq::context& ctx, const routemq::handler& next) {
        if (ctx.param("id").find_first_not_of("0123456789") != std::string_view::npos) {
            throw routemq::payload_error("id must be digits");
        }
        next(ctx);
    };
    r.on("d/{id}", [&](routemq::context&) { handled = true; }, {.middleware = {require_digits}});
    test::test_dispatcher d(r, "g", "main");
    test::recording_publisher out;
    routemq::message m;
    m.topic = "d/abc";
    d.dispatch(m, out);
    EXPECT_FALSE(handled);
    EXPECT_EQ(d.counts().bad_payload, 1u);
    m.topic = "d/42";
    d.dispatch(m, out);
    EXPECT_TRUE(handled);
    EXPECT_EQ(d.counts().handled, 1u);
}
