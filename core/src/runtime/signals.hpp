#pragma once

#include <chrono>
#include <csignal>

namespace routemq::detail {

/// What a worker receives when its manager dies (PR_SET_PDEATHSIG), even by SIGKILL. Unlike
/// SIGTERM it is not a graceful stop: the worker keeps its subscriptions and its session, so a
/// replacement manager with the same instance name receives what the broker queued meanwhile.
inline constexpr int kManagerGoneSignal = SIGUSR1;

/// Blocks SIGINT, SIGTERM and kManagerGoneSignal in the calling thread; call before any thread
/// starts so that every thread inherits the mask and only wait_for_stop_signal sees them.
void block_stop_signals();

/// Waits up to `timeout` for SIGINT, SIGTERM or kManagerGoneSignal; returns the signal, or 0
/// when none came.
int wait_for_stop_signal(std::chrono::milliseconds timeout);

}  // namespace routemq::detail
