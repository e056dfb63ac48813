#include "runtime/run.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <thread>

#include "cli/route_table.hpp"
#include "control/command_queue.hpp"
#include "control/commands.hpp"
#include "control/control.hpp"
#include "dead_letters/keeper.hpp"
#include "http/dashboard.hpp"
#include "http/health_server.hpp"
#include "metrics/health.hpp"
#include "pod/launcher.hpp"
#include "pod/pod_plan.hpp"
#include "pod/pod_region.hpp"
#include "pod/protocol.hpp"
#include "pod/supervisor.hpp"
#include "routemq/cli.hpp"
#include "routemq/errors.hpp"
#include "routing/subscriptions.hpp"
#include "runtime/endpoint.hpp"
#include "runtime/host.hpp"
#include "runtime/signals.hpp"

namespace routemq::detail {
namespace {

using namespace std::chrono_literals;

/// The parts a role is made of; the lifecycle drives whichever are present.
struct parts {
    /// This process's own MQTT client and routes (a manager without non-shared routes has none).
    std::unique_ptr<endpoint> ep;
    /// The manager's fork/exec of worker processes, and their supervision.
    std::unique_ptr<process_launcher> launcher;
    std::unique_ptr<supervisor> workers;
    /// The pod's metrics region where this process speaks for the pod (not in a worker).
    std::shared_ptr<pod_region> pod;
    /// Where this process speaks for the pod: the dead-letter store's index, the history the
    /// dashboard plots, and the dashboard's commands for the main loop.
    std::unique_ptr<dead_letter_keeper> keeper;
    std::unique_ptr<history_recorder> history;
    std::unique_ptr<command_queue> commands;
    /// Answers a `routemq ctl` command on the main loop (the manager's).
    std::function<std::string(const std::string&)> answer;
    std::unique_ptr<health_server> http;
    /// The manager's control socket (`routemq ctl`).
    std::unique_ptr<control_server> ctl;
    /// Workers unsubscribe before stopping, so the broker sends their share to the others.
    bool unsubscribe_first = false;
    std::size_t route_count = 0;
    /// A successor (recycling, reload): connect only when the manager says so here.
    int hold_fd = -1;
    /// A worker: the pod region and its slot there, whose state says how it leaves.
    std::shared_ptr<pod_region> region;
    std::size_t slot = 0;
};

enum class startup { subscribed, refused, stop_signal };

/// Waits until the endpoint's subscriptions are answered, calling `tick` meanwhile; a stop
/// signal interrupts the wait (it is returned in `sig`).
template <class Tick>
startup wait_until_subscribed(endpoint& ep, int& sig, Tick tick) {
    while (true) {
        auto result = ep.wait_subscribed(50ms);
        if (result.complete) {
            if (!result.refused.empty()) {
                spdlog::error("the broker refused {} of {} subscriptions", result.refused.size(),
                              ep.routes().subscriptions().size());
                return startup::refused;
            }
            return startup::subscribed;
        }
        if ((sig = wait_for_stop_signal(0ms)) == kReloadSignal) {
            spdlog::warn("ignoring SIGHUP while starting");
            sig = 0;
        } else if (sig != 0) {
            return startup::stop_signal;
        }
        tick();
    }
}

enum class turn { go, cancelled, stop_signal };

/// A replacement worker waits here, built but not connected, until the worker it replaces has
/// left its session (both use the slot's client id). It first tells the manager it is ready
/// (only then is the old worker asked to go, so a replacement that cannot start leaves it
/// serving); then a byte on `fd` means go, EOF that the manager no longer needs it. A stop
/// signal meanwhile is returned in `sig`.
turn wait_for_turn(int fd, int& sig) {
    if (::write(fd, &kReadyByte, 1) != 1) {
        ::close(fd);
        return turn::cancelled;
    }
    while (true) {
        pollfd ready{fd, POLLIN, 0};
        if (::poll(&ready, 1, 50) > 0) {
            char byte = 0;
            const auto n = ::read(fd, &byte, 1);
            ::close(fd);
            return n == 1 ? turn::go : turn::cancelled;
        }
        if ((sig = wait_for_stop_signal(0ms)) != 0 && sig != kReloadSignal) {
            ::close(fd);
            return turn::stop_signal;
        }
    }
}

/// A worker whose manager is gone has nobody watching its handler's time: once armed, it ends
/// the process when the handler in hand reaches its timeout (SHUTDOWN_GRACE_SECONDS when that
/// handler has none), rather than let it outlive its manager as an orphan; a stop that finishes
/// first destroys it, which disarms it. The message is not acknowledged: it waits in the session
/// for the next manager's worker in this slot.
class orphan_deadline {
public:
    void arm(const endpoint& ep, std::chrono::milliseconds grace) {
        if (thread_.joinable()) {
            return;
        }
        const auto deadline =
            ep.handler_deadline().value_or(std::chrono::steady_clock::now() + grace);
        thread_ = std::jthread([deadline](std::stop_token stop) {
            std::mutex mu;
            std::condition_variable_any cv;
            std::unique_lock lock(mu);
            cv.wait_until(lock, stop, deadline, [] { return false; });
            if (stop.stop_requested()) {
                return;
            }
            spdlog::error(
                "the manager is gone and this worker has not finished by its handler's timeout; "
                "ending it without acknowledging the message in hand");
            spdlog::default_logger()->flush();
            std::_Exit(code(exit_status::failure));
        });
    }

private:
    std::jthread thread_;
};

/// Why the settings on disk would not load now (empty: they do); checked before a reload.
std::string settings_problem(const worker_invocation& invocation) {
    const std::string env_file = invocation.env_file.empty() ? ".env" : invocation.env_file;
    try {
        const env_map file = read_env_file_if_present(env_file, !invocation.env_file.empty());
        (void)load_settings(file, read_process_environment());
        return "";
    } catch (const std::exception& e) {
        return e.what();
    }
}

/// SIGHUP: with --workers, replaces every worker one by one, unless the settings on disk no
/// longer load (then nothing changes and the reason is logged).
void reload(parts& p, const worker_invocation& invocation) {
    if (!p.workers) {
        spdlog::warn(
            "ignoring SIGHUP: reload replaces workers, and this process runs none "
            "(start it with --workers)");
        return;
    }
    if (const auto problem = settings_problem(invocation); !problem.empty()) {
        spdlog::error("reload refused, the workers keep running as they are: {}", problem);
        return;
    }
    p.workers->reload();
}

/// `orphan` is armed if the manager dies; it outlives `p`, whose destruction may wait on a hung
/// handler too.
int lifecycle(parts& p, const settings& s, const worker_invocation& invocation,
              orphan_deadline& orphan) {
    const auto tick = [&p] {
        if (p.workers) {
            p.workers->tick();
        }
        if (p.pod) {
            heartbeat(*p.pod);
        }
        if (p.history) {
            p.history->tick(*p.pod, std::chrono::steady_clock::now());
        }
        if (p.ctl) {
            p.ctl->poll();
        }
        if (p.commands) {
            p.commands->answer_all([&p](const std::string& command) { return p.answer(command); });
        }
    };
    const auto grace =
        std::chrono::duration_cast<std::chrono::milliseconds>(s.workers.shutdown_grace);

    if (p.workers) {
        p.workers->start_all();
    }
    int sig = 0;
    if (p.ep && p.hold_fd >= 0) {
        switch (wait_for_turn(p.hold_fd, sig)) {
            case turn::go:
                spdlog::info("taking over the session of the worker this one replaces");
                break;
            case turn::cancelled:
                spdlog::info("the manager no longer needs this replacement; exiting");
                return code(exit_status::ok);
            case turn::stop_signal:
                spdlog::info("received {} before taking over; exiting", strsignal(sig));
                return code(exit_status::ok);
        }
    }
    if (p.ep) {
        p.ep->start();
        if (wait_until_subscribed(*p.ep, sig, tick) == startup::refused) {
            if (p.workers) {
                p.workers->stop_all(grace);
            }
            p.ep->stop(2s, false);
            return code(exit_status::subscribe);
        }
    }
    if (sig == 0) {
        if (p.workers) {
            const auto& plan = p.workers->plan();
            spdlog::info("supervising {} ({}) for {} routes",
                         counted(plan.workers.size(), "worker", "workers"),
                         counted(plan.process_count(), "process", "processes"), p.route_count);
        } else {
            spdlog::info("serving {} routes on {} subscriptions", p.route_count,
                         p.ep->routes().subscriptions().size());
        }
        while ((sig = wait_for_stop_signal(100ms)) == 0 || sig == kReloadSignal ||
               ((sig == kHandOverSignal || sig == retire_signal()) && !p.unsubscribe_first)) {
            if (sig == kReloadSignal) {
                reload(p, invocation);
            } else if (sig != 0) {
                spdlog::warn("ignoring {}: only a worker hands its session over or retires",
                             strsignal(sig));
            }
            tick();
        }
    }
    if (p.pod) {
        p.pod->manager().stopping.store(1);  // no longer ready: the pod is going away
    }
    // A worker leaves as its slot's state says (protocol.hpp: the manager wrote it before it
    // signalled); the single process unsubscribes nothing and ends its session.
    leaving how{.unsubscribe = false, .end_session = true};
    slot_state state = slot_state::none;
    if (p.unsubscribe_first) {
        state = p.region->process(p.slot).state.load();
        how = how_a_worker_leaves(sig, state, s.workers.keep_session_on_stop);
    }
    std::size_t killed = 0;
    if (p.workers) {
        spdlog::info("received {}; stopping {} processes", strsignal(sig), p.workers->running());
        killed = p.workers->stop_all(grace);
    } else if (how.orphaned) {
        spdlog::warn("the manager is gone; leaving this worker's session to its replacement");
        orphan.arm(*p.ep, grace);
    } else if (state == slot_state::handing_over || sig == kHandOverSignal) {
        spdlog::info("being replaced; finishing and handing this worker's session over");
    } else if (state == slot_state::retiring || sig == retire_signal()) {
        spdlog::info(
            "removed by scaling: unsubscribing, handling what the broker had queued for this "
            "worker, and ending its session");
    } else if (!how.end_session) {
        spdlog::info("received {}; finishing and keeping this worker's session for its restart",
                     strsignal(sig));
    } else {
        spdlog::info("received {}; {}", strsignal(sig),
                     p.unsubscribe_first ? "unsubscribing and finishing" : "stopping");
    }
    if (p.ep) {
        // A worker whose manager dies while it finishes (SIGKILL, PR_SET_PDEATHSIG) stops
        // waiting for what the broker still had queued and keeps its session: unsupervised, it
        // would go on handling while the next manager's worker takes the same client id.
        p.ep->stop(grace, how.unsubscribe, how.end_session, [&p, &orphan, grace] {
            if (!p.unsubscribe_first || !take_pending_signal(kManagerGoneSignal)) {
                return false;
            }
            orphan.arm(*p.ep, grace);
            return true;
        });
        p.ep->log_stats();
    }
    if (p.workers) {
        spdlog::info("all workers stopped ({} restarts while running)", p.workers->restarts());
        if (killed > 0) {
            spdlog::error(
                "{} workers overran SHUTDOWN_GRACE_SECONDS and were killed; their "
                "messages in hand are delivered again",
                killed);
            return code(exit_status::failure);
        }
    }
    return code(exit_status::ok);
}

/// A sentence for what a `routemq ctl` command answered (JSON), or its refusal.
action_answer sentence(const std::string& json_answer) {
    const auto j = nlohmann::json::parse(json_answer, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return {.ok = false, .text = "no answer from the manager"};
    }
    if (j.contains("error")) {
        return {.ok = false, .text = j["error"].get<std::string>()};
    }
    if (j.contains("scaled")) {
        return {.ok = true,
                .text = fmt::format("route '{}' scaled to {} workers",
                                    j["scaled"].get<std::string>(), j["workers"].get<int>())};
    }
    if (j.contains("reloading")) {
        return {.ok = true,
                .text = fmt::format("reloading: replacing {} processes one by one",
                                    j["reloading"].get<std::size_t>())};
    }
    return {.ok = true, .text = j.dump()};
}

/// The dashboard of this process's pod, unless DASHBOARD_ENABLED is false.
std::shared_ptr<const dashboard_backend> dashboard_of(const settings& s, parts& p,
                                                      dashboard_model model) {
    if (!s.http.dashboard) {
        return nullptr;
    }
    model.app = s.mqtt.group_name;
    model.instance = s.mqtt.instance_name.empty() ? host_name() : s.mqtt.instance_name;
    model.actions = !s.http.dashboard_token.empty();
    model.dead_letter_max = p.keeper->enabled() ? s.handling.dead_letter_max : 0;
    auto d = std::make_shared<dashboard_backend>();
    d->token = s.http.dashboard_token;
    d->pod = [model = std::move(model), pod = p.pod] {
        const auto now = unix_time_ms();
        return pod_json(model, *pod, now, rss_kib);
    };
    d->dead_letters = [keeper = p.keeper.get()](const dead_letter_filter& f) {
        return keeper->list_json(f);
    };
    d->dead_letter = [keeper = p.keeper.get()](const std::string& id) {
        return keeper->show_json(id);
    };
    const auto dead_letter_action = [keeper = p.keeper.get()](bool replay) {
        return [keeper, replay](const std::string& id) {
            auto problem = replay ? keeper->replay(id) : keeper->purge(id);
            if (!problem.empty()) {
                return action_answer{.ok = false, .text = std::move(problem)};
            }
            const auto done = fmt::format("dead letter {} {}", id, replay ? "replayed" : "purged");
            spdlog::info("dashboard: {}", done);
            return action_answer{.ok = true, .text = done};
        };
    };
    d->replay = dead_letter_action(true);
    d->purge = dead_letter_action(false);
    d->ctl = [commands = p.commands.get()](const std::string& command) {
        if (commands == nullptr) {
            return action_answer{.ok = false,
                                 .text = "this process runs no workers (start it with --workers)"};
        }
        spdlog::info("dashboard: {}", command);
        return sentence(commands->ask(command, std::chrono::seconds(5)));
    };
    return d;
}

/// The health and metrics endpoint of the main process, unless HTTP_ENABLED is false. Started
/// once every slot readiness waits for is marked, so its first answer already knows them.
std::unique_ptr<health_server> start_http(const settings& s, const router& r,
                                          std::shared_ptr<pod_region> pod,
                                          std::shared_ptr<const dashboard_backend> dashboard) {
    heartbeat(*pod);
    if (!s.http.enabled) {
        return nullptr;
    }
    std::vector<std::string> labels;
    for (const auto& rt : r.routes()) {
        labels.push_back(rt.pattern.text());
    }
    return std::make_unique<health_server>(s.http.host, s.http.port, std::move(pod),
                                           std::move(labels), std::move(dashboard));
}

/// What this process keeps for the pod besides its counters: the dead-letter index and the
/// history its dashboard plots.
void speak_for_the_pod(const settings& s, const router& r, parts& p, bool measure_busy) {
    p.pod->manager().started_unix_ms.store(unix_time_ms());
    p.keeper = std::make_unique<dead_letter_keeper>(s, r, p.pod);
    p.history = std::make_unique<history_recorder>(measure_busy);
}

parts single_parts(const settings& s, const router& r) {
    parts p;
    p.pod = pod_region::create(1, r.routes().size());
    p.pod->process(0).state.store(slot_state::unsupervised);
    const auto served = routes_in_pools(r, s.workers.pools);
    p.route_count = served.size();
    p.ep = std::make_unique<endpoint>(s, r, "main", served, false, p.pod, 0);
    if (p.ep->routes().subscriptions().empty()) {
        spdlog::warn("no routes registered; nothing to subscribe to");
    }
    speak_for_the_pod(s, r, p, true);
    auto model = model_of_single(r, served);
    model.route_table = format_route_table(r, s.mqtt.group_name, s.workers.pools);
    p.http = start_http(s, r, p.pod, dashboard_of(s, p, std::move(model)));
    return p;
}

/// The manager runs no application code: every route, shared or not, is served by a supervised
/// worker, so no message can take the whole pod down.
parts manager_parts(const settings& s, const router& r, const worker_invocation& invocation) {
    auto plan = plan_pod(r, invocation.worker_count, invocation.pools, invocation.scaling);
    if (plan.workers.empty()) {
        spdlog::warn("--workers: there are no routes, so no workers to start");
    }
    for (const auto& rt : r.routes()) {
        const auto range = route_workers(rt.options, invocation.scaling);
        if (rt.options.shared && rt.options.min_workers > 0 && !range.autoscaled) {
            spdlog::warn(
                "route '{}': min_workers {} is not used: without max_workers (or "
                "AUTOSCALE_MAX_WORKERS) the route does not autoscale and has worker_count {}",
                rt.pattern.text(), rt.options.min_workers, rt.options.worker_count);
        }
    }
    parts p;
    // Slot 0 is this process (no MQTT client), slot i process w<i>; the workers inherit the
    // region.
    p.pod = pod_region::create(plan.process_count() + 1, r.routes().size());
    p.route_count = routes_in_pools(r, invocation.pools).size();
    supervision how{
        .restart = {.backoff = s.workers.restart_backoff,
                    .backoff_max = s.workers.restart_backoff_max},
        .poison_max_crashes = s.handling.poison_max_crashes,
        .max_messages = s.workers.max_messages,
        .max_rss_mb = s.workers.max_rss_mb,
        .marks = {s.workers.busy_high_percent / 100.0, s.workers.busy_low_percent / 100.0,
                  s.workers.scale_up_after, s.workers.scale_down_after},
    };
    for (const auto& rt : r.routes()) {
        how.route_names.push_back(rt.pattern.text());
    }
    p.launcher = std::make_unique<process_launcher>(invocation, p.pod->fd());
    p.workers = std::make_unique<supervisor>(std::move(plan), *p.launcher, std::move(how), p.pod);
    p.commands = std::make_unique<command_queue>();
    p.answer = [&r, pod = p.pod, workers = p.workers.get(),
                invocation](const std::string& command) -> std::string {
        return control_answer(command, *pod, r, *workers,
                              [&invocation] { return settings_problem(invocation); });
    };
    p.ctl = std::make_unique<control_server>(
        control_socket_name(s.mqtt),
        [answer = p.answer](std::string_view command) { return answer(std::string(command)); });
    speak_for_the_pod(s, r, p, false);
    auto model = model_of_pod(r, p.workers->plan(), invocation.scaling);
    model.route_table =
        format_route_table(r, s.mqtt.group_name, invocation.pools, invocation.scaling) + "\n" +
        format_pod_plan(r, p.workers->plan());
    // A taken HTTP port stops startup here, before any worker starts.
    p.http = start_http(s, r, p.pod, dashboard_of(s, p, std::move(model)));
    return p;
}

parts worker_parts(const settings& s, const router& r, const worker_invocation& invocation) {
    const auto plan = plan_pod(r, invocation.worker_count, invocation.pools, invocation.scaling);
    const int slot = invocation.slot;
    const auto place = plan.at(slot);
    if (place.process == nullptr) {
        throw config_error(fmt::format("process w{} is not in the plan of {} processes", slot,
                                       plan.process_count()));
    }
    const auto& routes = place.process->routes;
    // Every worker keeps a persistent session, the one serving non-shared routes too: what the
    // broker queues while it restarts is not lost.
    // Started by hand (no manager): count into a region of its own.
    auto region =
        invocation.metrics_fd >= 0
            ? pod_region::attach(invocation.metrics_fd, plan.process_count() + 1, r.routes().size())
            : pod_region::create(plan.process_count() + 1, r.routes().size());
    if (invocation.metrics_fd < 0) {
        region->process(static_cast<std::size_t>(slot)).state.store(slot_state::unsupervised);
    }
    parts p;
    p.route_count = routes.size();
    p.unsubscribe_first = true;
    p.hold_fd = invocation.hold_fd;
    p.region = region;
    p.slot = static_cast<std::size_t>(slot);
    std::unique_ptr<priority_gate> gate;
    if (place.worker->gate_tokens > 0) {
        gate = std::make_unique<priority_gate>(
            region, plan.gate_members(slot), static_cast<std::size_t>(slot),
            place.worker->gate_tokens, static_cast<int>(place.lane->priority));
    }
    p.ep = std::make_unique<endpoint>(s, r, process_name(p.slot), routes, true, std::move(region),
                                      p.slot, std::move(gate));
    return p;
}

}  // namespace

int run(role what, const settings& s, const router& r, const worker_invocation& invocation) {
    orphan_deadline orphan;  // destroyed, so disarmed, after everything below
    parts p;
    switch (what) {
        case role::single:
            p = single_parts(s, r);
            break;
        case role::manager:
            p = manager_parts(s, r, invocation);
            break;
        case role::worker:
            p = worker_parts(s, r, invocation);
            break;
    }
    return lifecycle(p, s, invocation, orphan);
}

}  // namespace routemq::detail
