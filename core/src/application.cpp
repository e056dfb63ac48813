#include "routemq/application.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <numeric>

#include "http/health_server.hpp"
#include "metrics/health.hpp"
#include "metrics/shared_metrics.hpp"
#include "routemq/worker_plan.hpp"
#include "runtime/endpoint.hpp"
#include "runtime/signals.hpp"
#include "runtime/supervisor.hpp"

namespace routemq {
namespace {

using namespace std::chrono_literals;

enum class startup { subscribed, refused, stop_signal };

/// Waits until the endpoint's subscriptions are answered, calling `tick` meanwhile; a stop
/// signal interrupts the wait (it is returned in `sig`).
template <class Tick>
startup wait_until_subscribed(detail::endpoint& ep, int& sig, Tick tick) {
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
        if ((sig = detail::wait_for_stop_signal(0ms)) != 0) {
            return startup::stop_signal;
        }
        tick();
    }
}

/// Records in the pod-level cells that the main process got SIGTERM/SIGINT and is going away, so
/// it is no longer ready. `pod` is null in a worker, which has no say in the pod's readiness.
void mark_stopping(detail::shared_metrics* pod) {
    if (pod != nullptr) {
        pod->manager().stopping.store(1);
    }
}

/// Starts `ep`, serves until SIGINT/SIGTERM, then stops it (unsubscribing first for workers).
int serve_one(detail::endpoint& ep, std::size_t route_count, const settings& s, bool worker,
              detail::shared_metrics* pod) {
    const auto tick = [pod] {
        if (pod != nullptr) {
            detail::heartbeat(*pod);
        }
    };
    ep.start();
    int sig = 0;
    switch (wait_until_subscribed(ep, sig, tick)) {
        case startup::refused:
            ep.stop(2s, false);
            return kExitSubscribe;
        case startup::stop_signal:
            break;
        case startup::subscribed:
            spdlog::info("serving {} routes on {} subscriptions", route_count,
                         ep.routes().subscriptions().size());
            while ((sig = detail::wait_for_stop_signal(1s)) == 0) {
                tick();
            }
    }
    mark_stopping(pod);
    spdlog::info("received {}; {}", strsignal(sig),
                 worker ? "unsubscribing and finishing" : "stopping");
    ep.stop(std::chrono::seconds(s.shutdown_grace_seconds), /*unsubscribe_first=*/worker);
    ep.log_stats();
    return kExitOk;
}

/// The health and metrics endpoint of the main process, unless HTTP_ENABLED is false.
std::unique_ptr<detail::health_server> start_http(const settings& s, const router& r,
                                                  std::shared_ptr<detail::shared_metrics> pod) {
    detail::heartbeat(*pod);
    if (!s.http_enabled) {
        return nullptr;
    }
    std::vector<std::string> labels;
    for (const auto& rt : r.routes()) {
        labels.push_back(rt.pattern.text());
    }
    return std::make_unique<detail::health_server>(s.http_host, s.http_port, std::move(pod),
                                                   std::move(labels));
}

}  // namespace

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
        return "localhost";
    }
    return buf;
}

int serve(const settings& s, const router& r) {
    auto pod = detail::shared_metrics::create(1, r.routes().size());
    std::vector<std::size_t> all(r.routes().size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    // Before the endpoint answers probes, so /readyz knows from its first answer what to wait for.
    detail::endpoint ep(s, r, "main", std::move(all), /*persistent_session=*/false, pod, 0);
    const auto http = start_http(s, r, pod);
    if (ep.routes().subscriptions().empty()) {
        spdlog::warn("no routes registered; nothing to subscribe to");
    }
    return serve_one(ep, r.routes().size(), s, /*worker=*/false, pod.get());
}

int serve_with_workers(const settings& s, const router& r, int worker_count,
                       const worker_command& command) {
    auto plan = plan_workers(r, worker_count);
    if (plan.empty()) {
        spdlog::warn("--workers: there are no shared routes, so no workers to start");
    }
    // Slot 0 is this process, slot i worker w<i>; the workers inherit the region. The main
    // endpoint and the supervisor mark their slots as expected before the endpoint answers
    // probes, and a taken HTTP port stops startup before any worker starts.
    auto pod = detail::shared_metrics::create(plan.size() + 1, r.routes().size());
    const auto main_routes = main_process_routes(r);
    std::unique_ptr<detail::endpoint> ep;
    if (!main_routes.empty()) {
        ep = std::make_unique<detail::endpoint>(s, r, "main", main_routes, false, pod, 0);
    }
    detail::supervisor workers(std::move(plan), {command.executable, command.args},
                               std::chrono::milliseconds(s.worker_restart_backoff_ms),
                               std::chrono::milliseconds(s.worker_restart_backoff_max_ms), pod);
    const auto http = start_http(s, r, pod);
    workers.start_all();
    const auto tick = [&] {
        workers.tick();
        detail::heartbeat(*pod);
    };

    int sig = 0;
    if (ep) {
        ep->start();
        if (wait_until_subscribed(*ep, sig, tick) == startup::refused) {
            workers.stop_all(std::chrono::seconds(s.shutdown_grace_seconds));
            ep->stop(2s, false);
            return kExitSubscribe;
        }
    }
    if (sig == 0) {
        spdlog::info("serving {} routes here and supervising {} workers", main_routes.size(),
                     workers.planned());
        while ((sig = detail::wait_for_stop_signal(100ms)) == 0) {
            tick();
        }
    }
    mark_stopping(pod.get());
    spdlog::info("received {}; stopping {} workers", strsignal(sig), workers.running());
    const auto grace = std::chrono::seconds(s.shutdown_grace_seconds);
    workers.stop_all(grace);
    if (ep) {
        ep->stop(grace, /*unsubscribe_first=*/false);
        ep->log_stats();
    }
    spdlog::info("all workers stopped ({} restarts while running)", workers.restarts());
    return kExitOk;
}

int serve_worker(const settings& s, const router& r, int worker_count, int slot, int metrics_fd) {
    const auto plan = plan_workers(r, worker_count);
    if (slot < 1 || slot > static_cast<int>(plan.size())) {
        spdlog::error("worker slot {} is not in the plan of {} workers", slot, plan.size());
        return kExitConfig;
    }
    const auto role = fmt::format("w{}", slot);
    const auto& routes = plan[static_cast<std::size_t>(slot - 1)].routes;
    // Started by hand (no manager): count into a region of its own.
    auto pod = metrics_fd >= 0
                   ? detail::shared_metrics::attach(metrics_fd, plan.size() + 1, r.routes().size())
                   : detail::shared_metrics::create(plan.size() + 1, r.routes().size());
    detail::endpoint ep(s, r, role, routes, /*persistent_session=*/true, pod,
                        static_cast<std::size_t>(slot));
    return serve_one(ep, routes.size(), s, /*worker=*/true, nullptr);
}

}  // namespace routemq
