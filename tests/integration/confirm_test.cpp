// The outgoing connection (mqtt/outgoing_connection) against a real mosquitto: confirmed from
// inside an MQTTAsync message-arrived callback, across a broker restart, kept up while idle, next
// to the asynchronous library in one process, waiting without using the CPU, and what it is for:
// a worker killed with kill -9 during a QoS 1 flood loses no result.

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mqtt/main_connection.hpp"
#include "mqtt/outgoing_connection.hpp"
#include "routemq/client.hpp"
#include "routemq/errors.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/test_client.hpp"

using namespace std::chrono_literals;
using routemq::detail::outgoing_connection;

namespace {

routemq::mqtt_settings settings_for(int port) {
    routemq::mqtt_settings s;
    s.broker = "127.0.0.1";
    s.port = port;
    s.protocol = routemq::mqtt_protocol::v5;
    s.keepalive = 30s;
    s.reconnect_max = 2s;
    s.session_expiry = 300s;
    return s;
}

routemq::detail::subscription subscribe_to(const std::string& filter) {
    routemq::detail::subscription sub;
    sub.topic = filter;
    sub.qos = 1;
    sub.id = 1;
    return sub;
}

/// An MQTTAsync subscriber that counts what arrives per topic.
class collector {
public:
    collector(int port, const std::string& filter, const std::string& id)
        : client_(settings_for(port), {}, {id, false}, {subscribe_to(filter)},
                  [this](const routemq::message& m) { take(m); }) {
        client_.start();
        if (!client_.wait_subscribed(10s).complete) {
            throw std::runtime_error("collector not subscribed");
        }
    }

    /// Waits until `distinct` topics have arrived (or the timeout); the count per topic.
    std::map<std::string, int> wait_for(std::size_t distinct, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, timeout, [&] { return seen_.size() >= distinct; });
        return seen_;
    }

    routemq::message first() {
        std::lock_guard lock(mu_);
        return first_;
    }

private:
    void take(const routemq::message& m) {
        {
            std::lock_guard lock(mu_);
            if (seen_.empty()) {
                first_ = m;
            }
            seen_[m.topic]++;
        }
        cv_.notify_all();
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, int> seen_;
    routemq::message first_;
    routemq::detail::main_connection client_;
};

int total(const std::map<std::string, int>& seen) {
    int n = 0;
    for (const auto& [topic, times] : seen) {
        n += times;
    }
    return n;
}

struct heap_info {
    std::size_t current_size;
    std::size_t max_size;
};

/// The bytes one of Paho's libraries has allocated and not freed (its own heap tracking).
std::size_t paho_heap(const char* library) {
    void* lib = dlopen(library, RTLD_NOLOAD | RTLD_LAZY);
    if (lib == nullptr) {
        return 0;
    }
    auto* get = reinterpret_cast<heap_info* (*)()>(dlsym(lib, "Heap_get_info"));
    const std::size_t n = get != nullptr ? get()->current_size : 0;
    dlclose(lib);
    return n;
}

}  // namespace

/// LeakSanitizer: the CONNACK property list libpaho-mqtt3cs leaks per connect next to
/// libpaho-mqtt3as (see core/CMakeLists.txt; NoPahoHeapGrowthPerPublish... bounds it).
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libpaho-mqtt3cs.so\nleak:libpaho-mqtt3as.so\n";
}

namespace {

class confirm_test : public ::testing::Test {
protected:
    // mosquitto drops what is queued for a client past max_queued_messages (default 1000): the
    // flood would lose inputs at the broker, whatever the worker does.
    test::mosquitto_broker broker_{"max_queued_messages 0"};
};

}  // namespace

TEST(confirm_link, AsynchronousPahoServesTheSymbolsBothLibrariesExport) {
    // The main client's received messages carry property lists that libpaho-mqtt3as allocates
    // and frees through MQTTProperties_free: that must be its own (see core/CMakeLists.txt).
    void* sym = dlsym(RTLD_DEFAULT, "MQTTProperties_free");
    ASSERT_NE(sym, nullptr);
    Dl_info info{};
    ASSERT_NE(dladdr(sym, &info), 0);
    EXPECT_NE(std::string(info.dli_fname).find("libpaho-mqtt3as"), std::string::npos)
        << "MQTTProperties_free comes from " << info.dli_fname;
}

