#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pod/pod_plan.hpp"
#include "pod/pod_region.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"

namespace routemq::detail {

/// The manager's control socket: an abstract unix socket (no file, so it works on a read-only
/// root file system and vanishes with the manager), one per instance on a host or pod:
/// `routemq-ctl/<MQTT_CLIENT_ID>-<instance>`.
std::string control_socket_name(const mqtt_settings& mqtt);

/// Why the control socket refuses a client running as `peer` (its uid, from SO_PEERCRED) when the
/// manager runs as `owner` (its effective uid), or "" when it serves it: it serves root and the
/// manager's own user only, since anyone who can reach the socket could otherwise scale, recycle
/// and reload the workers of a manager run by another user.
std::string peer_refusal(uid_t peer, uid_t owner);

/// Why `routemq ctl`, running as `me`, must not believe the process holding the control socket,
/// running as `holder`, or "" when it may: only root and `me` are believed, since the socket is
/// abstract and any local user could bind its name before the manager does.
std::string holder_distrust(uid_t holder, uid_t me);

/// Answers one-line commands on the control socket, polled from the manager's main loop (no
/// thread of its own, so the answer is read from the same state the loop keeps).
class control_server {
public:
    /// Turns a command line into the answer's text (JSON).
    using answerer = std::function<std::string(std::string_view command)>;

    /// Listens on `name`; when another process already does (a second manager with the same
    /// client ids on this host), logs it and serves nothing.
    control_server(std::string name, answerer answer);
    ~control_server();
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    /// Accepts waiting connections and answers every complete command line; never blocks. A
    /// client that peer_refusal() refuses gets that reason as `{"error": ...}` and is closed.
    void poll();

private:
    struct connection {
        int fd;
        std::string in;
        std::chrono::steady_clock::time_point opened;
    };
    std::string name_;
    answerer answer_;
    int listener_ = -1;
    std::vector<connection> open_;
};

/// Sends `command` to the manager listening on `name` and returns its answer; throws
/// routemq::error when no manager listens there or it does not answer within `timeout`.
std::string control_request(const std::string& name, const std::string& command,
                            std::chrono::milliseconds timeout);

/// `ctl workers`: every process of `plan` as JSON (its name, worker, lane, handler slot, pid,
/// state, routes, handled, the message in hand and its age), from the pod region.
std::string workers_report(const pod_region& metrics, const pod_plan& plan, const router& r);

/// The manager's error in an answer (`{"error": ...}`), or "".
std::string control_error(const std::string& answer);

/// The report as the table `routemq ctl workers` prints.
std::string format_workers_report(const std::string& json_text);

}  // namespace routemq::detail
