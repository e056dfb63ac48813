#pragma once

#include <chrono>
#include <csignal>

namespace routemq::detail {

/// What a worker receives when its manager dies (PR_SET_PDEATHSIG), even by SIGKILL. Unlike
/// SIGTERM it is not a graceful stop: the worker keeps its subscriptions and its session, so a
/// replacement manager with the same instance name receives what the broker queued meanwhile.
inline constexpr int kManagerGoneSignal = SIGUSR1;

/// What the manager sends a worker it replaces (recycling): like kManagerGoneSignal, the worker
/// finishes the message in hand and leaves its subscriptions and session to the replacement,
/// which is already started and connects with the same client id once this one has gone.
inline constexpr int kHandOverSignal = SIGUSR2;

/// What an operator sends the manager to replace every worker, one by one, with the settings and
/// the binary now on disk (`routemq --workers` only).
inline constexpr int kReloadSignal = SIGHUP;

/// What the manager sends a worker it removes (autoscaling, `routemq ctl scale`): whatever
/// WORKER_KEEP_SESSION_ON_STOP says, the worker unsubscribes, handles what the broker had queued
/// for it, and ends its session, so nothing waits in a session no process serves.
inline int retire_signal() noexcept {
    return SIGRTMIN;
}

/// Blocks SIGINT, SIGTERM, kManagerGoneSignal, kHandOverSignal, kReloadSignal and
/// retire_signal() in the calling thread; call
/// before any thread starts so that every thread inherits the mask and only wait_for_stop_signal
/// sees them.
void block_stop_signals();

/// Waits up to `timeout` for one of the signals above; returns the signal, or 0
/// when none came.
int wait_for_stop_signal(std::chrono::milliseconds timeout);

/// True (and taken) when `sig`, one of the signals above, is pending; does not wait.
bool take_pending_signal(int sig);

}  // namespace routemq::detail
