// The HTTP endpoint of a real pod (manager + workers) against a real mosquitto: what a
// Kubernetes probe and a Prometheus scrape see while messages flow, a worker dies and the broker
// goes away.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/prometheus_text.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kMessages = 3000;
const std::string kSensorRoute = "sensors/{device_id}/data";

bool has_status(const test::http_response& r, int status) {
    return r.status == status;
}

/// Polls /metrics until the handled messages matching `labels` reach `count` (or the timeout).
void wait_for_handled(int port, double count, const std::map<std::string, std::string>& labels,
                      std::chrono::milliseconds timeout) {
    test::http_poll(
        port, "/metrics",
        [&](const test::http_response& r) {
            return r.status == 200 && test::parse_prometheus(r.body).sum(
                                          "routemq_messages_handled_total", labels) >= count;
        },
        timeout);
}

test::prom_exposition scrape(int port) {
    const auto res = test::http_get(port, "/metrics");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
    return test::parse_prometheus(res.body);
}

class health_test : public ::testing::Test {
protected:
    /// Starts `routemq <args>` with its endpoint on a free port and waits for `processes`
    /// "serving" lines.
    std::unique_ptr<test::child_process> start(std::vector<std::string> args, int processes,
                                               std::map<std::string, std::string> env = {}) {
        env.emplace("HTTP_PORT", std::to_string(http_port_));
        auto app =
            test::start_app(ROUTEMQ_EXECUTABLE, broker_.port(), std::move(args), std::move(env));
        EXPECT_TRUE(app->wait_for_output("] serving", 20s, processes)) << app->output();
        return app;
    }

    test::mosquitto_broker broker_;
    int http_port_ = test::free_loopback_port();
};

}  // namespace

TEST_F(health_test, MetricsSumEveryWorkerAndReadinessFollowsARestart) {
    // A restart delay long enough to tell "dead" apart from "restarted, not subscribed yet".
    auto app = start({"--workers"}, 4, {{"WORKER_RESTART_BACKOFF_MS", "3000"}});
    ASSERT_EQ(test::http_poll(
                  http_port_, "/readyz", [](auto& r) { return has_status(r, 200); }, 10s)
                  .status,
              200)
        << app->output();

    test::publish_readings(broker_.port(), kMessages);
    wait_for_handled(http_port_, kMessages, {{"route", kSensorRoute}}, 60s);
    auto m = scrape(http_port_);
    EXPECT_EQ(m.sum("routemq_messages_handled_total", {{"route", kSensorRoute}}), kMessages);
    EXPECT_EQ(m.sum("routemq_handler_duration_seconds_count", {{"route", kSensorRoute}}),
              kMessages);
    EXPECT_EQ(m.sum("routemq_messages_failed_total"), 0);
    EXPECT_EQ(m.sum("routemq_messages_received_total"), kMessages);
    for (const char* w : {"w1", "w2", "w3"}) {
        EXPECT_GT(m.sum("routemq_messages_received_total", {{"process", w}}), 0) << w << " idle";
        EXPECT_EQ(m.sum("routemq_mqtt_subscribed", {{"process", w}}), 1) << w;
    }
    // Three for the shared sensor route, one for the test app's non-shared routes.
    EXPECT_EQ(m.sum("routemq_workers_planned"), 4);
    EXPECT_EQ(m.sum("routemq_workers_running"), 4);
    EXPECT_EQ(m.sum("routemq_worker_restarts_total"), 0);

    const int victim = test::worker_pid(app->output(), 2);
    ASSERT_GT(victim, 0);
    kill(victim, SIGKILL);
    const auto down = test::http_poll(
        http_port_, "/readyz", [](auto& r) { return has_status(r, 503); }, 1s);
    ASSERT_EQ(down.status, 503) << "a dead worker must make the pod unready at once";
    EXPECT_EQ(json::parse(down.body),
              (json{{"ready", false}, {"missing", json::array({"w2: not running"})}}));
    EXPECT_EQ(scrape(http_port_).sum("routemq_workers_running"), 3);

    EXPECT_EQ(test::http_poll(
                  http_port_, "/readyz", [](auto& r) { return has_status(r, 200); }, 20s)
                  .status,
              200)
        << app->output();
    m = scrape(http_port_);
    EXPECT_EQ(m.sum("routemq_worker_restarts_total"), 1);
    EXPECT_EQ(m.sum("routemq_workers_running"), 4);
    EXPECT_EQ(m.sum("routemq_messages_handled_total", {{"route", kSensorRoute}}), kMessages)
        << "the killed worker's counts stay in its slot";
    EXPECT_EQ(test::http_get(http_port_, "/healthz").status, 200);
}

