// The shared metrics region, its Prometheus rendering and readiness, without processes or a
// broker; the integration tests check the same through a real pod.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <routemq/errors.hpp>
#include <routemq/router.hpp>
#include <stdexcept>
#include <thread>

#include "delivery/dispatcher.hpp"
#include "metrics/exposition.hpp"
#include "metrics/health.hpp"
#include "metrics/slot_counters.hpp"
#include "pod/pod_region.hpp"
#include "pod/protocol.hpp"
#include "support/prometheus_text.hpp"
#include "support/recording_publisher.hpp"

using routemq::detail::outcome;
using routemq::detail::pod_region;

namespace {

/// The state of a process the manager supervises and that serves.
constexpr auto serving = routemq::detail::slot_state::serving;

constexpr std::uint64_t kMs = 1'000'000;

}  // namespace

TEST(SharedMetrics, AnotherMappingOfTheDescriptorSeesEveryWrite) {
    auto manager = pod_region::create(3, 2);
    // What a worker does with the descriptor it inherits.
    auto worker = pod_region::attach(dup(manager->fd()), 3, 2);
    worker->record(2, 1, outcome::handled, 3 * kMs);
    worker->process(2).received.fetch_add(1);
    EXPECT_EQ(manager->route(2, 1).handled.load(), 1u);
    EXPECT_EQ(manager->route(1, 1).handled.load(), 0u) << "slots are separate";
    EXPECT_EQ(manager->process(2).received.load(), 1u);
    EXPECT_EQ(manager->route(2, 1).duration_sum_ns.load(), 3 * kMs);
}

TEST(SharedMetrics, AttachRefusesAnotherShape) {
    auto manager = pod_region::create(3, 2);
    EXPECT_THROW(pod_region::attach(dup(manager->fd()), 4, 2), routemq::error);
    EXPECT_THROW(pod_region::attach(dup(manager->fd()), 3, 3), routemq::error);
}

