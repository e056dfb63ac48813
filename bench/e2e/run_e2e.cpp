// End-to-end benchmark: the framework (bench_app --workers N) against a hand-written Paho C
// baseline (N baseline_worker processes) on the same mosquitto, in the same run, so every figure
// is a ratio that holds on a noisy machine. Writes markdown, a data file for the plot, and prints
// progress. Usage: run_e2e <output-dir> [--quick] [--only rtt|priority|throughput]
// [--compare-app <path>]; `--only rtt` runs the request/response round-trip case alone,
// `--only priority` the priority case, `--only throughput` the throughput table (its table is then
// all of e2e.md); `--compare-app` adds the bench_app of another build (a before and after) to the
// throughput table.

#include <MQTTAsync.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "support/app_runner.hpp"
#include "support/broker.hpp"
#include "support/http.hpp"
#include "support/process.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               clock_type::now().time_since_epoch())
        .count();
}

/// Paho async client used by the load generator: publishes, or counts replies with latencies.
class load_client {
public:
    load_client(int port, const std::string& id) {
        const auto uri = "tcp://127.0.0.1:" + std::to_string(port);
        MQTTAsync_create(&handle_, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr);
        MQTTAsync_setCallbacks(handle_, this, nullptr, &load_client::arrived, nullptr);
        MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
        o.cleansession = 1;
        o.maxInflight = 65535;
        o.context = this;
        o.onSuccess = [](void* ctx, MQTTAsync_successData*) {
            static_cast<load_client*>(ctx)->ready_ = true;
        };
        MQTTAsync_connect(handle_, &o);
        wait_flag(ready_);
    }
    ~load_client() {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
        d.timeout = 1000;
        MQTTAsync_disconnect(handle_, &d);
        std::this_thread::sleep_for(50ms);
        MQTTAsync_destroy(&handle_);
    }

    void subscribe(const std::string& filter, int qos) {
        subscribed_ = false;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.context = this;
        ro.onSuccess = [](void* ctx, MQTTAsync_successData*) {
            static_cast<load_client*>(ctx)->subscribed_ = true;
        };
        MQTTAsync_subscribe(handle_, filter.c_str(), qos, &ro);
        wait_flag(subscribed_);
    }

    void publish(const std::string& topic, const std::string& payload, int qos) {
        MQTTAsync_message m = MQTTAsync_message_initializer;
        m.payload = const_cast<char*>(payload.data());
        m.payloadlen = static_cast<int>(payload.size());
        m.qos = qos;
        while (MQTTAsync_sendMessage(handle_, topic.c_str(), &m, nullptr) != MQTTASYNC_SUCCESS) {
            std::this_thread::sleep_for(1ms);  // Paho's buffer is full: let it drain
        }
    }

    /// Replies counted so far, and their latencies in nanoseconds.
    std::size_t received() const { return received_.load(); }
    std::vector<std::int64_t> latencies() {
        std::lock_guard lock(mu_);
        return latencies_;
    }
    clock_type::time_point last_arrival() {
        std::lock_guard lock(mu_);
        return last_;
    }
    void reset() {
        std::lock_guard lock(mu_);
        latencies_.clear();
        distinct_.clear();
        received_ = 0;
    }
    /// From now on, also count the distinct sequence numbers (the number a payload starts with)
    /// among the replies, so duplicates show.
    void track_distinct() {
        std::lock_guard lock(mu_);
        track_distinct_ = true;
    }
    std::size_t distinct() {
        std::lock_guard lock(mu_);
        return distinct_.size();
    }

private:
    static void wait_flag(const std::atomic<bool>& flag) {
        for (int i = 0; i < 500 && !flag; ++i) {
            std::this_thread::sleep_for(10ms);
        }
        if (!flag) {
            throw std::runtime_error("load client: broker did not answer");
        }
    }
    static int arrived(void* ctx, char* topic, int, MQTTAsync_message* m) {
        auto* self = static_cast<load_client*>(ctx);
        const std::string payload(static_cast<const char*>(m->payload),
                                  static_cast<std::size_t>(m->payloadlen));
        // "<seq> <sent ns>", or the example application's result, which echoes the reading
        // {"temp": .., "seq": <seq>, "sent": <sent ns>}.
        std::int64_t sent = 0;
        std::uint64_t seq = 0;
        if (const auto at = payload.find("\"sent\":"); at != std::string::npos) {
            sent = std::strtoll(payload.c_str() + at + 7, nullptr, 10);
            const auto s_at = payload.find("\"seq\":");
            seq = s_at == std::string::npos
                      ? 0
                      : std::strtoull(payload.c_str() + s_at + 6, nullptr, 10);
        } else {
            const auto space = payload.find(' ');
            sent = space == std::string::npos ? 0 : std::stoll(payload.substr(space));
            seq = std::strtoull(payload.c_str(), nullptr, 10);
        }
        {
            std::lock_guard lock(self->mu_);
            self->latencies_.push_back(now_ns() - sent);
            self->last_ = clock_type::now();
            if (self->track_distinct_) {
                self->distinct_.insert(seq);
            }
        }
        self->received_++;
        MQTTAsync_freeMessage(&m);
        MQTTAsync_free(topic);
        return 1;
    }

    MQTTAsync handle_ = nullptr;
    std::atomic<bool> ready_{false};
    std::atomic<bool> subscribed_{false};
    std::atomic<std::size_t> received_{0};
    std::mutex mu_;
    std::vector<std::int64_t> latencies_;
    clock_type::time_point last_{};
    bool track_distinct_ = false;
    std::unordered_set<std::uint64_t> distinct_;
};

