// Route option `concurrency` against a real mosquitto: handlers of one worker overlap, every
// message is handled once, and killing handler slots mid-flood loses nothing (each slot
// acknowledges its message only after its own handler returned).

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;

namespace {

/// A fresh empty directory, removed with the test.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "rendezvous-XXXXXX");
        path = mkdtemp(pattern.data());
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

class concurrency_test : public ::testing::Test {
protected:
    /// Starts the concurrency app's manager and waits until its 9 processes serve.
    std::unique_ptr<test::child_process> start_manager(std::map<std::string, std::string> env) {
        auto app =
            test::start_app(ROUTEMQ_CONCURRENCY_APP, broker_.port(), {"--workers"}, std::move(env));
        EXPECT_TRUE(app->wait_for_output("] serving", 30s, 9)) << app->output();
        return app;
    }

    /// Logs every packet it sends, so a test can count what went to a client.
    test::mosquitto_broker broker_{"log_type all\n"};
};

}  // namespace

TEST_F(concurrency_test, RoutesShowOneWorkerWithFourHandlerSlots) {
    auto routes = test::start_app(ROUTEMQ_CONCURRENCY_APP, broker_.port(), {"routes"});
    EXPECT_EQ(routes->wait(10s).value_or(-1), 0);
    EXPECT_NE(routes->output().find(
                  "WORKERS (3 workers, 9 processes with --workers; the manager runs no routes)\n"
                  "  worker 1    w1-w4   meet/{id}  (4 handler slots)\n"
                  "  worker 2    w5-w8   pace/{id}  (4 handler slots)\n"
                  "  worker 3    w9      hold/{id}\n"),
              std::string::npos)
        << routes->output();
}

TEST_F(concurrency_test, FourSlowHandlersRunAtOnceAndEachMessageIsHandledOnce) {
    temp_dir marks;
    auto app = start_manager({{"RENDEZVOUS_DIR", marks.path.string()}});
    test::test_client sub(broker_.port(), "ctest-sub");
    sub.subscribe("met/+");
    test::test_client pub(broker_.port(), "ctest-pub", false);
    for (int i = 1; i <= 4; ++i) {
        pub.publish("meet/" + std::to_string(i), "go");
    }
    // Each handler waits until four have started: it answers "4 <pid>" only if four ran at once.
    const auto got = sub.collect(4, 30s);
    ASSERT_EQ(got.size(), 4u) << app->output();
    std::set<std::string> topics;
    std::set<std::string> pids;
    for (const auto& m : got) {
        topics.insert(m.topic);
        const auto space = m.payload.find(' ');
        EXPECT_EQ(m.payload.substr(0, space), "4")
            << m.topic << ": its handler waited alone (" << m.payload << ")";
        pids.insert(m.payload.substr(space + 1));
    }
    EXPECT_EQ(topics.size(), 4u) << "every message once";
    EXPECT_EQ(pids.size(), 4u) << "one handler slot (process) per message in hand";
    EXPECT_TRUE(sub.drain(1500ms).empty()) << "a message was handled twice";
}

TEST_F(concurrency_test, KilledHandlerSlotsMidFloodLoseNoMessage) {
    constexpr int kMessages = 400;
    auto app = start_manager({{"RENDEZVOUS_DIR", "/nonexistent"}});
    const int first = test::worker_pid(app->output(), 6);
    const int second = test::worker_pid(app->output(), 7);
    ASSERT_GT(first, 0) << app->output();
    ASSERT_GT(second, 0) << app->output();
    test::test_client sub(broker_.port(), "ctest-sub");
    sub.subscribe("paced/+");
    std::vector<test::received> flood;
    for (int i = 0; i < kMessages; ++i) {
        flood.push_back({"pace/" + std::to_string(i), "x"});
    }
    test::test_client pub(broker_.port(), "ctest-pub", false);
    pub.publish_many(flood, 50, [&](std::size_t sent) {
        if (sent == kMessages / 2) {
            kill(first, SIGKILL);
            kill(second, SIGKILL);
        }
    });
    std::map<std::string, int> handled;
    for (const auto& m : sub.collect(kMessages, 60s)) {
        handled[m.topic]++;
    }
    for (const auto& m : sub.drain(1500ms)) {
        handled[m.topic]++;
    }
    int total = 0;
    for (const auto& [topic, n] : handled) {
        total += n;
    }
    const int lost = kMessages - static_cast<int>(handled.size());
    std::cout << "[ concurrency ] SIGKILL of 2 of 4 handler slots after " << kMessages / 2 << " of "
              << kMessages << " published: " << lost << " lost, "
              << total - static_cast<int>(handled.size()) << " handled twice\n";
    EXPECT_EQ(lost, 0) << app->output();
    EXPECT_TRUE(app->wait_for_output("process w6 killed by signal 9", 5s)) << app->output();
    EXPECT_TRUE(app->wait_for_output("process w7 killed by signal 9", 5s)) << app->output();
}

