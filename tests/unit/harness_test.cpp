// routemq::testing::harness: what it reports must be what the dispatcher of a running process
// does with the same message (it runs that dispatcher; these tests hold it to the semantics).

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <routemq/errors.hpp>
#include <routemq/json.hpp>
#include <routemq/testing.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using routemq::testing::harness;
using routemq::testing::outcome;

namespace {

/// A handler that publishes what it saw to `seen`: the route, the topic, the params and qos.
void report(routemq::context& ctx) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [name, value] : ctx.params()) {
        params[std::string(name)] = std::string(value);
    }
    ctx.publish("seen", nlohmann::json{{"route", ctx.pattern()},
                                       {"topic", ctx.topic()},
                                       {"params", params},
                                       {"qos", ctx.qos()}});
}

/// What report() published for `route`; null when it did not run.
nlohmann::json seen(const routemq::testing::result& r, const std::string& route) {
    for (const auto& m : r.published_to("seen")) {
        if (m.json()["route"] == route) {
            return m.json();
        }
    }
    return nullptr;
}

std::vector<int> attempts_of(const routemq::testing::result& r) {
    std::vector<int> out;
    for (const auto& run : r.runs) {
        out.push_back(run.attempt);
    }
    return out;
}

std::vector<outcome> outcomes_of(const routemq::testing::result& r) {
    std::vector<outcome> out;
    for (const auto& run : r.runs) {
        out.push_back(run.outcome);
    }
    return out;
}

/// A reading as an application declares it, read with ctx.json_as<reading>().
struct reading {
    std::string device;
    double temp = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(reading, device, temp)

void record_reading(routemq::context& ctx) {
    const auto r = ctx.json_as<reading>();
    ctx.publish("recorded/" + r.device, nlohmann::json{{"temp", r.temp}});
}

}  // namespace

TEST(Harness, JsonAsReadsAPayloadIntoTheApplicationsTypeAndABadOneIsABadPayload) {
    harness h([](routemq::router& r) { r.on("readings", record_reading, {.qos = 1}); });
    const auto good = h.deliver({.topic = "readings", .payload = R"({"device":"d1","temp":21.5})"});
    EXPECT_TRUE(good.handled());
    ASSERT_EQ(good.published_to("recorded/d1").size(), 1u);
    EXPECT_EQ(good.published_to("recorded/d1").front().json()["temp"], 21.5);
    for (const char* bad : {R"({"device":"d1","temp":"hot"})", R"({"temp":1})", "not json"}) {
        const auto r = h.deliver({.topic = "readings", .payload = bad});
        EXPECT_EQ(r.count(outcome::bad_payload), 1) << bad;
        EXPECT_TRUE(r.published.empty() || r.published_to("recorded/d1").empty()) << bad;
    }
}

TEST(Harness, EveryMatchingRouteRunsOnceWithItsParams) {
    harness h([](routemq::router& r) {
        r.on("ov/{area}/x", report, {.qos = 1, .shared = true});
        r.on("ov/#", report, {.qos = 1, .shared = true});
        r.on("ov/a/{what}", report, {.qos = 1});
        r.on("elsewhere/{id}", report);
    });
    const auto r = h.deliver({.topic = "ov/a/x", .payload = "1", .qos = 1});
    EXPECT_EQ(r.routes(), (std::vector<std::string>{"ov/{area}/x", "ov/#", "ov/a/{what}"}));
    EXPECT_EQ(r.runs.size(), 3u);
    EXPECT_EQ(r.deliveries, 3) << "one copy per matching subscription, as under MQTT 5";
    ASSERT_EQ(r.published.size(), 3u);
    EXPECT_EQ(seen(r, "ov/{area}/x")["params"], (nlohmann::json{{"area", "a"}}));
    EXPECT_EQ(seen(r, "ov/#")["params"], nlohmann::json::object());
    EXPECT_EQ(seen(r, "ov/a/{what}")["params"], (nlohmann::json{{"what", "x"}}));
    EXPECT_EQ(seen(r, "ov/#")["topic"], "ov/a/x");
    EXPECT_EQ(r.count(outcome::handled), 3);
    EXPECT_TRUE(r.handled());
    EXPECT_FALSE(r.no_route);
}

