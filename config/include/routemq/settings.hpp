#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace routemq {

/// The MQTT protocol version spoken to the broker.
enum class mqtt_protocol {
    /// MQTT 3.1.1: no subscription identifiers, user properties or session expiry.
    v3_1_1,
    /// MQTT 5.
    v5,
};

/// TLS towards the broker (`MQTT_TLS*`).
struct tls_settings {
    bool enabled = false;
    /// CA certificates (PEM); empty: the system store.
    std::string ca_file;
    /// Client certificate and key for mutual TLS; both or neither.
    std::string cert_file;
    std::string key_file;
    /// Verify the broker's certificate and host name.
    bool verify = true;
};

/// The broker and how to talk to it (`MQTT_*`, `INSTANCE_NAME`).
struct mqtt_settings {
    std::string broker;
    int port = 0;
    std::string username;
    std::string password;
    /// Prefix of every client id: `<client_id>-<instance>-<role>`.
    std::string client_id;
    /// The shared subscription group: `$share/<group_name>/<filter>`.
    std::string group_name;
    mqtt_protocol protocol = mqtt_protocol::v5;
    std::chrono::seconds keepalive{0};
    /// Longest wait between reconnect attempts (they start at 100 ms and double).
    std::chrono::seconds reconnect_max{0};
    /// Maximum Packet Size sent in CONNECT (MQTT 5): the broker sends nothing bigger; 0: no limit.
    std::uint32_t max_packet_size = 0;
    /// Receive Maximum sent in CONNECT (MQTT 5): unacknowledged QoS 1/2 messages the broker sends
    /// one process (one handler slot) at most; the rest wait in its session at the broker.
    int receive_maximum = 0;
    /// How long the broker keeps a worker's session after it vanished (MQTT 5).
    std::chrono::seconds session_expiry{0};
    /// This instance's name in client ids; empty: the host name.
    std::string instance_name;
};

/// `routemq --workers` (`WORKER_*`, `SHUTDOWN_GRACE_SECONDS`).
struct worker_settings {
    /// 0: one process per required worker (the plan); N > 0: N workers serving every shared route.
    int count = 0;
    std::chrono::milliseconds restart_backoff{0};
    std::chrono::milliseconds restart_backoff_max{0};
    /// On SIGTERM/SIGINT, how long processes get to finish before they are killed.
    std::chrono::seconds shutdown_grace{0};
    /// On SIGTERM/SIGINT, workers keep their subscriptions and sessions for a restart with the
    /// same instance name, instead of unsubscribing and ending them.
    bool keep_session_on_stop = false;
    /// The route pools this instance serves (route option `pool`); empty: every pool.
    std::vector<std::string> pools;
    /// Recycling: a worker is replaced (replacement first) after this many handled messages
    /// (plus up to 10%) or this much resident memory; 0: never.
    std::uint64_t max_messages = 0;
    std::uint64_t max_rss_mb = 0;
    /// Autoscaling: the defaults of the route options min_workers and max_workers (a max of 0:
    /// fixed worker_count), the busy ratios (percent of wall time in handlers) above which a
    /// worker is added and below which one is removed, and how long each must hold first.
    int autoscale_min = 1;
    int autoscale_max = 0;
    int busy_high_percent = 80;
    int busy_low_percent = 30;
    std::chrono::seconds scale_up_after{10};
    std::chrono::seconds scale_down_after{60};
};

/// What happens to a message its handler cannot handle (`HANDLER_TIMEOUT_SECONDS`, `RETRY_*`,
/// `DEAD_LETTER_TOPIC`, `POISON_MAX_CRASHES`, `JSON_MAX_DEPTH`); routes may override the first
/// three.
struct handling_settings {
    /// Longest run of one handler before the manager kills its worker; 0: no limit.
    std::chrono::milliseconds timeout{0};
    /// Runs of a handler that throws, the first included (1: no retry).
    int retry_attempts = 1;
    /// Wait before the first retry; doubles per retry up to retry_backoff_max, +-20% jitter.
    std::chrono::milliseconds retry_backoff{0};
    std::chrono::milliseconds retry_backoff_max{0};
    /// Where unhandleable messages go; `{topic}` is replaced by the original topic.
    std::string dead_letter_topic;
    /// Dead letters kept in the dead-letter store (retained), the oldest removed beyond it; 0:
    /// none kept.
    std::size_t dead_letter_max = 0;
    /// Workers a message may kill before it is dead-lettered instead of run again.
    int poison_max_crashes = 0;
    /// Deepest nesting ctx.json() accepts; deeper is a payload error.
    int json_max_depth = 0;
    /// Response Topics a worker publishes replies and statuses to must start with one of these.
    std::vector<std::string> reply_topic_prefixes;
    /// Longest Response Topic a worker publishes to, in bytes.
    std::size_t reply_topic_max_bytes = 0;
};

/// The log (`LOG_*`).
struct logging_settings {
    /// trace, debug, info, warn, error, critical or off.
    std::string level;
    /// "text" or "json".
    std::string format;
};

/// The health and metrics endpoint of the main process (`HTTP_*`).
struct http_settings {
    bool enabled = true;
    std::string host;
    int port = 0;
    /// The dashboard at `/`, and its JSON under `/api/`.
    bool dashboard = true;
    /// Sent by the dashboard's actions (replay, purge, scale, recycle, reload) in the
    /// `X-RouteMQ-Token` header; empty: the dashboard is read-only.
    std::string dashboard_token;
};

/// Every setting of a RouteMQ process, typed and grouped. Defaults live in the variable table
/// (config/src/settings_table.hpp), not here, so there is one place to read them.
struct settings {
    mqtt_settings mqtt;
    tls_settings tls;
    worker_settings workers;
    handling_settings handling;
    logging_settings logging;
    http_settings http;
};

/// Variables by name, as read from a `.env` file or the environment.
using env_map = std::map<std::string, std::string, std::less<>>;

/// Reads a `.env` file: `NAME=value` lines, optional `export `, `#` comments, blank lines, and
/// values in single or double quotes. Throws routemq::config_error naming the file, the line and
/// the variable when it can be read, never the value (it may be a secret).
env_map read_env_file(const std::string& path);

/// read_env_file(path), or nothing when the file does not exist and was not `required` (the
/// default `.env` is optional, a file named on the command line is not).
env_map read_env_file_if_present(const std::string& path, bool required);

/// The variables of the table that are set in the process environment.
env_map read_process_environment();

/// Builds settings from the table's defaults, then `file`, then `environment` (which wins).
/// Throws routemq::config_error with one line naming the variable, the value and what is allowed.
settings load_settings(const env_map& file, const env_map& environment);

}  // namespace routemq
