// Priorities against a real mosquitto: one worker serves a low- and a high-priority route; while
// its one handler slot is busy, high-priority messages arriving after a flood of low-priority
// ones are handled before them, and every message is handled once.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

TEST(priority_test, UnderAFloodOfLowPriorityMessagesHighPriorityOnesAreHandledFirst) {
    test::mosquitto_broker broker;
    auto routes =
        test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"routes", "--workers", "1"});
    ASSERT_EQ(routes->wait(10s).value_or(-1), 0);
    EXPECT_NE(routes->output().find("  worker 1    w1-w2   bulk/{id}, urgent/{id}  (1 handler slot "
                                    "shared by 2 priorities, highest first)\n"
                                    "    high      w1      urgent/{id}\n"
                                    "    low       w2      bulk/{id}\n"),
              std::string::npos)
        << routes->output();

    auto app = test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"--workers", "1"},
                               {{"INSTANCE_NAME", "prio-" + std::to_string(getpid())}});
    ASSERT_TRUE(app->wait_for_output("] serving", 30s, 2)) << app->output();
    test::test_client sub(broker.port(), "prio-sub");
    sub.subscribe("done/#");
    test::test_client pub(broker.port(), "prio-pub", false);

    // bulk/0 keeps the one handler slot busy for a second; meanwhile 30 more bulk messages, then
    // 5 urgent ones, arrive.
    pub.publish("bulk/0", "1000");
    std::this_thread::sleep_for(200ms);
    std::vector<test::received> flood;
    for (int i = 1; i <= 30; ++i) {
        flood.push_back({"bulk/" + std::to_string(i), "20"});
    }
    pub.publish_many(flood);
    std::vector<test::received> urgent;
    for (int i = 1; i <= 5; ++i) {
        urgent.push_back({"urgent/" + std::to_string(i), "20"});
    }
    pub.publish_many(urgent);

    struct run {
        long long start = 0;
        long long end = 0;
        std::string topic;
        bool operator<(const run& o) const { return start < o.start; }
    };
    std::vector<run> order;
    std::map<std::string, int> times;
    for (const auto& m : sub.collect(36, 60s)) {
        const auto space = m.payload.find(' ');
        order.push_back({std::stoll(m.payload.substr(0, space)),
                         std::stoll(m.payload.substr(space + 1)), m.topic.substr(5)});
        times[m.topic]++;
    }
    ASSERT_EQ(times.size(), 36u) << "every message handled";
    EXPECT_EQ(order.size(), 36u) << "none twice";
    std::sort(order.begin(), order.end());
    std::string seen;
    for (const auto& r : order) {
        seen += r.topic + " ";
    }
    EXPECT_EQ(order[0].topic, "bulk/0") << seen;
    for (std::size_t i = 1; i <= 5; ++i) {
        EXPECT_EQ(order[i].topic.rfind("urgent/", 0), 0u) << "handled in this order: " << seen;
    }
    // The worker has one handler slot for both priorities: never two handlers at once.
    for (std::size_t i = 1; i < order.size(); ++i) {
        EXPECT_GE(order[i].start, order[i - 1].end)
            << order[i].topic << " started while " << order[i - 1].topic << " ran";
    }
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}

TEST(priority_test, RecycledAndKilledLaneProcessesGiveTheirHandlerSlotBack) {
    test::mosquitto_broker broker;
    // Every lane process is replaced after about 25 messages, and one is killed: the slot it held
    // must come back each time, or the worker stops handling anything.
    auto app = test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"--workers", "1"},
                               {{"INSTANCE_NAME", "prio-recycle-" + std::to_string(getpid())},
                                {"WORKER_MAX_MESSAGES", "25"}});
    ASSERT_TRUE(app->wait_for_output("] serving", 30s, 2)) << app->output();
    test::test_client sub(broker.port(), "prio-recycle-sub");
    sub.subscribe("done/#");
    test::test_client pub(broker.port(), "prio-recycle-pub", false);
    std::vector<test::received> work;
    for (int i = 0; i < 200; ++i) {
        work.push_back({"bulk/" + std::to_string(i), "2"});
        if (i % 2 == 0) {
            work.push_back({"urgent/" + std::to_string(i), "2"});
        }
    }
    pub.publish_many(work, 20, [&](std::size_t sent) {
        if (sent == 20) {
            kill(test::worker_pid(app->output(), 2), SIGKILL);  // the bulk lane, mid-flood
        }
    });
    std::map<std::string, int> times;
    for (const auto& m : sub.collect(work.size(), 90s)) {
        times[m.topic]++;
    }
    EXPECT_EQ(times.size(), work.size()) << "every message handled\n" << app->output();
    // Both lanes were replaced at least once (how often depends on how the flood spreads; a
    // handover may still be finishing when the last answer arrives).
    for (const char* lane : {"process w1: pid ", "process w2: pid "}) {
        EXPECT_TRUE(app->wait_for_output(lane, 30s)) << lane << "was not replaced\n"
                                                     << app->output();
    }
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}

