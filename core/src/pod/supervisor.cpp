#include "pod/supervisor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "pod/priority_gate.hpp"
#include "pod/protocol.hpp"

namespace routemq::detail {
namespace {

int signal_of(order o) noexcept {
    switch (o) {
        case order::stop:
            return kStopSignal;
        case order::hand_over:
            return kHandOverSignal;
        case order::retire:
            return retire_signal();
        case order::kill:
            break;
    }
    return SIGKILL;
}

std::int64_t ms(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

supervisor::supervisor(pod_plan plan, launcher& launch, supervision how,
                       std::shared_ptr<pod_region> region)
    : plan_(std::move(plan)),
      launch_(launch),
      how_(std::move(how)),
      region_(std::move(region)),
      slots_(plan_.process_count()),
      recycling_(plan_.process_count()),
      trends_(plan_.groups.size()) {
    for (const auto& w : plan_.workers) {
        for (const auto* p : w.processes()) {
            at(p->slot).planned_spare = w.spare;
            publish(p->slot);
        }
    }
    route_busy_ns_.assign(region_->routes(), 0);
    process_busy_ns_.assign(slots_.size() + 1, 0);
    publish_pod();
}

supervisor::~supervisor() {
    stop_all(std::chrono::seconds(5));
}

const std::string& supervisor::route_name(std::size_t route) const {
    static const std::string unknown = "?";
    return route < how_.route_names.size() ? how_.route_names[route] : unknown;
}

std::size_t supervisor::running() const noexcept {
    return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(),
                                                  [](const process_slot& s) { return s.pid > 0; }));
}

void supervisor::publish(int slot) {
    const auto& s = at(slot);
    auto& cells = region_->process(static_cast<std::size_t>(slot));
    cells.state.store(s.state);
    cells.pid.store(s.pid);
}

void supervisor::publish_pod() const {
    auto& pod = region_->manager();
    std::uint32_t workers_running = 0;
    for (const auto& w : plan_.workers) {
        const auto processes = w.processes();
        workers_running +=
            std::all_of(processes.begin(), processes.end(),
                        [&](const auto* p) {
                            return slots_[static_cast<std::size_t>(p->slot - 1)].pid > 0;
                        })
                ? 1
                : 0;
    }
    pod.workers_planned.store(static_cast<std::uint32_t>(plan_.workers.size()));
    pod.workers_running.store(workers_running);
    pod.processes_planned.store(static_cast<std::uint32_t>(plan_.process_count()));
    pod.processes_running.store(static_cast<std::uint32_t>(running()));
    pod.worker_restarts.store(static_cast<std::uint64_t>(restarts_));
}

step_result supervisor::apply(int slot, const slot_event& e, clock::time_point now) {
    const process_slot was = at(slot);
    auto result = step(at(slot), e, now, how_.restart);
    const bool changed = at(slot).state != was.state;
    if (changed) {
        publish(slot);  // before any signal: the worker reads it to know how to leave
    }
    for (const auto& a : result.actions) {
        perform(slot, was, a, now);
    }
    if (changed || at(slot).pid != was.pid) {
        publish(slot);
        publish_pod();
    }
    return result;
}

void supervisor::perform(int slot, const process_slot& was, const slot_action& a,
                         clock::time_point now) {
    const auto name = process_name(static_cast<std::size_t>(slot));
    switch (a.kind) {
        case slot_action_kind::spawn: {
            const pid_t pid = launch_.spawn(slot);
            restarts_ += a.restart ? 1 : 0;
            if (a.restart) {
                region_->process(static_cast<std::size_t>(slot)).restarts.fetch_add(1);
            }
            apply(slot, {.kind = slot_event_kind::spawned, .pid = pid}, now);
            if (pid > 0) {
                took_slot(slot);
                spdlog::info("process {} started (pid {})", name, pid);
            }
            break;
        }
        case slot_action_kind::spawn_successor:
            apply(
                slot,
                {.kind = slot_event_kind::successor_spawned, .pid = launch_.spawn_successor(slot)},
                now);
            break;
        case slot_action_kind::signal:
            launch_.signal(was.pid, signal_of(a.signal));
            break;
        case slot_action_kind::let_successor_go: {
            const bool told = launch_.let_successor_go(slot);
            ++recycles_;
            took_slot(slot);
            spdlog::info(
                "process {}: pid {} took over from pid {} ({} ms after the handover "
                "began){}",
                name, was.successor, was.pid, ms(now - was.handover_started),
                told ? "" : "; it could not be told");
            break;
        }
        case slot_action_kind::drop_successor:
            launch_.drop_successor(slot, was.successor);
            break;
        case slot_action_kind::forget_successor:
            launch_.drop_successor(slot, 0);
            break;
    }
}

void supervisor::took_slot(int slot) {
    auto& r = recycling_[static_cast<std::size_t>(slot - 1)];
    r.handled_base = region_->handled(static_cast<std::size_t>(slot));
    // Up to 10% more, so processes started together are not all replaced together.
    std::uniform_int_distribution<std::uint64_t> jitter(0, how_.max_messages / 10);
    r.after = how_.max_messages == 0 ? 0 : how_.max_messages + jitter(random_);
}

void supervisor::start_all(clock::time_point now) {
    std::size_t sweeping = 0;
    for (std::size_t i = 1; i <= slots_.size(); ++i) {
        const int slot = static_cast<int>(i);
        apply(slot, {.kind = slot_event_kind::start}, now);
        sweeping += at(slot).state == slot_state::to_retire ? 1 : 0;
    }
    spdlog::info("started {} of {}{}", counted(running() - sweeping, "process", "processes"),
                 counted(plan_.workers.size(), "worker", "workers"),
                 sweeping == 0 ? ""
                               : fmt::format(" and {} spare ones that release what a previous "
                                             "run may have left in their sessions, then go",
                                             sweeping));
    sampled_ = now;
}

void supervisor::exited(int slot, int status, clock::time_point now) {
    const auto name = process_name(static_cast<std::size_t>(slot));
    const process_slot was = at(slot);
    const auto d = was.death_of(status);
    // While the pod stops, a death blames no message: nothing will run it again here.
    const bool quarantined = stopping_ ? (region_->end_work(static_cast<std::size_t>(slot)), false)
                                       : blame_message(slot, d);
    auto& cells = region_->process(static_cast<std::size_t>(slot));
    cells.connected.store(0);
    cells.subscribed.store(0);
    // The handler slot it held in its worker's priority gate goes on.
    if (const auto members = plan_.gate_members(slot); !members.empty()) {
        priority_gate::reclaim(*region_, members, static_cast<std::size_t>(slot));
    }
    apply(slot, {.kind = slot_event_kind::exited, .status = status, .quarantined = quarantined},
          now);
    const auto& s = at(slot);
    if (was.successor > 0 && s.pid == was.successor) {
        if (d.abnormal()) {
            spdlog::warn("process {} (pid {}) {} while handing over", name, was.pid, d.describe());
        }
    } else if (s.state == slot_state::spare) {
        spdlog::info("process {} has gone (removed by scaling; its session is ended)", name);
    } else if (s.state == slot_state::backing_off) {
        spdlog::warn(
            "process {} {} after {} ms; restarting in the same slot in {} ms ({} in a row)", name,
            d.describe(), ms(now - was.started), ms(s.restart_at - now), s.quick_deaths);
    } else if (s.state == slot_state::to_retire) {
        spdlog::warn(
            "process {} {} before it could end its session; starting it again in {} ms "
            "to end it",
            name, d.describe(), ms(s.restart_at - now));
    } else if (s.state == slot_state::stopped && d.abnormal()) {
        spdlog::warn("process {} {} while stopping", name, d.describe());
    }
}

void supervisor::tick(clock::time_point now) {
    for (std::size_t i = 1; i <= slots_.size(); ++i) {
        const int slot = static_cast<int>(i);
        const auto name = process_name(i);
        if (const auto& s = at(slot); s.successor > 0) {
            if (const auto status = launch_.exited(s.successor)) {
                const auto how = death{.status = *status}.describe();
                if (s.state == slot_state::handing_over) {
                    spdlog::error(
                        "the successor of process {} (pid {}) {} before taking over; {} is "
                        "restarted as usual once pid {} has gone",
                        name, s.successor, how, name, s.pid);
                } else {
                    spdlog::error(
                        "the successor of process {} (pid {}) {} before it was ready; pid {} "
                        "keeps serving",
                        name, s.successor, how, s.pid);
                }
                apply(slot, {.kind = slot_event_kind::successor_exited, .status = *status}, now);
            } else if (s.state == slot_state::replacing && launch_.successor_ready(slot)) {
                spdlog::info(
                    "process {}: its successor (pid {}) is ready; pid {} finishes the message in "
                    "hand and hands its session over",
                    name, s.successor, s.pid);
                apply(slot, {.kind = slot_event_kind::successor_ready}, now);
            }
        }
        if (const auto& s = at(slot); s.pid > 0) {
            if (const auto status = launch_.exited(s.pid)) {
                exited(slot, *status, now);
            } else {
                watch(slot);
                check_limits(slot, now);
                if (region_->process(i).connected.load() != 0) {
                    apply(slot, {.kind = slot_event_kind::connected}, now);
                }
            }
        }
        if (!stopping_) {
            apply(slot, {.kind = slot_event_kind::tick}, now);
        }
    }
    continue_reload();
    if (now - sampled_ >= std::chrono::seconds(1)) {
        sample(now);
    }
}

bool supervisor::recycle(int slot, const std::string& reason, std::string& why) {
    if (slot < 1 || slot > static_cast<int>(slots_.size())) {
        why = fmt::format("there is no process w{} (the plan has w1 to w{})", slot, slots_.size());
        return false;
    }
    const auto name = process_name(static_cast<std::size_t>(slot));
    if (stopping_) {
        why = "the manager is stopping";
        return false;
    }
    if (at(slot).state == slot_state::serving &&
        region_->process(static_cast<std::size_t>(slot)).connected.load() == 0) {
        // Not connected: its session cannot be handed over now. (Connected but not subscribed
        // is fine: a process draining its session's backlog gets its SUBACK only after the
        // backlog, and the session keeps its subscriptions.)
        why = fmt::format("process {}: it is not connected; try again when it serves", name);
        return false;
    }
    const auto result = apply(slot, {.kind = slot_event_kind::replace}, clock::now());
    if (!result.refused.empty()) {
        why = fmt::format("process {}: {}", name, result.refused);
        return false;
    }
    if (at(slot).state != slot_state::replacing) {
        why = fmt::format("process {}: cannot start its successor (fork failed)", name);
        return false;
    }
    spdlog::info("process {} (pid {}) {}: starting its successor (pid {})", name, at(slot).pid,
                 reason, at(slot).successor);
    return true;
}

void supervisor::reload() {
    reload_queue_.clear();
    for (std::size_t i = 1; i <= slots_.size(); ++i) {
        reload_queue_.push_back(static_cast<int>(i));
    }
    spdlog::info("reloading: replacing {} processes one at a time", reload_queue_.size());
}

void supervisor::continue_reload() {
    if (reload_queue_.empty() || stopping_ ||
        std::any_of(slots_.begin(), slots_.end(),
                    [](const process_slot& s) { return s.successor > 0; })) {
        return;
    }
    const int slot = reload_queue_.front();
    const auto state = at(slot).state;
    std::string why;
    // A process that is restarting starts anew anyway, and a spare or leaving one needs no new
    // binary; one still connecting is tried again.
    if (state == slot_state::starting ||
        (state == slot_state::serving && !recycle(slot, "is reloaded", why))) {
        return;
    }
    reload_queue_.pop_front();
    if (reload_queue_.empty()) {
        spdlog::info("reload: the last process is being replaced");
    }
}

void supervisor::check_limits(int slot, clock::time_point now) {
    const auto i = static_cast<std::size_t>(slot);
    if (at(slot).state != slot_state::serving || stopping_ ||
        region_->process(i).connected.load() == 0) {
        return;
    }
    auto& r = recycling_[i - 1];
    std::string why;
    if (r.after > 0) {
        const auto done = region_->handled(i) - r.handled_base;
        if (done >= r.after) {
            recycle(slot,
                    fmt::format("has handled {} messages (WORKER_MAX_MESSAGES {})", done,
                                how_.max_messages),
                    why);
            return;
        }
    }
    if (how_.max_rss_mb > 0 && now - r.rss_checked >= std::chrono::seconds(1)) {
        r.rss_checked = now;
        if (const auto mib = launch_.rss_mib(at(slot).pid); mib >= how_.max_rss_mb) {
            recycle(slot, fmt::format("uses {} MiB (WORKER_MAX_RSS_MB {})", mib, how_.max_rss_mb),
                    why);
        }
    }
}

bool supervisor::blame_message(int slot, const death& d) {
    const auto i = static_cast<std::size_t>(slot);
    const auto work = region_->work(i);
    if (work.route == 0 || !d.abnormal()) {
        region_->end_work(i);
        return false;
    }
    const auto route = work.route - 1;
    const auto crashes = region_->add_crash(work.digest, d.recorded());
    if (route < region_->routes()) {
        region_->route(i, route).crashes.fetch_add(1);
    }
    region_->end_work(i);
    spdlog::error(
        "process {} died ({}) while handling topic '{}' on route '{}' (message {:016x}, {} ms "
        "in); it has killed {} of at most {} processes{}",
        process_name(i), d.describe(), work.topic, route_name(route), work.digest,
        region_clock_ms() - work.started_ms, crashes, how_.poison_max_crashes,
        crashes >= how_.poison_max_crashes ? "; when it comes back it goes to the dead-letter topic"
                                           : "");
    return crashes >= how_.poison_max_crashes;
}

void supervisor::watch(int slot) {
    const auto i = static_cast<std::size_t>(slot);
    const auto& cells = region_->process(i).work;
    if (at(slot).timed_out || cells.route.load() == 0 || cells.timeout_ms.load() <= 0) {
        return;
    }
    const auto work = region_->work(i);
    const auto elapsed = region_clock_ms() - work.started_ms;
    if (work.route == 0 || work.timeout_ms <= 0 || elapsed <= work.timeout_ms) {
        return;
    }
    const auto route = work.route - 1;
    spdlog::error(
        "process {} (pid {}): handler of route '{}' on topic '{}' has run {} ms, past "
        "its timeout of {} ms; killing the process",
        process_name(i), at(slot).pid, route_name(route), work.topic, elapsed, work.timeout_ms);
    if (route < region_->routes()) {
        region_->route(i, route).timeouts.fetch_add(1);
    }
    region_->manager().handler_timeouts.fetch_add(1);
    apply(slot, {.kind = slot_event_kind::past_timeout}, clock::now());
}

void supervisor::sample(clock::time_point now) {
    const auto wall_ns = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - sampled_).count());
    sampled_ = now;
    const auto clock_ms = region_clock_ms();
    // Handler time so far of a process on one route: finished runs, and the run in hand.
    const auto busy_ns = [&](std::size_t slot, std::size_t route) {
        std::uint64_t ns = region_->route(slot, route).duration_sum_ns.load();
        const auto& work = region_->process(slot).work;
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
    const auto routes = region_->routes();
    std::vector<double> route_busy(routes, 0.0);
    std::vector<std::uint64_t> route_ns(routes, 0);
    std::vector<std::size_t> route_procs(routes, 0);
    std::vector<std::uint32_t> route_workers(routes, 0);
    std::vector<std::uint32_t> route_max(routes, 0);
    for (const auto& w : plan_.workers) {
        const bool serving = in_service(at(w.first_slot()).state);
        for (auto route : w.routes) {
            route_max[route] += 1;
            route_workers[route] += serving ? 1 : 0;
        }
        for (const auto* p : w.processes()) {
            const auto slot = static_cast<std::size_t>(p->slot);
            const bool up = at(p->slot).pid > 0;
            std::uint64_t mine = 0;
            for (auto route : p->routes) {
                const auto ns = busy_ns(slot, route);
                mine += ns;
                route_ns[route] += ns;
                route_procs[route] += up ? 1 : 0;
            }
            region_->process(slot).busy_ppm.store(
                static_cast<std::uint32_t>(ratio(process_busy_ns_[slot], mine, up ? 1 : 0) * 1e6));
            process_busy_ns_[slot] = mine;
        }
    }
    for (std::size_t route = 0; route < routes; ++route) {
        route_busy[route] = ratio(route_busy_ns_[route], route_ns[route], route_procs[route]);
        route_busy_ns_[route] = route_ns[route];
        auto& cells = region_->scaling(route);
        cells.busy_ppm.store(static_cast<std::uint32_t>(route_busy[route] * 1e6));
        cells.workers.store(route_workers[route]);
        cells.max_workers.store(route_max[route]);
    }
    if (stopping_) {
        return;
    }
    for (std::size_t k = 0; k < plan_.groups.size(); ++k) {
        const auto& g = plan_.groups[k];
        if (!g.range.autoscaled) {
            continue;
        }
        auto& trend = trends_[k];
        const auto busy = route_busy[g.route];
        const auto held = std::chrono::duration_cast<std::chrono::seconds>(trend.held(now));
        const int change = trend.observe(busy, serving(g), g.range, how_.marks, now);
        if (change > 0) {
            add_worker(
                g,
                fmt::format("route '{}' busy {:.0f}% for {} s (above {:.0f}%)", route_name(g.route),
                            busy * 100, held.count(), how_.marks.high * 100),
                now);
        } else if (change < 0) {
            remove_worker(
                g,
                fmt::format("route '{}' busy {:.0f}% for {} s (below {:.0f}%)", route_name(g.route),
                            busy * 100, held.count(), how_.marks.low * 100),
                now);
        }
    }
}

