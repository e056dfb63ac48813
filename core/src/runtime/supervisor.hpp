#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "metrics/shared_metrics.hpp"
#include "runtime/worker_invocation.hpp"
#include "runtime/worker_plan.hpp"

namespace routemq::detail {

/// Starts the planned workers, restarts any that die (same slot, exponential backoff), and stops
/// them all in parallel. Lives in the main thread of the manager. Keeps the workers' slots of
/// `metrics` (slot i = worker w<i>) and its pool cells current.
class supervisor {
public:
    supervisor(std::vector<worker_spec> plan, worker_invocation launch,
               std::chrono::milliseconds backoff, std::chrono::milliseconds backoff_max,
               std::shared_ptr<shared_metrics> metrics);
    ~supervisor();
    supervisor(const supervisor&) = delete;
    supervisor& operator=(const supervisor&) = delete;

    void start_all();
    /// Reaps dead workers and starts the ones whose backoff has passed; call often.
    void tick();
    /// SIGTERM to every worker at once, waits up to `grace`, then SIGKILL what is left.
    void stop_all(std::chrono::milliseconds grace);

    std::size_t planned() const noexcept { return workers_.size(); }
    std::size_t running() const noexcept;
    int restarts() const noexcept { return restarts_; }

private:
    using clock = std::chrono::steady_clock;
    struct worker {
        worker_spec spec;
        pid_t pid = -1;
        clock::time_point started{};
        clock::time_point restart_at{};
        int quick_deaths = 0;
    };

    void spawn(worker& w);
    void reaped(worker& w, int status);
    /// The worker's process is gone: it is neither running nor connected.
    void forget(worker& w);
    void publish_pool() const;

    std::vector<worker> workers_;
    worker_invocation launch_;
    std::shared_ptr<shared_metrics> metrics_;
    std::chrono::milliseconds backoff_;
    std::chrono::milliseconds backoff_max_;
    int restarts_ = 0;
    bool stopping_ = false;
};

}  // namespace routemq::detail
