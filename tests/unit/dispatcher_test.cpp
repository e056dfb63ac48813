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
    // One filter twice (shared, or shared and not) is refused at registration (router_test), so
    // each route has a subscription of its own: overlapping filters, shared and not.
    f.r.on("s/{id}/data", f.count("a"), {.qos = 0, .shared = true});
    f.r.on("s/+/+", f.count("b"), {.qos = 2, .shared = true});
    f.r.on("s/#", f.count("c"), {.qos = 1});
    test::test_dispatcher d(f.r, "grp", "main");
    ASSERT_EQ(d.subscriptions().size(), 3u);
    EXPECT_EQ(d.subscriptions()[0].topic, "$share/grp/s/+/data");
    EXPECT_EQ(d.subscriptions()[0].qos, 0);
    EXPECT_EQ(d.subscriptions()[0].id, 1);
    EXPECT_EQ(d.subscriptions()[0].routes, (std::vector<std::size_t>{0}));
    EXPECT_EQ(d.subscriptions()[1].topic, "$share/grp/s/+/+");
    EXPECT_EQ(d.subscriptions()[1].qos, 2);
    EXPECT_EQ(d.subscriptions()[1].id, 2);
    EXPECT_EQ(d.subscriptions()[1].routes, (std::vector<std::size_t>{1}));
    EXPECT_EQ(d.subscriptions()[2].topic, "s/#");
    EXPECT_EQ(d.subscriptions()[2].qos, 1);
    EXPECT_EQ(d.subscriptions()[2].id, 3);
    // Each copy runs its own route only.
    d.dispatch(msg("s/7/data", {2}), f.out);
    EXPECT_EQ(f.calls, (std::map<std::string, int>{{"b", 1}}));
    EXPECT_THROW(f.r.on("s/+/data", f.count("d"), {.qos = 1}), routemq::route_error);
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
    EXPECT_EQ(d.counts().handler_error, 6u) << "two messages, three attempts each (RETRY_ATTEMPTS)";
    EXPECT_EQ(d.counts().retries, 4u);
    EXPECT_EQ(d.counts().bad_payload, 1u);
    EXPECT_EQ(d.counts().handled, 1u);
    EXPECT_EQ(d.counts().dead_letters.at("failed"), 2);
    EXPECT_EQ(d.counts().dead_letters.at("payload"), 1);
    EXPECT_EQ(d.counts().in_hand, 0);
}

TEST(Dispatcher, RetriesInPlaceThenSucceeds) {
    fixture f;
    int runs = 0;
    f.r.on("flaky", [&runs](routemq::context& ctx) {
        if (++runs < 3) {
            throw std::runtime_error("not yet");
        }
        ctx.publish("flaky/done", "ok", 1);
    });
    test::test_dispatcher d(f.r);
    d.dispatch(msg("flaky"), f.out);
    EXPECT_EQ(runs, 3);
    EXPECT_EQ(d.counts().retries, 2u);
    EXPECT_EQ(d.counts().handled, 1u);
    EXPECT_TRUE(d.counts().dead_letters.empty());
    ASSERT_EQ(f.out.messages.size(), 1u);
    EXPECT_EQ(f.out.messages[0].topic, "flaky/done");
    EXPECT_EQ(f.out.confirm_calls, 1) << "results are confirmed before the message is acknowledged";
}

TEST(Dispatcher, DeadLetterCarriesWhyAndWhere) {
    fixture f;
    f.r.on("orders/{id}", [](routemq::context&) { throw std::runtime_error("database down"); },
           {.retry = routemq::retry_policy{.attempts = 2, .backoff = {}, .backoff_max = {}},
            .dead_letter_topic = "failed/{topic}/x"});
    test::test_dispatcher d(f.r, "g", "w3");
    d.dispatch(msg("orders/7", {}, "payload bytes"), f.out);
    ASSERT_EQ(f.out.messages.size(), 1u);
    const auto& dl = f.out.messages[0];
    EXPECT_EQ(dl.topic, "failed/orders/7/x");
    EXPECT_EQ(dl.payload, "payload bytes");
    EXPECT_EQ(dl.qos, 1);
    EXPECT_EQ(dl.property("routemq-reason"), "failed");
    EXPECT_EQ(dl.property("routemq-route"), "orders/{id}");
    EXPECT_EQ(dl.property("routemq-error"), "database down");
    EXPECT_EQ(dl.property("routemq-attempts"), "2");
    EXPECT_EQ(dl.property("routemq-topic"), "orders/7");
    EXPECT_EQ(dl.property("routemq-process").rfind("w3 (pid ", 0), 0u);
    EXPECT_EQ(f.out.confirm_calls, 1) << "the dead letter is confirmed before the ack";
}