/// CPU time of a process in seconds: the sum over its threads of the time on a CPU the scheduler
/// counted (/proc/<pid>/task/<tid>/schedstat, in nanoseconds, where utime and stime count
/// 10 ms ticks). Threads that already ended are not counted: the processes measured here keep
/// theirs.
double cpu_seconds(int pid) {
    double total = 0;
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "schedstat");
        double ns = 0;
        if (in >> ns) {
            total += ns / 1e9;
        }
    }
    return total;
}

/// A field of /proc/<pid>/status in MiB: VmRSS (everything resident, shared library pages
/// included) or RssAnon (the process's own memory).
double status_mib(int pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::stod(line.substr(field.size() + 1)) / 1024.0;
        }
    }
    return 0;
}

/// Proportional set size of a process in MiB (/proc/<pid>/smaps_rollup): its own pages plus its
/// share of the pages it shares with others (libraries, the binary), so the sum over processes
/// is what they take together.
double pss_mib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Pss:", 0) == 0) {
            return std::stod(line.substr(4)) / 1024.0;
        }
    }
    return 0;
}

double percentile(std::vector<std::int64_t> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
    return static_cast<double>(v[i]) / 1000.0;  // microseconds
}

/// The pids of a process's children.
std::vector<int> children_of(int pid) {
    std::vector<int> out;
    std::ifstream in(fmt::format("/proc/{0}/task/{0}/children", pid));
    for (int child = 0; in >> child;) {
        out.push_back(child);
    }
    return out;
}

/// A running set of workers of one implementation. The baseline's are `baseline_exe`
/// processes (`<port> <group> <qos> <client-id>` and `baseline_args`) with client ids
/// `<id_prefix>-<i>`.
class worker_set {
public:
    worker_set(bool framework, int workers, int qos, int port,
               const std::string& baseline_exe = BASELINE_WORKER,
               const std::string& id_prefix = "baseline",
               const std::vector<std::string>& baseline_args = {})
        : framework_(framework) {
        const auto t0 = clock_type::now();
        if (framework && baseline_exe == EXAMPLE_APP) {
            // The example application's sensor route (its pool "ingest"), with warnings only:
            // its access log line per message is a choice of the example, not the framework's
            // cost. Ready when /readyz says every worker is subscribed.
            const int http_port = test::free_loopback_port();
            manager_ = test::start_app(EXAMPLE_APP, port,
                                       {"--workers", std::to_string(workers), "--pools", "ingest"},
                                       {{"LOG_LEVEL", "warn"},
                                        {"MQTT_GROUP_NAME", "bench"},
                                        {"HTTP_PORT", std::to_string(http_port)}});
            const auto ready = test::http_poll(
                http_port, "/readyz", [](const auto& r) { return r.status == 200; }, 60s);
            if (ready.status != 200) {
                throw std::runtime_error("example workers did not start: " + ready.body + "\n" +
                                         manager_->output());
            }
            pids_ = children_of(manager_->pid());
        } else if (framework) {
            // bench_app, or the one of another build (--compare-app).
            const std::string app = baseline_exe == BASELINE_WORKER ? BENCH_APP : baseline_exe;
            manager_ = test::start_app(app, port, {"--workers", std::to_string(workers)},
                                       {{"BENCH_QOS", std::to_string(qos)},
                                        {"LOG_LEVEL", "info"},
                                        {"MQTT_GROUP_NAME", "bench"}});
            if (!manager_->wait_for_output("] serving", 60s, workers)) {
                throw std::runtime_error("framework workers did not start:\n" + manager_->output());
            }
            // Its children, not its log: an older build (--compare-app) logs them otherwise.
            pids_ = children_of(manager_->pid());
        } else {
            for (int i = 0; i < workers; ++i) {
                std::vector<std::string> argv{baseline_exe, std::to_string(port), "bench",
                                              std::to_string(qos),
                                              id_prefix + "-" + std::to_string(i)};
                argv.insert(argv.end(), baseline_args.begin(), baseline_args.end());
                baseline_.push_back(std::make_unique<test::child_process>(
                    argv, std::map<std::string, std::string>{}, test::temp_path("baseline.log")));
            }
            for (auto& b : baseline_) {
                if (!b->wait_for_output("ready", 60s)) {
                    throw std::runtime_error("baseline worker did not start: " + b->output());
                }
                pids_.push_back(b->pid());
            }
        }
        startup_ = std::chrono::duration<double>(clock_type::now() - t0).count();
    }

    const std::vector<int>& pids() const { return pids_; }

    /// A crash of the whole framework instance: workers killed while their manager is stopped
    /// (so it cannot restart them or end their sessions), then the manager. The broker keeps
    /// their sessions and queues for them.
    void crash() {
        manager_->signal(SIGSTOP);
        for (int pid : pids_) {
            kill(pid, SIGKILL);
        }
        manager_->signal(SIGKILL);
        manager_->wait(10s);
    }
    double startup_seconds() const { return startup_; }

    /// CPU of every process, the framework's manager included.
    double cpu() const {
        double total = manager_ ? cpu_seconds(manager_->pid()) : 0;
        for (int pid : pids_)
            total += cpu_seconds(pid);
        return total;
    }
    double max_rss(const std::string& field = "VmRSS") const {
        double m = 0;
        for (int pid : pids_) {
            m = std::max(m, status_mib(pid, field));
        }
        return m;
    }

