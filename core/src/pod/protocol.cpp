#include "pod/protocol.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstring>

#include "pod/pod_region.hpp"
#include "runtime/host.hpp"

namespace routemq::detail {

bool death::abnormal() const noexcept {
    return timed_out || WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
}

std::int32_t death::recorded() const noexcept {
    return timed_out ? kTimedOut : status;
}

std::string death::describe() const {
    return describe_recorded(recorded());
}

bool exited_with(int wait_status, exit_status code) noexcept {
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == static_cast<int>(code);
}

std::string describe_recorded(std::int32_t recorded) {
    if (recorded == kTimedOut) {
        return "killed for running past its timeout";
    }
    if (WIFSIGNALED(recorded)) {
        const int sig = WTERMSIG(recorded);
        return fmt::format("killed by signal {} ({})", sig, strsignal(sig));
    }
    if (exited_with(recorded, exit_status::unconfirmed)) {
        return fmt::format(
            "exited with status {} (the broker did not confirm what its message produced)",
            WEXITSTATUS(recorded));
    }
    return fmt::format("exited with status {}", WEXITSTATUS(recorded));
}

const char* state_name(slot_state s) noexcept {
    switch (s) {
        case slot_state::none:
            return "none";
        case slot_state::unsupervised:
            return "unsupervised";
        case slot_state::spare:
            return "spare";
        case slot_state::starting:
            return "starting";
        case slot_state::serving:
            return "serving";
        case slot_state::replacing:
            return "replacing";
        case slot_state::handing_over:
            return "handing over";
        case slot_state::to_retire:
            return "to retire";
        case slot_state::retiring:
            return "retiring";
        case slot_state::backing_off:
            return "backing off";
        case slot_state::stopping:
            return "stopping";
        case slot_state::stopped:
            return "stopped";
    }
    return "?";
}

bool counts_for_readiness(slot_state s) noexcept {
    switch (s) {
        case slot_state::unsupervised:
        case slot_state::starting:
        case slot_state::serving:
        case slot_state::replacing:
        case slot_state::handing_over:
        case slot_state::backing_off:
            return true;
        default:
            return false;
    }
}

leaving how_a_worker_leaves(int signal, slot_state state, bool keep_session_on_stop) noexcept {
    if (signal == kManagerGoneSignal) {
        // Unsupervised now: it leaves its subscriptions and session for the replacement
        // manager's process in its slot, which receives what the broker queued meanwhile.
        return {.orphaned = true};
    }
    if (state == slot_state::handing_over ||
        (state == slot_state::unsupervised && signal == kHandOverSignal)) {
        return {};  // the successor takes the session over
    }
    if (state == slot_state::retiring ||
        (state == slot_state::unsupervised && signal == retire_signal())) {
        // Removed by scaling: nothing may wait in a session no process will serve, whatever
        // WORKER_KEEP_SESSION_ON_STOP says.
        return {.unsubscribe = true, .end_session = true};
    }
    // A stop. WORKER_KEEP_SESSION_ON_STOP: a stop that a restart with the same name follows (a
    // lone replica, a StatefulSet pod) leaves nothing ungrouped.
    if (keep_session_on_stop) {
        return {};
    }
    return {.unsubscribe = true, .end_session = true};
}

std::string process_name(std::size_t slot) {
    return slot == 0 ? std::string("main") : fmt::format("w{}", slot);
}

std::string pod_id(const mqtt_settings& mqtt) {
    return fmt::format("{}-{}", mqtt.client_id,
                       mqtt.instance_name.empty() ? host_name() : mqtt.instance_name);
}

std::string incoming_client_id(const mqtt_settings& mqtt, const std::string& process) {
    return fmt::format("{}-{}", pod_id(mqtt), process);
}

std::string outgoing_client_id(const mqtt_settings& mqtt, const std::string& process) {
    return incoming_client_id(mqtt, process) + "-out";
}

std::string broker_uri(const mqtt_settings& mqtt, bool tls) {
    const bool ipv6 = mqtt.broker.find(':') != std::string::npos;
    return fmt::format("{}://{}{}{}:{}", tls ? "ssl" : "tcp", ipv6 ? "[" : "", mqtt.broker,
                       ipv6 ? "]" : "", mqtt.port);
}

}  // namespace routemq::detail
