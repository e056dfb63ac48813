// `make chaos`: faults injected into a running RouteMQ pool under a QoS 1 flood, against a real
// mosquitto, with a count of what became of every message the broker acknowledged (docs/
// reliability.md). Each scenario has a broker, instances and client ids of its own. Exit status 1
// when any acknowledged message was lost (neither handled nor dead-lettered), an instance did not
// become ready again, or a poison or hung message was not dead-lettered; 77 when --several-hosts
// cannot run here (not root).

#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <routemq/errors.hpp>
#include <routemq/testing/broker.hpp>
#include <routemq/testing/mqtt_client.hpp>
#include <routemq/testing/process.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "network.hpp"
#include "support/app_runner.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace chaos {
namespace {

/// Set by SIGINT or SIGTERM: the scenario stops at its next step, and the stage's destructor
/// stops its processes, so an interrupted run leaves no broker, instance or namespace behind.
volatile std::sig_atomic_t interrupted = 0;

void stop_if_interrupted() {
    if (interrupted != 0) {
        throw routemq::error("interrupted");
    }
}

struct options {
    std::string app;
    int messages = 6000;
    int rate = 2000;
    int handler_us = 500;
    bool several_hosts = false;
    std::vector<std::string> only;
    bool markdown = false;
};

/// Where the processes of a run live: all on 127.0.0.1, or on the hosts of a test_network.
struct topology {
    const test_network* net = nullptr;

    std::vector<std::string> launcher(int host) const {
        return net ? net->on_host(host) : std::vector<std::string>{};
    }
    std::string broker_host() const { return net ? test_network::broker_address() : "127.0.0.1"; }
    std::string http_host(int host) const {
        return net ? test_network::host_address(host) : "127.0.0.1";
    }
};

/// One `routemq --workers` of the chaos application.
struct instance {
    std::string name;
    int host = 1;
    std::string http_host;
    int http_port = 0;
    std::unique_ptr<routemq::testing::process> proc;

