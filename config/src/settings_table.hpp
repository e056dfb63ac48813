#pragma once

/// The framework's side of the settings: the table every variable is declared in once (its
/// default, what it allows, its description and parser), and what the command line prints and
/// warns from it. Applications read settings through routemq/settings.hpp.

#include <string>
#include <string_view>
#include <vector>

#include "routemq/settings.hpp"

namespace routemq {

/// One environment variable: name, default, what is allowed, and a one-line description.
struct setting_variable {
    std::string_view name;
    std::string_view default_value;
    std::string_view allowed;
    std::string_view description;
    /// Parses and validates `value` into `out`; throws routemq::config_error naming the variable.
    void (*apply)(settings& out, const setting_variable& self, const std::string& value);
    /// A secret (a password): no message ever shows its value.
    bool secret = false;
};

/// A name that goes into client ids, group names and pool names: 1-64 letters, digits, '-', '_'
/// or '.' (no wildcard, separator or space a broker or a shell would read).
bool is_plain_name(std::string_view name) noexcept;

/// The table of every variable, in documentation order.
const std::vector<setting_variable>& settings_table();

/// Startup warnings about settings that are valid but probably not meant: one line each for a
/// `.env` key that is not in the table (naming the closest known variable when one is close) and
/// for TLS without verification. `file` is what read_env_file returned from `file_name`.
std::vector<std::string> settings_warnings(const env_map& file, std::string_view file_name,
                                           const settings& s);

/// The variable of the table closest to `name` (case ignored, at most 2 edits), or "".
std::string_view closest_variable(std::string_view name);

/// The configuration table as markdown (used by docs and `routemq settings`).
std::string settings_markdown();

}  // namespace routemq
