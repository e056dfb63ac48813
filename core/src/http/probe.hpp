#pragma once

#include <string>

#include "routemq/settings.hpp"

namespace routemq::detail {

/// GETs `path` from this machine's endpoint (HTTP_HOST, or 127.0.0.1 when it listens on every
/// address) and returns true on 200. For `routemq healthcheck`, the image's HEALTHCHECK: the
/// runtime image then needs no HTTP client of its own.
bool probe_endpoint(const settings& s, const std::string& path, std::string& answer);

}  // namespace routemq::detail
