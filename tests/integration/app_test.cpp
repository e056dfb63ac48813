#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// A broker, the application under test running against it, and a user-side client.
class app_test : public ::testing::Test {
protected:
    std::unique_ptr<test::child_process> start_app(const char* executable,
                                                   std::map<std::string, std::string> env = {}) {
        auto app = test::start_app(executable, broker_.port(), {}, std::move(env));
        EXPECT_TRUE(app->wait_for_output("serving", 10s)) << app->output();
        return app;
    }

    test::test_client& client() {
        if (!client_) {
            client_ = std::make_unique<test::test_client>(broker_.port(), "itest-user");
        }
        return *client_;
    }

    void TearDown() override { client_.reset(); }

    test::mosquitto_broker broker_;
    std::unique_ptr<test::test_client> client_;
};

}  // namespace

TEST_F(app_test, HashRouteAndTwoParameterRoute) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    client().subscribe("test/out/#");
    client().publish("test/hash/a/b/c", "x");
    client().publish("test/left/pair/right", "y");
    auto got = client().collect(2, 5s);
    ASSERT_EQ(got.size(), 2u) << app->output();
    std::map<std::string, json> by_topic;
    for (const auto& m : got) {
        by_topic[m.topic] = json::parse(m.payload);
    }
    EXPECT_EQ(by_topic["test/out/hash"]["topic"], "test/hash/a/b/c");
    EXPECT_EQ(by_topic["test/out/pair"]["a"], "left");
    EXPECT_EQ(by_topic["test/out/pair"]["b"], "right");
}

TEST_F(app_test, InvalidJsonIsLoggedAndTheProcessKeepsServing) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    client().subscribe("test/out/#");
    client().publish("test/json", "{this is not json");
    client().publish("sensors/1/data", "[]");  // JSON, but not a reading
    ASSERT_TRUE(app->wait_for_output("bad payload", 5s, 2)) << app->output();
    EXPECT_NE(app->output().find("bad payload on topic 'test/json' for route 'test/json'"),
              std::string::npos)
        << app->output();
    client().publish("test/json", R"({"n":1})");
    auto out = client().next(5s);
    ASSERT_TRUE(out) << app->output();
    EXPECT_EQ(out->topic, "test/out/json");
    EXPECT_EQ(json::parse(out->payload)["body"]["n"], 1);
    EXPECT_TRUE(app->running());
}

TEST_F(app_test, ThrowingHandlerIsLoggedAndTheProcessKeepsServing) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    client().subscribe("test/out/#");
    client().publish("test/throw/bad", "1");
    ASSERT_TRUE(app->wait_for_output("handler refused a bad message", 5s)) << app->output();
    EXPECT_NE(app->output().find("on topic 'test/throw/bad' (route 'test/throw/{what}'"),
              std::string::npos)
        << app->output();
    client().publish("test/throw/good", "2");
    auto out = client().next(5s);
    ASSERT_TRUE(out) << app->output();
    EXPECT_EQ(json::parse(out->payload)["topic"], "test/throw/good");
    EXPECT_TRUE(app->running());
}

namespace {

std::map<std::string, int> routes_reported(const std::vector<test::received>& got) {
    std::map<std::string, int> out;
    for (const auto& m : got) {
        out[json::parse(m.payload)["route"].get<std::string>()]++;
    }
    return out;
}

}  // namespace

TEST_F(app_test, OverlappingRoutesEachHandleAMessageOnce) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    EXPECT_NE(app->output().find("route 'ov/+/x' overlaps 'ov/#'"), std::string::npos)
        << app->output();
    client().subscribe("test/out/ov");
    client().publish("ov/a/x", "1");
    const std::map<std::string, int> expected = {{"ov/+/x", 1}, {"ov/#", 1}, {"ov/a/+", 1}};
    EXPECT_EQ(routes_reported(client().drain(1500ms)), expected) << app->output();
    client().publish("solo/b/x", "2");
    const std::map<std::string, int> solo = {{"solo/+/x", 1}, {"solo/#", 1}};
    EXPECT_EQ(routes_reported(client().drain(1500ms)), solo) << app->output();
}

TEST_F(app_test, OverlappingNonSharedRoutesUnderMqtt311) {
    auto app = start_app(ROUTEMQ_TEST_APP, {{"MQTT_PROTOCOL", "3.1.1"}});
    client().subscribe("test/out/ov");
    client().publish("solo/b/x", "2");
    const std::map<std::string, int> solo = {{"solo/+/x", 1}, {"solo/#", 1}};
    EXPECT_EQ(routes_reported(client().drain(1500ms)), solo) << app->output();
}

