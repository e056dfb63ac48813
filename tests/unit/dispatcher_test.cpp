#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>
#include <routemq/router.hpp>
#include <stdexcept>

#include "routing/overlaps.hpp"
#include "support/recording_publisher.hpp"
#include "support/test_dispatcher.hpp"

namespace {

struct fixture {
    routemq::router r;
    std::map<std::string, int> calls;
    test::recording_publisher out;

    routemq::handler count(std::string name) {
        return [this, name](routemq::context&) { ++calls[name]; };
    }
};

routemq::message msg(std::string topic, std::vector<int> ids = {}, std::string payload = "") {
    routemq::message m;
    m.topic = std::move(topic);
    m.payload = std::move(payload);
    m.subscription_ids = std::move(ids);
    return m;
}

}  // namespace

TEST(Dispatcher, GroupsRoutesBySubscriptionTopic) {
    fixture f;
    f.r.on("s/{id}/data", f.count("a"), {.qos = 0, .shared = true});
    f.r.on("s/+/data", f.count("b"), {.qos = 2, .shared = true});
    f.r.on("s/{id}/data", f.count("c"), {.qos = 1});
    test::test_dispatcher d(f.r, "grp", "main");
    ASSERT_EQ(d.subscriptions().size(), 2u);
    EXPECT_EQ(d.subscriptions()[0].topic, "$share/grp/s/+/data");
    EXPECT_EQ(d.subscriptions()[0].qos, 2);
    EXPECT_EQ(d.subscriptions()[0].id, 1);
    EXPECT_EQ(d.subscriptions()[0].routes, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(d.subscriptions()[1].topic, "s/+/data");
    EXPECT_EQ(d.subscriptions()[1].id, 2);
}

TEST(Dispatcher, SubscriptionIdsSelectExactlyTheirRoutes) {
    fixture f;
    f.r.on("ov/+/x", f.count("plus"), {.shared = true});
    f.r.on("ov/#", f.count("hash"), {.shared = true});
    f.r.on("ov/a/+", f.count("direct"));
    test::test_dispatcher d(f.r, "g", "main");
    // The broker sends one copy per matching subscription, each with its own identifier.
    d.dispatch(msg("ov/a/x", {1}), f.out);
    d.dispatch(msg("ov/a/x", {2}), f.out);
    d.dispatch(msg("ov/a/x", {3}), f.out);
    EXPECT_EQ(f.calls, (std::map<std::string, int>{{"plus", 1}, {"hash", 1}, {"direct", 1}}));
    // One copy carrying several identifiers (allowed by MQTT 5) runs each route once.
    d.dispatch(msg("ov/a/x", {3, 2, 3}), f.out);
    EXPECT_EQ(f.calls, (std::map<std::string, int>{{"plus", 1}, {"hash", 2}, {"direct", 2}}));
}

TEST(Dispatcher, WithoutIdsMatchesLocallyOncePerRoute) {
    fixture f;
    f.r.on("ov/+/x", f.count("plus"));
    f.r.on("ov/#", f.count("hash"));
    f.r.on("other", f.count("other"));
    test::test_dispatcher d(f.r, "g", "main");
    d.dispatch(msg("ov/a/x"), f.out);
    EXPECT_EQ(f.calls, (std::map<std::string, int>{{"plus", 1}, {"hash", 1}}));
    EXPECT_EQ(d.counts().handled, 2u);
}

TEST(Dispatcher, StripsSharePrefix) {
    fixture f;
    f.r.on("s/{id}", [&](routemq::context& ctx) { f.calls[std::string(ctx.param("id"))]++; });
    test::test_dispatcher d(f.r, "g", "main");
    d.dispatch(msg("$share/g/s/7"), f.out);
    EXPECT_EQ(f.calls["7"], 1);
}

TEST(Dispatcher, UnknownIdAndUnmatchedTopicAreCountedNotRun) {
    fixture f;
    f.r.on("a", f.count("a"));
    test::test_dispatcher d(f.r, "g", "main");
    d.dispatch(msg("a", {9}), f.out);
    d.dispatch(msg("zzz"), f.out);
    EXPECT_TRUE(f.calls.empty());
    EXPECT_EQ(d.counts().no_route_total, 2u);
    EXPECT_EQ(d.counts().received_total, 2u);
}

TEST(Dispatcher, SurvivesHandlerExceptionsAndBadJson) {
    fixture f;
    f.r.on("throws", [](routemq::context&) { throw std::runtime_error("boom"); });
    f.r.on("throws-int", [](routemq::context&) { throw 42; });
    f.r.on("json", [](routemq::context& ctx) { (void)ctx.json(); });
    test::test_dispatcher d(f.r, "g", "main");
    d.dispatch(msg("throws"), f.out);
    d.dispatch(msg("throws-int"), f.out);
    d.dispatch(msg("json", {}, "{not json"), f.out);
    d.dispatch(msg("json", {}, R"({"ok":true})"), f.out);
    EXPECT_EQ(d.counts().handler_error, 2u);
    EXPECT_EQ(d.counts().bad_payload, 1u);
    EXPECT_EQ(d.counts().handled, 1u);
}

TEST(Dispatcher, ContextCarriesMessageAndPublishes) {
    fixture f;
    f.r.on("dev/{id}/cmd", [](routemq::context& ctx) {
        EXPECT_EQ(ctx.topic(), "dev/5/cmd");
        EXPECT_EQ(ctx.pattern(), "dev/{id}/cmd");
        EXPECT_EQ(ctx.qos(), 1);
        EXPECT_TRUE(ctx.retain());
        EXPECT_EQ(ctx.process_name(), "w2");
        ASSERT_EQ(ctx.user_properties().size(), 1u);
        EXPECT_EQ(ctx.user_properties()[0].first, "trace");
        EXPECT_EQ(ctx.json()["n"], 3);
        ctx.publish("dev/5/ack", nlohmann::json{{"n", 3}}, 1);
    });
    test::test_dispatcher d(f.r, "g", "w2");
    auto m = msg("dev/5/cmd", {}, R"({"n":3})");
    m.qos = 1;
    m.retain = true;
    m.user_properties = {{"trace", "abc"}};
    d.dispatch(m, f.out);
    ASSERT_EQ(f.out.messages.size(), 1u);
    EXPECT_EQ(f.out.messages[0].topic, "dev/5/ack");
    EXPECT_EQ(f.out.messages[0].payload, R"({"n":3})");
    EXPECT_EQ(f.out.messages[0].qos, 1);
}

TEST(Dispatcher, WarnsAboutOverlapsOnceForEachRouteUnlessIntended) {
    fixture f;
    f.r.on("ov/+/x", f.count("a"));
    f.r.on("ov/#", f.count("b"));
    f.r.on("ov/a/+", f.count("c"));
    f.r.on("other/x", f.count("d"));
    f.r.on("other/#", f.count("e"), {.allow_overlap = true});
    auto warnings = routemq::detail::overlap_warnings(f.r, routemq::detail::every_route(f.r));
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_NE(warnings[0].find("route 'ov/+/x' overlaps 'ov/#', 'ov/a/+'"), std::string::npos)
        << warnings[0];
    EXPECT_NE(warnings[1].find("route 'ov/#' overlaps 'ov/a/+'"), std::string::npos) << warnings[1];
}

TEST(Dispatcher, Mqtt311WarningNamesTheBrokerBehaviour) {
    fixture f;
    f.r.on("ov/+/x", f.count("a"));
    f.r.on("ov/#", f.count("b"), {.allow_overlap = true});
    f.r.on("solo", f.count("c"));
    const auto all = routemq::detail::every_route(f.r);
    const auto line = routemq::detail::duplicate_delivery_warning(f.r, all, "g");
    EXPECT_NE(line.find("'ov/+/x' and 'ov/#'"), std::string::npos) << line;
    EXPECT_NE(line.find("allow_duplicate_messages"), std::string::npos) << line;
    EXPECT_TRUE(routemq::detail::duplicate_delivery_warning(f.r, {2}, "g").empty());
}

TEST(Dispatcher, NoLocalIsPlannedPerSubscriptionAndMustAgree) {
    fixture f;
    f.r.on("all/#", f.count("a"), {.no_local = true});
    f.r.on("x/+", f.count("b"));
    auto plan = routemq::detail::plan_subscriptions(f.r, {0, 1}, "g");
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_TRUE(plan[0].no_local);
    EXPECT_FALSE(plan[1].no_local);
    f.r.on("all/#", f.count("c"));
    EXPECT_THROW(routemq::detail::plan_subscriptions(f.r, {0, 2}, "g"), routemq::route_error);
    EXPECT_THROW(f.r.on("s/#", f.count("d"), {.shared = true, .no_local = true}),
                 routemq::route_error);
}

TEST(Dispatcher, WithoutIdsRunsMatchingRoutesInRegistrationOrder) {
    fixture f;
    std::vector<std::string> order;
    f.r.on("t/#", [&](routemq::context&) { order.push_back("hash"); });
    f.r.on("t/{a}/{b}", [&](routemq::context& ctx) {
        order.push_back(std::string(ctx.param("a")) + std::string(ctx.param("b")));
    });
    f.r.on("t/+/y", [&](routemq::context&) { order.push_back("plus"); });
    f.r.on("#", [&](routemq::context&) { order.push_back("all"); });
    test::test_dispatcher d(f.r);
    d.dispatch(msg("t/x/y"), f.out);
    d.dispatch(msg("$SYS/broker/uptime"), f.out);  // '#' does not match '$' topics (MQTT)
    EXPECT_EQ(order, (std::vector<std::string>{"hash", "xy", "plus", "all"}));
    EXPECT_EQ(d.counts().no_route_total, 1u);
}