    /// Pids of its workers (chaos_app.cpp's route has 3) as its manager last logged them.
    std::vector<int> worker_pids() const {
        const auto out = proc->output();
        std::vector<int> pids;
        for (int slot = 1; slot <= 3; ++slot) {
            pids.push_back(test::worker_pid(out, slot));
            if (pids.back() <= 0) {  // never kill(-1)
                throw routemq::error(name + " has not logged process w" + std::to_string(slot));
            }
        }
        return pids;
    }
};

bool answers_ready(const std::string& host, int port) {
    httplib::Client http(host, port);
    http.set_connection_timeout(0, 300'000);
    http.set_read_timeout(1, 0);
    const auto res = http.Get("/readyz");
    return res && res->status == 200;
}

/// Polls every watched endpoint's /readyz all along a scenario and keeps when "all ready"
/// changed, so that the time from a fault to "ready again" is measured the same way for every
/// fault.
class readiness_monitor {
public:
    readiness_monitor() : thread_([this] { loop(); }) {}
    ~readiness_monitor() {
        stop_ = true;
        thread_.join();
    }

    void watch(const std::string& host, int port) {
        std::lock_guard lock(mu_);
        endpoints_.insert({host, port});
    }
    void unwatch(const std::string& host, int port) {
        std::lock_guard lock(mu_);
        endpoints_.erase({host, port});
    }

    /// Seconds from `fault` to the end of the last not-ready spell that began after it; 0 when
    /// everything stayed ready; nullopt when it is not ready at the end.
    std::optional<double> time_to_ready(clock_type::time_point fault) const {
        std::lock_guard lock(mu_);
        std::optional<clock_type::time_point> back;
        bool was_down = false;
        for (const auto& [when, ready] : changes_) {
            if (when < fault) {
                continue;
            }
            if (!ready) {
                was_down = true;
            } else if (was_down) {
                back = when;
            }
        }
        if (!current_) {
            return std::nullopt;
        }
        if (!back) {
            return 0.0;
        }
        return std::chrono::duration<double>(*back - fault).count();
    }

    bool ready_now() const {
        std::lock_guard lock(mu_);
        return current_;
    }

private:
    void loop() {
        while (!stop_) {
            std::set<std::pair<std::string, int>> endpoints;
            {
                std::lock_guard lock(mu_);
                endpoints = endpoints_;
            }
            bool all = true;
            for (const auto& [host, port] : endpoints) {
                all = answers_ready(host, port) && all;
            }
            {
                std::lock_guard lock(mu_);
                if (all != current_ || changes_.empty()) {
                    changes_.emplace_back(clock_type::now(), all);
                    current_ = all;
                }
            }
            std::this_thread::sleep_for(25ms);
        }
    }

    mutable std::mutex mu_;
    std::set<std::pair<std::string, int>> endpoints_;
    std::vector<std::pair<clock_type::time_point, bool>> changes_;
    bool current_ = false;
    std::atomic<bool> stop_ = false;
    std::thread thread_;
};

/// What became of the messages of one scenario.
struct outcome {
    std::string scenario;
    std::size_t sent = 0;
    std::size_t handled = 0;
    std::size_t dead_lettered = 0;
    std::size_t lost = 0;
    /// Acknowledged by the broker while no worker was subscribed, so dropped by the broker (a
    /// broker restart: mosquitto 2.0 restores sessions but not their shared subscriptions).
    std::size_t unrouted = 0;
    std::size_t duplicates = 0;
    std::vector<int> lost_ids;
    std::optional<double> ready_seconds;
    double seconds = 0;
};

/// A broker, the instances and the bookkeeping of one scenario.
class stage {
public:
    stage(const options& opt, const topology& where, const std::string& scenario, bool persistence)
        : opt_(opt),
          where_(where),
          tag_(scenario + "-" + std::to_string(getpid())),
          broker_(routemq::testing::broker_options{
              .persistence = persistence,
              .host = where.broker_host(),
              .port = where.net ? 1883 : 0,
              .launcher = where.net ? where.net->on_broker() : std::vector<std::string>{}}),
          ledger_(routemq::testing::temp_path("chaos-ledger")) {}

    ~stage() {
        join_fault();
        for (auto& i : instances_) {
            stop(*i);
        }
        std::remove(ledger_.c_str());
    }

    routemq::testing::broker& broker() { return broker_; }
    readiness_monitor& monitor() { return monitor_; }

    /// Starts instance `name` on `host` (with the HTTP endpoint of an earlier instance of that
    /// name, as a restarted pod keeps its address) and returns once its workers subscribed.
    instance& start(const std::string& name, int host) {
        auto i = std::make_unique<instance>();
        i->name = name;
        i->host = host;
        i->http_host = where_.http_host(host);
        // A host of the test network serves 8080, 8081, ... for the names started on it.
        i->http_port = where_.net ? 8080 : routemq::testing::free_loopback_port();
        for (const auto& old : instances_) {
            if (old->name == name) {
                i->http_port = old->http_port;
                break;
            }
            if (where_.net && old->host == host) {
                i->http_port = std::max(i->http_port, old->http_port + 1);
            }
        }
        std::map<std::string, std::string> env = {
            {"MQTT_BROKER", broker_.host()},
            {"MQTT_PORT", std::to_string(broker_.port())},
            {"MQTT_CLIENT_ID", "chaos"},
            {"MQTT_GROUP_NAME", tag_},
            {"INSTANCE_NAME", tag_ + "-" + name},
            // A partition is noticed after 1.5 keepalives.
            {"MQTT_KEEPALIVE", "5"},
            {"HTTP_HOST", where_.net ? "0.0.0.0" : "127.0.0.1"},
            {"HTTP_PORT", std::to_string(i->http_port)},
            {"CHAOS_LEDGER", ledger_},
            {"CHAOS_HANDLER_US", std::to_string(opt_.handler_us)}};
        auto argv = where_.launcher(host);
        argv.insert(argv.end(), {opt_.app, "--env-file", "/dev/null", "--workers"});
        i->proc = std::make_unique<routemq::testing::process>(
            argv, env, routemq::testing::temp_path("chaos-" + name + ".log"));
        monitor_.watch(i->http_host, i->http_port);
        if (!i->proc->wait_for_output("subscribed to '$share/", 60s, 3)) {
            throw routemq::error("instance " + name + " did not subscribe:\n" + i->proc->output());
        }
        instances_.push_back(std::move(i));
        return *instances_.back();
    }

    /// SIGTERM, as Kubernetes stops a pod, and waits for it to exit.
    void stop(instance& i) {
        if (i.proc && i.proc->running()) {
            monitor_.unwatch(i.http_host, i.http_port);
            i.proc->signal(SIGTERM);
            if (!i.proc->wait(30s)) {
                problem("instance " + i.name + " did not stop within 30 s");
            }
        }
    }

    instance& operator[](std::size_t k) { return *instances_.at(k); }
    std::vector<std::unique_ptr<instance>>& instances() { return instances_; }

    /// Publishes chaos/<id> for ids [from, to) at QoS 1, at the run's rate, in windows of 50;
    /// payload "crash" or "hang" for the ids in `special`. `progress(n)` runs after each window
    /// with how many of the run's messages the broker has acknowledged so far.
    void flood(int from, int to, const std::function<void(std::size_t)>& progress = {},
               int rate = 0) {
        rate = rate > 0 ? rate : opt_.rate;
        routemq::testing::mqtt_client pub(broker_.host(), broker_.port(),
                                          "chaos-pub-" + tag_ + "-" + std::to_string(from), false);
        const auto start = clock_type::now();
        for (int first = from; first < to; first += 50) {
            stop_if_interrupted();
            std::vector<routemq::testing::received> batch;
            for (int id = first; id < std::min(to, first + 50); ++id) {
                const auto s = special.find(id);
                batch.push_back({"chaos/" + std::to_string(id),
                                 s == special.end() ? std::to_string(id) : s->second});
            }
            sent_at_.emplace_back(std::min(to, first + 50), clock_type::now());
            pub.publish_many(batch, 50);
            acknowledged += batch.size();
            if (progress) {
                progress(acknowledged);
            }
            const auto due = start + std::chrono::microseconds(
                                         static_cast<long long>(1e6 * (first + 50 - from) / rate));
            std::this_thread::sleep_until(due);
        }
    }

    /// Runs `fault` on a thread of its own once `threshold` messages were acknowledged, so the
    /// flood goes on meanwhile; fault_time() is when it began.
    std::function<void(std::size_t)> at(std::size_t threshold, std::function<void()> fault) {
        return [this, threshold, fault = std::move(fault)](std::size_t n) {
            if (n >= threshold && !fault_thread_.joinable()) {
                fault_time = clock_type::now();
                fault_thread_ = std::thread([this, fault] {
                    try {
                        fault();
                    } catch (const std::exception& e) {
                        problem(std::string("the fault failed: ") + e.what());
                    }
                });
            }
        };
    }
    void join_fault() {
        if (fault_thread_.joinable()) {
            fault_thread_.join();
        }
    }

    const test_network& network() const { return *where_.net; }

    /// Subscribes to the dead-letter topics (MQTT 5, to read why).
    void watch_dead_letters() {
        dead_letters_ = std::make_unique<routemq::testing::mqtt_client>(
            broker_.host(), broker_.port(), "chaos-dl-" + tag_, true, true);
        dead_letters_->subscribe("dead-letter/#");
    }

    /// Waits until every acknowledged message was handled or dead-lettered (or nothing moved for
    /// `quiet`), a little longer for late duplicates, and counts.
    outcome settle(const std::string& scenario, clock_type::time_point began,
                   std::chrono::seconds quiet) {
        outcome o;
        o.scenario = scenario;
        o.sent = acknowledged;
        auto last_change = clock_type::now();
        std::size_t last_seen = 0;
        std::map<int, int> handled;
        while (true) {
            stop_if_interrupted();
            handled = read_ledger();
            take_dead_letters();
            const auto seen = handled.size() + dead.size();
            if (missing_ids(handled).empty()) {
                break;
            }
            if (seen != last_seen) {
                last_seen = seen;
                last_change = clock_type::now();
            } else if (clock_type::now() - last_change > quiet) {
                break;
            }
            std::this_thread::sleep_for(100ms);
        }
        std::this_thread::sleep_for(1500ms);  // late duplicates
        handled = read_ledger();
        take_dead_letters();
        o.seconds = std::chrono::duration<double>(clock_type::now() - began).count();
        o.handled = handled.size();
        o.dead_lettered = dead.size();
        o.lost_ids = missing_ids(handled);
        o.lost = o.lost_ids.size();
        for (const auto& [id, n] : handled) {
            o.duplicates += static_cast<std::size_t>(n - 1);
        }
        return o;
    }

    /// When message `id` was sent: the broker took it then or later. (Not when its window's
    /// acknowledgements were in: MQTTClient_waitForCompletion notices them in turns of 100 ms,
    /// which put a window the broker had taken before a resubscription after it.)
    clock_type::time_point sent_at(int id) const {
        for (const auto& [end, when] : sent_at_) {
            if (id < end) {
                return when;
            }
        }
        return clock_type::time_point::max();
    }

    std::string logs() const {
        std::ostringstream out;
        for (const auto& i : instances_) {
            out << "--- instance " << i->name << " (" << i->proc->pid() << ") ---\n"
                << tail(i->proc->output(), 60);
        }
        out << "--- broker ---\n" << tail(broker_.log(), 40);
        return out.str();
    }

    /// Ids handled so far, with how many times each was.
    std::map<int, int> ledger() const { return read_ledger(); }

    std::map<int, std::string> special;
    std::size_t acknowledged = 0;
    /// When the scenario's fault began (or, for a partition, ended).
    clock_type::time_point fault_time = clock_type::now();
    std::set<int> dead;
    /// What went wrong beyond the counts (the fault's thread reports here too).
    void problem(std::string what) {
        std::lock_guard lock(problems_mu_);
        problems_.push_back(std::move(what));
    }
    std::vector<std::string> problems() {
        std::lock_guard lock(problems_mu_);
        return problems_;
    }

private:
    static std::string tail(const std::string& text, int lines) {
        std::size_t pos = text.size();
        for (int n = 0; n <= lines && pos != std::string::npos && pos > 0; ++n) {
            pos = text.rfind('\n', pos - 1);
        }
        return pos == std::string::npos ? text : text.substr(pos + 1);
    }

    std::map<int, int> read_ledger() const {
        std::map<int, int> counts;
        std::ifstream in(ledger_);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) {
                counts[std::stoi(line)]++;
            }
        }
        return counts;
    }