TEST_F(confirm_test, HandlerConfirmsItsResultsBeforeItReturns) {
    constexpr int kJobs = 10;
    constexpr int kResults = 50;  // more than mosquitto's Receive Maximum (20): the window fills
    collector results(broker_.port(), "res/#", "confirm-observer");
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-worker-out");

    std::mutex mu;
    std::condition_variable cv;
    int handled = 0;
    int confirmed = 0;
    std::chrono::nanoseconds confirming{0};
    routemq::detail::main_connection worker(
        settings_for(broker_.port()), {}, {"confirm-worker", false}, {subscribe_to("job/+")},
        [&](const routemq::message& m) {
            const auto job = m.topic.substr(4);
            routemq::detail::publish_properties props;
            props.user_properties = {{"job", job}};
            props.response_topic = "reply/" + job;
            props.correlation_data = "corr-" + job;
            for (int i = 0; i < kResults; ++i) {
                out.publish("res/" + job + "/" + std::to_string(i), "r", i % 3 == 0 ? 2 : 1, false,
                            props);
            }
            const auto start = std::chrono::steady_clock::now();
            const bool ok = static_cast<bool>(
                out.confirm(10s));  // on Paho's receive thread, inside the callback
            const auto took = std::chrono::steady_clock::now() - start;
            std::lock_guard lock(mu);
            ++handled;
            confirmed += ok ? 1 : 0;
            confirming += took;
            cv.notify_all();
        });
    worker.start();
    ASSERT_TRUE(worker.wait_subscribed(10s).complete);

    // MQTTAsync: a synchronous client here would turn Paho's network loop on this thread while
    // the handler turns it on Paho's receive thread.
    routemq::detail::main_connection input(settings_for(broker_.port()), {},
                                           {"confirm-input", false}, {},
                                           [](const routemq::message&) {});
    input.start();
    ASSERT_TRUE(input.wait_subscribed(10s).complete);
    for (int j = 0; j < kJobs; ++j) {
        input.publish("job/" + std::to_string(j), "go", 1);
    }
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return handled == kJobs; }));
        EXPECT_EQ(confirmed, kJobs);
    }
    EXPECT_EQ(out.unconfirmed(), 0u);
    const auto seen = results.wait_for(kJobs * kResults, 10s);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kJobs * kResults));
    EXPECT_EQ(total(seen), kJobs * kResults) << "no duplicates without a reconnect";

    const auto m = results.first();
    const auto job = m.topic.substr(4, m.topic.find('/', 4) - 4);
    ASSERT_EQ(m.user_properties.size(), 1u);
    EXPECT_EQ(m.user_properties[0].first, "job");
    EXPECT_EQ(m.user_properties[0].second, job);
    std::cout << "[ confirm ] " << kJobs << " handlers x " << kResults
              << " results (QoS 1 and 2), confirmed inside the callback: "
              << std::chrono::duration<double, std::micro>(confirming).count() / (kJobs * kResults)
              << " us of confirm() per result\n";
    worker.disconnect(2s);
}

TEST_F(confirm_test, OneResultPerHandlerLatency) {
    // The common case: one result per input, confirmed alone. Reported, not asserted.
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-latency-out");
    out.publish("lat/warmup", "x", 1);
    ASSERT_TRUE(out.confirm(10s));
    constexpr int kRounds = 500;
    std::chrono::nanoseconds confirming{0};
    for (int i = 0; i < kRounds; ++i) {
        out.publish("lat/" + std::to_string(i), "x", 1);
        const auto start = std::chrono::steady_clock::now();
        ASSERT_TRUE(out.confirm(10s));
        confirming += std::chrono::steady_clock::now() - start;
    }
    std::cout << "[ confirm ] one QoS 1 result per confirm(): "
              << std::chrono::duration<double, std::micro>(confirming).count() / kRounds
              << " us per confirm() on loopback\n";
}

TEST_F(confirm_test, WithoutABrokerQos0ThrowsAndQos1WaitsForConfirm) {
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-down-out");
    out.publish("down/0", "x", 1);
    ASSERT_TRUE(out.confirm(10s));
    broker_.stop();
    EXPECT_THROW(out.publish("down/1", "x", 0), routemq::mqtt_error);
    for (int i = 2; i < 7; ++i) {
        out.publish("down/" + std::to_string(i), "x", 1);  // remembered, not sent
    }
    EXPECT_FALSE(out.confirm(300ms));
    EXPECT_EQ(out.unconfirmed(), 5u) << "kept for the next confirm()";
    broker_.start();
    collector results(broker_.port(), "down/#", "confirm-down-observer");
    EXPECT_TRUE(out.confirm(10s));
    EXPECT_EQ(out.unconfirmed(), 0u);
    EXPECT_EQ(out.connects(), 2u);
    EXPECT_EQ(results.wait_for(5, 5s).size(), 5u);
}

