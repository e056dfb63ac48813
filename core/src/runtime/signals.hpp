#pragma once

#include <chrono>
#include <csignal>

#include "pod/protocol.hpp"

namespace routemq::detail {

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