TEST(Dispatcher, PoisonMessageIsDeadLetteredWithoutRunning) {
    fixture f;
    int runs = 0;
    f.r.on("s/{id}", [&runs](routemq::context&) { ++runs; });
    test::test_dispatcher d(f.r);
    const auto digest = routemq::detail::message_digest(0, "s/1", "crash me");
    d.counts().crashed[digest] = 2;  // POISON_MAX_CRASHES
    d.dispatch(msg("s/1", {}, "crash me"), f.out);
    EXPECT_EQ(runs, 0);
    d.dispatch(msg("s/1", {}, "harmless"), f.out);
    EXPECT_EQ(runs, 1);
    ASSERT_EQ(f.out.messages.size(), 1u);
    EXPECT_EQ(f.out.messages[0].topic, "dead-letter/s/1");
    EXPECT_EQ(f.out.messages[0].property("routemq-reason"), "poison");
    EXPECT_NE(f.out.messages[0].property("routemq-error").find("killed 2 workers"),
              std::string::npos);
    EXPECT_EQ(d.counts().dead_letters.at("poison"), 1);
}

TEST(Dispatcher, DigestDependsOnRouteTopicAndPayload) {
    using routemq::detail::message_digest;
    const auto base = message_digest(0, "a/b", "x");
    EXPECT_EQ(base, message_digest(0, "a/b", "x"));
    EXPECT_NE(base, message_digest(1, "a/b", "x"));
    EXPECT_NE(base, message_digest(0, "a/c", "x"));
    EXPECT_NE(base, message_digest(0, "a/b", "y"));
    EXPECT_NE(message_digest(0, "ab", ""), message_digest(0, "a", "b"));
}

TEST(Dispatcher, DeeplyNestedJsonIsAPayloadErrorNotACrash) {
    fixture f;
    f.r.on("deep", [](routemq::context& ctx) { ctx.publish("out", ctx.json().dump()); });
    test::test_dispatcher d(f.r);
    d.dispatch(msg("deep", {}, std::string(100000, '[') + std::string(100000, ']')), f.out);
    EXPECT_EQ(d.counts().bad_payload, 1u);
    EXPECT_EQ(d.counts().dead_letters.at("payload"), 1);
    ASSERT_EQ(f.out.messages.size(), 1u);
    EXPECT_NE(f.out.messages[0].property("routemq-error").find("JSON_MAX_DEPTH"),
              std::string::npos);
    d.dispatch(msg("deep", {}, R"({"a":[[["]]]]]]"]]]})"), f.out);
    EXPECT_EQ(d.counts().handled, 1u) << "brackets inside strings do not count";
}

