// What the pool does when things go wrong, against a real mosquitto: poison messages, hung
// handlers, retries and dead letters, a killed manager. Every figure a user would count (lost,
// duplicated, restarted) is asserted and printed.

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

namespace {

class reliability_test : public ::testing::Test {
protected:
    // The test broker has no per-session queue limit (max_queued_messages 0): the broker must not
    // be what loses messages here.
    test::mosquitto_broker broker_;

    /// A unique instance name per test and run, so no session of another run interferes.
    static std::string instance(const std::string& name) {
        return "rel-" + name + "-" + std::to_string(getpid());
    }

    std::unique_ptr<test::child_process> start(const std::string& instance_name,
                                               std::map<std::string, std::string> env = {}) {
        env.emplace("INSTANCE_NAME", instance_name);
        env.emplace("WORKER_RESTART_BACKOFF_MS", "100");
        env.emplace("WORKER_RESTART_BACKOFF_MAX_MS", "400");
        auto app = test::start_app(ROUTEMQ_RELIABILITY_APP, broker_.port(), {"--workers"}, env);
        // work/{id} twice (two workers) and fail/{id} once.
        EXPECT_TRUE(app->wait_for_output("subscribed to '$share/", 20s, 3)) << app->output();
        return app;
    }

    /// Publishes work/0 .. work/<count-1> with the id as payload, except those in `special`.
    void publish_work(int count, const std::map<int, std::string>& special = {},
                      const std::function<void(std::size_t)>& after_window = {}) {
        std::vector<test::received> batch;
        for (int i = 0; i < count; ++i) {
            const auto it = special.find(i);
            batch.push_back({"work/" + std::to_string(i),
                             it != special.end() ? it->second : std::to_string(i)});
        }
        test::test_client pub(broker_.port(), "rel-pub-" + std::to_string(getpid()), false);
        pub.publish_many(batch, 100, after_window);
    }

    /// Results (done/<id>) until `expected` distinct ids arrived or `timeout`, then 1.5 s more.
    static std::map<std::string, int> collect_done(test::test_client& sub, std::size_t expected,
                                                   std::chrono::seconds timeout,
                                                   std::vector<test::received>* other = nullptr) {
        std::map<std::string, int> seen;
        const auto take = [&](const test::received& m) {
            if (m.topic.rfind("done/", 0) == 0) {
                seen[m.topic.substr(5)]++;
            } else if (other != nullptr) {
                other->push_back(m);
            }
        };
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (seen.size() < expected && std::chrono::steady_clock::now() < deadline) {
            if (auto m = sub.next(500ms)) {
                take(*m);
            }
        }
        for (const auto& m : sub.drain(1500ms)) {
            take(m);
        }
        return seen;
    }

    static int duplicates(const std::map<std::string, int>& seen) {
        int d = 0;
        for (const auto& [id, n] : seen) {
            d += n - 1;
        }
        return d;
    }
};

TEST_F(reliability_test, PoisonMessageGoesToTheDeadLetterTopicAfterTwoCrashes) {
    test::test_client sub(broker_.port(), "rel-sub-" + std::to_string(getpid()), true, true);
    sub.subscribe("done/#");
    sub.subscribe("dead-letter/#");
    auto app = start(instance("poison"), {{"POISON_MAX_CRASHES", "2"}});

    constexpr int kCount = 2000;
    constexpr int kPoison = 1000;
    publish_work(kCount, {{kPoison, "crash"}});
    std::vector<test::received> other;
    const auto seen = collect_done(sub, kCount - 1, 60s, &other);
    for (const auto& m : sub.drain(3s)) {
        other.push_back(m);
    }

    const auto restarts = test::count_occurrences(app->output(), "restarting in the same slot");
    std::cout << "[ figures ] " << kCount << " sent, 1 poison: " << seen.size() << " handled, "
              << kCount - 1 - static_cast<int>(seen.size()) << " lost, " << duplicates(seen)
              << " duplicates, " << restarts << " worker restarts\n";
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount - 1)) << "every other message handled";
    EXPECT_EQ(seen.count(std::to_string(kPoison)), 0u);
    ASSERT_EQ(other.size(), 1u) << "exactly one dead letter\n" << app->output();
    const auto& dl = other[0];
    EXPECT_EQ(dl.topic, "dead-letter/work/" + std::to_string(kPoison));
    EXPECT_EQ(dl.payload, "crash");
    EXPECT_EQ(dl.property("routemq-reason"), "poison");
    EXPECT_EQ(dl.property("routemq-route"), "work/{id}");
    EXPECT_EQ(dl.property("routemq-topic"), "work/1000");
    EXPECT_NE(dl.property("routemq-error").find("killed 2 workers"), std::string::npos)
        << dl.property("routemq-error");
    EXPECT_EQ(restarts, 2) << "two crashes, then the message is quarantined: no restart loop\n"
                           << app->output();
    // The second death quarantined its message, so it does not lengthen the next wait.
    EXPECT_EQ(test::count_occurrences(app->output(), "in 100 ms (1 in a row)"), 2) << app->output();
    EXPECT_NE(app->output().find("while handling topic 'work/1000' on route 'work/{id}'"),
              std::string::npos)
        << "the log names the message that killed the worker\n"
        << app->output();
    EXPECT_TRUE(app->running());
}

