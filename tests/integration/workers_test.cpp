// routemq --workers against a real mosquitto: distribution, crash recovery, shutdown, orphans and
// replicas. Every assertion is on what a user sees: messages on the broker, processes, logs.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kMessages = 3000;

/// What came out on sensors/+/processed.
struct outcome {
    std::map<std::string, int> per_device;   // device id -> times processed
    std::map<std::string, int> per_process;  // processed_by -> messages
    int total = 0;
    int duplicates() const { return total - static_cast<int>(per_device.size()); }
};

/// Collects processed readings until every one of `count` devices was seen (or the timeout),
/// then a little longer to catch late duplicates.
outcome collect_processed(test::test_client& sub, int count, std::chrono::seconds timeout) {
    outcome out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto take = [&](const test::received& m) {
        const auto body = json::parse(m.payload);
        out.per_device[body["device_id"].get<std::string>()]++;
        out.per_process[body["processed_by"].get<std::string>()]++;
        out.total++;
    };
    while (static_cast<int>(out.per_device.size()) < count &&
           std::chrono::steady_clock::now() < deadline) {
        if (auto m = sub.next(1s)) {
            take(*m);
        }
    }
    for (const auto& m : sub.drain(1500ms)) {
        take(m);
    }
    return out;
}

std::string workers_seen(const outcome& o) {
    std::string s;
    for (const auto& [name, n] : o.per_process) {
        s += name + "=" + std::to_string(n) + " ";
    }
    return s;
}

class workers_test : public ::testing::Test {
protected:
    /// Starts a manager and waits until it and its `workers` workers are serving.
    std::unique_ptr<test::child_process> start_manager(
        const char* executable, int workers, std::vector<std::string> args = {"--workers"},
        std::map<std::string, std::string> env = {}) {
        auto app = test::start_app(executable, broker_.port(), std::move(args), std::move(env));
        EXPECT_TRUE(app->wait_for_output("] serving", 20s, workers + 1)) << app->output();
        return app;
    }

    test::mosquitto_broker broker_;
};

}  // namespace

TEST(workers_ipv6_test, BothConnectionsOfEveryWorkerReachABrokerOnTheIpv6Loopback) {
    // MQTT_BROKER=::1: the incoming connection (readings) and the outgoing one (results) of each
    // worker both need the address in brackets in Paho's URI.
    test::mosquitto_broker broker(routemq::testing::broker_options{.host = "::1"});
    auto app =
        test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {"--workers"}, {{"MQTT_BROKER", "::1"}});
    ASSERT_TRUE(app->wait_for_output("] serving", 20s, 4)) << app->output();
    test::test_client sub("::1", broker.port(), "itest-sub6");
    sub.subscribe("sensors/+/processed");
    test::test_client pub("::1", broker.port(), "itest-pub6", /*receive=*/false);
    constexpr int kReadings = 60;
    for (int i = 0; i < kReadings; ++i) {
        pub.publish("sensors/" + std::to_string(i) + "/data", R"({"temp": 21.5})", 1);
    }
    const auto got = collect_processed(sub, kReadings, 30s);
    EXPECT_EQ(static_cast<int>(got.per_device.size()), kReadings) << app->output();
    EXPECT_GE(got.per_process.size(), 2u) << "results from several workers: " << workers_seen(got);
    app->signal(SIGTERM);
    EXPECT_EQ(app->wait(30s).value_or(-1), 0) << app->output();
}

TEST_F(workers_test, PlanSpreadsMessagesOverEveryWorker) {
    auto app = start_manager(ROUTEMQ_EXECUTABLE, 3);
    test::test_client sub(broker_.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker_.port(), kMessages);
    const auto got = collect_processed(sub, kMessages, 60s);
    EXPECT_EQ(static_cast<int>(got.per_device.size()), kMessages);
    EXPECT_EQ(got.total, kMessages) << "no duplicates without a crash";
    const std::set<std::string> workers = {"w1", "w2", "w3"};
    for (const auto& [name, n] : got.per_process) {
        EXPECT_TRUE(workers.count(name)) << name << " handled " << n << ": not a worker";
    }
    for (const auto& w : workers) {
        EXPECT_GT(got.per_process.count(w) ? got.per_process.at(w) : 0, 0) << w << " idle";
    }
    std::cout << "[ distribution ] " << workers_seen(got) << "\n";
}