TEST_F(confirm_test, AnIdleConnectionIsKeptUpByPahosThread) {
    auto s = settings_for(broker_.port());
    s.keepalive = 1s;  // mosquitto closes a connection silent for 1.5 s
    outgoing_connection out(s, {}, "confirm-idle-out");
    out.publish("idle/0", "x", 1);
    ASSERT_TRUE(out.confirm(10s));
    // Idle for 4 keepalives, nobody calling it: Paho's thread sends the pings.
    std::this_thread::sleep_for(4s);
    collector results(broker_.port(), "idle/#", "confirm-idle-observer");
    out.publish("idle/1", "x", 1);
    EXPECT_TRUE(out.confirm(10s));
    EXPECT_EQ(out.connects(), 1u) << broker_.log();
    EXPECT_EQ(broker_.log().find("confirm-idle-out has exceeded timeout"), std::string::npos);
    EXPECT_EQ(results.wait_for(1, 5s).count("idle/1"), 1u);
}

TEST_F(confirm_test, WaitingForTheBrokerBlocksInsteadOfPolling) {
    // The broker stopped (SIGSTOP): it neither answers nor closes the connection, and confirm()
    // waits its whole timeout. A wait that polls wakes thousands of times meanwhile (every 1 ms
    // turn of Paho's loop, every 20 us nap); one that blocks wakes about once a second.
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-wait-out");
    ASSERT_TRUE(out.connect(5s));
    kill(broker_.pid(), SIGSTOP);
    out.publish("wait/0", "x", 1);
    const auto wakeups = [] {
        rusage u{};
        getrusage(RUSAGE_THREAD, &u);
        return u.ru_nvcsw + u.ru_nivcsw;
    };
    const auto cpu = [] {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
    };
    const auto woken_before = wakeups();
    const auto cpu_before = cpu();
    const auto c = out.confirm(2s);
    const auto woken = wakeups() - woken_before;
    const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(cpu() - cpu_before);
    kill(broker_.pid(), SIGCONT);
    EXPECT_FALSE(c.complete);
    EXPECT_LE(woken, 10) << "the waiting thread was switched out " << woken << " times in 2 s";
    EXPECT_LT(used.count(), 20) << "the waiting thread used " << used.count() << " ms of CPU";
    EXPECT_TRUE(out.confirm(10s)) << "answered once the broker runs again";
}