TEST_F(reliability_test, HungHandlerIsKilledAtItsTimeoutAndEveryOtherMessageIsHandled) {
    test::test_client sub(broker_.port(), "rel-sub-" + std::to_string(getpid()), true, true);
    sub.subscribe("done/#");
    sub.subscribe("dead-letter/#");
    auto app = start(instance("hang"), {{"POISON_MAX_CRASHES", "2"}});

    constexpr int kCount = 300;
    publish_work(kCount, {{7, "hang"}});
    std::vector<test::received> other;
    const auto seen = collect_done(sub, kCount - 1, 60s, &other);
    for (const auto& m : sub.drain(3s)) {
        other.push_back(m);
    }
    std::cout << "[ figures ] " << kCount << " sent, 1 hangs: " << seen.size() << " handled, "
              << duplicates(seen) << " duplicates, "
              << test::count_occurrences(app->output(), "past its timeout of") << " timeouts\n";
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount - 1));
    EXPECT_NE(app->output().find("handler of route 'work/{id}' on topic 'work/7' has run"),
              std::string::npos)
        << app->output();
    ASSERT_EQ(other.size(), 1u) << app->output();
    EXPECT_EQ(other[0].topic, "dead-letter/work/7");
    EXPECT_EQ(other[0].property("routemq-reason"), "poison");
    EXPECT_NE(other[0].property("routemq-error").find("past its timeout"), std::string::npos)
        << other[0].property("routemq-error");
}

TEST_F(reliability_test, FailingHandlerIsRetriedThenDeadLetteredWithWhatHappened) {
    test::test_client sub(broker_.port(), "rel-sub-" + std::to_string(getpid()), true, true);
    sub.subscribe("dead-letter/#");
    auto app = start(instance("retry"));
    test::test_client pub(broker_.port(), "rel-pub-" + std::to_string(getpid()), false);
    pub.publish("fail/7", "payload 7");

    auto dl = sub.next(20s);
    ASSERT_TRUE(dl) << app->output();
    EXPECT_EQ(dl->topic, "dead-letter/fail/7");
    EXPECT_EQ(dl->payload, "payload 7");
    EXPECT_EQ(dl->property("routemq-reason"), "failed");
    EXPECT_EQ(dl->property("routemq-route"), "fail/{id}");
    EXPECT_EQ(dl->property("routemq-error"), "always fails");
    EXPECT_EQ(dl->property("routemq-attempts"), "3");
    EXPECT_EQ(dl->property("routemq-topic"), "fail/7");
    EXPECT_NE(dl->property("routemq-process").find("(pid "), std::string::npos);
    EXPECT_EQ(test::count_occurrences(app->output(), "retrying in"), 2) << app->output();
    EXPECT_FALSE(sub.next(1s)) << "one dead letter, once";
    EXPECT_TRUE(app->running());
}

