// The dead-letter store against a real mosquitto with persistence: dead letters kept while
// nobody listens, through restarts of the application and of the broker; the bound; and replay
// after a fix, including a thousand under kill -9 of the replaying process. Every figure is
// counted by what the application published (done/<id>), and printed.

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

namespace {

class dead_letters_test : public ::testing::Test {
protected:
    test::mosquitto_broker broker_{test::broker_options{.persistence = true}};
    /// While this file exists the application's orders fail ("the database is down").
    std::string down_ = test::temp_path("orders-down");
    int http_port_ = test::free_loopback_port();

    void SetUp() override { std::ofstream(down_) << "down\n"; }
    void TearDown() override { std::filesystem::remove(down_); }

    std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
        extra.emplace("MQTT_BROKER", "127.0.0.1");
        extra.emplace("MQTT_PORT", std::to_string(broker_.port()));
        extra.emplace("MQTT_GROUP_NAME", "orders");
        extra.emplace("INSTANCE_NAME", "dl-" + std::to_string(getpid()));
        extra.emplace("ORDERS_DOWN_FILE", down_);
        extra.emplace("HTTP_PORT", std::to_string(http_port_));
        return extra;
    }

    std::unique_ptr<test::child_process> start(std::map<std::string, std::string> extra = {}) {
        auto app = test::start_app(ROUTEMQ_DEAD_LETTERS_APP, broker_.port(), {"--workers"},
                                   env(std::move(extra)));
        EXPECT_TRUE(app->wait_for_output("dead-letter store:", 20s)) << app->output();
        EXPECT_TRUE(app->wait_for_output("subscribed to '$share/", 20s, 2)) << app->output();
        return app;
    }

    /// `routemq dead-letters ARGS` of the application; its output, and its exit status in `rc`.
    std::string dead_letters(const std::vector<std::string>& args, int* rc = nullptr) {
        std::vector<std::string> argv = {ROUTEMQ_DEAD_LETTERS_APP, "--env-file", "/dev/null",
                                         "dead-letters"};
        argv.insert(argv.end(), args.begin(), args.end());
        test::child_process cli(argv, env());
        const auto status = cli.wait(60s);
        if (rc != nullptr) {
            *rc = status.value_or(-1);
        }
        return cli.output();
    }

    /// Kept dead letters, as `dead-letters list --json` counts them.
    int listed() {
        int rc = -1;
        const auto out = dead_letters({"list", "--json"}, &rc);
        EXPECT_EQ(rc, 0) << out;
        return test::count_occurrences(out, "\"id\":");
    }

    /// Waits until the manager's index says `kept` (and `evicted`, when not negative).
    test::http_response wait_kept(int kept, int evicted = -1, std::chrono::seconds timeout = 60s) {
        const auto want = "\"kept\":" + std::to_string(kept) + ",";
        const auto want_evicted = "\"evicted\":" + std::to_string(evicted) + ",";
        return test::http_poll(
            http_port_, "/api/dead-letters",
            [&](const test::http_response& r) {
                return r.body.find(want) != std::string::npos &&
                       (evicted < 0 || r.body.find(want_evicted) != std::string::npos);
            },
            timeout);
    }

    void publish_orders(int from, int to) {
        std::vector<test::received> batch;
        for (int i = from; i < to; ++i) {
            batch.push_back({.topic = "orders/" + std::to_string(i),
                             .payload = "order " + std::to_string(i),
                             .properties = {{"tenant", "acme"}}});
        }
        test::test_client pub(broker_.port(), "dl-pub-" + std::to_string(getpid()), false, true);
        pub.publish_many(batch, 100);
    }

    /// done/<id> results until `expected` distinct ids came or `timeout`, then 1 s more.
    static std::map<std::string, std::vector<std::string>> collect_done(
        test::test_client& sub, std::size_t expected, std::chrono::seconds timeout,
        std::map<std::string, std::vector<std::string>> seen = {}) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (seen.size() < expected && std::chrono::steady_clock::now() < deadline) {
            if (auto m = sub.next(200ms)) {
                seen[m->topic.substr(5)].push_back(m->payload);
            }
        }
        for (const auto& m : sub.drain(1s)) {
            seen[m.topic.substr(5)].push_back(m.payload);
        }
        return seen;
    }
};

