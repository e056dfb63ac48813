// The example application's routes (routers/, app/), tested as an application's own tests are:
// through routemq::testing's harness, with the application's registration function, no broker.

#include <gtest/gtest.h>

#include <routemq/testing.hpp>
#include <string>
#include <vector>

#include "routers/routes.hpp"

using routemq::testing::outcome;

namespace {

class example_app : public ::testing::Test {
protected:
    routemq::testing::harness app_{routers::register_all};
};

}  // namespace

TEST_F(example_app, ASensorReadingIsProcessedAndPublished) {
    const auto r = app_.deliver(
        {.topic = "sensors/42/data", .payload = R"({"temp":21.5,"unit":"C"})", .qos = 1});
    EXPECT_EQ(r.routes(), std::vector<std::string>{"sensors/{device_id}/data"});
    ASSERT_EQ(r.published.size(), 1u);
    const auto& out = r.published[0];
    EXPECT_EQ(out.topic, "sensors/42/processed");
    EXPECT_EQ(out.qos, 1);
    const auto body = out.json();
    EXPECT_EQ(body["device_id"], "42");
    EXPECT_EQ(body["reading"]["temp"], 21.5);
    EXPECT_EQ(body["reading"]["unit"], "C");
    EXPECT_DOUBLE_EQ(body["temp_f"].get<double>(), 70.7);
    EXPECT_EQ(body["processed_by"], "main");
    // log_requests wraps the sensor routes.
    EXPECT_TRUE(r.logged("sensors/42/data via sensors/{device_id}/data handled in"));
}

TEST_F(example_app, AWorkerNamesItselfInTheResult) {
    routemq::testing::harness worker(routers::register_all, {.process_name = "w1"});
    const auto r = worker.deliver({.topic = "sensors/7/data", .payload = R"({"temp":-3})"});
    ASSERT_EQ(r.published.size(), 1u);
    EXPECT_EQ(r.published[0].json()["processed_by"], "w1");
    EXPECT_EQ(r.published[0].json()["device_id"], "7");
}

TEST_F(example_app, AReadingThatIsNotJsonIsDeadLetteredAsABadPayload) {
    const auto r = app_.deliver({.topic = "sensors/1/data", .payload = "not json", .qos = 1});
    EXPECT_EQ(r.count(outcome::bad_payload), 1) << "not retried";
    EXPECT_EQ(r.runs.size(), 1u);
    EXPECT_TRUE(r.published.empty());
    ASSERT_EQ(r.dead_letters.size(), 1u);
    EXPECT_EQ(r.dead_letters[0].topic, "dead-letter/sensors/1/data");
    EXPECT_EQ(r.dead_letters[0].reason, "payload");
    EXPECT_EQ(r.dead_letters[0].route, "sensors/{device_id}/data");
    EXPECT_EQ(r.dead_letters[0].payload, "not json");
    EXPECT_TRUE(r.logged("sensors/1/data via sensors/{device_id}/data failed after"));
}

TEST_F(example_app, JsonThatIsNotAReadingIsABadPayload) {
    for (const char* payload : {"[]", R"({"temp":"warm"})", R"({"unit":"C"})"}) {
        const auto r = app_.deliver({.topic = "sensors/1/data", .payload = payload, .qos = 1});
        ASSERT_EQ(r.runs.size(), 1u) << payload;
        EXPECT_EQ(r.runs[0].outcome, outcome::bad_payload) << payload;
        ASSERT_EQ(r.dead_letters.size(), 1u) << payload;
        EXPECT_EQ(r.dead_letters[0].error, R"(expected {"temp": <number>, ...})");
        EXPECT_TRUE(r.published.empty());
    }
}

TEST_F(example_app, AnAlertIsLoggedWithItsDevice) {
    const auto r = app_.deliver({.topic = "alerts/9", .payload = "smoke", .qos = 1});
    EXPECT_EQ(r.routes(), std::vector<std::string>{"alerts/{device_id}"});
    EXPECT_TRUE(r.handled());
    EXPECT_TRUE(r.logged("[warning] alert from device 9: smoke"));
    EXPECT_TRUE(r.published.empty());
}

