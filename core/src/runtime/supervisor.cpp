#include "runtime/supervisor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "metrics/death.hpp"
#include "runtime/priority_gate.hpp"
#include "runtime/signals.hpp"

namespace routemq::detail {
namespace {

/// A worker that lived this long before dying starts the backoff over.
constexpr auto kHealthyUptime = std::chrono::seconds(10);

/// Exit status of a worker whose broker did not confirm a message's results: it left the message
/// unacknowledged on purpose, and the message is not to blame (see dispatcher.hpp).

}  // namespace

supervisor::supervisor(std::vector<worker_spec> plan, worker_invocation launch, supervision how,
                       std::shared_ptr<shared_metrics> metrics)
    : launch_(std::move(launch)), metrics_(std::move(metrics)), how_(std::move(how)) {
    for (auto& spec : plan) {
        metrics_->process(static_cast<std::size_t>(spec.slot)).expected.store(spec.spare ? 0 : 1);
        workers_.push_back({std::move(spec)});
    }
    // The workers dedicated to one route scale together: runs of workers whose routes are that
    // one route. The plan's spare workers make a route autoscaled.
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        const auto& spec = workers_[i].spec;
        if (spec.handler_slot != 1 || spec.routes.size() != 1 || spec.gate_tokens > 0) {
            continue;
        }
        if (groups_.empty() || groups_.back().route != spec.routes.front() ||
            workers_[groups_.back().firsts.back()].spec.routes != spec.routes) {
            route_workers_group g;
            g.route = spec.routes.front();
            groups_.push_back(std::move(g));
        }
        auto& g = groups_.back();
        g.firsts.push_back(i);
        g.range.max = static_cast<int>(g.firsts.size());
        g.range.min = static_cast<int>(std::count_if(
            g.firsts.begin(), g.firsts.end(), [&](auto f) { return !workers_[f].spec.spare; }));
        g.range.autoscaled = g.range.min < g.range.max;
    }
    route_busy_ns_.assign(metrics_->routes(), 0);
    worker_busy_ns_.assign(workers_.size(), 0);
    publish_pool();
}

void supervisor::publish_pool() const {
    auto& pool = metrics_->manager();
    pool.workers_planned.store(static_cast<std::uint32_t>(workers_.size()));
    pool.workers_running.store(static_cast<std::uint32_t>(running()));
    pool.worker_restarts.store(static_cast<std::uint64_t>(restarts_));
}

void supervisor::forget(worker& w) {
    w.pid = -1;
    release_gate(w);
    auto& cells = metrics_->process(static_cast<std::size_t>(w.spec.slot));
    cells.pid.store(0);
    cells.connected.store(0);
    cells.subscribed.store(0);
    publish_pool();
}

void supervisor::release_gate(const worker& w) {
    if (w.spec.gate_tokens > 0) {
        std::vector<worker_spec> specs;
        for (const auto& x : workers_) {
            specs.push_back(x.spec);
        }
        priority_gate::reclaim(*metrics_, gate_members(specs, w.spec),
                               static_cast<std::size_t>(w.spec.slot));
    }
}

supervisor::~supervisor() {
    stop_all(std::chrono::seconds(5));
}

std::size_t supervisor::running() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(workers_.begin(), workers_.end(), [](const worker& w) { return w.pid > 0; }));
}

void supervisor::start_all() {
    std::size_t sweeping = 0;
    for (auto& w : workers_) {
        if (w.spec.spare) {
            // A previous run with this instance name (a manager killed and replaced) may have
            // left this spare's session subscribed, collecting its share of messages: it starts
            // once to handle them and end that session, then goes.
            w.retiring = true;
            ++sweeping;
        }
        spawn(w);
    }
    spdlog::info("started {} worker processes{}", running() - sweeping,
                 sweeping == 0 ? ""
                               : fmt::format(" and {} spare ones that release what a previous "
                                             "run may have left in their sessions, then go",
                                             sweeping));
    sampled_ = clock::now();
}

