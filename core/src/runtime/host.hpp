#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace routemq::detail {

/// This machine's host name (the pod name under Kubernetes), or `localhost` when it has none.
std::string host_name();

/// The wall clock in unix milliseconds (dead letters' ids, the dashboard's times).
std::int64_t unix_time_ms() noexcept;

/// The resident memory of process `pid` in KiB (VmRSS), 0 when it is gone.
std::uint64_t rss_kib(pid_t pid);

}  // namespace routemq::detail
