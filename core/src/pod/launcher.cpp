#include "pod/launcher.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "pod/protocol.hpp"
#include "runtime/host.hpp"

namespace routemq::detail {

process_launcher::process_launcher(worker_invocation invocation, int region_fd)
    : invocation_(std::move(invocation)), region_fd_(region_fd) {}

process_launcher::~process_launcher() {
    for (const auto& [slot, fd] : handover_) {
        ::close(fd);
    }
}

pid_t process_launcher::launch(int slot, int handover_fd) {
    // The manager has threads (Paho, spdlog) by now, so the child may only exec: everything it
    // needs is built before fork, and between fork and exec it makes only async-signal-safe calls.
    auto args = invocation_.argv(slot, handover_fd >= 0);
    const int region_fd = region_fd_;
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        // The worker gets kManagerGoneSignal when the manager dies, even by SIGKILL: it leaves
        // its session for a replacement manager. If the manager is already gone, there is
        // nothing to serve for.
        ::prctl(PR_SET_PDEATHSIG, kManagerGoneSignal);
        if (::getppid() != parent) {
            ::_exit(0);
        }
        // The region becomes kRegionFd and survives exec (dup2 clears close-on-exec), a
        // successor's handover socket kHandoverFd; the manager's broker and HTTP sockets are not
        // the worker's business.
        if (handover_fd == kRegionFd && (handover_fd = ::dup(handover_fd)) < 0) {
            ::_exit(127);  // (never in practice: the region is made first and holds the low number)
        }
        if (region_fd == kRegionFd ? ::fcntl(region_fd, F_SETFD, 0) != 0
                                   : ::dup2(region_fd, kRegionFd) < 0) {
            ::_exit(127);
        }
        if (handover_fd >= 0 && ::dup2(handover_fd, kHandoverFd) < 0) {
            ::_exit(127);
        }
        ::close_range(handover_fd >= 0 ? kHandoverFd + 1 : kRegionFd + 1, ~0U, 0);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    if (pid < 0) {
        spdlog::error("cannot start process {}: fork failed: {}", process_name(slot),
                      std::strerror(errno));
    }
    return pid;
}

pid_t process_launcher::spawn(int slot) {
    return launch(slot, -1);
}

pid_t process_launcher::spawn_successor(int slot) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        spdlog::error("cannot make a handover socket for {}: {}", process_name(slot),
                      std::strerror(errno));
        return -1;
    }
    const pid_t pid = launch(slot, pair[0]);
    ::close(pair[0]);
    if (pid < 0) {
        ::close(pair[1]);
        return -1;
    }
    ::fcntl(pair[1], F_SETFL, ::fcntl(pair[1], F_GETFL) | O_NONBLOCK);
    handover_[slot] = pair[1];
    return pid;
}

bool process_launcher::successor_ready(int slot) {
    const auto it = handover_.find(slot);
    char byte = 0;
    return it != handover_.end() && ::read(it->second, &byte, 1) == 1 && byte == kReadyByte;
}

bool process_launcher::let_successor_go(int slot) {
    const auto it = handover_.find(slot);
    if (it == handover_.end()) {
        return false;
    }
    const bool told = ::write(it->second, &kGoByte, 1) == 1;
    ::close(it->second);
    handover_.erase(it);
    return told;
}

void process_launcher::drop_successor(int slot, pid_t pid) {
    if (const auto it = handover_.find(slot); it != handover_.end()) {
        ::close(it->second);
        handover_.erase(it);
    }
    if (pid > 0) {
        ::kill(pid, kStopSignal);
        if (::waitpid(pid, nullptr, 0) != pid) {
            ::kill(pid, SIGKILL);
        }
    }
}

void process_launcher::signal(pid_t pid, int sig) {
    ::kill(pid, sig);
}

std::optional<int> process_launcher::exited(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
        return status;
    }
    return std::nullopt;
}

void process_launcher::wait(pid_t pid) {
    ::waitpid(pid, nullptr, 0);
}

std::uint64_t process_launcher::rss_mib(pid_t pid) {
    return rss_kib(pid) / 1024;
}

}  // namespace routemq::detail