    void take_dead_letters() {
        if (!dead_letters_) {
            return;
        }
        while (auto m = dead_letters_->next(0ms)) {
            const auto slash = m->topic.rfind('/');
            dead.insert(std::stoi(m->topic.substr(slash + 1)));
        }
    }

    /// Acknowledged ids neither handled nor dead-lettered. Ids are acknowledged in order, so
    /// they are the first `acknowledged` of the run's range.
    std::vector<int> missing_ids(const std::map<int, int>& handled) const {
        std::vector<int> missing;
        for (int id = 0; id < static_cast<int>(acknowledged); ++id) {
            if (handled.count(id) == 0 && dead.count(id) == 0) {
                missing.push_back(id);
            }
        }
        return missing;
    }

    const options& opt_;
    const topology& where_;
    std::string tag_;
    routemq::testing::broker broker_;
    std::string ledger_;
    readiness_monitor monitor_;
    std::vector<std::unique_ptr<instance>> instances_;
    std::unique_ptr<routemq::testing::mqtt_client> dead_letters_;
    /// (end of a window's ids, when it was sent), in order.
    std::vector<std::pair<int, clock_type::time_point>> sent_at_;
    std::mutex problems_mu_;
    std::vector<std::string> problems_;
    std::thread fault_thread_;
};