TEST(Harness, OverlappingSharedRoutesGetOneCopyEachAndOneFilterTwiceDoesNotStart) {
    harness h([](routemq::router& r) {
        r.on("s/{id}/data", report, {.shared = true});
        r.on("s/+/+", report, {.shared = true});
    });
    const auto r = h.deliver({.topic = "s/7/data"});
    EXPECT_EQ(r.deliveries, 2);
    EXPECT_EQ(r.routes(), (std::vector<std::string>{"s/{id}/data", "s/+/+"}));
    EXPECT_EQ(r.runs.size(), 2u);
    // As the application would not start: one filter twice, shared or shared and not.
    EXPECT_THROW(harness([](routemq::router& r) {
                     r.on("s/{id}/data", report, {.shared = true});
                     r.on("s/+/data", report, {.shared = true});
                 }),
                 routemq::route_error);
    EXPECT_THROW(harness([](routemq::router& r) {
                     r.on("s/{id}/data", report, {.shared = true});
                     r.on("s/+/data", report);
                 }),
                 routemq::route_error);
}

TEST(Harness, EachRouteSeesAtMostItsOwnQos) {
    harness h([](routemq::router& r) {
        r.on("q/{n}", report, {.qos = 0});
        r.on("q/#", report, {.qos = 1});
    });
    const auto qos_seen = [&](int published_qos) {
        const auto r = h.deliver({.topic = "q/1", .qos = published_qos});
        return std::make_pair(seen(r, "q/{n}")["qos"].get<int>(), seen(r, "q/#")["qos"].get<int>());
    };
    EXPECT_EQ(qos_seen(2), std::make_pair(0, 1));
    EXPECT_EQ(qos_seen(1), std::make_pair(0, 1));
    EXPECT_EQ(qos_seen(0), std::make_pair(0, 0));
}

TEST(Harness, MiddlewareRunsAsAnOnionAndCanShortCircuit) {
    std::vector<std::string> trace;
    const auto layer = [&trace](std::string name) -> routemq::middleware {
        return [&trace, name](routemq::context& ctx, const routemq::handler& next) {
            trace.push_back(name + ">");
            if (ctx.payload() == "stop at " + name) {
                return;
            }
            next(ctx);
            trace.push_back("<" + name);
        };
    };
    harness h([&](routemq::router& r) {
        auto g = r.group({.prefix = "a", .middleware = {layer("g1"), layer("g2")}});
        g.on("b",
             [&trace](routemq::context& ctx) {
                 trace.push_back("handler");
                 ctx.publish("out", "x");
             },
             {.middleware = {layer("r1"), layer("r2")}});
    });
    auto r = h.deliver({.topic = "a/b"});
    EXPECT_EQ(trace, (std::vector<std::string>{"g1>", "g2>", "r1>", "r2>", "handler", "<r2", "<r1",
                                               "<g2", "<g1"}));
    EXPECT_EQ(r.published.size(), 1u);

    trace.clear();
    r = h.deliver({.topic = "a/b", .payload = "stop at g2"});
    EXPECT_EQ(trace, (std::vector<std::string>{"g1>", "g2>", "<g1"}));
    EXPECT_TRUE(r.published.empty());
    EXPECT_EQ(outcomes_of(r), (std::vector<outcome>{outcome::handled}))
        << "a short-circuited message counts as handled";
}

