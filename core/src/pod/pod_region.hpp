#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "delivery/counters.hpp"
#include "pod/protocol.hpp"

namespace routemq::detail {

/// Upper bounds (seconds) of the handler duration histogram buckets; +Inf is implied.
inline constexpr std::array<double, 14> kDurationBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

using counter = std::atomic<std::uint64_t>;
static_assert(counter::is_always_lock_free, "counters live in memory shared between processes");
static_assert(std::atomic<slot_state>::is_always_lock_free, "so is a slot's state");

/// What every process did for one route: route_cells summed (pod_region::sum_route).
struct route_sums {
    std::uint64_t handled = 0;
    std::uint64_t bad_payload = 0;
    std::uint64_t handler_error = 0;
    std::uint64_t retries = 0;
    std::array<std::uint64_t, 3> dead_letters{};
    std::uint64_t timeouts = 0;
    std::uint64_t crashes = 0;
    std::uint64_t publishes_refused = 0;
    std::uint64_t replies_refused = 0;
    /// Runs per duration bucket (kDurationBuckets, the last beyond every bound), and their sum.
    std::array<std::uint64_t, kDurationBuckets.size() + 1> buckets{};
    std::uint64_t sum_ns = 0;

    route_sums& operator+=(const route_sums& o) noexcept;
    /// Handler runs, every outcome.
    std::uint64_t runs() const noexcept;
};

/// A short text in memory shared between processes, without locks: one writer stores it whole,
/// readers get a consistent copy (a sequence lock over atomic words). Longer text is cut.
class shared_text {
public:
    static constexpr std::size_t kCapacity = 160;

    void store(std::string_view text) noexcept;
    std::string load() const;

private:
    static constexpr std::size_t kWords = kCapacity / sizeof(std::uint64_t);
    /// Odd while a store is under way.
    std::atomic<std::uint32_t> sequence_;
    std::atomic<std::uint32_t> length_;
    std::array<std::atomic<std::uint64_t>, kWords> words_;
};

/// What one process did for one route. Counters only grow, across worker restarts too.
struct route_cells {
    counter handled;
    counter bad_payload;
    counter handler_error;
    /// Handler durations, every outcome: runs per bucket (not cumulative; the last is > every
    /// bound) and their sum in nanoseconds.
    std::array<counter, kDurationBuckets.size() + 1> duration_buckets;
    counter duration_sum_ns;
    /// Failed runs run again.
    counter retries;
    /// Messages published to the dead-letter topic, by reason (dead_letter_reason order).
    std::array<counter, 3> dead_letters;
    /// Handlers the manager killed for running past their timeout.
    counter timeouts;
    /// Workers that died while running this route's handler (crash or timeout).
    counter crashes;
    /// Publishes of this route's messages the broker refused (results, replies, dead letters).
    counter publishes_refused;
    /// Requests whose Response Topic the reply policy refused (handled, not answered).
    counter replies_refused;
};

/// Longest topic kept for naming the message in hand (longer ones are cut).
inline constexpr std::size_t kWorkTopicLength = 256;

/// The message a process is handling, written by that process around every handler run and read
/// by the manager: to kill a handler past its timeout and to name the message that killed a
/// worker. Written by one process at a time (the slot's current worker).
struct work_cells {
    /// Odd while the process rewrites the cells; readers retry until it is even and unchanged.
    std::atomic<std::uint32_t> sequence;
    /// Route index + 1 while a handler runs; 0 when idle.
    std::atomic<std::uint32_t> route;
    std::atomic<std::uint64_t> digest;
    /// Steady-clock milliseconds (CLOCK_MONOTONIC: one clock for every process of the host).
    std::atomic<std::int64_t> started_ms;
    /// The route's timeout; 0: none.
    std::atomic<std::int64_t> timeout_ms;
    std::atomic<std::uint32_t> topic_length;
    std::array<std::atomic<char>, kWorkTopicLength> topic;
};

/// A copy of work_cells taken consistently.
struct work_snapshot {
    /// Route index + 1; 0: idle.
    std::uint32_t route = 0;
    std::uint64_t digest = 0;
    std::int64_t started_ms = 0;
    std::int64_t timeout_ms = 0;
    std::string topic;
};

/// Messages that killed workers, remembered by the manager for the poison rule.
struct poison_entry {
    std::atomic<std::uint64_t> digest;
    std::atomic<std::uint32_t> crashes;
    /// How the last worker died: a wait status, or kTimedOut.
    std::atomic<std::int32_t> last_status;
};
inline constexpr std::int32_t kTimedOut = -1;
inline constexpr std::size_t kPoisonEntries = 256;

/// The clock of every time kept in the region (work_cells::started_ms,
/// manager_cells::heartbeat_ms): monotonic milliseconds, the same in every process of the machine.
std::int64_t region_clock_ms() noexcept;

/// Priorities: one process's part in its worker's gate (pod/priority_gate.hpp). The lock and
/// the free handler slots are used in the worker's first process only; the rest in every member.
struct gate_cells {
    /// Process-shared and robust: a member killed while holding it does not block the others.
    pthread_mutex_t lock;
    std::atomic<std::uint32_t> initialized;
    std::atomic<std::uint32_t> free;
    std::atomic<std::uint64_t> next_ticket;
    /// idle, waiting, running or lingering (priority_gate::state); a futex word.
    std::atomic<std::uint32_t> state;
    /// The priority of the message it waits with or runs, its place in line, and until when
    /// (region clock) a lingering member keeps its handler slot for its next message.
    std::atomic<std::uint32_t> priority;
    std::atomic<std::uint64_t> ticket;
    std::atomic<std::int64_t> linger_until_ms;
};

/// One process (slot 0 the main process, slot i worker w<i>): its state and its own counters.
struct process_cells {
    /// Written by the manager (or by a process no manager supervises, for itself); zeroed
    /// memory reads as slot_state::none.
    std::atomic<slot_state> state;
    /// The process id while it runs, else 0 (the manager clears it when it reaps a worker).
    std::atomic<std::int32_t> pid;
    std::atomic<std::uint32_t> connected;
    /// Connected and every subscription granted.
    std::atomic<std::uint32_t> subscribed;
    counter reconnects;
    counter received;
    /// Time in handlers over wall time, parts per million, over the manager's last sample.
    std::atomic<std::uint32_t> busy_ppm;
    counter no_route;
    /// Times the manager started this slot's process again after it died.
    counter restarts;
    work_cells work;