TEST(Dispatcher, JsonFollowedByANulIsNotJson) {
    fixture f;
    f.r.on("nul", [](routemq::context& ctx) { ctx.publish("out", ctx.json().dump()); });
    test::test_dispatcher d(f.r);
    // nlohmann's parser stops at a NUL as at the end of the input.
    d.dispatch(msg("nul", {}, std::string("{\"a\":1}\0{\"b\"", 12)), f.out);
    EXPECT_EQ(d.counts().bad_payload, 1u);
    ASSERT_EQ(f.out.messages.size(), 1u);
    EXPECT_NE(f.out.messages[0].property("routemq-error").find("not valid JSON"),
              std::string::npos);
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
    // A second route on the same filter, where the two could disagree, is refused at
    // registration (router_test).
    EXPECT_THROW(f.r.on("all/#", f.count("c")), routemq::route_error);
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

TEST(Requests, StatusesThenTheReplyGoToTheResponseTopicWithTheCorrelationData) {
    fixture f;
    f.r.on("devices/{id}/command", [](routemq::context& ctx) {
        EXPECT_TRUE(ctx.is_request());
        ctx.progress(0.5, "half way");
        ctx.reply(nlohmann::json{{"ok", true}, {"id", ctx.param("id")}});
    });
    test::test_dispatcher d(f.r);
    auto m = msg("devices/7/command", {}, "reboot");
    m.response_topic = "routemq/replies/abc";
    m.correlation_data = std::string("\x00\x01req-1", 7);
    d.dispatch(m, f.out);
    ASSERT_EQ(f.out.messages.size(), 3u);
    const std::vector<std::string> statuses = {f.out.messages[0].property("routemq-status"),
                                               f.out.messages[1].property("routemq-status"),
                                               f.out.messages[2].property("routemq-status")};
    EXPECT_EQ(statuses, (std::vector<std::string>{"accepted", "progress", "done"}));
    for (const auto& sent : f.out.messages) {
        EXPECT_EQ(sent.topic, "routemq/replies/abc");
        EXPECT_EQ(sent.correlation_data, m.correlation_data);
        EXPECT_EQ(sent.qos, 1);
    }
    EXPECT_EQ(nlohmann::json::parse(f.out.messages[1].payload)["note"], "half way");
    EXPECT_EQ(nlohmann::json::parse(f.out.messages[2].payload)["id"], "7");
}

TEST(Requests, AHandlerThatDoesNotReplyStillEndsTheRequest) {
    fixture f;
    f.r.on("jobs/{id}", [](routemq::context& ctx) { EXPECT_FALSE(ctx.replied()); });
    test::test_dispatcher d(f.r);
    auto m = msg("jobs/1");
    m.response_topic = "routemq/replies/r";
    d.dispatch(m, f.out);
    ASSERT_EQ(f.out.messages.size(), 2u);
    EXPECT_EQ(f.out.messages[1].property("routemq-status"), "done");
    EXPECT_EQ(f.out.messages[1].payload, "");
}

TEST(Requests, AFailedRequestIsAnsweredWithTheReason) {
    fixture f;
    f.r.on("jobs/{id}", [](routemq::context&) { throw std::runtime_error("no such job"); },
           {.retry = routemq::retry_policy{.attempts = 1}});
    test::test_dispatcher d(f.r);
    auto m = msg("jobs/1");
    m.response_topic = "routemq/replies/r";
    m.correlation_data = "c";
    d.dispatch(m, f.out);
    ASSERT_EQ(f.out.messages.size(), 3u);  // accepted, the dead letter, failed
    const auto& failed = f.out.messages[2];
    EXPECT_EQ(failed.topic, "routemq/replies/r");
    EXPECT_EQ(failed.property("routemq-status"), "failed");
    EXPECT_EQ(failed.correlation_data, "c");
    const auto body = nlohmann::json::parse(failed.payload);
    EXPECT_EQ(body["reason"], "failed");
    EXPECT_EQ(body["error"], "no such job");
}

TEST(Requests, PlainMessagesGetNoStatusAndReplyDoesNothing) {
    fixture f;
    bool replied = true;
    f.r.on("t", [&replied](routemq::context& ctx) { replied = ctx.reply("x"); });
    test::test_dispatcher d(f.r);
    d.dispatch(msg("t"), f.out);
    EXPECT_FALSE(replied);
    EXPECT_TRUE(f.out.messages.empty());
}

TEST(Dispatcher, NoRouteRunsOnTheFrameworksOwnTopics) {
    fixture f;
    f.r.on("#", f.count("everything"));
    test::test_dispatcher d(f.r, "g", "main");
    // Kept dead letters and store markers reach a route on `#`; running them would dead-letter
    // a failing one again, and again.
    d.dispatch(msg("routemq/dead-letters/g/1796681456334-fe4376b5f7dce425", {1}, "x"), f.out);
    d.dispatch(msg("routemq/markers/g-vm-dead-letters-7-0", {1}, "loaded"), f.out);
    EXPECT_TRUE(f.calls.empty());
    d.dispatch(msg("routemq/replies/caller-1", {1}, "r"), f.out);
    d.dispatch(msg("dead-letter/orders/1", {1}, "x"), f.out);
    EXPECT_EQ(f.calls, (std::map<std::string, int>{{"everything", 2}}));
}