int supervisor::serving(const scaling_group& g) const {
    return static_cast<int>(std::count_if(g.workers.begin(), g.workers.end(), [&](int number) {
        return in_service(
            slots_[static_cast<std::size_t>(plan_.worker(number).first_slot() - 1)].state);
    }));
}

bool supervisor::add_worker(const scaling_group& g, const std::string& reason,
                            clock::time_point now) {
    // The first worker whose every process is spare (a leaving one finishes first).
    const auto it = std::find_if(g.workers.begin(), g.workers.end(), [&](int number) {
        const auto processes = plan_.worker(number).processes();
        return std::all_of(processes.begin(), processes.end(), [&](const process_plan* p) {
            return at(p->slot).state == slot_state::spare;
        });
    });
    if (it == g.workers.end()) {
        return false;
    }
    const int before = serving(g);
    const auto& w = plan_.worker(*it);
    for (const auto* p : w.processes()) {
        apply(p->slot, {.kind = slot_event_kind::activate}, now);
    }
    region_->scaling(g.route).scaled_up.fetch_add(1);
    spdlog::info("{}: adding {} ({} -> {} of at most {})", reason, w.name(), before, before + 1,
                 g.range.max);
    return true;
}

bool supervisor::remove_worker(const scaling_group& g, const std::string& reason,
                               clock::time_point now) {
    const auto it = std::find_if(g.workers.rbegin(), g.workers.rend(), [&](int number) {
        return in_service(at(plan_.worker(number).first_slot()).state);
    });
    if (it == g.workers.rend()) {
        return false;
    }
    const int before = serving(g);
    const auto& w = plan_.worker(*it);
    for (const auto* p : w.processes()) {
        apply(p->slot, {.kind = slot_event_kind::retire}, now);
    }
    region_->scaling(g.route).scaled_down.fetch_add(1);
    spdlog::info(
        "{}: removing {} ({} -> {}); its processes unsubscribe, handle what the broker had "
        "queued for them and end their sessions",
        reason, w.name(), before, before - 1);
    return true;
}

