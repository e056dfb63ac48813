// routemq::testing's broker fixture, child processes and MQTT client, which applications'
// integration tests (and this project's) stand on.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <routemq/errors.hpp>
#include <routemq/testing.hpp>
#include <set>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using routemq::testing::broker;
using routemq::testing::mqtt_client;
using routemq::testing::process;

namespace {

/// True when an MQTT client can connect to 127.0.0.1:`port`.
bool listening(int port) {
    try {
        mqtt_client probe(port, "fixture-probe", /*receive=*/false);
        return true;
    } catch (const routemq::error&) {
        return false;
    }
}

/// The pids of the mosquitto processes that are children of this process.
std::set<pid_t> mosquitto_children() {
    std::set<pid_t> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream stat(entry.path() / "stat");
        std::string pid, comm, state;
        pid_t parent = 0;
        stat >> pid >> comm >> state >> parent;
        if (stat && parent == getpid() && comm == "(mosquitto)" && state != "Z") {
            out.insert(std::stoi(pid));
        }
    }
    return out;
}

}  // namespace

TEST(BrokerFixture, StartsOnAFreeLoopbackPortAndCarriesMessages) {
    broker a;
    broker b;
    EXPECT_NE(a.port(), b.port());
    EXPECT_EQ(a.host(), "127.0.0.1");
    EXPECT_TRUE(a.running());
    EXPECT_TRUE(listening(a.port())) << "the constructor returns once it accepts connections";
    EXPECT_EQ(a.env(), (std::map<std::string, std::string>{
                           {"MQTT_BROKER", "127.0.0.1"}, {"MQTT_PORT", std::to_string(a.port())}}));
    EXPECT_EQ(a.settings().mqtt.port, a.port());
    EXPECT_EQ(a.settings().mqtt.broker, "127.0.0.1");

    mqtt_client sub(a.port(), "fixture-sub");
    sub.subscribe("fixture/#");
    mqtt_client pub(a.port(), "fixture-pub", /*receive=*/false);
    pub.publish("fixture/1", "hello");
    const auto got = sub.next(5s);
    ASSERT_TRUE(got) << a.log();
    EXPECT_EQ(got->payload, "hello");
    EXPECT_NE(a.log().find("fixture-sub"), std::string::npos) << a.log();
}

TEST(BrokerFixture, StopsWithTheObjectAndRestartsOnTheSamePort) {
    const auto before = mosquitto_children();
    int port = 0;
    {
        broker b;
        port = b.port();
        EXPECT_EQ(mosquitto_children().size(), before.size() + 1);
        b.stop();
        EXPECT_FALSE(b.running());
        EXPECT_FALSE(listening(port));
        EXPECT_NE(b.log().find("mosquitto version"), std::string::npos)
            << "the log outlives the stop: " << b.log();
        b.start();
        EXPECT_TRUE(b.running());
        EXPECT_EQ(b.port(), port);
        EXPECT_TRUE(listening(port));
    }
    EXPECT_EQ(mosquitto_children(), before) << "no mosquitto left behind";
    EXPECT_FALSE(listening(port));
}

TEST(BrokerFixture, TakesExtraConfiguration) {
    broker refusing(routemq::testing::broker_options{.allow_anonymous = false});
    EXPECT_THROW(mqtt_client(refusing.port(), "refused"), routemq::error);

    broker verbose("log_type all\n");
    mqtt_client c(verbose.port(), "verbose-client");
    c.subscribe("x");
    EXPECT_TRUE([&] {
        for (int i = 0; i < 100 && verbose.log().find("Received SUBSCRIBE") == std::string::npos;
             ++i) {
            std::this_thread::sleep_for(20ms);
        }
        return verbose.log().find("Received SUBSCRIBE") != std::string::npos;
    }()) << verbose.log();
}

TEST(BrokerFixture, SaysWhyItDidNotStart) {
    try {
        broker b(routemq::testing::broker_options{.extra_config = "no_such_option 1\n"});
        FAIL() << "a broker with an invalid configuration started";
    } catch (const routemq::error& e) {
        EXPECT_NE(std::string(e.what()).find("did not start"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("no_such_option"), std::string::npos) << e.what();
    }
    EXPECT_THROW(broker(routemq::testing::broker_options{.executable = "/nonexistent/mosquitto"}),
                 routemq::error);
}

TEST(MqttClient, CollectsInOrderAndCarriesMqtt5Properties) {
    broker b;
    mqtt_client sub(b.port(), "collector", /*receive=*/true, /*mqtt5=*/true);
    sub.subscribe("c/#");
    mqtt_client pub(b.port(), "requester", /*receive=*/false, /*mqtt5=*/true);
    pub.publish_request("c/ask", "q", "c/answers", std::string("\0id", 3));
    pub.publish("c/1", "one");
    pub.publish("c/2", "two", 0);
    const auto got = sub.collect(3, 5s);
    ASSERT_EQ(got.size(), 3u) << b.log();
    EXPECT_EQ(got[0].topic, "c/ask");
    EXPECT_EQ(got[0].correlation_data, std::string("\0id", 3));
    EXPECT_EQ(got[1].payload, "one");
    EXPECT_EQ(got[2].payload, "two");
    EXPECT_TRUE(sub.drain(200ms).empty());
    EXPECT_FALSE(sub.next(10ms));
    mqtt_client v311(b.port(), "plain");
    EXPECT_THROW(v311.publish_request("c/ask", "q", "c/answers", "x"), routemq::error)
        << "requests need MQTT 5";
}

TEST(Process, ReportsExitStatusSignalAndOutput) {
    process ok({"/bin/sh", "-c", "echo out; echo err >&2; echo \"$GREETING\"; exit 3"},
               {{"GREETING", "hello from env"}});
    EXPECT_EQ(ok.wait(5s), 3);
    EXPECT_FALSE(ok.running());
    EXPECT_EQ(ok.output(), "out\nerr\nhello from env\n");
    EXPECT_EQ(routemq::testing::count_occurrences(ok.output(), "o"), 3);

    process sleeper({"/bin/sh", "-c", "echo ready; exec sleep 30"});
    EXPECT_TRUE(sleeper.wait_for_output("ready", 5s));
    EXPECT_FALSE(sleeper.wait_for_output("ready", 50ms, 2));
    EXPECT_EQ(sleeper.wait(50ms), std::nullopt);
    EXPECT_TRUE(sleeper.running());
    sleeper.signal(SIGTERM);
    EXPECT_EQ(sleeper.wait(5s), 128 + SIGTERM);

    process missing({"/nonexistent/program"});
    EXPECT_EQ(missing.wait(5s), 127);
}

TEST(Process, IsKilledWithTheObjectAndItsLogRemoved) {
    pid_t pid = 0;
    const auto log = routemq::testing::temp_path("kept.log");
    {
        process p({"/bin/sh", "-c", "exec sleep 30"}, {}, log);
        pid = p.pid();
        EXPECT_TRUE(std::filesystem::exists(log));
    }
    EXPECT_NE(kill(pid, 0), 0) << "the child was killed and reaped";
    EXPECT_FALSE(std::filesystem::exists(log));
    EXPECT_NE(routemq::testing::temp_path("a"), routemq::testing::temp_path("a"));
}
