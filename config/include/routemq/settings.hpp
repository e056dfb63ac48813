#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace routemq {

/// Every setting of a RouteMQ process, typed. Defaults live in the variable table
/// (settings_table()), not here, so there is one place to read them.
struct settings {
    std::string mqtt_broker;
    int mqtt_port = 0;
    std::string mqtt_username;
    std::string mqtt_password;
    std::string mqtt_client_id;
    std::string mqtt_group_name;
    /// 5 or 4 (MQTT 3.1.1).
    int mqtt_protocol = 5;
    int mqtt_keepalive = 0;
    int mqtt_reconnect_max_seconds = 0;
    bool mqtt_tls = false;
    std::string mqtt_tls_ca_file;
    std::string mqtt_tls_cert_file;
    std::string mqtt_tls_key_file;
    bool mqtt_tls_verify = true;
    std::string log_level;
    /// "text" or "json".
    std::string log_format;
    int mqtt_session_expiry = 0;
    /// Name of this instance in client ids; empty: the host name.
    std::string instance_name;
    /// 0: one process per required worker (the plan); N > 0: N workers serving every shared route.
    int worker_count = 0;
    int worker_restart_backoff_ms = 0;
    int worker_restart_backoff_max_ms = 0;
    int shutdown_grace_seconds = 0;
    /// The health and metrics HTTP endpoint of the main process.
    bool http_enabled = true;
    std::string http_host;
    int http_port = 0;
};

/// One environment variable: name, default, what is allowed, and a one-line description.
struct setting_variable {
    std::string_view name;
    std::string_view default_value;
    std::string_view allowed;
    std::string_view description;
    /// Parses and validates `value` into `out`; throws routemq::config_error naming the variable.
    void (*apply)(settings& out, const setting_variable& self, const std::string& value);
};

/// The table of every variable, in documentation order.
const std::vector<setting_variable>& settings_table();

/// Variables by name, as read from a `.env` file or the environment.
using env_map = std::map<std::string, std::string, std::less<>>;

/// Reads a `.env` file: `NAME=value` lines, optional `export `, `#` comments, blank lines, and
/// values in single or double quotes. Throws routemq::config_error naming the file and line.
env_map read_env_file(const std::string& path);

/// The variables of the table that are set in the process environment.
env_map read_process_environment();

/// Builds settings from the table's defaults, then `file`, then `environment` (which wins).
/// Throws routemq::config_error with one line naming the variable, the value and what is allowed.
settings load_settings(const env_map& file, const env_map& environment);

/// The configuration table as markdown (used by docs and `routemq settings`).
std::string settings_markdown();

}  // namespace routemq
