#include "mqtt/connect_error.hpp"

#include <MQTTAsync.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace routemq::detail {
namespace {

constexpr int kFirstReasonFailure = 0x80;

/// Paho's reason strings are in title case ("Bad User Name or Password").
std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

constexpr std::string_view kCredentials =
    "bad user name or password, or this client may not connect: check MQTT_USERNAME, "
    "MQTT_PASSWORD and the broker's access rules";

/// A hint for the refusals a reader can do something about; empty for the rest.
std::string_view hint(int reason) {
    switch (reason) {
        case MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION:
            return "the broker does not speak MQTT 5: set MQTT_PROTOCOL=3.1.1";
        case MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID:
            return "the broker refused the client id: check MQTT_CLIENT_ID and INSTANCE_NAME";
        case MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD:
            return "check MQTT_USERNAME and MQTT_PASSWORD";
        case MQTTREASONCODE_NOT_AUTHORIZED:
            return kCredentials;
        case MQTTREASONCODE_SERVER_UNAVAILABLE:
        case MQTTREASONCODE_SERVER_BUSY:
            return "the broker runs but takes no connections now; retrying";
        case MQTTREASONCODE_BANNED:
            return "the broker has banned this client";
        case MQTTREASONCODE_BAD_AUTHENTICATION_METHOD:
            return "the broker wants another authentication method";
        case MQTTREASONCODE_USE_ANOTHER_SERVER:
        case MQTTREASONCODE_SERVER_MOVED:
            return "the broker sends clients elsewhere: check MQTT_BROKER";
        case MQTTREASONCODE_CONNECTION_RATE_EXCEEDED:
            return "too many connections too fast; retrying with longer waits";
        default:
            return {};
    }
}

/// MQTT 3.1.1 CONNACK return codes 1-5.
std::string connack3(int code) {
    switch (code) {
        case 1:
            return "unacceptable protocol version (CONNACK 1): the broker does not speak MQTT "
                   "3.1.1";
        case 2:
            return "client id rejected (CONNACK 2): check MQTT_CLIENT_ID and INSTANCE_NAME";
        case 3:
            return "server unavailable (CONNACK 3): the broker runs but takes no connections now";
        case 4:
            return "bad user name or password (CONNACK 4): check MQTT_USERNAME and MQTT_PASSWORD";
        default:
            return fmt::format("not authorized (CONNACK 5): {}", kCredentials);
    }
}

}  // namespace

std::string describe_connect_failure(bool v5, int code, int reason_code, const char* message,
                                     bool tls, std::string_view tls_error) {
    const int refusal = reason_code >= kFirstReasonFailure ? reason_code
                        : code >= kFirstReasonFailure      ? code
                                                           : 0;
    if (v5 && refusal > 0) {
        const auto words =
            lower(MQTTReasonCode_toString(static_cast<enum MQTTReasonCodes>(refusal)));
        const auto h = hint(refusal);
        return h.empty() ? fmt::format("{} (CONNACK {})", words, refusal)
                         : fmt::format("{} (CONNACK {}): {}", words, refusal, h);
    }
    if (!v5 && code >= 1 && code <= 5) {
        return connack3(code);
    }
    if (!tls_error.empty()) {
        return fmt::format("TLS failed: {}", tls_error);
    }
    const std::string_view said = message != nullptr ? message : "";
    if (said == "TCP/TLS connect failure" || said == "TCP connect timeout") {
        return fmt::format(
            "no connection ({}): is the broker running and reachable at MQTT_BROKER and "
            "MQTT_PORT?{}",
            said == "TCP connect timeout" ? "timed out" : "refused, unreachable or closed",
            tls ? " With MQTT_TLS, also check that the broker speaks TLS on that port and that "
                  "its certificate names MQTT_BROKER"
                : "");
    }
    const char* paho = MQTTAsync_strerror(code);
    if (said.empty()) {
        return paho;
    }
    return code == MQTTASYNC_FAILURE ? std::string(said) : fmt::format("{} ({})", said, paho);
}

std::string tls_reason(std::string_view line) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
        line.remove_suffix(1);
    }
    std::vector<std::string_view> fields;
    for (std::size_t from = 0;;) {
        const auto colon = line.find(':', from);
        fields.push_back(line.substr(from, colon - from));
        if (colon == std::string_view::npos) {
            break;
        }
        from = colon + 1;
    }
    if (fields.size() >= 6 && fields[1] == "error") {
        return fmt::format("{}: {}", fields[3], fields[5]);
    }
    return std::string(line);
}

std::chrono::milliseconds reconnect_wait(unsigned failures, std::chrono::milliseconds first,
                                         std::chrono::milliseconds most,
                                         std::chrono::milliseconds down_for) {
    auto wait = first;
    for (unsigned i = 1; i < failures && wait < most; ++i) {
        wait *= 2;
    }
    wait = std::min(wait, most);
    return down_for < kPromptReconnectFor ? std::min(wait, kPromptRetry) : wait;
}

}  // namespace routemq::detail