TEST(Harness, AThrowingHandlerIsRetriedThenDeadLetteredWithoutSleeping) {
    int runs = 0;
    harness h([&runs](routemq::router& r) {
        r.on("work/{id}", [&runs](routemq::context&) {
            ++runs;
            throw std::runtime_error("boom");
        });
    });
    const auto started = std::chrono::steady_clock::now();
    const auto r = h.deliver({.topic = "work/1", .payload = "job", .qos = 1});
    EXPECT_LT(std::chrono::steady_clock::now() - started, 250ms)
        << "the default backoff waits 100 ms, then 200 ms: the harness must not sleep them";
    EXPECT_EQ(runs, 3) << "RETRY_ATTEMPTS defaults to 3";
    EXPECT_EQ(attempts_of(r), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(r.count(outcome::handler_error), 3);
    ASSERT_EQ(r.retry_waits.size(), 2u);
    EXPECT_GE(r.retry_waits[0], 80ms);  // 100 ms +-20 %
    EXPECT_LE(r.retry_waits[0], 120ms);
    EXPECT_GE(r.retry_waits[1], 160ms);  // doubled
    EXPECT_LE(r.retry_waits[1], 240ms);
    ASSERT_EQ(r.dead_letters.size(), 1u);
    const auto& dl = r.dead_letters[0];
    EXPECT_EQ(dl.topic, "dead-letter/work/1");
    EXPECT_EQ(dl.payload, "job");
    EXPECT_EQ(dl.reason, "failed");
    EXPECT_EQ(dl.route, "work/{id}");
    EXPECT_EQ(dl.error, "boom");
    EXPECT_EQ(dl.attempts, 3);
    EXPECT_TRUE(r.published.empty()) << "a dead letter is not among what handlers published";
    EXPECT_FALSE(r.handled());
    EXPECT_TRUE(r.logged("handler")) << "the dispatcher's log lines are captured";
    EXPECT_TRUE(r.logged("retrying in"));

    const auto again = h.deliver({.topic = "work/2", .qos = 1});
    EXPECT_EQ(attempts_of(again), (std::vector<int>{1, 2, 3})) << "attempts count per delivery";
    EXPECT_EQ(again.dead_letters.size(), 1u);
}

TEST(Harness, AFlakyHandlerSucceedsOnItsRetry) {
    int runs = 0;
    harness h([&runs](routemq::router& r) {
        r.on("flaky", [&runs](routemq::context& ctx) {
            if (++runs == 1) {
                throw std::runtime_error("not yet");
            }
            ctx.publish("done", "ok", 1);
        });
    });
    const auto r = h.deliver({.topic = "flaky"});
    EXPECT_EQ(outcomes_of(r), (std::vector<outcome>{outcome::handler_error, outcome::handled}));
    EXPECT_EQ(attempts_of(r), (std::vector<int>{1, 2}));
    EXPECT_TRUE(r.handled());
    ASSERT_EQ(r.published.size(), 1u);
    EXPECT_EQ(r.published[0].topic, "done");
    EXPECT_EQ(r.published[0].qos, 1);
    EXPECT_TRUE(r.dead_letters.empty());
}

TEST(Harness, RetryPoliciesAndDeadLetterTopicsComeFromRoutesThenSettings) {
    const auto failing = [](routemq::context&) { throw std::runtime_error("no"); };
    harness h(
        [&](routemq::router& r) {
            r.on("once", failing,
                 {.retry = routemq::retry_policy{.attempts = 1},
                  .dead_letter_topic = "failed/{topic}/here"});
            r.on("default", failing);
        },
        {.settings = {{"RETRY_ATTEMPTS", "5"}, {"DEAD_LETTER_TOPIC", "dlq/{topic}"}}});
    const auto once = h.deliver({.topic = "once"});
    EXPECT_EQ(once.runs.size(), 1u);
    EXPECT_TRUE(once.retry_waits.empty());
    ASSERT_EQ(once.dead_letters.size(), 1u);
    EXPECT_EQ(once.dead_letters[0].topic, "failed/once/here");
    const auto five = h.deliver({.topic = "default"});
    EXPECT_EQ(five.runs.size(), 5u);
    ASSERT_EQ(five.dead_letters.size(), 1u);
    EXPECT_EQ(five.dead_letters[0].topic, "dlq/default");
    EXPECT_EQ(five.dead_letters[0].attempts, 5);
}

TEST(Harness, APayloadThatIsNotJsonIsABadPayloadAndNotRetried) {
    harness h(
        [](routemq::router& r) {
            r.on("json", [](routemq::context& ctx) { ctx.publish("ok", ctx.json().dump()); });
        },
        {.settings = {{"JSON_MAX_DEPTH", "3"}}});
    const auto bad = h.deliver({.topic = "json", .payload = "{not json"});
    EXPECT_EQ(outcomes_of(bad), (std::vector<outcome>{outcome::bad_payload}));
    ASSERT_EQ(bad.dead_letters.size(), 1u);
    EXPECT_EQ(bad.dead_letters[0].reason, "payload");
    EXPECT_NE(bad.dead_letters[0].error.find("not valid JSON"), std::string::npos)
        << bad.dead_letters[0].error;
    EXPECT_TRUE(bad.logged("bad payload on topic 'json' for route 'json'"));

    const auto deep = h.deliver({.topic = "json", .payload = "[[[[1]]]]"});
    EXPECT_EQ(deep.count(outcome::bad_payload), 1) << "deeper than JSON_MAX_DEPTH";

    const auto good = h.deliver({.topic = "json", .payload = R"({"n":1})"});
    EXPECT_TRUE(good.handled());
    EXPECT_EQ(good.published.at(0).json()["n"], 1);
    EXPECT_TRUE(good.dead_letters.empty()) << "each result holds its own delivery only";
}

TEST(Harness, ARequestGetsItsStatusesAndReplyWithItsCorrelationData) {
    harness h([](routemq::router& r) {
        r.on("ask/{id}",
             [](routemq::context& ctx) {
                 ctx.progress(0.5, "half way");
                 if (ctx.payload() == "fail") {
                     throw std::runtime_error("refused");
                 }
                 if (ctx.payload() != "silent") {
                     ctx.reply(nlohmann::json{{"id", ctx.param("id")}});
                 }
             },
             {.qos = 1, .retry = routemq::retry_policy{.attempts = 1}});
    });
    const auto ok = h.deliver({.topic = "ask/7",
                               .payload = "q",
                               .qos = 1,
                               .response_topic = "routemq/replies/me",
                               .correlation_data = std::string("\0c7", 3)});
    EXPECT_EQ(ok.statuses(), (std::vector<std::string>{"accepted", "progress", "done"}));
    for (const auto& m : ok.replies) {
        EXPECT_EQ(m.topic, "routemq/replies/me");
        EXPECT_EQ(m.correlation_data, std::string("\0c7", 3));
        EXPECT_EQ(m.qos, 1);
    }
    EXPECT_EQ(ok.replies[1].json(), (nlohmann::json{{"progress", 0.5}, {"note", "half way"}}));
    EXPECT_EQ(ok.replies[2].json(), (nlohmann::json{{"id", "7"}}));
    EXPECT_TRUE(ok.published.empty()) << "replies are apart from what handlers published";

    const auto silent =
        h.deliver({.topic = "ask/8", .payload = "silent", .response_topic = "routemq/replies/me"});
    EXPECT_EQ(silent.statuses(), (std::vector<std::string>{"accepted", "progress", "done"}));
    EXPECT_EQ(silent.replies[2].payload, "") << "the caller is not left waiting";

    const auto failed =
        h.deliver({.topic = "ask/9", .payload = "fail", .response_topic = "routemq/replies/me"});
    EXPECT_EQ(failed.statuses(), (std::vector<std::string>{"accepted", "progress", "failed"}));
    EXPECT_EQ(failed.replies[2].json(),
              (nlohmann::json{{"reason", "failed"}, {"error", "refused"}}));
    EXPECT_EQ(failed.dead_letters.size(), 1u);

    const auto plain = h.deliver({.topic = "ask/10", .payload = "q"});
    EXPECT_TRUE(plain.replies.empty()) << "ctx.reply and ctx.progress do nothing without a request";
    EXPECT_TRUE(plain.handled());
}

TEST(Harness, TheHandlerSeesTheMessageAsDelivered) {
    routemq::user_properties seen_properties;
    std::string seen_process;
    bool seen_retain = false;
    harness h(
        [&](routemq::router& r) {
            r.on("m", [&](routemq::context& ctx) {
                seen_properties = ctx.user_properties();
                seen_process = std::string(ctx.process_name());
                seen_retain = ctx.retain();
            });
        },
        {.process_name = "w2"});
    h.deliver(
        {.topic = "m", .retain = true, .user_properties = {{"tenant", "acme"}, {"trace", "1"}}});
    EXPECT_EQ(seen_properties, (routemq::user_properties{{"tenant", "acme"}, {"trace", "1"}}));
    EXPECT_EQ(seen_process, "w2");
    EXPECT_TRUE(seen_retain);
}

TEST(Harness, ATopicNoRouteMatchesReachesNothing) {
    int runs = 0;
    harness h(
        [&runs](routemq::router& r) { r.on("a/{x}", [&runs](routemq::context&) { ++runs; }); });
    const auto r = h.deliver({.topic = "b/1"});
    EXPECT_TRUE(r.no_route);
    EXPECT_EQ(r.deliveries, 0);
    EXPECT_TRUE(r.runs.empty());
    EXPECT_FALSE(r.handled());
    EXPECT_EQ(runs, 0);
    EXPECT_TRUE(h.deliver({.topic = "a/b/c"}).no_route) << "{x} is one level";
    EXPECT_TRUE(h.deliver({.topic = "$SYS/a/1"}).no_route);
}

TEST(Harness, WhatABrokerRefusesFails) {
    harness h([](routemq::router& r) {
        r.on("pub/{to}", [](routemq::context& ctx) {
            if (ctx.param("to") == "wild") {
                ctx.publish("out/+", "x");
            } else {
                ctx.publish("out", "x", 3);
            }
        });
    });
    EXPECT_THROW(h.deliver({.topic = "pub/+"}), routemq::error);
    EXPECT_THROW(h.deliver({.topic = ""}), routemq::error);
    EXPECT_THROW(h.deliver({.topic = "pub/x", .qos = 3}), routemq::error);
    EXPECT_THROW(h.deliver({.topic = "pub/x", .response_topic = "r/#"}), routemq::error);
    const auto wild = h.deliver({.topic = "pub/wild"});
    EXPECT_EQ(wild.count(outcome::handler_error), 1) << "not retried: it would fail again";
    ASSERT_EQ(wild.dead_letters.size(), 1u);
    EXPECT_NE(wild.dead_letters[0].error.find("out/+"), std::string::npos);
    const auto qos = h.deliver({.topic = "pub/qos"});
    ASSERT_EQ(qos.dead_letters.size(), 1u);
    EXPECT_EQ(qos.dead_letters[0].error, "cannot publish to 'out': QoS 3 is not 0, 1 or 2");
}

TEST(Harness, StartsAsTheApplicationWouldOrNotAtAll) {
    EXPECT_THROW(harness([](routemq::router& r) { r.on("a/#/b", report); }),
                 routemq::pattern_error);
    EXPECT_THROW(harness([](routemq::router& r) { r.on("a", report); },
                         {.settings = {{"RETRY_ATTEMPTS", "zero"}}}),
                 routemq::config_error);
    harness h([](routemq::router& r) {
        r.on("x/{id}", report, {.qos = 1, .shared = true, .worker_count = 3, .pool = "ingest"});
    });
    ASSERT_EQ(h.routes().size(), 1u);
    EXPECT_EQ(h.routes()[0].pattern.filter(), "x/+");
    EXPECT_EQ(h.routes()[0].options.worker_count, 3);
    EXPECT_EQ(h.routes()[0].options.pool, "ingest");
}

TEST(Harness, CapturesWhatHandlersLogAndLeavesTheLoggerAsItWas) {
    harness h([](routemq::router& r) {
        r.on("log/{n}", [](routemq::context& ctx) { spdlog::warn("seen {}", ctx.param("n")); });
    });
    const auto sinks_before = spdlog::default_logger()->sinks().size();
    const auto r = h.deliver({.topic = "log/5"});
    EXPECT_TRUE(r.logged("[warning] seen 5")) << (r.log.empty() ? "" : r.log[0]);
    EXPECT_EQ(spdlog::default_logger()->sinks().size(), sinks_before);
    EXPECT_FALSE(h.deliver({.topic = "log/6"}).logged("seen 5"));
}