pid_t supervisor::launch(int slot, int hold_fd) {
    // The manager has threads (Paho, spdlog) by now, so the child may only exec: everything it
    // needs is built before fork, and between fork and exec it makes only async-signal-safe calls.
    auto args = launch_.argv(slot, hold_fd >= 0);
    const int metrics_fd = metrics_->fd();
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
        // The worker gets SIGUSR1 when the manager dies, even by SIGKILL: it leaves its session
        // for a replacement manager (signals.hpp). If the manager is already gone, there is
        // nothing to serve for.
        prctl(PR_SET_PDEATHSIG, kManagerGoneSignal);
        if (getppid() != parent) {
            _exit(0);
        }
        // The metrics region becomes descriptor 3 and survives exec (dup2 clears close-on-exec),
        // a replacement's hold pipe descriptor 4; the manager's broker and HTTP sockets are not
        // the worker's business.
        if (hold_fd == kWorkerMetricsFd && (hold_fd = dup(hold_fd)) < 0) {
            _exit(127);  // (never in practice: the region is made first and holds the low number)
        }
        if (metrics_fd == kWorkerMetricsFd ? fcntl(metrics_fd, F_SETFD, 0) != 0
                                           : dup2(metrics_fd, kWorkerMetricsFd) < 0) {
            _exit(127);
        }
        if (hold_fd >= 0 && dup2(hold_fd, kWorkerHoldFd) < 0) {
            _exit(127);
        }
        close_range(hold_fd >= 0 ? kWorkerHoldFd + 1 : kWorkerMetricsFd + 1, ~0U, 0);
        execv(argv[0], argv.data());
        _exit(127);
    }
    if (pid < 0) {
        spdlog::error("cannot start worker w{}: fork failed: {}", slot, strerror(errno));
    }
    return pid;
}

void supervisor::started_serving(worker& w) {
    w.started = clock::now();
    w.timed_out = false;
    w.handled_base = metrics_->handled(static_cast<std::size_t>(w.spec.slot));
    // Up to 10% more, so workers started together are not all replaced together.
    std::uniform_int_distribution<std::uint64_t> jitter(0, how_.max_messages / 10);
    w.recycle_after = how_.max_messages == 0 ? 0 : how_.max_messages + jitter(random_);
    metrics_->process(static_cast<std::size_t>(w.spec.slot)).pid.store(w.pid);
    publish_pool();
}

void supervisor::spawn(worker& w) {
    const pid_t pid = launch(w.spec.slot, -1);
    if (pid < 0) {
        w.pid = -1;
        w.restart_at = clock::now() + how_.backoff;
        return;
    }
    w.pid = pid;
    w.retire_sent = false;
    started_serving(w);
    spdlog::info("worker w{} started (pid {})", w.spec.slot, pid);
}

bool supervisor::recycle(int slot, const std::string& reason, std::string& why) {
    auto it = std::find_if(workers_.begin(), workers_.end(),
                           [slot](const worker& w) { return w.spec.slot == slot; });
    if (it == workers_.end()) {
        why = fmt::format("there is no worker w{} (the plan has {})", slot, workers_.size());
        return false;
    }
    worker& w = *it;
    if (stopping_ || w.pid <= 0) {
        why = fmt::format("worker w{} is not running", slot);
        return false;
    }
    if (w.successor > 0) {
        why = fmt::format("worker w{} is being replaced already", slot);
        return false;
    }
    if (w.retiring) {
        why = fmt::format("worker w{} is being removed (scaling)", slot);
        return false;
    }
    if (metrics_->process(static_cast<std::size_t>(slot)).connected.load() == 0) {
        // Not connected: its session cannot be handed over now. (Connected but not subscribed
        // is fine: a worker draining its session's backlog gets its SUBACK only after the
        // backlog, and the session keeps its subscriptions.)
        why = fmt::format("worker w{} is not connected; try again when it serves", slot);
        return false;
    }
    int hold[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hold) != 0) {
        why = fmt::format("cannot make a socket pair: {}", strerror(errno));
        return false;
    }
    const pid_t pid = launch(w.spec.slot, hold[0]);
    close(hold[0]);
    if (pid < 0) {
        close(hold[1]);
        why = "fork failed";
        return false;
    }
    fcntl(hold[1], F_SETFL, fcntl(hold[1], F_GETFL) | O_NONBLOCK);
    w.successor = pid;
    w.go_fd = hold[1];
    w.told_to_go = false;
    w.handover_started = clock::now();
    spdlog::info("worker w{} (pid {}) {}: starting its replacement (pid {})", w.spec.slot, w.pid,
                 reason, pid);
    return true;
}

void supervisor::follow_handover(worker& w) {
    if (w.told_to_go) {
        return;
    }
    char ready = 0;
    if (read(w.go_fd, &ready, 1) == 1 && ready == 'r') {
        // The replacement is built and waits: only now is the old worker asked to go.
        w.told_to_go = true;
        kill(w.pid, kHandOverSignal);
        spdlog::info(
            "worker w{}: its replacement (pid {}) is ready; pid {} finishes the message in hand "
            "and hands its session over",
            w.spec.slot, w.successor, w.pid);
    }
}

