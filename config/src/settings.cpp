#include "routemq/settings.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "routemq/errors.hpp"
#include "settings_table.hpp"

namespace routemq {
namespace {

/// `NAME='value'`, or `NAME (value not shown)` for a secret.
std::string named_value(const setting_variable& v, const std::string& value) {
    return v.secret ? fmt::format("{} (value not shown)", v.name)
                    : fmt::format("{}='{}'", v.name, value);
}

[[noreturn]] void reject(const setting_variable& v, const std::string& value,
                         std::string_view hint = {}) {
    throw config_error(fmt::format("invalid {}: allowed {}{}{}", named_value(v, value), v.allowed,
                                   hint.empty() ? "" : "; ", hint));
}

int parse_int(const setting_variable& v, const std::string& value, int min, int max) {
    int out = 0;
    const auto* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, out);
    if (value.empty() || ec != std::errc() || ptr != end || out < min || out > max) {
        reject(v, value);
    }
    return out;
}

bool parse_bool(const setting_variable& v, const std::string& value) {
    std::string lower = value;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
        return true;
    }
    if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
        return false;
    }
    reject(v, value);
}

std::string one_of(const setting_variable& v, const std::string& value,
                   std::initializer_list<std::string_view> allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        reject(v, value);
    }
    return value;
}

bool ipv6_address(std::string_view text) {
    // A zone (fe80::1%eth0) is not part of what inet_pton reads.
    const std::string address(text.substr(0, text.find('%')));
    in6_addr out{};
    return inet_pton(AF_INET6, address.c_str(), &out) == 1;
}

/// A host name or IP address: not empty, no spaces, no scheme, path or port (`port_variable`
/// holds the port). An IPv6 address may come bare (`::1`: it has two colons or more, a host and
/// port only one) or in brackets (`[::1]`); it is stored bare.
std::string host_value(const setting_variable& v, const std::string& value,
                       std::string_view port_variable, std::string_view scheme_hint = {}) {
    const auto port_hint = fmt::format("put the port in {}", port_variable);
    if (value.empty() || value.find_first_of(" \t") != std::string::npos) {
        reject(v, value);
    }
    if (value.find("://") != std::string::npos) {
        reject(v, value,
               scheme_hint.empty() ? fmt::format("no scheme; {}", port_hint)
                                   : fmt::format("no scheme ({}); {}", scheme_hint, port_hint));
    }
    if (value.find('/') != std::string::npos) {
        reject(v, value, "no path");
    }
    if (value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string::npos || !ipv6_address(value.substr(1, close - 1))) {
            reject(v, value);
        }
        if (close + 1 != value.size()) {
            reject(v, value, value[close + 1] == ':' ? std::string_view(port_hint) : "");
        }
        return value.substr(1, close - 1);
    }
    const auto colons = std::count(value.begin(), value.end(), ':');
    if (colons == 1) {
        reject(v, value, port_hint);
    }
    if (colons > 1 && !ipv6_address(value)) {
        reject(v, value, "an IPv6 address, or a host name without a port");
    }
    return value;
}

/// A secret the dashboard's actions are compared with: long enough not to be guessed in a
/// few tries. The error never shows it.
std::string token_value(const setting_variable& v, const std::string& value) {
    if (!value.empty() &&
        (value.size() < 16 || value.find_first_of(" \t\r\n") != std::string::npos)) {
        throw config_error(fmt::format(
            "invalid {}: allowed empty, or at least 16 characters without spaces (the value "
            "given has {})",
            v.name, value.size()));
    }
    return value;
}

/// A topic to publish to: not empty, no wildcards, not a `$` topic.
std::string dead_letter_value(const setting_variable& v, const std::string& value) {
    if (value.empty() || value.front() == '$' || value.find_first_of("+#") != std::string::npos) {
        reject(v, value);
    }
    return value;
}

