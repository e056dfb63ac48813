#pragma once

#include <string>

namespace routemq::detail {

/// Sets up the process's logger: one line per event on stderr, tagged with `role` (`main`,
/// `w3`), as text or as JSON lines (`format` is "text" or "json"). Call it after any fork.
void setup_logging(const std::string& role, const std::string& level, const std::string& format);

}  // namespace routemq::detail