TEST_F(health_test, ReadinessFollowsTheBroker) {
    auto app = start({"--workers"}, 4, {{"MQTT_RECONNECT_MAX_SECONDS", "1"}});
    ASSERT_EQ(test::http_poll(
                  http_port_, "/readyz", [](auto& r) { return has_status(r, 200); }, 10s)
                  .status,
              200);

    broker_.stop();
    const auto down = test::http_poll(
        http_port_, "/readyz", [](auto& r) { return has_status(r, 503); }, 10s);
    ASSERT_EQ(down.status, 503);
    EXPECT_NE(down.body.find("w4: not connected to the broker"), std::string::npos) << down.body;
    EXPECT_EQ(down.body.find("main:"), std::string::npos)
        << "the manager has no MQTT client of its own: " << down.body;
    EXPECT_EQ(test::http_get(http_port_, "/healthz").status, 200) << "alive without a broker";
    EXPECT_EQ(scrape(http_port_).sum("routemq_mqtt_connected"), 0);

    broker_.start();
    const auto up = test::http_poll(
        http_port_, "/readyz", [](auto& r) { return has_status(r, 200); }, 30s);
    EXPECT_EQ(up.status, 200) << up.body;
    const auto m = scrape(http_port_);
    for (const char* p : {"w1", "w2", "w3", "w4"}) {
        EXPECT_GE(m.sum("routemq_mqtt_reconnects_total", {{"process", p}}), 1) << p;
        EXPECT_EQ(m.sum("routemq_mqtt_subscribed", {{"process", p}}), 1) << p;
    }
}

TEST_F(health_test, SingleProcessServesTheSameEndpoint) {
    auto app = start({}, 1);
    ASSERT_EQ(test::http_poll(
                  http_port_, "/readyz", [](auto& r) { return has_status(r, 200); }, 10s)
                  .status,
              200);
    test::publish_readings(broker_.port(), 5);
    wait_for_handled(http_port_, 5, {}, 10s);
    const auto m = scrape(http_port_);
    EXPECT_EQ(m.sum("routemq_messages_received_total", {{"process", "main"}}), 5);
    EXPECT_EQ(m.sum("routemq_workers_planned"), 0);
    EXPECT_EQ(m.count("routemq_mqtt_connected"), 1u) << "one process";

    // The image's HEALTHCHECK: the same executable probing its own endpoint.
    const auto healthcheck = [&](std::vector<std::string> args) {
        args.insert(args.begin(), "healthcheck");
        auto probe = test::start_app(ROUTEMQ_EXECUTABLE, broker_.port(), std::move(args),
                                     {{"HTTP_PORT", std::to_string(http_port_)}});
        return probe->wait(10s);
    };
    EXPECT_EQ(healthcheck({}), 0);
    EXPECT_EQ(healthcheck({"--ready"}), 0);

    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(15s), 0);
    EXPECT_EQ(healthcheck({}), 1) << "nothing answers once the process is gone";
}

TEST_F(health_test, HttpDisabledListensNowhere) {
    auto app = start({}, 1, {{"HTTP_ENABLED", "false"}});
    EXPECT_EQ(test::http_get(http_port_, "/healthz").status, 0);
}

TEST_F(health_test, TakenPortStopsStartupNamingTheSetting) {
    // Something else already listens on the port.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(http_port_));
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker_.port(), {"--workers"},
                               {{"HTTP_PORT", std::to_string(http_port_)}});
    EXPECT_EQ(app->wait(10s), 1);
    EXPECT_NE(app->output().find("HTTP_PORT"), std::string::npos) << app->output();
    EXPECT_EQ(app->output().find("process w1 started"), std::string::npos)
        << "no worker starts when the endpoint cannot";
    close(fd);
}
