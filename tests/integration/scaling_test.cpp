// Autoscaling against a real mosquitto: a slow route gains workers under load up to its
// max_workers and loses them again when the load is gone, and `routemq ctl scale` sets them;
// every message is handled, once.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

namespace {

/// Publishes jobs/<first>..jobs/<first+count-1>, each taking `ms` milliseconds to handle.
void publish_jobs(test::test_client& pub, int first, int count, int ms) {
    std::vector<test::received> jobs;
    for (int i = first; i < first + count; ++i) {
        jobs.push_back({"jobs/" + std::to_string(i), std::to_string(ms)});
    }
    pub.publish_many(jobs);
}

/// Handled jobs by id: how many times each was answered.
struct tally {
    std::map<std::string, int> times;
    std::set<std::string> pids;

    void add(const std::vector<test::received>& answers) {
        for (const auto& a : answers) {
            times[a.topic]++;
            pids.insert(a.payload);
        }
    }
    int duplicates() const {
        int n = 0;
        for (const auto& [topic, count] : times) {
            n += count - 1;
        }
        return n;
    }
};

}  // namespace

TEST(scaling_test, ASlowRouteGrowsToItsMaximumUnderLoadAndShrinksBackWithoutLoss) {
    test::mosquitto_broker broker;
    auto app = test::start_app(ROUTEMQ_SCALING_APP, broker.port(), {"--workers"},
                               {{"INSTANCE_NAME", "grow-" + std::to_string(getpid())},
                                {"AUTOSCALE_UP_AFTER_SECONDS", "1"},
                                {"AUTOSCALE_DOWN_AFTER_SECONDS", "1"}});
    // The two spare workers start once to release any session a previous run left, then go.
    ASSERT_TRUE(app->wait_for_output("has gone (removed by scaling", 60s, 2)) << app->output();
    ASSERT_TRUE(app->wait_for_output("supervising 3 workers", 30s)) << app->output();

    test::test_client sub(broker.port(), "grow-sub");
    sub.subscribe("done/jobs/+");
    test::test_client pub(broker.port(), "grow-pub", false);
    // 20 ms jobs at about 120 a second for 15 s: more than one or two workers can handle, so
    // it grows to 3. (A rate, not a burst: the broker hands each message to a session when it
    // arrives, so a backlog already queued for w1 stays w1's; new workers share what comes.)
    constexpr int kFlood = 1800;
    // (Batches: one QoS 1 publish at a time waits out TCP's delayed acknowledgement.)
    const auto start = std::chrono::steady_clock::now();
    for (int batch = 0; batch < kFlood / 12; ++batch) {
        publish_jobs(pub, batch * 12, 12, 20);
        std::this_thread::sleep_until(start + batch * 100ms);
    }
    tally seen;
    seen.add(sub.collect(kFlood, 120s));
    EXPECT_TRUE(
        app->output().find("adding worker 2 (w2) (1 -> 2 of at most 3)") != std::string::npos &&
        app->output().find("adding worker 3 (w3) (2 -> 3 of at most 3)") != std::string::npos)
        << app->output();

    // Then a trickle well under the low mark while it shrinks: the workers that go still hold
    // messages, which they must handle before their sessions end.
    constexpr int kTrickle = 100;
    for (int batch = 0; batch < kTrickle / 4; ++batch) {
        publish_jobs(pub, kFlood + batch * 4, 4, 5);
        std::this_thread::sleep_for(200ms);
    }
    ASSERT_TRUE(app->wait_for_output("(2 -> 1)", 60s)) << app->output();
    seen.add(sub.collect(kFlood + kTrickle - seen.times.size(), 60s));
    seen.add(sub.drain(500ms));
    // The figures, for the record: what the autoscaler did and what arrived.
    for (std::size_t at = 0;
         (at = app->output().find("route 'jobs/{id}' busy", at)) != std::string::npos;) {
        const auto end = app->output().find('\n', at);
        std::printf("%s\n", app->output().substr(at, end - at).c_str());
        at = end;
    }
    std::printf("sent %d, handled %zu, duplicates %d, by %zu processes\n", kFlood + kTrickle,
                seen.times.size(), seen.duplicates(), seen.pids.size());
    EXPECT_EQ(seen.times.size(), static_cast<std::size_t>(kFlood + kTrickle)) << "lost messages";
    EXPECT_EQ(seen.duplicates(), 0);
    EXPECT_GE(seen.pids.size(), 3u) << "handled by three workers at least";
    ASSERT_TRUE(app->wait_for_output("has gone (removed by scaling", 30s, 4)) << app->output();
    EXPECT_NE(app->output().find("route 'jobs/{id}' busy"), std::string::npos);

    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}

