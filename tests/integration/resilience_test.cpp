// Nothing lost, nothing stuck: hostile settings, connection errors said plainly, fast reconnect
// after a broker restart, log lines that a payload cannot forge, and MQTT 5 Maximum Packet Size,
// against a real mosquitto.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// Runs `routemq <args>` with no broker settings of the test's own, and returns its exit status
/// and output (it is expected to stop at once).
std::pair<std::optional<int>, std::string> run_briefly(std::vector<std::string> args,
                                                       std::map<std::string, std::string> env) {
    args.insert(args.begin(), ROUTEMQ_EXECUTABLE);
    test::child_process app(args, env, test::temp_path("startup.log"));
    const auto status = app.wait(10s);
    return {status, app.output()};
}

/// Stops the broker under a running application and starts it again on the same port: the
/// application says why it cannot connect while the broker is away, is ready again soon after
/// it returns, and handles QoS 1 messages published after that.
void ready_again_after_broker_restart(const std::vector<std::string>& args, int processes) {
    test::mosquitto_broker broker(test::broker_options{.persistence = true});
    const int http = test::free_loopback_port();
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), args,
                               {{"HTTP_PORT", std::to_string(http)}});
    ASSERT_TRUE(app->wait_for_output("] serving", 20s, processes)) << app->output();
    const auto ready = [](const test::http_response& r) { return r.status == 200; };
    ASSERT_EQ(test::http_poll(http, "/readyz", ready, 10s).status, 200) << app->output();

    broker.stop();
    const auto down = test::http_poll(
        http, "/readyz",
        [](const test::http_response& r) {
            return r.status == 503 &&
                   r.body.find("main: not connected to the broker (attempt ") != std::string::npos;
        },
        10s);
    EXPECT_NE(down.body.find("failed: no connection (refused"), std::string::npos) << down.body;

    // Long enough for a doubling backoff to have reached MQTT_RECONNECT_MAX_SECONDS (2 s): the
    // first 30 s of an outage are retried every 200 ms at most, so the wait is not that.
    std::this_thread::sleep_for(3s);
    broker.start();
    const auto back = std::chrono::steady_clock::now();
    const auto up = test::http_poll(http, "/readyz", ready, 15s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - back);
    std::cout << "[ measured ] routemq " << (args.empty() ? "" : args.front()) << ": /readyz 200 "
              << took.count() << " ms after the broker accepted connections" << std::endl;
    ASSERT_EQ(up.status, 200) << up.body << "\n" << app->output();
    // At most 200 ms to the next attempt, then about 1 s in which Paho C's receive thread
    // notices the completed TCP connect (its poll runs out its full second first; seen with
    // strace) and the subscriptions.
    EXPECT_LT(took, 2000ms);

    test::test_client user(broker.port(), "itest-user");
    user.subscribe("sensors/+/processed");
    constexpr int kReadings = 60;
    test::publish_readings(broker.port(), kReadings);
    std::set<std::string> devices;
    for (const auto& m : user.collect(kReadings, 20s)) {
        devices.insert(json::parse(m.payload)["device_id"].get<std::string>());
    }
    EXPECT_EQ(devices.size(), static_cast<std::size_t>(kReadings)) << app->output();
    // Failed attempts are logged with their number and the next wait.
    EXPECT_NE(app->output().find("(attempt 1): no connection"), std::string::npos) << app->output();
}

}  // namespace

TEST(Reconnect, SingleProcessIsReadySoonAfterTheBrokersReturn) {
    ready_again_after_broker_restart({}, 1);
}

TEST(Reconnect, WorkersAreReadySoonAfterTheBrokersReturn) {
    ready_again_after_broker_restart({"--workers"}, 4);
}