bool supervisor::scale(std::size_t route, int workers, std::string& why) {
    const auto* g = plan_.group_of(route);
    if (g == nullptr) {
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
    const auto now = clock::now();
    const auto reason =
        fmt::format("route '{}' scaled to {} (routemq ctl)", route_name(route), workers);
    while (serving(*g) < workers && add_worker(*g, reason, now)) {
    }
    while (serving(*g) > workers && remove_worker(*g, reason, now)) {
    }
    // The idle or busy time before the change says nothing about the new count.
    trends_[static_cast<std::size_t>(g - plan_.groups.data())].reset();
    if (serving(*g) != workers) {
        why = fmt::format("{} workers are still leaving; try again once they have gone",
                          workers - serving(*g));
        return false;
    }
    return true;
}

std::size_t supervisor::stop_all(std::chrono::milliseconds grace) {
    if (stopping_ && running() == 0) {
        return 0;
    }
    stopping_ = true;
    const auto now = clock::now();
    for (std::size_t i = 1; i <= slots_.size(); ++i) {
        apply(static_cast<int>(i), {.kind = slot_event_kind::stop}, now);
    }
    const auto deadline = clock::now() + grace;
    while (running() > 0 && clock::now() < deadline) {
        for (std::size_t i = 1; i <= slots_.size(); ++i) {
            const int slot = static_cast<int>(i);
            if (at(slot).pid > 0) {
                if (const auto status = launch_.exited(at(slot).pid)) {
                    exited(slot, *status, clock::now());
                }
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::size_t killed = 0;
    for (std::size_t i = 1; i <= slots_.size(); ++i) {
        const int slot = static_cast<int>(i);
        if (const pid_t pid = at(slot).pid; pid > 0) {
            spdlog::error("process {} (pid {}) still running after {} ms; killing it",
                          process_name(i), pid, grace.count());
            apply(slot, {.kind = slot_event_kind::stop_overdue}, clock::now());
            launch_.wait(pid);
            exited(slot, SIGKILL, clock::now());  // a wait status: killed by signal 9
            ++killed;
        }
    }
    return killed;
}

}  // namespace routemq::detail
