#include "runtime/supervisor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>

namespace routemq::detail {
namespace {

/// A worker that lived this long before dying starts the backoff over.
constexpr auto kHealthyUptime = std::chrono::seconds(10);

std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return fmt::format("was killed by signal {} ({})", sig, strsignal(sig));
    }
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace

supervisor::supervisor(std::vector<worker_spec> plan, worker_invocation launch,
                       std::chrono::milliseconds backoff, std::chrono::milliseconds backoff_max,
                       std::shared_ptr<shared_metrics> metrics)
    : launch_(std::move(launch)),
      metrics_(std::move(metrics)),
      backoff_(backoff),
      backoff_max_(backoff_max) {
    for (auto& spec : plan) {
        metrics_->process(static_cast<std::size_t>(spec.slot)).expected.store(1);
        workers_.push_back({std::move(spec)});
    }
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
    auto& cells = metrics_->process(static_cast<std::size_t>(w.spec.slot));
    cells.pid.store(0);
    cells.connected.store(0);
    cells.subscribed.store(0);
    publish_pool();
}

supervisor::~supervisor() {
    stop_all(std::chrono::seconds(5));
}

std::size_t supervisor::running() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(workers_.begin(), workers_.end(), [](const worker& w) { return w.pid > 0; }));
}

void supervisor::start_all() {
    for (auto& w : workers_) {
        spawn(w);
    }
    spdlog::info("started {} worker processes", running());
}

void supervisor::spawn(worker& w) {
    // The manager has threads (Paho, spdlog) by now, so the child may only exec: everything it
    // needs is built before fork, and between fork and exec it makes only async-signal-safe calls.
    auto args = launch_.argv(w.spec.slot);
    const int metrics_fd = metrics_->fd();
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
        // The worker gets SIGTERM (and stops gracefully) when the manager dies, even by SIGKILL;
        // if the manager is already gone, there is nothing to serve for.
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(0);
        }
        // The metrics region becomes descriptor 3 and survives exec (dup2 clears close-on-exec);
        // the manager's broker and HTTP sockets are not the worker's business.
        if (metrics_fd == kWorkerMetricsFd ? fcntl(metrics_fd, F_SETFD, 0) != 0
                                           : dup2(metrics_fd, kWorkerMetricsFd) < 0) {
            _exit(127);
        }
        close_range(kWorkerMetricsFd + 1, ~0U, 0);
        execv(argv[0], argv.data());
        _exit(127);
    }
    if (pid < 0) {
        spdlog::error("cannot start worker w{}: fork failed: {}", w.spec.slot, strerror(errno));
        w.pid = -1;
        w.restart_at = clock::now() + backoff_;
        return;
    }
    w.pid = pid;
    w.started = clock::now();
    metrics_->process(static_cast<std::size_t>(w.spec.slot)).pid.store(pid);
    publish_pool();
    spdlog::info("worker w{} started (pid {})", w.spec.slot, pid);
}

void supervisor::reaped(worker& w, int status) {
    const auto uptime = clock::now() - w.started;
    forget(w);
    if (stopping_) {
        return;
    }
    w.quick_deaths = uptime >= kHealthyUptime ? 1 : w.quick_deaths + 1;
    auto delay = backoff_;
    for (int i = 1; i < w.quick_deaths && delay < backoff_max_; ++i) {
        delay *= 2;
    }
    delay = std::min(delay, backoff_max_);
    w.restart_at = clock::now() + delay;
    spdlog::warn("worker w{} {} after {} ms; restarting in the same slot in {} ms ({} in a row)",
                 w.spec.slot, describe_exit(status),
                 std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count(),
                 delay.count(), w.quick_deaths);
}

void supervisor::tick() {
    for (auto& w : workers_) {
        if (w.pid > 0) {
            int status = 0;
            if (waitpid(w.pid, &status, WNOHANG) == w.pid) {
                reaped(w, status);
            }
        }
        if (w.pid <= 0 && !stopping_ && clock::now() >= w.restart_at) {
            ++restarts_;
            spawn(w);
        }
    }
}

void supervisor::stop_all(std::chrono::milliseconds grace) {
    stopping_ = true;
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
                                 describe_exit(status));
                }
                forget(w);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& w : workers_) {
        if (w.pid > 0) {
            spdlog::error("worker w{} (pid {}) still running after {} ms; killing it", w.spec.slot,
                          w.pid, grace.count());
            kill(w.pid, SIGKILL);
            waitpid(w.pid, nullptr, 0);
            forget(w);
        }
    }
}

}  // namespace routemq::detail