TEST(Mqtt311, OverlappingRoutesOnADuplicatingBrokerAreNamedAtStartup) {
    // mosquitto sends one copy per matching subscription with this option (its own startup
    // message says it will become the default); 3.1.1 cannot tell the copies apart.
    test::mosquitto_broker broker("allow_duplicate_messages true\n");
    auto app = test::start_app(ROUTEMQ_TEST_APP, broker.port(), {}, {{"MQTT_PROTOCOL", "3.1.1"}});
    ASSERT_TRUE(app->wait_for_output("] serving", 15s)) << app->output();
    const auto out = app->output();
    EXPECT_NE(out.find("MQTT 3.1.1 with overlapping routes"), std::string::npos) << out;
    EXPECT_NE(out.find("'solo/+/x' and 'solo/#'"), std::string::npos) << out;
    EXPECT_NE(out.find("allow_duplicate_messages true"), std::string::npos) << out;
    test::test_client user(broker.port(), "itest-user");
    user.subscribe("test/out/ov");
    user.publish("solo/b/x", "2");
    const auto runs = routes_reported(user.drain(1500ms));
    ASSERT_EQ(runs.size(), 2u) << out;
    EXPECT_EQ(runs.at("solo/+/x"), runs.at("solo/#"));
    std::cout << "[ mqtt 3.1.1 ] with allow_duplicate_messages, each of 2 overlapping routes ran "
              << runs.at("solo/#") << " times for one publish (MQTT 5: once)\n";
}

TEST_F(app_test, NoLocalKeepsAWildcardRouteFromItsOwnPublishes) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    client().subscribe("test/out/loop");
    client().publish("loop/start", "1");
    EXPECT_EQ(client().drain(1500ms).size(), 1u)
        << "the route handled its own publish on loop/again\n"
        << app->output();
    client().publish("loop/again", "from another client");
    EXPECT_EQ(client().drain(1500ms).size(), 1u) << "other clients' publishes still arrive\n"
                                                 << app->output();
}

TEST_F(app_test, ReconnectsAndResubscribesAfterBrokerRestart) {
    auto app = start_app(ROUTEMQ_EXECUTABLE);
    broker_.stop();
    client_.reset();
    ASSERT_TRUE(app->wait_for_output("connection to 127.0.0.1", 5s)) << app->output();
    broker_.start();
    ASSERT_TRUE(app->wait_for_output("subscribed to 'config/update'", 30s, 2)) << app->output();
    client().subscribe("sensors/+/processed");
    client().publish("sensors/7/data", R"({"temp":-3})");
    auto out = client().next(5s);
    ASSERT_TRUE(out) << app->output();
    EXPECT_EQ(json::parse(out->payload)["device_id"], "7");
}

TEST_F(app_test, StopsCleanlyOnSigterm) {
    auto app = start_app(ROUTEMQ_EXECUTABLE);
    client().subscribe("sensors/+/processed");
    client().publish("sensors/3/data", R"({"temp":1})");
    ASSERT_TRUE(client().next(5s));
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(10s), 0) << app->output();
    EXPECT_NE(app->output().find("1 received, 1 handled"), std::string::npos) << app->output();
}

TEST(Startup, BadPortExitsWithStatus2NamingIt) {
    test::child_process app({ROUTEMQ_EXECUTABLE, "--env-file", "/dev/null"},
                            {{"MQTT_PORT", "not-a-port"}}, test::temp_path("bad.log"));
    EXPECT_EQ(app.wait(10s), 2);
    const auto out = app.output();
    EXPECT_NE(out.find("MQTT_PORT='not-a-port'"), std::string::npos) << out;
    EXPECT_NE(out.find("1-65535"), std::string::npos) << out;
    EXPECT_EQ(test::count_occurrences(out, "\n"), 1) << out;
}

TEST_F(app_test, JsonLogFormatWritesOneJsonObjectPerLine) {
    auto app = start_app(ROUTEMQ_EXECUTABLE, {{"LOG_FORMAT", "json"}});
    client().publish("alerts/9", "a \"quoted\"\nmulti-line alert");
    ASSERT_TRUE(app->wait_for_output("alert from device 9", 5s)) << app->output();
    std::istringstream lines(app->output());
    int n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
        const auto entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
        ASSERT_FALSE(entry.is_discarded()) << line;
        EXPECT_EQ(entry["role"], "main");
        EXPECT_TRUE(entry.contains("level") && entry.contains("time") && entry.contains("msg"));
    }
    EXPECT_GE(n, 4);
}

TEST(Startup, RefusedSubscriptionExitsWithStatus3) {
    // mosquitto's dynamic-security plugin: anonymous clients may subscribe to alerts/# only.
    const auto acl = test::temp_path("dynsec.json");
    std::ofstream(acl) << R"({
        "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true,
                             "subscribe": false, "unsubscribe": true},
        "clients": [],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "alerts-only"}]}],
        "roles": [{"rolename": "alerts-only",
                   "acls": [{"acltype": "subscribePattern", "topic": "alerts/#", "allow": true}]}],
        "anonymousGroup": "anonymous"
    })";
    test::mosquitto_broker broker(std::string("plugin ") + MOSQUITTO_DYNSEC_PLUGIN +
                                  "\nplugin_opt_config_file " + acl);
    for (const char* protocol : {"5", "3.1.1"}) {
        auto app =
            test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {}, {{"MQTT_PROTOCOL", protocol}});
        EXPECT_EQ(app->wait(15s), 3) << app->output();
        const auto out = app->output();
        EXPECT_NE(out.find("subscription to 'config/update' refused"), std::string::npos) << out;
        EXPECT_NE(out.find("subscribed to 'alerts/+'"), std::string::npos) << out;
        EXPECT_NE(out.find("the broker refused 3 of 4 subscriptions"), std::string::npos) << out;
    }
    std::remove(acl.c_str());
}