TEST_F(workers_test, KilledWorkerIsRestartedInItsSlotAndEveryMessageIsHandled) {
    auto app = start_manager(ROUTEMQ_EXECUTABLE, 3);
    const int victim = test::worker_pid(app->output(), 2);
    ASSERT_GT(victim, 0) << app->output();
    test::test_client sub(broker_.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker_.port(), kMessages, [&](std::size_t sent) {
        if (sent == kMessages / 3) {
            kill(victim, SIGKILL);
        }
    });
    const auto got = collect_processed(sub, kMessages, 10s);

    // Handled: the handler ran to the end (every worker logs it, before Paho acknowledges).
    std::map<int, int> handled;
    const std::regex line(R"(sensors/(\d+)/data via sensors/\{device_id\}/data handled)");
    const auto log = app->output();
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
         ++it) {
        handled[std::stoi((*it)[1])]++;
    }
    int handled_total = 0;
    for (const auto& [id, n] : handled) {
        handled_total += n;
    }
    EXPECT_EQ(static_cast<int>(handled.size()), kMessages)
        << "messages never handled: " << kMessages - static_cast<int>(handled.size());
    EXPECT_TRUE(app->wait_for_output("process w2 killed by signal 9", 5s)) << log;
    EXPECT_GE(test::count_occurrences(app->output(), "process w2 started"), 2);
    EXPECT_EQ(test::count_occurrences(app->output(), "as 'routemq-"), 6)
        << "w1, w3, w4 once; w2 twice, with its stable client id; the manager's dead-letter "
           "index once";
    const int again = test::worker_pid(app->output(), 2);
    EXPECT_NE(again, victim);
    EXPECT_TRUE(test::process_alive(again));
    const int outputs_lost = kMessages - static_cast<int>(got.per_device.size());
    std::cout << "[ crash ] SIGKILL of w2 after " << kMessages / 3 << " of " << kMessages
              << " published: " << handled_total - kMessages << " handled twice (redelivered), "
              << outputs_lost << " published results lost with the killed process ("
              << workers_seen(got) << ")\n";
    ::testing::Test::RecordProperty("duplicates", handled_total - kMessages);
    ::testing::Test::RecordProperty("outputs_lost", outputs_lost);
    EXPECT_EQ(outputs_lost, 0) << "results are confirmed by the broker before the input's ack";
}

TEST_F(workers_test, EveryWorkerKilledMidFloodLosesNoMessageAndNoResult) {
    auto app = start_manager(ROUTEMQ_EXECUTABLE, 3);
    test::test_client sub(broker_.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker_.port(), kMessages, [&](std::size_t sent) {
        if (sent == kMessages / 2) {
            for (int slot = 1; slot <= 3; ++slot) {
                kill(test::worker_pid(app->output(), slot), SIGKILL);
            }
        }
    });
    const auto got = collect_processed(sub, kMessages, 30s);
    const int lost = kMessages - static_cast<int>(got.per_device.size());
    std::cout << "[ crash ] SIGKILL of w1, w2 and w3 after " << kMessages / 2 << " of " << kMessages
              << " published: " << lost << " lost, " << got.duplicates() << " duplicates ("
              << workers_seen(got) << ")\n";
    EXPECT_EQ(lost, 0) << app->output();
    EXPECT_GE(test::count_occurrences(app->output(), "restarting in the same slot"), 3);
}