TEST(ConnectErrors, RefusedCredentialsAreNamedInTheLogAndInReadyz) {
    test::mosquitto_broker broker(test::broker_options{.allow_anonymous = false});
    const int http = test::free_loopback_port();
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {},
                               {{"HTTP_PORT", std::to_string(http)},
                                {"MQTT_USERNAME", "itest"},
                                {"MQTT_PASSWORD", "hunter2-secret"}});
    const auto refused = test::http_poll(
        http, "/readyz",
        [](const test::http_response& r) {
            return r.body.find("not authorized (CONNACK 135)") != std::string::npos;
        },
        10s);
    EXPECT_EQ(refused.status, 503);
    EXPECT_NE(refused.body.find("main: not connected to the broker (attempt "), std::string::npos)
        << refused.body;
    // Logged on every attempt, with its number, not once and then silence.
    ASSERT_TRUE(app->wait_for_output("(attempt 4)", 10s)) << app->output();
    const auto out = app->output();
    EXPECT_GE(
        test::count_occurrences(out, "not authorized (CONNACK 135): bad user name or password"), 4)
        << out;
    EXPECT_EQ(out.find("hunter2"), std::string::npos) << "the password was shown:\n" << out;
    EXPECT_EQ(test::http_get(http, "/readyz").body.find("hunter2"), std::string::npos);
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(10s), 0) << app->output();
}

TEST(Startup, HostileSettingsExitWithStatus2AndOneLineNamingTheVariable) {
    struct hostile {
        std::map<std::string, std::string> env;
        std::string expected;
    };
    const std::vector<hostile> cases = {
        {{{"MQTT_BROKER", "broker.example:1883"}}, "put the port in MQTT_PORT"},
        {{{"MQTT_BROKER", "tcp://broker.example"}}, "put the port in MQTT_PORT"},
        {{{"MQTT_BROKER", "[::1]:1883"}}, "put the port in MQTT_PORT"},
        {{{"MQTT_PASSWORD", "hunter2-secret"}}, "MQTT_USERNAME"},
        {{{"MQTT_TLS_CA_FILE", "/tmp"}}, "MQTT_TLS_CA_FILE='/tmp'"},
        {{{"MQTT_TLS_KEY_FILE", "/nonexistent/key.pem"}}, "MQTT_TLS_KEY_FILE"},
        {{{"MQTT_MAX_PACKET_SIZE", "10"}}, "MQTT_MAX_PACKET_SIZE='10'"},
    };
    for (const auto& c : cases) {
        const auto [status, out] = run_briefly({"--env-file", "/dev/null"}, c.env);
        EXPECT_EQ(status, 2) << out;
        EXPECT_EQ(test::count_occurrences(out, "\n"), 1) << out;
        EXPECT_NE(out.find(c.expected), std::string::npos) << out;
        EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
    }
    // A secret pasted on a line of its own in .env: file and line, never the text.
    const auto env_file = test::temp_path("hostile.env");
    std::ofstream(env_file) << "MQTT_USERNAME=u\nhunter2-secret\n";
    const auto [status, out] = run_briefly({"--env-file", env_file}, {});
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find(env_file + ":2"), std::string::npos) << out;
    EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
    std::remove(env_file.c_str());
}

