#include "control/control.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "pod/protocol.hpp"
#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

using clock = std::chrono::steady_clock;

/// Longest command line a client may send, and how long it may take to send it.
constexpr std::size_t kMaxCommand = 1024;
constexpr auto kCommandWait = std::chrono::seconds(1);

/// The abstract address for `name` (sun_path starts with a NUL byte) and its length.
socklen_t abstract_address(const std::string& name, sockaddr_un& address) {
    std::memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    const auto length = std::min(name.size(), sizeof(address.sun_path) - 1);
    std::memcpy(address.sun_path + 1, name.data(), length);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + length);
}

/// Writes all of `text`, giving up on a client that does not read.
void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 1000) <= 0) {
                return;
            }
        } else {
            return;
        }
    }
}

/// Who is at the other end of the unix socket `fd` (SO_PEERCRED); nullopt when the kernel does
/// not say.
std::optional<ucred> peer_of(int fd) {
    ucred peer{};
    socklen_t size = sizeof(peer);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
        return std::nullopt;
    }
    return peer;
}

/// The one rule of both ends of the control socket: root, or the same user.
bool root_or_same_user(uid_t other, uid_t self) noexcept {
    return other == 0 || other == self;
}

}  // namespace

std::string peer_refusal(uid_t peer, uid_t owner) {
    if (root_or_same_user(peer, owner)) {
        return "";
    }
    return fmt::format(
        "refused: uid {} is neither root nor the manager's user (uid {}); routemq ctl serves only "
        "those",
        peer, owner);
}

std::string holder_distrust(uid_t holder, uid_t me) {
    if (root_or_same_user(holder, me)) {
        return "";
    }
    return fmt::format(
        "the control socket is held by uid {}, neither root nor you (uid {}): not a manager "
        "routemq ctl trusts (run it as the manager's user)",
        holder, me);
}

std::string control_socket_name(const mqtt_settings& mqtt) {
    return "routemq-ctl/" + pod_id(mqtt);
}

control_server::control_server(std::string name, answerer answer)
    : name_(std::move(name)), answer_(std::move(answer)) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    const auto length = abstract_address(name_, address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        ::listen(fd, 16) != 0) {
        const int err = errno;
        if (fd >= 0) {
            ::close(fd);
        }
        spdlog::warn(
            "no control socket '@{}': {} (another manager with the same client ids on "
            "this host?); 'routemq ctl' will not reach this one",
            name_, std::strerror(err));
        return;
    }
    listener_ = fd;
}

control_server::~control_server() {
    for (const auto& c : open_) {
        ::close(c.fd);
    }
    if (listener_ >= 0) {
        ::close(listener_);
    }
}

void control_server::poll() {
    if (listener_ < 0) {
        return;
    }
    while (true) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            break;
        }
        const auto peer = peer_of(fd);
        const auto refusal =
            peer ? peer_refusal(peer->uid, ::geteuid())
                 : fmt::format("refused: the manager cannot tell who is asking ({})",
                               std::strerror(errno));
        if (!refusal.empty()) {
            spdlog::warn("control socket '@{}': {} (pid {})", name_, refusal, peer ? peer->pid : 0);
            write_all(fd, nlohmann::json{{"error", refusal}}.dump() + "\n");
            ::close(fd);
            continue;
        }
        open_.push_back({fd, {}, clock::now()});
    }
    for (auto it = open_.begin(); it != open_.end();) {
        char buffer[256];
        ssize_t n = 0;
        while ((n = ::recv(it->fd, buffer, sizeof(buffer), 0)) > 0 && it->in.size() < kMaxCommand) {
            it->in.append(buffer, static_cast<std::size_t>(n));
        }
        const auto newline = it->in.find('\n');
        const bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
        if (newline != std::string::npos) {
            std::string answer;
            try {
                answer = answer_(std::string_view(it->in).substr(0, newline));
            } catch (const std::exception& e) {
                answer = nlohmann::json{{"error", e.what()}}.dump();
            }
            write_all(it->fd, answer + "\n");
        } else if (!closed && it->in.size() < kMaxCommand &&
                   clock::now() - it->opened < kCommandWait) {
            ++it;
            continue;  // the command is still coming
        }
        ::close(it->fd);
        it = open_.erase(it);
    }
}

std::string control_request(const std::string& name, const std::string& command,
                            std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw error(fmt::format("cannot make a socket: {}", std::strerror(errno)));
    }
    sockaddr_un address{};
    const auto length = abstract_address(name, address);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
        const int err = errno;
        ::close(fd);
        throw error(fmt::format(
            "no manager answers on '@{}' ({}): is 'routemq --workers' running on this host (or "
            "in this pod) with the same MQTT_CLIENT_ID and INSTANCE_NAME?",
            name, std::strerror(err)));
    }
    const auto holder = peer_of(fd);
    const auto distrust = holder ? holder_distrust(holder->uid, ::geteuid())
                                 : std::string("cannot tell who holds the control socket");
    if (!distrust.empty()) {
        ::close(fd);
        throw error(fmt::format("'@{}': {} (pid {})", name, distrust, holder ? holder->pid : 0));
    }
    write_all(fd, command + "\n");
    std::string answer;
    const auto deadline = clock::now() + timeout;
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        pollfd p{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
            ::close(fd);
            throw error(fmt::format("the manager on '@{}' did not answer within {} ms", name,
                                    timeout.count()));
        }
        char buffer[4096];
        const auto n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
            break;
        }
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    while (!answer.empty() && answer.back() == '\n') {
        answer.pop_back();
    }
    return answer;
}