TEST(priority_test, RoutesLogsMetricsAndCtlCountWorkersAndProcessesOfTheTree) {
    // urgent/{id} has 4 handler slots and high priority, bulk/{id} low: with --workers 1 one
    // worker of two lanes (4 processes and 1) sharing 4 handler slots; without it, a worker each.
    test::mosquitto_broker broker;
    const std::map<std::string, std::string> four{{"URGENT_CONCURRENCY", "4"}};
    auto routes =
        test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"routes", "--workers", "1"}, four);
    ASSERT_EQ(routes->wait(10s).value_or(-1), 0);
    EXPECT_NE(routes->output().find(
                  "WORKERS (1 worker, 5 processes with --workers; the manager runs no routes)\n"
                  "  worker 1    w1-w5   bulk/{id}, urgent/{id}  (4 handler slots shared by 2 "
                  "priorities, highest first)\n"
                  "    high      w1-w4   urgent/{id}\n"
                  "    low       w5      bulk/{id}\n"),
              std::string::npos)
        << routes->output();
    routes = test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"routes"}, four);
    ASSERT_EQ(routes->wait(10s).value_or(-1), 0);
    EXPECT_NE(routes->output().find(
                  "WORKERS (2 workers, 5 processes with --workers; the manager runs no routes)\n"
                  "  worker 1    w1      bulk/{id}\n"
                  "  worker 2    w2-w5   urgent/{id}  (4 handler slots)\n"),
              std::string::npos)
        << routes->output();

    const int http_port = test::free_loopback_port();
    auto env = four;
    env["HTTP_PORT"] = std::to_string(http_port);
    env["INSTANCE_NAME"] = "tree-" + std::to_string(getpid());
    auto app = test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"--workers", "1"}, env);
    ASSERT_TRUE(app->wait_for_output("] serving", 30s, 5)) << app->output();
    EXPECT_TRUE(app->wait_for_output("supervising 1 worker (5 processes) for 2 routes", 10s))
        << app->output();
    const auto metrics = test::http_poll(
        http_port, "/metrics",
        [](const test::http_response& r) {
            return r.status == 200 &&
                   test::parse_prometheus(r.body).sum("routemq_processes_running") == 5;
        },
        10s);
    const auto m = test::parse_prometheus(metrics.body);
    EXPECT_EQ(m.sum("routemq_workers_planned"), 1);
    EXPECT_EQ(m.sum("routemq_workers_running"), 1);
    EXPECT_EQ(m.sum("routemq_processes_planned"), 5);
    EXPECT_EQ(m.sum("routemq_processes_running"), 5);

    auto ctl =
        test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"ctl", "workers", "--json"}, env);
    ASSERT_EQ(ctl->wait(10s).value_or(-1), 0) << ctl->output();
    const auto out = ctl->output();
    const auto report = nlohmann::json::parse(out.substr(out.find('{')));
    EXPECT_EQ(report["workers_planned"], 1);
    EXPECT_EQ(report["processes_planned"], 5);
    ASSERT_EQ(report["processes"].size(), 5u) << report.dump();
    for (int i = 0; i < 5; ++i) {
        const auto& p = report["processes"][static_cast<std::size_t>(i)];
        EXPECT_EQ(p["process"], "w" + std::to_string(i + 1));
        EXPECT_EQ(p["worker"], 1);
        EXPECT_EQ(p["lane"], i < 4 ? "high" : "low");
        EXPECT_EQ(p["handler_slot"], i < 4 ? i + 1 : 1);
        EXPECT_EQ(p["state"], "serving") << p.dump();
    }
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}