void supervisor::hand_over(worker& w, int status) {
    const auto old = w.pid;
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - w.handover_started);
    blame_message(w, status);
    auto& cells = metrics_->process(static_cast<std::size_t>(w.spec.slot));
    cells.connected.store(0);
    cells.subscribed.store(0);
    release_gate(w);
    w.pid = w.successor;
    w.successor = -1;
    const char go = 'g';
    const bool told = write(w.go_fd, &go, 1) == 1;
    close(w.go_fd);
    w.go_fd = -1;
    ++recycles_;
    started_serving(w);
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
        spdlog::warn("worker w{} (pid {}) {} while handing over", w.spec.slot, old,
                     describe_death(status));
    }
    spdlog::info("worker w{}: pid {} took over from pid {} ({} ms after the handover began){}",
                 w.spec.slot, w.pid, old, took.count(), told ? "" : "; it could not be told");
}

void supervisor::reload() {
    reload_queue_.clear();
    for (const auto& w : workers_) {
        reload_queue_.push_back(w.spec.slot);
    }
    spdlog::info("reloading: replacing {} workers one at a time", reload_queue_.size());
}

void supervisor::continue_reload() {
    if (reload_queue_.empty() || stopping_ ||
        std::any_of(workers_.begin(), workers_.end(),
                    [](const worker& w) { return w.successor > 0; })) {
        return;
    }
    const int slot = reload_queue_.front();
    auto& w = *std::find_if(workers_.begin(), workers_.end(),
                            [slot](const worker& x) { return x.spec.slot == slot; });
    std::string why;
    // A worker that is restarting starts anew anyway; one still subscribing is tried again.
    if (w.pid <= 0 || recycle(slot, "is reloaded", why)) {
        reload_queue_.pop_front();
        if (reload_queue_.empty()) {
            spdlog::info("reload: the last worker is being replaced");
        }
    }
}

void supervisor::check_limits(worker& w) {
    if (w.successor > 0 || stopping_ || w.retiring ||
        metrics_->process(static_cast<std::size_t>(w.spec.slot)).connected.load() == 0) {
        return;
    }
    if (w.recycle_after > 0) {
        const auto done = metrics_->handled(static_cast<std::size_t>(w.spec.slot)) - w.handled_base;
        if (done >= w.recycle_after) {
            std::string why;
            recycle(w.spec.slot,
                    fmt::format("has handled {} messages (WORKER_MAX_MESSAGES {})", done,
                                how_.max_messages),
                    why);
            return;
        }
    }
    if (how_.max_rss_mb > 0 && clock::now() - w.rss_checked >= std::chrono::seconds(1)) {
        w.rss_checked = clock::now();
        std::ifstream status(fmt::format("/proc/{}/status", w.pid));
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("VmRSS:", 0) == 0) {
                const auto mib = std::strtoull(line.c_str() + 6, nullptr, 10) / 1024;
                if (mib >= how_.max_rss_mb) {
                    std::string why;
                    recycle(w.spec.slot,
                            fmt::format("uses {} MiB (WORKER_MAX_RSS_MB {})", mib, how_.max_rss_mb),
                            why);
                }
                break;
            }
        }
    }
}

bool supervisor::blame_message(worker& w, int status) {
    const auto slot = static_cast<std::size_t>(w.spec.slot);
    const auto work = metrics_->work(slot);
    // Any death with a message in hand counts against it, kExitUnconfirmed too: a message whose
    // results the broker never confirms would otherwise restart the worker forever.
    const bool abnormal = w.timed_out || WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
    if (work.route == 0 || !abnormal) {
        metrics_->end_work(slot);
        return false;
    }
    const auto route = work.route - 1;
    const auto crashes = metrics_->add_crash(work.digest, w.timed_out ? kTimedOut : status);
    if (route < metrics_->routes()) {
        metrics_->route(slot, route).crashes.fetch_add(1);
    }
    metrics_->end_work(slot);
    spdlog::error(
        "worker w{} died ({}) while handling topic '{}' on route '{}' (message {:016x}, {} ms "
        "in); it has killed {} of at most {} workers{}",
        w.spec.slot, describe_death(w.timed_out ? kTimedOut : status), work.topic,
        route < how_.route_names.size() ? how_.route_names[route] : "?", work.digest,
        region_clock_ms() - work.started_ms, crashes, how_.poison_max_crashes,
        crashes >= how_.poison_max_crashes ? "; when it comes back it goes to the dead-letter topic"
                                           : "");
    return crashes >= how_.poison_max_crashes;
}