TEST(SharedMetrics, DurationsLandInTheirBucket) {
    auto m = pod_region::create(1, 1);
    m->record(0, 0, outcome::handled, 50'000);              // 50 us: first bucket (<= 100 us)
    m->record(0, 0, outcome::bad_payload, 1 * kMs);         // exactly on the 1 ms bound
    m->record(0, 0, outcome::handler_error, 60'000 * kMs);  // 60 s: past every bound
    const auto& b = m->route(0, 0).duration_buckets;
    EXPECT_EQ(b[0].load(), 1u);
    EXPECT_EQ(b[3].load(), 1u) << "le is inclusive";
    EXPECT_EQ(b.back().load(), 1u);
    EXPECT_EQ(m->route(0, 0).handled.load(), 1u);
    EXPECT_EQ(m->route(0, 0).bad_payload.load(), 1u);
    EXPECT_EQ(m->route(0, 0).handler_error.load(), 1u);
}

TEST(Exposition, SumsRoutesOverProcessesAndParsesStrictly) {
    auto m = pod_region::create(3, 2);
    m->process(0).state = serving;
    m->process(1).state = serving;
    m->process(2).state = serving;
    m->process(1).received = 5;
    m->process(2).received = 7;
    m->process(2).no_route = 2;
    for (int i = 0; i < 4; ++i) {
        m->record(1, 0, outcome::handled, 2 * kMs);
    }
    for (int i = 0; i < 6; ++i) {
        m->record(2, 0, outcome::handled, 20 * kMs);
    }
    m->record(2, 0, outcome::bad_payload, kMs);
    m->manager().workers_planned = 2;
    m->manager().workers_running = 1;
    m->manager().worker_restarts = 4;
    m->process(1).connected = 1;

    const auto text = routemq::detail::render_prometheus(*m, {"s/{id}/data", "a \"b\"\\c\nd"});
    const auto e = test::parse_prometheus(text);
    EXPECT_EQ(e.sum("routemq_messages_handled_total", {{"route", "s/{id}/data"}}), 10);
    EXPECT_EQ(e.sum("routemq_messages_received_total"), 12);
    EXPECT_EQ(e.sum("routemq_messages_received_total", {{"process", "w2"}}), 7);
    EXPECT_EQ(e.sum("routemq_messages_failed_total", {{"reason", "no_route"}}), 2);
    EXPECT_EQ(e.sum("routemq_messages_failed_total",
                    {{"reason", "bad_payload"}, {"route", "s/{id}/data"}}),
              1);
    EXPECT_EQ(e.sum("routemq_handler_duration_seconds_count", {{"route", "s/{id}/data"}}), 11);
    EXPECT_EQ(e.sum("routemq_handler_duration_seconds_bucket",
                    {{"route", "s/{id}/data"}, {"le", "0.0025"}}),
              5)
        << "four 2 ms runs and one 1 ms run";
    EXPECT_NEAR(e.sum("routemq_handler_duration_seconds_sum", {{"route", "s/{id}/data"}}), 0.129,
                1e-9);
    EXPECT_EQ(e.sum("routemq_workers_planned"), 2);
    EXPECT_EQ(e.sum("routemq_workers_running"), 1);
    EXPECT_EQ(e.sum("routemq_worker_restarts_total"), 4);
    EXPECT_EQ(e.sum("routemq_mqtt_connected", {{"process", "w1"}}), 1);
    EXPECT_EQ(e.sum("routemq_mqtt_connected", {{"process", "w2"}}), 0);
    // A route label with a quote, a backslash and a newline survives escaping.
    EXPECT_EQ(e.count("routemq_messages_handled_total", {{"route", "a \"b\"\\c\nd"}}), 1u);
    EXPECT_EQ(e.types.at("routemq_handler_duration_seconds"), "histogram");
    EXPECT_EQ(e.types.at("routemq_messages_handled_total"), "counter");
}

TEST(Exposition, TheBrokersDroppedCountAppearsOnceTheBrokerSaidIt) {
    auto m = pod_region::create(1, 1);
    EXPECT_EQ(test::parse_prometheus(routemq::detail::render_prometheus(*m, {"x"}))
                  .count("routemq_broker_dropped_messages"),
              0u)
        << "not a 0 the broker never said";
    m->manager().broker_dropped_plus_one = 1;
    auto e = test::parse_prometheus(routemq::detail::render_prometheus(*m, {"x"}));
    EXPECT_EQ(e.sum("routemq_broker_dropped_messages"), 0);
    m->manager().broker_dropped_plus_one = 43;
    e = test::parse_prometheus(routemq::detail::render_prometheus(*m, {"x"}));
    EXPECT_EQ(e.sum("routemq_broker_dropped_messages"), 42);
    EXPECT_EQ(e.types.at("routemq_broker_dropped_messages"), "gauge");
}

TEST(Exposition, RoutesWithOnePatternShareASeries) {
    auto m = pod_region::create(1, 2);
    m->record(0, 0, outcome::handled, kMs);
    m->record(0, 1, outcome::handled, kMs);
    const auto e = test::parse_prometheus(routemq::detail::render_prometheus(*m, {"x/+", "x/+"}));
    EXPECT_EQ(e.count("routemq_messages_handled_total"), 1u);
    EXPECT_EQ(e.sum("routemq_messages_handled_total", {{"route", "x/+"}}), 2);
}

TEST(Exposition, OnlyExpectedProcessesGetPerProcessSeries) {
    auto m = pod_region::create(3, 0);
    m->process(1).state = serving;
    const auto e = test::parse_prometheus(routemq::detail::render_prometheus(*m, {}));
    EXPECT_EQ(e.count("routemq_mqtt_connected"), 1u);
    EXPECT_EQ(e.count("routemq_mqtt_connected", {{"process", "w1"}}), 1u);
}

// The checker must be able to fail, or the tests above prove nothing.
TEST(PrometheusChecker, RejectsWhatPrometheusRejects) {
    const char* bad[] = {
        "# TYPE a_total_total counter\na_total_total 1\n",           // _total twice
        "# TYPE a counter\na 1\n",                                   // counter without _total
        "b 1\n",                                                     // no TYPE
        "# TYPE g gauge\ng{x=\"1\"} 1\ng{x=\"1\"} 2\n",              // repeated series
        "# TYPE g gauge\ng{x=\"\\q\"} 1\n",                          // bad escape
        "# TYPE g gauge\ng{x=1} 1\n",                                // unquoted label
        "# TYPE g gauge\ng 1\n# TYPE h gauge\nh 1\ng{y=\"2\"} 1\n",  // interleaved family
        "# TYPE g gauge\ng one\n",                                   // bad value
        "# TYPE g gauge\ng 1",                                       // no final newline
        "# TYPE c_total counter\nc_total -1\n",                      // negative counter
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",     // no +Inf
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  // count != +Inf
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",           // no _sum
    };
    for (const char* text : bad) {
        EXPECT_THROW(test::parse_prometheus(text), std::runtime_error) << text;
    }
    EXPECT_NO_THROW(test::parse_prometheus(
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
        "h_sum 3\nh_count 2\n"));
}

TEST(Readiness, NamesEveryMissingPiece) {
    auto m = pod_region::create(4, 0);
    for (std::size_t slot : {0, 1, 2, 3}) {
        m->process(slot).state = serving;
        m->process(slot).pid = 100 + static_cast<int>(slot);
        m->process(slot).connected = 1;
        m->process(slot).subscribed = 1;
    }
    EXPECT_TRUE(routemq::detail::check_readiness(*m).ready);

    m->process(0).connected = 0;
    m->process(2).pid = 0;
    m->process(3).subscribed = 0;
    auto r = routemq::detail::check_readiness(*m);
    EXPECT_FALSE(r.ready);
    EXPECT_EQ(r.missing, (std::vector<std::string>{"main: not connected to the broker",
                                                   "w2: not running", "w3: not subscribed"}));

    m->process(0).state =
        routemq::detail::slot_state::none;  // --workers: the manager has no client
    m->process(2).pid = 102;
    m->process(3).subscribed = 1;
    EXPECT_TRUE(routemq::detail::check_readiness(*m).ready);
    m->manager().stopping = 1;
    r = routemq::detail::check_readiness(*m);
    EXPECT_EQ(r.missing, (std::vector<std::string>{"shutting down"}));
}

TEST(Readiness, NamesAHandlerPastItsTimeout) {
    auto m = pod_region::create(2, 1);
    m->process(1).state = serving;
    m->process(1).pid = 101;
    m->process(1).connected = 1;
    m->process(1).subscribed = 1;
    m->begin_work(1, 0, "work/7", 42, std::chrono::milliseconds(50));
    EXPECT_TRUE(routemq::detail::check_readiness(*m).ready) << "within its timeout";
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    const auto r = routemq::detail::check_readiness(*m);
    EXPECT_FALSE(r.ready);
    ASSERT_EQ(r.missing.size(), 1u);
    EXPECT_EQ(r.missing[0].rfind("w1: handler stuck on topic 'work/7' for ", 0), 0u)
        << r.missing[0];
    m->end_work(1);
    EXPECT_TRUE(routemq::detail::check_readiness(*m).ready);
}

TEST(SharedMetrics, WorkInHandIsReadBackWhole) {
    auto m = pod_region::create(2, 3);
    const std::string long_topic(400, 't');
    m->begin_work(1, 2, long_topic, 0xabc, std::chrono::milliseconds(1500));
    const auto w = m->work(1);
    EXPECT_EQ(w.route, 3u) << "route index + 1";
    EXPECT_EQ(w.digest, 0xabcu);
    EXPECT_EQ(w.timeout_ms, 1500);
    EXPECT_EQ(w.topic, long_topic.substr(0, routemq::detail::kWorkTopicLength));
    m->end_work(1);
    EXPECT_EQ(m->work(1).route, 0u);
}

TEST(SharedMetrics, PoisonTableCountsCrashesPerMessage) {
    auto m = pod_region::create(2, 1);
    std::int32_t last = 0;
    EXPECT_EQ(m->crashes(7, last), 0);
    EXPECT_EQ(m->add_crash(7, 11), 1);
    EXPECT_EQ(m->add_crash(7, routemq::detail::kTimedOut), 2);
    EXPECT_EQ(m->crashes(7, last), 2);
    EXPECT_EQ(last, routemq::detail::kTimedOut);
    EXPECT_EQ(m->crashes(8, last), 0);
    // The table is a ring: the oldest entries give way, the newest are kept.
    for (std::uint64_t d = 100; d < 100 + routemq::detail::kPoisonEntries; ++d) {
        m->add_crash(d, 9);
    }
    EXPECT_EQ(m->crashes(7, last), 0);
    EXPECT_EQ(m->crashes(100 + routemq::detail::kPoisonEntries - 1, last), 1);
}

TEST(Liveness, FollowsTheMainLoopsHeartbeat) {
    auto m = pod_region::create(1, 0);
    routemq::detail::heartbeat(*m);
    EXPECT_TRUE(routemq::detail::alive(*m, std::chrono::seconds(15)));
    m->manager().heartbeat_ms -= 20'000;
    EXPECT_FALSE(routemq::detail::alive(*m, std::chrono::seconds(15)));
    m->manager().stopping = 1;
    EXPECT_TRUE(routemq::detail::alive(*m, std::chrono::seconds(15)))
        << "a graceful stop (waiting for workers) is not a stall";
}

TEST(Dispatcher, CountsIntoItsSlotOfTheSharedRegion) {
    routemq::router r;
    r.on("ok/{id}", [](routemq::context&) {});
    r.on("bad/{id}", [](routemq::context& c) { (void)c.json(); });
    auto pod = pod_region::create(3, 2);
    routemq::detail::slot_counters counters(pod, 2);
    const std::vector<std::size_t> served{0, 1};
    routemq::detail::dispatcher d(r, served, routemq::detail::plan_subscriptions(r, served, "g"),
                                  "w2", counters, routemq::load_settings({}, {}).handling);
    test::recording_publisher out;
    routemq::message m;
    m.topic = "ok/1";
    d.dispatch(m, out);
    m.topic = "bad/1";
    m.payload = "{";
    d.dispatch(m, out);
    m.topic = "elsewhere";
    d.dispatch(m, out);
    EXPECT_EQ(pod->process(2).received.load(), 3u);
    EXPECT_EQ(pod->process(2).no_route.load(), 1u);
    EXPECT_EQ(pod->route(2, 0).handled.load(), 1u);
    EXPECT_EQ(pod->route(2, 1).bad_payload.load(), 1u);
    EXPECT_EQ(pod->route(2, 1).dead_letters[1].load(), 1u) << "a payload error is dead-lettered";
    EXPECT_EQ(pod->process(1).received.load(), 0u);
    EXPECT_EQ(pod->process(2).work.route.load(), 0u) << "no handler in hand after dispatch";
}

TEST(Readiness, NamesWhyAProcessCannotConnect) {
    auto m = pod_region::create(2, 0);
    for (std::size_t slot : {0, 1}) {
        m->process(slot).state = serving;
        m->process(slot).pid = 100 + static_cast<int>(slot);
    }
    m->process(1).connect_error.store("attempt 4 failed: not authorized (CONNACK 135)");
    m->process(1).connect_failures = 4;
    const auto r = routemq::detail::check_readiness(*m);
    EXPECT_EQ(r.missing,
              (std::vector<std::string>{
                  "main: not connected to the broker",
                  "w1: not connected to the broker (attempt 4 failed: not authorized (CONNACK "
                  "135))"}));
    const auto text = routemq::detail::render_prometheus(*m, {});
    EXPECT_NE(text.find("routemq_mqtt_connect_failures_total{process=\"w1\"} 4"), std::string::npos)
        << text;
}

TEST(SharedText, KeepsTheLastTextWholeAndCutsLongOnes) {
    routemq::detail::shared_text t{};
    EXPECT_EQ(t.load(), "");
    t.store("connection lost: socket error");
    EXPECT_EQ(t.load(), "connection lost: socket error");
    t.store("short");
    EXPECT_EQ(t.load(), "short");
    const std::string longer(500, 'x');
    t.store(longer);
    EXPECT_EQ(t.load(), longer.substr(0, routemq::detail::shared_text::kCapacity));
    t.store("");
    EXPECT_EQ(t.load(), "");
}

TEST(SharedText, ReadersNeverSeeAMixOfTwoTexts) {
    routemq::detail::shared_text t{};
    const std::string a(100, 'a');
    const std::string b(120, 'b');
    t.store(a);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < 20000; ++i) {
            t.store(i % 2 == 0 ? b : a);
        }
        done = true;
    });
    while (!done) {
        const auto seen = t.load();
        EXPECT_TRUE(seen == a || seen == b || seen.empty()) << seen;
    }
    writer.join();
}