    // ---- Connection errors: why a process cannot connect, for /readyz and /metrics ----
    /// Failed connection attempts, across restarts of the slot's process.
    counter connect_failures;
    gate_cells gate;
    /// Why the process is not connected (its last failed attempt or lost connection), e.g.
    /// `attempt 3 failed: not authorized (CONNACK 135): ...`; empty while connected.
    shared_text connect_error;
};

/// Written by the manager only.
struct manager_cells {
    /// Workers of the plan, and those whose every process runs.
    std::atomic<std::uint32_t> workers_planned;
    std::atomic<std::uint32_t> workers_running;
    /// Processes of the plan, and those running.
    std::atomic<std::uint32_t> processes_planned;
    std::atomic<std::uint32_t> processes_running;
    counter worker_restarts;
    /// Set on SIGTERM/SIGINT: the pod is going away, so it is no longer ready.
    std::atomic<std::uint32_t> stopping;
    /// Steady-clock milliseconds of the main loop's last turn (liveness).
    std::atomic<std::int64_t> heartbeat_ms;
    /// Workers killed for running a handler past its timeout.
    counter handler_timeouts;
    /// The broker's count of messages it dropped (mosquitto's
    /// `$SYS/broker/publish/messages/dropped`), plus one; 0 while not seen.
    std::atomic<std::uint64_t> broker_dropped_plus_one;
    /// Ring of messages that killed workers; `poison_next` is the next entry to reuse.
    std::array<poison_entry, kPoisonEntries> poison;
    std::atomic<std::uint32_t> poison_next;

