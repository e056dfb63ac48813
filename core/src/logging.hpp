#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace routemq::detail {

/// The formatter of one log line: text (`<time> <level> [<role>] <message>`, control characters
/// of the message escaped as `\n`, `\r`, `\t` or `\xNN`) or a JSON object (`format` "json").
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& role,
                                                      const std::string& format);

/// Sets up the process's logger: one line per event on stderr, tagged with `role` (`main`,
/// `w3`), as text or as JSON lines (`format` is "text" or "json"). Call it after any fork.
void setup_logging(const std::string& role, const std::string& level, const std::string& format);

}  // namespace routemq::detail
