#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "delivery/outbox.hpp"

namespace routemq::detail {

/// MQTT's limit on a topic name and on every string or binary property: 65,535 bytes.
inline constexpr std::size_t kMaxMqttString = 65535;
/// The largest packet MQTT can express: a remaining length of 268,435,455 plus 5 header bytes.
inline constexpr std::size_t kMaxMqttPacket = 268435460;

/// What the broker accepts, learnt from its CONNACK.
struct publish_limits {
    /// MQTT 5 (properties are sent) or 3.1.1 (they are not).
    bool v5 = true;
    /// The broker's Maximum Packet Size; MQTT's own limit when the CONNACK names none.
    std::size_t max_packet = kMaxMqttPacket;
};

/// Why `topic` is not a topic name a client may publish to, or empty when it is: not empty, no
/// `+` or `#`, well-formed UTF-8 without NUL, control characters (U+0001-U+001F,
/// U+007F-U+009F) or non-characters (which mosquitto refuses too), at most 65,535 bytes.
std::string topic_name_problem(std::string_view topic);

/// Why `text` cannot be an MQTT UTF-8 string (a user property's name or value), or empty: the
/// same rules as a topic name, without the wildcard and emptiness rules.
std::string utf8_string_problem(std::string_view text);

/// Bytes of the MQTT 5 properties of a PUBLISH carrying `properties`, without the Variable Byte
/// Integer that precedes them: per property an identifier byte, then a two-byte length and the
/// bytes of each string (Paho calls it an MQTTProperties list's `length`).
std::size_t properties_length(const publish_properties& properties);

/// The size in bytes of the PUBLISH packet that carries this message.
std::size_t publish_packet_size(std::string_view topic, std::size_t payload_size, int qos,
                                const publish_properties& properties, bool v5);

/// Throws routemq::publish_error, naming the topic and the reason, when the broker would refuse
/// this publish or drop the connection over it: an invalid topic name, QoS not 0-2, an invalid
/// or oversized property, or a packet larger than `limits.max_packet`.
void check_publish(std::string_view topic, std::size_t payload_size, int qos,
                   const publish_properties& properties, const publish_limits& limits);

/// `text` made an MQTT UTF-8 string of at most `most` bytes, for a property the framework fills
/// with text it does not control (an exception's message): invalid UTF-8 becomes U+FFFD, control
/// characters and non-characters `\xNN` or `\u{NNNN}`, and a longer text is cut at a character
/// boundary, ending in `...`.
std::string to_mqtt_string(std::string_view text, std::size_t most);

/// `topic` as log lines and errors show it: bytes other than printable ASCII as `\xNN`, and a
/// topic longer than 200 bytes cut, with its length.
std::string printable_topic(std::string_view topic);

}  // namespace routemq::detail
