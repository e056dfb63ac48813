#pragma once

#include <chrono>

namespace routemq::detail {

/// Blocks SIGINT and SIGTERM in the calling thread; call before any thread starts so that every
/// thread inherits the mask and only wait_for_stop_signal sees them.
void block_stop_signals();

/// Waits up to `timeout` for SIGINT or SIGTERM; returns the signal, or 0 when none came.
int wait_for_stop_signal(std::chrono::milliseconds timeout);

}  // namespace routemq::detail
