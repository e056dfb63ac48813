#pragma once

#include <csignal>
#include <cstdint>
#include <string>

#include "routemq/cli.hpp"
#include "routemq/settings.hpp"

/// What the manager and its workers agree on, in one place: the descriptors a worker inherits,
/// the signals between them, the bytes of a handover, what an exit status means, how a process
/// names itself to the broker and where the broker is. The worker's command line is the other
/// half (worker_invocation.hpp).
namespace routemq::detail {

// ---- Descriptors a worker inherits ----

/// The pod region (pod_region.hpp), mapped by every process of the pod.
inline constexpr int kRegionFd = 3;
/// A successor's end of its handover socket: it writes kReadyByte, then waits for kGoByte (EOF:
/// it is no longer needed and exits).
inline constexpr int kHandoverFd = 4;

// ---- The handover of a process slot (recycling, reload) ----

/// Successor -> manager: built and waiting; only now is the old process asked to go.
inline constexpr char kReadyByte = 'r';
/// Manager -> successor: the old process has left the session; connect.
inline constexpr char kGoByte = 'g';

// ---- Signals ----

/// What a worker receives when its manager dies (PR_SET_PDEATHSIG), even by SIGKILL. Unlike
/// SIGTERM it is not a graceful stop: the worker keeps its subscriptions and its session, so a
/// replacement manager with the same instance name receives what the broker queued meanwhile.
inline constexpr int kManagerGoneSignal = SIGUSR1;

/// What the manager sends every process when the pod stops: unsubscribe and end the session,
/// unless WORKER_KEEP_SESSION_ON_STOP (then keep it for the restart with the same name); a
/// successor that has not taken over just exits.
inline constexpr int kStopSignal = SIGTERM;

/// What the manager sends a process it replaces (recycling): like kManagerGoneSignal, the
/// process finishes the message in hand and leaves its subscriptions and session to its
/// successor, which is already started and connects with the same client id once it has gone.
inline constexpr int kHandOverSignal = SIGUSR2;

/// What an operator sends the manager to replace every process, one by one, with the settings
/// and the binary now on disk (`routemq --workers` only).
inline constexpr int kReloadSignal = SIGHUP;

/// What the manager sends a process it removes (autoscaling, `routemq ctl scale`): whatever
/// WORKER_KEEP_SESSION_ON_STOP says, it unsubscribes, handles what the broker had queued for it,
/// and ends its session, so nothing waits in a session no process serves.
inline int retire_signal() noexcept {
    return SIGRTMIN;
}

// ---- Exit statuses ----

/// How a worker ended: a wait status (waitpid), or killed by the manager for running a handler
/// past its timeout.
struct death {
    int status = 0;
    bool timed_out = false;

    /// Anything but a clean exit 0. Any abnormal death with a message in hand counts against
    /// that message (exit_status::unconfirmed too: a message whose results the broker never
    /// confirms would otherwise restart the worker forever).
    bool abnormal() const noexcept;
    /// `killed by signal 11 (Segmentation fault)`, `exited with status 3`, `killed for running
    /// past its timeout`.
    std::string describe() const;
    /// What the pod region's poison table keeps: the wait status, or kTimedOut.
    std::int32_t recorded() const noexcept;
};

/// A wait status meaning exit_status `code`.
bool exited_with(int wait_status, exit_status code) noexcept;

/// describe() of a status as recorded() stores it.
std::string describe_recorded(std::int32_t recorded);

// ---- The state of a process slot, kept in the pod region ----

/// Where a process slot is in its life (process_slot.hpp has the transitions). The manager
/// writes it in the slot's cell of the pod region; `routemq ctl workers`, `/readyz`, `/metrics`
/// and the worker itself read it there.
enum class slot_state : std::uint32_t {
    /// No process is planned here (the manager's own slot 0).
    none = 0,
    /// A process no manager supervises: `routemq` without --workers, or a worker started by hand.
    unsupervised,
    /// No process, none wanted: a spare worker's, or one removed by scaling.
    spare,
    /// Started, not yet connected to the broker.
    starting,
    /// Connected.
    serving,
    /// Serving while its successor starts (recycling, reload).
    replacing,
    /// Told to finish the message in hand and leave its session to the ready successor.
    handing_over,
    /// To be removed (scaling) once connected: only a connected process can end its session.
    to_retire,
    /// Told to unsubscribe, handle what its session holds, end the session and exit.
    retiring,
    /// Died; restarted in the same slot after a delay.
    backing_off,
    /// Told to stop with the pod.
    stopping,
    /// Gone with the pod.
    stopped,
};

/// Its name in `routemq ctl workers`, logs and docs.
const char* state_name(slot_state s) noexcept;

/// Readiness waits for a slot in this state to be connected and subscribed.
bool counts_for_readiness(slot_state s) noexcept;

/// How a worker leaves when a stop signal ends its serving.
struct leaving {
    /// Unsubscribe first, so the broker sends its share to the others.
    bool unsubscribe = false;
    /// End its session (clean start on the last connect); otherwise it is kept for the next
    /// process in the slot.
    bool end_session = false;
    /// The manager is gone: nobody watches its handler's time any more.
    bool orphaned = false;
};

/// The worker's exit rule: how it leaves on `signal`, its slot being in `state` (as the manager
/// wrote it before signalling). A dead manager cannot write: kManagerGoneSignal alone says so.
leaving how_a_worker_leaves(int signal, slot_state state, bool keep_session_on_stop) noexcept;

// ---- Names ----

/// The name of process slot `slot` in logs, metrics, `routemq ctl` and its client id: `main`
/// for the process that is not a worker (slot 0), `w<slot>` for the others.
std::string process_name(std::size_t slot);

/// `<MQTT_CLIENT_ID>-<INSTANCE_NAME, or the host name>`: what every client id of the pod and its
/// control socket start with.
std::string pod_id(const mqtt_settings& mqtt);

/// The client id of a process's incoming connection: `<pod_id>-<process name>`; its session
/// outlives the process and is taken over by the next one in the slot.
std::string incoming_client_id(const mqtt_settings& mqtt, const std::string& process);

/// The client id of a process's outgoing connection (results, replies, dead letters).
std::string outgoing_client_id(const mqtt_settings& mqtt, const std::string& process);

/// The broker's URI for Paho C: `tcp://host:port`, `ssl://` with TLS, and a bare IPv6 address
/// (the settings hold it without brackets) in brackets.
std::string broker_uri(const mqtt_settings& mqtt, bool tls);

}  // namespace routemq::detail
