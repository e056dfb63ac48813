// The dashboard in a real browser: the application runs with --workers against mosquitto while
// orders flow; headless Chromium (driven by tests/dashboard/check-dashboard.mjs) loads the page,
// checks that the process and route tables and a plot are drawn from live data, is refused a
// replay without the token and replays a dead letter with it. The screenshot is kept as a test
// artifact.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

namespace {

TEST(DashboardInABrowser, ShowsLiveDataAndReplaysOnlyWithTheToken) {
    test::mosquitto_broker broker;
    const std::string down = test::temp_path("orders-down");
    std::ofstream(down) << "down\n";
    const int http_port = test::free_loopback_port();
    const std::string token = "dashboard-test-token-" + std::to_string(getpid());
    auto app = test::start_app(ROUTEMQ_DEAD_LETTERS_APP, broker.port(), {"--workers"},
                               {{"MQTT_GROUP_NAME", "orders"},
                                {"INSTANCE_NAME", "dash-" + std::to_string(getpid())},
                                {"ORDERS_DOWN_FILE", down},
                                {"HTTP_PORT", std::to_string(http_port)},
                                {"DASHBOARD_TOKEN", token}});
    ASSERT_TRUE(app->wait_for_output("subscribed to '$share/", 20s, 2)) << app->output();

    // Three orders fail while the database is down: three dead letters to look at.
    test::test_client pub(broker.port(), "dash-pub-" + std::to_string(getpid()), false, true);
    for (int i = 0; i < 3; ++i) {
        pub.publish("orders/" + std::to_string(i), "order " + std::to_string(i), 1,
                    {{"tenant", "acme"}});
    }
    const auto kept = test::http_poll(
        http_port, "/api/dead-letters",
        [](const test::http_response& r) {
            return r.body.find("\"kept\":3,") != std::string::npos;
        },
        30s);
    ASSERT_NE(kept.body.find("\"kept\":3,"), std::string::npos) << kept.body << app->output();

    // The database is back; orders flow while the browser looks.
    std::filesystem::remove(down);
    test::test_client sub(broker.port(), "dash-sub-" + std::to_string(getpid()));
    sub.subscribe("done/#");
    std::atomic<bool> flowing{true};
    std::thread flood([&] {
        test::test_client flow(broker.port(), "dash-flow-" + std::to_string(getpid()), false);
        for (int i = 100; flowing; ++i) {
            flow.publish("orders/" + std::to_string(i), "order " + std::to_string(i), 1);
            std::this_thread::sleep_for(20ms);
        }
    });
    const auto artifacts = std::filesystem::path(ROUTEMQ_ARTIFACTS_DIR);
    std::filesystem::create_directories(artifacts);
    const auto screenshot = artifacts / "dashboard.png";
    std::filesystem::remove(screenshot);
    test::child_process check({ROUTEMQ_NODE, ROUTEMQ_DASHBOARD_CHECK, "--url",
                               "http://127.0.0.1:" + std::to_string(http_port) + "/", "--token",
                               token, "--screenshot", screenshot.string(), "--route",
                               "orders/{id}"});
    const auto status = check.wait(150s);
    flowing = false;
    flood.join();
    EXPECT_EQ(status, 0) << check.output();
    std::cout << check.output();
    EXPECT_TRUE(std::filesystem::exists(screenshot));
    EXPECT_GT(std::filesystem::file_size(screenshot), 10'000U);

    // The replay the page asked for ran the order again, now that the database is back.
    bool replayed = false;
    for (const auto& m : sub.drain(2s)) {
        replayed = replayed || m.topic == "done/0" || m.topic == "done/1" || m.topic == "done/2";
    }
    EXPECT_TRUE(replayed);
    EXPECT_TRUE(app->wait_for_output("dashboard: dead letter", 1s)) << app->output();
    EXPECT_TRUE(app->wait_for_output("wrong or missing token", 1s)) << app->output();
    EXPECT_EQ(app->output().find(token), std::string::npos) << "the token is never logged";
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s), 0) << app->output();
}

}  // namespace