TEST_F(workers_test, SigtermStopsBusyWorkersWithoutCuttingAHandlerOff) {
    // Eight workers that each serve every shared route, busy in a 300 ms handler.
    auto app = start_manager(ROUTEMQ_TEST_APP, 8, {"--workers", "8"});
    test::test_client pub(broker_.port(), "itest-publisher", /*receive=*/false);
    for (int i = 0; i < 24; ++i) {
        pub.publish("test/slow/" + std::to_string(i), "x");
    }
    ASSERT_TRUE(app->wait_for_output("slow start", 10s, 8)) << app->output();
    const auto start = std::chrono::steady_clock::now();
    app->signal(SIGTERM);
    const auto status = app->wait(30s);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    ASSERT_TRUE(status.has_value()) << app->output();
    EXPECT_EQ(*status, 0) << app->output();
    const auto out = app->output();
    EXPECT_EQ(out.find("still running after"), std::string::npos) << out;
    EXPECT_EQ(out.find("while stopping"), std::string::npos) << out;
    const int started = test::count_occurrences(out, "slow start");
    EXPECT_EQ(test::count_occurrences(out, "slow done"), started) << out;
    EXPECT_GE(started, 8);
    std::cout << "[ shutdown ] 8 busy workers stopped in " << took.count() << " s (grace 10 s), "
              << started << " handlers started, all finished\n";
    ::testing::Test::RecordProperty("stop_seconds", std::to_string(took.count()));
}

TEST_F(workers_test, SigkilledManagerLeavesNoOrphans) {
    auto app = start_manager(ROUTEMQ_EXECUTABLE, 3);
    std::vector<int> pids;
    for (int slot = 1; slot <= 3; ++slot) {
        pids.push_back(test::worker_pid(app->output(), slot));
        ASSERT_TRUE(test::process_alive(pids.back())) << app->output();
    }
    app->signal(SIGKILL);
    app->wait(5s);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (int pid : pids) {
        while (test::process_alive(pid) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        EXPECT_FALSE(test::process_alive(pid)) << "worker pid " << pid << " outlived the manager";
    }
}

TEST_F(workers_test, TwoReplicasShareTheLoadWithoutHandlingAMessageTwice) {
    auto a = start_manager(ROUTEMQ_EXECUTABLE, 3, {"--workers"}, {{"INSTANCE_NAME", "replica-a"}});
    auto b = start_manager(ROUTEMQ_EXECUTABLE, 3, {"--workers"}, {{"INSTANCE_NAME", "replica-b"}});
    test::test_client sub(broker_.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker_.port(), kMessages);
    const auto got = collect_processed(sub, kMessages, 60s);
    EXPECT_EQ(static_cast<int>(got.per_device.size()), kMessages);
    EXPECT_EQ(got.total, kMessages) << "a message was handled twice";
    const int by_a = test::count_occurrences(a->output(), "via sensors/{device_id}/data handled");
    const int by_b = test::count_occurrences(b->output(), "via sensors/{device_id}/data handled");
    EXPECT_EQ(by_a + by_b, kMessages);
    EXPECT_GT(by_a, 0);
    EXPECT_GT(by_b, 0);
    EXPECT_NE(a->output().find("as 'routemq-replica-a-w1'"), std::string::npos) << a->output();
    EXPECT_NE(b->output().find("as 'routemq-replica-b-w1'"), std::string::npos) << b->output();
    std::cout << "[ replicas ] replica-a handled " << by_a << ", replica-b " << by_b << "\n";
}

TEST_F(workers_test, BacklogQueuedWhileTheWorkersWereDownDrainsWithEveryResult) {
    // The broker keeps every message for the absent workers (its default keeps 1000 a session),
    // and otherwise keeps its defaults: a Receive Maximum of 20 for the workers' own publishes.
    test::mosquitto_broker broker("max_queued_messages 0\n");
    auto app = test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {"--workers"});
    ASSERT_TRUE(app->wait_for_output("] serving", 20s, 4)) << app->output();
    // Down hard, as in a crash: the manager cannot restart them, the workers cannot say goodbye.
    app->signal(SIGSTOP);
    for (int slot = 1; slot <= 3; ++slot) {
        kill(test::worker_pid(app->output(), slot), SIGKILL);
    }
    app->signal(SIGKILL);
    app->wait(5s);

    test::test_client sub(broker.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker.port(), kMessages);
    auto again = test::start_app(ROUTEMQ_EXECUTABLE, broker.port(), {"--workers"});
    // Before the publish window, results of a drained backlog left at 20 a second per worker
    // (50 s for these); the hard deadline is far above a healthy drain and far below that.
    std::set<std::string> devices;
    for (const auto& m : sub.collect(kMessages, 20s)) {
        devices.insert(json::parse(m.payload)["device_id"].get<std::string>());
    }
    EXPECT_EQ(static_cast<int>(devices.size()), kMessages)
        << "results missing after 20 s: " << kMessages - static_cast<int>(devices.size()) << "\n"
        << again->output();
    EXPECT_EQ(again->output().find("cannot publish"), std::string::npos) << again->output();
    std::cout << "[ backlog ] " << kMessages << " queued while down, " << devices.size()
              << " distinct results within 20 s of the restart\n";
}