std::string workers_report(const pod_region& metrics, const pod_plan& plan, const router& r) {
    auto processes = nlohmann::json::array();
    for (const auto& w : plan.workers) {
        for (const auto& lane : w.lanes) {
            for (const auto& p : lane.processes) {
                const auto slot = static_cast<std::size_t>(p.slot);
                const auto& cells = metrics.process(slot);
                const int pid = cells.pid.load();
                auto routes = nlohmann::json::array();
                for (auto index : p.routes) {
                    routes.push_back(r.routes()[index].pattern.text());
                }
                nlohmann::json current = nullptr;
                const auto work = metrics.work(slot);
                if (pid != 0 && work.route != 0) {
                    current = {
                        {"route", r.routes()[work.route - 1].pattern.text()},
                        {"topic", work.topic},
                        {"age_ms", std::max<std::int64_t>(0, region_clock_ms() - work.started_ms)}};
                }
                processes.push_back({{"process", process_name(slot)},
                                     {"worker", w.number},
                                     {"lane", priority_name(lane.priority)},
                                     {"handler_slot", p.handler_slot},
                                     {"pid", pid},
                                     {"state", state_name(cells.state.load())},
                                     {"handled", metrics.handled(slot)},
                                     {"busy", cells.busy_ppm.load() / 1e6},
                                     {"pool", r.routes()[p.routes.front()].options.pool},
                                     {"routes", routes},
                                     {"current", current}});
            }
        }
    }
    // Per route served: how busy its workers are and how many serve it (the autoscaler's view).
    auto routes = nlohmann::json::array();
    for (std::size_t i = 0; i < r.routes().size(); ++i) {
        const auto& scaling = metrics.scaling(i);
        if (scaling.max_workers.load() == 0) {
            continue;  // not in this instance's pools
        }
        routes.push_back({{"route", r.routes()[i].pattern.text()},
                          {"busy", scaling.busy_ppm.load() / 1e6},
                          {"workers", scaling.workers.load()},
                          {"max_workers", scaling.max_workers.load()}});
    }
    const auto& manager = metrics.manager();
    return nlohmann::json{
        {"pid", ::getpid()},
        {"workers_planned", manager.workers_planned.load()},
        {"workers_running", manager.workers_running.load()},
        {"processes_planned", manager.processes_planned.load()},
        {"processes_running", manager.processes_running.load()},
        {"restarts", manager.worker_restarts.load()},
        {"heartbeat_age_ms",
         std::max<std::int64_t>(0, region_clock_ms() - manager.heartbeat_ms.load())},
        {"processes", processes},
        {"routes", routes}}
        .dump();
}

std::string control_error(const std::string& answer) {
    const auto parsed = nlohmann::json::parse(answer, nullptr, false);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
        return parsed["error"].get<std::string>();
    }
    return parsed.is_discarded() ? "the manager's answer is not JSON: " + answer : "";
}

std::string format_workers_report(const std::string& json_text) {
    const auto report = nlohmann::json::parse(json_text);
    std::string out = fmt::format(
        "manager pid {}: {} of {} workers running ({} of {} processes), {} restarts\n",
        report.at("pid").get<int>(), report.at("workers_running").get<int>(),
        report.at("workers_planned").get<int>(), report.at("processes_running").get<int>(),
        report.at("processes_planned").get<int>(), report.at("restarts").get<std::uint64_t>());
    out += fmt::format("{:<7} {:>6} {:<8} {:<12} {:>8} {:>5}  {:<40} {}\n", "PROCESS", "WORKER",
                       "PID", "STATE", "HANDLED", "BUSY", "HANDLING NOW", "ROUTES");
    for (const auto& w : report.at("processes")) {
        std::string now = "-";
        if (!w.at("current").is_null()) {
            now = fmt::format("{} ({} ms)", w["current"].at("topic").get<std::string>(),
                              w["current"].at("age_ms").get<std::int64_t>());
        }
        std::string routes;
        for (const auto& route : w.at("routes")) {
            routes += (routes.empty() ? "" : ", ") + route.get<std::string>();
        }
        out += fmt::format("{:<7} {:>6} {:<8} {:<12} {:>8} {:>4.0f}%  {:<40} {}\n",
                           w.at("process").get<std::string>(), w.at("worker").get<int>(),
                           w.at("pid").get<int>(), w.at("state").get<std::string>(),
                           w.at("handled").get<std::uint64_t>(), w.at("busy").get<double>() * 100,
                           now, routes);
    }
    if (report.contains("routes") && !report["routes"].empty()) {
        out += fmt::format("\n{:<40} {:>7} {:>5}\n", "ROUTE", "WORKERS", "BUSY");
        for (const auto& rt : report["routes"]) {
            out += fmt::format(
                "{:<40} {:>7} {:>4.0f}%\n", rt.at("route").get<std::string>(),
                fmt::format("{}/{}", rt.at("workers").get<int>(), rt.at("max_workers").get<int>()),
                rt.at("busy").get<double>() * 100);
        }
    }
    return out;
}

}  // namespace routemq::detail