TEST(scaling_test, CtlScaleSetsTheWorkersOfARouteAndMetricsShowThem) {
    test::mosquitto_broker broker;
    const std::map<std::string, std::string> ids = {
        {"MQTT_CLIENT_ID", "scale"}, {"INSTANCE_NAME", "scale-" + std::to_string(getpid())}};
    auto env = ids;
    // Only the operator scales here.
    env["AUTOSCALE_UP_AFTER_SECONDS"] = "3600";
    env["AUTOSCALE_DOWN_AFTER_SECONDS"] = "86400";
    const int http_port = test::free_loopback_port();
    env["HTTP_PORT"] = std::to_string(http_port);
    auto app = test::start_app(ROUTEMQ_SCALING_APP, broker.port(), {"--workers"}, env);
    ASSERT_TRUE(app->wait_for_output("has gone (removed by scaling", 60s, 2)) << app->output();
    const auto ctl = [&](std::vector<std::string> args, int status = 0) {
        auto run = test::start_app(ROUTEMQ_SCALING_APP, broker.port(), std::move(args), ids);
        EXPECT_EQ(run->wait(10s).value_or(-1), status) << run->output();
        return run->output();
    };
    const auto serving = [&] {
        const auto report = nlohmann::json::parse(ctl({"ctl", "workers", "--json"}));
        int n = 0;
        for (const auto& w : report["processes"]) {
            n += w["state"] == "serving" ? 1 : 0;
        }
        return n;
    };

    EXPECT_NE(ctl({"ctl", "scale", "jobs/{id}", "4"}, 1).find("it can have 1 to 3 workers"),
              std::string::npos);
    EXPECT_NE(ctl({"ctl", "scale", "nope/{id}", "2"}, 1).find("no route is 'nope/{id}'"),
              std::string::npos);
    ctl({"ctl", "scale", "jobs/{id}", "3"});
    for (int i = 0; i < 200 && serving() < 3; ++i) {
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(serving(), 3);
    std::string metrics;
    for (int i = 0; i < 50; ++i) {  // sampled every second
        metrics = test::http_get(http_port, "/metrics").body;
        if (metrics.find("routemq_route_workers{route=\"jobs/{id}\"} 3") != std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_NE(metrics.find("routemq_route_workers{route=\"jobs/{id}\"} 3"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("routemq_route_workers_max{route=\"jobs/{id}\"} 3"), std::string::npos);
    EXPECT_NE(metrics.find("routemq_route_busy_ratio{route=\"jobs/{id}\"} "), std::string::npos);

    // Scaled down with messages queued for the workers that go: none is lost.
    test::test_client sub(broker.port(), "scale-sub");
    sub.subscribe("done/jobs/+");
    test::test_client pub(broker.port(), "scale-pub", false);
    publish_jobs(pub, 0, 300, 10);
    ctl({"ctl", "scale", "jobs/{id}", "1"});
    tally seen;
    seen.add(sub.collect(300, 60s));
    seen.add(sub.drain(500ms));
    EXPECT_EQ(seen.times.size(), 300u) << "lost messages";
    EXPECT_EQ(seen.duplicates(), 0);
    ASSERT_TRUE(app->wait_for_output("has gone (removed by scaling", 30s, 4)) << app->output();
    EXPECT_EQ(serving(), 1);
    EXPECT_NE(ctl({"ctl", "workers"}).find("jobs/{id}                                    1/3"),
              std::string::npos);

    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}

TEST(scaling_test, WorkersLeavingWhenTheirManagerIsKilledStopAtOnceAndTheNextManagerLosesNothing) {
    test::mosquitto_broker broker;
    const std::map<std::string, std::string> env = {
        {"MQTT_CLIENT_ID", "orphan"},
        {"INSTANCE_NAME", "orphan-" + std::to_string(getpid())},
        {"AUTOSCALE_UP_AFTER_SECONDS", "3600"},
        {"AUTOSCALE_DOWN_AFTER_SECONDS", "2"}};
    auto app = test::start_app(ROUTEMQ_SCALING_APP, broker.port(), {"--workers"}, env);
    ASSERT_TRUE(app->wait_for_output("has gone (removed by scaling", 60s, 2)) << app->output();
    const auto ctl = [&](std::vector<std::string> args) {
        auto run = test::start_app(ROUTEMQ_SCALING_APP, broker.port(), std::move(args), env);
        EXPECT_EQ(run->wait(10s).value_or(-1), 0) << run->output();
    };
    // Scaled up by hand while idle: the idle time before does not scale it straight back down.
    ctl({"ctl", "scale", "jobs/{id}", "3"});
    ASSERT_TRUE(app->wait_for_output("adding worker 3", 10s)) << app->output();
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(app->output().find("removing worker"), std::string::npos) << "undone at once\n"
                                                                        << app->output();
    ASSERT_TRUE(app->wait_for_output("] serving", 30s, 5)) << app->output();

    test::test_client sub(broker.port(), "orphan-sub");
    sub.subscribe("done/jobs/+");
    test::test_client pub(broker.port(), "orphan-pub", false);
    constexpr int kJobs = 450;  // about 4.5 s of work for each of the three
    publish_jobs(pub, 0, kJobs, 30);
    const int w2 = test::worker_pid(app->output(), 2);
    const int w3 = test::worker_pid(app->output(), 3);
    ctl({"ctl", "scale", "jobs/{id}", "1"});
    ASSERT_TRUE(app->wait_for_output("removed by scaling: unsubscribing", 10s, 2 + 2))
        << app->output();
    app->signal(SIGKILL);
    app->wait(10s);
    // w2 and w3 were handling what the broker had queued for them; without their manager they
    // keep their sessions and go, instead of handling on unsupervised for seconds.
    std::this_thread::sleep_for(1500ms);
    EXPECT_FALSE(test::process_alive(w2)) << app->output();
    EXPECT_FALSE(test::process_alive(w3));

    auto next = test::start_app(ROUTEMQ_SCALING_APP, broker.port(), {"--workers"}, env);
    tally seen;
    seen.add(sub.collect(kJobs, 90s));
    seen.add(sub.drain(1s));
    EXPECT_EQ(seen.times.size(), static_cast<std::size_t>(kJobs)) << "lost messages\n"
                                                                  << next->output();
    EXPECT_LE(seen.duplicates(), 3) << "at most the messages in hand when the manager died";
    next->signal(SIGTERM);
    EXPECT_EQ(next->wait(30s).value_or(-1), 0) << next->output();
}
