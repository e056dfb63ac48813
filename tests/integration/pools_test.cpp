// Route pools against a real mosquitto: two instances of one application, each started for one
// pool, handle only their pool's routes, and together every message.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

TEST(pools_test, TwoInstancesWithDifferentPoolsEachHandleOnlyTheirPool) {
    constexpr int kEach = 200;
    test::mosquitto_broker broker;
    // One by the setting, one by the command line. The email instance's one worker is w1, which
    // in the plan of every pool serves gpu/{id}: it must get --pools from its manager.
    auto gpu = test::start_app(ROUTEMQ_POOLS_APP, broker.port(), {"--workers"},
                               {{"INSTANCE_NAME", "pool-gpu"}, {"WORKER_POOLS", "gpu"}});
    auto email =
        test::start_app(ROUTEMQ_POOLS_APP, broker.port(), {"--workers", "--pools", "email"},
                        {{"INSTANCE_NAME", "pool-email"}});
    ASSERT_TRUE(gpu->wait_for_output("] serving", 30s, 2)) << gpu->output();
    ASSERT_TRUE(email->wait_for_output("] serving", 30s, 1)) << email->output();
    EXPECT_NE(gpu->output().find("supervising 2 workers (2 processes) for 1 routes"),
              std::string::npos)
        << gpu->output();
    EXPECT_NE(email->output().find("supervising 1 worker (1 process) for 1 routes"),
              std::string::npos)
        << email->output();

    test::test_client sub(broker.port(), "pools-sub");
    sub.subscribe("done/#");
    test::test_client pub(broker.port(), "pools-pub", false);
    std::vector<test::received> messages;
    for (int i = 0; i < kEach; ++i) {
        messages.push_back({"gpu/" + std::to_string(i), "x"});
        messages.push_back({"email/" + std::to_string(i), "x"});
    }
    pub.publish_many(messages);
    std::map<std::string, std::map<std::string, int>> handled_by;  // route -> instance -> count
    std::map<std::string, int> seen;
    for (const auto& m : sub.collect(2 * kEach, 30s)) {
        const auto route = m.topic.substr(5, m.topic.find('/', 5) - 5);
        handled_by[route][m.payload]++;
        seen[m.topic]++;
    }
    EXPECT_EQ(seen.size(), 2u * kEach) << "every message handled";
    EXPECT_EQ(handled_by["gpu"], (std::map<std::string, int>{{"pool-gpu", kEach}}));
    EXPECT_EQ(handled_by["email"], (std::map<std::string, int>{{"pool-email", kEach}}));
}

TEST(pools_test, RoutesShowsTheSelectedPoolAndAnUnknownPoolStopsStartup) {
    test::mosquitto_broker broker;
    auto routes = test::start_app(ROUTEMQ_POOLS_APP, broker.port(), {"routes", "--pools", "email"});
    EXPECT_EQ(routes->wait(10s).value_or(-1), 0);
    EXPECT_EQ(routes->output().find("gpu/{id}"), std::string::npos) << routes->output();
    EXPECT_NE(routes->output().find("email/{id}"), std::string::npos) << routes->output();

    auto typo = test::start_app(ROUTEMQ_POOLS_APP, broker.port(), {"--workers"},
                                {{"WORKER_POOLS", "gpus"}});
    EXPECT_EQ(typo->wait(10s).value_or(-1), 2);
    EXPECT_NE(typo->output().find("no route is in pool 'gpus'; the routes' pools are: gpu, email"),
              std::string::npos)
        << typo->output();
}
