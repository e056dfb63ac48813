#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "pod/protocol.hpp"

namespace routemq::detail {

/// The life of one process slot of the pod as a state machine: step() takes an event and the
/// time and returns the actions to carry out, making no system call. The supervisor turns what
/// it reaps and reads in the pod region into events, and carries the actions out through a
/// launcher; docs/internals.md has the table of transitions (checked against this code by a
/// test).

using slot_clock = std::chrono::steady_clock;

/// How a slot restarts its process.
struct restart_policy {
    /// The first delay after a death; doubled for each quick death in a row, up to the maximum.
    std::chrono::milliseconds backoff{500};
    std::chrono::milliseconds backoff_max{30000};
    /// A process that lived this long before dying starts the backoff over.
    std::chrono::milliseconds healthy_uptime{10000};
};

/// What happens to a slot.
enum class slot_event_kind {
    /// The manager starts: the slot's process starts, or a spare's once to end what a previous
    /// run left in its session (then it goes).
    start,
    /// The launcher started the process (`pid` > 0) or could not (`pid` <= 0).
    spawned,
    /// The launcher started the successor (`pid` > 0) or could not.
    successor_spawned,
    /// The process connected to the broker (the region says so).
    connected,
    /// The process exited (`status`, a wait status); `quarantined`: the message it held has now
    /// killed enough processes to be dead-lettered when it comes back (the poison rule).
    exited,
    /// The successor says it is built and waits for its turn.
    successor_ready,
    /// The successor exited (`status`) before taking over.
    successor_exited,
    /// Replace the process without a gap: over a recycling limit, `routemq ctl recycle`, reload.
    replace,
    /// Its handler has run past the route's timeout (the watchdog).
    past_timeout,
    /// Scaling up: a spare slot serves again.
    activate,
    /// Scaling down: the slot's process ends its session and goes.
    retire,
    /// Time passes: a restart whose delay is over happens.
    tick,
    /// The pod stops.
    stop,
    /// The pod's stop grace is over and the process is still there.
    stop_overdue,
};

struct slot_event {
    slot_event_kind kind = slot_event_kind::tick;
    /// spawned, successor_spawned.
    pid_t pid = 0;
    /// exited, successor_exited.
    int status = 0;
    /// exited.
    bool quarantined = false;
};

/// A signal the manager sends (protocol.hpp has the numbers).
enum class order {
    /// SIGTERM: stop with the pod.
    stop,
    /// kHandOverSignal.
    hand_over,
    /// retire_signal().
    retire,
    /// SIGKILL.
    kill,
};

/// What the supervisor does for a slot.
enum class slot_action_kind {
    /// Start the slot's process; report `spawned`. `restart`: it replaces one that died.
    spawn,
    /// Start a successor that waits on its handover socket; report `successor_spawned`.
    spawn_successor,
    /// Send `signal` to the process.
    signal,
    /// The old process has gone: tell the successor to connect (kGoByte); it is the slot's
    /// process now.
    let_successor_go,
    /// The successor is not needed: close its handover socket (EOF: it exits), stop it and wait
    /// for it.
    drop_successor,
    /// Forget the successor that exited: close its handover socket.
    forget_successor,
};

struct slot_action {
    slot_action_kind kind = slot_action_kind::spawn;
    order signal = order::stop;
    bool restart = false;

    bool operator==(const slot_action&) const = default;
};

/// One process slot: its state and what the transitions need to know.
struct process_slot {
    slot_state state = slot_state::spare;
    /// The process in the slot, or 0.
    pid_t pid = 0;
    /// Its successor while replacing (0: none).
    pid_t successor = 0;
    /// A spare slot of the plan: starts spare (and is swept once at start).
    bool planned_spare = false;
    /// The watchdog killed the process: its exit is a death by timeout.
    bool timed_out = false;
    /// The process was told to hand its session over: it keeps the session, whatever it is
    /// told next, so it cannot be the one to end it.
    bool keeps_session = false;
    /// Deaths in a row that came quickly: the backoff doubles with each.
    int quick_deaths = 0;
    slot_clock::time_point started{};
    slot_clock::time_point restart_at{};
    slot_clock::time_point handover_started{};

    /// How its current process died, given a wait status.
    struct death death_of(int status) const noexcept {
        return {status, timed_out};
    }
};

struct step_result {
    std::vector<slot_action> actions;
    /// Why a `replace` cannot happen now (empty: it does, or the event was not a replace).
    std::string refused;
};

/// The transition of `slot` on `e` at `now`: updates the slot, returns what to do.
step_result step(process_slot& slot, const slot_event& e, slot_clock::time_point now,
                 const restart_policy& policy);

/// A slot in `state` has a process that serves (or is about to) and is counted as one of its
/// worker's serving processes by scaling.
bool in_service(slot_state state) noexcept;

}  // namespace routemq::detail