    /// When the pod started (wall clock, unix milliseconds), for the dashboard.
    std::atomic<std::int64_t> started_unix_ms;
    /// The dead-letter store as the manager's index sees it (dead_letters/keeper.hpp): loaded
    /// (1) or not, dead letters kept, and removed as the oldest beyond DEAD_LETTER_MAX.
    std::atomic<std::uint32_t> dead_letters_loaded;
    std::atomic<std::uint64_t> dead_letters_kept;
    counter dead_letters_evicted;
    /// The history rings of every route (scaling_cells::history): samples written, the next
    /// one at `history_written % kHistorySamples`.
    std::atomic<std::uint64_t> history_written;
};

/// Samples of each route's rate and busy ratio kept for the dashboard's plots: one every
/// kHistoryInterval, the last kHistorySamples (5 minutes).
inline constexpr std::size_t kHistorySamples = 150;
inline constexpr std::chrono::seconds kHistoryInterval{2};

/// One sample of a route: handler runs (every outcome, retries included) and successful ones per
/// second, in thousandths, and the busy ratio (ppm).
struct history_sample {
    std::atomic<std::uint32_t> runs_milli_per_s;
    std::atomic<std::uint32_t> handled_milli_per_s;
    std::atomic<std::uint32_t> busy_ppm;
};

/// How busy a route's workers are and how many serve it, written by the manager (its autoscaler
/// samples every second) for /metrics and `routemq ctl workers`.
struct scaling_cells {
    /// Time in the route's handlers over wall time of the processes serving it, in parts per
    /// million, over the last sample.
    std::atomic<std::uint32_t> busy_ppm;
    /// Workers serving the route now, and the most it may have (its reserved workers).
    std::atomic<std::uint32_t> workers;
    std::atomic<std::uint32_t> max_workers;
    /// Workers added and removed by the autoscaler or `routemq ctl scale`.
    counter scaled_up;
    counter scaled_down;
    /// The last minutes of the route, a ring written by the manager (manager_cells::
    /// history_written).
    std::array<history_sample, kHistorySamples> history;
};

/// The pod region: what the processes of one `routemq` run share, in one memfd mapping. Per
/// process slot: its state (written by the manager), connection, the message in hand (the
/// watchdog and the poison rule read it), its priority gate cells and its counters; per route:
/// the autoscaler's cells; for the pod: the manager's counts, heartbeat and the poison table. The
/// manager creates it before starting workers; each worker maps the inherited descriptor
/// (kRegionFd) and writes only its own slot, so `/metrics`, `/readyz` and `routemq ctl` in the
/// manager see the whole pod without asking anyone. Every cell is a lock-free atomic (the gate's
/// lock aside), so readers and writers never wait for each other.
class pod_region {
public:
    /// A new zeroed region for `processes` slots (main + workers) of `routes` routes each.
    static std::shared_ptr<pod_region> create(std::size_t processes, std::size_t routes);
    /// Maps a region created by `create` in the manager; throws routemq::error unless it has
    /// exactly this shape (the worker computed the same plan as its manager).
    static std::shared_ptr<pod_region> attach(int fd, std::size_t processes, std::size_t routes);

    ~pod_region();
    pod_region(const pod_region&) = delete;
    pod_region& operator=(const pod_region&) = delete;

    /// The memfd, for workers to inherit (close-on-exec; the supervisor clears that per child).
    int fd() const noexcept { return fd_; }
    std::size_t processes() const noexcept { return processes_; }
    std::size_t routes() const noexcept { return routes_; }

    manager_cells& manager() const noexcept;
    scaling_cells& scaling(std::size_t route) const noexcept;
    process_cells& process(std::size_t slot) const noexcept;
    route_cells& route(std::size_t slot, std::size_t route) const noexcept;

    /// What every process did for `route` (/metrics and the dashboard read it so).
    route_sums sum_route(std::size_t route) const noexcept;

    /// Handler runs of `slot` over every route, restarts of the slot's process included.
    std::uint64_t handled(std::size_t slot) const noexcept;

    /// Counts one run of a route's handler chain.
    void record(std::size_t slot, std::size_t route, outcome o,
                std::uint64_t duration_ns) const noexcept;

    /// Records in `slot` the message whose handler starts now (a process writes only its own).
    void begin_work(std::size_t slot, std::size_t route, std::string_view topic,
                    std::uint64_t digest, std::chrono::milliseconds timeout) const noexcept;
    void end_work(std::size_t slot) const noexcept;
    /// What `slot` is handling, read consistently.
    work_snapshot work(std::size_t slot) const;

    /// Manager: the message with `digest` killed a worker (`status` a wait status or kTimedOut);
    /// returns its crashes so far.
    int add_crash(std::uint64_t digest, std::int32_t status) const noexcept;
    /// Workers the message with `digest` killed, and how the last one died (0: none).
    int crashes(std::uint64_t digest, std::int32_t& last_status) const noexcept;

private:
    pod_region(int fd, void* base, std::size_t size, std::size_t processes, std::size_t routes);

    int fd_;
    void* base_;
    std::size_t size_;
    std::size_t processes_;
    std::size_t routes_;
};

}  // namespace routemq::detail