void supervisor::watch(worker& w) {
    const auto slot = static_cast<std::size_t>(w.spec.slot);
    const auto& cells = metrics_->process(slot).work;
    if (w.timed_out || cells.route.load() == 0 || cells.timeout_ms.load() <= 0) {
        return;
    }
    const auto work = metrics_->work(slot);
    const auto elapsed = region_clock_ms() - work.started_ms;
    if (work.route == 0 || work.timeout_ms <= 0 || elapsed <= work.timeout_ms) {
        return;
    }
    const auto route = work.route - 1;
    spdlog::error(
        "worker w{} (pid {}): handler of route '{}' on topic '{}' has run {} ms, past "
        "its timeout of {} ms; killing the worker",
        w.spec.slot, w.pid, route < how_.route_names.size() ? how_.route_names[route] : "?",
        work.topic, elapsed, work.timeout_ms);
    w.timed_out = true;
    if (route < metrics_->routes()) {
        metrics_->route(slot, route).timeouts.fetch_add(1);
    }
    metrics_->manager().handler_timeouts.fetch_add(1);
    kill(w.pid, SIGKILL);
}

void supervisor::reaped(worker& w, int status) {
    const auto uptime = clock::now() - w.started;
    const bool quarantined = blame_message(w, status);
    forget(w);
    if (stopping_) {
        return;
    }
    if (w.retiring && w.retire_sent && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        // Removed by scaling and gone cleanly: its session is ended, nothing waits in it.
        w.retiring = false;
        w.active = false;
        metrics_->process(static_cast<std::size_t>(w.spec.slot)).expected.store(0);
        spdlog::info("worker w{} has gone (removed by scaling; its session is ended)", w.spec.slot);
        return;
    }
    // A death whose message is now quarantined starts the backoff over too: that message will
    // not kill the next worker, so a few poison messages in one slot's queue do not add up to a
    // long stop (0.5 + 1 + 2 + 4 + 8 + 16 s for three of them, seen in `make chaos`).
    w.quick_deaths = uptime >= kHealthyUptime || quarantined ? 1 : w.quick_deaths + 1;
    auto delay = how_.backoff;
    for (int i = 1; i < w.quick_deaths && delay < how_.backoff_max; ++i) {
        delay *= 2;
    }
    delay = std::min(delay, how_.backoff_max);
    w.restart_at = clock::now() + delay;
    spdlog::warn("worker w{} {} after {} ms; restarting in the same slot in {} ms ({} in a row)",
                 w.spec.slot, describe_death(w.timed_out ? kTimedOut : status),
                 std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count(),
                 delay.count(), w.quick_deaths);
}

void supervisor::tick() {
    for (auto& w : workers_) {
        if (w.successor > 0) {
            int status = 0;
            if (waitpid(w.successor, &status, WNOHANG) == w.successor) {
                if (w.told_to_go) {
                    spdlog::error(
                        "the replacement of worker w{} (pid {}) {} before taking over; w{} is "
                        "restarted as usual once pid {} has gone",
                        w.spec.slot, w.successor, describe_death(status), w.spec.slot, w.pid);
                } else {
                    spdlog::error(
                        "the replacement of worker w{} (pid {}) {} before it was ready; pid {} "
                        "keeps serving",
                        w.spec.slot, w.successor, describe_death(status), w.pid);
                }
                close(w.go_fd);
                w.go_fd = -1;
                w.successor = -1;
            } else {
                follow_handover(w);
            }
        }
        if (w.pid > 0) {
            int status = 0;
            if (waitpid(w.pid, &status, WNOHANG) == w.pid) {
                if (w.successor > 0) {
                    hand_over(w, status);
                } else {
                    reaped(w, status);
                }
            } else {
                watch(w);
                check_limits(w);
            }
        }
        if (w.pid > 0 && w.retiring && !w.retire_sent &&
            metrics_->process(static_cast<std::size_t>(w.spec.slot)).connected.load() != 0) {
            // Only once connected: a worker that never connected would leave its session.
            w.retire_sent = true;
            kill(w.pid, retire_signal());
        }
        if (w.pid <= 0 && w.active && !stopping_ && clock::now() >= w.restart_at) {
            ++restarts_;
            spawn(w);
        }
    }
    continue_reload();
    if (clock::now() - sampled_ >= std::chrono::seconds(1)) {
        sample();
    }
}

