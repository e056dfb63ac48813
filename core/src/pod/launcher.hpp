#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>

#include "pod/worker_invocation.hpp"

namespace routemq::detail {

/// The system calls of supervision, behind an interface: fork/exec in production
/// (process_launcher), a recording fake in the supervisor's unit tests.
class launcher {
public:
    virtual ~launcher() = default;

    /// Starts the process of `slot`; its pid, or -1.
    virtual pid_t spawn(int slot) = 0;
    /// Starts a successor for `slot` that waits on its handover socket before it connects; its
    /// pid, or -1.
    virtual pid_t spawn_successor(int slot) = 0;
    /// True once `slot`'s successor has said it is ready (kReadyByte); does not wait.
    virtual bool successor_ready(int slot) = 0;
    /// Tells `slot`'s successor to connect (kGoByte) and closes its socket; false when it could
    /// not be told.
    virtual bool let_successor_go(int slot) = 0;
    /// Closes `slot`'s handover socket (EOF: a successor still waiting exits); with `pid` > 0,
    /// stops that successor and waits for it.
    virtual void drop_successor(int slot, pid_t pid) = 0;
    virtual void signal(pid_t pid, int sig) = 0;
    /// The wait status of `pid` if it has exited; does not wait.
    virtual std::optional<int> exited(pid_t pid) = 0;
    /// Waits for `pid` (after SIGKILL).
    virtual void wait(pid_t pid) = 0;
    /// Resident memory of `pid` in MiB (0: unknown).
    virtual std::uint64_t rss_mib(pid_t pid) = 0;
};

/// fork and exec of the worker command line (worker_invocation), handing each process the pod
/// region as kRegionFd and a successor its handover socket as kHandoverFd.
class process_launcher final : public launcher {
public:
    process_launcher(worker_invocation invocation, int region_fd);
    ~process_launcher() override;
    process_launcher(const process_launcher&) = delete;
    process_launcher& operator=(const process_launcher&) = delete;

    pid_t spawn(int slot) override;
    pid_t spawn_successor(int slot) override;
    bool successor_ready(int slot) override;
    bool let_successor_go(int slot) override;
    void drop_successor(int slot, pid_t pid) override;
    void signal(pid_t pid, int sig) override;
    std::optional<int> exited(pid_t pid) override;
    void wait(pid_t pid) override;
    std::uint64_t rss_mib(pid_t pid) override;

private:
    pid_t launch(int slot, int handover_fd);

    worker_invocation invocation_;
    int region_fd_;
    /// The manager's end of each successor's handover socket, by slot.
    std::map<int, int> handover_;
};

}  // namespace routemq::detail