TEST_F(concurrency_test, ReceiveMaximumBoundsWhatTheBrokerSendsToABusySlot) {
    temp_dir marks;
    auto app =
        start_manager({{"RENDEZVOUS_DIR", marks.path.string()}, {"MQTT_RECEIVE_MAXIMUM", "2"}});
    test::test_client sub(broker_.port(), "ctest-sub");
    sub.subscribe("held/+");
    test::test_client pub(broker_.port(), "ctest-pub", false);
    for (int i = 1; i <= 6; ++i) {
        pub.publish("hold/" + std::to_string(i), "x");
    }
    // w9 holds its first message until released; the broker may have 2 unacknowledged in flight
    // to it (mosquitto's own default would be 20, so all 6).
    const auto sent_to_w9 = [&] {
        const auto log = broker_.log();
        int n = 0;
        for (std::size_t at = log.find("Sending PUBLISH to "); at != std::string::npos;
             at = log.find("Sending PUBLISH to ", at + 1)) {
            const auto line = log.substr(at, log.find('\n', at) - at);
            n +=
                line.find("-w9 (") != std::string::npos && line.find("'hold/") != std::string::npos;
        }
        return n;
    };
    for (int i = 0; i < 200 && sent_to_w9() < 2; ++i) {
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(sent_to_w9(), 2) << broker_.log();
    std::ofstream(marks.path / "release") << "go";
    EXPECT_EQ(sub.collect(6, 30s).size(), 6u) << "the rest waited in the session, none was lost";
}

TEST_F(concurrency_test, CtlWorkersShowsEverySlotAndTheMessageInHand) {
    temp_dir marks;
    // The control socket is named after the client ids: unique ones, so a parallel test's
    // manager is not the one answering.
    const std::map<std::string, std::string> ids = {
        {"MQTT_CLIENT_ID", "ctl"}, {"INSTANCE_NAME", "ctl-" + std::to_string(getpid())}};
    auto env = ids;
    env["RENDEZVOUS_DIR"] = marks.path.string();
    auto app = start_manager(env);
    const auto ctl = [&](std::vector<std::string> args) {
        auto run = test::start_app(ROUTEMQ_CONCURRENCY_APP, broker_.port(), std::move(args), ids);
        EXPECT_EQ(run->wait(10s).value_or(-1), 0) << run->output();
        return run->output();
    };
    test::test_client sub(broker_.port(), "ctest-sub");
    sub.subscribe("held/+");
    test::test_client pub(broker_.port(), "ctest-pub", false);
    pub.publish("hold/7", "x");
    // w9 holds hold/7 until released: the report names it.
    nlohmann::json report;
    for (int i = 0; i < 100; ++i) {
        report = nlohmann::json::parse(ctl({"ctl", "workers", "--json"}));
        if (!report["processes"][8]["current"].is_null()) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(report["processes"].size(), 9u) << report.dump();
    for (int slot = 1; slot <= 9; ++slot) {
        const auto& w = report["processes"][static_cast<std::size_t>(slot - 1)];
        EXPECT_EQ(w["process"], "w" + std::to_string(slot));
        EXPECT_EQ(w["pid"].get<int>(), test::worker_pid(app->output(), slot));
        EXPECT_EQ(w["state"], "serving") << w.dump();
    }
    EXPECT_EQ(report["processes"][1]["worker"], 1);
    EXPECT_EQ(report["processes"][1]["handler_slot"], 2);
    ASSERT_FALSE(report["processes"][8]["current"].is_null()) << report.dump();
    EXPECT_EQ(report["processes"][8]["current"]["topic"], "hold/7");
    EXPECT_EQ(report["processes"][8]["current"]["route"], "hold/{id}");
    EXPECT_NE(ctl({"ctl", "workers"}).find("hold/7 ("), std::string::npos);

    std::ofstream(marks.path / "release") << "go";
    ASSERT_EQ(sub.collect(1, 30s).size(), 1u);
    report = nlohmann::json::parse(ctl({"ctl", "workers", "--json"}));
    EXPECT_TRUE(report["processes"][8]["current"].is_null()) << report.dump();
    EXPECT_EQ(report["processes"][8]["handled"], 1) << report.dump();

    app->signal(SIGTERM);
    app->wait(30s);
    auto none = test::start_app(ROUTEMQ_CONCURRENCY_APP, broker_.port(), {"ctl", "workers"}, ids);
    EXPECT_EQ(none->wait(10s).value_or(-1), 1);
    EXPECT_NE(none->output().find("no manager answers"), std::string::npos) << none->output();
}