TEST(Startup, UnknownEnvFileKeysAreWarnedAboutWithTheClosestName) {
    test::mosquitto_broker broker;
    const auto env_file = test::temp_path("typo.env");
    std::ofstream(env_file) << "MQTT_BROKR=elsewhere\nLOG_LEVEL=info\nMY_OWN_THING=1\n";
    test::child_process app({ROUTEMQ_EXECUTABLE, "--env-file", env_file},
                            {{"MQTT_BROKER", "127.0.0.1"},
                             {"MQTT_PORT", std::to_string(broker.port())},
                             {"HTTP_ENABLED", "false"}},
                            test::temp_path("typo.log"));
    ASSERT_TRUE(app.wait_for_output("serving", 10s)) << app.output();
    const auto out = app.output();
    EXPECT_NE(out.find("unknown setting MQTT_BROKR is ignored (did you mean MQTT_BROKER?)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("unknown setting MY_OWN_THING is ignored\n"), std::string::npos) << out;
    EXPECT_EQ(test::count_occurrences(out, "unknown setting"), 2) << out;
    app.signal(SIGTERM);
    EXPECT_EQ(app.wait(10s), 0);
    std::remove(env_file.c_str());
}

TEST(LogInjection, ANewlineInAPayloadCannotForgeALogLine) {
    test::mosquitto_broker broker;
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker.port());
    ASSERT_TRUE(app->wait_for_output("serving", 10s)) << app->output();
    test::test_client user(broker.port(), "itest-user");
    // alerts/{device_id} logs its payload; an unrouted topic is logged too.
    user.publish("alerts/9",
                 "smoke\n2026-01-01 00:00:00.000 critical [main] forged: all data deleted\r\tend");
    ASSERT_TRUE(app->wait_for_output("alert from device 9", 10s)) << app->output();
    const auto out = app->output();
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_NE(line.rfind("2026-01-01 00:00:00.000", 0), 0u) << "forged line: " << line;
        EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    }
    EXPECT_NE(out.find(R"(smoke\n2026-01-01 00:00:00.000 critical [main] forged)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(R"(deleted\r\tend)"), std::string::npos) << out;
}

TEST(MaxPacketSize, BiggerMessagesNeverReachAHandlerAndSmallerOnesStillDo) {
    test::mosquitto_broker broker;
    auto app =
        test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {}, {{"MQTT_MAX_PACKET_SIZE", "1024"}});
    ASSERT_TRUE(app->wait_for_output("serving", 10s)) << app->output();
    test::test_client user(broker.port(), "itest-user");
    user.subscribe("sensors/+/processed");
    user.publish("sensors/1/data", R"({"temp":1,"pad":")" + std::string(3000, 'x') + R"("})");
    user.publish("sensors/2/data", R"({"temp":2})");
    const auto got = user.drain(1500ms);
    ASSERT_EQ(got.size(), 1u) << app->output();
    EXPECT_EQ(json::parse(got[0].payload)["device_id"], "2");
    EXPECT_EQ(app->output().find("sensors/1/data"), std::string::npos) << app->output();
}

TEST(Keepalive, AnIdleWorkersOutgoingConnectionIsKeptAlive) {
    // Nothing is published for longer than the broker allows a silent client (1.5 keepalives):
    // the results connection must stay up, or the next message would wait for a reconnect.
    test::mosquitto_broker broker;
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {"--workers"},
                               {{"MQTT_KEEPALIVE", "5"}});
    ASSERT_TRUE(app->wait_for_output("] serving", 20s, 4)) << app->output();
    // mosquitto drops a client silent for 7.5 s here, checking every few seconds (seen at 12 s).
    std::this_thread::sleep_for(16s);
    EXPECT_EQ(broker.log().find("exceeded timeout"), std::string::npos) << broker.log();
    test::test_client sub(broker.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker.port(), 30);
    EXPECT_EQ(sub.collect(30, 10s).size(), 30u) << app->output();
    EXPECT_EQ(app->output().find("up again"), std::string::npos)
        << "a results connection was reconnected:\n"
        << app->output();
}

TEST(Stop, WorkersStoppedAsTheirBrokerGoesAwayDoNotWaitOutTheGracePeriod) {
    // Ctrl-C on a terminal signals the broker started beside the application too: the workers'
    // UNSUBACK never comes, and the stop must not wait SHUTDOWN_GRACE_SECONDS for it.
    test::mosquitto_broker broker;
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {"--workers"},
                               {{"SHUTDOWN_GRACE_SECONDS", "20"}});
    ASSERT_TRUE(app->wait_for_output("] serving", 20s, 4)) << app->output();
    app->signal(SIGTERM);
    broker.stop();
    const auto status = app->wait(15s);
    EXPECT_EQ(status.value_or(-1), 0) << app->output();
    EXPECT_EQ(app->output().find("overran"), std::string::npos) << app->output();
}
