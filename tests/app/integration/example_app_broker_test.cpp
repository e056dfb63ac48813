// The example application end to end, as an application's own integration tests are written:
// routemq::testing's broker, process and MQTT client (routemq::testing_broker) and the built
// executable. Nothing of the framework's own test support.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <routemq/testing.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

class example_app_on_a_broker : public ::testing::Test {
protected:
    void SetUp() override {
        auto env = broker_.env();
        // Tests run in parallel: not the default 0.0.0.0:8080.
        env["HTTP_HOST"] = "127.0.0.1";
        env["HTTP_PORT"] = std::to_string(routemq::testing::free_loopback_port());
        app_ = std::make_unique<routemq::testing::process>(
            std::vector<std::string>{ROUTEMQ_EXECUTABLE, "--env-file", "/dev/null"}, env);
        ASSERT_TRUE(app_->wait_for_output("] serving", 15s)) << app_->output();
    }

    routemq::testing::broker broker_;
    std::unique_ptr<routemq::testing::process> app_;
};

}  // namespace

TEST_F(example_app_on_a_broker, ASensorReadingComesBackProcessed) {
    routemq::testing::mqtt_client user(broker_.port(), "user");
    user.subscribe("sensors/+/processed");
    user.publish("sensors/42/data", R"({"temp":21.5,"unit":"C"})");
    const auto out = user.next(10s);
    ASSERT_TRUE(out) << app_->output();
    EXPECT_EQ(out->topic, "sensors/42/processed");
    const auto body = nlohmann::json::parse(out->payload);
    EXPECT_EQ(body["device_id"], "42");
    EXPECT_EQ(body["reading"]["temp"], 21.5);
    EXPECT_EQ(body["reading"]["unit"], "C");
    EXPECT_EQ(body["processed_by"], "main");
    EXPECT_TRUE(
        app_->wait_for_output("sensors/42/data via sensors/{device_id}/data handled in", 5s))
        << app_->output();
}

TEST_F(example_app_on_a_broker, ABadReadingGoesToTheDeadLetterTopicWithTheReason) {
    routemq::testing::mqtt_client user(broker_.port(), "user", /*receive=*/true, /*mqtt5=*/true);
    user.subscribe("dead-letter/#");
    user.publish("sensors/1/data", "not json");
    const auto dl = user.next(10s);
    ASSERT_TRUE(dl) << app_->output();
    EXPECT_EQ(dl->topic, "dead-letter/sensors/1/data");
    EXPECT_EQ(dl->payload, "not json");
    EXPECT_EQ(dl->property("routemq-reason"), "payload");
    EXPECT_EQ(dl->property("routemq-route"), "sensors/{device_id}/data");
    EXPECT_TRUE(app_->running());
}

TEST_F(example_app_on_a_broker, ADeviceCommandIsAnsweredOnTheResponseTopic) {
    routemq::testing::mqtt_client caller(broker_.port(), "caller", /*receive=*/true,
                                         /*mqtt5=*/true);
    caller.subscribe("routemq/replies/itest");
    caller.publish_request("devices/42/command", R"({"action":"ping"})", "routemq/replies/itest",
                           "c42");
    const auto answers = caller.collect(3, 10s);
    ASSERT_EQ(answers.size(), 3u) << app_->output();
    std::vector<std::string> statuses;
    for (const auto& m : answers) {
        statuses.push_back(m.property("routemq-status"));
        EXPECT_EQ(m.correlation_data, "c42");
    }
    EXPECT_EQ(statuses, (std::vector<std::string>{"accepted", "progress", "done"}));
    EXPECT_EQ(nlohmann::json::parse(answers[2].payload),
              (nlohmann::json{{"device_id", "42"}, {"action", "ping"}, {"result", "pong"}}));
}