    /// SIGTERM and the time until every process has exited.
    double stop() {
        const auto t0 = clock_type::now();
        if (framework_) {
            manager_->signal(SIGTERM);
            manager_->wait(60s);
        } else {
            for (auto& b : baseline_)
                b->signal(SIGTERM);
            for (auto& b : baseline_)
                b->wait(60s);
        }
        const double took = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::this_thread::sleep_for(200ms);  // let the broker drop the sessions before the next run
        return took;
    }

private:
    bool framework_;
    std::unique_ptr<test::child_process> manager_;
    std::vector<std::unique_ptr<test::child_process>> baseline_;
    std::vector<int> pids_;
    double startup_ = 0;
};

struct run_result {
    double throughput = 0;  // replies per second
    double cpu_per_million = 0;
    double p50 = 0, p99 = 0, p999 = 0;  // microseconds
    double rss = 0;
    std::size_t lost = 0;
};

std::string payload(std::size_t seq) {
    return fmt::format("{} {}", seq, now_ns());
}

/// What a contender is sent and answers: bench_app and the baselines take "<seq> <sent ns>" on
/// bench/<i>/data and answer on bench/<i>/done; the example application takes a JSON reading on
/// sensors/<i>/data and answers on sensors/<i>/processed.
struct workload {
    bool example = false;
    std::string topic(int i) const {
        return example ? fmt::format("sensors/{}/data", i % 1000)
                       : fmt::format("bench/{}/data", i % 1000);
    }
    std::string body(int i) const {
        return example ? fmt::format(R"({{"temp":21.5,"seq":{},"sent":{}}})", i, now_ns())
                       : payload(static_cast<std::size_t>(i));
    }
    std::string replies() const { return example ? "sensors/+/processed" : "bench/+/done"; }
};

/// Sends a few messages through and waits for their replies, so a run starts on a pipeline
/// that is known to work (every subscription settled, connections warm).
void warm_up(load_client& pub, load_client& counter, int qos, const workload& wl = {}) {
    counter.reset();
    for (int i = 0; i < 200; ++i) {
        pub.publish(wl.topic(i), wl.body(i), qos);
    }
    for (int i = 0; i < 500 && counter.received() < 200; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    if (counter.received() < 200) {
        std::cerr << "warning: warm-up got " << counter.received() << " of 200 replies\n";
    }
}

/// Waits until `count` replies arrived, or none arrived for `quiet` (QoS 0 may drop under
/// overload, and a stalled run must end): afterwards, count what arrived.
void await_replies(load_client& counter, std::size_t count, std::chrono::milliseconds quiet) {
    auto quiet_since = clock_type::now();
    std::size_t seen = 0;
    while (counter.received() < count && clock_type::now() - quiet_since < quiet) {
        std::this_thread::sleep_for(5ms);
        if (counter.received() != seen) {
            seen = counter.received();
            quiet_since = clock_type::now();
        }
    }
}

/// Floods `count` messages, waits for the replies, and measures throughput and worker CPU.
void throughput_run(worker_set& w, load_client& pub, load_client& counter, int qos, int count,
                    run_result& r, const workload& wl = {}) {
    counter.reset();
    const double cpu0 = w.cpu();
    const auto t0 = clock_type::now();
    for (int i = 0; i < count; ++i) {
        pub.publish(wl.topic(i), wl.body(i), qos);
    }
    await_replies(counter, static_cast<std::size_t>(count), 3s);
    const auto elapsed = std::chrono::duration<double>(counter.last_arrival() - t0).count();
    r.throughput = static_cast<double>(counter.received()) / elapsed;
    r.lost = static_cast<std::size_t>(count) - counter.received();
    r.cpu_per_million = (w.cpu() - cpu0) / static_cast<double>(counter.received()) * 1e6;
}

/// Offers `rate` messages per second for `count` messages and reports reply latency percentiles.
void latency_run(load_client& pub, load_client& counter, int qos, int rate, int count,
                 run_result& r, const workload& wl = {}) {
    counter.reset();
    const auto t0 = clock_type::now();
    for (int i = 0; i < count; ++i) {
        std::this_thread::sleep_until(t0 + std::chrono::nanoseconds(1'000'000'000LL * i / rate));
        pub.publish(wl.topic(i), wl.body(i), qos);
    }
    for (int i = 0; i < 300 && counter.received() < static_cast<std::size_t>(count); ++i) {
        std::this_thread::sleep_for(10ms);
    }
    const auto lat = counter.latencies();
    r.p50 = percentile(lat, 50);
    r.p99 = percentile(lat, 99);
    r.p999 = percentile(lat, 99.9);
}

/// Round trips of one requester against one responder, in milliseconds.
struct round_trip_result {
    double p50 = 0, p99 = 0;
    int unanswered = 0, wrong = 0;
};

/// The three requester/responder pairs of the round-trip case.
enum class rtt_pair {
    framework,         // routemq::client (bench_requester) -> bench_app --workers 1
    baseline,          // the hand-written Paho C requester and responder, one connection each
    baseline_two_conn  // the same with a second connection each for publishing, like RouteMQ
};

/// Starts the responder of `pair`, runs its requester to completion (`warm_up` unmeasured
/// requests, then `count` one at a time) and reads the round trips it printed.
round_trip_result round_trips(rtt_pair pair, int port, int warm_up, int count) {
    const bool framework = pair == rtt_pair::framework;
    std::vector<std::string> two;
    if (pair == rtt_pair::baseline_two_conn) {
        two = {"--two-connections"};
    }
    worker_set w(framework, 1, 1, port, BASELINE_RESPONDER, fmt::format("responder-{}", getpid()),
                 two);
    std::vector<std::string> argv;
    if (framework) {
        argv = {BENCH_REQUESTER, std::to_string(port), std::to_string(warm_up),
                std::to_string(count)};
    } else {
        argv = {BASELINE_REQUESTER, std::to_string(port), fmt::format("requester-{}", getpid()),
                std::to_string(warm_up), std::to_string(count)};
        argv.insert(argv.end(), two.begin(), two.end());
    }
    test::child_process requester(argv, {}, test::temp_path("requester.log"));
    const auto exit_code = requester.wait(std::chrono::seconds(60 + count / 10));
    w.stop();
    round_trip_result r;
    bool finished = false;
    std::vector<std::int64_t> ns;
    std::istringstream lines(requester.output());
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("rtt ", 0) == 0) {
            ns.push_back(std::stoll(line.substr(4)));
        } else if (std::sscanf(line.c_str(), "unanswered %d wrong %d", &r.unanswered, &r.wrong) ==
                   2) {
            finished = true;
        }
    }
    if (!exit_code || !finished || ns.empty()) {
        throw std::runtime_error("round-trip requester failed:\n" + requester.output());
    }
    r.p50 = percentile(ns, 50) / 1000.0;
    r.p99 = percentile(ns, 99) / 1000.0;
    return r;
}

/// The round-trip case: the baselines then the framework on the same broker; a table for e2e.md.
std::string round_trip_case(int port, bool quick) {
    const int warm_up = quick ? 50 : 100;
    const int count = quick ? 200 : 2000;
    // The one-connection baseline takes ~90 ms a request (see README.md): fewer of them.
    const int slow_count = quick ? 100 : 300;
    const std::vector<std::pair<rtt_pair, std::string>> pairs = {
        {rtt_pair::baseline, "Paho C requester -> Paho C responder, one connection each"},
        {rtt_pair::baseline_two_conn,
         "Paho C requester -> Paho C responder, two connections each (publishing apart)"},
        {rtt_pair::framework, "`routemq::client` -> `bench_app --workers 1`"}};
    std::vector<round_trip_result> results;
    std::vector<int> counts;
    for (const auto& [pair, name] : pairs) {
        counts.push_back(pair == rtt_pair::baseline ? slow_count : count);
        results.push_back(round_trips(pair, port, warm_up, counts.back()));
        const auto& r = results.back();
        std::cerr << fmt::format(
            "round trip {}: p50 {:.3f} ms, p99 {:.3f} ms, unanswered {}, wrong {}\n", name, r.p50,
            r.p99, r.unanswered, r.wrong);
    }
    const auto& f = results.back();
    std::string md = fmt::format(
        "Request/response round trip: requests one at a time (after {} unmeasured), QoS 1, one "
        "responder. The framework's is measured from `routemq::client::request()` until its final "
        "answer (`routemq-status: done`, sent after `accepted`). Ratios are the framework's figure "
        "over the row's.\n\n"
        "| Requester -> responder | Requests | p50 (ms) | p99 (ms) | Framework p50 over it | "
        "Framework p99 over it | Unanswered / wrong |\n|---|---|---|---|---|---|---|\n",
        warm_up);
    // Two significant digits for ratios far below 1 (0.0049 rather than 0.00).
    const auto ratio = [](double x) {
        return x < 0.1 ? fmt::format("{:.2g}", x) : fmt::format("{:.2f}", x);
    };
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto& r = results[i];
        const bool itself = pairs[i].first == rtt_pair::framework;
        md += fmt::format("| {} | {} | {:.3f} | {:.3f} | {} | {} | {} / {} |\n", pairs[i].second,
                          counts[i], r.p50, r.p99, itself ? "-" : ratio(f.p50 / r.p50),
                          itself ? "-" : ratio(f.p99 / r.p99), r.unanswered, r.wrong);
    }
    return md;
}

