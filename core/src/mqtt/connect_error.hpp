#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace routemq::detail {

/// Why a connection attempt failed, in words a reader can act on: a broker's refusal (MQTT 5
/// CONNACK reason code, or MQTT 3.1.1 return code 1-5) with a hint naming the settings to check,
/// else the TLS library's reason, else Paho's.
/// `code` and `reason_code` are Paho's failure data (`reason_code` 0 under MQTT 3.1.1);
/// `tls` is whether MQTT_TLS is on; `tls_error` is what OpenSSL reported during the attempt (may
/// be empty: Paho checks the host name itself, and says only that the connection failed).
std::string describe_connect_failure(bool v5, int code, int reason_code, const char* message,
                                     bool tls, std::string_view tls_error);

/// The reason of one OpenSSL error line (`<thread>:error:<code>:<library>:<function>:<reason>:
/// <file>:<line>:`), as `<library>: <reason>`; other text is returned trimmed.
std::string tls_reason(std::string_view openssl_line);

/// For this long after a connection is lost (or a client starts), attempts follow each other
/// at most kPromptRetry apart: a broker that restarts is back in a few seconds, and every
/// moment its share groups have no subscriber, it drops what is published to them (mosquitto
/// 2.0 does not restore `$share` subscriptions of persistent sessions).
inline constexpr std::chrono::milliseconds kPromptReconnectFor{30000};
inline constexpr std::chrono::milliseconds kPromptRetry{200};

/// The wait before connection attempt `failures + 1` after `failures` failed in a row: `first`,
/// doubling, never above `most`; never above kPromptRetry while the connection has been down
/// for less than kPromptReconnectFor (`down_for`).
std::chrono::milliseconds reconnect_wait(unsigned failures, std::chrono::milliseconds first,
                                         std::chrono::milliseconds most,
                                         std::chrono::milliseconds down_for);

}  // namespace routemq::detail