TEST_F(dead_letters_test, KeptWithNobodySubscribedThroughRestartsThenReplayedWithTheirProperties) {
    auto app = start();
    publish_orders(0, 5);
    auto r = wait_kept(5);
    ASSERT_NE(r.body.find("\"kept\":5,"), std::string::npos) << r.body << app->output();
    EXPECT_NE(r.body.find("the orders database is down"), std::string::npos) << r.body;

    // Nobody subscribes to dead-letter/# at any point; the application and the broker restart.
    app->signal(SIGTERM);
    ASSERT_EQ(app->wait(30s), 0) << app->output();
    app.reset();
    broker_.stop();
    broker_.start();
    EXPECT_EQ(listed(), 5);
    // With the application gone (its sessions ended with it), a replay would reach nobody: the
    // broker says so (0x10), and every dead letter stays kept.
    int rc = -1;
    auto out = dead_letters({"replay", "--all"}, &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("No matching subscribers"), std::string::npos) << out;
    EXPECT_EQ(listed(), 5);
    app = start();
    r = wait_kept(5);
    EXPECT_NE(r.body.find("\"kept\":5,"), std::string::npos) << r.body;
    const auto metrics = test::http_get(http_port_, "/metrics").body;
    EXPECT_NE(metrics.find("\nroutemq_dead_letters_kept 5\n"), std::string::npos) << metrics;

    // The operator fixes the database and replays them.
    std::filesystem::remove(down_);
    test::test_client sub(broker_.port(), "dl-sub-" + std::to_string(getpid()));
    sub.subscribe("done/#");
    out = dead_letters({"replay", "--all"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("replayed 5 dead letters"), std::string::npos) << out;
    const auto done = collect_done(sub, 5, 20s);
    ASSERT_EQ(done.size(), 5U);
    for (int i = 0; i < 5; ++i) {
        const auto& got = done.at(std::to_string(i));
        ASSERT_EQ(got.size(), 1U) << "order " << i;
        EXPECT_EQ(got.front(), "order " + std::to_string(i) + "|acme");  // its tenant property
    }
    EXPECT_EQ(listed(), 0);
    r = wait_kept(0);
    EXPECT_NE(r.body.find("\"kept\":0,"), std::string::npos) << r.body;
}

TEST_F(dead_letters_test, TheBoundRemovesTheOldestAndCountsThem) {
    auto app = start({{"DEAD_LETTER_MAX", "3"}});
    for (int i = 0; i < 6; ++i) {  // one at a time, so their ids follow the order sent
        publish_orders(i, i + 1);
        const auto listed_now = test::http_poll(
            http_port_, "/api/dead-letters",
            [i](const test::http_response& r) {
                return r.body.find("\"orders/" + std::to_string(i) + "\"") != std::string::npos;
            },
            20s);
        ASSERT_NE(listed_now.body.find("\"orders/" + std::to_string(i) + "\""), std::string::npos)
            << listed_now.body << app->output();
    }
    const auto r = wait_kept(3, 3);
    EXPECT_NE(r.body.find("\"evicted\":3,"), std::string::npos) << r.body;
    int rc = -1;
    const auto out = dead_letters({"list"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(out.find("orders/" + std::to_string(i) + " ") != std::string::npos, i >= 3)
            << "orders/" << i << " in\n"
            << out;
    }
    const auto metrics = test::http_get(http_port_, "/metrics").body;
    EXPECT_NE(metrics.find("\nroutemq_dead_letters_evicted_total 3\n"), std::string::npos)
        << metrics;
    EXPECT_TRUE(app->wait_for_output("removed the", 1s)) << app->output();
}

TEST_F(dead_letters_test, AThousandReplayedUnderKill9OfTheReplayerNoneLost) {
    constexpr int kOrders = 1000;
    auto app = start();
    publish_orders(0, kOrders);
    auto r = wait_kept(kOrders, -1, 120s);
    ASSERT_NE(r.body.find("\"kept\":1000,"), std::string::npos) << r.body.substr(0, 200);

    std::filesystem::remove(down_);
    test::test_client sub(broker_.port(), "dl-sub-" + std::to_string(getpid()));
    sub.subscribe("done/#");
    std::map<std::string, std::vector<std::string>> done;
    {
        test::child_process replayer({ROUTEMQ_DEAD_LETTERS_APP, "--env-file", "/dev/null",
                                      "dead-letters", "replay", "--all"},
                                     env());
        while (done.size() < 100) {
            if (auto m = sub.next(30s)) {
                done[m->topic.substr(5)].push_back(m->payload);
            } else {
                FAIL() << "no replay within 30 s: " << replayer.output();
            }
        }
        replayer.signal(SIGKILL);
        EXPECT_EQ(replayer.wait(10s), 128 + SIGKILL) << "finished before the kill";
    }
    const int left = listed();
    std::cout << "[ figures  ] killed the replayer after " << done.size() << " results; " << left
              << " dead letters still kept\n";
    EXPECT_GT(left, 0);
    EXPECT_LT(left, kOrders);

    int rc = -1;
    const auto out = dead_letters({"replay", "--all"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    done = collect_done(sub, kOrders, 60s, std::move(done));
    std::size_t results = 0;
    for (const auto& [id, got] : done) {
        results += got.size();
    }
    std::cout << "[ figures  ] " << kOrders
              << " dead letters replayed across a kill -9: " << done.size() << " handled, "
              << kOrders - static_cast<int>(done.size()) << " lost, " << results - done.size()
              << " replayed twice\n";
    EXPECT_EQ(done.size(), static_cast<std::size_t>(kOrders));
    EXPECT_LE(results - done.size(), 1U) << "at most the one in hand at the kill runs twice";
    EXPECT_EQ(listed(), 0);
}

}  // namespace
