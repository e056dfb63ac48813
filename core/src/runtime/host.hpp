#pragma once

#include <string>

namespace routemq::detail {

/// This machine's host name (the pod name under Kubernetes), or `localhost` when it has none.
std::string host_name();

}  // namespace routemq::detail