void supervisor::sample() {
    const auto now = clock::now();
    const auto wall_ns = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - sampled_).count());
    sampled_ = now;
    const auto clock_ms = region_clock_ms();
    // Handler time so far of a process on one route: finished runs, and the run in hand.
    const auto busy_ns = [&](std::size_t slot, std::size_t route) {
        std::uint64_t ns = metrics_->route(slot, route).duration_sum_ns.load();
        const auto& work = metrics_->process(slot).work;
        if (work.route.load() == route + 1) {
            ns += static_cast<std::uint64_t>(
                      std::max<std::int64_t>(0, clock_ms - work.started_ms.load())) *
                  1000000;
        }
        return ns;
    };
    const auto ratio = [wall_ns](std::uint64_t before, std::uint64_t after, std::size_t procs) {
        if (procs == 0 || after <= before || wall_ns <= 0) {
            return 0.0;
        }
        return std::min(
            1.0, static_cast<double>(after - before) / (wall_ns * static_cast<double>(procs)));
    };
    std::vector<double> route_busy(metrics_->routes(), 0.0);
    std::vector<std::uint64_t> route_ns(metrics_->routes(), 0);
    std::vector<std::size_t> route_procs(metrics_->routes(), 0);
    std::vector<std::uint32_t> route_workers(metrics_->routes(), 0);
    std::vector<std::uint32_t> route_max(metrics_->routes(), 0);
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        auto& w = workers_[i];
        const auto slot = static_cast<std::size_t>(w.spec.slot);
        std::uint64_t mine = 0;
        for (auto route : w.spec.routes) {
            const auto ns = busy_ns(slot, route);
            mine += ns;
            route_ns[route] += ns;
            route_procs[route] += w.pid > 0 ? 1 : 0;
            if (w.spec.handler_slot == 1) {
                route_max[route] += 1;
                route_workers[route] += w.active && !w.retiring ? 1 : 0;
            }
        }
        metrics_->process(slot).busy_ppm.store(
            static_cast<std::uint32_t>(ratio(worker_busy_ns_[i], mine, w.pid > 0 ? 1 : 0) * 1e6));
        worker_busy_ns_[i] = mine;
    }
    for (std::size_t route = 0; route < route_ns.size(); ++route) {
        route_busy[route] = ratio(route_busy_ns_[route], route_ns[route], route_procs[route]);
        route_busy_ns_[route] = route_ns[route];
        auto& cells = metrics_->scaling(route);
        cells.busy_ppm.store(static_cast<std::uint32_t>(route_busy[route] * 1e6));
        cells.workers.store(route_workers[route]);
        cells.max_workers.store(route_max[route]);
    }
    if (stopping_) {
        return;
    }
    for (auto& g : groups_) {
        if (!g.range.autoscaled) {
            continue;
        }
        const auto busy = route_busy[g.route];
        const int workers = serving(g);
        const auto held = std::chrono::duration_cast<std::chrono::seconds>(g.trend.held(now));
        const int change = g.trend.observe(busy, workers, g.range, how_.marks, now);
        const auto& name = g.route < how_.route_names.size() ? how_.route_names[g.route] : "?";
        if (change > 0) {
            add_worker(g, fmt::format("route '{}' busy {:.0f}% for {} s (above {:.0f}%)", name,
                                      busy * 100, held.count(), how_.marks.high * 100));
        } else if (change < 0) {
            remove_worker(g, fmt::format("route '{}' busy {:.0f}% for {} s (below {:.0f}%)", name,
                                         busy * 100, held.count(), how_.marks.low * 100));
        }
    }
}

int supervisor::serving(const route_workers_group& g) const {
    return static_cast<int>(std::count_if(g.firsts.begin(), g.firsts.end(), [&](auto f) {
        return workers_[f].active && !workers_[f].retiring;
    }));
}

std::vector<supervisor::worker*> supervisor::processes_of(std::size_t first) {
    std::vector<worker*> out{&workers_[first]};
    for (auto i = first + 1; i < workers_.size() && workers_[i].spec.handler_slot > 1; ++i) {
        out.push_back(&workers_[i]);
    }
    return out;
}