/// One mode of the priority case: how priority_bench_app runs, and what came of it.
struct priority_mode {
    std::string name;
    bool priorities = false;
    int workers = 1;
    int processes = 0;  // the worker processes the manager started
    std::size_t urgent_sent = 0, urgent_handled = 0, urgent_results = 0;
    std::size_t bulk_sent = 0, bulk_handled = 0, bulk_results = 0;
    double flood_seconds = 0;          // to publish the whole flood
    double bulk_rate = 0;              // bulk results per second, first publish to last result
    double p50 = 0, p95 = 0, max = 0;  // urgent latency, ms
};

/// Publishes `count` QoS 1 messages on `<route>/<i>` (payload "<i> <send time>") and waits for
/// the results on `counter`, so the next run starts on settled subscriptions.
void warm_up_route(load_client& pub, load_client& counter, const std::string& route, int count) {
    counter.reset();
    for (int i = 0; i < count; ++i) {
        pub.publish(fmt::format("{}/{}", route, i), payload(static_cast<std::size_t>(i)), 1);
    }
    await_replies(counter, static_cast<std::size_t>(count), 10s);
    if (counter.received() < static_cast<std::size_t>(count)) {
        std::cerr << "warning: warm-up of " << route << " got " << counter.received() << " of "
                  << count << " results\n";
    }
    std::this_thread::sleep_for(100ms);  // a late duplicate must not count in the run
    counter.reset();
}