TEST_F(workers_test, RecycledWorkersHandOverTheirSessionsWithoutLosingAMessage) {
    // Unique ids: the control socket is named after them.
    const std::map<std::string, std::string> ids = {
        {"MQTT_CLIENT_ID", "recycle"}, {"INSTANCE_NAME", "recycle-" + std::to_string(getpid())}};
    auto env = ids;
    env["WORKER_MAX_MESSAGES"] = "300";
    auto app = start_manager(ROUTEMQ_EXECUTABLE, 3, {"--workers"}, env);
    test::test_client sub(broker_.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker_.port(), kMessages);
    const auto got = collect_processed(sub, kMessages, 60s);
    const int lost = kMessages - static_cast<int>(got.per_device.size());
    // A handover begun just before the last result may still be finishing: let it.
    app->wait_for_output(
        "took over from pid", 30s,
        test::count_occurrences(app->output(), "messages (WORKER_MAX_MESSAGES 300): starting"));
    const auto log = app->output();
    // Every handover: the replacement was started, then said it was ready, and only then was the
    // old worker told to go; the replacement took over after it had gone.
    const std::regex started(
        R"(process (w\d+) \(pid (\d+)\) has handled \d+ messages .*starting its successor \(pid (\d+)\))");
    int handovers = 0;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), started);
         it != std::sregex_iterator(); ++it) {
        const auto took = fmt::format("process {}: pid {} took over from pid {}", (*it)[1].str(),
                                      (*it)[3].str(), (*it)[2].str());
        const auto ready = fmt::format("its successor (pid {}) is ready; pid {} finishes",
                                       (*it)[3].str(), (*it)[2].str());
        const auto told = log.find(ready);
        const auto at = log.find(took);
        EXPECT_NE(at, std::string::npos) << took << "\n" << log;
        EXPECT_GT(told, static_cast<std::size_t>(it->position())) << ready;
        EXPECT_GT(at, told) << took;
        ++handovers;
    }
    std::cout << "[ recycle ] WORKER_MAX_MESSAGES=300, " << kMessages << " QoS 1 readings over 3 "
              << "workers: " << handovers << " handovers, " << lost << " lost, " << got.duplicates()
              << " duplicates\n";
    EXPECT_EQ(lost, 0) << log;
    EXPECT_GE(handovers, 3) << log;
    EXPECT_EQ(log.find("restarting in the same slot"), std::string::npos)
        << "a recycled worker is replaced, not restarted:\n"
        << log;

    // On request: routemq ctl recycle.
    auto ctl = test::start_app(ROUTEMQ_EXECUTABLE, broker_.port(), {"ctl", "recycle", "w2"}, ids);
    EXPECT_EQ(ctl->wait(10s).value_or(-1), 0) << ctl->output();
    EXPECT_TRUE(app->wait_for_output("is recycled (routemq ctl)", 5s)) << app->output();
    EXPECT_TRUE(app->wait_for_output("took over from pid", 10s, handovers + 1)) << app->output();
    auto bad = test::start_app(ROUTEMQ_EXECUTABLE, broker_.port(), {"ctl", "recycle", "w9"}, ids);
    EXPECT_EQ(bad->wait(10s).value_or(-1), 1);
    EXPECT_NE(bad->output().find("there is no process w9"), std::string::npos) << bad->output();
}