TEST_F(app_test, RequestGetsItsStatusesAndItsAnswerWithItsCorrelationData) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    test::test_client caller(broker_.port(), "itest-caller-" + std::to_string(getpid()), true,
                             true);
    caller.subscribe("routemq/replies/#");
    caller.publish_request("test/request/7", "status?", "routemq/replies/test-a",
                           std::string("\0c7", 3));
    caller.publish_request("test/request/8", "fail", "routemq/replies/test-b", "c8");
    std::map<std::string, std::vector<test::received>> by_topic;
    for (const auto& m : caller.collect(6, 10s)) {
        by_topic[m.topic].push_back(m);
    }
    ASSERT_EQ(by_topic["routemq/replies/test-a"].size(), 3u) << app->output();
    ASSERT_EQ(by_topic["routemq/replies/test-b"].size(), 3u) << app->output();
    std::vector<std::string> a, b;
    for (const auto& m : by_topic["routemq/replies/test-a"]) {
        a.push_back(m.property("routemq-status"));
        EXPECT_EQ(m.correlation_data, std::string("\0c7", 3));
    }
    for (const auto& m : by_topic["routemq/replies/test-b"]) {
        b.push_back(m.property("routemq-status"));
        EXPECT_EQ(m.correlation_data, "c8");
    }
    EXPECT_EQ(a, (std::vector<std::string>{"accepted", "progress", "done"}));
    EXPECT_EQ(b, (std::vector<std::string>{"accepted", "progress", "failed"}));
    EXPECT_EQ(json::parse(by_topic["routemq/replies/test-a"][2].payload)["asked"], "status?");
    const auto failed = json::parse(by_topic["routemq/replies/test-b"][2].payload);
    EXPECT_EQ(failed["reason"], "failed");
    EXPECT_EQ(failed["error"], "refused by the handler");
}

TEST_F(app_test, RequestCommandPrintsTheStatusesAndTheAnswer) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    const auto ask = [&](std::vector<std::string> args) {
        auto cli = test::start_app(ROUTEMQ_TEST_APP, broker_.port(), std::move(args));
        const auto status = cli->wait(20s);
        return std::make_pair(status.value_or(-1), cli->output());
    };
    const auto [ok_status, ok_out] = ask({"request", "test/request/5", "hello"});
    EXPECT_EQ(ok_status, 0) << ok_out;
    EXPECT_NE(ok_out.find("accepted\nprogress {\"note\":\"half way\",\"progress\":0.5}\ndone\n"),
              std::string::npos)
        << ok_out;
    EXPECT_NE(ok_out.find(R"({"asked":"hello","id":"5"})"), std::string::npos) << ok_out;

    const auto [failed_status, failed_out] = ask({"request", "test/request/6", "fail"});
    EXPECT_EQ(failed_status, 1) << failed_out;
    EXPECT_NE(failed_out.find(R"({"error":"refused by the handler","reason":"failed"})"),
              std::string::npos)
        << failed_out;

    // --timeout bounds connecting too: a broker that is not there is given up on in time.
    const auto unreachable = std::chrono::steady_clock::now();
    auto nowhere = test::start_app(ROUTEMQ_TEST_APP, routemq::testing::free_loopback_port(),
                                   {"request", "test/request/5", "x", "--timeout", "2"});
    const auto nowhere_status = nowhere->wait(20s);
    EXPECT_EQ(nowhere_status.value_or(-1), 1) << nowhere->output();
    EXPECT_LT(std::chrono::steady_clock::now() - unreachable, 5s) << nowhere->output();
    EXPECT_NE(nowhere->output().find("within 2000 ms"), std::string::npos) << nowhere->output();

    const auto [silent_status, silent_out] =
        ask({"request", "nobody/listens", "x", "--timeout", "1"});
    EXPECT_EQ(silent_status, 1) << silent_out;
    EXPECT_NE(silent_out.find("no answer to the request on 'nobody/listens' within 1 s"),
              std::string::npos)
        << silent_out;
}

TEST_F(app_test, ConcurrentCallersOfOneClientEachGetTheirOwnAnswers) {
    auto app = start_app(ROUTEMQ_TEST_APP);
    test::child_process caller({ROUTEMQ_REQUEST_CALLER, std::to_string(broker_.port()), "4", "25"},
                               {}, test::temp_path("caller.log"));
    const auto status = caller.wait(60s);
    std::cout << "[ requests ] " << caller.output();
    ASSERT_TRUE(status) << caller.output();
    EXPECT_EQ(*status, 0) << caller.output() << app->output();
    EXPECT_NE(caller.output().find("requests 100 wrong_or_missing 0"), std::string::npos);
}