/// Runs priority_bench_app in one mode on a broker of its own: a flood of `bulk` messages as fast
/// as one publisher sends them and, from 50 ms after it starts, `urgent` messages 50 ms apart
/// from a second publisher; the latency of each urgent message from its publish to its result.
void priority_run(priority_mode& m, int bulk, int urgent) {
    // mosquitto's defaults but for the queue limit (beyond 1,000 queued messages a session's
    // are dropped silently); no persistence.
    test::mosquitto_broker broker("max_queued_messages 0\n");
    const int port = broker.port();
    const std::string tag = fmt::format("{}-{}", m.priorities ? "prio" : "flat", m.workers);
    load_client urgent_results(port, "bench-prio-urgent-results-" + tag);
    urgent_results.subscribe("results/urgent/+", 1);
    load_client bulk_results(port, "bench-prio-bulk-results-" + tag);
    bulk_results.subscribe("results/bulk/+", 1);
    load_client urgent_pub(port, "bench-prio-urgent-pub-" + tag);
    load_client bulk_pub(port, "bench-prio-bulk-pub-" + tag);

    auto app = test::start_app(PRIORITY_BENCH_APP, port, {"--workers", std::to_string(m.workers)},
                               {{"BENCH_PRIORITIES", m.priorities ? "1" : "0"},
                                {"LOG_LEVEL", "info"},
                                {"MQTT_CLIENT_ID", "bench-" + tag},
                                {"MQTT_GROUP_NAME", "bench-" + tag}});
    // With priorities each worker is a lane (a process) per priority.
    const int expected = m.workers * (m.priorities ? 2 : 1);
    if (!app->wait_for_output("] serving", 60s, expected)) {
        throw std::runtime_error("priority bench app did not start:\n" + app->output());
    }
    while (test::worker_pid(app->output(), m.processes + 1) > 0) {
        ++m.processes;
    }
    warm_up_route(bulk_pub, bulk_results, "bulk", 20);
    warm_up_route(urgent_pub, urgent_results, "urgent", 20);
    urgent_results.track_distinct();
    bulk_results.track_distinct();

    const auto t0 = clock_type::now();
    std::thread flood([&] {
        for (int i = 0; i < bulk; ++i) {
            bulk_pub.publish(fmt::format("bulk/{}", i), payload(static_cast<std::size_t>(i)), 1);
        }
        m.flood_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    });
    for (int i = 0; i < urgent; ++i) {
        std::this_thread::sleep_until(t0 + (i + 1) * 50ms);
        urgent_pub.publish(fmt::format("urgent/{}", i), payload(static_cast<std::size_t>(i)), 1);
    }
    flood.join();
    await_replies(bulk_results, static_cast<std::size_t>(bulk), 10s);
    await_replies(urgent_results, static_cast<std::size_t>(urgent), 5s);

    m.bulk_sent = static_cast<std::size_t>(bulk);
    m.urgent_sent = static_cast<std::size_t>(urgent);
    m.bulk_results = bulk_results.received();
    m.bulk_handled = bulk_results.distinct();
    m.urgent_results = urgent_results.received();
    m.urgent_handled = urgent_results.distinct();
    m.bulk_rate = static_cast<double>(m.bulk_handled) /
                  std::chrono::duration<double>(bulk_results.last_arrival() - t0).count();
    const auto lat = urgent_results.latencies();
    m.p50 = percentile(lat, 50) / 1000.0;
    m.p95 = percentile(lat, 95) / 1000.0;
    m.max = percentile(lat, 100) / 1000.0;
    app->signal(SIGTERM);
    app->wait(60s);
    std::string each;
    for (auto ns : lat) {
        each += fmt::format(" {:.1f}", static_cast<double>(ns) / 1e6);
    }
    std::cerr << fmt::format(
        "priority {}: {} worker processes; urgent p50 {:.1f} ms, p95 {:.1f} ms, max {:.1f} ms, {} "
        "of {} "
        "handled ({} results); bulk {:.0f} msg/s, {} of {} handled ({} results), flood "
        "published in {:.2f} s; urgent latencies in ms, as they arrived:{}\n",
        m.name, m.processes, m.p50, m.p95, m.max, m.urgent_handled, m.urgent_sent, m.urgent_results,
        m.bulk_rate, m.bulk_handled, m.bulk_sent, m.bulk_results, m.flood_seconds, each);
}

/// The priority case: the three modes of priority_bench_app in turn; a table for e2e.md.
std::string priority_case(bool quick) {
    const int bulk = quick ? 1000 : 3000;
    const int urgent = quick ? 20 : 40;
    std::vector<priority_mode> modes = {
        {.name = "priorities (urgent high, bulk low), `--workers 1`", .priorities = true},
        {.name = "no priorities, `--workers 1`"},
        {.name = "no priorities, `--workers 2`", .workers = 2}};
    for (auto& m : modes) {
        priority_run(m, bulk, urgent);
    }
    const auto& with = modes[0];
    std::string md = fmt::format(
        "Priorities: `priority_bench_app` (routes `bulk/{{id}}` and `urgent/{{id}}`, shared, "
        "QoS 1, each handler busy 2 ms, a sleep, then publishing its result), one mosquitto per "
        "mode. A flood of {} bulk messages published as fast as one client sends them and, from "
        "50 ms after it starts, {} urgent messages 50 ms apart from another; urgent latency from "
        "publish to result. With priorities the one worker is a lane (a process) per priority "
        "sharing one handler slot.\n\n"
        "| Mode | Worker processes | Handler slots | Urgent p50 (ms) | Urgent p95 (ms) | Urgent "
        "max (ms) | Urgent handled | Bulk throughput (msg/s) | Bulk handled | Duplicates | Flood "
        "published in (s) |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        bulk, urgent);
    for (const auto& m : modes) {
        md += fmt::format(
            "| {} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {} of {} "
            "| {:.0f} | {} of {} | {} | {:.2f} |\n",
            m.name, m.processes, m.workers, m.p50, m.p95, m.max, m.urgent_handled, m.urgent_sent,
            m.bulk_rate, m.bulk_handled, m.bulk_sent,
            (m.urgent_results - m.urgent_handled) + (m.bulk_results - m.bulk_handled),
            m.flood_seconds);
    }
    const auto& one = modes[1];
    const auto& two = modes[2];
    md += fmt::format(
        "\nUrgent latency without priorities over with them, against one worker process (the same "
        "one handler slot): p50 {:.0f}, p95 {:.0f}, max {:.0f}; bulk throughput with priorities "
        "over without {:.2f}. Against `--workers 2` without priorities (as many processes as with "
        "priorities, twice the handler slots): p50 {:.0f}, p95 {:.0f}, max {:.0f}; bulk throughput "
        "{:.2f} of it.\n",
        one.p50 / with.p50, one.p95 / with.p95, one.max / with.max, with.bulk_rate / one.bulk_rate,
        two.p50 / with.p50, two.p95 / with.p95, two.max / with.max, with.bulk_rate / two.bulk_rate);
    return md;
}

}  // namespace