TEST_F(reliability_test, KilledManagerLeavesTheSessionsToItsReplacement) {
    test::test_client sub(broker_.port(), "rel-sub-" + std::to_string(getpid()), true, true);
    sub.subscribe("done/#");
    const auto name = instance("manager");
    auto first = start(name);
    std::vector<int> old_workers = {test::worker_pid(first->output(), 1),
                                    test::worker_pid(first->output(), 2),
                                    test::worker_pid(first->output(), 3)};

    constexpr int kCount = 6000;
    publish_work(kCount, {}, [&](std::size_t acknowledged) {
        if (acknowledged == 1500) {
            kill(first->pid(), SIGKILL);
        }
    });
    // The workers notice their manager is gone and exit, keeping their sessions.
    for (int pid : old_workers) {
        for (int i = 0; i < 100 && test::process_alive(pid); ++i) {
            std::this_thread::sleep_for(100ms);
        }
        EXPECT_FALSE(test::process_alive(pid)) << "worker " << pid << " outlived its manager";
    }
    auto second = start(name);
    const auto seen = collect_done(sub, kCount, 60s);
    std::cout << "[ figures ] " << kCount << " sent, manager killed after 1500: " << seen.size()
              << " handled, " << kCount - static_cast<int>(seen.size()) << " lost, "
              << duplicates(seen) << " duplicates\n";
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount))
        << "lost: " << kCount - static_cast<int>(seen.size()) << "\n"
        << first->output();
    EXPECT_NE(first->output().find("leaving this worker's session to its replacement"),
              std::string::npos)
        << first->output();
}

TEST_F(reliability_test, LoneReplicaRestartedWithItsSessionsKeptLosesNothing) {
    test::test_client sub(broker_.port(), "rel-sub-" + std::to_string(getpid()), true, true);
    sub.subscribe("done/#");
    const auto name = instance("restart");
    const std::map<std::string, std::string> keep = {{"WORKER_KEEP_SESSION_ON_STOP", "true"}};
    auto first = start(name, keep);

    constexpr int kCount = 6000;
    publish_work(kCount, {}, [&](std::size_t acknowledged) {
        if (acknowledged == 1500) {
            first->signal(SIGTERM);
        }
    });
    const auto status = first->wait(20s);
    ASSERT_TRUE(status) << first->output();
    EXPECT_EQ(*status, 0) << first->output();
    auto second = start(name, keep);
    const auto seen = collect_done(sub, kCount, 60s);
    std::cout << "[ figures ] " << kCount << " sent, the only replica stopped (SIGTERM) after "
              << "1500 and started again: " << kCount - static_cast<int>(seen.size()) << " lost, "
              << duplicates(seen) << " duplicates\n";
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount)) << first->output();
    EXPECT_NE(first->output().find("keeping this worker's session for its restart"),
              std::string::npos)
        << first->output();
}

TEST_F(reliability_test, ManagerExitsNonZeroWhenItHadToKillAWorker) {
    auto app = start(instance("grace"), {{"SHUTDOWN_GRACE_SECONDS", "1"}});
    test::test_client pub(broker_.port(), "rel-pub-" + std::to_string(getpid()), false);
    pub.publish("work/1", "hang");
    std::this_thread::sleep_for(300ms);  // the handler is in its sleep (timeout 1.5 s)
    app->signal(SIGTERM);
    const auto status = app->wait(20s);
    ASSERT_TRUE(status) << app->output();
    EXPECT_EQ(*status, 1) << app->output();
    EXPECT_NE(app->output().find("overran SHUTDOWN_GRACE_SECONDS and were killed"),
              std::string::npos)
        << app->output();
}

TEST_F(reliability_test, DeeplyNestedJsonIsAPayloadErrorAndTheApplicationStaysUp) {
    test::test_client sub(broker_.port(), "rel-sub-" + std::to_string(getpid()), true, true);
    sub.subscribe("dead-letter/#");
    // The example application, whose config/update controller dumps what it parses.
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker_.port(), {"--workers"},
                               {{"INSTANCE_NAME", instance("deep")}});
    ASSERT_TRUE(app->wait_for_output("subscribed to 'config/update'", 20s)) << app->output();
    test::test_client pub(broker_.port(), "rel-pub-" + std::to_string(getpid()), false);
    const std::string deep = R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
    pub.publish("config/update", deep);

    auto dl = sub.next(20s);
    ASSERT_TRUE(dl) << app->output();
    EXPECT_EQ(dl->topic, "dead-letter/config/update");
    EXPECT_EQ(dl->property("routemq-reason"), "payload");
    EXPECT_NE(dl->property("routemq-error").find("JSON"), std::string::npos)
        << dl->property("routemq-error");
    EXPECT_EQ(dl->payload.size(), deep.size());
    EXPECT_TRUE(app->running());
    EXPECT_EQ(test::count_occurrences(app->output(), "restarting in the same slot"), 0)
        << app->output();
}

}  // namespace