TEST_F(workers_test, ReloadUnderLoadReplacesEveryWorkerWithoutLossAndABadOneChangesNothing) {
    // Settings from a file that the test edits (start_app reads none).
    const auto env_file = test::temp_path("reload.env");
    std::ofstream(env_file) << "RETRY_ATTEMPTS=3\n";
    auto app = std::make_unique<test::child_process>(
        std::vector<std::string>{ROUTEMQ_EXECUTABLE, "--env-file", env_file, "--workers"},
        std::map<std::string, std::string>{
            {"MQTT_CLIENT_ID", "reload"},
            {"INSTANCE_NAME", "reload-" + std::to_string(getpid())},
            {"MQTT_BROKER", "127.0.0.1"},
            {"MQTT_PORT", std::to_string(broker_.port())},
            {"MQTT_GROUP_NAME", "itest"},
            {"HTTP_HOST", "127.0.0.1"},
            {"HTTP_PORT", std::to_string(test::free_loopback_port())}},
        test::temp_path("app.log"));
    ASSERT_TRUE(app->wait_for_output("] serving", 20s, 4)) << app->output();
    test::test_client sub(broker_.port(), "itest-sub");
    sub.subscribe("sensors/+/processed");
    test::publish_readings(broker_.port(), kMessages, [&](std::size_t sent) {
        if (sent == kMessages / 3) {
            app->signal(SIGHUP);
        }
    });
    const auto got = collect_processed(sub, kMessages, 60s);
    const int lost = kMessages - static_cast<int>(got.per_device.size());
    EXPECT_TRUE(app->wait_for_output("took over from pid", 30s, 4)) << app->output();
    const auto log = app->output();
    std::cout << "[ reload ] SIGHUP after " << kMessages / 3 << " of " << kMessages
              << " QoS 1 readings: " << test::count_occurrences(log, "took over from pid")
              << " workers replaced, " << lost << " lost, " << got.duplicates() << " duplicates\n";
    EXPECT_EQ(lost, 0) << log;
    EXPECT_EQ(test::count_occurrences(log, "is reloaded:"), 4) << log;
    for (const char* cut : {"killed by", "died", "restarting in the same slot", "overran"}) {
        EXPECT_EQ(log.find(cut), std::string::npos) << "a handler was cut off (" << cut << "):\n"
                                                    << log;
    }

    // Settings that no longer load: refused, nothing replaced, the workers keep serving.
    std::ofstream(env_file) << "RETRY_ATTEMPTS=zero\n";
    app->signal(SIGHUP);
    EXPECT_TRUE(app->wait_for_output("reload refused", 10s)) << app->output();
    EXPECT_NE(app->output().find("RETRY_ATTEMPTS"), std::string::npos) << app->output();
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(test::count_occurrences(app->output(), "is reloaded:"), 4);
    test::publish_readings(broker_.port(), 100);
    EXPECT_EQ(collect_processed(sub, 100, 30s).per_device.size(), 100u) << app->output();

    // The same through routemq ctl reload, which finds the manager even while the file is bad.
    const auto ctl_reload = [&] {
        auto run = std::make_unique<test::child_process>(
            std::vector<std::string>{ROUTEMQ_EXECUTABLE, "--env-file", env_file, "ctl", "reload"},
            std::map<std::string, std::string>{
                {"MQTT_CLIENT_ID", "reload"},
                {"INSTANCE_NAME", "reload-" + std::to_string(getpid())}},
            test::temp_path("ctl.log"));
        run->wait(10s);
        return run;
    };
    auto refused = ctl_reload();
    EXPECT_EQ(refused->wait(1s).value_or(-1), 1) << refused->output();
    EXPECT_NE(refused->output().find("reload refused"), std::string::npos) << refused->output();
    // A file that would change the plan loads; the workers keep the manager's plan.
    std::ofstream(env_file) << "WORKER_COUNT=2\n";
    auto done = ctl_reload();
    EXPECT_EQ(done->wait(1s).value_or(-1), 0) << done->output();
    EXPECT_TRUE(app->wait_for_output("took over from pid", 30s, 8)) << app->output();
    EXPECT_EQ(app->output().find("before it was ready"), std::string::npos) << app->output();
}
