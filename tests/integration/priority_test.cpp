// Priorities against a real mosquitto: one worker serves a low- and a high-priority route; while
// its one handler slot is busy, high-priority messages arriving after a flood of low-priority
// ones are handled before them, and every message is handled once.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

TEST(priority_test, UnderAFloodOfLowPriorityMessagesHighPriorityOnesAreHandledFirst) {
    test::mosquitto_broker broker;
    auto routes =
        test::start_app(ROUTEMQ_PRIORITY_APP, broker.port(), {"routes", "--workers", "1"});
    ASSERT_EQ(routes->wait(10s).value_or(-1), 0);
    EXPECT_NE(routes->output().find("w1     urgent/{id}  (high priority; worker w1 runs 1 handler "
                                    "at a time, highest priority first)"),
              std::string::npos)
        << routes->output();
    EXPECT_NE(routes->output().find("w2     bulk/{id}  (low priority; worker w1"),
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
    for (const char* lane : {"worker w1: pid ", "worker w2: pid "}) {
        EXPECT_TRUE(app->wait_for_output(lane, 30s)) << lane << "was not replaced\n"
                                                     << app->output();
    }
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}