TEST_F(example_app, AConfigurationUpdateMustBeAJsonObject) {
    const auto ok = app_.deliver({.topic = "config/update", .payload = R"({"rate":5})"});
    EXPECT_TRUE(ok.handled());
    EXPECT_TRUE(ok.logged(R"(configuration updated: {"rate":5})"));
    for (const char* payload : {"[1,2]", "{broken"}) {
        const auto bad = app_.deliver({.topic = "config/update", .payload = payload});
        EXPECT_EQ(bad.count(outcome::bad_payload), 1) << payload;
        ASSERT_EQ(bad.dead_letters.size(), 1u);
        EXPECT_EQ(bad.dead_letters[0].reason, "payload");
    }
}

TEST_F(example_app, ADeviceCommandAnswersItsCaller) {
    const auto ping = app_.deliver({.topic = "devices/42/command",
                                    .payload = R"({"action":"ping"})",
                                    .qos = 1,
                                    .response_topic = "routemq/replies/callers-1",
                                    .correlation_data = "c1"});
    EXPECT_EQ(ping.statuses(), (std::vector<std::string>{"accepted", "progress", "done"}));
    EXPECT_EQ(ping.replies[1].json()["note"], "sent to the device");
    EXPECT_EQ(ping.replies[2].json(),
              (nlohmann::json{{"device_id", "42"}, {"action", "ping"}, {"result", "pong"}}));
    EXPECT_EQ(ping.replies[2].topic, "routemq/replies/callers-1");
    EXPECT_EQ(ping.replies[2].correlation_data, "c1");

    const auto reboot = app_.deliver({.topic = "devices/3/command",
                                      .payload = R"({"action":"reboot"})",
                                      .response_topic = "routemq/replies/callers-1"});
    EXPECT_EQ(reboot.replies.back().json()["result"], "rebooting");
}

TEST_F(example_app, AnUnknownCommandFailsTheRequestWithTheReason) {
    const auto r = app_.deliver({.topic = "devices/42/command",
                                 .payload = R"({"action":"dance"})",
                                 .response_topic = "routemq/replies/callers-1"});
    EXPECT_EQ(r.statuses(), (std::vector<std::string>{"accepted", "failed"}));
    EXPECT_EQ(r.replies[1].json(),
              (nlohmann::json{{"reason", "payload"}, {"error", "unknown action 'dance'"}}));
    EXPECT_EQ(r.dead_letters.size(), 1u);
}

TEST_F(example_app, ACommandThatIsNotARequestIsHandledSilently) {
    const auto r = app_.deliver({.topic = "devices/42/command", .payload = R"({"action":"ping"})"});
    EXPECT_TRUE(r.handled());
    EXPECT_TRUE(r.replies.empty());
    EXPECT_TRUE(r.published.empty());
}

TEST_F(example_app, TopicsOutsideTheRoutesReachNothing) {
    EXPECT_TRUE(app_.deliver({.topic = "sensors/42/processed", .payload = "{}"}).no_route)
        << "its own output is not one of its routes";
    EXPECT_TRUE(app_.deliver({.topic = "sensors/42/data/extra", .payload = "{}"}).no_route);
    EXPECT_TRUE(app_.deliver({.topic = "config/other"}).no_route);
}

TEST_F(example_app, TheSensorRouteIsSharedByThreeWorkersOfTheIngestPool) {
    ASSERT_EQ(app_.routes().size(), 4u);
    const auto& sensors = app_.routes()[0];
    EXPECT_EQ(sensors.pattern.text(), "sensors/{device_id}/data");
    EXPECT_TRUE(sensors.options.shared);
    EXPECT_EQ(sensors.options.worker_count, 3);
    EXPECT_EQ(sensors.options.pool, "ingest");
}