/// Bytes, 0 for no limit; below 128 not even a small SUBACK or message would get through.
std::uint32_t packet_size(const setting_variable& v, const std::string& value) {
    const int out = parse_int(v, value, 0, 268435455);
    if (out > 0 && out < 128) {
        reject(v, value);
    }
    return static_cast<std::uint32_t>(out);
}

/// The items of a comma-separated list, trimmed ("gpu, email" as well as "gpu,email"), each once,
/// in order; each must pass `valid`, or the whole value is rejected. Empty: no items.
template <class Valid>
std::vector<std::string> comma_list(const setting_variable& v, const std::string& value,
                                    Valid valid) {
    std::vector<std::string> out;
    if (value.empty()) {
        return out;
    }
    std::size_t start = 0;
    while (true) {
        const auto comma = value.find(',', start);
        auto item = value.substr(start, comma == std::string::npos ? comma : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!valid(item)) {
            reject(v, value);
        }
        if (std::find(out.begin(), out.end(), item) == out.end()) {
            out.push_back(item);
        }
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

/// Comma-separated Response Topic prefixes: each a topic name without wildcards, not starting
/// with '$', ending with '/' so that a prefix never matches half a level. At least one.
std::vector<std::string> reply_prefix_list(const setting_variable& v, const std::string& value) {
    if (value.empty()) {
        reject(v, value);
    }
    return comma_list(v, value, [](const std::string& prefix) {
        return prefix.size() >= 2 && prefix.back() == '/' && prefix.front() != '$' &&
               prefix.find_first_of("+#") == std::string::npos &&
               prefix.find('\0') == std::string::npos;
    });
}

/// Comma-separated pool names (letters, digits, '-', '_', '.'); empty: none given.
std::vector<std::string> pool_list(const setting_variable& v, const std::string& value) {
    return comma_list(v, value, [](const std::string& name) { return is_plain_name(name); });
}

std::string client_id_part(const setting_variable& v, const std::string& value) {
    if (!is_plain_name(value)) {
        reject(v, value);
    }
    return value;
}

#define ROUTEMQ_SETTER(body) \
    [](settings& s, const setting_variable& v, const std::string& value) { body; }

const std::vector<setting_variable> kTable = {
    {"MQTT_BROKER", "localhost", "a host name or IP address (IPv6 bare or in brackets)",
     "Broker host to connect to; no scheme (MQTT_TLS selects TLS) and no port (MQTT_PORT).",
     ROUTEMQ_SETTER(s.mqtt.broker =
                        host_value(v, value, "MQTT_PORT", "set MQTT_TLS=true for ssl://"))},
    {"MQTT_PORT", "1883", "an integer 1-65535", "Broker port (8883 is usual with TLS).",
     ROUTEMQ_SETTER(s.mqtt.port = parse_int(v, value, 1, 65535))},
    {"MQTT_USERNAME", "", "any string; empty for none", "User name sent when connecting.",
     ROUTEMQ_SETTER((void)v; s.mqtt.username = value)},
    {"MQTT_PASSWORD", "", "any string; empty for none; only with MQTT_USERNAME",
     "Password sent with MQTT_USERNAME; never shown in messages.",
     ROUTEMQ_SETTER((void)v; s.mqtt.password = value), /*secret=*/true},
    {"MQTT_CLIENT_ID", "routemq", "1-64 letters, digits, '-', '_' or '.'",
     "Prefix of client ids; a process's id is <prefix>-<instance>-<role> (INSTANCE_NAME or the "
     "host name). Unset, the application's name (run_cli's `.name`; routemq by default).",
     ROUTEMQ_SETTER(s.mqtt.client_id = client_id_part(v, value))},
    {"MQTT_GROUP_NAME", "routemq", "1-64 letters, digits, '-', '_' or '.'",
     "Shared subscription group: shared routes subscribe as $share/<group>/<filter>. Unset, the "
     "application's name, as for MQTT_CLIENT_ID.",
     ROUTEMQ_SETTER(s.mqtt.group_name = client_id_part(v, value))},
    {"MQTT_PROTOCOL", "5", "5 or 3.1.1",
     "MQTT protocol version; 5 enables subscription identifiers and user properties.",
     ROUTEMQ_SETTER(s.mqtt.protocol = one_of(v, value, {"5", "3.1.1"}) == "5"
                                          ? mqtt_protocol::v5
                                          : mqtt_protocol::v3_1_1)},
    {"MQTT_KEEPALIVE", "60", "an integer 5-65535 (seconds)", "Keepalive interval in seconds.",
     ROUTEMQ_SETTER(s.mqtt.keepalive = std::chrono::seconds(parse_int(v, value, 5, 65535)))},
    {"MQTT_RECONNECT_MAX_SECONDS", "2", "an integer 1-3600",
     "Longest wait between reconnect attempts; waits start at 100 ms and double, but stay at "
     "most 200 ms apart for the first 30 s of an outage, so a restarted broker is seen again at "
     "once. It bounds how long after a longer outage an "
     "idle process notices the broker's return.",
     ROUTEMQ_SETTER(s.mqtt.reconnect_max = std::chrono::seconds(parse_int(v, value, 1, 3600)))},
    {"MQTT_MAX_PACKET_SIZE", "1048576", "0 (no limit) or an integer 128-268435455 (bytes)",
     "Largest MQTT packet the broker may send this client (MQTT 5 Maximum Packet Size); the broker "
     "drops bigger messages for it, so its handlers never see them.",
     ROUTEMQ_SETTER(s.mqtt.max_packet_size = packet_size(v, value))},
    {"MQTT_RECEIVE_MAXIMUM", "20", "an integer 1-65535",
     "Unacknowledged QoS 1/2 messages the broker sends one process at most (MQTT 5 Receive "
     "Maximum). A process runs one handler at a time (docs/concurrency.md); the rest wait in its "
     "session at the broker. 20 is mosquitto's own default for max_inflight_messages.",
     ROUTEMQ_SETTER(s.mqtt.receive_maximum = parse_int(v, value, 1, 65535))},
    {"MQTT_TLS", "false", "true or false", "Connect with TLS (ssl://).",
     ROUTEMQ_SETTER(s.tls.enabled = parse_bool(v, value))},
    {"MQTT_TLS_CA_FILE", "", "a readable PEM file; empty for the system store",
     "CA certificates used to verify the broker.", ROUTEMQ_SETTER((void)v; s.tls.ca_file = value)},
    {"MQTT_TLS_CERT_FILE", "", "a readable PEM file; empty for none",
     "Client certificate for mutual TLS.", ROUTEMQ_SETTER((void)v; s.tls.cert_file = value)},
    {"MQTT_TLS_KEY_FILE", "", "a readable PEM file; empty for none",
     "Private key of MQTT_TLS_CERT_FILE.", ROUTEMQ_SETTER((void)v; s.tls.key_file = value)},
    {"MQTT_TLS_VERIFY", "true", "true or false",
     "Verify the broker's certificate and host name (turn off only for testing).",
     ROUTEMQ_SETTER(s.tls.verify = parse_bool(v, value))},
    {"MQTT_SESSION_EXPIRY", "300", "an integer 0-2147483647 (seconds)",
     "How long the broker keeps a worker's session (and queues its messages) after it "
     "disconnects without stopping; MQTT 5 only.",
     ROUTEMQ_SETTER(s.mqtt.session_expiry =
                        std::chrono::seconds(parse_int(v, value, 0, 2147483647)))},
    {"INSTANCE_NAME", "", "empty, or 1-64 letters, digits, '-', '_' or '.'",
     "This instance's name in client ids; empty uses the host name (the pod name under "
     "Kubernetes).",
     ROUTEMQ_SETTER(s.mqtt.instance_name = value.empty() ? value : client_id_part(v, value))},
    {"LOG_LEVEL", "info", "trace, debug, info, warn, error, critical or off",
     "Lowest level logged.",
     ROUTEMQ_SETTER(s.logging.level = one_of(
                        v, value, {"trace", "debug", "info", "warn", "error", "critical", "off"}))},
    {"LOG_FORMAT", "text", "text or json", "One line per event: plain text or JSON lines.",
     ROUTEMQ_SETTER(s.logging.format = one_of(v, value, {"text", "json"}))},
    {"WORKER_COUNT", "0", "an integer 0-1024",
     "With --workers: 0 follows the plan (worker_count workers per shared route); N runs N "
     "workers that each serve every shared route. A worker has one process per handler slot "
     "(route option concurrency).",
     ROUTEMQ_SETTER(s.workers.count = parse_int(v, value, 0, 1024))},
    {"WORKER_POOLS", "", "empty, or pool names separated by commas",
     "The route pools (route option pool) this instance serves, with or without --workers; "
     "empty: every pool. One image deploys as one Deployment per pool. --pools overrides it.",
     ROUTEMQ_SETTER(s.workers.pools = pool_list(v, value))},
    {"WORKER_MAX_MESSAGES", "0", "an integer 0-1000000000",
     "With --workers: replace a process after it handled this many messages (plus up to 10%, so "
     "processes do not all go at once); its successor starts first and takes over its session. "
     "0: never.",
     ROUTEMQ_SETTER(s.workers.max_messages =
                        static_cast<std::uint64_t>(parse_int(v, value, 0, 1000000000)))},
    {"WORKER_MAX_RSS_MB", "0", "an integer 0-1000000",
     "With --workers: replace a process whose resident memory reaches this many MiB (checked "
     "every second), the same way. 0: never.",
     ROUTEMQ_SETTER(s.workers.max_rss_mb =
                        static_cast<std::uint64_t>(parse_int(v, value, 0, 1000000)))},
    {"AUTOSCALE_MIN_WORKERS", "1", "an integer 1-256",
     "With --workers: the fewest workers of an autoscaled shared route whose min_workers is 0 "
     "(its worker_count when that is more); it starts with them.",
     ROUTEMQ_SETTER(s.workers.autoscale_min = parse_int(v, value, 1, 256))},
    {"AUTOSCALE_MAX_WORKERS", "0", "an integer 0-256",
     "With --workers: the most workers of a shared route whose max_workers is 0, which makes "
     "every such route autoscale; 0: they keep their worker_count.",
     ROUTEMQ_SETTER(s.workers.autoscale_max = parse_int(v, value, 0, 256))},
    {"AUTOSCALE_BUSY_HIGH_PERCENT", "80", "an integer 1-100",
     "Add a worker to an autoscaled route while its workers spend more than this share of their "
     "time in handlers.",
     ROUTEMQ_SETTER(s.workers.busy_high_percent = parse_int(v, value, 1, 100))},
    {"AUTOSCALE_BUSY_LOW_PERCENT", "30", "an integer 0-99, below AUTOSCALE_BUSY_HIGH_PERCENT",
     "Remove a worker (it finishes and hands back its messages first) while they spend less "
     "than this share in handlers.",
     ROUTEMQ_SETTER(s.workers.busy_low_percent = parse_int(v, value, 0, 99))},
    {"AUTOSCALE_UP_AFTER_SECONDS", "10", "an integer 1-3600",
     "How long the busy ratio must stay above the high mark before a worker is added (and "
     "between additions).",
     ROUTEMQ_SETTER(s.workers.scale_up_after = std::chrono::seconds(parse_int(v, value, 1, 3600)))},
    {"AUTOSCALE_DOWN_AFTER_SECONDS", "60", "an integer 1-86400",
     "How long it must stay below the low mark before a worker is removed (and between "
     "removals).",
     ROUTEMQ_SETTER(s.workers.scale_down_after =
                        std::chrono::seconds(parse_int(v, value, 1, 86400)))},
    {"WORKER_RESTART_BACKOFF_MS", "500", "an integer 10-600000",
     "Wait before restarting a dead worker; doubles while it keeps dying young.",
     ROUTEMQ_SETTER(s.workers.restart_backoff =
                        std::chrono::milliseconds(parse_int(v, value, 10, 600000)))},
    {"WORKER_RESTART_BACKOFF_MAX_MS", "30000", "an integer 10-3600000",
     "Longest wait between restarts of a worker in a crash loop.",
     ROUTEMQ_SETTER(s.workers.restart_backoff_max =
                        std::chrono::milliseconds(parse_int(v, value, 10, 3600000)))},
    {"SHUTDOWN_GRACE_SECONDS", "10", "an integer 1-3600",
     "On SIGTERM/SIGINT, how long workers get to finish and disconnect before they are killed.",
     ROUTEMQ_SETTER(s.workers.shutdown_grace = std::chrono::seconds(parse_int(v, value, 1, 3600)))},
    {"WORKER_KEEP_SESSION_ON_STOP", "false", "true or false",
     "On SIGTERM, workers finish the handler in hand and disconnect keeping their sessions (no "
     "unsubscribe), so a restart with the same INSTANCE_NAME gets what arrived meanwhile: for a "
     "lone replica or a StatefulSet. false: they unsubscribe and end their sessions (scale-in).",
     ROUTEMQ_SETTER(s.workers.keep_session_on_stop = parse_bool(v, value))},
    {"HANDLER_TIMEOUT_SECONDS", "60", "an integer 0-86400; 0 for no limit",
     "With --workers: the manager kills a process whose handler runs longer (routes may set "
     "their own timeout); the message counts toward POISON_MAX_CRASHES.",
     ROUTEMQ_SETTER(s.handling.timeout = std::chrono::seconds(parse_int(v, value, 0, 86400)))},
    {"RETRY_ATTEMPTS", "3", "an integer 1-100",
     "Runs of a handler that throws before its message is dead-lettered, the first included "
     "(1: no retry); the message stays unacknowledged meanwhile.",
     ROUTEMQ_SETTER(s.handling.retry_attempts = parse_int(v, value, 1, 100))},
    {"RETRY_BACKOFF_MS", "100", "an integer 0-600000",
     "Wait before the first retry; doubles per retry, with +-20% jitter.",
     ROUTEMQ_SETTER(s.handling.retry_backoff =
                        std::chrono::milliseconds(parse_int(v, value, 0, 600000)))},
    {"RETRY_BACKOFF_MAX_MS", "5000", "an integer 0-600000", "Longest wait between retries.",
     ROUTEMQ_SETTER(s.handling.retry_backoff_max =
                        std::chrono::milliseconds(parse_int(v, value, 0, 600000)))},
    {"DEAD_LETTER_TOPIC", "dead-letter/{topic}", "a topic name; {topic} is the original topic",
     "Where a message goes after its last retry, on a payload error, or when it killed "
     "POISON_MAX_CRASHES workers (QoS 1, user properties say why).",
     ROUTEMQ_SETTER(s.handling.dead_letter_topic = dead_letter_value(v, value))},
    {"DEAD_LETTER_MAX", "10000", "an integer 0-1000000",
     "Dead letters kept in the broker (each retained on routemq/dead-letters/<MQTT_GROUP_NAME>/"
     "<id>) for `routemq dead-letters` and the dashboard; the oldest are removed beyond it. 0: "
     "none kept. Needs MQTT_PROTOCOL=5.",
     ROUTEMQ_SETTER(s.handling.dead_letter_max =
                        static_cast<std::size_t>(parse_int(v, value, 0, 1000000)))},
    {"POISON_MAX_CRASHES", "2", "an integer 1-100",
     "With --workers: a message that killed this many workers (crash or timeout) is "
     "dead-lettered when it comes back instead of run again.",
     ROUTEMQ_SETTER(s.handling.poison_max_crashes = parse_int(v, value, 1, 100))},
    {"JSON_MAX_DEPTH", "64", "an integer 1-10000",
     "Deepest nesting of arrays and objects ctx.json() accepts; deeper is a payload error.",
     ROUTEMQ_SETTER(s.handling.json_max_depth = parse_int(v, value, 1, 10000))},
    {"REPLY_TOPIC_PREFIXES", "routemq/replies/",
     "topic prefixes ending with '/', separated by commas, without wildcards or a leading '$'",
     "A worker sends a request's replies and statuses only to a Response Topic under one of "
     "these (and never to one the application's own routes would handle, unless the route has "
     "accept_replies); other requests are handled without a reply. The default is where "
     "routemq::client and routemq request ask for answers.",
     ROUTEMQ_SETTER(s.handling.reply_topic_prefixes = reply_prefix_list(v, value))},
    {"REPLY_TOPIC_MAX_BYTES", "512", "an integer 16-65535",
     "Longest Response Topic a worker sends replies to; a longer one is refused like a topic "
     "outside REPLY_TOPIC_PREFIXES.",
     ROUTEMQ_SETTER(s.handling.reply_topic_max_bytes =
                        static_cast<std::size_t>(parse_int(v, value, 16, 65535)))},
    {"HTTP_ENABLED", "true", "true or false",
     "Serve /healthz, /readyz, /metrics and the dashboard from the main process.",
     ROUTEMQ_SETTER(s.http.enabled = parse_bool(v, value))},
    {"HTTP_HOST", "0.0.0.0", "an IPv4/IPv6 address or host name to listen on",
     "Address of the health and metrics endpoint (127.0.0.1: this machine only).",
     ROUTEMQ_SETTER(s.http.host = host_value(v, value, "HTTP_PORT"))},
    {"HTTP_PORT", "8080", "an integer 1-65535", "Port of the health and metrics endpoint.",
     ROUTEMQ_SETTER(s.http.port = parse_int(v, value, 1, 65535))},
    {"DASHBOARD_ENABLED", "true", "true or false",
     "Serve the dashboard at / on HTTP_PORT (its data under /api/).",
     ROUTEMQ_SETTER(s.http.dashboard = parse_bool(v, value))},
    {"DASHBOARD_TOKEN", "", "empty, or at least 16 characters without spaces",
     "Enables the dashboard's actions (replay, purge, scale, recycle, reload) for whoever sends "
     "it in the X-RouteMQ-Token header; empty: the dashboard is read-only.",
     ROUTEMQ_SETTER(s.http.dashboard_token = token_value(v, value)), /*secret=*/true},
};

#undef ROUTEMQ_SETTER

const setting_variable& variable(std::string_view name) {
    return *std::find_if(kTable.begin(), kTable.end(),
                         [&](const setting_variable& v) { return v.name == name; });
}

/// A file the TLS library will read: it must be a regular file this process can open.
void check_readable(std::string_view name, const std::string& path) {
    if (path.empty()) {
        return;
    }
    const auto& v = variable(name);
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        reject(v, path, std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        reject(v, path, "it is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
        reject(v, path, "it is not a regular file");
    }
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        reject(v, path, fmt::format("cannot read it: {}", std::strerror(errno)));
    }
    close(fd);
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

bool is_plain_name(std::string_view name) noexcept {
    return !name.empty() && name.size() <= 64 &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '-' || c == '_' || c == '.';
           });
}

const std::vector<setting_variable>& settings_table() {
    return kTable;
}

env_map read_process_environment() {
    env_map out;
    for (const auto& v : kTable) {
        std::string name(v.name);
        if (const char* value = std::getenv(name.c_str())) {
            out.emplace(std::move(name), value);
        }
    }
    return out;
}

settings load_settings(const env_map& file, const env_map& environment) {
    settings s;
    for (const auto& v : kTable) {
        std::string value(v.default_value);
        if (auto it = file.find(v.name); it != file.end()) {
            value = it->second;
        }
        if (auto it = environment.find(v.name); it != environment.end()) {
            value = it->second;
        }
        v.apply(s, v, value);
    }
    check_readable("MQTT_TLS_CA_FILE", s.tls.ca_file);
    check_readable("MQTT_TLS_CERT_FILE", s.tls.cert_file);
    check_readable("MQTT_TLS_KEY_FILE", s.tls.key_file);
    if (!s.mqtt.password.empty() && s.mqtt.username.empty()) {
        reject(variable("MQTT_PASSWORD"), s.mqtt.password,
               "a password without MQTT_USERNAME is never sent: set MQTT_USERNAME too");
    }
    if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
        throw config_error(fmt::format(
            "invalid MQTT_TLS_KEY_FILE='{}': allowed set together with MQTT_TLS_CERT_FILE",
            s.tls.key_file));
    }
    if (s.workers.restart_backoff_max < s.workers.restart_backoff) {
        throw config_error(
            fmt::format("invalid WORKER_RESTART_BACKOFF_MAX_MS='{}': allowed at least "
                        "WORKER_RESTART_BACKOFF_MS ({})",
                        s.workers.restart_backoff_max.count(), s.workers.restart_backoff.count()));
    }
    if (s.workers.autoscale_max > 0 && s.workers.autoscale_min > s.workers.autoscale_max) {
        throw config_error(fmt::format(
            "invalid AUTOSCALE_MIN_WORKERS='{}': allowed at most AUTOSCALE_MAX_WORKERS ({})",
            s.workers.autoscale_min, s.workers.autoscale_max));
    }
    if (s.workers.busy_low_percent >= s.workers.busy_high_percent) {
        throw config_error(
            fmt::format("invalid AUTOSCALE_BUSY_LOW_PERCENT='{}': allowed below "
                        "AUTOSCALE_BUSY_HIGH_PERCENT ({})",
                        s.workers.busy_low_percent, s.workers.busy_high_percent));
    }
    if (s.handling.retry_backoff_max < s.handling.retry_backoff) {
        throw config_error(
            fmt::format("invalid RETRY_BACKOFF_MAX_MS='{}': allowed at least RETRY_BACKOFF_MS ({})",
                        s.handling.retry_backoff_max.count(), s.handling.retry_backoff.count()));
    }
    return s;
}

