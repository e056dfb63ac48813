#pragma once

#include <string>
#include <vector>

#include "pod/pod_region.hpp"

namespace routemq::detail {

/// The whole pod in the Prometheus text exposition format (version 0.0.4): message counters and
/// handler duration histograms per route pattern (summed over every process; routes with the same
/// pattern share a series), connection state per process, and the worker pool. `route_labels[i]`
/// names route i (its pattern).
std::string render_prometheus(const pod_region& m, const std::vector<std::string>& route_labels);

/// The content type of render_prometheus's output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace routemq::detail