/// Ids as "3-7, 12".
std::string ranges(const std::vector<int>& ids) {
    std::string out;
    for (std::size_t i = 0; i < ids.size();) {
        std::size_t j = i;
        while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) {
            ++j;
        }
        out += (out.empty() ? "" : ", ") + std::to_string(ids[i]) +
               (j > i ? "-" + std::to_string(ids[j]) : "");
        i = j + 1;
    }
    return out;
}

/// Waits until `pid` is gone (it may be a child of another process: no wait()).
bool gone(int pid, std::chrono::seconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (test::process_alive(pid)) {
        if (clock_type::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

struct scenario {
    std::string name;
    std::string title;
    bool several_hosts_only = false;
    bool persistence = false;
    std::function<void(stage&, const options&, outcome&)> run;
};

/// The instances every scenario starts with: one, or one on each of the two hosts.
void start_instances(stage& s, const options& opt) {
    s.start("a", 1);
    if (opt.several_hosts) {
        s.start("b", 2);
    }
}

/// A flood with `payload` ("crash" or "hang") as the messages `ids`, which must end on the
/// dead-letter topic while every other message is handled; the fault is the first of them.
void bad_messages(stage& s, const options& opt, outcome& o, const std::string& payload,
                  const std::vector<int>& ids) {
    start_instances(s, opt);
    s.watch_dead_letters();
    for (int id : ids) {
        s.special[id] = payload;
    }
    s.flood(0, opt.messages, s.at(static_cast<std::size_t>(ids.front()), [] {}));
    s.join_fault();
    o = s.settle(o.scenario, s.fault_time, 60s);
    o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
    for (int id : ids) {
        if (s.dead.count(id) == 0) {
            s.problem("message " + std::to_string(id) + " (" + payload + ") was not dead-lettered");
        }
    }
}

/// What a hostile client sends while the flood goes on (ids from `first`): requests whose
/// Response Topic is a wildcard, another route's topic (chaos/999999: its id must never reach the
/// ledger), overlong or outside the reply prefixes; a message with 10,000 user properties; a
/// message on a 65,535-byte topic no route matches; a payload that is not UTF-8. Returns the ids
/// that must be handled.
std::vector<int> hostile_client(stage& s, int first) {
    routemq::testing::mqtt_client bad(s.broker().host(), s.broker().port(),
                                      "chaos-hostile-" + std::to_string(getpid()), false, true);
    const std::vector<std::string> response_topics = {"r/#",
                                                      "chaos/999999",
                                                      "routemq/replies/+",
                                                      "routemq/replies/" + std::string(600, 'x'),
                                                      std::string(60000, 'r'),
                                                      "elsewhere/replies/1"};
    std::vector<int> ids;
    int id = first;
    for (int round = 0; round < 5; ++round) {
        for (const auto& to : response_topics) {
            bad.publish_request("chaos/" + std::to_string(id), std::to_string(id), to, "c");
            ids.push_back(id++);
        }
    }
    std::vector<std::pair<std::string, std::string>> many(10000, {"k", "v"});
    bad.publish("chaos/" + std::to_string(id), std::to_string(id), 1, many);
    ids.push_back(id++);
    bad.publish("chaos/" + std::to_string(id), "\xff\xfe not UTF-8", 1);
    ids.push_back(id++);
    bad.publish("unrouted/" + std::string(65535 - 9, 'u'), "x", 1);
    return ids;
}

std::vector<scenario> scenarios() {
    std::vector<scenario> all;
    all.push_back({"kill-worker", "kill -9 of one worker", false, false,
                   [](stage& s, const options& opt, outcome& o) {
                       start_instances(s, opt);
                       s.flood(0, opt.messages, s.at(opt.messages / 3, [&] {
                           kill(s[0].worker_pids().at(1), SIGKILL);
                       }));
                       s.join_fault();
                       o = s.settle(o.scenario, s.fault_time, 30s);
                       o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
                   }});
    all.push_back({"kill-all-workers", "kill -9 of every worker", false, false,
                   [](stage& s, const options& opt, outcome& o) {
                       start_instances(s, opt);
                       s.flood(0, opt.messages, s.at(opt.messages / 3, [&] {
                           for (int pid : s[0].worker_pids()) {
                               kill(pid, SIGKILL);
                           }
                       }));
                       s.join_fault();
                       o = s.settle(o.scenario, s.fault_time, 30s);
                       o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
                   }});
    all.push_back({"kill-manager", "kill -9 of the manager, then its same-name replacement", false,
                   false, [](stage& s, const options& opt, outcome& o) {
                       start_instances(s, opt);
                       s.flood(0, opt.messages, s.at(opt.messages / 3, [&] {
                           const auto workers = s[0].worker_pids();
                           kill(s[0].proc->pid(), SIGKILL);
                           // The workers notice and leave their sessions to the replacement, which
                           // (as Kubernetes restarting the container) starts once they are gone.
                           for (int pid : workers) {
                               if (!gone(pid, 30s)) {
                                   s.problem("a worker outlived its killed manager");
                               }
                           }
                           s.start("a", 1);
                       }));
                       s.join_fault();
                       o = s.settle(o.scenario, s.fault_time, 30s);
                       o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
                   }});
    all.push_back({"broker-restart", "broker restart (persistence on), the flood going on", false,
                   true, [](stage& s, const options& opt, outcome& o) {
                       start_instances(s, opt);
                       // Half as fast as the broker takes them, so that the workers still have a
                       // backlog at the restart, then the rest at once.
                       s.flood(0, opt.messages / 2, {}, 1'000'000);
                       s.fault_time = clock_type::now();
                       s.broker().stop();
                       for (int i = 0; i < 100 && s.monitor().ready_now(); ++i) {
                           std::this_thread::sleep_for(50ms);
                       }
                       s.broker().start();
                       s.flood(opt.messages / 2, opt.messages);
                       o = s.settle(o.scenario, s.fault_time, 10s);
                       o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
                       // What was sent before the workers had subscribed again may have had no
                       // subscription to go to: mosquitto keeps sessions and their queues over a
                       // restart, not their shared subscriptions. Anything sent after that and lost
                       // is the framework's.
                       if (o.ready_seconds) {
                           const auto resubscribed =
                               s.fault_time + std::chrono::duration_cast<clock_type::duration>(
                                                  std::chrono::duration<double>(*o.ready_seconds));
                           std::vector<int> lost;
                           for (int id : o.lost_ids) {
                               if (id >= opt.messages / 2 && s.sent_at(id) <= resubscribed) {
                                   ++o.unrouted;
                               } else {
                                   lost.push_back(id);
                               }
                           }
                           o.lost_ids = lost;
                           o.lost = lost.size();
                       }
                   }});
    all.push_back({"rolling-restart", "rolling restart of two instances", false, false,
                   [](stage& s, const options& opt, outcome& o) {
                       s.start("a", 1);
                       s.start("b", opt.several_hosts ? 2 : 1);
                       // As a Deployment rolls: a new pod, ready, then the old one stopped.
                       s.flood(0, opt.messages, s.at(opt.messages / 4, [&] {
                           s.start("a2", 1);
                           s.stop(s[0]);
                           s.start("b2", opt.several_hosts ? 2 : 1);
                           s.stop(s[1]);
                       }));
                       s.join_fault();
                       o = s.settle(o.scenario, s.fault_time, 30s);
                       o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
                   }});
    all.push_back({"poison", "poison messages (3 kill their worker)", false, false,
                   [](stage& s, const options& opt, outcome& o) {
                       bad_messages(s, opt, o, "crash",
                                    {opt.messages / 4, opt.messages / 2, 3 * opt.messages / 4});
                   }});
    all.push_back(
        {"hostile-client",
         "a hostile client (foreign and wildcard Response Topics, 10,000 user properties, a "
         "65,535-byte topic) and 2 handlers publishing to a wildcard topic",
         false, false, [](stage& s, const options& opt, outcome& o) {
             start_instances(s, opt);
             s.watch_dead_letters();
             const std::vector<int> wildcard = {opt.messages / 4, 3 * opt.messages / 4};
             for (int id : wildcard) {
                 s.special[id] = "wildcard";
             }
             std::vector<int> hostile;
             s.flood(0, opt.messages, s.at(opt.messages / 3, [&] {
                 hostile = hostile_client(s, opt.messages + 1000);
             }));
             s.join_fault();
             o = s.settle(o.scenario, s.fault_time, 30s);
             o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
             for (int id : wildcard) {
                 if (s.dead.count(id) == 0) {
                     s.problem("message " + std::to_string(id) +
                               " (a publish to a wildcard topic) was not dead-lettered");
                 }
             }
             const auto handled = s.ledger();
             for (int id : hostile) {
                 if (handled.count(id) == 0) {
                     s.problem("the hostile client's message " + std::to_string(id) +
                               " was not handled");
                 }
             }
             if (handled.count(999999) != 0) {
                 s.problem("a reply reached another route (chaos/999999 was handled)");
             }
             for (const auto& i : s.instances()) {
                 if (i->proc->output().find("restarting in the same slot") != std::string::npos) {
                     s.problem("a worker of instance " + i->name + " died and was restarted");
                 }
             }
         }});
    all.push_back({"hung-handler", "hung handlers (2 never return; route timeout 1 s)", false,
                   false, [](stage& s, const options& opt, outcome& o) {
                       bad_messages(s, opt, o, "hang", {opt.messages / 3, 2 * opt.messages / 3});
                   }});
    all.push_back({"partition", "host of one instance cut off the network for 10 s, healed", true,
                   false, [](stage& s, const options& opt, outcome& o) {
                       start_instances(s, opt);
                       s.flood(0, opt.messages, s.at(opt.messages / 3, [&s] {
                           s.network().cut(1);
                           std::this_thread::sleep_for(10s);
                           s.network().heal(1);
                           s.fault_time = clock_type::now();  // from the heal
                       }));
                       s.join_fault();
                       o = s.settle(o.scenario, s.fault_time, 60s);
                       o.ready_seconds = s.monitor().time_to_ready(s.fault_time);
                   }});
    return all;
}

void print_table(const std::vector<outcome>& results, const options& opt) {
    std::printf(
        "\n%s: %d QoS 1 messages per scenario at %d/s, handler %d us, 3 workers per "
        "instance, %s\n\n",
        opt.several_hosts ? "several hosts" : "one host", opt.messages, opt.rate, opt.handler_us,
        opt.several_hosts ? "broker and two instances on hosts of their own (network "
                            "namespaces)"
                          : "broker and instances on 127.0.0.1");
    std::printf(
        "| scenario | sent | handled | dead-lettered | lost | unrouted | duplicates | "
        "time to ready | settled |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& r : results) {
        char ready[32];
        if (r.ready_seconds) {
            std::snprintf(ready, sizeof ready, "%.2f s", *r.ready_seconds);
        } else {
            std::snprintf(ready, sizeof ready, "never");
        }
        std::printf("| %s | %zu | %zu | %zu | %zu | %zu | %zu | %s | %.1f s |\n",
                    r.scenario.c_str(), r.sent, r.handled, r.dead_lettered, r.lost, r.unrouted,
                    r.duplicates, ready, r.seconds);
    }
    std::fflush(stdout);
}

}  // namespace
}  // namespace chaos

int main(int argc, char** argv) {
    chaos::options opt;
    CLI::App cli("Faults injected into a RouteMQ pool under a QoS 1 flood; counts what was lost.");
    cli.add_option("--app", opt.app, "the chaos application (routemq_chaos_app)")->required();
    cli.add_option("--messages", opt.messages, "messages per scenario")
        ->check(CLI::Range(300, 1000000));
    cli.add_option("--rate", opt.rate, "messages per second")->check(CLI::Range(100, 100000));
    cli.add_option("--handler-us", opt.handler_us, "work per message, microseconds")
        ->check(CLI::Range(0, 1000000));
    cli.add_flag("--several-hosts", opt.several_hosts,
                 "broker and two instances in network namespaces of their own (root)");
    std::vector<std::string> names;
    for (const auto& sc : chaos::scenarios()) {
        names.push_back(sc.name);
    }
    cli.add_option("--only", opt.only, "run only this scenario (repeat for several)")
        ->check(CLI::IsMember(names));
    CLI11_PARSE(cli, argc, argv);
    std::signal(SIGINT, [](int) { chaos::interrupted = 1; });
    std::signal(SIGTERM, [](int) { chaos::interrupted = 1; });

    std::unique_ptr<chaos::test_network> net;
    if (opt.several_hosts) {
        if (const auto why = chaos::test_network::unavailable_reason(); !why.empty()) {
            std::printf("skipped: %s\n", why.c_str());
            return 77;
        }
        net = std::make_unique<chaos::test_network>(2);
        net->enter_runner_namespace();
    }
    chaos::topology where{net.get()};

    std::vector<chaos::outcome> results;
    bool failed = false;
    for (const auto& sc : chaos::scenarios()) {
        if (!opt.only.empty() &&
            std::find(opt.only.begin(), opt.only.end(), sc.name) == opt.only.end()) {
            continue;
        }
        if (sc.several_hosts_only && !opt.several_hosts) {
            std::printf("== %s: several hosts only (--several-hosts), skipped\n", sc.name.c_str());
            continue;
        }
        if (chaos::interrupted != 0) {
            break;
        }
        std::printf("== %s: %s\n", sc.name.c_str(), sc.title.c_str());
        std::fflush(stdout);
        chaos::outcome o;
        o.scenario = sc.name;
        try {
            chaos::stage s(opt, where, sc.name, sc.persistence);
            sc.run(s, opt, o);
            if (!o.ready_seconds) {
                s.problem("not ready again at the end");
            }
            if (o.lost > 0) {
                s.problem(std::to_string(o.lost) + " acknowledged messages lost, ids " +
                          chaos::ranges(o.lost_ids));
            }
            if (const auto problems = s.problems(); !problems.empty()) {
                failed = true;
                for (const auto& p : problems) {
                    std::printf("FAILED %s: %s\n", sc.name.c_str(), p.c_str());
                }
                std::printf("%s", s.logs().c_str());
            }
        } catch (const std::exception& e) {
            failed = true;
            std::printf("FAILED %s: %s\n", sc.name.c_str(), e.what());
        }
        results.push_back(o);
    }
    chaos::print_table(results, opt);
    if (chaos::interrupted != 0) {
        std::printf("interrupted\n");
        return 130;
    }
    return failed ? 1 : 0;
}