bool supervisor::add_worker(route_workers_group& g, const std::string& reason) {
    // The first worker that is neither serving nor leaving (a leaving one finishes first).
    const auto it =
        std::find_if(g.firsts.begin(), g.firsts.end(), [&](auto f) { return !workers_[f].active; });
    if (it == g.firsts.end()) {
        return false;
    }
    const int before = serving(g);
    for (auto* w : processes_of(*it)) {
        w->active = true;
        w->restart_at = clock::now();
        metrics_->process(static_cast<std::size_t>(w->spec.slot)).expected.store(1);
        spawn(*w);
    }
    metrics_->scaling(g.route).scaled_up.fetch_add(1);
    spdlog::info("{}: adding worker w{} ({} -> {} of at most {})", reason, workers_[*it].spec.slot,
                 before, before + 1, g.range.max);
    return true;
}

bool supervisor::remove_worker(route_workers_group& g, const std::string& reason) {
    const auto it = std::find_if(g.firsts.rbegin(), g.firsts.rend(), [&](auto f) {
        return workers_[f].active && !workers_[f].retiring;
    });
    if (it == g.firsts.rend()) {
        return false;
    }
    const int before = serving(g);
    for (auto* w : processes_of(*it)) {
        retire(*w);
    }
    metrics_->scaling(g.route).scaled_down.fetch_add(1);
    spdlog::info(
        "{}: removing worker w{} ({} -> {}); it unsubscribes, handles what the broker had "
        "queued for it and ends its session",
        reason, workers_[*it].spec.slot, before, before - 1);
    return true;
}

void supervisor::retire(worker& w) {
    w.retiring = true;
    w.retire_sent = false;
    // No longer counted for readiness: the pod is ready without it.
    metrics_->process(static_cast<std::size_t>(w.spec.slot)).expected.store(0);
    if (w.successor > 0) {
        // A replacement not yet connected just goes; the old process retires as planned.
        close(w.go_fd);
        w.go_fd = -1;
        kill(w.successor, SIGTERM);
        waitpid(w.successor, nullptr, 0);
        w.successor = -1;
    }
}

bool supervisor::scale(std::size_t route, int workers, std::string& why) {
    const auto g = std::find_if(groups_.begin(), groups_.end(),
                                [route](const auto& x) { return x.route == route; });
    if (g == groups_.end()) {
        why =
            "it has no workers of its own (only a route with its own workers in the plan, "
            "i.e. started without --workers N, scales)";
        return false;
    }
    if (stopping_) {
        why = "the manager is stopping";
        return false;
    }
    if (workers < 1 || workers > g->range.max) {
        why = fmt::format(
            "it can have 1 to {} workers (max_workers, or worker_count when it does "
            "not autoscale)",
            g->range.max);
        return false;
    }
    const auto& name = route < how_.route_names.size() ? how_.route_names[route] : "?";
    const auto reason = fmt::format("route '{}' scaled to {} (routemq ctl)", name, workers);
    while (serving(*g) < workers && add_worker(*g, reason)) {
    }
    while (serving(*g) > workers && remove_worker(*g, reason)) {
    }
    // The idle or busy time before the change says nothing about the new count.
    g->trend.reset();
    if (serving(*g) != workers) {
        why = fmt::format("{} workers are still leaving; try again once they have gone",
                          workers - serving(*g));
        return false;
    }
    return true;
}

std::size_t supervisor::stop_all(std::chrono::milliseconds grace) {
    stopping_ = true;
    for (auto& w : workers_) {
        if (w.successor > 0) {
            // A replacement that has not taken over has nothing in hand: it goes at once.
            close(w.go_fd);
            w.go_fd = -1;
            kill(w.successor, SIGTERM);
            if (waitpid(w.successor, nullptr, 0) != w.successor) {
                kill(w.successor, SIGKILL);
            }
            w.successor = -1;
        }
    }
    for (auto& w : workers_) {
        if (w.pid > 0) {
            kill(w.pid, SIGTERM);
        }
    }
    const auto deadline = clock::now() + grace;
    while (running() > 0 && clock::now() < deadline) {
        for (auto& w : workers_) {
            int status = 0;
            if (w.pid > 0 && waitpid(w.pid, &status, WNOHANG) == w.pid) {
                if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
                    spdlog::warn("worker w{} {} while stopping", w.spec.slot,
                                 describe_death(status));
                }
                forget(w);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::size_t killed = 0;
    for (auto& w : workers_) {
        if (w.pid > 0) {
            spdlog::error("worker w{} (pid {}) still running after {} ms; killing it", w.spec.slot,
                          w.pid, grace.count());
            kill(w.pid, SIGKILL);
            waitpid(w.pid, nullptr, 0);
            metrics_->end_work(static_cast<std::size_t>(w.spec.slot));
            forget(w);
            ++killed;
        }
    }
    return killed;
}

}  // namespace routemq::detail
