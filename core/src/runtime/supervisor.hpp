#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "metrics/shared_metrics.hpp"
#include "runtime/autoscaler.hpp"
#include "runtime/worker_invocation.hpp"
#include "runtime/worker_plan.hpp"

namespace routemq::detail {

/// How the supervisor restarts workers and judges the messages that kill them.
struct supervision {
    std::chrono::milliseconds backoff{500};
    std::chrono::milliseconds backoff_max{30000};
    /// POISON_MAX_CRASHES, for the log line that counts a message's crashes.
    int poison_max_crashes = 2;
    /// Route patterns, indexed like router::routes(), to name them in logs.
    std::vector<std::string> route_names;
    /// Recycling: replace a worker after this many handled messages (plus up to 10% jitter, so
    /// workers do not all go at once) or this much resident memory; 0: never.
    std::uint64_t max_messages = 0;
    std::uint64_t max_rss_mb = 0;
    /// When autoscaled routes gain and lose workers.
    scaling_marks marks;
};

/// Starts the planned workers, restarts any that die (same slot, exponential backoff), and stops
/// them all in parallel. Lives in the main thread of the manager. Keeps the workers' slots of
/// `metrics` (slot i = worker w<i>) and its pool cells current.
///
/// It also watches what each worker handles (work_cells): a handler past its route's timeout gets
/// its worker killed, and a worker that dies while handling a message has that message counted
/// in the poison table, which workers consult before running a message again.
class supervisor {
public:
    supervisor(std::vector<worker_spec> plan, worker_invocation launch, supervision how,
               std::shared_ptr<shared_metrics> metrics);
    ~supervisor();
    supervisor(const supervisor&) = delete;
    supervisor& operator=(const supervisor&) = delete;

    void start_all();
    /// Reaps dead workers, kills handlers past their timeout, and starts the workers whose
    /// backoff has passed; call often.
    void tick();
    /// SIGTERM to every worker at once, waits up to `grace`, then SIGKILL what is left; returns
    /// how many had to be killed.
    std::size_t stop_all(std::chrono::milliseconds grace);

    /// Replaces the worker in `slot` without a gap: starts its replacement (built, not yet
    /// connected), tells the old one to finish the message in hand and leave its session, then
    /// lets the replacement connect with the same client id. False (with `why`) when the slot is
    /// not running or is being replaced already.
    bool recycle(int slot, const std::string& reason, std::string& why);

    /// Sets how many workers serve `route` (an index into router::routes()), between 1 and the
    /// workers the plan reserved for it: starts spare ones, or removes the last ones without
    /// loss (each unsubscribes, handles what the broker had queued for it and ends its session).
    /// An autoscaled route goes on scaling from there. False (with `why`) when it cannot.
    bool scale(std::size_t route, int workers, std::string& why);

    /// Replaces every worker, one at a time, the way recycle() does (SIGHUP): each replacement
    /// is a new exec of the binary on disk and reads the settings anew.
    void reload();

    std::size_t planned() const noexcept { return workers_.size(); }
    int recycles() const noexcept { return recycles_; }
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
        /// Killed by the supervisor for a handler past its timeout.
        bool timed_out = false;
        /// Recycling: its handled count when it started, and after how many more to replace it.
        std::uint64_t handled_base = 0;
        std::uint64_t recycle_after = 0;
        clock::time_point rss_checked{};
        /// While it is being replaced: the replacement's pid, the socket to it (it says when it
        /// is ready; we say when it may connect), and whether this worker was told to go.
        pid_t successor = -1;
        int go_fd = -1;
        bool told_to_go = false;
        clock::time_point handover_started{};
        /// Scaling: a spare worker not started (inactive), or one leaving: it is sent
        /// retire_signal() once connected and is not restarted after a clean exit.
        bool active = true;
        bool retiring = false;
        bool retire_sent = false;
    };
    /// The workers of one route in the per-route plan, which scale together.
    struct route_workers_group {
        std::size_t route = 0;
        /// Index in workers_ of each worker's first process; a worker's processes follow it.
        std::vector<std::size_t> firsts;
        worker_range range;
        busy_trend trend;
    };

    void spawn(worker& w);
    /// fork + exec of slot `slot`'s worker; `hold_fd` >= 0 makes it a replacement waiting on it.
    pid_t launch(int slot, int hold_fd);
    /// Counters and limits of a worker that just took its slot.
    void started_serving(worker& w);
    /// The old worker of a slot being replaced exited: the replacement takes over.
    void hand_over(worker& w, int status);
    /// Tells the old worker to go once its replacement says it is ready.
    void follow_handover(worker& w);
    /// Checks the recycling limits of a running worker.
    void check_limits(worker& w);
    /// Starts the next replacement of a reload when none is under way.
    void continue_reload();
    void reaped(worker& w, int status);
    /// Kills `w` when its handler runs past its timeout.
    void watch(worker& w);
    /// `w` died abnormally: counts the message it was handling, if any, toward the poison rule.
    /// True when that message has now killed enough workers to be dead-lettered when it comes
    /// back (it no longer stands in the slot's way).
    bool blame_message(worker& w, int status);
    /// The worker's process is gone: it is neither running nor connected.
    void forget(worker& w);
    void publish_pool() const;
    /// `w`'s process has exited: the handler slot it held in its worker's priority gate goes on.
    void release_gate(const worker& w);
    /// Every second: busy ratios per route and per process into the region; autoscaling.
    void sample();
    /// Workers of `g` serving now (started and not leaving).
    int serving(const route_workers_group& g) const;
    /// The processes of the worker whose first process is workers_[first].
    std::vector<worker*> processes_of(std::size_t first);
    /// Starts a spare worker of `g`; false when none is left.
    bool add_worker(route_workers_group& g, const std::string& reason);
    /// Removes the last serving worker of `g` gracefully; false when none is left.
    bool remove_worker(route_workers_group& g, const std::string& reason);
    void retire(worker& w);

    std::vector<worker> workers_;
    worker_invocation launch_;
    std::shared_ptr<shared_metrics> metrics_;
    supervision how_;
    int restarts_ = 0;
    int recycles_ = 0;
    std::vector<route_workers_group> groups_;
    /// Per route: its handler time (ns) at the last sample; and when that was.
    std::vector<std::uint64_t> route_busy_ns_;
    /// Per worker (workers_ order): its handler time at the last sample.
    std::vector<std::uint64_t> worker_busy_ns_;
    clock::time_point sampled_{};
    /// Slots a reload has still to replace, in order.
    std::deque<int> reload_queue_;
    std::mt19937_64 random_{std::random_device{}()};
    bool stopping_ = false;
};

}  // namespace routemq::detail
