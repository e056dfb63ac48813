#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pod/autoscaler.hpp"
#include "pod/launcher.hpp"
#include "pod/pod_plan.hpp"
#include "pod/pod_region.hpp"
#include "pod/process_slot.hpp"

namespace routemq::detail {

/// How the supervisor restarts processes and judges the messages that kill them.
struct supervision {
    restart_policy restart{};
    /// POISON_MAX_CRASHES, for the log line that counts a message's crashes.
    int poison_max_crashes = 2;
    /// Route patterns, indexed like router::routes(), to name them in logs.
    std::vector<std::string> route_names{};
    /// Recycling: replace a process after this many handled messages (plus up to 10% jitter, so
    /// processes do not all go at once) or this much resident memory; 0: never.
    std::uint64_t max_messages = 0;
    std::uint64_t max_rss_mb = 0;
    /// When autoscaled routes gain and lose workers.
    scaling_marks marks{};
};

/// The manager's supervision of the plan's processes: a loop that reaps processes and reads the
/// pod region, turns what happened into events for each process slot (process_slot.hpp),
/// and carries out the actions the slots return through a launcher. The policies that make
/// events live here: recycling limits, the watchdog (a handler past its route's timeout), the
/// poison rule (a process that dies with a message in hand counts against that message) and
/// autoscaling. It writes each slot's state and the pod's counts into the region. Lives in the
/// manager's main thread.
class supervisor {
public:
    using clock = slot_clock;

    supervisor(pod_plan plan, launcher& launch, supervision how,
               std::shared_ptr<pod_region> region);
    ~supervisor();
    supervisor(const supervisor&) = delete;
    supervisor& operator=(const supervisor&) = delete;

    void start_all(clock::time_point now = clock::now());
    /// Reaps, watches and restarts; call often.
    void tick(clock::time_point now = clock::now());
    /// kStopSignal to every process at once, waits up to `grace`, then SIGKILL what is left;
    /// returns how many had to be killed.
    std::size_t stop_all(std::chrono::milliseconds grace);

    /// Replaces the process in `slot` without a gap: starts its successor (built, not yet
    /// connected), tells the old one to finish the message in hand and leave its session once
    /// the successor is ready, then lets the successor connect with the same client id. False
    /// (with `why`) when it cannot now.
    bool recycle(int slot, const std::string& reason, std::string& why);

    /// Sets how many workers serve `route` (an index into router::routes()), between 1 and the
    /// workers the plan reserved for it: starts spare ones, or removes the last ones without
    /// loss (each process unsubscribes, handles what the broker had queued for it and ends its
    /// session). An autoscaled route goes on scaling from there. False (with `why`) when it
    /// cannot.
    bool scale(std::size_t route, int workers, std::string& why);

    /// Replaces every process, one at a time, the way recycle() does (SIGHUP): each successor
    /// is a new exec of the binary on disk and reads the settings anew.
    void reload();

    const pod_plan& plan() const noexcept { return plan_; }
    const process_slot& slot(int slot) const {
        return slots_.at(static_cast<std::size_t>(slot - 1));
    }
    std::size_t running() const noexcept;
    int restarts() const noexcept { return restarts_; }
    int recycles() const noexcept { return recycles_; }

private:
    /// Per process slot, what the recycling policy keeps.
    struct recycling {
        std::uint64_t handled_base = 0;
        std::uint64_t after = 0;
        clock::time_point rss_checked{};
    };
    process_slot& at(int slot) { return slots_[static_cast<std::size_t>(slot - 1)]; }
    /// Steps `slot` on `e` and carries the actions out.
    step_result apply(int slot, const slot_event& e, clock::time_point now);
    void perform(int slot, const process_slot& was, const slot_action& a, clock::time_point now);
    /// The process of `slot` exited with `status`.
    void exited(int slot, int status, clock::time_point now);
    /// The policies.
    void watch(int slot);
    void check_limits(int slot, clock::time_point now);
    bool blame_message(int slot, const death& d);
    void continue_reload();
    void sample(clock::time_point now);
    /// Counts and limits of a process that just took its slot.
    void took_slot(int slot);
    /// The slot's state and pid into the region, and the pod's counts.
    void publish(int slot);
    void publish_pod() const;
    /// Workers of group `g` serving now (started and not leaving).
    int serving(const scaling_group& g) const;
    bool add_worker(const scaling_group& g, const std::string& reason, clock::time_point now);
    bool remove_worker(const scaling_group& g, const std::string& reason, clock::time_point now);
    const std::string& route_name(std::size_t route) const;

    pod_plan plan_;
    launcher& launch_;
    supervision how_;
    std::shared_ptr<pod_region> region_;
    std::vector<process_slot> slots_;
    std::vector<recycling> recycling_;
    /// The autoscaler's memory of each scaling group (plan().groups, same order).
    std::vector<busy_trend> trends_;
    int restarts_ = 0;
    int recycles_ = 0;
    /// Per route: its handler time (ns) at the last sample; and when that was.
    std::vector<std::uint64_t> route_busy_ns_;
    /// Per process slot: its handler time at the last sample.
    std::vector<std::uint64_t> process_busy_ns_;
    clock::time_point sampled_{};
    /// Slots a reload has still to replace, in order.
    std::deque<int> reload_queue_;
    std::mt19937_64 random_{std::random_device{}()};
    bool stopping_ = false;
};

}  // namespace routemq::detail
