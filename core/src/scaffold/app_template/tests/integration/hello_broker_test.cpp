// The built application end to end: a mosquitto of the test's own on a free loopback port, the
// executable as a child process (with its worker processes), and a real MQTT client.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <routemq/testing.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

class hello_on_a_broker : public ::testing::Test {
protected:
    void SetUp() override {
        auto env = broker_.env();
        // Tests may run in parallel: not the default 0.0.0.0:8080.
        env["HTTP_HOST"] = "127.0.0.1";
        env["HTTP_PORT"] = std::to_string(routemq::testing::free_loopback_port());
        app_ = std::make_unique<routemq::testing::process>(
            std::vector<std::string>{APP_EXECUTABLE, "--env-file", "/dev/null", "--workers"}, env);
        ASSERT_TRUE(app_->wait_for_output("] serving", 15s)) << app_->output();
    }

    routemq::testing::broker broker_;
    std::unique_ptr<routemq::testing::process> app_;
};

}  // namespace

TEST_F(hello_on_a_broker, ARequestIsAnsweredOnItsResponseTopic) {
    routemq::testing::mqtt_client caller(broker_.port(), "caller", /*receive=*/true,
                                         /*mqtt5=*/true);
    caller.subscribe("routemq/replies/test");
    caller.publish_request("hello/42", "hi", "routemq/replies/test", "c42");
    const auto answers = caller.collect(2, 10s);
    ASSERT_EQ(answers.size(), 2u) << app_->output();
    EXPECT_EQ(answers[0].property("routemq-status"), "accepted");
    EXPECT_EQ(answers[1].property("routemq-status"), "done");
    EXPECT_EQ(answers[1].correlation_data, "c42");
    EXPECT_EQ(nlohmann::json::parse(answers[1].payload),
              nlohmann::json::parse(R"({"topic":"hello/42","params":{"id":"42"},"bytes":2})"));
    EXPECT_TRUE(app_->wait_for_output("hello: 2 bytes on hello/42", 5s)) << app_->output();
}