int main(int argc, char** argv) {
    bool usage = argc < 2;
    bool quick = false;
    std::string only;         // empty: every case
    std::string compare_app;  // bench_app of another build, a contender of its own
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--quick") {
            quick = true;
        } else if (arg == "--compare-app" && i + 1 < argc) {
            compare_app = argv[++i];
        } else if (arg == "--only" && i + 1 < argc &&
                   (std::string(argv[i + 1]) == "rtt" || std::string(argv[i + 1]) == "priority" ||
                    std::string(argv[i + 1]) == "throughput")) {
            only = argv[++i];
        } else {
            usage = true;
        }
    }
    if (usage) {
        std::cerr << "usage: run_e2e <output-dir> [--quick] [--only rtt|priority|throughput] "
                     "[--compare-app <bench_app of another build>]\n";
        return 2;
    }
    const std::string out_dir = argv[1];
    if (only == "priority") {
        std::ofstream(out_dir + "/e2e.md") << priority_case(quick);
        return 0;
    }
    const int flood = quick ? 5000 : 20000;
    const int rate = 2000;
    const int latency_count = quick ? 1000 : 6000;
    const int soak = quick ? 20000 : 1000000;
    const std::vector<int> worker_counts = {1, 3, 8};

    test::mosquitto_broker broker("max_queued_messages 0\nmax_inflight_messages 0\n");
    std::cerr << "mosquitto on 127.0.0.1:" << broker.port() << "\n";
    if (only == "rtt") {
        std::ofstream(out_dir + "/e2e.md") << round_trip_case(broker.port(), quick);
        return 0;
    }

    // results[qos][workers][contender]: the hand-written workers that do not wait for their
    // result ("unconfirmed"), those that confirm it before acknowledging their input like RouteMQ
    // ("confirmed", QoS 1 only: at QoS 0 nothing is confirmed), bench_app and the example
    // application (QoS 1, the QoS of its route).
    struct contender {
        std::string name;
        bool framework;
        std::string exe;
        workload wl;
    };
    std::vector<contender> contenders = {
        {.name = "unconfirmed", .framework = false, .exe = BASELINE_WORKER, .wl = {}},
        {.name = "confirmed", .framework = false, .exe = BASELINE_CONFIRMED_WORKER, .wl = {}},
        {.name = "bench_app", .framework = true, .exe = BENCH_APP, .wl = {}},
        {.name = "example", .framework = true, .exe = EXAMPLE_APP, .wl = {.example = true}}};
    if (!compare_app.empty()) {
        contenders.push_back(
            {.name = "compare-app", .framework = true, .exe = compare_app, .wl = {}});
    }
    std::map<int, std::map<int, std::map<std::string, run_result>>> results;
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    for (int qos : {0, 1}) {
        for (int workers : worker_counts) {
            // Three rounds, every contender in turn within a round, so that a slow spell of the
            // shared machine hits them alike; throughput and CPU are each the median of the
            // three floods, latency and memory come from the first round.
            std::map<std::string, std::vector<run_result>> floods;
            for (int round = 0; round < 3; ++round) {
                for (const auto& c : contenders) {
                    if (qos == 0 && (c.name == "confirmed" || c.name == "example")) {
                        continue;
                    }
                    load_client counter(broker.port(), "bench-counter");
                    counter.subscribe(c.wl.replies(), qos);
                    load_client pub(broker.port(), "bench-publisher");
                    worker_set w(c.framework, workers, qos, broker.port(), c.exe);
                    warm_up(pub, counter, qos, c.wl);
                    run_result f;
                    throughput_run(w, pub, counter, qos, flood, f, c.wl);
                    if (round == 0) {
                        latency_run(pub, counter, qos, rate, latency_count, f, c.wl);
                        f.rss = w.max_rss();
                    }
                    w.stop();
                    floods[c.name].push_back(f);
                }
            }
            for (const auto& [name, runs] : floods) {
                auto& r = results[qos][workers][name];
                r = runs.front();
                std::vector<double> rates;
                std::vector<double> cpu;
                for (const auto& f : runs) {
                    rates.push_back(f.throughput);
                    cpu.push_back(f.cpu_per_million);
                    r.lost = std::max(r.lost, f.lost);
                }
                r.throughput = median(rates);
                r.cpu_per_million = median(cpu);
                std::cerr << fmt::format(
                    "qos {} workers {} {:<11}: {:>8.0f} msg/s, {:>5.1f} us cpu/msg, p50 {:.0f} us, "
                    "p99 {:.0f} us, p99.9 {:.0f} us, rss {:.1f} MiB, lost {}\n",
                    qos, workers, name, r.throughput, r.cpu_per_million, r.p50, r.p99, r.p999,
                    r.rss, r.lost);
            }
        }
    }

    // The throughput table and the plot's data.
    const auto write_throughput = [&](std::ofstream& md) {
        md << "| QoS | Workers | Contender | Throughput (msg/s) | x unconfirmed | x confirmed | "
              "CPU per "
              "message, all processes (us) | x unconfirmed | x confirmed | p50 / p99 / p99.9 (us) "
              "| "
              "RSS per process (MiB) |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
        std::ofstream dat(out_dir + "/throughput.dat");
        dat << "# workers fw_qos0 base_qos0 fw_qos1 base_qos1\n";
        for (int workers : worker_counts) {
            dat << workers;
            for (int qos : {0, 1}) {
                dat << ' ' << results[qos][workers]["bench_app"].throughput << ' '
                    << results[qos][workers]["unconfirmed"].throughput;
            }
            dat << '\n';
        }
        for (int qos : {0, 1}) {
            for (int workers : worker_counts) {
                auto& row = results[qos][workers];
                const auto& u = row["unconfirmed"];
                const bool confirmed = row.count("confirmed") > 0;
                const auto& k = confirmed ? row["confirmed"] : u;
                for (const auto& c : contenders) {
                    if (row.count(c.name) == 0) {
                        continue;
                    }
                    const auto& r = row[c.name];
                    md << fmt::format(
                        "| {} | {} | {} | {:.0f} | {:.2f} | {} | {:.1f} | {:.2f} | {} | {:.0f} / "
                        "{:.0f} / {:.0f} | {:.1f} |\n",
                        qos, workers, c.name, r.throughput, r.throughput / u.throughput,
                        confirmed ? fmt::format("{:.2f}", r.throughput / k.throughput) : "-",
                        r.cpu_per_million, r.cpu_per_million / u.cpu_per_million,
                        confirmed ? fmt::format("{:.2f}", r.cpu_per_million / k.cpu_per_million)
                                  : "-",
                        r.p50, r.p99, r.p999, r.rss);
                }
            }
        }
        md << "\nCPU per message at QoS 1, 8 workers over 1 worker:";
        for (const auto& c : contenders) {
            const auto& one = results[1][worker_counts.front()][c.name];
            const auto& most = results[1][worker_counts.back()][c.name];
            md << fmt::format(" {} {:.2f};", c.name, most.cpu_per_million / one.cpu_per_million);
        }
        md << "\n";
    };
    if (only == "throughput") {
        std::ofstream md(out_dir + "/e2e.md");
        write_throughput(md);
        return 0;
    }

    // Resident memory after a long run: `soak` QoS 0 messages through 2 workers of each.
    std::map<std::string, double> soak_rss;
    std::map<std::string, double> soak_anon;
    for (bool framework : {false, true}) {
        load_client counter(broker.port(), "bench-counter");
        counter.subscribe("bench/+/done", 0);
        load_client pub(broker.port(), "bench-publisher");
        worker_set w(framework, 2, 0, broker.port());
        run_result r;
        warm_up(pub, counter, 0);
        throughput_run(w, pub, counter, 0, soak, r);
        soak_rss[framework ? "framework" : "baseline"] = w.max_rss();
        soak_anon[framework ? "framework" : "baseline"] = w.max_rss("RssAnon");
        w.stop();
        std::cerr << "soak " << (framework ? "framework" : "baseline") << ": "
                  << soak_rss[framework ? "framework" : "baseline"] << " MiB after " << soak
                  << " messages\n";
    }

    // Backlog: the results of messages queued while the workers were down, against the same number
    // published live, on a broker with mosquitto's default windows (a Receive Maximum of 20 for
    // the workers' publishes) and no queue limit. Framework only: the baseline's clean sessions
    // keep no backlog.
    const int backlog_workers = 2;
    const int backlog = (quick ? 2000 : 10000) * backlog_workers;
    double live_rate = 0;
    double drain_seconds = 0;
    std::size_t drained = 0;
    {
        test::mosquitto_broker defaults("max_queued_messages 0\n");
        load_client counter(defaults.port(), "bench-counter");
        counter.subscribe("bench/+/done", 1);
        load_client pub(defaults.port(), "bench-publisher");
        {
            worker_set w(true, backlog_workers, 1, defaults.port());
            warm_up(pub, counter, 1);
            run_result live;
            throughput_run(w, pub, counter, 1, backlog, live);
            live_rate = live.throughput;
            w.crash();
        }
        counter.reset();
        for (int i = 0; i < backlog; ++i) {
            pub.publish(fmt::format("bench/{}/data", i % 1000),
                        payload(static_cast<std::size_t>(i)), 1);
        }
        const auto t0 = clock_type::now();
        worker_set again(true, backlog_workers, 1, defaults.port());
        await_replies(counter, static_cast<std::size_t>(backlog), 10s);
        drained = counter.received();
        drain_seconds = std::chrono::duration<double>(counter.last_arrival() - t0).count();
        again.stop();
        std::cerr << fmt::format(
            "backlog: {} of {} results in {:.2f} s ({:.0f} msg/s); live {:.0f} "
            "msg/s\n",
            drained, backlog, drain_seconds, static_cast<double>(drained) / drain_seconds,
            live_rate);
    }

    // Concurrency: one worker of a route whose handler waits 10 ms, at concurrency 1, 8 and 32,
    // against the ideal of concurrency x 100 msg/s; memory per handler slot (a process each).
    struct slots_row {
        double rate = 0;
        double pss = 0;   // MiB per slot
        double anon = 0;  // MiB per slot
        std::size_t lost = 0;
    };
    std::map<int, slots_row> slots;
    for (int c : {1, 8, 32}) {
        load_client counter(broker.port(), "bench-counter");
        counter.subscribe("bench/+/done", 1);
        load_client pub(broker.port(), "bench-publisher");
        auto manager = test::start_app(BENCH_APP, broker.port(), {"--workers"},
                                       {{"BENCH_SLOW_CONCURRENCY", std::to_string(c)},
                                        {"LOG_LEVEL", "info"},
                                        {"MQTT_CLIENT_ID", fmt::format("bench-slots{}", c)},
                                        {"MQTT_GROUP_NAME", "bench"}});
        if (!manager->wait_for_output("] serving", 60s, c)) {
            throw std::runtime_error("slot workers did not start:\n" + manager->output());
        }
        const int count = c * 100 * (quick ? 2 : 6);  // 2 or 6 s at the ideal rate
        const auto t0 = clock_type::now();
        for (int i = 0; i < count; ++i) {
            pub.publish(fmt::format("bench/{}/slow", i % 1000),
                        payload(static_cast<std::size_t>(i)), 1);
        }
        await_replies(counter, static_cast<std::size_t>(count), 5s);
        auto& row = slots[c];
        row.rate = static_cast<double>(counter.received()) /
                   std::chrono::duration<double>(counter.last_arrival() - t0).count();
        row.lost = static_cast<std::size_t>(count) - counter.received();
        for (int slot = 1; slot <= c; ++slot) {
            const int pid = test::worker_pid(manager->output(), slot);
            row.pss += pss_mib(pid) / c;
            row.anon += status_mib(pid, "RssAnon") / c;
        }
        manager->signal(SIGTERM);
        manager->wait(60s);
        std::cerr << fmt::format(
            "concurrency {}: {:.0f} msg/s of an ideal {} ({:.2f}); per slot {:.1f} MiB PSS, "
            "{:.1f} MiB own; lost {}\n",
            c, row.rate, c * 100, row.rate / (c * 100), row.pss, row.anon, row.lost);
    }

    // Start (until every worker is subscribed) and stop (SIGTERM until every process exited).
    std::map<int, std::map<std::string, std::pair<double, double>>> lifecycle;
    for (int workers : {8, 32}) {
        for (bool framework : {false, true}) {
            worker_set w(framework, workers, 1, broker.port());
            const double start = w.startup_seconds();
            const double stop = w.stop();
            lifecycle[workers][framework ? "framework" : "baseline"] = {start, stop};
            std::cerr << fmt::format("{} workers {}: start {:.3f} s, stop {:.3f} s\n", workers,
                                     framework ? "framework" : "baseline", start, stop);
        }
    }

    const std::string round_trip_table = round_trip_case(broker.port(), quick);
    const std::string priority_table = priority_case(quick);

    // Markdown tables and the plot's data.
    std::ofstream md(out_dir + "/e2e.md");
    write_throughput(md);
    md << fmt::format(
        "\nResident memory per worker after {} QoS 0 messages (2 workers): framework {:.1f} MiB, "
        "baseline {:.1f} MiB (VmRSS, shared library pages included); of which the process's own "
        "(RssAnon): framework {:.1f} MiB, baseline {:.1f} MiB.\n\n",
        soak, soak_rss["framework"], soak_rss["baseline"], soak_anon["framework"],
        soak_anon["baseline"]);
    const double drain_rate = static_cast<double>(drained) / drain_seconds;
    md << fmt::format(
        "Backlog drain (QoS 1, {} workers, mosquitto's default Receive Maximum of 20): {} results "
        "of messages queued while the workers were down arrived {:.2f} s after the restart "
        "({:.0f} msg/s, {} lost); the same number published live: {:.0f} msg/s. Drain over live: "
        "{:.2f}.\n\n",
        backlog_workers, drained, drain_seconds, drain_rate, backlog - static_cast<int>(drained),
        live_rate, drain_rate / live_rate);
    md << "Handler that waits 10 ms, one worker (`concurrency` N: N handler slots, a process "
          "each), QoS 1:\n\n| Concurrency | Throughput (msg/s) | Ideal (N x 100) | Ratio | "
          "Memory per slot, PSS (MiB) | Own memory per slot, RssAnon (MiB) | Lost |\n"
          "|---|---|---|---|---|---|---|\n";
    for (const auto& [c, row] : slots) {
        md << fmt::format("| {} | {:.0f} | {} | {:.2f} | {:.1f} | {:.1f} | {} |\n", c, row.rate,
                          c * 100, row.rate / (c * 100), row.pss, row.anon, row.lost);
    }
    md << "\n";
    md << "| Workers | Start framework (s) | Start baseline (s) | Stop framework (s) | "
          "Stop baseline (s) |\n|---|---|---|---|---|\n";
    for (const auto& [workers, row] : lifecycle) {
        md << fmt::format("| {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", workers,
                          row.at("framework").first, row.at("baseline").first,
                          row.at("framework").second, row.at("baseline").second);
    }
    md << '\n' << round_trip_table << '\n' << priority_table;
    return 0;
}