std::string_view closest_variable(std::string_view name) {
    constexpr std::size_t kMostEdits = 2;
    const auto wanted = upper(name);
    std::string_view best;
    std::size_t best_distance = kMostEdits + 1;
    for (const auto& v : kTable) {
        const auto d = edit_distance(wanted, v.name);
        if (d < best_distance) {
            best = v.name;
            best_distance = d;
        }
    }
    return best;
}

std::vector<std::string> settings_warnings(const env_map& file, std::string_view file_name,
                                           const settings& s) {
    std::vector<std::string> out;
    // Keys only, and not a structured binding: clang before 16 (the fuzz build, docs/fuzzing.md)
    // cannot capture one in a lambda.
    for (const auto& entry : file) {
        const std::string& name = entry.first;
        if (std::any_of(kTable.begin(), kTable.end(),
                        [&](const setting_variable& v) { return v.name == name; })) {
            continue;
        }
        const auto close = closest_variable(name);
        out.push_back(
            fmt::format("{}: unknown setting {} is ignored{}", file_name, name,
                        close.empty() ? std::string() : fmt::format(" (did you mean {}?)", close)));
    }
    if (s.tls.enabled && !s.tls.verify) {
        out.emplace_back(
            "MQTT_TLS_VERIFY=false: the broker's certificate and host name are not checked, so "
            "anyone between here and the broker can pose as it; use this only for testing");
    }
    if (!s.tls.enabled && !(s.tls.ca_file + s.tls.cert_file + s.tls.key_file).empty()) {
        out.emplace_back(
            "MQTT_TLS_* files are set but MQTT_TLS=false: the connection is not encrypted");
    }
    return out;
}

std::string settings_markdown() {
    std::string out = "| Variable | Default | Allowed | Description |\n|---|---|---|---|\n";
    for (const auto& v : kTable) {
        out += fmt::format("| `{}` | `{}` | {} | {} |\n", v.name, v.default_value, v.allowed,
                           v.description);
    }
    return out;
}

}  // namespace routemq
