#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "pod/pod_region.hpp"
#include "pod/supervisor.hpp"
#include "routemq/router.hpp"

namespace routemq::detail {

/// The language of `routemq ctl`, as the manager answers it: `workers` (the report), `scale ROUTE
/// N`, `recycle w<N>` and `reload`. Answers are JSON; a refusal is `{"error": ...}`.
/// `settings_problem` says why the settings on disk would not load (empty: they do), checked
/// before a reload.
std::string control_answer(std::string_view command, const pod_region& pod, const router& r,
                           supervisor& workers,
                           const std::function<std::string()>& settings_problem);

}  // namespace routemq::detail