TEST_F(confirm_test, WaitingForABrokerThatIsDownBlocksToo) {
    // Connection refused: confirm() tries again with a growing pause (0.1 s doubling to 2 s)
    // until its timeout, and sleeps between attempts and after the last one.
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-down-out");
    ASSERT_TRUE(out.connect(5s));
    broker_.stop();
    out.publish("down/0", "x", 1);
    rusage before{};
    getrusage(RUSAGE_THREAD, &before);
    const auto c = out.confirm(3s);
    rusage after{};
    getrusage(RUSAGE_THREAD, &after);
    EXPECT_FALSE(c.complete);
    const auto switches = (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw);
    EXPECT_LE(switches, 60) << "the waiting thread was switched out " << switches << " times";
    const auto cpu_us = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000L +
                        (after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
                        (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000L +
                        (after.ru_stime.tv_usec - before.ru_stime.tv_usec);
    EXPECT_LT(cpu_us, 100000) << "the waiting thread used " << cpu_us << " us of CPU in 3 s";
    broker_.start();
    collector results(broker_.port(), "down/#", "confirm-down-observer");
    EXPECT_TRUE(out.confirm(15s)) << "sent again and answered once the broker is back";
}

TEST_F(confirm_test, ADisconnectedPublisherConnectsAgain) {
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-again-out");
    ASSERT_TRUE(out.connect(5s));
    out.disconnect(1s);
    ASSERT_TRUE(out.connect(5s));
    EXPECT_EQ(out.connects(), 2u);
    collector results(broker_.port(), "again/#", "confirm-again-observer");
    out.publish("again/1", "x", 1);
    EXPECT_TRUE(out.confirm(10s));
    EXPECT_EQ(results.wait_for(1, 5s).count("again/1"), 1u);
}

TEST_F(confirm_test, NoPahoHeapGrowthPerPublishNextToTheAsynchronousLibrary) {
    // Both Paho libraries in one process: the synchronous one leaks one CONNACK property list
    // per connect (see core/CMakeLists.txt), nothing per publish.
    outgoing_connection out(settings_for(broker_.port()), {}, "confirm-heap-out");
    routemq::detail::publish_properties props;
    props.user_properties = {{"k", "v"}};
    auto batch = [&] {
        for (int i = 0; i < 200; ++i) {
            out.publish("heap/" + std::to_string(i), "x", 1, false, props);
        }
        ASSERT_TRUE(out.confirm(10s));
    };
    batch();
    const auto after_first = paho_heap("libpaho-mqtt3cs.so.1");
    batch();
    batch();
    EXPECT_EQ(paho_heap("libpaho-mqtt3cs.so.1"), after_first);
}

namespace {

struct flood_outcome {
    int lost = 0;
    int duplicates = 0;
};

/// 3,000 QoS 1 inputs to a worker with a persistent session; kill -9 after half of them were
/// published, restart at once with the same client id; every input should have its result.
flood_outcome flood_with_kill(test::mosquitto_broker& broker, const std::string& mode,
                              std::chrono::seconds wait) {
    constexpr int kInputs = 3000;
    const std::string id = "confirm-flood-" + mode;
    collector results(broker.port(), "flood/out/+", id + "-observer");
    auto start_worker = [&] {
        auto w = std::make_unique<test::child_process>(
            std::vector<std::string>{ROUTEMQ_CONFIRM_WORKER, std::to_string(broker.port()), id,
                                     mode},
            std::map<std::string, std::string>{}, test::temp_path("confirm-worker.log"));
        if (!w->wait_for_output("ready", 10s)) {
            throw std::runtime_error("worker not ready: " + w->output());
        }
        return w;
    };
    auto worker = start_worker();
    std::vector<test::received> inputs;
    for (int i = 0; i < kInputs; ++i) {
        inputs.push_back({"flood/in/" + std::to_string(i), std::to_string(i)});
    }
    test::test_client input(broker.port(), id + "-input", /*receive=*/false);
    // Windows of 500 outpace the worker, so the kill lands in the middle of a backlog.
    input.publish_many(inputs, 500, [&](std::size_t sent) {
        if (sent == kInputs / 2) {
            worker->signal(SIGKILL);
            worker->wait(5s);
            worker = start_worker();
        }
    });
    const auto seen = results.wait_for(kInputs, wait);
    flood_outcome out;
    out.lost = kInputs - static_cast<int>(seen.size());
    out.duplicates = total(seen) - static_cast<int>(seen.size());
    worker->signal(SIGTERM);
    worker->wait(10s);
    return out;
}

}  // namespace

TEST_F(confirm_test, WorkerKilledDuringAFloodLosesNoConfirmedResult) {
    const auto confirmed = flood_with_kill(broker_, "confirm", 60s);
    EXPECT_EQ(confirmed.lost, 0);
    std::cout << "[ kill -9 ] results confirmed before the ack: " << confirmed.lost
              << " of 3000 lost, " << confirmed.duplicates << " duplicates\n";
    ::testing::Test::RecordProperty("confirmed_lost", confirmed.lost);
    ::testing::Test::RecordProperty("confirmed_duplicates", confirmed.duplicates);
}

TEST_F(confirm_test, ForComparisonWorkerPublishingThroughMQTTAsync) {
    // Not asserted: how many results the same kill costs when they leave through the main client.
    const auto plain = flood_with_kill(broker_, "plain", 10s);
    std::cout << "[ kill -9 ] results published through MQTTAsync: " << plain.lost
              << " of 3000 lost, " << plain.duplicates << " duplicates\n";
    ::testing::Test::RecordProperty("plain_lost", plain.lost);
}

// routemq::client in an application of its own: its connections' lines ("connected to ...",
// "outgoing connection ... up") stay out of the application's default logger unless it asks.
TEST_F(confirm_test, ClientLogsOnlyWhereItIsTold) {
    const auto previous = spdlog::default_logger();
    std::ostringstream lines;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("application", sink));
    routemq::settings s;
    s.mqtt = settings_for(broker_.port());
    s.mqtt.client_id = "confirm-quiet";
    { routemq::client quiet(s, {.name = "quiet"}); }
    EXPECT_EQ(lines.str(), "");
    { routemq::client told(s, {.name = "told", .log = spdlog::default_logger()}); }
    EXPECT_NE(lines.str().find("connected to 127.0.0.1"), std::string::npos) << lines.str();
    spdlog::set_default_logger(previous);
}
